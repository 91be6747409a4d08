#include "topic/topic.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace ringcast::server {

std::shared_ptr<EventRun> MakeHeapEventRun(std::size_t bytes) {
  struct HeapRun final : EventRun {
    HeapRun(std::unique_ptr<char[]> owned, std::size_t n)
        : EventRun(owned.get(), n), storage(std::move(owned)) {}
    std::unique_ptr<char[]> storage;
  };
  return std::make_shared<HeapRun>(std::make_unique_for_overwrite<char[]>(bytes == 0 ? 1 : bytes),
                                   bytes);
}

char* EventSlot::Resize(std::size_t bytes, uint64_t& grown) {
  if (bytes > capacity) {
    const uint64_t wanted = BufferBytes(bytes);
    std::free(data);
    data = nullptr;
    capacity = 0;
    size = 0;
    data = static_cast<char*>(std::malloc(wanted));
    if (data == nullptr) throw std::bad_alloc();
    capacity = static_cast<uint32_t>(wanted);
    grown += wanted;
  }
  size = static_cast<uint32_t>(bytes);
  return data;
}

uint64_t EventSlot::Release() noexcept {
  const uint64_t freed = capacity;
  std::free(data);
  data = nullptr;
  size = 0;
  capacity = 0;
  return freed;
}

Topic::Topic(std::string name, TopicSettings settings, Doorbell& doorbell)
    : name_(std::move(name)),
      capacity_(settings.capacity),
      start_sequence_(settings.journal != nullptr ? settings.journal->next_sequence() - 1
                                                  : kInitialSequence),
      doorbell_(doorbell),
      journal_doorbell_(settings.journal != nullptr ? settings.journal_doorbell : nullptr),
      ring_(int64_t{2} * capacity_, kZeroFilled),
      sequencer_(int64_t{2} * capacity_, BusySpin(), {.initial_cursor = start_sequence_}),
      // The gate starts at the start, not capacity behind it: before the fan-out stage has
      // released anything, producers may run up to 2 x capacity ahead (the sequencer's gating
      // cache assumes gating sequences start at its initial cursor). Nothing is retained yet that
      // they could overwrite.
      gate_(start_sequence_),
      lazy_release_events_(std::min<int64_t>(capacity_ / 8, kMaxLazyReleaseEvents)),
      run_factory_(std::move(settings.run_factory)),
      bytes_(settings.max_bytes),
      server_budget_(settings.server_budget),
      inline_fanout_(settings.inline_fanout && settings.journal == nullptr),
      inline_fanout_quiet_nanos_(absl::ToInt64Nanoseconds(settings.inline_fanout_quiet)),
      delivery_latency_(settings.latency_metrics ? std::make_shared<LatencyHistogram>() : nullptr),
      journal_stage_(settings.journal != nullptr
                         ? std::make_unique<JournalStage>(*this, std::move(settings.journal),
                                                          settings.journal_settings)
                         : nullptr),
      fanout_(*this,
              journal_stage_ != nullptr ? std::vector<const Sequence*>{&journal_stage_->position()}
                                        : std::vector<const Sequence*>{},
              settings.fanout) {
  RINGCAST_CHECK(sequencer_.AddGatingSequence(gate_), "a fresh sequencer has gating slots");
  RINGCAST_CHECK(journal_stage_ == nullptr || journal_doorbell_ != nullptr,
                 "a durable topic needs the doorbell of its journal stage's runner");
}

Topic::~Topic() {
  static_cast<void>(sequencer_.RemoveGatingSequence(gate_));
  // Slots past the cursor were never written (the ring starts zero-filled): leave their pages.
  const int64_t cursor = sequencer_.Cursor();
  const int64_t oldest = std::max(start_sequence_ + 1, cursor - int64_t{2} * capacity_ + 1);
  for (int64_t s = oldest; s <= cursor; ++s) ring_.Get(s).Release();
  if (server_budget_ != nullptr) {
    server_budget_->Release(bytes_.used() + slot_pages_bytes_.load(std::memory_order_relaxed));
  }
}

void Topic::Publish(int64_t first, int64_t last) noexcept {
  if (PublishForInlineFanout(first, last)) doorbell_.Ring();
}

