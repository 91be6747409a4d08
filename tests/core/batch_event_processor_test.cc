#include "ringcast/core/batch_event_processor.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>
#include <vector>

#include "ringcast/core/single_producer_sequencer.h"
#include "test_support.h"

namespace ringcast {
namespace {

using testing::WaitUntil;
using Seq = SingleProducerSequencer<Blocking, YieldOnFull>;

struct Recorder {
  std::vector<int64_t> values;
  std::vector<int64_t> sequences;
  std::vector<bool> end_of_batch;
  std::vector<std::pair<int64_t, int64_t>> batches;  // (batch_size, queue_depth)
  int starts = 0;
  int shutdowns = 0;
  int64_t throw_at = -1;
  std::atomic<int64_t> seen{0};

  void OnStart() { ++starts; }
  void OnShutdown() { ++shutdowns; }
  void OnBatchStart(int64_t batch_size, int64_t queue_depth) {
    batches.emplace_back(batch_size, queue_depth);
  }
  void OnEvent(int64_t& value, int64_t sequence, bool eob) {
    seen.fetch_add(1, std::memory_order_relaxed);
    if (sequence == throw_at) throw std::runtime_error("bad event");
    values.push_back(value);
    sequences.push_back(sequence);
    end_of_batch.push_back(eob);
  }
};

using Processor = BatchEventProcessor<int64_t, Recorder, Seq>;

class BatchEventProcessorTest : public ::testing::Test {
 protected:
  void PublishValues(int64_t from, int64_t count) {
    const int64_t high = sequencer_.Next(count);
    for (int64_t s = high - count + 1; s <= high; ++s)
      ring_.Get(s) = from + (s - (high - count + 1));
    sequencer_.Publish(high - count + 1, high);
  }

