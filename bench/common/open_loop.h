// OpenLoopSchedule: when each send of an open-loop latency run is due, and the wait for it.
//
// Send k is due at start + k / rate, whatever happened to the sends before it (so a stall shows as
// latency of the sends it delayed, not as a lower rate). A sleeping thread wakes tens of
// microseconds late on a busy VM, which the latency figure would count against the system under
// test, so the sender sleeps only until `spin` before a send is due and spins the rest; the spin
// is capped at half the period, so that at high rates the sender still leaves the CPU half the
// time. Header-only: ringcast-bench and ringcast-nats-bench pace their senders with it.
#ifndef RINGCAST_BENCH_COMMON_OPEN_LOOP_H_
#define RINGCAST_BENCH_COMMON_OPEN_LOOP_H_

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>

namespace ringcast::bench {

class OpenLoopSchedule {
 public:
  using Clock = std::chrono::steady_clock;

  // `rate` sends per second, the first 10 ms from now.
  OpenLoopSchedule(double rate, std::chrono::nanoseconds spin)
      : start_(Clock::now() + std::chrono::milliseconds(10)),
        period_nanos_(1e9 / rate),
        spin_(std::min(spin, std::chrono::nanoseconds(static_cast<int64_t>(period_nanos_ / 2)))) {}

  [[nodiscard]] Clock::time_point start() const { return start_; }
  [[nodiscard]] Clock::time_point Due(int64_t k) const {
    return start_ +
           std::chrono::nanoseconds(static_cast<int64_t>(period_nanos_ * static_cast<double>(k)));
  }
  // Send k's due time on the steady clock, in nanoseconds (what the sends carry).
  [[nodiscard]] int64_t DueNanos(int64_t k) const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Due(k).time_since_epoch()).count();
  }
  // Returns once send k is due.
  void WaitFor(int64_t k) const {
    const Clock::time_point due = Due(k);
    std::this_thread::sleep_until(due - spin_);
    while (Clock::now() < due) {
    }
  }

 private:
  const Clock::time_point start_;
  const double period_nanos_;
  const std::chrono::nanoseconds spin_;
};

}  // namespace ringcast::bench

#endif  // RINGCAST_BENCH_COMMON_OPEN_LOOP_H_
