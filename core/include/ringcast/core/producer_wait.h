// Producer wait policies: what a producer does while a blocking claim (Next) finds the ring full.
//
// The policy is a template parameter of the sequencer. TryNext never waits and ignores it.
// `Idle(iteration)` is called once per failed attempt, iteration counting from 0; a policy
// instance is used by one producer thread at a time (the sequencer copies it per call).
#ifndef RINGCAST_CORE_PRODUCER_WAIT_H_
#define RINGCAST_CORE_PRODUCER_WAIT_H_

#include <chrono>
#include <concepts>
#include <cstdint>
#include <thread>

#include "ringcast/core/wait_strategy.h"

namespace ringcast {

template <class P>
concept ProducerWaitPolicy = std::default_initializable<P> && requires(P& p, uint32_t iteration) {
  { p.Idle(iteration) }
  noexcept;
};

// Spins: lowest latency when consumers are about to free a slot; needs a core of its own.
struct SpinOnFull {
  void Idle(uint32_t) noexcept { CpuRelax(); }
};

// Spins a little, then yields the core: right when there are more threads than cores.
struct YieldOnFull {
  void Idle(uint32_t iteration) noexcept {
    if (iteration < 64) {
      CpuRelax();
    } else {
      std::this_thread::yield();
    }
  }
};

// Spins, yields, then sleeps with an exponentially growing interval capped at 1 ms: for rings
// that may stay full for long (a stalled consumer), where spinning would waste a core. The yield
// phase is long (about a millisecond of yields) because a consumer that is merely a little behind
// frees a slot within microseconds, and the shortest sleep costs tens of them.
struct BackoffOnFull {
  static constexpr uint32_t kSpins = 64;
  static constexpr uint32_t kYields = 1024;

  void Idle(uint32_t iteration) noexcept {
    if (iteration < kSpins) {
      CpuRelax();
    } else if (iteration < kSpins + kYields) {
      std::this_thread::yield();
    } else {
      const uint32_t step = iteration - kSpins - kYields;
      std::this_thread::sleep_for(std::chrono::microseconds(1u << (step < 10 ? step : 10)));
    }
  }
};

static_assert(ProducerWaitPolicy<SpinOnFull>);
static_assert(ProducerWaitPolicy<YieldOnFull>);
static_assert(ProducerWaitPolicy<BackoffOnFull>);

}  // namespace ringcast

#endif  // RINGCAST_CORE_PRODUCER_WAIT_H_
