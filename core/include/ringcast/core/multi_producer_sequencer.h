// MultiProducerSequencer: claims and publishes ring slots for any number of producer threads.
//
// Thread safety: every method is safe from any thread.
//
// Memory ordering: the cursor is the highest *claimed* sequence; claims are acq_rel RMWs on it.
// Publishing a slot is a release store of the slot's lap number (plus one) into `available_`;
// pairs with the acquire load in IsAvailable, which consumers call (through
// HighestPublishedSequence) before reading a slot. Gating sequences are read with acquire as for
// the single producer. The shared `gating_cache_` is only a hint: it never runs ahead of the real
// minimum, so a stale value costs a refresh, never an overwrite.
#ifndef RINGCAST_CORE_MULTI_PRODUCER_SEQUENCER_H_
#define RINGCAST_CORE_MULTI_PRODUCER_SEQUENCER_H_

#include <atomic>
#include <bit>
#include <cstdint>
#include <memory>

#include "ringcast/core/check.h"
#include "ringcast/core/producer_wait.h"
#include "ringcast/core/sequencer.h"
#include "ringcast/core/zero_pages.h"

namespace ringcast {

template <WaitStrategy W = Blocking, ProducerWaitPolicy P = BackoffOnFull>
class MultiProducerSequencer : public internal::SequencerState<W> {
  using Base = internal::SequencerState<W>;

 public:
  using WaitStrategyType = W;

  explicit MultiProducerSequencer(int64_t capacity, W wait_strategy = W(),
                                  const SequencerOptions& options = {})
      : Base(capacity, std::move(wait_strategy), options),
        index_mask_(capacity - 1),
        index_shift_(std::countr_zero(static_cast<uint64_t>(capacity))),
        available_pages_(sizeof(uint32_t) * static_cast<std::size_t>(capacity)),
        available_(static_cast<uint32_t*>(available_pages_.data())) {
    // A never-published slot's flag is 0, which a lap of 2^32 - 1 would read as published.
    RINGCAST_CHECK(
        static_cast<uint64_t>(options.initial_cursor + 1) >> index_shift_ < (uint64_t{1} << 32) - 2,
        "the initial cursor must be fewer than 2^32 - 2 laps of the ring");
  }

  MultiProducerSequencer(const MultiProducerSequencer&) = delete;
  MultiProducerSequencer& operator=(const MultiProducerSequencer&) = delete;

  // Claims the next n slots, waiting through P while the ring is full, and returns the highest.
  // Requires: 1 <= n <= capacity (checked: a larger claim could never be satisfied).
  [[nodiscard]] int64_t Next(int64_t n = 1) noexcept {
    RINGCAST_CHECK(n >= 1 && n <= this->capacity_, "Next(n) requires 1 <= n <= capacity");
    // Claim first, then wait for room: producers never retry against each other.
    const int64_t current = this->cursor_.AddAndGet(n) - n;
    const int64_t next = current + n;
    const int64_t wrap_point = next - this->capacity_;
    const int64_t cached = gating_cache_.Get();
    if (wrap_point > cached || cached > current) {
      P wait;
      int64_t minimum;
      for (uint32_t i = 0;
           wrap_point > (minimum = this->ClaimGate(wrap_point, Floor(current, wrap_point))); ++i) {
        wait.Idle(i);
      }
      gating_cache_.Set(minimum);
    }
    return next;
  }

  // Claims the next n slots if the ring has room now; never waits.
  [[nodiscard]] ClaimResult TryNext(int64_t n = 1) noexcept {
    if (n < 1 || n > this->capacity_) return {ClaimStatus::kTooLarge, this->cursor_.Get()};
    for (;;) {
      const int64_t current = this->cursor_.Get();
      const int64_t next = current + n;
      if (!HasRoomFor(n, current)) return {ClaimStatus::kInsufficientCapacity, current};
      if (this->cursor_.CompareAndSet(current, next)) return {ClaimStatus::kOk, next};
    }
  }

