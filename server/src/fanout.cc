#include "fanout.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "event_codec.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"
#include "log.h"
#include "ringcast/core/thread.h"
#include "ringcast/core/wait_strategy.h"
#include "subscription.h"
#include "topic.h"

namespace ringcast::server {
namespace {

// A run is cut at this many events or bytes (but holds at least one event).
constexpr int64_t kMaxRunEvents = 4096;
constexpr std::size_t kMaxRunBytes = std::size_t{4} << 20;

using FanoutState = Topic::FanoutState;

// Copies slots first..last of `topic` into one slice; offsets[i] is where event first+i starts,
// offsets[last-first+1] the total size. With `accepted`, also lists the run's publish batches.
grpc::Slice CopyRun(Topic& topic, int64_t first, int64_t last, std::vector<std::size_t>& offsets,
                    std::vector<AcceptedRun>* accepted) {
  offsets.clear();
  std::size_t total = 0;
  offsets.push_back(0);
  for (int64_t s = first; s <= last; ++s) {
    total += topic.slot(s).framed.size();
    offsets.push_back(total);
  }
  if (accepted != nullptr) {
    accepted->clear();
    for (int64_t s = first; s <= last; ++s) {
      const int64_t at = topic.slot(s).accepted_nanos;
      if (accepted->empty() || accepted->back().accepted_nanos != at) {
        accepted->push_back(AcceptedRun{s, at});
      }
    }
  }
  grpc::Slice run(total);
  // A freshly allocated slice is ours alone until shared, so writing into it is fine.
  char* out = reinterpret_cast<char*>(const_cast<uint8_t*>(run.begin()));
  for (int64_t s = first; s <= last; ++s) {
    const std::string& framed = topic.slot(s).framed;
    std::memcpy(out, framed.data(), framed.size());
    out += framed.size();
  }
  return run;
}

// The latency spans of events first..last (none if first > last), from the publish batches of
// the run that holds them.
LatencySpans SpansFor(const std::vector<AcceptedRun>& accepted, int64_t first, int64_t last) {
  LatencySpans spans;
  if (first > last) return spans;
  // The batch holding `first`: the last one starting at or before it.
  auto it = std::upper_bound(
      accepted.begin(), accepted.end(), first,
      [](int64_t sequence, const AcceptedRun& run) { return sequence < run.first_sequence; });
  for (--it; it != accepted.end() && it->first_sequence <= last; ++it) {
    const int64_t from = std::max(first, it->first_sequence);
    const auto following = std::next(it);
    const int64_t to =
        following == accepted.end() ? last : std::min(last, following->first_sequence - 1);
    spans.push_back(LatencySpan{it->accepted_nanos, static_cast<uint32_t>(to - from + 1)});
  }
  return spans;
}

// The spans `subscription` records for events first..last: its live events only.
LatencySpans LiveSpans(const Topic& topic, const Subscription& subscription,
                       const std::vector<AcceptedRun>& accepted, int64_t first, int64_t last) {
  if (topic.delivery_latency() == nullptr) return {};
  return SpansFor(accepted, std::max(first, subscription.worker.live_from), last);
}

// The publish-batch list CopyRun should fill, or null when latency is not measured.
std::vector<AcceptedRun>* AcceptedScratch(Topic& topic) {
  return topic.delivery_latency() != nullptr ? &topic.fanout().accepted : nullptr;
}

// The highest sequence, from `first` up to `limit`, that a run or response starting at `first`
// can end at without passing `max_events` events or `max_bytes` bytes (always >= first).
int64_t CutRun(Topic& topic, int64_t first, int64_t limit, int64_t max_events,
               std::size_t max_bytes) {
  std::size_t bytes = topic.slot(first).framed.size();
  int64_t last = first;
  while (last < limit && last - first + 1 < max_events) {
    const std::size_t next = topic.slot(last + 1).framed.size();
    if (bytes + next > max_bytes) break;
    bytes += next;
    ++last;
  }
  return last;
}

grpc::ByteBuffer MakeResponse(const grpc::Slice& events, uint64_t skipped) {
  if (skipped == 0) return grpc::ByteBuffer(&events, 1);
  std::string field;
  AppendSkippedField(skipped, field);
  const grpc::Slice slices[2] = {grpc::Slice(field), events};
  return grpc::ByteBuffer(slices, 2);
}

// Offers `subscription` events from its next sequence to `last`, all inside `run` (which starts at
// `run_first`, with event boundaries `offsets`), as responses cut to its limits. Stops at a full
// queue.
void OfferFromRun(Topic& topic, Subscription& subscription, const grpc::Slice& run,
                  int64_t run_first, int64_t last, const std::vector<std::size_t>& offsets) {
  FanoutState& state = topic.fanout();
  Subscription::WorkerState& w = subscription.worker;
  const Subscription::Settings& limits = subscription.settings();
  while (w.next_sequence <= last) {
    const int64_t first = w.next_sequence;
    const int64_t end =
        CutRun(topic, first, last, limits.max_batch_events, limits.max_response_bytes);
    const std::size_t begin_at = offsets[static_cast<std::size_t>(first - run_first)];
    const std::size_t end_at = offsets[static_cast<std::size_t>(end - run_first + 1)];
    grpc::ByteBuffer response = MakeResponse(run.sub(begin_at, end_at), w.pending_skipped);
    switch (subscription.Offer(response, end_at - begin_at, end,
                               LiveSpans(topic, subscription, state.accepted, first, end))) {
      case Subscription::OfferResult::kAccepted:
        state.delivered += static_cast<uint64_t>(end - first + 1);
        w.pending_skipped = 0;
        w.next_sequence = end + 1;
        w.blocked = false;
        break;
      case Subscription::OfferResult::kFull:
        // Both modes stay where they are. A RELIABLE subscriber holds the live position (and so
        // the producers) back; a LOSSY one does not, falls behind, is served from the ring once
        // its queue drains, and skips only what was overwritten meanwhile (see CatchUp).
        w.blocked = true;
        return;
      case Subscription::OfferResult::kClosed:
        return;
    }
  }
}

// Serves a subscriber behind the live position from the retained slots, with responses of its
// own (each copied once, for it alone). At most kMaxRunEvents per round, so one subscriber
// catching up cannot starve the live stream.
bool CatchUp(Topic& topic, Subscription& subscription) {
  FanoutState& state = topic.fanout();
  Subscription::WorkerState& w = subscription.worker;
  // Slots up to the gate may be overwritten at any moment; a LOSSY subscriber skips past them (a
  // RELIABLE one never falls there: it holds the gate back).
  if (w.next_sequence <= state.gate) {
    const auto skipped = static_cast<uint64_t>(state.gate + 1 - w.next_sequence);
    w.pending_skipped += skipped;
    state.skipped += skipped;
    w.next_sequence = state.gate + 1;
  }
  const Subscription::Settings& limits = subscription.settings();
  bool progress = false;
  int64_t budget = kMaxRunEvents;
  std::vector<std::size_t>& offsets =
      state.offsets;  // scratch (and state.accepted) until FanOutRun
  while (w.next_sequence <= state.position && budget > 0) {
    const int64_t first = w.next_sequence;
    const int64_t last =
        CutRun(topic, first, state.position, std::min<int64_t>(limits.max_batch_events, budget),
               limits.max_response_bytes);
    const grpc::Slice events = CopyRun(topic, first, last, offsets, AcceptedScratch(topic));
    grpc::ByteBuffer response = MakeResponse(events, w.pending_skipped);
    const Subscription::OfferResult result = subscription.Offer(
        response, events.size(), last, LiveSpans(topic, subscription, state.accepted, first, last));
    if (result != Subscription::OfferResult::kAccepted) {
      w.blocked = result == Subscription::OfferResult::kFull;
      break;
    }
    state.delivered += static_cast<uint64_t>(last - first + 1);
    budget -= last - first + 1;
    w.pending_skipped = 0;
    w.next_sequence = last + 1;
    w.blocked = false;
    progress = true;
  }
  return progress;
}

// Offers the next run of published events to every live subscriber; returns true if the live
// position moved.
bool FanOutRun(Topic& topic, int64_t published) {
  FanoutState& state = topic.fanout();
  const int64_t first = state.position + 1;
  bool anyone_live = false;
  for (const auto& subscription : state.subscribers) {
    const int64_t next = subscription->worker.next_sequence;
    anyone_live |= next >= first && next <= published;
  }
  if (!anyone_live) {
    // Nobody to serve at this position (no subscribers, or all of them catching up).
    state.position = published;
    return true;
  }
  const int64_t last = CutRun(topic, first, published, kMaxRunEvents, kMaxRunBytes);
  const grpc::Slice run = CopyRun(topic, first, last, state.offsets, AcceptedScratch(topic));
  int64_t position = last;
  for (const auto& subscription : state.subscribers) {
    Subscription::WorkerState& w = subscription->worker;
    if (w.next_sequence >= first && w.next_sequence <= last) {
      OfferFromRun(topic, *subscription, run, first, last, state.offsets);
    }
    // The live position stays at the slowest RELIABLE subscriber that was live in this run.
    if (subscription->reliable() && w.next_sequence > state.position) {
      position = std::min(position, w.next_sequence - 1);
    }
  }
  const bool moved = position > state.position;
  state.position = std::max(state.position, position);
  return moved;
}

bool DropClosed(Topic& topic) {
  auto& subscribers = topic.fanout().subscribers;
  const auto closed = std::remove_if(subscribers.begin(), subscribers.end(), [&](const auto& s) {
    if (!s->closed()) return false;
    topic.SubscriberLeft(s.get());
    return true;
  });
  const bool dropped = closed != subscribers.end();
  subscribers.erase(closed, subscribers.end());
  return dropped;
}

void CutOffSlowSubscribers(Topic& topic, const FanoutSettings& settings, absl::Time now) {
  const bool publishers_blocked = topic.PublishersBlocked();
  for (const auto& subscription : topic.fanout().subscribers) {
    Subscription::WorkerState& w = subscription->worker;
    if (!subscription->reliable() || !w.blocked || !publishers_blocked) {
      w.stalled_since = absl::InfiniteFuture();
      continue;
    }
    if (w.stalled_since == absl::InfiniteFuture()) w.stalled_since = now;
    if (now - w.stalled_since < settings.slow_subscriber_timeout) continue;
    const int64_t last_sent = subscription->last_sent_sequence();
    const std::string resume =
        last_sent < 0 ? "nothing was sent" : absl::StrCat("last sequence sent: ", last_sent);
    subscription->FinishNow(
        grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                     absl::StrCat("subscriber too slow: it held up topic \"", topic.name(),
                                  "\" with a full ring for more than ",
                                  absl::FormatDuration(settings.slow_subscriber_timeout),
                                  " (--slow_subscriber_timeout); ", resume, "; resume from ",
                                  last_sent < 0 ? w.next_sequence : last_sent + 1)));
    topic.counters().slow_subscriber_disconnects.fetch_add(1, std::memory_order_relaxed);
    Log(LogLevel::kWarning, "slow subscriber cut off",
        {{"topic", topic.name()}, {"last_sent_sequence", last_sent}});
  }
}

void EndDeletedTopic(Topic& topic) {
  FanoutState& state = topic.fanout();
  topic.AdvanceGateAndAbsorb(state.gate);  // takes in registrations that raced the deletion
  const grpc::Status gone(grpc::StatusCode::NOT_FOUND,
                          absl::StrCat("topic \"", topic.name(), "\" was deleted"));
  for (const auto& subscription : state.subscribers) {
    subscription->FinishNow(gone);
    topic.SubscriberLeft(subscription.get());
  }
  state.subscribers.clear();
  state.deletion_handled = true;
  topic.WakeWaiters();
}

void EndDrainedSubscribers(Topic& topic, int64_t published) {
  for (const auto& subscription : topic.fanout().subscribers) {
    const int64_t next = subscription->worker.next_sequence;
    if (next > published) {
      subscription->FinishWhenDrained(
          grpc::Status(grpc::StatusCode::UNAVAILABLE,
                       absl::StrCat("server is shutting down; resume from ", next)));
    }
  }
}

}  // namespace

