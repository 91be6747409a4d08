// LatencyRecorder: an HDR-style histogram of latencies in nanoseconds. Values below 256 ns are
// exact; above, they are grouped by their highest set bit, each such range split into 128 equal
// sub-buckets, so every value is reported within 1/128 (0.8%) of itself, from 1 ns to hours, in
// fixed memory. Recording is a few instructions; percentiles walk the buckets.
//
// Thread safety: none; merge per-thread recorders with Add.
#ifndef RINGCAST_BENCH_LOAD_LATENCY_RECORDER_H_
#define RINGCAST_BENCH_LOAD_LATENCY_RECORDER_H_

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <vector>

namespace ringcast::bench {

class LatencyRecorder {
 public:
  static constexpr int kSubBucketBits = 8;
  static constexpr int64_t kSubBuckets = int64_t{1} << kSubBucketBits;

  LatencyRecorder() : counts_(static_cast<std::size_t>(64 * kSubBuckets), 0) {}

  void Record(int64_t nanos) {
    nanos = std::max<int64_t>(nanos, 0);
    ++counts_[Index(static_cast<uint64_t>(nanos))];
    ++count_;
    max_ = std::max(max_, nanos);
  }

  void Add(const LatencyRecorder& other) {
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    max_ = std::max(max_, other.max_);
  }

  [[nodiscard]] int64_t count() const { return count_; }
  [[nodiscard]] int64_t max() const { return max_; }

  // The smallest recorded value v (to bucket precision) such that a fraction `q` of the values are
  // <= v. 0 when empty.
  [[nodiscard]] int64_t Percentile(double q) const {
    if (count_ == 0) return 0;
    const auto rank = static_cast<int64_t>(q * static_cast<double>(count_) + 0.5);
    int64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= std::max<int64_t>(rank, 1)) return std::min(UpperEdge(i), max_);
    }
    return max_;
  }

 private:
  // Values below kSubBuckets map one to one; above, by magnitude and the next 8 bits.
  static std::size_t Index(uint64_t v) {
    if (v < static_cast<uint64_t>(kSubBuckets)) return static_cast<std::size_t>(v);
    const int magnitude = std::bit_width(v) - kSubBucketBits;  // >= 1
    const uint64_t sub = v >> magnitude;                       // in [128, 256)
    return static_cast<std::size_t>(magnitude * kSubBuckets + static_cast<int64_t>(sub));
  }
  static int64_t UpperEdge(std::size_t index) {
    const auto i = static_cast<int64_t>(index);
    if (i < kSubBuckets) return i;
    const int64_t magnitude = i / kSubBuckets;
    const int64_t sub = i % kSubBuckets;
    return ((sub + 1) << magnitude) - 1;
  }

  std::vector<int64_t> counts_;
  int64_t count_ = 0;
  int64_t max_ = 0;
};

}  // namespace ringcast::bench

#endif  // RINGCAST_BENCH_LOAD_LATENCY_RECORDER_H_
