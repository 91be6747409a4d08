// Waiting for the peer queues, which have no wait strategy of their own.
//
// A consumer polls its queue and, between empty polls, idles as the run's wait mode says, with
// the same constants as ringcast's strategies (wait_strategy.h) so that the comparison measures
// the queues, not the waiting:
//
//   busy_spin  PAUSE between polls.
//   yielding   100 PAUSEs, then yield between polls.
//   blocking   park on an EventCount that the queue's producers signal.
//   phased     spin for 10 us, yield until 110 us, then park.
//
// A producer that finds its queue full idles through the mode's ProducerWait policy, exactly as a
// ringcast producer does in Next().
#ifndef RINGCAST_BENCH_CORE_PEER_WAIT_H_
#define RINGCAST_BENCH_CORE_PEER_WAIT_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>

#include "bench/core/wait_mode.h"
#include "ringcast/core/sequence.h"
#include "ringcast/core/wait_strategy.h"

namespace ringcast::bench {

// Parks consumers until a producer signals, with the protocol of ringcast::Blocking so that
// "blocking" costs peers what it costs ringcast: a producer pays a fence and a load per signal
// and takes the mutex only while someone sleeps.
//
// Thread safety: every method from any thread.
//
// Memory ordering: a waiter bumps `waiters_`, issues a seq_cst fence, reads the key, then polls the
// queue once more; a signaller makes its item visible, issues a seq_cst fence, then reads
// `waiters_`. The fences are ordered one way or the other: either the waiter's poll sees the
// item, or the signaller sees the waiter and bumps the epoch under the mutex, which the waiter
// checks under the same mutex before sleeping. No wake-up is lost.
class alignas(kCacheLineSize) EventCount {
 public:
  // Announces a waiter. Poll once more, then call CancelWait (found work) or Wait(key).
  [[nodiscard]] uint64_t PrepareWait() noexcept {
    waiters_.fetch_add(1, std::memory_order_relaxed);     // relaxed: the fence below orders it
    std::atomic_thread_fence(std::memory_order_seq_cst);  // pairs with the fence in NotifyAll
    // Acquire; pairs with the release increment in NotifyAll: a key that already counts a
    // signal also sees the item that signal announced.
    return epoch_.load(std::memory_order_acquire);
  }

  void CancelWait() noexcept {
    waiters_.fetch_sub(1, std::memory_order_relaxed);  // relaxed: only compared with zero
  }

  // Sleeps until a NotifyAll after the PrepareWait that returned `key`.
  void Wait(uint64_t key) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      // Relaxed: the mutex orders it against the increment in NotifyAll.
      while (epoch_.load(std::memory_order_relaxed) == key) condition_.wait(lock);
    }
    waiters_.fetch_sub(1, std::memory_order_relaxed);
  }

  // Call after making an item visible to consumers.
  void NotifyAll() noexcept {
    std::atomic_thread_fence(std::memory_order_seq_cst);  // pairs with the fence in PrepareWait
    // Relaxed: the fence above orders it after the caller's publication.
    if (waiters_.load(std::memory_order_relaxed) == 0) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      epoch_.fetch_add(1, std::memory_order_release);  // pairs with the acquire in PrepareWait
    }
    condition_.notify_all();
  }

 private:
  std::atomic<int32_t> waiters_{0};
  std::atomic<uint64_t> epoch_{0};
  std::mutex mutex_;
  std::condition_variable condition_;
};

// Calls `poll()`, which returns how many events it handled, until it handles some; idles between
// polls as `Mode` says. `park()` must block until something may have arrived and then poll.
template <class Mode, class Poll, class Park>
std::size_t PollUntilSome(Poll&& poll, Park&& park) {
  if (const std::size_t n = poll(); n != 0) return n;
  if constexpr (Mode::kMode == WaitMode::kBusySpin) {
    for (;;) {
      CpuRelax();
      if (const std::size_t n = poll(); n != 0) return n;
    }
  } else if constexpr (Mode::kMode == WaitMode::kYielding) {
    for (uint32_t i = 0;; ++i) {
      if (i < Yielding::kSpinTries) {
        CpuRelax();
      } else {
        std::this_thread::yield();
      }
      if (const std::size_t n = poll(); n != 0) return n;
    }
  } else if constexpr (Mode::kMode == WaitMode::kBlocking) {
    return park();
  } else {
    // PhasedBackoff's default phases, and its habit of reading the clock every 64 polls.
    constexpr auto kSpin = std::chrono::microseconds(10);
    constexpr auto kYield = std::chrono::microseconds(100);
    constexpr uint32_t kClockEvery = 64;
    const auto start = std::chrono::steady_clock::now();
    for (uint32_t i = 0;; ++i) {
      if (i % kClockEvery != kClockEvery - 1) {
        CpuRelax();
      } else {
        const auto elapsed = std::chrono::steady_clock::now() - start;
        if (elapsed > kSpin + kYield) return park();
        if (elapsed > kSpin) std::this_thread::yield();
      }
      if (const std::size_t n = poll(); n != 0) return n;
    }
  }
}

// The park of PollUntilSome for queues signalled through an EventCount.
template <class Poll>
std::size_t ParkUntilSome(EventCount& parker, Poll&& poll) {
  for (;;) {
    const uint64_t key = parker.PrepareWait();
    if (const std::size_t n = poll(); n != 0) {
      parker.CancelWait();
      return n;
    }
    parker.Wait(key);
    if (const std::size_t n = poll(); n != 0) return n;
  }
}

}  // namespace ringcast::bench

#endif  // RINGCAST_BENCH_CORE_PEER_WAIT_H_
