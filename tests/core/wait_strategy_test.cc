#include "ringcast/core/wait_strategy.h"

#include <gtest/gtest.h>
#include <time.h>

#include <chrono>
#include <future>
#include <thread>

namespace ringcast {
namespace {

using std::chrono::milliseconds;

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

template <class W>
class WaitStrategyTest : public ::testing::Test {
 protected:
  W strategy_;
};

template <>
class WaitStrategyTest<TimeoutBlocking> : public ::testing::Test {
 protected:
  TimeoutBlocking strategy_{std::chrono::seconds(30)};
};

using Strategies =
    ::testing::Types<BusySpin, Yielding, Sleeping, Blocking, TimeoutBlocking, PhasedBackoff<>>;
TYPED_TEST_SUITE(WaitStrategyTest, Strategies);

TYPED_TEST(WaitStrategyTest, ReturnsAtOnceWhenAlreadyAvailable) {
  Sequence cursor(7);
  DependentSequences dependents(cursor, {});
  std::atomic<bool> alerted{false};
  const WaitResult r = this->strategy_.WaitFor(3, dependents, alerted);
  EXPECT_EQ(r.status, WaitStatus::kAvailable);
  EXPECT_EQ(r.available, 7);
}

TYPED_TEST(WaitStrategyTest, WakesWhenTheCursorAdvances) {
  Sequence cursor;
  DependentSequences dependents(cursor, {});
  std::atomic<bool> alerted{false};
  auto waiter = std::async(std::launch::async,
                           [&] { return this->strategy_.WaitFor(0, dependents, alerted); });
  std::this_thread::sleep_for(milliseconds(20));
  cursor.Set(2);
  this->strategy_.SignalAllWhenBlocking();
  ASSERT_EQ(waiter.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const WaitResult r = waiter.get();
  EXPECT_EQ(r.status, WaitStatus::kAvailable);
  EXPECT_EQ(r.available, 2);
}

TYPED_TEST(WaitStrategyTest, WaitsForTheSlowestUpstreamStage) {
  Sequence cursor(100), fast(50), slow(-1);
  DependentSequences dependents(cursor, {&fast, &slow});
  std::atomic<bool> alerted{false};
  auto waiter = std::async(std::launch::async,
                           [&] { return this->strategy_.WaitFor(10, dependents, alerted); });
  EXPECT_EQ(waiter.wait_for(milliseconds(30)), std::future_status::timeout);
  slow.Set(12);
  this->strategy_.SignalAllWhenBlocking();
  ASSERT_EQ(waiter.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(waiter.get().available, 12) << "the minimum of the upstream stages";
}

TYPED_TEST(WaitStrategyTest, AnAlertEndsTheWait) {
  Sequence cursor;
  DependentSequences dependents(cursor, {});
  std::atomic<bool> alerted{false};
  auto waiter = std::async(std::launch::async,
                           [&] { return this->strategy_.WaitFor(0, dependents, alerted); });
  std::this_thread::sleep_for(milliseconds(20));
  alerted.store(true, std::memory_order_release);
  this->strategy_.SignalAllWhenBlocking();
  ASSERT_EQ(waiter.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(waiter.get().status, WaitStatus::kAlerted);
}

// Blocking strategies: an idle consumer costs no CPU, also when it waits on an upstream stage
// rather than on the producer.
template <class W>
class BlockingStrategyTest : public ::testing::Test {};
using BlockingStrategies = ::testing::Types<Blocking, PhasedBackoff<>>;
TYPED_TEST_SUITE(BlockingStrategyTest, BlockingStrategies);

TYPED_TEST(BlockingStrategyTest, IdleWaitOnTheCursorUsesNoCpu) {
  TypeParam strategy;
  Sequence cursor;
  DependentSequences dependents(cursor, {});
  std::atomic<bool> alerted{false};
  auto waiter = std::async(std::launch::async, [&] {
    const double before = ThreadCpuSeconds();
    strategy.WaitFor(0, dependents, alerted);
    return ThreadCpuSeconds() - before;
  });
  std::this_thread::sleep_for(milliseconds(300));
  cursor.Set(0);
  strategy.SignalAllWhenBlocking();
  ASSERT_EQ(waiter.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_LT(waiter.get(), 0.03) << "CPU seconds burnt by a consumer idle for 0.3 s";
}

TYPED_TEST(BlockingStrategyTest, IdleWaitOnAnUpstreamStageUsesNoCpu) {
  TypeParam strategy;
  Sequence cursor(1000), upstream(-1);
  DependentSequences dependents(cursor, {&upstream});
  std::atomic<bool> alerted{false};
  auto waiter = std::async(std::launch::async, [&] {
    const double before = ThreadCpuSeconds();
    const WaitResult r = strategy.WaitFor(5, dependents, alerted);
    return std::make_pair(r, ThreadCpuSeconds() - before);
  });
  std::this_thread::sleep_for(milliseconds(300));
  upstream.Set(5);
  strategy.SignalAllWhenBlocking();  // what a BatchEventProcessor does after each batch
  ASSERT_EQ(waiter.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const auto [result, cpu] = waiter.get();
  EXPECT_EQ(result.available, 5);
  EXPECT_LT(cpu, 0.03) << "CPU seconds burnt waiting 0.3 s on a slower stage";
}

TEST(TimeoutBlocking, TimesOutWithWhatWasReached) {
  TimeoutBlocking strategy(milliseconds(20));
  Sequence cursor(3);
  DependentSequences dependents(cursor, {});
  std::atomic<bool> alerted{false};
  const auto start = std::chrono::steady_clock::now();
  const WaitResult r = strategy.WaitFor(4, dependents, alerted);
  EXPECT_EQ(r.status, WaitStatus::kTimedOut);
  EXPECT_EQ(r.available, 3);
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(20));
}

}  // namespace
}  // namespace ringcast
