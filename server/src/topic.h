// Topic: one ring of events (a multi-producer disruptor), its subscribers and its figures.
//
// Ring and retention. The ring has 2 x capacity slots. The fan-out stage is the only consumer; it
// keeps the producers' gating sequence (`gate_`) at least `capacity` events behind its own
// position and behind every RELIABLE subscriber, so the newest `capacity` published events (the
// retention window) and everything a RELIABLE subscriber still needs are never overwritten.
// Subscribers that start behind the live position are served from those retained slots by the
// fan-out thread itself: no reader outside the disruptor protocol ever touches a slot.
//
// Threads:
//  * Publishers (gRPC threads): TryClaim, slot, Publish, AddWaiter/RemoveWaiter, HasRoomFor.
//  * Subscribe handlers (gRPC threads): Register.
//  * The topic's fan-out thread: fanout() and everything in fanout.cc.
//  * Anyone: Describe, name, capacity, deleted, counters.
//
// Memory ordering: slots follow the sequencer's protocol (a publisher writes between TryClaim and
// Publish; the fan-out thread reads after HighestPublishedSequence). Registration and the gate
// move together under mu_: Register validates a start position against the gate and queues the
// subscription; the fan-out thread takes queued subscriptions into account before it raises the
// gate in the same critical section, so a registered start slot can never be overwritten.
#ifndef RINGCAST_SERVER_SRC_TOPIC_H_
#define RINGCAST_SERVER_SRC_TOPIC_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "latency_histogram.h"
#include "reject_reason.h"
#include "ringcast/core/multi_producer_sequencer.h"
#include "ringcast/core/ring_buffer.h"
#include "ringcast/core/sequence.h"
#include "ringcast/core/wait_strategy.h"
#include "ringcast/v1/ringcast.pb.h"

namespace ringcast::server {

class Doorbell;
class Subscription;

// One ring slot: an event encoded as a framed SubscribeResponse entry (see event_codec.h).
struct EventSlot {
  std::string framed;
  int64_t accepted_nanos = 0;  // MonotonicNanos() when its batch was published
};

// Consecutive slots from `first_sequence` on that were accepted at `accepted_nanos` (one batch).
struct AcceptedRun {
  int64_t first_sequence = 0;
  int64_t accepted_nanos = 0;
};

// A publisher parked on a full ring. WakeForRoom is called once after it was added, from the
// fan-out thread or a deleting thread, when the ring may have room again (or the topic is gone).
class PublishWaiter {
 public:
  virtual void WakeForRoom() = 0;

 protected:
  ~PublishWaiter() = default;
};

struct StartPosition {
  enum class Kind { kLatest, kEarliest, kSequence };
  Kind kind = Kind::kLatest;
  uint64_t sequence = 0;  // kSequence only
};

// Per-topic counters, for Topic figures and metrics. Publisher-side counters are added once per
// batch; fan-out counters are written by the fan-out thread alone, once per round.
struct TopicCounters {
  RejectCounters rejected;
  std::atomic<uint64_t> events_published{0};
  std::atomic<uint64_t> batches_published{0};
  std::atomic<uint64_t> events_delivered{0};
  std::atomic<uint64_t> events_skipped{0};
  std::atomic<uint64_t> slow_subscriber_disconnects{0};
  std::atomic<uint64_t> publish_blocked_nanos{0};
};

class Topic {
 public:
  // Consumers never wait on the sequencer itself (the fan-out thread parks on the doorbell), so
  // its wait strategy has nothing to signal.
  using RingSequencer = MultiProducerSequencer<BusySpin>;

