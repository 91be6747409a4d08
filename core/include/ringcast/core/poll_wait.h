// How pull consumers (EventPoller, LossyReader) wait, with a deadline, for events to read.
//
// With a parking strategy (Blocking, TimeoutBlocking) the caller parks on the strategy's condition
// variable and is woken by the producers' Publish (and upstream stages' progress), which signal it
// already; the deadline bounds the park. Strategies that never park (BusySpin, Yielding, Sleeping,
// PhasedBackoff) are waited out by spinning briefly, then yielding, then sleeping 50 µs at a time.
//
// Thread safety: as the poller that calls it. Memory ordering: whatever `available(from)` reads
// (acquire loads of the cursor, upstream sequences and slot availability) is what the caller sees.
#ifndef RINGCAST_CORE_POLL_WAIT_H_
#define RINGCAST_CORE_POLL_WAIT_H_

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <type_traits>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ringcast/core/wait_strategy.h"

namespace ringcast::internal {

// Blocking keeps its deadline wait (WaitUntil) protected, for TimeoutBlocking. A member pointer
// taken through this derived class reaches it without widening Blocking's public interface.
struct BlockingAccess : Blocking {
  template <Dependents D>
  static WaitResult Park(Blocking& strategy, int64_t sequence, const D& dependents,
                         const std::atomic<bool>& alerted,
                         std::chrono::steady_clock::time_point deadline) {
    using Wait = WaitResult (Blocking::*)(int64_t, const D&, const std::atomic<bool>&,
                                          std::chrono::steady_clock::time_point);
    const Wait wait = &BlockingAccess::template WaitUntil<D>;
    return (strategy.*wait)(sequence, dependents, alerted, deadline);
  }
};

// A Dependents view over a callable, for the strategies' WaitFor.
template <class F>
struct FunctionDependents {
  const F& available;
  [[nodiscard]] int64_t Available(int64_t from) const noexcept { return available(from); }
};

// Waits until `available(from) >= from` or `timeout` passes; returns whether it held.
template <WaitStrategy W, class F>
bool WaitUntilAvailable(W& strategy, int64_t from, const F& available, absl::Duration timeout) {
  if (available(from) >= from) return true;
  if (timeout <= absl::ZeroDuration()) return false;
  const auto deadline = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(timeout);
  if constexpr (std::is_base_of_v<Blocking, W>) {
    const std::atomic<bool> never_alerted{false};
    const FunctionDependents<F> view{available};
    return BlockingAccess::Park(strategy, from, view, never_alerted, deadline).status ==
           WaitStatus::kAvailable;
  } else {
    constexpr uint32_t kSpins = 100;
    constexpr uint32_t kYields = 1000;
    for (uint32_t i = 0;; ++i) {
      if (available(from) >= from) return true;
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return false;
      if (i < kSpins) {
        CpuRelax();
      } else if (i < kSpins + kYields) {
        std::this_thread::yield();
      } else {
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
            deadline - now, std::chrono::microseconds(50)));
      }
    }
  }
}

}  // namespace ringcast::internal

#endif  // RINGCAST_CORE_POLL_WAIT_H_
