// one_to_one and one_to_one_batch: one producer thread hands sequence numbers to one consumer
// thread, which sums them. The batch variant claims and publishes 10 events at a time (ringcast:
// one PublishBatch; ringcast_sharded_reserve: one TryReserve(10) and Commit on a one-shard
// ShardedMpscChannel).
//
// one_to_one_lossy: one producer, one pull reader on its own thread. ringcast_lossy_reader is a
// LossyReader (the producer never waits for it; when lapped it skips and counts what it missed);
// ringcast_poller is a gating EventPoller driven the same way, the reliable reference. The figure
// is events published per second; the reader checks every event it reads.
#include <cstdint>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "bench/core/channel.h"
#include "bench/core/handlers.h"
#include "bench/core/peer_queues.h"
#include "bench/core/run.h"
#include "bench/core/scenario.h"
#include "ringcast/core/disruptor.h"
#include "ringcast/core/lossy_reader.h"
#include "ringcast/core/single_producer_sequencer.h"

namespace ringcast::bench {
namespace {

constexpr std::string_view kOneToOne = "one_to_one";
constexpr std::string_view kOneToOneBatch = "one_to_one_batch";
constexpr std::string_view kOneToOneLossy = "one_to_one_lossy";
constexpr int kThreads = 2;  // thread 0 produces, thread 1 consumes

template <class Mode, int64_t kBatch>
RunResult RingcastOneToOne(const RunConfig& config) {
  // BusySpin + SpinOnFull when the run busy-spins: the fastest pairing the library offers.
  using Sequencer = SingleProducerSequencer<typename Mode::Strategy, typename Mode::ProducerWait>;
  RunResult result;
  result.events = config.events / kBatch * kBatch;
  RunSync sync(kThreads, 1);
  SumHandler handler(sync, result.events - 1);
  Disruptor<ValueEvent, Sequencer> disruptor(config.capacity);
  disruptor.HandleEventsWith(Stage(handler, {.name = "consumer", .cpu = config.CpuFor(1)}));
  if (absl::Status started = disruptor.Start(); !started.ok()) {
    result.error = started.ToString();
    return result;
  }
  std::thread producer = StartThread("producer", config.CpuFor(0), [&] {
    sync.ArriveAndWait();
    for (int64_t i = 0; i < result.events; i += kBatch) {
      if constexpr (kBatch == 1) {
        disruptor.Publish([](ValueEvent& event, int64_t sequence) { event.value = sequence; });
      } else {
        // One claim for the whole batch: Next(kBatch), then Publish(low, high).
        disruptor.PublishBatch(kBatch,
                               [](ValueEvent& event, int64_t sequence) { event.value = sequence; });
      }
    }
  });
  sync.Start();
  result.seconds = sync.WaitFinished();
  producer.join();
  disruptor.Halt();
  ExpectEqual(result.error, "events consumed", handler.count, result.events);
  ExpectEqual(result.error, "sum", handler.sum, SumBelow(result.events));
  return result;
}

template <class Q, class Mode, int64_t kBatch>
RunResult PeerOneToOne(const RunConfig& config) {
  RunResult result;
  const int64_t events = result.events = config.events / kBatch * kBatch;
  Channel<Q, Mode> channel(1, static_cast<std::size_t>(config.capacity));
  RunSync sync(kThreads, 1);
  int64_t sum = 0;
  int64_t count = 0;
  std::thread consumer = StartThread("consumer", config.CpuFor(1), [&] {
    sync.Arrive();
    int64_t local_sum = 0;
    int64_t local_count = 0;
    while (local_count < events) {
      local_count += static_cast<int64_t>(
          channel.Consume([&](ValueEvent& event) { local_sum += event.value; }));
    }
    sync.Finish();
    sum = local_sum;
    count = local_count;
  });
  std::thread producer = StartThread("producer", config.CpuFor(0), [&] {
    sync.ArriveAndWait();
    ValueEvent batch[kBatch];
    for (int64_t i = 0; i < events; i += kBatch) {
      for (int64_t j = 0; j < kBatch; ++j) batch[j].value = i + j;
      channel.Push(0, batch, kBatch);
    }
  });
  sync.Start();
  result.seconds = sync.WaitFinished();
  producer.join();
  consumer.join();
  ExpectEqual(result.error, "events consumed", count, events);
  ExpectEqual(result.error, "sum", sum, SumBelow(events));
  return result;
}

template <class Mode, bool kLossy>
RunResult RingcastOneToOneReader(const RunConfig& config) {
  using Sequencer = SingleProducerSequencer<typename Mode::Strategy, typename Mode::ProducerWait>;
  RunResult result;
  const int64_t events = result.events = config.events;
  RunSync sync(kThreads, 1);
  Disruptor<ValueEvent, Sequencer> disruptor(config.capacity);
  auto& reader = [&]() -> auto& {
    if constexpr (kLossy) {
      return disruptor.AddLossyReader();
    } else {
      return disruptor.AddPoller();
    }
  }
  ();
  if (absl::Status started = disruptor.Start(); !started.ok()) {
    result.error = started.ToString();
    return result;
  }
  int64_t read = 0;
  int64_t missed = 0;
  int64_t wrong = 0;
  std::thread consumer = StartThread("reader", config.CpuFor(1), [&] {
    sync.Arrive();
    int64_t local_read = 0;
    int64_t local_wrong = 0;
    int64_t seen = -1;
    auto handle = [&](ValueEvent& event, int64_t sequence, bool) {
      if (event.value != sequence) ++local_wrong;
      ++local_read;
      seen = sequence;
    };
    while (seen < events - 1) {
      if constexpr (kLossy) {
        missed += reader.WaitPoll(handle, absl::Milliseconds(10)).missed;
      } else {
        (void)reader.WaitPoll(handle, absl::Milliseconds(10));
      }
    }
    sync.Finish();
    read = local_read;
    wrong = local_wrong;
  });
  std::thread producer = StartThread("producer", config.CpuFor(0), [&] {
    sync.ArriveAndWait();
    auto fill = [](ValueEvent& event, int64_t sequence) { event.value = sequence; };
    for (int64_t i = 0; i < events; ++i) {
      if constexpr (kLossy) {
        // Refused only while the reader holds the very slots of its batch in hand.
        while (!disruptor.TryPublish(fill)) CpuRelax();
      } else {
        disruptor.Publish(fill);
      }
    }
  });
  sync.Start();
  result.seconds = sync.WaitFinished();
  producer.join();
  consumer.join();
  ExpectEqual(result.error, "events read with the wrong value", wrong, 0);
  ExpectEqual(result.error, "events read or missed", read + missed, events);
  if (!kLossy) ExpectEqual(result.error, "events missed", missed, 0);
  return result;
}

template <bool kLossy>
RunResult RunRingcastReader(const RunConfig& config) {
  return WithWaitMode(
      config.wait, [&]<class Mode>(Mode) { return RingcastOneToOneReader<Mode, kLossy>(config); });
}

template <int64_t kBatch>
RunResult RunRingcast(const RunConfig& config) {
  return WithWaitMode(config.wait,
                      [&]<class Mode>(Mode) { return RingcastOneToOne<Mode, kBatch>(config); });
}

template <template <class> class Q, int64_t kBatch>
RunResult RunPeer(const RunConfig& config) {
  return WithWaitMode(config.wait, [&]<class Mode>(Mode) {
    return PeerOneToOne<Q<ValueEvent>, Mode, kBatch>(config);
  });
}

template <int64_t kBatch>
void AddTopology(std::string_view scenario, std::vector<Benchmark>& out) {
  out.push_back({scenario, "ringcast", kThreads, &RunRingcast<kBatch>});
  out.push_back(
      {scenario, MutexDequePeer<ValueEvent>::kName, kThreads, &RunPeer<MutexDequePeer, kBatch>});
  out.push_back(
      {scenario, BoostSpscPeer<ValueEvent>::kName, kThreads, &RunPeer<BoostSpscPeer, kBatch>});
  out.push_back(
      {scenario, BoostQueuePeer<ValueEvent>::kName, kThreads, &RunPeer<BoostQueuePeer, kBatch>});
  out.push_back({scenario, MoodycamelRwPeer<ValueEvent>::kName, kThreads,
                 &RunPeer<MoodycamelRwPeer, kBatch>});
  out.push_back({scenario, MoodycamelConcurrentPeer<ValueEvent>::kName, kThreads,
                 &RunPeer<MoodycamelConcurrentPeer, kBatch>});
}

}  // namespace

void AddOneToOneBenchmarks(std::vector<Benchmark>& out) {
  AddTopology<1>(kOneToOne, out);
  AddTopology<10>(kOneToOneBatch, out);
  out.push_back({kOneToOneBatch, RingcastShardedReservePeer<ValueEvent>::kName, kThreads,
                 &RunPeer<RingcastShardedReservePeer, 10>});
  out.push_back({kOneToOneLossy, "ringcast_lossy_reader", kThreads, &RunRingcastReader<true>});
  out.push_back({kOneToOneLossy, "ringcast_poller", kThreads, &RunRingcastReader<false>});
}

}  // namespace ringcast::bench
