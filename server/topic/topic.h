// Topic: one ring of events (a multi-producer disruptor), the pipeline of stages that consumes it,
// its subscribers and its figures.
//
// Pipeline. A durable topic (one given a journal) runs a journal stage over the producers' cursor
// on a journal pool thread, then its fan-out stage, gated on the journal stage, as a step of the
// stage runner that owns the topic (DoWork); a topic without a journal runs the fan-out stage
// alone, over the producers' cursor. Publishers of a durable topic are acknowledged once the
// journal stage has passed their batch (WaitForJournal), and its ring continues the journal's
// sequence (the first event published after a restart gets the journal's next sequence).
//
// Ring and retention. The ring has 2 x capacity slots. The fan-out stage keeps the producers'
// gating sequence (`gate_`) at least `capacity` events behind its live position and behind every
// RELIABLE subscriber, so the newest `capacity` published events (the retention window) and
// everything a RELIABLE subscriber still needs are never overwritten. Subscribers that start
// behind the live position are served from those retained slots by the fan-out stage itself: no
// reader outside the disruptor protocol ever touches a slot.
//
// Memory. The ring is zero-filled (an idle topic costs no slot memory) and each slot owns a
// buffer sized to the events written to it. The topic's byte budget (`max_bytes`) counts every
// slot buffer; a publisher reserves its batch's bytes before it claims slots, in the topic's
// budget and in the server's, and waits, as on a full ring, while the topic's is full (a full
// server budget refuses the batch instead). When the gate passes a slot, the fan-out stage gives
// its buffer back if it is larger than kKeepBytes or the topic is under pressure (more than half
// its budget in use, or the server's budget nearly spent); smaller buffers stay for the next
// event, so a steady stream allocates nothing. Under pressure the stage also moves the gate past
// retained events the live position and every RELIABLE subscriber are done with, oldest first,
// until half the budget is free (all of them while the server's budget is nearly spent): the
// newest `capacity` events are retained if they fit in half the budget, and as many of the
// newest as fit otherwise.
//
// Threads:
//  * Publishers (any thread): TryClaim, slot, Publish, AddWaiter/RemoveWaiter, HasRoomFor,
//    RunFanoutInline.
//  * Subscribers' handlers (any thread): Register.
//  * The fan-out step, one thread at a time: the owning agent runner's (DoWork), or a publisher's
//    running it inline (RunFanoutInline), whichever claims the stage; the stage-only methods
//    below are called from it.
//  * Anyone: Describe, name, capacity, the lifecycle flags, counters.
//
// Memory ordering: slots follow the sequencer's protocol (a publisher writes between TryClaim and
// Publish; stages read what their barrier released). Registration and the gate move together
// under mu_: Register validates a start position against the gate and queues the subscriber; the
// fan-out stage takes queued subscribers into account before it raises the gate in the same
// critical section, so a registered start slot can never be overwritten.
//
// Lock order: mu_, then directory_mu_. waiters_mu_ is never held with another of them.
#ifndef RINGCAST_SERVER_TOPIC_TOPIC_H_
#define RINGCAST_SERVER_TOPIC_TOPIC_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "observability/latency_histogram.h"
#include "observability/reject_reason.h"
#include "ringcast/core/doorbell.h"
#include "ringcast/core/sequence.h"
#include "storage/journal.h"
#include "topic/event_slot.h"
#include "topic/fanout_stage.h"
#include "topic/journal_stage.h"
#include "topic/memory_budget.h"
#include "topic/outbound_queue.h"

namespace ringcast::server {

// A publisher parked on a full ring. WakeForRoom is called once after it was added, from the
// stage thread or a deleting thread, when the ring may have room again (or the topic is gone).
class PublishWaiter {
 public:
  virtual void WakeForRoom() = 0;

 protected:
  ~PublishWaiter() = default;
};

struct StartPosition {
  enum class Kind { kLatest, kEarliest, kSequence, kTime };
  Kind kind = Kind::kLatest;
  uint64_t sequence = 0;   // kSequence only
  int64_t time_nanos = 0;  // kTime only: the first event published at or after this wall time
};

// A publisher waiting for its batch to be journaled. OnJournaled is called once after it was added
// (WaitForJournal), from the journal stage's thread, when the journaled sequence moved, the
// journal failed, or the topic was deleted; it must not block.
class JournalWaiter {
 public:
  virtual void OnJournaled() = 0;

