// LossyReader: a pull consumer that never holds producers back for being behind. When producers
// lap it, it skips to the oldest slot not yet overwritten and reports how many events it missed.
//
//   LossyReader<Tick, Seq> reader(ring, sequencer);  // or disruptor.AddLossyReader()
//   LossyPoll r = reader.Poll([](Tick& t, int64_t seq, bool end_of_batch) { ... });
//   if (r.missed > 0) ...;                           // overwritten before we got to them
//
// How it stays safe without copying: the reader reads slots in place, so it must not be lapped
// while it reads. Its progress is one word, the last sequence consumed plus a "busy" bit. Poll
// marks the word busy (CAS), reads the batch, and stores the new position with the bit clear. A
// producer that needs slots the reader has not consumed moves an idle reader's word forward
// (CAS) to the claim's wrap point: the reader skips those events and finds out from its word on
// the next Poll. A busy reader is waited for: a producer is held back only by the batch a reader
// has in hand (at most `max_events` handler calls), never by how far behind the reader is. Keep
// batches short (the default max_events is kDefaultMaxEvents) when producers must not wait.
//
// When several producers race, a reader may be moved a few events further than the overwritten
// ones (a claim that lost its race still moved it). Missed events are counted either way.
//
// Thread safety: Poll and WaitPoll belong to one thread at a time. position(), Lag() and
// MissedTotal() may be read from any thread. Construct it while no producer claims, or while some
// gating consumer keeps producers within a ring of the cursor (see
// SequencerState::AddLossyReader); destroy it on the reading thread, at any time.
//
// Memory ordering: the busy CAS is acq_rel and pairs with the producers' CAS in
// SequencerState::ClaimGate (one of the two wins, so a producer never moves a reader that is
// reading). Slots are read after acquire loads of the cursor and slot availability, as for any
// consumer. The release of the word (a release store) pairs with the producers' acquire load.
#ifndef RINGCAST_CORE_LOSSY_READER_H_
#define RINGCAST_CORE_LOSSY_READER_H_

#include <atomic>
#include <cstdint>
#include <limits>

#include "absl/time/time.h"
#include "ringcast/core/check.h"
#include "ringcast/core/event_poller.h"
#include "ringcast/core/poll_wait.h"
#include "ringcast/core/ring_buffer.h"
#include "ringcast/core/sequencer.h"

namespace ringcast {

// What one Poll did.
struct [[nodiscard]] LossyPoll {
  PollState state = PollState::kIdle;
  int64_t handled = 0;  // events handed to the callback
  int64_t missed = 0;   // events overwritten before this reader got to them, since the last Poll
};

template <class E, Sequencer S>
class LossyReader {
 public:
  // The most events one Poll hands over unless told otherwise: short, so producers that need the
  // slots of a reader's batch wait for a short while only.
  static constexpr int64_t kDefaultMaxEvents = 256;

  // Starts at the cursor: the reader sees events published from now on. Aborts if the sequencer
  // already has SequencerOptions::max_lossy_readers readers.
  LossyReader(RingBuffer<E>& ring, S& sequencer) : ring_(ring), sequencer_(sequencer) {
    position_ = sequencer_.AddLossyReader(word_);
    RINGCAST_CHECK(position_ >= kInitialSequence,
                   "too many lossy readers; raise SequencerOptions::max_lossy_readers");
  }
  ~LossyReader() { sequencer_.RemoveLossyReader(word_); }

  LossyReader(const LossyReader&) = delete;
  LossyReader& operator=(const LossyReader&) = delete;

  // `handler(E& event, int64_t sequence, bool end_of_batch) -> bool` (false stops this poll) or
  // `-> void`. Hands over at most `max_events` events. If the handler throws, the events before
  // the throwing one are consumed and the exception propagates.
  template <class F>
  LossyPoll Poll(F&& handler, int64_t max_events = kDefaultMaxEvents) {
    RINGCAST_CHECK(max_events >= 1, "max_events must be at least 1");
    const int64_t word = MarkBusy();
    const int64_t position = internal::LossyPosition(word);
    LossyPoll result;
    result.missed = position - position_;
    missed_total_.store(missed_total_.load(std::memory_order_relaxed) + result.missed,
                        std::memory_order_relaxed);  // relaxed: a statistic with one writer
    position_ = position;
    struct Release {  // clears the busy bit however the poll ends, exceptions included
      LossyReader& reader;
      int64_t processed;
      ~Release() { reader.Release(processed); }
    } release{*this, position};
    int64_t next = position + 1;
    int64_t available = Available(next);
    if (available < next) {
      result.state = sequencer_.Cursor() >= next ? PollState::kGating : PollState::kIdle;
      return result;
    }
    // Never more than a ring ahead of the position: those slots are the ones we keep busy.
    if (available - position > ring_.capacity()) available = position + ring_.capacity();
    if (available - next >= max_events) available = next + max_events - 1;
    bool more = true;
    while (more && next <= available) {
      more = internal::InvokePollHandler(handler, ring_.Get(next), next, next == available);
      release.processed = next++;
    }
    result.state = PollState::kProcessing;
    result.handled = release.processed - position;
    return result;
  }

  // As Poll, but when nothing is readable waits up to `timeout` for something to be.
  template <class F>
  LossyPoll WaitPoll(F&& handler, absl::Duration timeout, int64_t max_events = kDefaultMaxEvents) {
    (void)internal::WaitUntilAvailable(
        sequencer_.wait_strategy(), position() + 1,
        [this](int64_t from) { return Available(from); }, timeout);
    return Poll(std::forward<F>(handler), max_events);
  }

  // The last sequence consumed or skipped.
  [[nodiscard]] int64_t position() const noexcept {
    return internal::LossyPosition(word_.Get());  // acquire; pairs with Release and ClaimGate
  }

  // Events published but not yet consumed; up to a ring's worth (more were overwritten).
  [[nodiscard]] int64_t Lag() const noexcept {
    const int64_t lag = sequencer_.Cursor() - position();
    return lag < 0 ? 0 : (lag > ring_.capacity() ? ring_.capacity() : lag);
  }

  // Events this reader missed since it was created.
  [[nodiscard]] int64_t MissedTotal() const noexcept {
    return missed_total_.load(std::memory_order_relaxed);  // relaxed: a statistic
  }

 private:
  // Sets the busy bit; returns the word it was set on (the producers may have moved it).
  int64_t MarkBusy() noexcept {
    int64_t word = word_.Get();
    // Acq_rel CAS; pairs with the producers' CAS in ClaimGate: once it succeeds no producer
    // moves the word, and every claim that could overwrite our slots waits for Release.
    while (!word_.CompareAndSet(word, word | 1)) word = word_.Get();
    return word;
  }

  void Release(int64_t processed) noexcept {
    position_ = processed;
    // Release; pairs with the acquire load in ClaimGate: our reads of the slots happen before a
    // producer that sees the word idle reuses them. Only this thread writes a busy word.
    word_.Set(internal::LossyWord(processed, false));
  }

  int64_t Available(int64_t from) const noexcept {
    const int64_t cursor = sequencer_.Cursor();
    return cursor >= from ? sequencer_.HighestPublishedSequence(from, cursor) : cursor;
  }

  Sequence word_;
  RingBuffer<E>& ring_;
  S& sequencer_;
  int64_t position_ = kInitialSequence;  // reader thread: the position it last saw or set
  std::atomic<int64_t> missed_total_{0};
};

}  // namespace ringcast

#endif  // RINGCAST_CORE_LOSSY_READER_H_