  RingBuffer<int64_t> ring_{16};
  Seq sequencer_{16};
};

TEST_F(BatchEventProcessorTest, DeliversEveryEventInOrderWithEndOfBatchOnTheLast) {
  Recorder recorder;
  Processor processor(ring_, sequencer_, {}, recorder);
  ASSERT_TRUE(sequencer_.AddGatingSequence(processor.sequence()));
  PublishValues(100, 5);  // published before Run: one batch of five
  std::thread thread([&] { processor.Run(); });
  ASSERT_TRUE(WaitUntil([&] { return processor.sequence().Get() == 4; }));
  processor.Halt();
  thread.join();
  EXPECT_EQ(recorder.values, (std::vector<int64_t>{100, 101, 102, 103, 104}));
  EXPECT_EQ(recorder.sequences, (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(recorder.end_of_batch, (std::vector<bool>{false, false, false, false, true}));
  ASSERT_EQ(recorder.batches.size(), 1u);
  EXPECT_EQ(recorder.batches[0], std::make_pair(int64_t{5}, int64_t{5}));
  EXPECT_EQ(recorder.starts, 1);
  EXPECT_EQ(recorder.shutdowns, 1);
}

TEST_F(BatchEventProcessorTest, MaxBatchSizeSplitsABacklog) {
  Recorder recorder;
  Processor processor(ring_, sequencer_, {}, recorder, ProcessorOptions{.max_batch_size = 4});
  ASSERT_TRUE(sequencer_.AddGatingSequence(processor.sequence()));
  PublishValues(0, 10);
  std::thread thread([&] { processor.Run(); });
  ASSERT_TRUE(WaitUntil([&] { return processor.sequence().Get() == 9; }));
  processor.Halt();
  thread.join();
  ASSERT_EQ(recorder.batches.size(), 3u);
  EXPECT_EQ(recorder.batches[0], std::make_pair(int64_t{4}, int64_t{10}));
  EXPECT_EQ(recorder.batches[1], std::make_pair(int64_t{4}, int64_t{6}));
  EXPECT_EQ(recorder.batches[2], std::make_pair(int64_t{2}, int64_t{2}));
  EXPECT_TRUE(recorder.end_of_batch[3]);
  EXPECT_TRUE(recorder.end_of_batch[7]);
}

TEST_F(BatchEventProcessorTest, HaltBeforeRunIsNotLost) {
  Recorder recorder;
  Processor processor(ring_, sequencer_, {}, recorder);
  processor.Halt();
  processor.Run();  // must return at once
  EXPECT_FALSE(processor.IsRunning());
  EXPECT_EQ(recorder.starts, 1);
  EXPECT_EQ(recorder.shutdowns, 1);
  // It can run again afterwards.
  std::thread thread([&] { processor.Run(); });
  ASSERT_TRUE(WaitUntil([&] { return processor.IsRunning(); }));
  processor.Halt();
  thread.join();
  EXPECT_EQ(recorder.starts, 2);
}

TEST_F(BatchEventProcessorTest, HaltRacingRunAlwaysStopsIt) {
  for (int i = 0; i < 200; ++i) {
    Recorder recorder;
    Processor processor(ring_, sequencer_, {}, recorder);
    std::thread thread([&] { processor.Run(); });
    processor.Halt();
    thread.join();  // hangs (and times out) if the halt was lost
    EXPECT_FALSE(processor.IsRunning());
  }
}

TEST_F(BatchEventProcessorTest, RunningTwiceIsAProgrammerError) {
  EXPECT_DEATH(
      {
        Recorder recorder;
        Processor processor(ring_, sequencer_, {}, recorder);
        std::thread thread([&] { processor.Run(); });
        while (!processor.IsRunning()) std::this_thread::yield();
        processor.Run();
      },
      "called while running");
}

TEST_F(BatchEventProcessorTest, LogAndContinueCountsTheExceptionAndSkipsTheEvent) {
  Recorder recorder;
  recorder.throw_at = 2;
  std::vector<int64_t> reported;
  Processor processor(ring_, sequencer_, {}, recorder,
                      ProcessorOptions{.name = "recorder",
                                       .report_exception = [&](const std::string& name, int64_t s,
                                                               std::exception_ptr) {
                                         EXPECT_EQ(name, "recorder");
                                         reported.push_back(s);
                                       }});
  ASSERT_TRUE(sequencer_.AddGatingSequence(processor.sequence()));
  PublishValues(0, 5);
  std::thread thread([&] { processor.Run(); });
  ASSERT_TRUE(WaitUntil([&] { return processor.sequence().Get() == 4; }));
  processor.Halt();
  thread.join();
  EXPECT_EQ(recorder.sequences, (std::vector<int64_t>{0, 1, 3, 4}));
  EXPECT_EQ(processor.ExceptionCount(), 1u);
  EXPECT_EQ(reported, std::vector<int64_t>{2});
}

TEST_F(BatchEventProcessorTest, HaltPolicyStopsBeforeTheFailedEvent) {
  Recorder recorder;
  recorder.throw_at = 2;
  Processor processor(
      ring_, sequencer_, {}, recorder,
      ProcessorOptions{.error_policy = ErrorPolicy::kHalt,
                       .report_exception = [](const std::string&, int64_t, std::exception_ptr) {}});
  ASSERT_TRUE(sequencer_.AddGatingSequence(processor.sequence()));
  PublishValues(0, 5);
  std::thread thread([&] { processor.Run(); });
  thread.join();  // returns by itself: the handler's exception halted it
  EXPECT_EQ(processor.sequence().Get(), 1) << "event 2 stays unprocessed";
  EXPECT_EQ(recorder.sequences, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(processor.ExceptionCount(), 1u);
  EXPECT_EQ(recorder.shutdowns, 1);
}

struct TimeoutCounter {
  std::atomic<int> timeouts{0};
  std::atomic<int64_t> last{-2};
  void OnEvent(int64_t&, int64_t, bool) {}
  void OnTimeout(int64_t sequence) {
    last.store(sequence);
    timeouts.fetch_add(1);
  }
};

TEST(BatchEventProcessorTimeout, CallsOnTimeoutWhileIdle) {
  using TimeoutSeq = SingleProducerSequencer<TimeoutBlocking>;
  RingBuffer<int64_t> ring(4);
  TimeoutSeq sequencer(4, TimeoutBlocking(std::chrono::milliseconds(5)));
  TimeoutCounter handler;
  BatchEventProcessor<int64_t, TimeoutCounter, TimeoutSeq> processor(ring, sequencer, {}, handler);
  std::thread thread([&] { processor.Run(); });
  ASSERT_TRUE(WaitUntil([&] { return handler.timeouts.load() >= 3; }));
  processor.Halt();
  thread.join();
  EXPECT_EQ(handler.last.load(), kInitialSequence);
}

}  // namespace
}  // namespace ringcast
