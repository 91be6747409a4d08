// ServerState: what the services share: options, topics, live stream counts, shutdown state.
#ifndef RINGCAST_SERVER_RPC_SERVER_STATE_H_
#define RINGCAST_SERVER_RPC_SERVER_STATE_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "observability/latency_histogram.h"
#include "observability/reject_reason.h"
#include "observability/stream_counter.h"
#include "ringcast/server/options.h"
#include "rpc/call_auth.h"
#include "rpc/slice_run.h"
#include "topic/topic_registry.h"

namespace ringcast::server {

class PublishReactor;

struct ServerState {
  explicit ServerState(ServerOptions server_options)
      : options(std::move(server_options)),
        topics(options, MakeSliceRun),
        publish_latency(metrics_enabled() ? std::make_unique<LatencyHistogram>() : nullptr),
        auth(*CallAuth::Create("")) {}

  [[nodiscard]] bool metrics_enabled() const noexcept { return !options.metrics_listen.empty(); }

  [[nodiscard]] bool shutting_down() const noexcept {
    return shutting_down_flag.load(std::memory_order_acquire);
  }

  const ServerOptions options;
  TopicRegistry topics;
  StreamCounter publish_streams;
  StreamCounter subscriptions;
  // Rejected batches that name no live topic (malformed, bad or unknown name, deleted topic).
  RejectCounters rejected_without_topic;
  // Request read -> response handed to gRPC, per batch. Null when metrics are off.
  const std::unique_ptr<LatencyHistogram> publish_latency;
  // Who calls and what they may do: open until Server::Start installs the --auth_file's policy
  // (before serving; never replaced while calls run).
  std::unique_ptr<CallAuth> auth;
  // Release when shutdown begins; acquire in shutting_down().
  std::atomic<bool> shutting_down_flag{false};

  // Live publish streams, so shutdown can tell each to finish. Guarded by publishers_mu.
  std::mutex publishers_mu;
  absl::flat_hash_set<PublishReactor*> publishers;
};

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_RPC_SERVER_STATE_H_
