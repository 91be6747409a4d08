// Subscription: one Subscribe stream. It is the stream's gRPC reactor and the outbound queue the
// fan-out stage fills.
//
// Threads: the fan-out thread that owns the topic offers responses (Offer) and ends the stream
// (FinishNow, FinishWhenDrained); gRPC threads run the reactions (OnWriteDone, OnCancel, OnDone).
// The queue and the stream state are guarded by mu_; `worker` is touched by the fan-out thread
// only. One write is in flight at a time; the others wait in the queue, whose size in bytes is
// bounded by Settings::queue_bytes, so a slow reader costs bounded memory.
//
// Lifetime: shared. The reactor holds itself (self_) until OnDone; the topic holds it until the
// fan-out thread sees it closed. Nothing calls into gRPC after OnDone.
#ifndef RINGCAST_SERVER_SRC_SUBSCRIPTION_H_
#define RINGCAST_SERVER_SRC_SUBSCRIPTION_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>

#include "absl/container/inlined_vector.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/byte_buffer.h"
#include "latency_histogram.h"

namespace ringcast::server {

class Doorbell;
class StreamCounter;

// The events of one response by the instant they were accepted, for the delivery-latency
// histogram. Usually one or two spans: a response rarely crosses many publish batches.
using LatencySpans = absl::InlinedVector<LatencySpan, 2>;

class Subscription final : public grpc::ServerWriteReactor<grpc::ByteBuffer>,
                           public std::enable_shared_from_this<Subscription> {
 public:
  struct Settings {
    bool reliable = true;
    uint32_t max_batch_events = 512;
    uint32_t max_response_bytes = 1u << 20;
    uint64_t queue_bytes = 8u << 20;
  };

  enum class OfferResult { kAccepted, kFull, kClosed };

  // State the fan-out thread owns once the subscription is registered.
  struct WorkerState {
    int64_t next_sequence = 0;  // the next sequence this stream will carry
    // Events from here on were published after the subscription registered; earlier ones are a
    // replay the client asked for and are left out of the delivery-latency histogram.
    int64_t live_from = 0;
    uint64_t pending_skipped = 0;                       // LOSSY: skipped since the last response
    bool blocked = false;                               // the last offer found the queue full
    absl::Time stalled_since = absl::InfiniteFuture();  // RELIABLE: holding up a full ring since
  };

  // `streams` counts this stream from construction until OnDone.
  Subscription(grpc::CallbackServerContext* context, Settings settings, Doorbell* doorbell,
               StreamCounter& streams, std::shared_ptr<LatencyHistogram> delivery_latency);

  // Creates a subscription that keeps itself alive until gRPC calls OnDone. `doorbell` is the
  // topic's fan-out doorbell, or null for a stream rejected before it reached a topic.
  // `delivery_latency` (the topic's, or null when metrics are off) records, as each response is
  // handed to gRPC, how long ago its live events were accepted.
  static std::shared_ptr<Subscription> Create(grpc::CallbackServerContext* context,
                                              Settings settings, Doorbell* doorbell,
                                              StreamCounter& streams,
                                              std::shared_ptr<LatencyHistogram> delivery_latency);

  // Sends initial metadata `ringcast-start-sequence: start` and lets writes begin. Call once,
  // after the topic registered the subscription.
  void Start(int64_t start_sequence);

  // Ends a stream that never started (bad request, unknown topic, limits).
  void Reject(grpc::Status status);

  [[nodiscard]] const Settings& settings() const noexcept { return settings_; }
  [[nodiscard]] bool reliable() const noexcept { return settings_.reliable; }

  // Fan-out thread: queues a response whose last event is `last_sequence` and whose live events
  // were accepted as `spans` says. kFull leaves `response` untouched and rings the doorbell once
  // the queue drains a write.
  [[nodiscard]] OfferResult Offer(grpc::ByteBuffer& response, std::size_t bytes,
                                  int64_t last_sequence, LatencySpans spans = {});

  // Ends the stream now with `status`, dropping what is queued but not yet handed to gRPC.
  void FinishNow(const grpc::Status& status);
  // Ends the stream with `status` once everything queued has been written.
  void FinishWhenDrained(const grpc::Status& status);

  // True once the stream is finishing or gone: the fan-out stage drops it.
  [[nodiscard]] bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }

  // The last sequence handed to gRPC for writing, or -1.
  [[nodiscard]] int64_t last_sent_sequence() const;

  // Everything up to here was handed to gRPC (or precedes the start): the figure subscriber lag
  // is measured to. Set to start - 1 at registration; any thread may read it.
  [[nodiscard]] int64_t sent_through() const noexcept {
    return sent_through_.load(std::memory_order_relaxed);
  }
  void set_sent_through(int64_t sequence) noexcept {
    sent_through_.store(sequence, std::memory_order_relaxed);
  }

  WorkerState worker;

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
  const Settings settings_;
  Doorbell* const doorbell_;
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
  std::atomic<int64_t> sent_through_{-1};  // relaxed: a figure, read at scrape time
  std::optional<grpc::Status> finish_when_drained_;
  std::shared_ptr<Subscription> self_;  // keeps the reactor alive until OnDone

  // Release in the writers (under mu_); acquire in closed(): the fan-out thread may then drop it.
  std::atomic<bool> closed_{false};
};

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_SRC_SUBSCRIPTION_H_
