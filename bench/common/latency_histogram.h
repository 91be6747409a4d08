// LatencyHistogram: latencies in nanoseconds in log-linear buckets, HdrHistogram's layout, shared
// by every benchmark (the core's round trips, the end-to-end and NATS peers' latencies).
//
// Values below 2^kSubBits are counted exactly; above, each power-of-two range is split into
// 2^(kSubBits-1) equal buckets, so a percentile is reported within 1/128 (0.8%) of itself, from
// 1 ns to centuries, in fixed memory allocated once. Record is a few instructions and never
// allocates, so it can sit inside a round-trip loop; percentiles walk the buckets.
//
// Thread safety: none; one thread records into each histogram, and per-thread histograms are
// merged with Add once their threads are done.
#ifndef RINGCAST_BENCH_COMMON_LATENCY_HISTOGRAM_H_
#define RINGCAST_BENCH_COMMON_LATENCY_HISTOGRAM_H_

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

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
  static constexpr int kSubBits = 8;

  LatencyHistogram() : counts_(kBuckets, 0) {}

  void Record(int64_t ns) noexcept {
    const auto value = static_cast<uint64_t>(std::max<int64_t>(ns, 0));
    ++counts_[IndexOf(value)];
    ++count_;
    sum_ += value;
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }

  // Adds what `other` recorded.
  void Add(const LatencyHistogram& other) noexcept {
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    sum_ += other.sum_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }

  [[nodiscard]] int64_t count() const noexcept { return static_cast<int64_t>(count_); }
  [[nodiscard]] int64_t max() const noexcept { return static_cast<int64_t>(max_); }

  // The smallest bucket bound at or above the `quantile` (0..1) of the recorded values (the
  // nearest rank, ceil(quantile * count)); 0 when empty.
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
  static constexpr uint64_t kExact = uint64_t{1} << kSubBits;  // values counted exactly
  static constexpr uint64_t kPerOctave = uint64_t{1} << (kSubBits - 1);
  // Octaves above the exact range: up to a value of 2^63.
  static constexpr std::size_t kBuckets = kExact + (63 - kSubBits + 1) * kPerOctave;

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

  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = std::numeric_limits<uint64_t>::max();
  uint64_t max_ = 0;
};

}  // namespace ringcast::bench

#endif  // RINGCAST_BENCH_COMMON_LATENCY_HISTOGRAM_H_
