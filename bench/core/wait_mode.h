// How waiting threads behave, chosen once by --wait and turned into types here.
//
// Every implementation in a run waits the same way: ringcast's consumers use the matching wait
// strategy and its producers the matching producer wait policy; the peer queues, which have no
// wait strategy of their own, get the same spin/yield/park behaviour from peer_wait.h.
#ifndef RINGCAST_BENCH_CORE_WAIT_MODE_H_
#define RINGCAST_BENCH_CORE_WAIT_MODE_H_

#include <optional>
#include <string_view>

#include "ringcast/core/producer_wait.h"
#include "ringcast/core/wait_strategy.h"

namespace ringcast::bench {

enum class WaitMode { kBusySpin, kYielding, kBlocking, kPhased };

inline constexpr WaitMode kAllWaitModes[] = {WaitMode::kBusySpin, WaitMode::kYielding,
                                             WaitMode::kBlocking, WaitMode::kPhased};

constexpr std::string_view WaitModeName(WaitMode mode) {
  switch (mode) {
    case WaitMode::kBusySpin:
      return "busy_spin";
    case WaitMode::kYielding:
      return "yielding";
    case WaitMode::kBlocking:
      return "blocking";
    case WaitMode::kPhased:
      return "phased";
  }
  return "?";
}

inline std::optional<WaitMode> ParseWaitMode(std::string_view name) {
  for (WaitMode mode : kAllWaitModes) {
    if (WaitModeName(mode) == name) return mode;
  }
  return std::nullopt;
}

// The types of one wait mode. `Strategy` and `ProducerWait` are ringcast's; peers read kMode.
struct BusySpinMode {
  static constexpr WaitMode kMode = WaitMode::kBusySpin;
  using Strategy = BusySpin;
  using ProducerWait = SpinOnFull;
};
struct YieldingMode {
  static constexpr WaitMode kMode = WaitMode::kYielding;
  using Strategy = Yielding;
  using ProducerWait = YieldOnFull;
};
struct BlockingMode {
  static constexpr WaitMode kMode = WaitMode::kBlocking;
  using Strategy = Blocking;
  using ProducerWait = BackoffOnFull;
};
struct PhasedMode {
  static constexpr WaitMode kMode = WaitMode::kPhased;
  using Strategy = PhasedBackoff<Blocking>;
  using ProducerWait = BackoffOnFull;
};

// Calls `f(Mode{})` with the mode type for `mode`: the one runtime-to-type switch per run.
template <class F>
decltype(auto) WithWaitMode(WaitMode mode, F&& f) {
  switch (mode) {
    case WaitMode::kBusySpin:
      return f(BusySpinMode{});
    case WaitMode::kYielding:
      return f(YieldingMode{});
    case WaitMode::kBlocking:
      return f(BlockingMode{});
    case WaitMode::kPhased:
      break;
  }
  return f(PhasedMode{});
}

}  // namespace ringcast::bench

#endif  // RINGCAST_BENCH_CORE_WAIT_MODE_H_
