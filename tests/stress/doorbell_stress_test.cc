// The core's Doorbell (ringcast/core/doorbell.h) never loses a wake-up: a thread parked through
// a blocking wait strategy is always woken by a ring that came after it took its epoch, however
// the two interleave.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "ringcast/core/doorbell.h"
#include "ringcast/core/wait_strategy.h"
#include "stress_scale.h"
#include "stress_support.h"

namespace ringcast::stress {
namespace {

TEST(DoorbellStressTest, ParkedConsumerIsWokenForEveryRingNeverByItsTimeout) {
  Watchdog watchdog;
  constexpr int kRingers = 3;
  const int64_t per_ringer = Scaled(200'000, 20'000);
  TimeoutBlocking strategy(kStallTimeout);
  Doorbell doorbell(strategy);
  const std::atomic<bool> never_alerted{false};
  std::atomic<int64_t> produced{0};
  std::atomic<int> lost_wakeups{0};

  std::thread consumer([&] {
    int64_t consumed = 0;
    while (consumed < kRingers * per_ringer) {
      const int64_t epoch = doorbell.Epoch();
      const int64_t available = produced.load(std::memory_order_acquire);
      if (available > consumed) {
        consumed = available;
        continue;
      }
      // Work published after `epoch` was taken must wake this wait; a timeout with work waiting
      // is a lost wake-up.
      const WaitResult woken = strategy.WaitFor(epoch + 1, doorbell, never_alerted);
      if (woken.status == WaitStatus::kTimedOut &&
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

TEST(DoorbellStressTest, WaitTimesOutOnlyWhenNothingRang) {
  TimeoutBlocking strategy(std::chrono::milliseconds(1));
  Doorbell doorbell(strategy);
  const std::atomic<bool> never_alerted{false};
  const int64_t epoch = doorbell.Epoch();
  EXPECT_EQ(strategy.WaitFor(epoch + 1, doorbell, never_alerted).status, WaitStatus::kTimedOut);
  doorbell.Ring();
  EXPECT_EQ(strategy.WaitFor(epoch + 1, doorbell, never_alerted).status, WaitStatus::kAvailable);
}

}  // namespace
}  // namespace ringcast::stress
