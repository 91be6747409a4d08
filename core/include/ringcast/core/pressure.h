// Pressure signals: how full a ring is from one reader's point of view, and two thresholds that
// turn that figure into decisions a producer can act on.
//
//   ratio = lag / capacity, from 0 (the reader has consumed everything) to 1 (producers wait).
//   IsUnderPressure: ratio >= under_pressure (default 0.5): time to shed optional work.
//   ShouldThrottle:  ratio >= throttle (default 0.8): slow the producers down before they block.
//
// The figures are snapshots of sequences other threads move: approximate, never stale by more
// than the time it took to read them. Thread safety: all functions are pure.
#ifndef RINGCAST_CORE_PRESSURE_H_
#define RINGCAST_CORE_PRESSURE_H_

#include <cstdint>

namespace ringcast {

struct PressureThresholds {
  double under_pressure = 0.5;
  double throttle = 0.8;
};

// lag / capacity, clamped to [0, 1]. Requires: capacity > 0.
[[nodiscard]] constexpr double PressureRatio(int64_t lag, int64_t capacity) noexcept {
  if (lag <= 0) return 0.0;
  if (lag >= capacity) return 1.0;
  return static_cast<double>(lag) / static_cast<double>(capacity);
}

[[nodiscard]] constexpr bool IsUnderPressure(double ratio,
                                             const PressureThresholds& thresholds) noexcept {
  return ratio >= thresholds.under_pressure;
}

[[nodiscard]] constexpr bool ShouldThrottle(double ratio,
                                            const PressureThresholds& thresholds) noexcept {
  return ratio >= thresholds.throttle;
}

}  // namespace ringcast

#endif  // RINGCAST_CORE_PRESSURE_H_
