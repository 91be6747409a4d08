// FanoutStage: the last stage of a topic's pipeline. It hands every published event to every
// subscriber's outbound queue and decides how far producers may overwrite the ring.
//
// One step (DoWork) over its topic
//   1. drops subscribers whose streams closed, takes in new registrations, and serves
//      subscribers that are behind the live position (catch-up) from the retained slots;
//   2. as a ConsumerStage over what its upstream released (the producers' cursor today), copies
//      the next run of events into one shared EventRun and offers every live subscriber its slice
//      of it, cut to its batch and byte limits: the run is serialized once whatever the number of
//      subscribers. The stage's sequence (the live position) moves to what every RELIABLE
//      subscriber accepted;
//   3. raises the producers' gate (`capacity` behind the live position and behind every RELIABLE
//      subscriber, so the newest `capacity` events stay replayable; further when the topic's or
//      the server's memory is short), gives back the buffers of the slots it passes (see Topic)
//      and wakes parked publishers;
//   4. cuts off RELIABLE subscribers that hold up a full ring longer than the timeout;
//   5. while the server drains, ends each subscriber that has been offered everything published.
//
// Faults: an exception anywhere in a step (say std::bad_alloc while copying a run) fails the
// topic: its subscribers end with INTERNAL, publishers and new subscribers are refused with
// INTERNAL, the failure is logged and counted, and the process goes on.
//
// Thread safety: one step at a time, on the thread of the agent runner that owns the topic or on
// a publisher's running it inline (the topic's claim orders one step before the next); Finished()
// and position() from any thread.
#ifndef RINGCAST_SERVER_TOPIC_FANOUT_STAGE_H_
#define RINGCAST_SERVER_TOPIC_FANOUT_STAGE_H_

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <vector>

#include "absl/time/time.h"
#include "ringcast/core/consumer_stage.h"
#include "ringcast/core/sequence.h"
#include "topic/event_slot.h"
#include "topic/outbound_queue.h"

namespace ringcast::server {

class Topic;

struct FanoutSettings {
  absl::Duration slow_subscriber_timeout = absl::Seconds(10);
};

// A subscriber as the fan-out stage tracks it. Built by Topic::Register, then owned by the stage.
struct FanoutSubscriber {
  std::shared_ptr<OutboundQueue> queue;
  SubscriberSettings settings;
  int64_t next_sequence = 0;  // the next sequence this stream will carry
  // Events from here on were published after the subscription registered; earlier ones are a
  // replay the client asked for and are left out of the delivery-latency histogram.
  int64_t live_from = 0;
  uint64_t pending_skipped = 0;                       // LOSSY: skipped since the last response
  bool blocked = false;                               // the last offer found the queue full
  absl::Time stalled_since = absl::InfiniteFuture();  // RELIABLE: holding up a full ring since
};

class FanoutStage {
 public:
  // `upstream`: the sequences of the stages before this one (empty: the producers' cursor).
  FanoutStage(Topic& topic, std::vector<const Sequence*> upstream, FanoutSettings settings);
  FanoutStage(const FanoutStage&) = delete;
  FanoutStage& operator=(const FanoutStage&) = delete;

  // One step (see above). Returns the work done, 0 if there was none.
  int DoWork();
  // True once the topic was deleted and its subscribers were ended: the stage needs no more
  // steps. Acquire; pairs with the release in EndDeletedTopic.
  [[nodiscard]] bool Finished() const noexcept { return finished_.load(std::memory_order_acquire); }
  // The live position: every live subscriber was offered the events up to here.
  [[nodiscard]] const Sequence& position() const noexcept { return stage_.sequence(); }

 private:
  // The ConsumerStage's batch handler: OfferRun.
  struct RunHandler {
    FanoutStage& stage;
    int64_t OnBatch(int64_t first, int64_t last) { return stage.OfferRun(first, last); }
  };
  struct AcceptedRun {  // consecutive slots accepted at one instant (one publish batch)
    int64_t first_sequence;
    int64_t accepted_nanos;
  };

  int Step(absl::Time now);
  // Offers events first..last to the live subscribers; returns the live position it reached.
  int64_t OfferRun(int64_t first, int64_t last);
  bool DropClosed();
  bool CatchUp(FanoutSubscriber& subscriber);
  void OfferFromRun(FanoutSubscriber& subscriber, const std::shared_ptr<EventRun>& run,
                    int64_t run_first, int64_t last);
  bool RaiseGate();
  void CutOffSlowSubscribers(absl::Time now);
  void EndDrainedSubscribers();
  void EndDeletedTopic();
  void FoldCounters();
  void Fail(std::exception_ptr error);

  std::shared_ptr<EventRun> CopyRun(int64_t first, int64_t last);
  int64_t CutRun(int64_t first, int64_t limit, int64_t max_events, std::size_t max_bytes) const;
  LatencySpans LiveSpans(const FanoutSubscriber& subscriber, int64_t first, int64_t last) const;
  OutboundQueue::OfferResult Offer(FanoutSubscriber& subscriber, OutboundResponse& response);

  Topic& topic_;
  const FanoutSettings settings_;
  RunHandler handler_{*this};
  ConsumerStage<EventSlot, RunHandler, TopicSequencer> stage_;
  std::exception_ptr stage_error_;  // what made stage_ halt

  int64_t gate_;  // the value last stored in the topic's gate
  std::vector<FanoutSubscriber> subscribers_;
  std::vector<std::size_t> offsets_;   // scratch: event boundaries in the last run copied
  std::vector<AcceptedRun> accepted_;  // scratch: the last run's publish batches
  uint64_t delivered_ = 0;             // folded into the topic's counters once per step
  uint64_t skipped_ = 0;
  bool failed_ = false;
  std::atomic<bool> finished_{false};
};

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_TOPIC_FANOUT_STAGE_H_