bool Topic::PublishForInlineFanout(int64_t first, int64_t last) noexcept {
  sequencer_.Publish(first, last);
  if (journal_doorbell_ != nullptr) {
    // Every batch waits for the journal stage (its acknowledgement does); the journal stage
    // wakes the fan-out stage in turn.
    journal_doorbell_->Ring();
    return false;
  }
  // seq_cst fence: orders the publish before the subscriber-count load; pairs with the seq_cst
  // increment in Register followed by its Ring. Either this sees the new subscriber and rings, or
  // the fan-out round that Register's ring starts sees these events.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (subscriber_count_.load(std::memory_order_relaxed) > 0) {
    if (inline_fanout_) {
      // Only on a quiet topic: publishes closer together are better served by the stage thread
      // running beside the publishers' gRPC threads (measured: at 10 k events/s inline steps
      // doubled p50; at 1 k/s they cut it by a seventh).
      const int64_t now = MonotonicNanos();
      // Relaxed: a hint; a stale value only picks the other path once.
      const int64_t previous = last_publish_nanos_.exchange(now, std::memory_order_relaxed);
      if (now - previous >= inline_fanout_quiet_nanos_) return true;
    }
    doorbell_.Ring();
  } else if (last - fanout_.position().Get() >= lazy_release_events_ ||
             bytes_.used() > bytes_.limit() / 2) {
    doorbell_.Ring();
  }
  return false;
}

int Topic::DoWork() noexcept {
  // Set before the attempt: a holder that releases after this attempt failed sees it.
  fanout_missed_.store(true, std::memory_order_seq_cst);
  if (fanout_claimed_.exchange(true, std::memory_order_seq_cst)) return 0;
  fanout_missed_.store(false, std::memory_order_relaxed);  // relaxed: only ever cleared early
  const int work = fanout_.DoWork();
  fanout_claimed_.store(false, std::memory_order_seq_cst);
  return work;
}

void Topic::RunFanoutInline() noexcept {
  if (fanout_claimed_.exchange(true, std::memory_order_seq_cst)) {
    doorbell_.Ring();  // the runner is mid-step: the ring makes it take one more
    return;
  }
  fanout_.DoWork();
  fanout_claimed_.store(false, std::memory_order_seq_cst);
  // The runner tried a step while this one ran (woken by another publisher, a subscriber whose
  // queue drained, a registration) and went back to its wait: wake it to take its turn.
  if (fanout_missed_.exchange(false, std::memory_order_seq_cst)) doorbell_.Ring();
}

bool Topic::HasRoomFor(int64_t n, uint64_t bytes) const noexcept {
  return sequencer_.RemainingCapacity() >= n && bytes_.available() >= bytes;
}

ByteReservation Topic::ReserveBytes(uint64_t bytes) noexcept {
  if (!bytes_.TryCharge(bytes)) return ByteReservation::kTopicFull;
  if (server_budget_ != nullptr && !server_budget_->TryCharge(bytes)) {
    bytes_.Release(bytes);
    return ByteReservation::kServerFull;
  }
  return ByteReservation::kReserved;
}

void Topic::UnreserveBytes(uint64_t reserved) noexcept {
  bytes_.Release(reserved);
  if (server_budget_ != nullptr) server_budget_->Release(reserved);
}

void Topic::SettleBytes(uint64_t reserved, uint64_t grown, int64_t /*first*/,
                        int64_t last) noexcept {
  UnreserveBytes(reserved - grown);
  const int64_t slots = last - start_sequence_;  // written since the ring started
  if (server_budget_ == nullptr || slots > int64_t{2} * capacity_) return;
  // First lap: the slot pages written so far become resident. Charged once, by whichever batch
  // first reaches past the pages already charged (a ring that starts mid-page touches one more).
  constexpr uint64_t kPage = 4096;
  const uint64_t reached =
      (static_cast<uint64_t>(slots) * sizeof(EventSlot) + 2 * kPage - 1) / kPage * kPage;
  uint64_t charged = slot_pages_bytes_.load(std::memory_order_relaxed);
  while (charged < reached) {
    if (slot_pages_bytes_.compare_exchange_weak(charged, reached, std::memory_order_relaxed)) {
      server_budget_->Charge(reached - charged);
      return;
    }
  }
}

int64_t Topic::JournaledSequence() const noexcept {
  return journal_stage_ != nullptr ? journal_stage_->position().Get() : PublishedHigh();
}

