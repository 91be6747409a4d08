// Wait strategies: how a consumer waits for a sequence to become available.
//
// A strategy is a template parameter of the sequencer (so the producer's Publish can wake blocked
// consumers) and is shared by every barrier of that sequencer. It is chosen once, at the edge.
//
//   BusySpin        lowest latency; burns a core per waiting consumer. Only with a core to spare.
//   Yielding        spins briefly, then yields the core; near BusySpin latency, shares cores.
//   Sleeping        spins, yields, then sleeps a fixed interval; light on CPU, coarse latency.
//   Blocking        parks on a condition variable; an idle consumer uses no CPU.
//   TimeoutBlocking Blocking that gives up after a timeout, so the processor can call OnTimeout.
//   PhasedBackoff   spins for a while, then yields for a while, then blocks.
//
// Blocking strategies block on a slower upstream stage too, not only on the producer: every
// processor signals the strategy after it advances its sequence. Signalling is a fence and a load
// when nobody waits; it takes the mutex only when a waiter announced itself.
//
// Thread safety: WaitFor may be called concurrently from every consumer; SignalAllWhenBlocking
// from every producer and consumer.
#ifndef RINGCAST_CORE_WAIT_STRATEGY_H_
#define RINGCAST_CORE_WAIT_STRATEGY_H_

#include <atomic>
#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "ringcast/core/sequence.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace ringcast {

// Tells the CPU we are in a spin loop (PAUSE on x86): saves power and the sibling hyperthread.
inline void CpuRelax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

enum class WaitStatus : uint8_t {
  kAvailable,  // `available` is the highest sequence the dependencies have reached
  kAlerted,    // the barrier was alerted (the processor is being halted)
  kTimedOut,   // TimeoutBlocking gave up; `available` is what was reached, maybe < the request
};

struct WaitResult {
  int64_t available;
  WaitStatus status;
};

// What a consumer must not overtake: the producer cursor for a first stage, otherwise the slowest
// of its upstream stages. Immutable after construction.
class DependentSequences {
 public:
  DependentSequences(const Sequence& cursor, std::vector<const Sequence*> upstream)
      : cursor_(&cursor), upstream_(std::move(upstream)) {}

  // Acquire loads (Sequence::Get): the events up to the result are fully written.
  [[nodiscard]] int64_t Get() const noexcept {
    return upstream_.empty() ? cursor_->Get() : MinimumSequence(upstream_);
  }
  // What wait strategies ask: the highest sequence readable by a consumer whose next event is
  // `from`. Here that is Get(); SequenceBarrier substitutes a view that also skips slots a
  // multi-producer sequencer has claimed but not yet published.
  [[nodiscard]] int64_t Available(int64_t /*from*/) const noexcept { return Get(); }
  [[nodiscard]] const Sequence& cursor() const noexcept { return *cursor_; }
  [[nodiscard]] const std::vector<const Sequence*>& upstream() const noexcept { return upstream_; }

 private:
  const Sequence* cursor_;
  std::vector<const Sequence*> upstream_;
};

// What a wait strategy waits on: `Available(from)` is the highest sequence a consumer whose next
// event is `from` may read; the strategy waits until it reaches `from`. DependentSequences is one;
// SequenceBarrier passes its own view.
template <class D>
concept Dependents = requires(const D& d, int64_t from) {
  { d.Available(from) } -> std::same_as<int64_t>;
};

// WaitFor is a member template over Dependents; the concept checks it with DependentSequences.
template <class W>
concept WaitStrategy = requires(W& w, int64_t sequence, const DependentSequences& dependents,
                                const std::atomic<bool>& alerted) {
  { w.WaitFor(sequence, dependents, alerted) } -> std::same_as<WaitResult>;
  { w.SignalAllWhenBlocking() }
  noexcept;
};

