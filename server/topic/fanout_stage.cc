#include "topic/fanout_stage.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "observability/log.h"
#include "topic/topic.h"

namespace ringcast::server {
namespace {

// A run is cut at this many events or bytes (but holds at least one event).
constexpr int64_t kMaxRunEvents = 4096;
constexpr std::size_t kMaxRunBytes = std::size_t{4} << 20;

}  // namespace

FanoutStage::FanoutStage(Topic& topic, std::vector<const Sequence*> upstream,
                         FanoutSettings settings)
    : topic_(topic),
      settings_(settings),
      stage_(topic.ring_, topic.sequencer_, std::move(upstream), handler_,
             ProcessorOptions{.name = "fan-out",
                              .error_policy = ErrorPolicy::kHalt,
                              .report_exception =
                                  [this](const std::string&, int64_t, std::exception_ptr error) {
                                    stage_error_ = std::move(error);
                                  }}),
      gate_(topic.start_sequence_) {
  stage_.sequence().Set(topic.start_sequence_);  // a durable topic continues its journal
}

int FanoutStage::DoWork() {
  if (finished_.load(std::memory_order_relaxed)) return 0;  // relaxed: our own flag
  try {
    return Step(absl::Now());
  } catch (...) {
    Fail(std::current_exception());
    return 1;
  }
}

int FanoutStage::Step(absl::Time now) {
  if (topic_.deleted()) {
    EndDeletedTopic();
    return 1;
  }
  if (failed_) return 0;
  int work = DropClosed() ? 1 : 0;
  if (topic_.has_pending_registrations()) {
    // New subscribers take part in this very step.
    gate_ = topic_.AdvanceGateAndAbsorb(gate_, gate_, subscribers_);
    ++work;
  }
  const int64_t position = stage_.sequence().GetRelaxed();
  for (FanoutSubscriber& subscriber : subscribers_) {
    if (subscriber.next_sequence <= position) work += CatchUp(subscriber) ? 1 : 0;
  }
  work += stage_.DoWork();
  if (stage_.halted()) {
    Fail(stage_error_);
    return 1;
  }
  work += RaiseGate() ? 1 : 0;
  CutOffSlowSubscribers(now);
  if (topic_.draining()) EndDrainedSubscribers();
  FoldCounters();
  return work;
}

// ---- Copying runs ----

std::shared_ptr<EventRun> FanoutStage::CopyRun(int64_t first, int64_t last) {
  offsets_.clear();
  std::size_t total = 0;
  offsets_.push_back(0);
  for (int64_t s = first; s <= last; ++s) {
    total += topic_.slot(s).size;
    offsets_.push_back(total);
  }
  if (topic_.delivery_latency() != nullptr) {
    accepted_.clear();
    for (int64_t s = first; s <= last; ++s) {
      const int64_t at = topic_.slot(s).accepted_nanos;
      if (accepted_.empty() || accepted_.back().accepted_nanos != at) {
        accepted_.push_back(AcceptedRun{s, at});
      }
    }
  }
  std::shared_ptr<EventRun> run = topic_.run_factory()(total);
  char* out = run->data();
  for (int64_t s = first; s <= last; ++s) {
    const EventSlot& slot = topic_.slot(s);
    std::memcpy(out, slot.data, slot.size);
    out += slot.size;
  }
  return run;
}

// The highest sequence, from `first` up to `limit`, that a run or response starting at `first`
// can end at without passing `max_events` events or `max_bytes` bytes (always >= first).
int64_t FanoutStage::CutRun(int64_t first, int64_t limit, int64_t max_events,
                            std::size_t max_bytes) const {
  std::size_t bytes = topic_.slot(first).size;
  int64_t last = first;
  while (last < limit && last - first + 1 < max_events) {
    const std::size_t next = topic_.slot(last + 1).size;
    if (bytes + next > max_bytes) break;
    bytes += next;
    ++last;
  }
  return last;
}

// The latency spans of `subscriber`'s live events among first..last, from the publish batches of
// the run last copied (which holds them).
LatencySpans FanoutStage::LiveSpans(const FanoutSubscriber& subscriber, int64_t first,
                                    int64_t last) const {
  LatencySpans spans;
  if (topic_.delivery_latency() == nullptr) return spans;
  first = std::max(first, subscriber.live_from);
  if (first > last) return spans;
  // The batch holding `first`: the last one starting at or before it.
  auto it = std::upper_bound(
      accepted_.begin(), accepted_.end(), first,
      [](int64_t sequence, const AcceptedRun& run) { return sequence < run.first_sequence; });
  for (--it; it != accepted_.end() && it->first_sequence <= last; ++it) {
    const int64_t from = std::max(first, it->first_sequence);
    const auto following = std::next(it);
    const int64_t to =
        following == accepted_.end() ? last : std::min(last, following->first_sequence - 1);
    spans.push_back(LatencySpan{it->accepted_nanos, static_cast<uint32_t>(to - from + 1)});
  }
  return spans;
}

// ---- Offering ----

OutboundQueue::OfferResult FanoutStage::Offer(FanoutSubscriber& subscriber,
                                              OutboundResponse& response) {
  response.skipped = subscriber.pending_skipped;
  const OutboundQueue::OfferResult result = subscriber.queue->Offer(response);
  switch (result) {
    case OutboundQueue::OfferResult::kAccepted:
      delivered_ += static_cast<uint64_t>(response.last_sequence - response.first_sequence + 1);
      subscriber.pending_skipped = 0;
      subscriber.next_sequence = response.last_sequence + 1;
      subscriber.blocked = false;
      break;
    case OutboundQueue::OfferResult::kFull:
      // Both modes stay where they are. A RELIABLE subscriber holds the live position (and so
      // the producers) back; a LOSSY one does not, falls behind, is served from the ring once its
      // queue drains, and skips only what was overwritten meanwhile (see CatchUp).
      subscriber.blocked = true;
      break;
    case OutboundQueue::OfferResult::kClosed:
      break;
  }
  return result;
}

// Offers `subscriber` events from its next sequence to `last`, all inside `run` (which starts at
// `run_first`, with event boundaries offsets_), as responses cut to its limits. Stops at a full
// queue.
void FanoutStage::OfferFromRun(FanoutSubscriber& subscriber, const std::shared_ptr<EventRun>& run,
                               int64_t run_first, int64_t last) {
  const SubscriberSettings& limits = subscriber.settings;
  while (subscriber.next_sequence <= last) {
    const int64_t first = subscriber.next_sequence;
    const int64_t end = CutRun(first, last, limits.max_batch_events, limits.max_response_bytes);
    OutboundResponse response{.run = run,
                              .begin = offsets_[static_cast<std::size_t>(first - run_first)],
                              .end = offsets_[static_cast<std::size_t>(end - run_first + 1)],
                              .first_sequence = first,
                              .last_sequence = end,
                              .spans = LiveSpans(subscriber, first, end)};
    if (Offer(subscriber, response) != OutboundQueue::OfferResult::kAccepted) return;
  }
}

// Serves a subscriber behind the live position from the retained slots, with responses of its
// own (each copied once, for it alone). At most kMaxRunEvents per step, so one subscriber
// catching up cannot starve the live stream.
bool FanoutStage::CatchUp(FanoutSubscriber& subscriber) {
  // Slots up to the gate may be overwritten at any moment; a LOSSY subscriber skips past them (a
  // RELIABLE one never falls there: it holds the gate back).
  if (subscriber.next_sequence <= gate_) {
    const auto skipped = static_cast<uint64_t>(gate_ + 1 - subscriber.next_sequence);
    subscriber.pending_skipped += skipped;
    skipped_ += skipped;
    subscriber.next_sequence = gate_ + 1;
  }
  const int64_t position = stage_.sequence().GetRelaxed();
  const SubscriberSettings& limits = subscriber.settings;
  bool progress = false;
  int64_t budget = kMaxRunEvents;
  while (subscriber.next_sequence <= position && budget > 0) {
    const int64_t first = subscriber.next_sequence;
    const int64_t last = CutRun(first, position, std::min<int64_t>(limits.max_batch_events, budget),
                                limits.max_response_bytes);
    std::shared_ptr<EventRun> run = CopyRun(first, last);
    OutboundResponse response{.run = std::move(run),
                              .end = offsets_.back(),
                              .first_sequence = first,
                              .last_sequence = last,
                              .spans = LiveSpans(subscriber, first, last)};
    if (Offer(subscriber, response) != OutboundQueue::OfferResult::kAccepted) break;
    budget -= last - first + 1;
    progress = true;
  }
  return progress;
}

int64_t FanoutStage::OfferRun(int64_t first, int64_t last) {
  bool anyone_live = false;
  for (const FanoutSubscriber& subscriber : subscribers_) {
    anyone_live |= subscriber.next_sequence >= first && subscriber.next_sequence <= last;
  }
  // Nobody to serve at this position (no subscribers, or all of them catching up).
  if (!anyone_live) return last;
  const int64_t end = CutRun(first, last, kMaxRunEvents, kMaxRunBytes);
  const std::shared_ptr<EventRun> run = CopyRun(first, end);
  int64_t position = end;
  for (FanoutSubscriber& subscriber : subscribers_) {
    if (subscriber.next_sequence >= first && subscriber.next_sequence <= end) {
      OfferFromRun(subscriber, run, first, end);
    }
    // The live position stays at the slowest RELIABLE subscriber that was live in this run.
    if (subscriber.settings.reliable && subscriber.next_sequence >= first) {
      position = std::min(position, subscriber.next_sequence - 1);
    }
  }
  return position;
}

// ---- Housekeeping ----

bool FanoutStage::DropClosed() {
  const auto closed =
      std::remove_if(subscribers_.begin(), subscribers_.end(), [&](const FanoutSubscriber& s) {
        if (!s.queue->closed()) return false;
        topic_.SubscriberLeft(s.queue.get());
        return true;
      });
  const bool dropped = closed != subscribers_.end();
  subscribers_.erase(closed, subscribers_.end());
  return dropped;
}

// Producers may overwrite up to the gate: keep it `capacity` behind the live position and behind
// every RELIABLE subscriber, and when memory is short, let the topic move it further, up to those
// positions (see Topic::AdvanceGateAndAbsorb). Takes the topic's mutex only when the gate moves or
// subscribers wait to be taken in.
bool FanoutStage::RaiseGate() {
  int64_t trim_limit = stage_.sequence().GetRelaxed();
  for (const FanoutSubscriber& subscriber : subscribers_) {
    if (subscriber.settings.reliable)
      trim_limit = std::min(trim_limit, subscriber.next_sequence - 1);
  }
  const int64_t gate = trim_limit - topic_.capacity();
  if (gate <= gate_ && !topic_.has_pending_registrations() &&
      !(trim_limit > gate_ && topic_.UnderMemoryPressure())) {
    return false;
  }
  const int64_t before = gate_;
  gate_ = topic_.AdvanceGateAndAbsorb(gate, trim_limit, subscribers_);
  if (gate_ > before) topic_.WakeWaitersIfAny();
  return gate_ > before;
}

void FanoutStage::CutOffSlowSubscribers(absl::Time now) {
  const bool publishers_blocked = topic_.PublishersBlocked();
  for (FanoutSubscriber& subscriber : subscribers_) {
    if (!subscriber.settings.reliable || !subscriber.blocked || !publishers_blocked) {
      subscriber.stalled_since = absl::InfiniteFuture();
      continue;
    }
    if (subscriber.stalled_since == absl::InfiniteFuture()) subscriber.stalled_since = now;
    if (now - subscriber.stalled_since < settings_.slow_subscriber_timeout) continue;
    const int64_t last_sent = subscriber.queue->last_sent_sequence();
    const std::string resume =
        last_sent < 0 ? "nothing was sent" : absl::StrCat("last sequence sent: ", last_sent);
    subscriber.queue->FinishNow(absl::ResourceExhaustedError(absl::StrCat(
        "subscriber too slow: it held up topic \"", topic_.name(),
        "\" with a full ring for more than ",
        absl::FormatDuration(settings_.slow_subscriber_timeout), " (--slow_subscriber_timeout); ",
        resume, "; resume from ", last_sent < 0 ? subscriber.next_sequence : last_sent + 1)));
    topic_.counters().slow_subscriber_disconnects.fetch_add(1, std::memory_order_relaxed);
    Log(LogLevel::kWarning, "slow subscriber cut off",
        {{"topic", topic_.name()}, {"last_sent_sequence", last_sent}});
  }
}

// The server is draining: publishing has stopped, and every event is published before draining
// is set. So the published high-water mark read after seeing the flag is final, and a subscriber
// whose next sequence is past it has been offered everything. (Reading it before the flag, as a
// cached value from earlier in the step, could end a subscriber before the last events reached
// it.)
void FanoutStage::EndDrainedSubscribers() {
  const int64_t next = stage_.sequence().GetRelaxed() + 1;
  const int64_t published = std::max(next - 1, stage_.barrier().Available(next));
  for (FanoutSubscriber& subscriber : subscribers_) {
    if (subscriber.next_sequence > published) {
      subscriber.queue->FinishWhenDrained(absl::UnavailableError(
          absl::StrCat("server is shutting down; resume from ", subscriber.next_sequence)));
    }
  }
}

void FanoutStage::EndDeletedTopic() {
  // Takes in registrations that raced the deletion.
  gate_ = topic_.AdvanceGateAndAbsorb(gate_, gate_, subscribers_);
  const absl::Status gone =
      absl::NotFoundError(absl::StrCat("topic \"", topic_.name(), "\" was deleted"));
  for (const FanoutSubscriber& subscriber : subscribers_) {
    subscriber.queue->FinishNow(gone);
    topic_.SubscriberLeft(subscriber.queue.get());
  }
  subscribers_.clear();
  FoldCounters();
  topic_.WakeWaiters();
  finished_.store(true, std::memory_order_release);  // pairs with the acquire in Finished
}

void FanoutStage::FoldCounters() {
  TopicCounters& counters = topic_.counters();
  if (delivered_ != 0) {
    counters.events_delivered.fetch_add(std::exchange(delivered_, 0), std::memory_order_relaxed);
  }
  if (skipped_ != 0) {
    counters.events_skipped.fetch_add(std::exchange(skipped_, 0), std::memory_order_relaxed);
  }
}

// Contains a failure to this topic: every subscriber ends with INTERNAL, publishers and new
// subscribers are refused with it (Topic::failure), and the stage does nothing more until the
// topic is deleted.
void FanoutStage::Fail(std::exception_ptr error) {
  failed_ = true;
  const std::string what = DescribeException(error);
  const absl::Status status = absl::InternalError(absl::StrCat("topic \"", topic_.name(),
                                                               "\" failed in its fan-out stage (",
                                                               what, "); delete and re-create it"));
  topic_.MarkFailed(status);
  gate_ = topic_.AdvanceGateAndAbsorb(gate_, gate_, subscribers_);
  for (const FanoutSubscriber& subscriber : subscribers_) {
    subscriber.queue->FinishNow(status);
    topic_.SubscriberLeft(subscriber.queue.get());
  }
  subscribers_.clear();
  Log(LogLevel::kError, "topic failed", {{"topic", topic_.name()}, {"error", what}});
}

}  // namespace ringcast::server
