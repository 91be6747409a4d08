// SingleProducerSequencer: claims and publishes ring slots for exactly one producer thread.
//
// Thread safety: Next, TryNext, Publish and RemainingCapacity belong to the single producer
// (with RINGCAST_CORE_DEBUG_CHECKS it aborts if two threads are inside them at once). Cursor,
// IsAvailable, HighestPublishedSequence, Occupancy and the gating calls are safe from any thread.
//
// Memory ordering: Publish(n) is a release store of the cursor (Sequence::Set); pairs with the
// acquire load in the consumers' barrier, so slot writes before Publish are visible to consumers
// that see the cursor at n. The producer reads the gating sequences with acquire, pairing with
// the consumers' release after they finished with a slot, so it never reuses a slot still read.
#ifndef RINGCAST_CORE_SINGLE_PRODUCER_SEQUENCER_H_
#define RINGCAST_CORE_SINGLE_PRODUCER_SEQUENCER_H_

#include <atomic>
#include <cstdint>

#include "ringcast/core/check.h"
#include "ringcast/core/producer_wait.h"
#include "ringcast/core/sequencer.h"

namespace ringcast {

template <WaitStrategy W = Blocking, ProducerWaitPolicy P = BackoffOnFull>
class SingleProducerSequencer : public internal::SequencerState<W> {
  using Base = internal::SequencerState<W>;

 public:
  using WaitStrategyType = W;

  explicit SingleProducerSequencer(int64_t capacity, W wait_strategy = W(),
                                   const SequencerOptions& options = {})
      : Base(capacity, std::move(wait_strategy), options) {
    producer_.next_value = options.initial_cursor;
  }

  SingleProducerSequencer(const SingleProducerSequencer&) = delete;
  SingleProducerSequencer& operator=(const SingleProducerSequencer&) = delete;

  // Claims the next n slots, waiting through P while the ring is full, and returns the highest.
  // Requires: 1 <= n <= capacity (checked: a larger claim could never be satisfied).
  [[nodiscard]] int64_t Next(int64_t n = 1) noexcept {
    RINGCAST_CHECK(n >= 1 && n <= this->capacity_, "Next(n) requires 1 <= n <= capacity");
    ProducerScope scope(*this);
    const int64_t next = producer_.next_value + n;
    const int64_t wrap_point = next - this->capacity_;
    if (wrap_point > producer_.cached_gating) {
      P wait;
      int64_t minimum;
      for (uint32_t i = 0;
           wrap_point > (minimum = this->ClaimGate(wrap_point, producer_.next_value)); ++i) {
        wait.Idle(i);
      }
      producer_.cached_gating = minimum;
    }
    producer_.next_value = next;
    return next;
  }

  // Claims the next n slots if the ring has room now; never waits.
  [[nodiscard]] ClaimResult TryNext(int64_t n = 1) noexcept {
    if (n < 1 || n > this->capacity_) return {ClaimStatus::kTooLarge, producer_.next_value};
    ProducerScope scope(*this);
    if (!HasRoomFor(n)) return {ClaimStatus::kInsufficientCapacity, producer_.next_value};
    producer_.next_value += n;
    return {ClaimStatus::kOk, producer_.next_value};
  }

  // Makes every claimed slot up to `sequence` visible to consumers.
  void Publish(int64_t sequence) noexcept {
    this->cursor_.Set(sequence);  // release; pairs with the acquire in DependentSequences::Get
    this->wait_strategy_.SignalAllWhenBlocking();
  }
  void Publish(int64_t /*low*/, int64_t high) noexcept { Publish(high); }

  // Free slots from the producer's point of view. Producer thread only.
  [[nodiscard]] int64_t RemainingCapacity() const noexcept {
    const int64_t consumed = this->gating_.Minimum(producer_.next_value);
    return this->capacity_ - (producer_.next_value - consumed);
  }

  [[nodiscard]] bool IsAvailable(int64_t sequence) const noexcept {
    const int64_t cursor = this->cursor_.Get();
    return sequence <= cursor && sequence > cursor - this->capacity_;
  }

  // With one producer everything up to the cursor is published.
  [[nodiscard]] int64_t HighestPublishedSequence(int64_t /*low*/,
                                                 int64_t available) const noexcept {
    return available;
  }

 private:
  bool HasRoomFor(int64_t n) noexcept {
    const int64_t wrap_point = producer_.next_value + n - this->capacity_;
    if (wrap_point > producer_.cached_gating) {
      const int64_t minimum = this->ClaimGate(wrap_point, producer_.next_value);
      producer_.cached_gating = minimum;
      if (wrap_point > minimum) return false;
    }
    return true;
  }

  // With RINGCAST_CORE_DEBUG_CHECKS: aborts when two threads claim at once, the misuse that
  // corrupts the ring. Otherwise an empty object the optimizer removes.
  class ProducerScope {
   public:
    explicit ProducerScope(SingleProducerSequencer& s) noexcept : s_(s) {
      if constexpr (kCoreDebugChecks) {
        // Acquire; pairs with the release in the destructor of the previous scope.
        RINGCAST_CHECK(!s_.producer_.busy.exchange(true, std::memory_order_acquire),
                       "SingleProducerSequencer used by two threads at once; use "
                       "MultiProducerSequencer");
      }
    }
    ~ProducerScope() {
      if constexpr (kCoreDebugChecks) {
        s_.producer_.busy.store(false, std::memory_order_release);  // pairs with the exchange
      }
    }
    ProducerScope(const ProducerScope&) = delete;
    ProducerScope& operator=(const ProducerScope&) = delete;

   private:
    SingleProducerSequencer& s_;
  };

  // Written by the producer thread only. `busy` is always there (only the check reads it), so the
  // layout does not depend on the switch.
  struct alignas(kCacheLineSize) ProducerFields {
    int64_t next_value = kInitialSequence;     // highest claimed
    int64_t cached_gating = kInitialSequence;  // slowest consumer when last looked, never ahead
    std::atomic<bool> busy{false};
  };
  static_assert(sizeof(ProducerFields) == kCacheLineSize);

  ProducerFields producer_;
};

}  // namespace ringcast

#endif  // RINGCAST_CORE_SINGLE_PRODUCER_SEQUENCER_H_