void Topic::WaitForJournal(std::shared_ptr<JournalWaiter> waiter) {
  std::lock_guard<std::mutex> lock(journal_waiters_mu_);
  journal_waiters_.push_back(std::move(waiter));
  if (journal_doorbell_ != nullptr) journal_doorbell_->Ring();
  // seq_cst: this increment and the caller's following JournaledSequence() against the journal
  // stage's position store and the fence in NotifyJournaled: one of the two sees the other.
  journal_waiter_count_.fetch_add(1, std::memory_order_seq_cst);
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

void Topic::NotifyJournaled() {
  // seq_cst fence: orders the position store before the count load; pairs with WaitForJournal.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (journal_waiter_count_.load(std::memory_order_relaxed) == 0) return;
  std::vector<std::shared_ptr<JournalWaiter>> woken;
  {
    std::lock_guard<std::mutex> lock(journal_waiters_mu_);
    woken.swap(journal_waiters_);
    journal_waiter_count_.store(0, std::memory_order_relaxed);
  }
  // Outside the lock: a waiter takes its own locks, which are held while it adds itself.
  for (const auto& waiter : woken) waiter->OnJournaled();
}

absl::Status Topic::PublishRefusal() const {
  if (!refusing()) return absl::OkStatus();
  std::lock_guard<std::mutex> lock(refusal_mu_);
  return refusal_;
}

void Topic::SetPublishRefusal(absl::Status status) {
  std::lock_guard<std::mutex> lock(refusal_mu_);
  const bool refusing = !status.ok();
  refusal_ = std::move(status);
  refusing_.store(refusing, std::memory_order_release);  // pairs with the acquire in refusing()
}

void Topic::AbandonClaim(int64_t first, int64_t last, absl::Status status) {
  MarkFailed(std::move(status));
  for (int64_t s = first; s <= last; ++s) ring_.Get(s).size = 0;
  Publish(first, last);
}

bool Topic::ServerUnderPressure() const noexcept {
  return server_budget_ != nullptr && server_budget_->nearly_spent();
}

bool Topic::UnderMemoryPressure() const noexcept {
  return bytes_.used() > bytes_.limit() / 2 || ServerUnderPressure();
}

void Topic::AddWaiter(PublishWaiter* waiter) {
  std::lock_guard<std::mutex> lock(waiters_mu_);
  waiters_.push_back(waiter);
  doorbell_.Ring();  // a parked publisher needs a fan-out round even where Publish skipped it
  // seq_cst: this increment and the caller's following HasRoomFor (its gate load) against the
  // fan-out stage's gate store and fence in WakeWaitersIfAny: one of the two sees the other.
  waiter_count_.fetch_add(1, std::memory_order_seq_cst);
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

bool Topic::RemoveWaiter(PublishWaiter* waiter) {
  std::lock_guard<std::mutex> lock(waiters_mu_);
  const auto it = std::find(waiters_.begin(), waiters_.end(), waiter);
  if (it == waiters_.end()) return false;
  waiters_.erase(it);
  waiter_count_.fetch_sub(1, std::memory_order_relaxed);  // relaxed: a hint for the waker
  return true;
}

void Topic::WakeWaiters() {
  std::vector<PublishWaiter*> woken;
  {
    std::lock_guard<std::mutex> lock(waiters_mu_);
    woken.swap(waiters_);
    waiter_count_.store(0, std::memory_order_relaxed);
    // Woken under the lock: a waiter removes itself under the same lock before it may go away,
    // so none is destroyed while being woken.
    for (PublishWaiter* waiter : woken) waiter->WakeForRoom();
  }
}

void Topic::WakeWaitersIfAny() {
  // seq_cst fence: orders the gate store before the count load; pairs with AddWaiter.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (waiter_count_.load(std::memory_order_relaxed) > 0) WakeWaiters();
}

int64_t Topic::PublishedHigh() const noexcept {
  const int64_t from = fanout_.position().Get() + 1;
  return sequencer_.HighestPublishedSequence(from, sequencer_.Cursor());
}

int64_t Topic::NextSequence() const noexcept { return PublishedHigh() + 1; }

bool Topic::TryAddDiskReader(uint32_t max_subscribers) noexcept {
  // Like Register's check, a bound that two registrations at once may each pass: it limits
  // resources, it does not count exactly.
  if (subscriber_count_.load(std::memory_order_relaxed) +
          disk_readers_.load(std::memory_order_relaxed) >=
      max_subscribers) {
    return false;
  }
  disk_readers_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

absl::StatusOr<int64_t> Topic::Register(std::shared_ptr<OutboundQueue> queue,
                                        const SubscriberSettings& settings,
                                        const StartPosition& start, uint32_t max_subscribers) {
  int64_t first = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (deleted_.load(std::memory_order_acquire)) {
      return absl::NotFoundError(absl::StrCat("topic \"", name_, "\" was deleted"));
    }
    if (!failure_.ok()) return failure_;
    if (draining_.load(std::memory_order_acquire)) {
      return absl::UnavailableError("server is shutting down");
    }
    if (subscriber_count_.load(std::memory_order_relaxed) +
            disk_readers_.load(std::memory_order_relaxed) >=
        max_subscribers) {
      return absl::ResourceExhaustedError(
          absl::StrCat("topic \"", name_, "\" already has ", max_subscribers,
                       " subscribers (--max_subscribers_per_topic)"));
    }
    // Under mu_ the gate cannot move, and gate < oldest (see the class comment), so every slot
    // from `oldest` on stays intact until the fan-out stage has taken this subscriber in.
    const int64_t next = PublishedHigh() + 1;
    const int64_t oldest =
        std::max({start_sequence_ + 1, next - capacity_, gate_.GetRelaxed() + 1});
    switch (start.kind) {
      case StartPosition::Kind::kLatest:
        first = next;
        break;
      case StartPosition::Kind::kEarliest:
        first = oldest;
        break;
      case StartPosition::Kind::kSequence:
        if (start.sequence < static_cast<uint64_t>(oldest) ||
            start.sequence > static_cast<uint64_t>(next)) {
          return absl::OutOfRangeError(
              absl::StrCat("from_sequence ", start.sequence, " is outside what topic \"", name_,
                           "\" can replay: retained sequences are [", oldest, ", ", next,
                           ") and the next to be published is ", next));
        }
        first = static_cast<int64_t>(start.sequence);
        break;
      case StartPosition::Kind::kTime: {
        // Slots from `oldest` on are stable under mu_. Acceptance times rise with the sequence
        // (a batch is stamped after its claim, so two racing batches may be stamped out of order
        // by a few microseconds): a binary search finds the first accepted at or after it.
        const int64_t wanted = start.time_nanos - (absl::GetCurrentTimeNanos() - MonotonicNanos());
        int64_t low = oldest;
        int64_t high = next;
        while (low < high) {
          const int64_t middle = low + (high - low) / 2;
          if (ring_.Get(middle).accepted_nanos < wanted) {
            low = middle + 1;
          } else {
            high = middle;
          }
        }
        first = low;
        break;
      }
    }
    queue->set_sent_through(first - 1);
    {
      std::lock_guard<std::mutex> directory(directory_mu_);
      directory_.insert(queue.get());
    }
    pending_.push_back(FanoutSubscriber{.queue = std::move(queue),
                                        .settings = settings,
                                        .next_sequence = first,
                                        .live_from = next});
    subscriber_count_.fetch_add(1, std::memory_order_seq_cst);  // seq_cst: see Publish
    // Release; pairs with the acquire in has_pending_registrations.
    registrations_pending_.store(true, std::memory_order_release);
  }
  doorbell_.Ring();
  return first;
}

int64_t Topic::RingOldestSequence() const noexcept {
  return std::max({start_sequence_ + 1, NextSequence() - capacity_, gate_.Get() + 1});
}

int64_t Topic::AdvanceGateAndAbsorb(int64_t gate_candidate, int64_t trim_limit,
                                    std::vector<FanoutSubscriber>& subscribers) {
  // Read before the lock: the stage's own view, and approximate anyway while publishers reserve.
  const bool server_pressure = ServerUnderPressure();
  const bool pressure = server_pressure || bytes_.used() > bytes_.limit() / 2;
  std::lock_guard<std::mutex> lock(mu_);
  for (FanoutSubscriber& subscriber : pending_) {
    if (subscriber.settings.reliable) {
      gate_candidate =
          std::min(gate_candidate, subscriber.next_sequence - 1 - static_cast<int64_t>(capacity_));
      trim_limit = std::min(trim_limit, subscriber.next_sequence - 1);
    }
    subscribers.push_back(std::move(subscriber));
  }
  pending_.clear();
  registrations_pending_.store(false, std::memory_order_relaxed);  // relaxed: under mu_
  const int64_t gate = gate_.GetRelaxed();  // only ever written here, under mu_
  // Under pressure, retained events go (oldest first, never past trim_limit) until the topic
  // holds half its budget, or none of them while the server's budget is nearly spent.
  const uint64_t hold_at_most = server_pressure ? 0 : bytes_.limit() / 2;
  uint64_t held = bytes_.used();
  uint64_t freed = 0;
  int64_t next_gate = gate;
  while (next_gate < trim_limit &&
         (next_gate < gate_candidate || (pressure && held - freed > hold_at_most))) {
    // Slots up to trim_limit were published and every stage is done with them; until the gate
    // store below, producers cannot claim them.
    EventSlot& slot = ring_.Get(++next_gate);
    if (pressure || slot.capacity > kKeepBytes) freed += slot.Release();
  }
  if (freed != 0) {
    bytes_.Release(freed);
    if (server_budget_ != nullptr) server_budget_->Release(freed);
  }
  if (next_gate == gate) return gate;
  gate_.Set(next_gate);  // release; producers read it (acquire) in the gating minimum
  return next_gate;
}

void Topic::SubscriberLeft(const OutboundQueue* queue) {
  subscriber_count_.fetch_sub(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(directory_mu_);
  directory_.erase(queue);
}

int64_t Topic::SubscriberLagMax() const {
  const int64_t published = PublishedHigh();
  int64_t lag = 0;
  std::lock_guard<std::mutex> lock(directory_mu_);
  for (const OutboundQueue* queue : directory_) {
    lag = std::max(lag, published - queue->sent_through());
  }
  return lag;
}

int64_t Topic::Occupancy() const noexcept {
  // Producers may claim up to gate + 2 x capacity; the window above gate + capacity is in use.
  const int64_t used = sequencer_.Cursor() - (gate_.Get() + capacity_);
  return std::clamp<int64_t>(used, 0, capacity_);
}

TopicInfo Topic::Describe() const {
  const int64_t next = NextSequence();
  int64_t oldest = std::max({start_sequence_ + 1, next - capacity_, gate_.Get() + 1});
  // A durable topic replays what its journal retains.
  if (journal_stage_ != nullptr)
    oldest = std::min(oldest, journal_stage_->journal().first_sequence());
  TopicInfo info{.name = name_,
                 .capacity = capacity_,
                 .next_sequence = next,
                 .oldest_sequence = std::min(oldest, next),
                 .subscribers = subscriber_count_.load(std::memory_order_relaxed) +
                                disk_readers_.load(std::memory_order_relaxed),
                 .publish_streams = publish_streams_.load(std::memory_order_relaxed),
                 .backpressure_ratio = static_cast<double>(Occupancy()) / capacity_,
                 .bytes = bytes_.used(),
                 .max_bytes = bytes_.limit()};
  if (journal_stage_ != nullptr) {
    const storage::Journal& journal = journal_stage_->journal();
    info.durable = true;
    info.journal_bytes = journal.bytes();
    info.retention_bytes = journal.options().retention_bytes;
    info.retention_age = journal.options().retention_age;
  }
  return info;
}

void Topic::MarkDeleted() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    deleted_.store(true, std::memory_order_release);  // release; pairs with deleted()
  }
  WakeWaiters();
  doorbell_.Ring();
  if (journal_doorbell_ != nullptr) journal_doorbell_->Ring();
}

void Topic::BeginDrain() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    draining_.store(true, std::memory_order_release);  // release; pairs with draining()
  }
  doorbell_.Ring();
}

absl::Status Topic::failure() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failure_;
}

void Topic::MarkFailed(absl::Status status) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failure_.ok()) return;
    failure_ = std::move(status);
    failed_.store(true, std::memory_order_release);  // release; pairs with failed()
  }
  counters_.stage_failures.fetch_add(1, std::memory_order_relaxed);
  WakeWaiters();  // parked publishers see the failure instead of waiting out their timeout
}

}  // namespace ringcast::server