 protected:
  ~JournalWaiter() = default;
};

// Per-topic counters, for Topic figures and metrics. Publisher-side counters are added once per
// batch; stage counters are written by the stage thread alone, once per step.
struct TopicCounters {
  RejectCounters rejected;
  std::atomic<uint64_t> events_published{0};
  std::atomic<uint64_t> batches_published{0};
  std::atomic<uint64_t> events_delivered{0};
  std::atomic<uint64_t> events_skipped{0};
  std::atomic<uint64_t> slow_subscriber_disconnects{0};
  std::atomic<uint64_t> publish_blocked_nanos{0};
  std::atomic<uint64_t> stage_failures{0};
  std::atomic<uint64_t> journal_segments_deleted{0};
  std::atomic<uint64_t> events_replayed_from_disk{0};
};

// A topic's live figures (the wire contract's Topic message, without the wire).
struct TopicInfo {
  std::string name;
  uint32_t capacity = 0;
  int64_t next_sequence = 0;
  int64_t oldest_sequence = 0;
  uint32_t subscribers = 0;
  uint32_t publish_streams = 0;
  double backpressure_ratio = 0;
  uint64_t bytes = 0;      // slot buffers held
  uint64_t max_bytes = 0;  // the topic's byte budget
  bool durable = false;
  uint64_t journal_bytes = 0;
  uint64_t retention_bytes = 0;                         // 0: no limit
  absl::Duration retention_age = absl::ZeroDuration();  // zero: no limit
};

struct TopicSettings {
  uint32_t capacity = 65536;  // a power of two, at most 2^29
  FanoutSettings fanout;
  bool latency_metrics = true;  // keep a delivery-latency histogram
  // A memory-only topic with subscribers runs its fan-out step on the publisher's thread when no
  // other thread is running it and the topic was quiet (no publish for inline_fanout_quiet before
  // this one; Topic::RunFanoutInline): one thread hand-off fewer per event.
  bool inline_fanout = false;
  absl::Duration inline_fanout_quiet = absl::Microseconds(500);
  EventRunFactory run_factory = MakeHeapEventRun;
  // The most bytes of slot buffers the ring holds; at least 2 x the largest event's buffer.
  uint64_t max_bytes = uint64_t{256} << 20;
  // The server's budget, also charged for every slot buffer and slot page; null: none.
  MemoryBudget* server_budget = nullptr;
  // Durable topics: the journal (opened and recovered), how it syncs, and the doorbell of the
  // journal pool's runner that will run the journal stage. Null journal: a memory-only topic.
  std::unique_ptr<storage::Journal> journal;
  JournalSettings journal_settings;
  Doorbell* journal_doorbell = nullptr;
};

// Where a publisher's reservation of bytes stands.
enum class ByteReservation {
  kReserved,    // charged to the topic and the server
  kTopicFull,   // the topic's budget has no room now: wait, as on a full ring
  kServerFull,  // the server's budget has no room: refuse
};

class Topic {
 public:
  // `doorbell` belongs to the agent runner that will run DoWork.
  Topic(std::string name, TopicSettings settings, Doorbell& doorbell);
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
  // Makes first..last visible to the pipeline as one unit, and wakes it if anyone waits for them:
  // when the topic has subscribers, when lazy_release_events_ events wait past the fan-out
  // position, or when the ring holds more than half its byte budget (so the stage frees room
  // before publishers have to wait for it). A topic without subscribers is released in bulk (or on
  // the runner's periodic cycle), not woken for every batch: ingest alone costs no thread hand-off
  // per batch.
  void Publish(int64_t first, int64_t last) noexcept;
  // Publish, except that where it would wake the runner because the topic has subscribers, and
  // the topic runs its fan-out inline (TopicSettings::inline_fanout) and was quiet before this
  // publish, it returns true instead:
  // the caller then calls RunFanoutInline once it holds no lock of its own.
  [[nodiscard]] bool PublishForInlineFanout(int64_t first, int64_t last) noexcept;
  // Runs the fan-out step on this thread if no other thread is running it (otherwise wakes the
  // runner, whose step then covers the new events), so that on an idle topic an event reaches
  // its subscribers' streams without a hand-off to the runner's thread. Wakes the runner
  // afterwards if it tried a step meanwhile.
  void RunFanoutInline() noexcept;
  // True if a claim of n slots and a reservation of `bytes` would succeed now (approximate while
  // others publish).
  [[nodiscard]] bool HasRoomFor(int64_t n, uint64_t bytes) const noexcept;

