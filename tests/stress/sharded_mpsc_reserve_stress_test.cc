// Stress: ShardedMpscChannel producers reserving runs of slots (TryReserve(n), then Commit) while
// the consumer drains with small total limits.
//
// Every message carries its producer, its counter and a check value; the consumer checks each
// producer's counters go up by exactly one (nothing lost, repeated or reordered), that every slot
// holds what its producer wrote (a reservation is only visible once committed, whole), and that a
// limited Drain never hands over more than its limit. Some reservations are abandoned instead of
// committed: their slots must never reach the consumer.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ringcast/core/sharded_mpsc_channel.h"
#include "stress_scale.h"
#include "stress_support.h"

namespace ringcast {
namespace {

using stress::FailureLog;
using stress::Mix;
using stress::Random;
using stress::Scaled;
using stress::Watchdog;

struct Message {
  int64_t producer = -1;
  int64_t counter = -1;
  uint64_t check = 0;
};

TEST(ShardedMpscReserveStress, ReservedRunsArriveWholeInOrderAndAbandonedOnesNever) {
  Watchdog watchdog;
  constexpr int kProducers = 3;
  const int64_t per_producer = Scaled(60'000, 5'000);
  ShardedMpscChannel<Message, ChannelCounters> channel(kProducers, 64);
  FailureLog failures;
  std::atomic<int> finished{0};

  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      auto producer = channel.RegisterProducer();
      if (!producer.ok()) {
        failures.Record(producer.status().ToString());
        finished.fetch_add(1, std::memory_order_release);
        return;
      }
      Random random(static_cast<uint64_t>(p) + 7);
      for (int64_t counter = 0; counter < per_producer && failures.count() == 0;) {
        const auto n = static_cast<std::size_t>(
            std::min<int64_t>(1 + random.Below(8), per_producer - counter));
        auto run = producer->TryReserve(n);
        if (!run) {
          std::this_thread::yield();
          continue;
        }
        if (random.Below(16) == 0) {
          for (std::size_t i = 0; i < n; ++i) run[i] = Message{p, -2, 0};  // abandoned
          continue;
        }
        for (std::size_t i = 0; i < n; ++i) {
          const int64_t c = counter + static_cast<int64_t>(i);
          run[i] = Message{p, c, Mix(c, static_cast<uint64_t>(p))};
        }
        run.Commit();
        counter += static_cast<int64_t>(n);
      }
      finished.fetch_add(1, std::memory_order_release);  // pairs with the consumer's acquire
    });
  }

  std::vector<int64_t> next(kProducers, 0);
  int64_t received = 0;
  Random random(99);
  auto handle = [&](Message& m) {
    if (m.producer < 0 || m.producer >= kProducers) {
      failures.Record(absl::StrCat("message from producer ", m.producer));
      return;
    }
    int64_t& expected = next[static_cast<std::size_t>(m.producer)];
    if (m.counter != expected || m.check != Mix(m.counter, static_cast<uint64_t>(m.producer))) {
      failures.Record(
          absl::StrCat("producer ", m.producer, ": got ", m.counter, " want ", expected));
    }
    expected = m.counter + 1;
    ++received;
  };
  for (;;) {
    const bool done = finished.load(std::memory_order_acquire) == kProducers;
    const auto limit = static_cast<std::size_t>(1 + random.Below(20));
    const std::size_t drained = channel.Drain(handle, limit);
    if (drained > limit) failures.Record(absl::StrCat("Drain(", limit, ") drained ", drained));
    if (done && drained == 0 && channel.SizeGuess() == 0) break;
    if (failures.count() != 0 && done) break;
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(received, kProducers * per_producer);
  for (int p = 0; p < kProducers; ++p) EXPECT_EQ(next[static_cast<std::size_t>(p)], per_producer);
  const ChannelStats stats = channel.Stats();
  EXPECT_EQ(stats.committed, static_cast<uint64_t>(kProducers * per_producer));
  EXPECT_EQ(stats.drained, stats.committed);
  EXPECT_EQ(failures.count(), 0) << failures.Summary();
}

}  // namespace
}  // namespace ringcast
