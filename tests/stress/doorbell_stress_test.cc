// The fan-out stage's Doorbell (server/src/doorbell.h) never loses a wake-up: a parked thread is
// always woken by a ring that came after it took its epoch, however the two interleave. Std-only,
// so it runs under ThreadSanitizer with the core.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "doorbell.h"
#include "gtest/gtest.h"
#include "stress_scale.h"
#include "stress_support.h"

namespace ringcast::stress {
namespace {

TEST(DoorbellStressTest, ParkedConsumerIsWokenForEveryRingNeverByItsTimeout) {
  Watchdog watchdog;
  constexpr int kRingers = 3;
  const int64_t per_ringer = Scaled(200'000, 20'000);
  server::Doorbell doorbell;
  std::atomic<int64_t> produced{0};
  std::atomic<int> lost_wakeups{0};

  std::thread consumer([&] {
    int64_t consumed = 0;
    while (consumed < kRingers * per_ringer) {
      const uint64_t epoch = doorbell.Epoch();
      const int64_t available = produced.load(std::memory_order_acquire);
      if (available > consumed) {
        consumed = available;
        continue;
      }
      // Work published after `epoch` was taken must wake this wait; a timeout with work waiting
      // is a lost wake-up.
      if (!doorbell.Wait(epoch, kStallTimeout) &&
          produced.load(std::memory_order_acquire) > consumed) {
        lost_wakeups.fetch_add(1);
      }
    }
  });
  std::vector<std::thread> ringers;
  for (int r = 0; r < kRingers; ++r) {
    ringers.emplace_back([&, r] {
      for (int64_t i = 0; i < per_ringer; ++i) {
        produced.fetch_add(1, std::memory_order_release);
        doorbell.Ring();
        // Vary the spacing so the consumer is often parked, sometimes just parking.
        if ((i + r) % 64 == 0) std::this_thread::sleep_for(std::chrono::microseconds(20));
      }
    });
  }
  for (auto& t : ringers) t.join();
  consumer.join();
  EXPECT_EQ(lost_wakeups.load(), 0);
}

TEST(DoorbellStressTest, WaitReturnsFalseOnlyWhenNothingRang) {
  server::Doorbell doorbell;
  const uint64_t epoch = doorbell.Epoch();
  EXPECT_FALSE(doorbell.Wait(epoch, std::chrono::milliseconds(1)));
  doorbell.Ring();
  EXPECT_TRUE(doorbell.Wait(epoch, std::chrono::seconds(5)));
}

}  // namespace
}  // namespace ringcast::stress
