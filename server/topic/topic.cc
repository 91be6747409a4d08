#include "topic/topic.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

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

Topic::Topic(std::string name, TopicSettings settings, Doorbell& doorbell)
    : name_(std::move(name)),
      capacity_(settings.capacity),
      doorbell_(doorbell),
      ring_(int64_t{2} * capacity_),
      sequencer_(int64_t{2} * capacity_),
      // The gate starts at -1, not at -1 - capacity: before the fan-out stage has released
      // anything, producers may run up to 2 x capacity ahead (the sequencer's gating cache assumes
      // gating sequences start at -1). Nothing is retained yet that they could overwrite.
      gate_(kInitialSequence),
      lazy_release_events_(std::min<int64_t>(capacity_ / 8, kMaxLazyReleaseEvents)),
      run_factory_(std::move(settings.run_factory)),
      delivery_latency_(settings.latency_metrics ? std::make_shared<LatencyHistogram>() : nullptr),
      fanout_(*this, /*upstream=*/{}, settings.fanout) {
  RINGCAST_CHECK(sequencer_.AddGatingSequence(gate_), "a fresh sequencer has gating slots");
}

Topic::~Topic() { static_cast<void>(sequencer_.RemoveGatingSequence(gate_)); }

void Topic::Publish(int64_t first, int64_t last) noexcept {
  sequencer_.Publish(first, last);
  // seq_cst fence: orders the publish before the subscriber-count load; pairs with the seq_cst
  // increment in Register followed by its Ring. Either this sees the new subscriber and rings, or
  // the fan-out round that Register's ring starts sees these events.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (subscriber_count_.load(std::memory_order_relaxed) > 0 ||
      last - fanout_.position().Get() >= lazy_release_events_) {
    doorbell_.Ring();
  }
}

bool Topic::HasRoomFor(int64_t n) const noexcept { return sequencer_.RemainingCapacity() >= n; }

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
    if (subscriber_count_.load(std::memory_order_relaxed) >= max_subscribers) {
      return absl::ResourceExhaustedError(
          absl::StrCat("topic \"", name_, "\" already has ", max_subscribers,
                       " subscribers (--max_subscribers_per_topic)"));
    }
    // Under mu_ the gate cannot move, and gate < oldest (see the class comment), so every slot
    // from `oldest` on stays intact until the fan-out stage has taken this subscriber in.
    const int64_t next = PublishedHigh() + 1;
    const int64_t oldest = std::max<int64_t>(0, next - capacity_);
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

int64_t Topic::AdvanceGateAndAbsorb(int64_t gate_candidate,
                                    std::vector<FanoutSubscriber>& subscribers) {
  std::lock_guard<std::mutex> lock(mu_);
  for (FanoutSubscriber& subscriber : pending_) {
    if (subscriber.settings.reliable) {
      gate_candidate =
          std::min(gate_candidate, subscriber.next_sequence - 1 - static_cast<int64_t>(capacity_));
    }
    subscribers.push_back(std::move(subscriber));
  }
  pending_.clear();
  registrations_pending_.store(false, std::memory_order_relaxed);  // relaxed: under mu_
  const int64_t gate = gate_.GetRelaxed();  // only ever written here, under mu_
  if (gate_candidate <= gate) return gate;
  gate_.Set(gate_candidate);  // release; producers read it (acquire) in the gating minimum
  return gate_candidate;
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
  return TopicInfo{.name = name_,
                   .capacity = capacity_,
                   .next_sequence = next,
                   .oldest_sequence = std::max<int64_t>(0, next - capacity_),
                   .subscribers = subscriber_count_.load(std::memory_order_relaxed),
                   .publish_streams = publish_streams_.load(std::memory_order_relaxed),
                   .backpressure_ratio = static_cast<double>(Occupancy()) / capacity_};
}

void Topic::MarkDeleted() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    deleted_.store(true, std::memory_order_release);  // release; pairs with deleted()
  }
  WakeWaiters();
  doorbell_.Ring();
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
