// GatingSequences: the consumers' sequences a producer must not lap, changeable while events flow.
//
// Thread safety: Minimum may be called from any number of producer threads concurrently with Add
// and Remove; it never blocks and never allocates. Add and Remove serialize among themselves.
// After Remove returns, no Minimum call still reads the removed sequence, so its owner may free it.
//
// Memory ordering: slots, the epoch and the reader counts are accessed seq_cst. A reader bumps the
// count of the current epoch, checks that the epoch is still the same (else it retries), and only
// then reads slots; Remove clears the slot, flips the epoch and waits for the old epoch's count to
// drain. A reader that can still see the cleared pointer registered, and re-read the epoch, before
// the clearing store and the flip (all in the single seq_cst order), so it counts in the epoch
// Remove waits on; readers that arrive after the flip use the other count and cannot starve it.
#ifndef RINGCAST_CORE_GATING_SEQUENCES_H_
#define RINGCAST_CORE_GATING_SEQUENCES_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "ringcast/core/sequence.h"

namespace ringcast {

class GatingSequences {
 public:
  static constexpr std::size_t kDefaultMaxSequences = 64;

  explicit GatingSequences(std::size_t max_sequences = kDefaultMaxSequences)
      : max_(max_sequences), slots_(new std::atomic<const Sequence*>[max_sequences]) {
    for (std::size_t i = 0; i < max_; ++i) slots_[i].store(nullptr, std::memory_order_relaxed);
  }

  GatingSequences(const GatingSequences&) = delete;
  GatingSequences& operator=(const GatingSequences&) = delete;

  // Adds `sequence`; false when all slots are taken. The caller sets the sequence's value first:
  // it must not be older than the slowest sequence already gating (events before that may have
  // been overwritten already).
  [[nodiscard]] bool Add(const Sequence& sequence) {
    std::lock_guard<std::mutex> lock(writer_mutex_);
    for (std::size_t i = 0; i < max_; ++i) {
      if (slots_[i].load(std::memory_order_relaxed) != nullptr) continue;
      slots_[i].store(&sequence, std::memory_order_seq_cst);
      if (i >= high_water_.load(std::memory_order_relaxed)) {
        // seq_cst: a reader that sees the new high water also sees the slot stored above.
        high_water_.store(i + 1, std::memory_order_seq_cst);
      }
      size_.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      return true;
    }
    return false;
  }

  // Removes `sequence`; false if it was not there. Returns once no reader can still see it.
  bool Remove(const Sequence& sequence) {
    std::lock_guard<std::mutex> lock(writer_mutex_);
    const std::size_t high = high_water_.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < high; ++i) {
      if (slots_[i].load(std::memory_order_relaxed) != &sequence) continue;
      slots_[i].store(nullptr, std::memory_order_seq_cst);
      size_.fetch_sub(1, std::memory_order_relaxed);
      // Flip first so new readers count elsewhere, then wait out the readers of the old epoch.
      const uint64_t old_epoch = epoch_.fetch_add(1, std::memory_order_seq_cst);
      const auto& old_readers = readers_[old_epoch & 1].count;
      while (old_readers.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();
      return true;
    }
    return false;
  }

  // The slowest gating sequence, or `floor` if that is smaller (or nothing gates).
  [[nodiscard]] int64_t Minimum(int64_t floor) const noexcept {
    int64_t minimum = floor;
    ForEach([&minimum](const Sequence& s) {
      const int64_t value = s.Get();
      if (value < minimum) minimum = value;
    });
    return minimum;
  }

  // Calls `visit(const Sequence&)` for each sequence added and not removed. Same guarantees as
  // Minimum: never blocks, and Remove waits until no visit can still reach the removed sequence.
  template <class F>
  void ForEach(F&& visit) const noexcept {
    // Register in the current epoch's count, and make sure the epoch did not flip in between: a
    // Remove that flipped before the increment waits on the other count and would not see us.
    std::atomic<uint64_t>* readers;
    for (;;) {
      const uint64_t epoch = epoch_.load(std::memory_order_seq_cst);
      readers = &readers_[epoch & 1].count;
      readers->fetch_add(1, std::memory_order_seq_cst);
      if (epoch_.load(std::memory_order_seq_cst) == epoch) break;
      readers->fetch_sub(1, std::memory_order_release);
    }
    const std::size_t high = high_water_.load(std::memory_order_seq_cst);
    for (std::size_t i = 0; i < high; ++i) {
      const Sequence* s = slots_[i].load(std::memory_order_seq_cst);
      if (s != nullptr) visit(*s);
    }
    // Release: our reads of the sequences happen before Remove sees the count drop.
    readers->fetch_sub(1, std::memory_order_release);
  }

  // False only if nothing was ever added: a cheap test before ForEach. Seq_cst; pairs with the
  // store in Add, as the load in ForEach does.
  [[nodiscard]] bool EverUsed() const noexcept {
    return high_water_.load(std::memory_order_seq_cst) != 0;
  }

  // Approximate while Add or Remove run concurrently.
  [[nodiscard]] std::size_t SizeGuess() const noexcept {
    return size_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::size_t max_sequences() const noexcept { return max_; }

 private:
  struct alignas(kCacheLineSize) ReaderCount {
    std::atomic<uint64_t> count{0};
  };

  const std::size_t max_;
  std::unique_ptr<std::atomic<const Sequence*>[]> slots_;
  std::atomic<std::size_t> high_water_{0};
  std::atomic<std::size_t> size_{0};
  alignas(kCacheLineSize) std::atomic<uint64_t> epoch_{0};
  mutable ReaderCount readers_[2];
  std::mutex writer_mutex_;
};

}  // namespace ringcast

#endif  // RINGCAST_CORE_GATING_SEQUENCES_H_