bool ServiceTopic(Topic& topic, const FanoutSettings& settings, absl::Time now) {
  FanoutState& state = topic.fanout();
  if (state.deletion_handled) return false;
  if (topic.deleted()) {
    EndDeletedTopic(topic);
    return true;
  }
  bool progress = DropClosed(topic);
  if (topic.has_pending_registrations()) {
    topic.AdvanceGateAndAbsorb(state.gate);  // new subscribers take part in this very round
    progress = true;
  }

  auto& sequencer = topic.sequencer();
  const int64_t published =
      sequencer.HighestPublishedSequence(state.position + 1, sequencer.Cursor());
  for (const auto& subscription : state.subscribers) {
    if (subscription->worker.next_sequence <= state.position) {
      progress |= CatchUp(topic, *subscription);
    }
  }
  const int64_t position_before = state.position;
  if (published > state.position) progress |= FanOutRun(topic, published);

  // Producers may overwrite up to the gate: keep it `capacity` behind the live position and
  // behind every RELIABLE subscriber.
  int64_t gate = state.position;
  for (const auto& subscription : state.subscribers) {
    if (subscription->reliable()) gate = std::min(gate, subscription->worker.next_sequence - 1);
  }
  gate -= topic.capacity();
  if (gate > state.gate || state.position != position_before || topic.has_pending_registrations()) {
    const int64_t gate_before = state.gate;
    topic.AdvanceGateAndAbsorb(gate);
    if (state.gate > gate_before) topic.WakeWaitersIfAny();
  }

  CutOffSlowSubscribers(topic, settings, now);
  if (topic.draining()) EndDrainedSubscribers(topic, published);

  TopicCounters& counters = topic.counters();
  if (state.delivered != 0) {
    counters.events_delivered.fetch_add(std::exchange(state.delivered, 0),
                                        std::memory_order_relaxed);
  }
  if (state.skipped != 0) {
    counters.events_skipped.fetch_add(std::exchange(state.skipped, 0), std::memory_order_relaxed);
  }
  return progress;
}

