// Many two-stage pipelines (stage A, then stage B behind it) share a pool of two agent runners,
// each running an AgentGroup of pipelines, while producers on other threads publish and ring.
// Every stage must see every event once, in order; runners close under load without losing a
// member or hanging.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "ringcast/core/agent_group.h"
#include "ringcast/core/agent_runner.h"
#include "ringcast/core/consumer_stage.h"
#include "ringcast/core/multi_producer_sequencer.h"
#include "stress_scale.h"
#include "stress_support.h"

namespace ringcast {
namespace {

using stress::Scaled;
using stress::Watchdog;
using Mp = MultiProducerSequencer<BusySpin>;

// Checks that it sees consecutive values; counts what it saw.
struct InOrder {
  int64_t expected = 0;
  std::atomic<int64_t> seen{0};
  std::atomic<int64_t> out_of_order{0};
  void OnEvent(int64_t& value, int64_t sequence, bool) {
    if (value != sequence || sequence != expected) out_of_order.fetch_add(1);
    expected = sequence + 1;
    seen.fetch_add(1, std::memory_order_release);
  }
};

// One topic: a ring, two stages in a line, one pipeline agent running both in order.
struct Pipeline {
  explicit Pipeline(int64_t size) : ring(size), sequencer(size) {
    RINGCAST_CHECK(sequencer.AddGatingSequence(b.sequence()), "gating slot");
  }
  int DoWork() { return a.DoWork() + b.DoWork(); }
  bool Finished() const { return finished.load(std::memory_order_acquire); }

  RingBuffer<int64_t> ring;
  Mp sequencer;
  InOrder first, second;
  ConsumerStage<int64_t, InOrder, Mp> a{ring, sequencer, {}, first, {.max_batch_size = 64}};
  ConsumerStage<int64_t, InOrder, Mp> b{ring, sequencer, {&a.sequence()}, second};
  std::atomic<bool> finished{false};
};

template <class W>
void RunPool(W strategy_a, W strategy_b) {
  Watchdog watchdog;
  constexpr int kPipelines = 6;
  constexpr int kProducersPerPipeline = 2;
  const int64_t per_producer = Scaled(20000, 2000);
  AgentGroup<Pipeline> group_a("pool-0"), group_b("pool-1");
  AgentRunner<AgentGroup<Pipeline>, W> runner_a(group_a, std::move(strategy_a),
                                                {.name = "rc-stress-0"});
  AgentRunner<AgentGroup<Pipeline>, W> runner_b(group_b, std::move(strategy_b),
                                                {.name = "rc-stress-1"});
  runner_a.Start();
  runner_b.Start();

  std::vector<std::shared_ptr<Pipeline>> pipelines;
  std::vector<Doorbell*> doorbells;
  for (int i = 0; i < kPipelines; ++i) {
    pipelines.push_back(std::make_shared<Pipeline>(64));
    // Members join while the runners already run.
    if (i % 2 == 0) {
      group_a.Add(pipelines.back());
      doorbells.push_back(&runner_a.doorbell());
    } else {
      group_b.Add(pipelines.back());
      doorbells.push_back(&runner_b.doorbell());
    }
    doorbells.back()->Ring();
  }

  // Values equal their sequences, so stages can check order: producers claim with Next and write
  // the sequence they got.
  std::vector<std::thread> producers;
  for (int i = 0; i < kPipelines; ++i) {
    for (int p = 0; p < kProducersPerPipeline; ++p) {
      producers.emplace_back([&, i] {
        Pipeline& pipeline = *pipelines[static_cast<std::size_t>(i)];
        for (int64_t n = 0; n < per_producer; ++n) {
          ClaimResult claim;
          while ((claim = pipeline.sequencer.TryNext(1)).status != ClaimStatus::kOk) {
            doorbells[static_cast<std::size_t>(i)]->Ring();
            std::this_thread::yield();
          }
          pipeline.ring.Get(claim.sequence) = claim.sequence;
          pipeline.sequencer.Publish(claim.sequence);
          doorbells[static_cast<std::size_t>(i)]->Ring();
        }
      });
    }
  }
  for (auto& t : producers) t.join();
  const int64_t total = per_producer * kProducersPerPipeline;
  for (const auto& pipeline : pipelines) {
    ASSERT_TRUE(stress::WaitUntil([&] {
      return pipeline->second.seen.load(std::memory_order_acquire) == total;
    })) << "a pipeline stalled at "
        << pipeline->second.seen.load();
    EXPECT_EQ(pipeline->first.seen.load(), total);
    EXPECT_EQ(pipeline->first.out_of_order.load(), 0);
    EXPECT_EQ(pipeline->second.out_of_order.load(), 0);
    pipeline->finished.store(true, std::memory_order_release);
  }
  runner_a.doorbell().Ring();
  runner_b.doorbell().Ring();
  ASSERT_TRUE(stress::WaitUntil([&] { return group_a.size() == 0 && group_b.size() == 0; }));
  runner_a.Close();
  runner_b.Close();
  EXPECT_EQ(runner_a.ExceptionCount() + runner_b.ExceptionCount(), 0u);
}

TEST(AgentRunnerStress, TimeoutBlockingPoolDeliversEveryEventOfEveryPipelineInOrder) {
  RunPool(TimeoutBlocking(std::chrono::milliseconds(5)),
          TimeoutBlocking(std::chrono::milliseconds(5)));
}

TEST(AgentRunnerStress, PhasedPoolDeliversEveryEventOfEveryPipelineInOrder) {
  using W = PhasedBackoff<TimeoutBlocking>;
  RunPool(W(std::chrono::microseconds(5), std::chrono::microseconds(20),
            TimeoutBlocking(std::chrono::milliseconds(5))),
          W(std::chrono::microseconds(5), std::chrono::microseconds(20),
            TimeoutBlocking(std::chrono::milliseconds(5))));
}

TEST(AgentRunnerStress, YieldingPoolDeliversEveryEventOfEveryPipelineInOrder) {
  RunPool(Yielding(), Yielding());
}

// Close races the producers' rings and the members' joins; it must always return.
TEST(AgentRunnerStress, CloseUnderLoadAlwaysReturns) {
  Watchdog watchdog;
  for (int round = 0; round < Scaled(200, 40); ++round) {
    AgentGroup<Pipeline> group;
    AgentRunner<AgentGroup<Pipeline>, Blocking> runner(group);
    runner.Start();
    std::atomic<bool> stop{false};
    std::thread ringer([&] {
      while (!stop.load()) {
        group.Add(std::make_shared<Pipeline>(8));
        runner.doorbell().Ring();
      }
    });
    std::this_thread::yield();
    runner.Close();
    stop.store(true);
    ringer.join();
  }
}

}  // namespace
}  // namespace ringcast