  // Reserves `bytes` (what the batch's slots may grow by: see EventSlot::BufferBytes) before the
  // claim. Once the slots are written, Settle with what they grew by (at most what was reserved)
  // and the sequences claimed; without a claim, Unreserve.
  [[nodiscard]] ByteReservation ReserveBytes(uint64_t bytes) noexcept;
  void SettleBytes(uint64_t reserved, uint64_t grown, int64_t first, int64_t last) noexcept;
  void UnreserveBytes(uint64_t reserved) noexcept;
  // Publishes claimed slots first..last that could not be written (their events are lost) and
  // fails the topic with `status`, so nobody is served a gap.
  void AbandonClaim(int64_t first, int64_t last, absl::Status status);
  // The most bytes one batch may reserve: half the budget, so that a batch always fits once the
  // stage has released the retained events nobody needs.
  [[nodiscard]] uint64_t max_batch_bytes() const noexcept { return bytes_.limit() / 2; }
  [[nodiscard]] uint64_t bytes() const noexcept { return bytes_.used(); }
  [[nodiscard]] uint64_t max_bytes() const noexcept { return bytes_.limit(); }

  // Parks `waiter` until the ring may have room. After AddWaiter, check HasRoomFor again: room
  // that freed before the add does not wake the waiter.
  void AddWaiter(PublishWaiter* waiter);
  // False if the waiter was already woken (or never added).
  bool RemoveWaiter(PublishWaiter* waiter);
  // Wakes every parked publisher (stage thread after raising the gate; deletion; failure).
  void WakeWaiters();

  void PublishStreamJoined() noexcept { publish_streams_.fetch_add(1, std::memory_order_relaxed); }
  void PublishStreamLeft() noexcept { publish_streams_.fetch_sub(1, std::memory_order_relaxed); }

  // ---- Subscribers ----

  // The oldest sequence the ring can still serve a new subscriber (older ones: the journal's).
  [[nodiscard]] int64_t RingOldestSequence() const noexcept;
  // Queues `queue` for the fan-out stage, starting at `start`, and returns that start. A kTime
  // start is looked up among the events the ring holds.
  // NOT_FOUND if the topic was deleted, OUT_OF_RANGE for a sequence outside the retained range,
  // RESOURCE_EXHAUSTED beyond `max_subscribers`, UNAVAILABLE while the server drains, INTERNAL
  // if the topic failed.
  absl::StatusOr<int64_t> Register(std::shared_ptr<OutboundQueue> queue,
                                   const SubscriberSettings& settings, const StartPosition& start,
                                   uint32_t max_subscribers);

  // Makes the runs subscribers are sent (charged to the server's memory budget).
  [[nodiscard]] const EventRunFactory& run_factory() const noexcept { return run_factory_; }

  // ---- Durability ----

  // Null for a memory-only topic. The journal pool runs it (it lives as long as the topic).
  [[nodiscard]] JournalStage* journal_stage() const noexcept { return journal_stage_.get(); }
  // Events up to here are journaled (for a memory-only topic: every published event).
  [[nodiscard]] int64_t JournaledSequence() const noexcept;
  // Calls waiter->OnJournaled() once, the next time the journaled sequence moves (or the journal
  // fails, or the topic is deleted). After adding, check JournaledSequence() again: a move before
  // the add wakes nobody.
  void WaitForJournal(std::shared_ptr<JournalWaiter> waiter);
  // Journal stage: wakes every waiter added so far.
  void NotifyJournaled();
  // OK, or why the journal cannot take batches now (a full disk: RESOURCE_EXHAUSTED; a failed
  // sync: UNAVAILABLE). Publishers check it before they claim.
  [[nodiscard]] absl::Status PublishRefusal() const;
  [[nodiscard]] bool refusing() const noexcept { return refusing_.load(std::memory_order_acquire); }
  // Journal stage: sets (or with OK clears) the refusal.
  void SetPublishRefusal(absl::Status status);

