// What the two sequencers share: claim results, the sequencer concept, and the state common to
// both (capacity, cursor, gating sequences, the wait strategy).
#ifndef RINGCAST_CORE_SEQUENCER_H_
#define RINGCAST_CORE_SEQUENCER_H_

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "ringcast/core/check.h"
#include "ringcast/core/gating_sequences.h"
#include "ringcast/core/ring_buffer.h"
#include "ringcast/core/sequence.h"
#include "ringcast/core/wait_strategy.h"

namespace ringcast {

enum class ClaimStatus : uint8_t {
  kOk,                    // `sequence` is the highest claimed; the claim is sequence-n+1..sequence
  kInsufficientCapacity,  // the ring lacks room for n now; nothing was claimed
  kTooLarge,              // n < 1 or n > capacity: no claim of this size can ever succeed
};

struct [[nodiscard]] ClaimResult {
  ClaimStatus status;
  int64_t sequence;

  [[nodiscard]] bool ok() const noexcept { return status == ClaimStatus::kOk; }
};

struct SequencerOptions {
  // Upper bound on gating sequences (consumers the producers wait for) at any one time.
  std::size_t max_gating_sequences = GatingSequences::kDefaultMaxSequences;
  // Upper bound on lossy readers (LossyReader) at any one time.
  std::size_t max_lossy_readers = GatingSequences::kDefaultMaxSequences;
  // The cursor before the first claim: the first sequence claimed is initial_cursor + 1. A ring
  // that continues a sequence kept elsewhere (a journal recovered after a restart) starts there;
  // its gating sequences must start at the same value. Requires: >= kInitialSequence.
  int64_t initial_cursor = kInitialSequence;
};

namespace internal {

// A lossy reader's word (LossyReader): the last sequence it consumed, times two, plus one while it
// is reading (busy). Producers move an idle reader forward when they need its slots; a busy one
// they wait for, so the slots it is reading are never overwritten under it.
[[nodiscard]] constexpr int64_t LossyWord(int64_t position, bool busy) noexcept {
  return position * 2 + (busy ? 1 : 0);
}
[[nodiscard]] constexpr int64_t LossyPosition(int64_t word) noexcept { return word >> 1; }
[[nodiscard]] constexpr bool LossyBusy(int64_t word) noexcept { return (word & 1) != 0; }

// State both sequencers keep. Not a polymorphic base: the sequencers are used by value through
// templates, never through a pointer to this.
template <WaitStrategy W>
class SequencerState {
 public:
  [[nodiscard]] int64_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] W& wait_strategy() noexcept { return wait_strategy_; }

  // The cursor consumers wait on: the highest published sequence for a single producer, the
  // highest claimed one for multiple producers (per-slot availability tells what is published).
  [[nodiscard]] const Sequence& cursor_sequence() const noexcept { return cursor_; }
  [[nodiscard]] int64_t Cursor() const noexcept { return cursor_.Get(); }

  // Adds a consumer sequence the producers must not lap. Requires: its value is not older than
  // the slowest existing gating sequence. False when max_gating_sequences are already in use.
  [[nodiscard]] bool AddGatingSequence(const Sequence& sequence) { return gating_.Add(sequence); }

  // Adds `sequence` starting at the cursor: the consumer owning it will see every event after the
  // returned start and none before. Returns the start, or kInitialSequence - 1 if every slot is
  // taken. Requires: some gating sequence exists already, or no producer claims concurrently
  // (otherwise a producer may still hold room it reserved before the add).
  //
  // The cursor is read again after the add: a producer that computed its room before it could see
  // the new sequence was gated by consumers no further than the cursor of that moment, so it
  // cannot overwrite anything after the cursor read once the add is visible. Reading the cursor
  // only before the add would leave a window in which consumers advance, the producer refreshes
  // its gating minimum without the new sequence, and laps the slots the new consumer needs.
  [[nodiscard]] int64_t AddGatingSequenceAtCursor(Sequence& sequence) {
    sequence.Set(cursor_.Get());
    if (!gating_.Add(sequence)) return kInitialSequence - 1;
    // seq_cst fence: orders the slot store in Add before the cursor load below; pairs with the
    // seq_cst operations producers perform in GatingSequences::Minimum after their cursor stores.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    const int64_t start = cursor_.Get();
    sequence.Set(start);
    return start;
  }

  // Whether `sequence` is among the gating sequences now.
  [[nodiscard]] bool IsGatingSequence(const Sequence& sequence) const noexcept {
    bool found = false;
    gating_.ForEach([&](const Sequence& s) { found = found || &s == &sequence; });
    return found;
  }

  // Removes a gating sequence; once this returns the producers no longer read it.
  bool RemoveGatingSequence(const Sequence& sequence) { return gating_.Remove(sequence); }

  // The slowest gating sequence, or `floor` when nothing gates or it is smaller.
  [[nodiscard]] int64_t MinimumGatingSequence(int64_t floor) const noexcept {
    return gating_.Minimum(floor);
  }

  [[nodiscard]] std::size_t GatingSequenceCount() const noexcept { return gating_.SizeGuess(); }

