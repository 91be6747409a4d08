// EventPoller: a pull consumer for code that runs its own loop (an event loop, a gRPC reactor, a
// thread that wants pipe-like receives).
//
// Poll hands every event the poller may read now to a callback, never waits, and reports why it
// stopped: kProcessing (handled events), kGating (events are published but an upstream stage or
// an unfinished claim holds them back) or kIdle (nothing new). WaitPoll is the same but first
// waits, up to a timeout, for something to read (see poll_wait.h for how). The callback returns
// false to stop early (or returns nothing, to take everything); the events it saw until then
// count as consumed.
//
// A poller reads slots in place, so producers must not lap it: its sequence() must be one of the
// sequencer's gating sequences (Disruptor::AddPoller registers it), or some gating consumer must
// follow it (a stage whose upstream is the poller). The first Poll checks that and aborts with the
// reason if neither holds, rather than hand over slots a producer may be rewriting; with
// RINGCAST_CORE_DEBUG_CHECKS every Poll checks afterwards that no gating consumer was ahead of the
// poller while it read. A reader that must never hold producers back is a LossyReader, not a
// poller without gating.
//
// Thread safety: Poll and WaitPoll belong to one thread at a time. sequence() and Lag() may be
// read from any thread.
//
// Memory ordering: as BatchEventProcessor: events are read after acquire loads of the cursor (or
// upstream sequences and slot availability); progress is a release store of sequence().
#ifndef RINGCAST_CORE_EVENT_POLLER_H_
#define RINGCAST_CORE_EVENT_POLLER_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <type_traits>
#include <vector>

#include "absl/time/time.h"
#include "ringcast/core/check.h"
#include "ringcast/core/poll_wait.h"
#include "ringcast/core/ring_buffer.h"
#include "ringcast/core/sequence_barrier.h"

namespace ringcast {

enum class PollState : uint8_t { kProcessing, kGating, kIdle };

namespace internal {

// Calls a poll callback; one that returns nothing means "keep going".
template <class F, class E>
bool InvokePollHandler(F& handler, E& event, int64_t sequence, bool end_of_batch) {
  if constexpr (std::is_void_v<std::invoke_result_t<F&, E&, int64_t, bool>>) {
    std::invoke(handler, event, sequence, end_of_batch);
    return true;
  } else {
    return static_cast<bool>(std::invoke(handler, event, sequence, end_of_batch));
  }
}

}  // namespace internal

template <class E, Sequencer S>
class EventPoller {
 public:
  EventPoller(RingBuffer<E>& ring, S& sequencer, std::vector<const Sequence*> upstream = {})
      : ring_(ring),
        sequencer_(sequencer),
        dependents_(sequencer.cursor_sequence(), std::move(upstream)) {}

  EventPoller(const EventPoller&) = delete;
  EventPoller& operator=(const EventPoller&) = delete;

  // `handler(E& event, int64_t sequence, bool end_of_batch) -> bool` (false stops this poll) or
  // `-> void`. Consumes at most `max_events` events. If the handler throws, the events before the
  // throwing one are consumed and the exception propagates.
  template <class F>
  PollState Poll(F&& handler, int64_t max_events = std::numeric_limits<int64_t>::max()) {
    if (!gating_checked_) CheckGating();
    const int64_t current = sequence_.GetRelaxed();
    int64_t next = current + 1;
    int64_t available = Available(next);
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
      more = internal::InvokePollHandler(handler, ring_.Get(next), next, next == available);
      commit.processed = next++;
    }
    RINGCAST_DCHECK(IsProtected(current),
                    "a gating consumer ran ahead of an EventPoller that is not gating: producers "
                    "may have overwritten the slots it read");
    return PollState::kProcessing;
  }

  // As Poll, but when nothing is readable waits up to `timeout` for something to be. Returns
  // kProcessing if it handled events, otherwise what Poll says after the timeout.
  template <class F>
  PollState WaitPoll(F&& handler, absl::Duration timeout,
                     int64_t max_events = std::numeric_limits<int64_t>::max()) {
    const int64_t next = sequence_.GetRelaxed() + 1;
    (void)internal::WaitUntilAvailable(
        sequencer_.wait_strategy(), next, [this](int64_t from) { return Available(from); },
        timeout);
    return Poll(std::forward<F>(handler), max_events);
  }

  // Events claimed by producers that this poller has not consumed yet; a snapshot.
  [[nodiscard]] int64_t Lag() const noexcept {
    const int64_t lag = sequencer_.Cursor() - sequence_.Get();
    return lag < 0 ? 0 : lag;
  }

  [[nodiscard]] Sequence& sequence() noexcept { return sequence_; }
  [[nodiscard]] const Sequence& sequence() const noexcept { return sequence_; }

 private:
  // The highest sequence readable by a poller whose next event is `from`.
  int64_t Available(int64_t from) const noexcept {
    const int64_t available = dependents_.Get();
    return available >= from ? sequencer_.HighestPublishedSequence(from, available) : available;
  }

  // Whether producers cannot lap a poller at `position`: it gates them itself, or the slowest
  // gating consumer is not ahead of it (it follows the poller).
  bool IsProtected(int64_t position) const noexcept {
    return sequencer_.IsGatingSequence(sequence_) ||
           sequencer_.MinimumGatingSequence(std::numeric_limits<int64_t>::max()) <= position;
  }

  void CheckGating() {
    RINGCAST_CHECK(IsProtected(sequence_.GetRelaxed()),
                   "EventPoller polled without gating the producers, which would hand it slots "
                   "being overwritten: add sequence() with AddGatingSequence (Disruptor::AddPoller "
                   "does), or read with a LossyReader");
    gating_checked_ = true;
  }

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
  bool gating_checked_ = false;  // polling thread only
};

}  // namespace ringcast

#endif  // RINGCAST_CORE_EVENT_POLLER_H_