  // ---- The pipeline (the owning agent runner's thread) ----

  // Runs each stage once, upstream first, unless a publisher is running the fan-out step inline
  // (that publisher then wakes the runner again). Returns the work done.
  int DoWork() noexcept;
  // True once the deleted topic's pipeline has ended every stream: it needs no more steps.
  [[nodiscard]] bool Finished() const noexcept { return fanout_.Finished(); }

  // ---- Figures ----

  // The sequence the next published event will get.
  [[nodiscard]] int64_t NextSequence() const noexcept;
  [[nodiscard]] TopicInfo Describe() const;
  // Claimed events the fan-out stage has not yet released, 0..capacity.
  [[nodiscard]] int64_t Occupancy() const noexcept;
  // True while a publisher is parked on this topic or the ring is full.
  [[nodiscard]] bool PublishersBlocked() const noexcept {
    return waiter_count_.load(std::memory_order_relaxed) > 0 || Occupancy() >= capacity_;
  }
  // Subscribers registered with the fan-out stage (readers catching up from the journal not
  // included: they join it when they reach the ring).
  [[nodiscard]] uint32_t subscriber_count() const noexcept {
    return subscriber_count_.load(std::memory_order_relaxed);
  }
  // Readers catching up from the journal: counted with the subscribers against
  // `max_subscribers` and in the topic's figures. Any thread.
  [[nodiscard]] bool TryAddDiskReader(uint32_t max_subscribers) noexcept;
  void RemoveDiskReader() noexcept { disk_readers_.fetch_sub(1, std::memory_order_relaxed); }
  [[nodiscard]] uint32_t disk_reader_count() const noexcept {
    return disk_readers_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] TopicCounters& counters() noexcept { return counters_; }
  [[nodiscard]] const TopicCounters& counters() const noexcept { return counters_; }
  // Null when metrics are off.
  [[nodiscard]] const std::shared_ptr<LatencyHistogram>& delivery_latency() const noexcept {
    return delivery_latency_;
  }
  // Events published but not yet handed to the transport for the subscriber furthest behind (0
  // without subscribers). Takes the directory lock: for scrapes, not the hot path.
  [[nodiscard]] int64_t SubscriberLagMax() const;

  // ---- Lifecycle ----

  // The topic is gone: registrations fail with NOT_FOUND; the fan-out stage ends subscribers with
  // NOT_FOUND and wakes parked publishers.
  void MarkDeleted();
  [[nodiscard]] bool deleted() const noexcept { return deleted_.load(std::memory_order_acquire); }
  // The server is shutting down: registrations fail with UNAVAILABLE; the fan-out stage ends each
  // subscriber with UNAVAILABLE once it has been offered everything published.
  void BeginDrain();
  [[nodiscard]] bool draining() const noexcept { return draining_.load(std::memory_order_acquire); }
  // OK, or INTERNAL saying why a stage of this topic failed: publishes and registrations are
  // refused with it.
  [[nodiscard]] absl::Status failure() const;
  [[nodiscard]] bool failed() const noexcept { return failed_.load(std::memory_order_acquire); }

 private:
  friend class FanoutStage;   // the stage-only methods below
  friend class JournalStage;  // the ring and its sequencer

  // Stage thread: takes queued registrations into `subscribers`, then moves the gate and gives
  // back the buffers of the slots it passes, together. `gate_candidate` (`capacity` behind the
  // registered RELIABLE subscribers and the live position) and `trim_limit` (the lowest of those
  // positions: what may go when memory is short) account for the registered subscribers; queued
  // ones lower them if needed. The gate never moves back. Returns the gate now in force.
  int64_t AdvanceGateAndAbsorb(int64_t gate_candidate, int64_t trim_limit,
                               std::vector<FanoutSubscriber>& subscribers);
  // True when the stage should release memory: more than half the topic's budget in use, or the
  // server's budget nearly spent.
  [[nodiscard]] bool UnderMemoryPressure() const noexcept;
  // Stage thread: `queue` left; call before letting go of it.
  void SubscriberLeft(const OutboundQueue* queue);
  // Stage thread, after raising the gate: wakes publishers if any are parked.
  void WakeWaitersIfAny();
  // Stage thread: a stage failed; registrations and publishes are refused from now on.
  void MarkFailed(absl::Status status);
  [[nodiscard]] bool has_pending_registrations() const noexcept {
    return registrations_pending_.load(std::memory_order_acquire);
  }
  [[nodiscard]] TopicSequencer& sequencer() noexcept { return sequencer_; }
  int64_t PublishedHigh() const noexcept;