namespace internal {

// Acquire; pairs with the release store in SequenceBarrier::Alert.
inline bool IsAlerted(const std::atomic<bool>& alerted) noexcept {
  return alerted.load(std::memory_order_acquire);
}

// The shared spin loop of the non-blocking strategies; `idle(iteration)` decides how to back off.
template <Dependents D, class Idle>
WaitResult SpinUntil(int64_t sequence, const D& dependents, const std::atomic<bool>& alerted,
                     Idle&& idle) {
  int64_t available;
  for (uint32_t iteration = 0; (available = dependents.Available(sequence)) < sequence;
       ++iteration) {
    if (IsAlerted(alerted)) return {available, WaitStatus::kAlerted};
    idle(iteration);
  }
  return {available, WaitStatus::kAvailable};
}

}  // namespace internal

class BusySpin {
 public:
  template <Dependents D>
  WaitResult WaitFor(int64_t sequence, const D& dependents,
                     const std::atomic<bool>& alerted) noexcept {
    return internal::SpinUntil(sequence, dependents, alerted, [](uint32_t) { CpuRelax(); });
  }
  void SignalAllWhenBlocking() noexcept {}
};

class Yielding {
 public:
  static constexpr uint32_t kSpinTries = 100;

  template <Dependents D>
  WaitResult WaitFor(int64_t sequence, const D& dependents,
                     const std::atomic<bool>& alerted) noexcept {
    return internal::SpinUntil(sequence, dependents, alerted, [](uint32_t iteration) {
      if (iteration < kSpinTries) {
        CpuRelax();
      } else {
        std::this_thread::yield();
      }
    });
  }
  void SignalAllWhenBlocking() noexcept {}
};

class Sleeping {
 public:
  static constexpr uint32_t kSpinTries = 100;
  static constexpr uint32_t kYieldTries = 100;

  explicit Sleeping(std::chrono::nanoseconds sleep = std::chrono::microseconds(100))
      : sleep_(sleep) {}

  template <Dependents D>
  WaitResult WaitFor(int64_t sequence, const D& dependents,
                     const std::atomic<bool>& alerted) noexcept {
    return internal::SpinUntil(sequence, dependents, alerted, [this](uint32_t iteration) {
      if (iteration < kSpinTries) {
        CpuRelax();
      } else if (iteration < kSpinTries + kYieldTries) {
        std::this_thread::yield();
      } else {
        std::this_thread::sleep_for(sleep_);
      }
    });
  }
  void SignalAllWhenBlocking() noexcept {}

 private:
  std::chrono::nanoseconds sleep_;
};

// Parks waiters on a condition variable. Memory ordering: a waiter announces itself
// (`waiters_` increment, then a seq_cst fence) before it reads the sequences; a signaller
// publishes its sequence (release store), then a seq_cst fence, then reads `waiters_`. The two
// fences are ordered one way or the other, so either the waiter sees the new sequence or the
// signaller sees the waiter and notifies under the mutex. No wake-up is lost.
class Blocking {
 public:
  Blocking() = default;
  // Strategies are handed to the sequencer by value; a moved Blocking starts fresh, which is
  // right because nobody can be waiting on one that is still being passed around.
  Blocking(Blocking&&) noexcept {}
  Blocking& operator=(Blocking&&) = delete;

  template <Dependents D>
  WaitResult WaitFor(int64_t sequence, const D& dependents, const std::atomic<bool>& alerted) {
    return WaitUntil(sequence, dependents, alerted, std::chrono::steady_clock::time_point::max());
  }

  void SignalAllWhenBlocking() noexcept {
    // seq_cst fence; pairs with the fence in WaitUntil after the waiter count goes up.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    // Relaxed: the fence above orders it after the caller's sequence store.
    if (waiters_.load(std::memory_order_relaxed) != 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      condition_.notify_all();
    }
  }

