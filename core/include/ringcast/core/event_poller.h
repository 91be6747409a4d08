// EventPoller: a pull consumer for code that runs its own loop (an event loop, a gRPC reactor).
//
// Poll hands every event the poller may read now to a callback, never waits, and reports why it
// stopped: kProcessing (handled events), kGating (events are published but an upstream stage or
// an unfinished claim holds them back) or kIdle (nothing new). The callback returns false to stop
// early; the events it saw until then count as consumed.
//
// Thread safety: Poll belongs to one thread at a time. sequence() may be read from any thread; add
// it to the sequencer's gating sequences so producers do not lap the poller.
//
// Memory ordering: as BatchEventProcessor: events are read after acquire loads of the cursor (or
// upstream sequences and slot availability); progress is a release store of sequence().
#ifndef RINGCAST_CORE_EVENT_POLLER_H_
#define RINGCAST_CORE_EVENT_POLLER_H_

#include <cstdint>
#include <vector>

#include "ringcast/core/ring_buffer.h"
#include "ringcast/core/sequence_barrier.h"

namespace ringcast {

enum class PollState : uint8_t { kProcessing, kGating, kIdle };

template <class E, Sequencer S>
class EventPoller {
 public:
  EventPoller(RingBuffer<E>& ring, S& sequencer, std::vector<const Sequence*> upstream = {})
      : ring_(ring),
        sequencer_(sequencer),
        dependents_(sequencer.cursor_sequence(), std::move(upstream)) {}

  EventPoller(const EventPoller&) = delete;
  EventPoller& operator=(const EventPoller&) = delete;

  // `handler(E& event, int64_t sequence, bool end_of_batch) -> bool`: false stops this poll.
  // Consumes at most `max_events` events. If the handler throws, the events before the throwing one
  // are consumed and the exception propagates.
  template <class F>
  PollState Poll(F&& handler, int64_t max_events = std::numeric_limits<int64_t>::max()) {
    const int64_t current = sequence_.GetRelaxed();
    int64_t next = current + 1;
    int64_t available = dependents_.Get();
    if (available >= next) available = sequencer_.HighestPublishedSequence(next, available);
    if (available < next) {
      return sequencer_.Cursor() >= next ? PollState::kGating : PollState::kIdle;
    }
    if (available - next >= max_events) available = next + max_events - 1;
    struct Commit {  // publishes progress however the loop ends, exceptions included
      EventPoller& poller;
      int64_t processed;
      ~Commit() { poller.Commit(processed); }
    } commit{*this, current};
    bool more = true;
    while (more && next <= available) {
      more = handler(ring_.Get(next), next, next == available);
      commit.processed = next++;
    }
    return PollState::kProcessing;
  }

  [[nodiscard]] Sequence& sequence() noexcept { return sequence_; }
  [[nodiscard]] const Sequence& sequence() const noexcept { return sequence_; }

 private:
  void Commit(int64_t processed) noexcept {
    sequence_.Set(processed);  // release; pairs with the producers' and downstream stages' acquire
    // Then wake producers or downstream stages parked on a Blocking strategy: after the store, so
    // a woken waiter sees it.
    sequencer_.wait_strategy().SignalAllWhenBlocking();
  }

  Sequence sequence_;
  RingBuffer<E>& ring_;
  S& sequencer_;
  DependentSequences dependents_;
};

}  // namespace ringcast

#endif  // RINGCAST_CORE_EVENT_POLLER_H_
