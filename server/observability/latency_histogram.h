// LatencyHistogram: a lock-free latency histogram for the hot path, read at scrape time.
//
// Observations land in one of kShards cache-line-aligned bucket arrays, chosen by the observing
// thread (each thread keeps the shard it was given on first use), so threads that observe at once
// do not share cache lines. One observation is a bucket search and two relaxed atomic adds, and
// carries a count: a response of 300 events accepted at the same instant is one observation of
// weight 300, so callers fold per batch, never per event. Read() sums the shards.
//
// Buckets (upper bounds, `le`): 1, 2.5 and 5 per decade from 1 µs to 10 s, then +Inf.
//
// Thread safety: Observe and Read from any thread. A Read concurrent with observations sees each
// bucket either before or after each observation; its count is the sum of the buckets it read, so
// count and the +Inf bucket always agree. The sum may trail the buckets by observations in flight.
#ifndef RINGCAST_SERVER_OBSERVABILITY_LATENCY_HISTOGRAM_H_
#define RINGCAST_SERVER_OBSERVABILITY_LATENCY_HISTOGRAM_H_

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace ringcast::server {

// Nanoseconds on the monotonic clock: the time base of every latency the server measures.
inline int64_t MonotonicNanos() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class LatencyHistogram {
 public:
  // Finite upper bounds in nanoseconds, ascending.
  static constexpr std::array<int64_t, 22> kBoundsNanos = {
      1'000,         2'500,         5'000,         10'000,        25'000,      50'000,
      100'000,       250'000,       500'000,       1'000'000,     2'500'000,   5'000'000,
      10'000'000,    25'000'000,    50'000'000,    100'000'000,   250'000'000, 500'000'000,
      1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000};
  // The finite buckets and +Inf.
  static constexpr std::size_t kBuckets = kBoundsNanos.size() + 1;
  static constexpr std::size_t kShards = 16;

  struct Snapshot {
    std::array<uint64_t, kBuckets> buckets{};  // per bucket, not cumulative; last is +Inf
    uint64_t count = 0;                        // the sum of `buckets`
    double sum_seconds = 0;
  };

  // The bucket a latency of `nanos` falls in: the first whose bound is >= nanos.
  static constexpr std::size_t BucketFor(int64_t nanos) noexcept {
    return static_cast<std::size_t>(
        std::lower_bound(kBoundsNanos.begin(), kBoundsNanos.end(), nanos) - kBoundsNanos.begin());
  }

  // Records `count` observations of `nanos` each (negative latencies count as 0).
  void Observe(int64_t nanos, uint64_t count = 1) noexcept {
    nanos = std::max<int64_t>(nanos, 0);
    Shard& shard = shards_[ThisThreadShard()];
    shard.buckets[BucketFor(nanos)].fetch_add(count, std::memory_order_relaxed);
    shard.sum_seconds.fetch_add(static_cast<double>(nanos) * 1e-9 * static_cast<double>(count),
                                std::memory_order_relaxed);
  }

  [[nodiscard]] Snapshot Read() const noexcept {
    Snapshot snapshot;
    for (const Shard& shard : shards_) {
      for (std::size_t b = 0; b < kBuckets; ++b) {
        snapshot.buckets[b] += shard.buckets[b].load(std::memory_order_relaxed);
      }
      snapshot.sum_seconds += shard.sum_seconds.load(std::memory_order_relaxed);
    }
    for (const uint64_t n : snapshot.buckets) snapshot.count += n;
    return snapshot;
  }

 private:
  struct alignas(64) Shard {
    std::array<std::atomic<uint64_t>, kBuckets> buckets{};
    std::atomic<double> sum_seconds{0};
  };

  static std::size_t ThisThreadShard() noexcept {
    static std::atomic<std::size_t> next{0};
    thread_local const std::size_t shard = next.fetch_add(1, std::memory_order_relaxed) % kShards;
    return shard;
  }

  std::array<Shard, kShards> shards_{};
};

// Events accepted into a ring at one instant (one publish batch): the unit of a delivery-latency
// observation.
struct LatencySpan {
  int64_t accepted_nanos = 0;  // MonotonicNanos() when the batch was published
  uint32_t events = 0;
};

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_OBSERVABILITY_LATENCY_HISTOGRAM_H_