namespace {

// Idle policies: how a worker waits when a round over all its topics made no progress.
// `round` counts idle rounds in a row; `epoch` was taken before the round.
struct BlockingIdle {
  void Idle(Doorbell& doorbell, uint64_t epoch, uint32_t /*round*/,
            std::chrono::nanoseconds timeout) {
    doorbell.Wait(epoch, timeout);
  }
};

struct PhasedIdle {
  static constexpr uint32_t kSpinRounds = 1000;
  static constexpr uint32_t kYieldRounds = 100;
  void Idle(Doorbell& doorbell, uint64_t epoch, uint32_t round, std::chrono::nanoseconds timeout) {
    if (round < kSpinRounds) {
      CpuRelax();
    } else if (round < kSpinRounds + kYieldRounds) {
      std::this_thread::yield();
    } else {
      doorbell.Wait(epoch, timeout);
    }
  }
};

struct YieldingIdle {
  void Idle(Doorbell&, uint64_t, uint32_t, std::chrono::nanoseconds) { std::this_thread::yield(); }
};

struct BusySpinIdle {
  void Idle(Doorbell&, uint64_t, uint32_t, std::chrono::nanoseconds) { CpuRelax(); }
};

// Longest park: slow-subscriber timeouts are checked at least this often.
constexpr std::chrono::milliseconds kMaxPark{50};

template <class IdlePolicy>
class FanoutWorkerImpl final : public FanoutWorker {
 public:
  FanoutWorkerImpl(FanoutSettings settings, int index) : settings_(settings), index_(index) {
    thread_ = std::thread([this] { Run(); });
  }
  ~FanoutWorkerImpl() override { Stop(); }