  // At most this many events past the fan-out position before a publisher wakes the pipeline of a
  // topic without subscribers. Bounded so that figures reading the published range
  // (next_sequence) scan few slots.
  static constexpr int64_t kMaxLazyReleaseEvents = 8192;
  // Slot buffers up to this size stay in their slot when it leaves the retention window.
  static constexpr uint64_t kKeepBytes = 16 << 10;

  [[nodiscard]] bool ServerUnderPressure() const noexcept;

  const std::string name_;
  const uint32_t capacity_;
  // The sequence before the first this ring holds: the journal's next - 1, or -1.
  const int64_t start_sequence_;
  Doorbell& doorbell_;
  Doorbell* const journal_doorbell_;  // null: a memory-only topic
  TopicRing ring_;
  TopicSequencer sequencer_;
  Sequence gate_;  // producers' gating sequence; written by the fan-out stage under mu_
  const int64_t lazy_release_events_;  // min(capacity / 8, kMaxLazyReleaseEvents)
  const EventRunFactory run_factory_;
  MemoryBudget bytes_;                         // every slot buffer, and reservations in flight
  MemoryBudget* const server_budget_;          // null: none
  std::atomic<uint64_t> slot_pages_bytes_{0};  // slot array bytes charged to the server budget

  mutable std::mutex mu_;                  // registrations, gate moves, lifecycle
  std::vector<FanoutSubscriber> pending_;  // guarded by mu_
  std::atomic<bool> registrations_pending_{false};
  absl::Status failure_;  // guarded by mu_

  std::mutex waiters_mu_;
  std::vector<PublishWaiter*> waiters_;  // guarded by waiters_mu_
  std::atomic<int> waiter_count_{0};

  std::atomic<bool> deleted_{false};
  std::atomic<bool> draining_{false};
  std::atomic<bool> failed_{false};
  std::atomic<uint32_t> subscriber_count_{0};
  // The fan-out step's claim (DoWork, RunFanoutInline), and whether the runner found it taken.
  // seq_cst throughout: a runner that finds the claim taken parks, so the holder must see that it
  // did (see RunFanoutInline).
  const bool inline_fanout_;
  const int64_t inline_fanout_quiet_nanos_;
  std::atomic<int64_t> last_publish_nanos_{0};
  std::atomic<bool> fanout_claimed_{false};
  std::atomic<bool> fanout_missed_{false};
  std::atomic<uint32_t> disk_readers_{0};  // relaxed: a count for limits and figures
  std::atomic<uint32_t> publish_streams_{0};
  TopicCounters counters_;
  const std::shared_ptr<LatencyHistogram> delivery_latency_;

  // Every registered subscriber's queue, for the lag figure. Added by Register, removed by the
  // stage (SubscriberLeft) before it lets go of the queue, which keeps it alive till then.
  mutable std::mutex directory_mu_;
  absl::flat_hash_set<const OutboundQueue*> directory_;  // guarded by directory_mu_

  mutable std::mutex refusal_mu_;
  absl::Status refusal_;  // guarded by refusal_mu_
  std::atomic<bool> refusing_{false};

  std::mutex journal_waiters_mu_;
  std::vector<std::shared_ptr<JournalWaiter>> journal_waiters_;  // guarded by journal_waiters_mu_
  std::atomic<int> journal_waiter_count_{0};

  // The stages: they read the members above from their constructors on.
  std::unique_ptr<JournalStage> journal_stage_;  // null: a memory-only topic
  FanoutStage fanout_;
};

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_TOPIC_TOPIC_H_
