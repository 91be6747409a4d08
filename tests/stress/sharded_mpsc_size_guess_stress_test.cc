// Stress: ShardedMpscChannel::SizeGuess called off the consumer thread while a producer and the
// consumer race through a tiny shard.
//
// The guess must always lie in [0, capacity of the registered shards]: a reader delayed between
// its two index loads must not subtract a head that has passed the tail it read (which, unsigned,
// is about 2^64).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include "gtest/gtest.h"
#include "ringcast/core/sharded_mpsc_channel.h"
#include "stress_scale.h"
#include "stress_support.h"

namespace ringcast {
namespace {

using stress::Watchdog;
using Clock = std::chrono::steady_clock;

TEST(ShardedMpscSizeGuessStress, NeverExceedsTheCapacityWhileBothSidesMove) {
  Watchdog watchdog;
  constexpr int64_t kShardCapacity = 2;
  ShardedMpscChannel<int64_t> channel(1, kShardCapacity);
  auto producer = channel.RegisterProducer();
  ASSERT_TRUE(producer.ok());
  std::atomic<bool> stop{false};
  const auto budget = std::chrono::milliseconds(stress::kThreadSanitizer ? 3000 : 1500);

  std::thread produce([&] {
    // Relaxed: a stop flag; nothing is published through it.
    while (!stop.load(std::memory_order_relaxed)) {
      (void)producer->TryPublish([](int64_t& v) { v = 1; });
    }
  });
  std::thread consume([&] {
    while (!stop.load(std::memory_order_relaxed)) channel.Drain([](int64_t&) {});
  });

  std::size_t worst = 0;
  int64_t calls = 0;
  const auto deadline = Clock::now() + budget;
  while (Clock::now() < deadline) {
    for (int i = 0; i < 1000; ++i, ++calls) worst = std::max(worst, channel.SizeGuess());
  }
  stop.store(true, std::memory_order_relaxed);
  produce.join();
  consume.join();
  EXPECT_LE(worst, static_cast<std::size_t>(kShardCapacity))
      << "SizeGuess returned " << worst << " in " << calls << " calls";
}

}  // namespace
}  // namespace ringcast
