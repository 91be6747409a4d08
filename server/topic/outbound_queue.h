// OutboundQueue: the fan-out stage's narrow view of one subscriber's stream. The gRPC subscribe
// reactor (rpc/subscribe_reactor.h) is the production implementation; tests plug in their own.
//
// The fan-out stage copies each run of published events once into an EventRun and offers every
// live subscriber its slice of it as an OutboundResponse. A queue accepts a response, says it is
// full (the fan-out stage keeps the response and offers it again after the queue rang the topic's
// doorbell), or says it is closed (the stream is ending; the stage drops it).
//
// Threads: Offer, FinishNow and FinishWhenDrained are called by the topic's stage thread only;
// closed(), sent_through() from any thread. An implementation must never block in them for
// long (a short mutex is fine): they run on the thread every subscriber of the topic shares.
#ifndef RINGCAST_SERVER_TOPIC_OUTBOUND_QUEUE_H_
#define RINGCAST_SERVER_TOPIC_OUTBOUND_QUEUE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "observability/latency_histogram.h"
#include "ringcast/core/doorbell.h"

namespace ringcast::server {

// Encoded events, written once by the stage that creates the run and then shared read-only by
// every queue it is offered to. The transport may subclass it to own the bytes in its own buffer
// type (a gRPC slice), so that a slice of a run is sent without another copy.
class EventRun {
 public:
  EventRun(char* data, std::size_t size) noexcept : data_(data), size_(size) {}
  EventRun(const EventRun&) = delete;
  EventRun& operator=(const EventRun&) = delete;
  virtual ~EventRun() = default;

  // Writable only by the stage that made the run, before it is offered.
  [[nodiscard]] char* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  char* const data_;
  const std::size_t size_;
};

// Makes runs of a given size. The default keeps them on the heap.
using EventRunFactory = std::function<std::shared_ptr<EventRun>(std::size_t bytes)>;
std::shared_ptr<EventRun> MakeHeapEventRun(std::size_t bytes);

// The events of one response by the instant they were accepted, for the delivery-latency
// histogram. Usually one or two spans: a response rarely crosses many publish batches.
using LatencySpans = absl::InlinedVector<LatencySpan, 2>;

// Events first_sequence..last_sequence: bytes [begin, end) of `run`, each one a framed
// SubscribeResponse `events` entry; `skipped` events were skipped (LOSSY) since the last response.
struct OutboundResponse {
  std::shared_ptr<EventRun> run;
  std::size_t begin = 0;
  std::size_t end = 0;
  int64_t first_sequence = 0;
  int64_t last_sequence = 0;
  uint64_t skipped = 0;
  LatencySpans spans;  // live events only (a replay the client asked for is not timed)

  [[nodiscard]] std::size_t bytes() const noexcept { return end - begin; }
};

// How a subscriber wants to be served; fixed at registration.
struct SubscriberSettings {
  bool reliable = true;
  uint32_t max_batch_events = 512;
  uint32_t max_response_bytes = 1u << 20;
};

class OutboundQueue {
 public:
  enum class OfferResult { kAccepted, kFull, kClosed };

  OutboundQueue() = default;
  OutboundQueue(const OutboundQueue&) = delete;
  OutboundQueue& operator=(const OutboundQueue&) = delete;

  // Queues `response` (kAccepted: it may have been moved from). kFull leaves it untouched and
  // promises to ring the topic's doorbell once there is room again; kClosed: the stream is ending.
  [[nodiscard]] virtual OfferResult Offer(OutboundResponse& response) = 0;
  // Ends the stream now with `status`, dropping what is queued but not yet handed to the transport.
  virtual void FinishNow(const absl::Status& status) = 0;
  // Ends the stream with `status` once everything queued has been written.
  virtual void FinishWhenDrained(const absl::Status& status) = 0;
  // True once the stream is finishing or gone: the fan-out stage drops it.
  [[nodiscard]] virtual bool closed() const noexcept = 0;
  // The last sequence handed to the transport, or -1.
  [[nodiscard]] virtual int64_t last_sent_sequence() const = 0;
  // From now on, the promise of kFull rings `doorbell` instead. A subscriber replayed from a
  // journal is offered its first responses by a replay thread, then handed to the fan-out stage
  // (see DiskReplay); whoever offers next is the one to wake. Never called while an offer runs.
  virtual void RedirectWakeups(Doorbell* doorbell) = 0;

  // Everything up to here was handed to the transport (or precedes the start): the figure
  // subscriber lag is measured to. Relaxed: a figure, read at scrape time.
  [[nodiscard]] int64_t sent_through() const noexcept {
    return sent_through_.load(std::memory_order_relaxed);
  }
  void set_sent_through(int64_t sequence) noexcept {
    sent_through_.store(sequence, std::memory_order_relaxed);
  }

 protected:
  ~OutboundQueue() = default;

 private:
  std::atomic<int64_t> sent_through_{-1};
};

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_TOPIC_OUTBOUND_QUEUE_H_