  void Publish(int64_t sequence) noexcept {
    MarkAvailable(sequence);
    this->wait_strategy_.SignalAllWhenBlocking();
  }

  // Publishes low..high as one unit: consumers see all of it or none. Slots are marked from the
  // highest down, and consumers scan upwards from the lowest, so a consumer that sees `low`
  // published (acquire) also sees every later slot of the batch (released before it).
  void Publish(int64_t low, int64_t high) noexcept {
    for (int64_t s = high; s >= low; --s) MarkAvailable(s);
    this->wait_strategy_.SignalAllWhenBlocking();
  }

  // Free slots right now; approximate while others claim.
  [[nodiscard]] int64_t RemainingCapacity() const noexcept {
    const int64_t produced = this->cursor_.Get();
    const int64_t consumed = this->gating_.Minimum(produced);
    return this->capacity_ - (produced - consumed);
  }

  [[nodiscard]] bool IsAvailable(int64_t sequence) const noexcept {
    // Acquire; pairs with the release in MarkAvailable.
    return Flag(sequence).load(std::memory_order_acquire) == LapOf(sequence);
  }

  // The highest sequence in [low, available] below which every slot is published.
  [[nodiscard]] int64_t HighestPublishedSequence(int64_t low, int64_t available) const noexcept {
    for (int64_t s = low; s <= available; ++s) {
      if (!IsAvailable(s)) return s - 1;
    }
    return available;
  }

 private:
  // A slot's flag holds the lap it was last published in, plus one: 0 (the zero-filled start,
  // which costs no memory until written) means never published. The lap is truncated to 32 bits;
  // a slot is compared only with the lap a consumer expects, and producers cannot get 2^32 laps
  // ahead of a gating consumer, so truncation never aliases.
  uint32_t LapOf(int64_t sequence) const noexcept {
    return static_cast<uint32_t>(static_cast<uint64_t>(sequence) >> index_shift_) + 1;
  }

  std::atomic_ref<uint32_t> Flag(int64_t sequence) const noexcept {
    return std::atomic_ref<uint32_t>(available_[SlotOf(sequence)]);
  }

  std::size_t SlotOf(int64_t sequence) const noexcept {
    return static_cast<std::size_t>(sequence & index_mask_);
  }

  void MarkAvailable(int64_t sequence) noexcept {
    // Release; pairs with the acquire in IsAvailable.
    Flag(sequence).store(LapOf(sequence), std::memory_order_release);
  }

  // What a claim may overwrite when no consumer holds it back: up to `current` (the cursor), except
  // that with lossy readers, which may be the only readers, a slot another producer claimed a lap
  // ago and has not published yet must not be claimed again (the two would write it at once).
  // Gating consumers never pass an unpublished slot, so with them the minimum covers this anyway.
  int64_t Floor(int64_t current, int64_t wrap_point) const noexcept {
    if (!this->lossy_.EverUsed()) return current;
    return HighestPublishedSequence(current - this->capacity_ + 1, wrap_point);
  }

  bool HasRoomFor(int64_t n, int64_t current) noexcept {
    const int64_t wrap_point = current + n - this->capacity_;
    const int64_t cached = gating_cache_.Get();
    if (wrap_point > cached || cached > current) {
      const int64_t minimum = this->ClaimGate(wrap_point, Floor(current, wrap_point));
      gating_cache_.Set(minimum);
      if (wrap_point > minimum) return false;
    }
    return true;
  }

  const int64_t index_mask_;
  const int index_shift_;
  internal::ZeroPages available_pages_;  // the flags: committed as slots are first published
  uint32_t* const available_;
  Sequence gating_cache_;  // shared by producers; its own cache lines
};

}  // namespace ringcast

#endif  // RINGCAST_CORE_MULTI_PRODUCER_SEQUENCER_H_