  // Requires: capacity is a power of two, at most 2^29. With `latency_metrics` the topic keeps a
  // delivery-latency histogram.
  Topic(std::string name, uint32_t capacity, Doorbell& doorbell, bool latency_metrics);
  Topic(const Topic&) = delete;
  Topic& operator=(const Topic&) = delete;
  ~Topic();

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] uint32_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] Doorbell& doorbell() const noexcept { return doorbell_; }

  // ---- Publishers ----

  // Claims n consecutive slots, or reports why not; never waits.
  [[nodiscard]] ClaimResult TryClaim(int64_t n) noexcept { return sequencer_.TryNext(n); }
  [[nodiscard]] EventSlot& slot(int64_t sequence) noexcept { return ring_.Get(sequence); }
  // Makes first..last visible to the fan-out stage as one unit, and wakes it if anyone waits for
  // them: when the topic has subscribers, or when lazy_release_events_ events wait past the
  // fan-out stage's position. A topic without subscribers is released in bulk (or on the fan-out
  // thread's periodic round), not woken for every batch: ingest alone costs no thread hand-off
  // per batch.
  void Publish(int64_t first, int64_t last) noexcept;
  // True if a claim of n slots would succeed now (approximate while others publish).
  [[nodiscard]] bool HasRoomFor(int64_t n) const noexcept;

  // Parks `waiter` until the ring may have room. After AddWaiter, check HasRoomFor again: room
  // that freed before the add does not wake the waiter.
  void AddWaiter(PublishWaiter* waiter);
  // False if the waiter was already woken (or never added).
  bool RemoveWaiter(PublishWaiter* waiter);
  // Wakes every parked publisher (fan-out thread after raising the gate; deletion).
  void WakeWaiters();

  void PublishStreamJoined() noexcept { publish_streams_.fetch_add(1, std::memory_order_relaxed); }
  void PublishStreamLeft() noexcept { publish_streams_.fetch_sub(1, std::memory_order_relaxed); }

  // ---- Subscribers ----

  // Queues `subscription` for the fan-out stage, starting at `start`, and returns that start.
  // NOT_FOUND if the topic was deleted, OUT_OF_RANGE for a sequence outside the retained range,
  // RESOURCE_EXHAUSTED beyond `max_subscribers`, UNAVAILABLE while the server drains.
  absl::StatusOr<int64_t> Register(const std::shared_ptr<Subscription>& subscription,
                                   const StartPosition& start, uint32_t max_subscribers);

  // ---- Figures ----

  // The sequence the next published event will get.
  [[nodiscard]] int64_t NextSequence() const noexcept;
  // Live figures as the wire contract's Topic.
  [[nodiscard]] v1::Topic Describe() const;
  // Claimed events the fan-out stage has not yet released, 0..capacity.
  [[nodiscard]] int64_t Occupancy() const noexcept;
  // True while a publisher is parked on this topic or the ring is full.
  [[nodiscard]] bool PublishersBlocked() const noexcept {
    return waiter_count_.load(std::memory_order_relaxed) > 0 || Occupancy() >= capacity_;
  }
  [[nodiscard]] uint32_t subscriber_count() const noexcept {
    return subscriber_count_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] TopicCounters& counters() noexcept { return counters_; }
  [[nodiscard]] const TopicCounters& counters() const noexcept { return counters_; }
  // Null when metrics are off.
  [[nodiscard]] const std::shared_ptr<LatencyHistogram>& delivery_latency() const noexcept {
    return delivery_latency_;
  }
  // Events published but not yet handed to gRPC for the subscriber furthest behind (0 without
  // subscribers). Takes the directory lock: for scrapes, not the hot path.
  [[nodiscard]] int64_t SubscriberLagMax() const;

  // ---- Lifecycle ----

  // The topic is gone: registrations fail with NOT_FOUND; the fan-out stage ends subscribers with
  // NOT_FOUND and wakes parked publishers.
  void MarkDeleted();
  [[nodiscard]] bool deleted() const noexcept { return deleted_.load(std::memory_order_acquire); }
  // The server is shutting down: registrations fail with UNAVAILABLE; the fan-out stage ends each
  // subscriber with UNAVAILABLE once it has been sent everything published.
  void BeginDrain();
  [[nodiscard]] bool draining() const noexcept { return draining_.load(std::memory_order_acquire); }

  // ---- The fan-out thread's own state ----
  struct FanoutState {
    int64_t position = kInitialSequence;  // every live subscriber was offered up to here
    int64_t gate = kInitialSequence;      // the value last stored in gate_
    std::vector<std::shared_ptr<Subscription>> subscribers;
    std::vector<std::size_t> offsets;   // scratch: event boundaries in a run's buffer
    std::vector<AcceptedRun> accepted;  // scratch: a run's publish batches, by first sequence
    bool deletion_handled = false;
    uint64_t delivered = 0;  // counters folded into counters_ once per round
    uint64_t skipped = 0;
  };
  [[nodiscard]] FanoutState& fanout() noexcept { return fanout_; }
  [[nodiscard]] RingSequencer& sequencer() noexcept { return sequencer_; }

  // Fan-out thread: takes queued registrations, then stores the new gate and position, together.
  // `gate_candidate` accounts for the registered subscribers; queued ones lower it if needed. The
  // gate never moves back.
  void AdvanceGateAndAbsorb(int64_t gate_candidate);
  // Fan-out thread: `subscription` left; call before letting go of it.
  void SubscriberLeft(const Subscription* subscription);
  // Fan-out thread, after raising the gate: wakes publishers if any are parked.
  void WakeWaitersIfAny();
  [[nodiscard]] bool has_pending_registrations() const noexcept {
    return registrations_pending_.load(std::memory_order_acquire);
  }

 private:
  int64_t PublishedHigh() const noexcept;

  // At most this many events past the fan-out position before a publisher wakes the fan-out stage
  // of a topic without subscribers. Bounded so that figures reading the published range
  // (next_sequence) scan few slots.
  static constexpr int64_t kMaxLazyReleaseEvents = 8192;

  const std::string name_;
  const uint32_t capacity_;
  Doorbell& doorbell_;
  RingBuffer<EventSlot> ring_;
  RingSequencer sequencer_;
  Sequence gate_;             // producers' gating sequence; written by the fan-out thread
  Sequence fanout_position_;  // FanoutState::position, for other threads (Describe, Register)
  const int64_t lazy_release_events_;  // min(capacity / 8, kMaxLazyReleaseEvents)

  mutable std::mutex mu_;                               // registrations and gate moves
  std::vector<std::shared_ptr<Subscription>> pending_;  // guarded by mu_
  std::atomic<bool> registrations_pending_{false};

  std::mutex waiters_mu_;
  std::vector<PublishWaiter*> waiters_;  // guarded by waiters_mu_
  std::atomic<int> waiter_count_{0};

  std::atomic<bool> deleted_{false};
  std::atomic<bool> draining_{false};
  std::atomic<uint32_t> subscriber_count_{0};
  std::atomic<uint32_t> publish_streams_{0};
  TopicCounters counters_;
  const std::shared_ptr<LatencyHistogram> delivery_latency_;

  // Every registered subscription, for the lag figure. Added by Register, removed by the fan-out
  // thread (SubscriberLeft) before it lets go of the subscription, which keeps it alive till then.
  mutable std::mutex directory_mu_;
  absl::flat_hash_set<const Subscription*> directory_;  // guarded by directory_mu_

  FanoutState fanout_;
};

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_SRC_TOPIC_H_
