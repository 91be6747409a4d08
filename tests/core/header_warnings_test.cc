// Every public core header, and the main templates instantiated the way users write them, in a
// translation unit built with the warnings users turn on (-Wall -Wextra -Wconversion
// -Wsign-conversion -Wmissing-field-initializers, as errors; see CMakeLists.txt). A header that
// warns in user code fails this build. The test itself only checks the instantiations ran.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "ringcast/core.h"
#include "ringcast/core/agent_group.h"
#include "ringcast/core/agent_runner.h"
#include "ringcast/core/batch_event_processor.h"
#include "ringcast/core/check.h"
#include "ringcast/core/consumer_stage.h"
#include "ringcast/core/disruptor.h"
#include "ringcast/core/doorbell.h"
#include "ringcast/core/event_handler.h"
#include "ringcast/core/event_poller.h"
#include "ringcast/core/gating_sequences.h"
#include "ringcast/core/lossy_reader.h"
#include "ringcast/core/multi_producer_sequencer.h"
#include "ringcast/core/poll_wait.h"
#include "ringcast/core/pressure.h"
#include "ringcast/core/producer_wait.h"
#include "ringcast/core/ring_buffer.h"
#include "ringcast/core/sequence.h"
#include "ringcast/core/sequence_barrier.h"
#include "ringcast/core/sequencer.h"
#include "ringcast/core/sharded_mpsc_channel.h"
#include "ringcast/core/single_producer_sequencer.h"
#include "ringcast/core/thread.h"
#include "ringcast/core/wait_strategy.h"

namespace ringcast {
namespace {

struct Tick {
  int32_t id = 0;
  std::string symbol;
};

struct Counter {
  int64_t seen = 0;
  void OnEvent(Tick&, int64_t, bool) { ++seen; }
  void OnStart() {}
  void OnShutdown() {}
};

template <class S>
int64_t RunDisruptor() {
  Disruptor<Tick, S> disruptor(64);
  Counter counter;
  int64_t closure_seen = 0;
  auto by_reference = [&closure_seen](Tick&, int64_t, bool) { ++closure_seen; };
  disruptor.HandleEventsWith(Stage(counter, {.name = "counter", .max_batch_size = 8}),
                             by_reference);
  disruptor.After(counter, by_reference).Then([](Tick&, int64_t, bool) {});
  auto& poller = disruptor.AddPoller();
  auto& lossy = disruptor.AddLossyReader();
  disruptor.set_pressure_thresholds({.under_pressure = 0.25, .throttle = 0.5});
  if (!disruptor.Start().ok()) return -1;
  disruptor.Publish([](Tick& t, int64_t sequence) { t.id = static_cast<int32_t>(sequence); });
  (void)disruptor.TryPublish([](Tick& t, int64_t) { t.id = 1; });
  disruptor.PublishBatch(
      4, [](Tick& t, int64_t, int64_t index) { t.id = static_cast<int32_t>(index); });
  (void)disruptor.TryPublishBatch(2, [](Tick& t, int64_t) { t.id = 2; });
  poller.WaitPoll([](Tick&, int64_t, bool) {}, absl::Milliseconds(100));
  LossyPoll lossy_poll = lossy.Poll([](Tick&, int64_t, bool) { return true; });
  (void)lossy_poll;
  (void)disruptor.IsUnderPressure();
  (void)disruptor.ShouldThrottle();
  (void)disruptor.PressureOf(counter);
  (void)disruptor.Shutdown(absl::Seconds(5));
  return counter.seen;
}

TEST(HeaderWarnings, MainTemplatesInstantiateCleanly) {
  EXPECT_EQ(RunDisruptor<MultiProducerSequencer<Blocking>>(), 8);
  EXPECT_EQ((RunDisruptor<SingleProducerSequencer<Yielding, YieldOnFull>>()), 8);
  auto built = DisruptorBuilder<Tick>(16)
                   .SingleProducer()
                   .WaitWith(Sleeping())
                   .WhenFull<YieldOnFull>()
                   .WithFactory([] { return Tick{.id = 7, .symbol = "x"}; })
                   .Pressure({.under_pressure = 0.1, .throttle = 0.2})
                   .Build();
  EXPECT_EQ(built.ring().Get(0).id, 7);

  ShardedMpscChannel<Tick, ChannelCounters> channel(ShardedMpscChannelOptions::LowLatency());
  auto producer = channel.RegisterProducer();
  ASSERT_TRUE(producer.ok());
  auto span = producer->TryReserve(3);
  ASSERT_TRUE(span);
  for (std::size_t i = 0; i < span.size(); ++i) span[i].id = static_cast<int32_t>(i);
  span.Commit();
  EXPECT_EQ(channel.Drain([](Tick&) {}, 2), 2u);
  EXPECT_EQ(channel.SizeGuess(), 1u);
  EXPECT_EQ(channel.Stats().committed, 3u);
  const ShardedMpscChannelOptions custom{.max_producers = 2};
  EXPECT_EQ(custom.shard_capacity, 4096);

  RingBuffer<int64_t> ring(8);
  SingleProducerSequencer<BusySpin> sequencer(8, BusySpin(), {.max_gating_sequences = 4});
  EventPoller<int64_t, SingleProducerSequencer<BusySpin>> poller(ring, sequencer);
  EXPECT_TRUE(sequencer.AddGatingSequence(poller.sequence()));
  sequencer.Publish(sequencer.Next());
  EXPECT_EQ(poller.Poll([](int64_t&, int64_t, bool) { return true; }), PollState::kProcessing);
  EXPECT_TRUE(PressureRatio(3, 4) > 0.5);
}

// A consumer stage run as a step of an agent group on an agent runner.
struct RunCounter {
  int64_t done = 0;
  int64_t OnBatch(int64_t first, int64_t last) {
    done += last - first + 1;
    return last;
  }
};
struct Member {
  ConsumerStage<int64_t, RunCounter, MultiProducerSequencer<BusySpin>>* stage;
  int DoWork() { return stage->DoWork(); }
  bool Finished() const { return false; }
};

TEST(HeaderWarnings, AgentsInstantiateCleanly) {
  RingBuffer<int64_t> ring(8);
  MultiProducerSequencer<BusySpin> sequencer(8);
  RunCounter run;
  ConsumerStage<int64_t, RunCounter, MultiProducerSequencer<BusySpin>> stage(
      ring, sequencer, {}, run, {.name = "run", .max_batch_size = 4});
  AgentGroup<Member> group("group");
  group.Add(std::make_shared<Member>(Member{&stage}));
  AgentRunner<AgentGroup<Member>, TimeoutBlocking> runner(
      group, TimeoutBlocking(std::chrono::milliseconds(1)),
      {.name = "agent", .max_park = std::chrono::milliseconds(1)});
  const int64_t high = sequencer.Next(2);
  sequencer.Publish(high - 1, high);
  runner.doorbell().Ring();
  runner.Start();
  while (stage.sequence().Get() < 1) std::this_thread::yield();
  runner.Close();
  EXPECT_EQ(run.done, 2);
}

}  // namespace
}  // namespace ringcast
