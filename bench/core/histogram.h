// LatencyHistogram: nanosecond latencies in log-linear buckets, HdrHistogram's layout.
//
// Values below 2^kSubBits are counted exactly; above that every power-of-two range is split into
// 2^(kSubBits-1) equal buckets, so a percentile is off by less than 1/32 (3%) of its value. Record
// is a few instructions and never allocates, so it can sit inside a round-trip loop.
//
// Thread safety: none; one thread records, then anyone reads.
#ifndef RINGCAST_BENCH_CORE_HISTOGRAM_H_
#define RINGCAST_BENCH_CORE_HISTOGRAM_H_

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace ringcast::bench {

struct LatencySummary {
  int64_t count = 0;
  double mean_ns = 0;
  int64_t min_ns = 0;
  int64_t p50_ns = 0;
  int64_t p99_ns = 0;
  int64_t p999_ns = 0;
  int64_t max_ns = 0;
};

class LatencyHistogram {
 public:
  static constexpr int kSubBits = 6;
  static constexpr int kMaxBits = 40;  // 2^40 ns is 18 minutes: larger values are clamped

  void Record(int64_t ns) noexcept {
    const uint64_t value =
        std::min<uint64_t>(static_cast<uint64_t>(std::max<int64_t>(ns, 0)), kMaxValue);
    ++counts_[IndexOf(value)];
    ++count_;
    sum_ += value;
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }

  // The smallest bucket bound at or above the `quantile` (0..1) of the recorded values.
  [[nodiscard]] int64_t Percentile(double quantile) const noexcept {
    if (count_ == 0) return 0;
    const auto rank = std::max<uint64_t>(
        1, static_cast<uint64_t>(std::ceil(quantile * static_cast<double>(count_))));
    uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      // Never report past the largest value actually seen.
      if (seen >= rank) return static_cast<int64_t>(std::min(UpperBoundOf(i), max_));
    }
    return static_cast<int64_t>(max_);
  }

  [[nodiscard]] LatencySummary Summarize() const noexcept {
    LatencySummary s;
    s.count = static_cast<int64_t>(count_);
    if (count_ == 0) return s;
    s.mean_ns = static_cast<double>(sum_) / static_cast<double>(count_);
    s.min_ns = static_cast<int64_t>(min_);
    s.p50_ns = Percentile(0.50);
    s.p99_ns = Percentile(0.99);
    s.p999_ns = Percentile(0.999);
    s.max_ns = static_cast<int64_t>(max_);
    return s;
  }

 private:
  static constexpr uint64_t kMaxValue = (uint64_t{1} << kMaxBits) - 1;
  static constexpr uint64_t kExact = uint64_t{1} << kSubBits;  // values counted exactly
  static constexpr uint64_t kPerOctave = uint64_t{1} << (kSubBits - 1);
  static constexpr std::size_t kBuckets = kExact + (kMaxBits - kSubBits) * kPerOctave;

  static std::size_t IndexOf(uint64_t value) noexcept {
    if (value < kExact) return static_cast<std::size_t>(value);
    const int shift = std::bit_width(value) - kSubBits;  // >= 1
    const uint64_t top = value >> shift;                 // in [kPerOctave, kExact)
    return static_cast<std::size_t>(kExact + static_cast<uint64_t>(shift - 1) * kPerOctave +
                                    (top - kPerOctave));
  }

  static uint64_t UpperBoundOf(std::size_t index) noexcept {
    if (index < kExact) return index;
    const uint64_t offset = index - kExact;
    const int shift = static_cast<int>(offset / kPerOctave) + 1;
    const uint64_t top = offset % kPerOctave + kPerOctave;
    return ((top + 1) << shift) - 1;
  }

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = std::numeric_limits<uint64_t>::max();
  uint64_t max_ = 0;
};

}  // namespace ringcast::bench

#endif  // RINGCAST_BENCH_CORE_HISTOGRAM_H_
