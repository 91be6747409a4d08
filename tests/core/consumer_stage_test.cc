#include "ringcast/core/consumer_stage.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "ringcast/core/agent_runner.h"
#include "ringcast/core/multi_producer_sequencer.h"
#include "ringcast/core/single_producer_sequencer.h"
#include "test_support.h"

namespace ringcast {
namespace {

using testing::WaitUntil;
using Seq = SingleProducerSequencer<Blocking, YieldOnFull>;

struct EventRecorder {
  std::vector<int64_t> values;
  std::vector<bool> end_of_batch;
  int64_t throw_at = -1;
  void OnEvent(int64_t& value, int64_t sequence, bool eob) {
    if (sequence == throw_at) throw std::runtime_error("bad event");
    values.push_back(value);
    end_of_batch.push_back(eob);
  }
};

// Takes at most `accept` events of each run it is offered: a stage that holds producers back.
struct PartialBatch {
  int64_t accept = 2;
  std::vector<std::pair<int64_t, int64_t>> offered;
  int64_t OnBatch(int64_t first, int64_t last) {
    offered.emplace_back(first, last);
    return std::min(last, first + accept - 1);
  }
};

class ConsumerStageTest : public ::testing::Test {
 protected:
  void Publish(int64_t count) {
    const int64_t high = sequencer_.Next(count);
    for (int64_t s = high - count + 1; s <= high; ++s) ring_.Get(s) = s * 10;
    sequencer_.Publish(high - count + 1, high);
  }
  RingBuffer<int64_t> ring_{16};
  Seq sequencer_{16};
};

TEST_F(ConsumerStageTest, DoWorkHandlesWhatIsAvailableWithoutWaiting) {
  EventRecorder recorder;
  ConsumerStage<int64_t, EventRecorder, Seq> stage(ring_, sequencer_, {}, recorder);
  EXPECT_EQ(stage.DoWork(), 0);  // nothing published: returns at once
  Publish(3);
  EXPECT_EQ(stage.DoWork(), 3);
  EXPECT_EQ(recorder.values, (std::vector<int64_t>{0, 10, 20}));
  EXPECT_EQ(recorder.end_of_batch, (std::vector<bool>{false, false, true}));
  EXPECT_EQ(stage.sequence().Get(), 2);
  EXPECT_EQ(stage.DoWork(), 0);
}

TEST_F(ConsumerStageTest, MaxBatchSizeCapsOneStep) {
  EventRecorder recorder;
  ConsumerStage<int64_t, EventRecorder, Seq> stage(ring_, sequencer_, {}, recorder,
                                                   {.max_batch_size = 2});
  Publish(5);
  EXPECT_EQ(stage.DoWork(), 2);
  EXPECT_EQ(stage.DoWork(), 2);
  EXPECT_EQ(stage.DoWork(), 1);
  EXPECT_EQ(stage.sequence().Get(), 4);
}

TEST_F(ConsumerStageTest, ABatchHandlerMayFinishPartOfARunAndIsOfferedTheRestAgain) {
  PartialBatch handler;
  ConsumerStage<int64_t, PartialBatch, Seq> stage(ring_, sequencer_, {}, handler);
  Publish(5);
  EXPECT_EQ(stage.DoWork(), 2);
  EXPECT_EQ(stage.DoWork(), 2);
  handler.accept = 0;  // holds everything back
  EXPECT_EQ(stage.DoWork(), 0);
  EXPECT_EQ(stage.sequence().Get(), 3);
  handler.accept = 10;
  EXPECT_EQ(stage.DoWork(), 1);
  EXPECT_EQ(handler.offered,
            (std::vector<std::pair<int64_t, int64_t>>{{0, 4}, {2, 4}, {4, 4}, {4, 4}}));
}

TEST_F(ConsumerStageTest, DownstreamStageWaitsForItsUpstream) {
  PartialBatch first;
  first.accept = 1;
  EventRecorder second;
  ConsumerStage<int64_t, PartialBatch, Seq> upstream(ring_, sequencer_, {}, first);
  ConsumerStage<int64_t, EventRecorder, Seq> downstream(ring_, sequencer_, {&upstream.sequence()},
                                                        second);
  Publish(3);
  EXPECT_EQ(downstream.DoWork(), 0);
  EXPECT_EQ(upstream.DoWork(), 1);
  EXPECT_EQ(downstream.DoWork(), 1);
  EXPECT_EQ(second.values, (std::vector<int64_t>{0}));
}

TEST_F(ConsumerStageTest, HaltPolicyStopsBeforeTheFailedEventForGood) {
  EventRecorder recorder;
  recorder.throw_at = 1;
  int reported = 0;
  ConsumerStage<int64_t, EventRecorder, Seq> stage(
      ring_, sequencer_, {}, recorder,
      {.error_policy = ErrorPolicy::kHalt,
       .report_exception = [&](const std::string&, int64_t, std::exception_ptr) { ++reported; }});
  Publish(3);
  EXPECT_EQ(stage.DoWork(), 1);
  EXPECT_TRUE(stage.halted());
  EXPECT_EQ(stage.sequence().Get(), 0);
  EXPECT_EQ(stage.DoWork(), 0);
  EXPECT_EQ(reported, 1);
  EXPECT_EQ(stage.ExceptionCount(), 1u);
}

TEST_F(ConsumerStageTest, ContinuePolicySkipsTheFailedEvent) {
  EventRecorder recorder;
  recorder.throw_at = 1;
  ConsumerStage<int64_t, EventRecorder, Seq> stage(
      ring_, sequencer_, {}, recorder,
      {.report_exception = [](const std::string&, int64_t, std::exception_ptr) {}});
  Publish(3);
  stage.DoWork();
  stage.DoWork();
  EXPECT_FALSE(stage.halted());
  EXPECT_EQ(recorder.values, (std::vector<int64_t>{0, 20}));
  EXPECT_EQ(stage.sequence().Get(), 2);
}

// The same stage type a BatchEventProcessor runs on its own thread, here as an agent: every
// published event reaches it through the runner's duty cycle.
TEST(ConsumerStageAsAgent, RunsUnderAnAgentRunnerAndSeesEveryEventOfManyProducers) {
  using Mp = MultiProducerSequencer<BusySpin>;
  RingBuffer<int64_t> ring(64);
  Mp sequencer(64);
  struct Sum {
    int64_t sum = 0;
    std::atomic<int64_t> seen{0};
    void OnEvent(int64_t& v, int64_t, bool) {
      sum += v;
      seen.fetch_add(1, std::memory_order_release);
    }
  } handler;
  ConsumerStage<int64_t, Sum, Mp> stage(ring, sequencer, {}, handler);
  ASSERT_TRUE(sequencer.AddGatingSequence(stage.sequence()));
  AgentRunner<decltype(stage), Yielding> runner(stage, Yielding(),
                                                {.max_park = std::chrono::milliseconds(1)});
  runner.Start();
  constexpr int64_t kPerProducer = 2000;
  std::vector<std::thread> producers;
  for (int p = 0; p < 2; ++p) {
    producers.emplace_back([&] {
      for (int64_t i = 1; i <= kPerProducer; ++i) {
        const int64_t s = sequencer.Next();
        ring.Get(s) = i;
        sequencer.Publish(s);
        runner.doorbell().Ring();
      }
    });
  }
  for (auto& t : producers) t.join();
  ASSERT_TRUE(
      WaitUntil([&] { return handler.seen.load(std::memory_order_acquire) == 2 * kPerProducer; }));
  runner.Close();
  EXPECT_EQ(handler.sum, 2 * kPerProducer * (kPerProducer + 1) / 2);
}

}  // namespace
}  // namespace ringcast
