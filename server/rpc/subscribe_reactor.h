// SubscribeReactor: one Subscribe stream. It is the stream's gRPC reactor and the outbound queue
// (topic/outbound_queue.h) the topic's fan-out stage fills.
//
// Threads: the topic's stage thread offers responses (Offer) and ends the stream (FinishNow,
// FinishWhenDrained); gRPC threads run the reactions (OnWriteDone, OnCancel, OnDone). The queue
// and the stream state are guarded by mu_. One write is in flight at a time; the others wait in
// the queue, whose size in bytes is bounded by `queue_bytes`, so a slow reader costs bounded
// memory.
//
// Lifetime: shared. The reactor holds itself (self_) until OnDone; the topic holds it until the
// fan-out stage sees it closed. Nothing calls into gRPC after OnDone.
#ifndef RINGCAST_SERVER_RPC_SUBSCRIBE_REACTOR_H_
#define RINGCAST_SERVER_RPC_SUBSCRIBE_REACTOR_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/byte_buffer.h"
#include "observability/latency_histogram.h"
#include "observability/stream_counter.h"
#include "ringcast/core/doorbell.h"
#include "topic/outbound_queue.h"

namespace ringcast::server {

class SubscribeReactor final : public grpc::ServerWriteReactor<grpc::ByteBuffer>,
                               public OutboundQueue {
 public:
  // `streams` counts this stream from construction until OnDone.
  SubscribeReactor(grpc::CallbackServerContext* context, uint64_t queue_bytes, Doorbell* doorbell,
                   StreamCounter& streams, std::shared_ptr<LatencyHistogram> delivery_latency);

  // Creates a reactor that keeps itself alive until gRPC calls OnDone. It queues at most
  // `queue_bytes` of responses. `doorbell` is the topic's stage doorbell, or null for a stream
  // rejected before it reached a topic. `delivery_latency` (the topic's, or null when metrics are
  // off) records, as each response is handed to gRPC, how long ago its live events were accepted.
  static std::shared_ptr<SubscribeReactor> Create(
      grpc::CallbackServerContext* context, uint64_t queue_bytes, Doorbell* doorbell,
      StreamCounter& streams, std::shared_ptr<LatencyHistogram> delivery_latency);

  // Sends initial metadata `ringcast-start-sequence: start` and lets writes begin. Call once,
  // after the topic registered the subscription.
  void Start(int64_t start_sequence);

  // Ends a stream that never started (bad request, unknown topic, limits).
  void Reject(grpc::Status status);

  // OutboundQueue. kFull rings the doorbell once the queue drains a write.
  [[nodiscard]] OfferResult Offer(OutboundResponse& response) override;
  void FinishNow(const absl::Status& status) override;
  void FinishWhenDrained(const absl::Status& status) override;
  [[nodiscard]] bool closed() const noexcept override {
    return closed_.load(std::memory_order_acquire);
  }
  [[nodiscard]] int64_t last_sent_sequence() const override;
  void RedirectWakeups(Doorbell* doorbell) override {
    // Release; pairs with the acquire where a drained write rings it.
    doorbell_.store(doorbell, std::memory_order_release);
  }

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  struct Pending {
    grpc::ByteBuffer buffer;
    std::size_t bytes;
    int64_t last_sequence;
    LatencySpans spans;
  };

  // Requires mu_ held. Starts writing the queue's front if nothing is in flight.
  void MaybeStartWriteLocked();
  // Requires mu_ held. Calls Finish once.
  void FinishLocked(const grpc::Status& status);

  grpc::CallbackServerContext* const context_;
  const uint64_t queue_bytes_;
  std::atomic<Doorbell*> doorbell_;
  StreamCounter& streams_;
  const std::shared_ptr<LatencyHistogram> delivery_latency_;

  mutable std::mutex mu_;
  std::deque<Pending> queue_;  // front is in flight when write_in_flight_
  std::size_t queued_bytes_ = 0;
  bool started_ = false;  // initial metadata queued; writes may start
  bool write_in_flight_ = false;
  bool finished_ = false;       // Finish called
  bool done_ = false;           // OnDone ran: no more calls into gRPC
  bool wake_on_drain_ = false;  // an Offer found the queue full
  int64_t last_sent_sequence_ = -1;
  std::optional<grpc::Status> finish_when_drained_;
  std::shared_ptr<SubscribeReactor> self_;  // keeps the reactor alive until OnDone

  // Release in the writers (under mu_); acquire in closed(): the fan-out stage may then drop it.
  std::atomic<bool> closed_{false};
};

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_RPC_SUBSCRIBE_REACTOR_H_