 protected:
  // Waits until the dependents reach `sequence`, the barrier is alerted, or `deadline` passes.
  template <Dependents D>
  WaitResult WaitUntil(int64_t sequence, const D& dependents, const std::atomic<bool>& alerted,
                       std::chrono::steady_clock::time_point deadline) {
    int64_t available = dependents.Available(sequence);
    if (available >= sequence) return {available, WaitStatus::kAvailable};
    // Relaxed increment: the fence that follows gives it its place in the order.
    waiters_.fetch_add(1, std::memory_order_relaxed);
    // seq_cst fence; pairs with the fence in SignalAllWhenBlocking.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    WaitStatus status = WaitStatus::kAvailable;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      while ((available = dependents.Available(sequence)) < sequence) {
        if (internal::IsAlerted(alerted)) {
          status = WaitStatus::kAlerted;
          break;
        }
        if (deadline == std::chrono::steady_clock::time_point::max()) {
          condition_.wait(lock);
        } else if (condition_.wait_until(lock, deadline) == std::cv_status::timeout) {
          available = dependents.Available(sequence);
          if (available < sequence) status = WaitStatus::kTimedOut;
          break;
        }
      }
    }
    // Relaxed: only ever compared with zero, after a fence, by signallers.
    waiters_.fetch_sub(1, std::memory_order_relaxed);
    return {available, status};
  }

 private:
  std::mutex mutex_;
  std::condition_variable condition_;
  std::atomic<int32_t> waiters_{0};
};

// Blocking that returns WaitStatus::kTimedOut after `timeout`, so the processor calls its
// handler's OnTimeout (for housekeeping such as flushing a partial batch).
class TimeoutBlocking : public Blocking {
 public:
  explicit TimeoutBlocking(std::chrono::nanoseconds timeout) : timeout_(timeout) {}

  template <Dependents D>
  WaitResult WaitFor(int64_t sequence, const D& dependents, const std::atomic<bool>& alerted) {
    return WaitUntil(sequence, dependents, alerted, std::chrono::steady_clock::now() + timeout_);
  }

 private:
  std::chrono::nanoseconds timeout_;
};

// Spins until `spin` has passed, then yields until `spin + yield` has passed, then hands over to
// the `Fallback` strategy (Blocking by default, so an idle consumer costs nothing).
template <WaitStrategy Fallback = Blocking>
class PhasedBackoff {
 public:
  PhasedBackoff(std::chrono::nanoseconds spin = std::chrono::microseconds(10),
                std::chrono::nanoseconds yield = std::chrono::microseconds(100),
                Fallback fallback = Fallback())
      : spin_(spin), yield_(yield), fallback_(std::move(fallback)) {}

  template <Dependents D>
  WaitResult WaitFor(int64_t sequence, const D& dependents, const std::atomic<bool>& alerted) {
    constexpr uint32_t kClockEvery = 64;  // reading the clock costs more than a spin
    const auto start = std::chrono::steady_clock::now();
    for (uint32_t iteration = 0;; ++iteration) {
      const int64_t available = dependents.Available(sequence);
      if (available >= sequence) return {available, WaitStatus::kAvailable};
      if (internal::IsAlerted(alerted)) return {available, WaitStatus::kAlerted};
      if (iteration % kClockEvery != kClockEvery - 1) {
        CpuRelax();
        continue;
      }
      const auto elapsed = std::chrono::steady_clock::now() - start;
      if (elapsed > spin_ + yield_) return fallback_.WaitFor(sequence, dependents, alerted);
      if (elapsed > spin_) std::this_thread::yield();
    }
  }

  void SignalAllWhenBlocking() noexcept { fallback_.SignalAllWhenBlocking(); }

 private:
  std::chrono::nanoseconds spin_;
  std::chrono::nanoseconds yield_;
  Fallback fallback_;
};

static_assert(WaitStrategy<BusySpin>);
static_assert(WaitStrategy<Yielding>);
static_assert(WaitStrategy<Sleeping>);
static_assert(WaitStrategy<Blocking>);
static_assert(WaitStrategy<TimeoutBlocking>);
static_assert(WaitStrategy<PhasedBackoff<>>);

}  // namespace ringcast

#endif  // RINGCAST_CORE_WAIT_STRATEGY_H_
