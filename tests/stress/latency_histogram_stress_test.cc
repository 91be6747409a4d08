// The server's LatencyHistogram (server/observability/latency_histogram.h): its buckets resolve 1
// µs to 10 s, and observations from many threads at once are neither lost nor torn while scrapes
// read concurrently. Std-only, so it runs under ThreadSanitizer with the core.
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "observability/latency_histogram.h"
#include "stress_scale.h"
#include "stress_support.h"

namespace ringcast::stress {
namespace {

using server::LatencyHistogram;

TEST(LatencyHistogramTest, BucketsAreUpperBoundsInclusiveFromOneMicrosecondToTenSeconds) {
  EXPECT_EQ(LatencyHistogram::BucketFor(0), 0u);
  EXPECT_EQ(LatencyHistogram::BucketFor(1'000), 0u);  // le="1e-06" includes exactly 1 µs
  EXPECT_EQ(LatencyHistogram::BucketFor(1'001), 1u);
  EXPECT_EQ(LatencyHistogram::BucketFor(2'500), 1u);
  EXPECT_EQ(LatencyHistogram::BucketFor(999'999), 9u);  // le="0.001"
  EXPECT_EQ(LatencyHistogram::BucketFor(1'000'000), 9u);
  EXPECT_EQ(LatencyHistogram::BucketFor(10'000'000'000), 21u);  // le="10"
  EXPECT_EQ(LatencyHistogram::BucketFor(10'000'000'001), 22u);  // +Inf
  EXPECT_EQ(LatencyHistogram::kBuckets, 23u);
  // Three bounds per decade: 1, 2.5, 5.
  for (std::size_t b = 0; b + 3 < LatencyHistogram::kBoundsNanos.size(); ++b) {
    EXPECT_EQ(LatencyHistogram::kBoundsNanos[b + 3], 10 * LatencyHistogram::kBoundsNanos[b]);
  }
}

TEST(LatencyHistogramTest, ObservationsCarryTheirWeightIntoCountBucketsAndSum) {
  LatencyHistogram histogram;
  histogram.Observe(3'000, 100);      // 3 µs x 100 -> le 5e-06
  histogram.Observe(2'000'000, 1);    // 2 ms -> le 0.0025
  histogram.Observe(-5, 2);           // a clock step backwards counts as 0
  histogram.Observe(20'000'000'000);  // 20 s -> +Inf
  const LatencyHistogram::Snapshot s = histogram.Read();
  EXPECT_EQ(s.count, 104u);
  EXPECT_EQ(s.buckets[LatencyHistogram::BucketFor(3'000)], 100u);
  EXPECT_EQ(s.buckets[LatencyHistogram::BucketFor(2'000'000)], 1u);
  EXPECT_EQ(s.buckets[0], 2u);
  EXPECT_EQ(s.buckets[LatencyHistogram::kBuckets - 1], 1u);
  EXPECT_NEAR(s.sum_seconds, 100 * 3e-6 + 2e-3 + 20.0, 1e-9);
}

TEST(LatencyHistogramStressTest, ConcurrentObserversLoseNothingWhileScrapesRead) {
  Watchdog watchdog;
  constexpr int kObservers = 4;
  const int64_t per_observer = Scaled(400'000, 50'000);
  LatencyHistogram histogram;
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::atomic<int64_t> scrapes{0};

  std::thread scraper([&] {
    uint64_t last_count = 0;
    while (!done.load(std::memory_order_acquire)) {
      const LatencyHistogram::Snapshot s = histogram.Read();
      // Counts only grow, and a scrape's count is the sum of its buckets.
      uint64_t sum = 0;
      for (const uint64_t b : s.buckets) sum += b;
      if (s.count < last_count || sum != s.count) torn.fetch_add(1);
      last_count = s.count;
      scrapes.fetch_add(1, std::memory_order_relaxed);
    }
  });
  std::vector<std::thread> observers;
  for (int t = 0; t < kObservers; ++t) {
    observers.emplace_back([&, t] {
      for (int64_t i = 0; i < per_observer; ++i) {
        // Thread t observes bucket t's bound with weight 1 or 3 (an even spread of weights).
        histogram.Observe(LatencyHistogram::kBoundsNanos[static_cast<std::size_t>(t)],
                          i % 2 == 0 ? 1 : 3);
      }
    });
  }
  for (auto& t : observers) t.join();
  done.store(true, std::memory_order_release);
  scraper.join();

  const LatencyHistogram::Snapshot s = histogram.Read();
  const auto expected_per_bucket =
      static_cast<uint64_t>(per_observer / 2 * 1 + per_observer / 2 * 3);
  for (int t = 0; t < kObservers; ++t) {
    EXPECT_EQ(s.buckets[static_cast<std::size_t>(t)], expected_per_bucket) << "bucket " << t;
  }
  EXPECT_EQ(s.count, kObservers * expected_per_bucket);
  double expected_sum = 0;
  for (int t = 0; t < kObservers; ++t) {
    expected_sum +=
        static_cast<double>(expected_per_bucket) *
        static_cast<double>(LatencyHistogram::kBoundsNanos[static_cast<std::size_t>(t)]) * 1e-9;
  }
  EXPECT_NEAR(s.sum_seconds, expected_sum, expected_sum * 1e-9);
  EXPECT_EQ(torn.load(), 0);
  EXPECT_GT(scrapes.load(), 0);
}

}  // namespace
}  // namespace ringcast::stress