  Doorbell& doorbell() override { return doorbell_; }

  void AddTopic(std::shared_ptr<Topic> topic) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      incoming_.push_back(std::move(topic));
      ++topic_count_;
    }
    doorbell_.Ring();
  }

  std::size_t TopicCount() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return topic_count_;
  }

  void Stop() override {
    stop_.store(true, std::memory_order_release);  // release; pairs with the acquire in Run
    doorbell_.Ring();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run() {
    SetCurrentThreadName(absl::StrCat("rc-fanout-", index_));
    IdlePolicy idle;
    uint32_t idle_rounds = 0;
    while (!stop_.load(std::memory_order_acquire)) {
      const uint64_t epoch = doorbell_.Epoch();
      TakeIncoming();
      const absl::Time now = absl::Now();
      bool progress = false;
      for (const auto& topic : topics_) progress |= ServiceTopic(*topic, settings_, now);
      ForgetDeleted();
      if (progress) {
        idle_rounds = 0;
      } else {
        idle.Idle(doorbell_, epoch, idle_rounds, kMaxPark);
        if (idle_rounds < UINT32_MAX) ++idle_rounds;
      }
    }
  }

  void TakeIncoming() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& topic : incoming_) topics_.push_back(std::move(topic));
    incoming_.clear();
  }

  void ForgetDeleted() {
    const auto gone = std::remove_if(topics_.begin(), topics_.end(), [](const auto& topic) {
      return topic->fanout().deletion_handled;
    });
    if (gone == topics_.end()) return;
    const auto forgotten = static_cast<std::size_t>(topics_.end() - gone);
    topics_.erase(gone, topics_.end());
    std::lock_guard<std::mutex> lock(mu_);
    topic_count_ -= forgotten;
  }

  const FanoutSettings settings_;
  const int index_;
  Doorbell doorbell_;
  std::atomic<bool> stop_{false};

  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Topic>> incoming_;  // guarded by mu_
  std::size_t topic_count_ = 0;                   // guarded by mu_

  std::vector<std::shared_ptr<Topic>> topics_;  // the worker thread's own
  std::thread thread_;
};

}  // namespace

std::unique_ptr<FanoutWorker> FanoutWorker::Create(FanoutWaitStrategy strategy,
                                                   FanoutSettings settings, int index) {
  switch (strategy) {
    case FanoutWaitStrategy::kBlocking:
      return std::make_unique<FanoutWorkerImpl<BlockingIdle>>(settings, index);
    case FanoutWaitStrategy::kPhased:
      return std::make_unique<FanoutWorkerImpl<PhasedIdle>>(settings, index);
    case FanoutWaitStrategy::kYielding:
      return std::make_unique<FanoutWorkerImpl<YieldingIdle>>(settings, index);
    case FanoutWaitStrategy::kBusySpin:
      return std::make_unique<FanoutWorkerImpl<BusySpinIdle>>(settings, index);
  }
  return nullptr;
}

}  // namespace ringcast::server
