// Sequence: a 64-bit counter that one thread advances and others read, alone on its cache lines.
//
// Thread safety: every method may be called from any thread. By convention a sequence has one
// writer (a producer's cursor, a consumer's progress); CompareAndSet and AddAndGet exist for the
// multi-producer cursor, where several threads claim.
//
// Memory ordering: Set is a release store and Get an acquire load, so everything the writer did
// to the slots before Set(n) is visible to a reader whose Get() returned n or more. This is the
// only ordering the disruptor relies on between a stage and the stages that wait on it.
#ifndef RINGCAST_CORE_SEQUENCE_H_
#define RINGCAST_CORE_SEQUENCE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>

namespace ringcast {

// 128 rather than 64: Intel's adjacent-line prefetcher pulls cache lines in pairs, so two hot
// fields 64 bytes apart still interfere.
inline constexpr std::size_t kCacheLineSize = 128;

// The value of a sequence before anything was claimed or processed; the first event is 0.
inline constexpr int64_t kInitialSequence = -1;

class alignas(kCacheLineSize) Sequence {
 public:
  explicit Sequence(int64_t initial = kInitialSequence) noexcept : value_(initial) {}

  Sequence(const Sequence&) = delete;
  Sequence& operator=(const Sequence&) = delete;

  // Acquire; pairs with the release in Set (and the RMWs below).
  [[nodiscard]] int64_t Get() const noexcept { return value_.load(std::memory_order_acquire); }

  // For the owning thread reading back its own value: it wrote it, so no ordering is needed.
  [[nodiscard]] int64_t GetRelaxed() const noexcept {
    return value_.load(std::memory_order_relaxed);
  }

  // Release; pairs with the acquire in Get.
  void Set(int64_t value) noexcept { value_.store(value, std::memory_order_release); }

  // Acq_rel: a successful claim both publishes our intent and observes the previous claimer's.
  [[nodiscard]] bool CompareAndSet(int64_t expected, int64_t desired) noexcept {
    return value_.compare_exchange_strong(expected, desired, std::memory_order_acq_rel,
                                          std::memory_order_acquire);
  }

  // Acq_rel for the same reason as CompareAndSet. Returns the new value.
  int64_t AddAndGet(int64_t delta) noexcept {
    return value_.fetch_add(delta, std::memory_order_acq_rel) + delta;
  }

 private:
  std::atomic<int64_t> value_;
};

static_assert(alignof(Sequence) == kCacheLineSize, "a Sequence must start its own cache line pair");
static_assert(sizeof(Sequence) == kCacheLineSize, "a Sequence must own its cache line pair alone");
static_assert(std::atomic<int64_t>::is_always_lock_free);

// The smallest value among `sequences` and `floor`. Each element is read with acquire.
[[nodiscard]] inline int64_t MinimumSequence(
    std::span<const Sequence* const> sequences,
    int64_t floor = std::numeric_limits<int64_t>::max()) noexcept {
  int64_t minimum = floor;
  for (const Sequence* s : sequences) {
    const int64_t value = s->Get();
    if (value < minimum) minimum = value;
  }
  return minimum;
}

}  // namespace ringcast

#endif  // RINGCAST_CORE_SEQUENCE_H_
