#include "ringcast/core/agent_runner.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_support.h"

namespace ringcast {
namespace {

using testing::WaitUntil;
using namespace std::chrono_literals;

// Does one unit of work per cycle while `pending` is positive; counts cycles and hooks.
struct CountingAgent {
  std::atomic<int> pending{0};
  std::atomic<int64_t> cycles{0};
  std::atomic<int64_t> done{0};
  std::atomic<int> starts{0};
  std::atomic<int> closes{0};
  std::atomic<int> throw_next{0};

  int DoWork() {
    cycles.fetch_add(1, std::memory_order_relaxed);
    if (throw_next.exchange(0) != 0) throw std::runtime_error("duty cycle failed");
    if (pending.load() <= 0) return 0;
    pending.fetch_sub(1);
    done.fetch_add(1);
    return 1;
  }
  void OnStart() { starts.fetch_add(1); }
  void OnClose() { closes.fetch_add(1); }
};

template <class W>
class AgentRunnerTest : public ::testing::Test {};

using Strategies =
    ::testing::Types<BusySpin, Yielding, TimeoutBlocking, Blocking, PhasedBackoff<TimeoutBlocking>>;
TYPED_TEST_SUITE(AgentRunnerTest, Strategies);

template <class W>
W MakeStrategy() {
  if constexpr (std::is_same_v<W, TimeoutBlocking>) {
    return TimeoutBlocking(5ms);
  } else if constexpr (std::is_same_v<W, PhasedBackoff<TimeoutBlocking>>) {
    return PhasedBackoff<TimeoutBlocking>(10us, 50us, TimeoutBlocking(5ms));
  } else {
    return W();
  }
}

TYPED_TEST(AgentRunnerTest, RingingTheDoorbellWakesAnIdleAgentForEveryPieceOfWork) {
  CountingAgent agent;
  AgentRunner<CountingAgent, TypeParam> runner(agent, MakeStrategy<TypeParam>(),
                                               {.name = "rc-test-agent", .max_park = 1h});
  runner.Start();
  for (int i = 1; i <= 50; ++i) {
    agent.pending.fetch_add(1);
    runner.doorbell().Ring();
    ASSERT_TRUE(WaitUntil([&] { return agent.done.load() == i; })) << "work " << i << " lost";
  }
  runner.Close();
  EXPECT_EQ(agent.starts.load(), 1);
  EXPECT_EQ(agent.closes.load(), 1);
}

TYPED_TEST(AgentRunnerTest, CloseStopsAParkedRunnerPromptly) {
  CountingAgent agent;
  AgentRunner<CountingAgent, TypeParam> runner(agent, MakeStrategy<TypeParam>(), {.max_park = 1h});
  runner.Start();
  ASSERT_TRUE(WaitUntil([&] { return agent.cycles.load() >= 1; }));
  const auto start = std::chrono::steady_clock::now();
  runner.Close();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(agent.closes.load(), 1);
  runner.Close();  // idempotent
}

TEST(AgentRunner, MaxParkRunsTimedDutiesWithoutARing) {
  CountingAgent agent;
  AgentRunner<CountingAgent, Yielding> runner(agent, Yielding(), {.max_park = 2ms});
  runner.Start();
  // Nobody rings: only the park bound brings the runner back for more cycles.
  EXPECT_TRUE(WaitUntil([&] { return agent.cycles.load() >= 5; }));
  runner.Close();
}

TEST(AgentRunner, TimeoutBlockingBoundsAParkWithoutARing) {
  CountingAgent agent;
  AgentRunner<CountingAgent, TimeoutBlocking> runner(agent, TimeoutBlocking(2ms));
  runner.Start();
  EXPECT_TRUE(WaitUntil([&] { return agent.cycles.load() >= 5; }));
  runner.Close();
}

TEST(AgentRunner, CloseBeforeRunIsNotLostAndStillPairsTheHooks) {
  CountingAgent agent;
  AgentRunner<CountingAgent, Blocking> runner(agent);
  runner.Close();
  runner.Run();  // returns at once
  EXPECT_EQ(agent.cycles.load(), 0);
  EXPECT_EQ(agent.starts.load(), 1);
  EXPECT_EQ(agent.closes.load(), 1);
}

TEST(AgentRunner, AnExceptionInADutyCycleIsReportedAndTheLoopGoesOn) {
  CountingAgent agent;
  std::atomic<int> reported{0};
  std::string what;
  AgentRunner<CountingAgent, TimeoutBlocking> runner(
      agent, TimeoutBlocking(1ms),
      {.name = "failing",
       .report_exception = [&](const std::string& name, int64_t, std::exception_ptr error) {
         try {
           std::rethrow_exception(error);
         } catch (const std::exception& e) {
           what = name + ": " + e.what();
         }
         reported.fetch_add(1);
       }});
  agent.throw_next.store(1);
  runner.Start();
  ASSERT_TRUE(WaitUntil([&] { return reported.load() == 1; }));
  agent.pending.fetch_add(3);
  runner.doorbell().Ring();
  EXPECT_TRUE(WaitUntil([&] { return agent.done.load() == 3; }));
  runner.Close();
  EXPECT_EQ(runner.ExceptionCount(), 1u);
  EXPECT_EQ(what, "failing: duty cycle failed");
}

TEST(AgentRunner, RunsOnTheCallingThreadUntilClosedFromAnother) {
  CountingAgent agent;
  AgentRunner<CountingAgent, Blocking> runner(agent);
  std::thread closer([&] {
    WaitUntil([&] { return agent.cycles.load() >= 1; });
    runner.Close();
  });
  runner.Run();
  closer.join();
  EXPECT_EQ(agent.closes.load(), 1);
}

TEST(Doorbell, EpochMovesOncePerRing) {
  Blocking strategy;
  Doorbell doorbell(strategy);
  EXPECT_EQ(doorbell.Epoch(), 0);
  doorbell.Ring();
  doorbell.Ring();
  EXPECT_EQ(doorbell.Epoch(), 2);
  EXPECT_EQ(doorbell.Available(0), 2);
}

}  // namespace
}  // namespace ringcast