  // Registers a lossy reader's word (see LossyReader) starting at the cursor and returns the
  // start, or kInitialSequence - 1 if max_lossy_readers are already registered. Lossy readers
  // never hold producers back (except from the slots of the batch one has in hand) and count in
  // no occupancy figure. Requires: as AddGatingSequenceAtCursor, some gating sequence exists or
  // no producer claims concurrently, so that no producer is still writing a ring ahead of a
  // gating check made before the reader was visible.
  [[nodiscard]] int64_t AddLossyReader(Sequence& word) {
    word.Set(LossyWord(cursor_.Get(), false));
    if (!lossy_.Add(word)) return kInitialSequence - 1;
    // seq_cst fence: orders the slot store in Add before the cursor load below; pairs with the
    // seq_cst operations producers perform in GatingSequences::ForEach.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    const int64_t start = cursor_.Get();
    // A producer may have moved the word on already; only ever move it forward.
    int64_t current = word.Get();
    while (LossyPosition(current) < start &&
           !word.CompareAndSet(current, LossyWord(start, false))) {
      current = word.Get();
    }
    return LossyPosition(word.Get());
  }

  // Removes a lossy reader's word; once this returns the producers no longer touch it.
  bool RemoveLossyReader(const Sequence& word) { return lossy_.Remove(word); }

  [[nodiscard]] std::size_t LossyReaderCount() const noexcept { return lossy_.SizeGuess(); }

  // Events published (or claimed, for multiple producers) but not yet released by the slowest
  // gating consumer. A snapshot: approximate while producers and consumers run.
  [[nodiscard]] int64_t Occupancy() const noexcept {
    const int64_t cursor = cursor_.Get();
    const int64_t occupancy = cursor - gating_.Minimum(cursor);
    return occupancy < 0 ? 0 : (occupancy > capacity_ ? capacity_ : occupancy);
  }

  // Occupancy / capacity, from 0 (empty) to 1 (producers are blocked).
  [[nodiscard]] double BackpressureRatio() const noexcept {
    return static_cast<double>(Occupancy()) / static_cast<double>(capacity_);
  }

 protected:
  SequencerState(int64_t capacity, W wait_strategy, const SequencerOptions& options)
      : capacity_(capacity),
        cursor_(options.initial_cursor),
        gating_(options.max_gating_sequences),
        lossy_(options.max_lossy_readers),
        wait_strategy_(std::move(wait_strategy)) {
    RINGCAST_CHECK(ValidateCapacity(capacity).ok(),
                   "sequencer capacity must be a power of two between 1 and 2^30");
    RINGCAST_CHECK(options.initial_cursor >= kInitialSequence,
                   "a sequencer's initial cursor is kInitialSequence or later");
  }

  // What a claim whose wrap point is `wrap_point` must wait for: the slowest gating sequence (or
  // `floor`), and any lossy reader that is busy below the wrap point. Idle lossy readers below it
  // are first moved up to it: they skip what the claim overwrites. Called only when the producer's
  // cached gating value no longer covers the claim, so readers cost nothing on the fast path.
  [[nodiscard]] int64_t ClaimGate(int64_t wrap_point, int64_t floor) noexcept {
    int64_t minimum = gating_.Minimum(floor);
    if (!lossy_.EverUsed()) return minimum;
    lossy_.ForEach([&minimum, wrap_point](const Sequence& registered) {
      // AddLossyReader takes the word as a non-const Sequence; the registry stores it as const.
      const int64_t position = PushLossyReader(const_cast<Sequence&>(registered), wrap_point);
      if (position < minimum) minimum = position;
    });
    return minimum;
  }

  const int64_t capacity_;
  Sequence cursor_;
  GatingSequences gating_;
  GatingSequences lossy_;
  W wait_strategy_;

 private:
  // Moves an idle reader below `wrap_point` up to it and returns the reader's position after.
  static int64_t PushLossyReader(Sequence& word, int64_t wrap_point) noexcept {
    int64_t current = word.Get();  // acquire; pairs with the release in LossyReader's Release
    for (;;) {
      const int64_t position = LossyPosition(current);
      if (position >= wrap_point || LossyBusy(current)) return position;
      // Acq_rel; pairs with the reader's CAS that marks it busy: exactly one of the two wins.
      if (word.CompareAndSet(current, LossyWord(wrap_point, false))) return wrap_point;
      current = word.Get();
    }
  }
};

}  // namespace internal

template <class S>
concept Sequencer = requires(S& s, const S& cs, int64_t n, int64_t lo, int64_t hi) {
  typename S::WaitStrategyType;
  { s.Next(n) } -> std::same_as<int64_t>;
  { s.TryNext(n) } -> std::same_as<ClaimResult>;
  { s.Publish(hi) }
  noexcept;
  { s.Publish(lo, hi) }
  noexcept;
  { cs.IsAvailable(n) } -> std::same_as<bool>;
  { cs.HighestPublishedSequence(lo, hi) } -> std::same_as<int64_t>;
  { cs.Cursor() } -> std::same_as<int64_t>;
  { cs.capacity() } -> std::same_as<int64_t>;
};

}  // namespace ringcast

#endif  // RINGCAST_CORE_SEQUENCER_H_
