// three_to_one: three producer threads hand disjoint ranges of numbers to one consumer, which sums
// them. ringcast runs it twice: through the multi-producer sequencer (one ring, claims contend on
// the cursor) and through ShardedMpscChannel (one single-producer ring per producer).
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/core/channel.h"
#include "bench/core/handlers.h"
#include "bench/core/peer_queues.h"
#include "bench/core/run.h"
#include "bench/core/scenario.h"
#include "ringcast/core/disruptor.h"
#include "ringcast/core/multi_producer_sequencer.h"

namespace ringcast::bench {
namespace {

constexpr std::string_view kThreeToOne = "three_to_one";
constexpr int kProducers = 3;
constexpr int kThreads = kProducers + 1;  // threads 0-2 produce, thread 3 consumes

template <class Mode>
RunResult RingcastThreeToOne(const RunConfig& config) {
  using Sequencer = MultiProducerSequencer<typename Mode::Strategy, typename Mode::ProducerWait>;
  RunResult result;
  const int64_t per_producer = config.events / kProducers;
  result.events = per_producer * kProducers;
  RunSync sync(kThreads, 1);
  SumHandler handler(sync, result.events - 1);
  Disruptor<ValueEvent, Sequencer> disruptor(config.capacity);
  disruptor.HandleEventsWith(
      Stage(handler, {.name = "consumer", .cpu = config.CpuFor(kProducers)}));
  if (absl::Status started = disruptor.Start(); !started.ok()) {
    result.error = started.ToString();
    return result;
  }
  std::array<std::thread, kProducers> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers[p] = StartThread(absl::StrCat("producer-", p), config.CpuFor(p), [&, p] {
      sync.ArriveAndWait();
      const int64_t first = p * per_producer;
      for (int64_t value = first; value < first + per_producer; ++value) {
        disruptor.Publish([value](ValueEvent& event, int64_t) { event.value = value; });
      }
    });
  }
  sync.Start();
  result.seconds = sync.WaitFinished();
  for (std::thread& t : producers) t.join();
  disruptor.Halt();
  ExpectEqual(result.error, "events consumed", handler.count, result.events);
  ExpectEqual(result.error, "sum", handler.sum, SumBelow(result.events));
  return result;
}

template <class Q, class Mode>
RunResult PeerThreeToOne(const RunConfig& config) {
  RunResult result;
  const int64_t per_producer = config.events / kProducers;
  const int64_t events = result.events = per_producer * kProducers;
  Channel<Q, Mode> channel(kProducers, static_cast<std::size_t>(config.capacity));
  RunSync sync(kThreads, 1);
  int64_t sum = 0;
  int64_t count = 0;
  std::thread consumer = StartThread("consumer", config.CpuFor(kProducers), [&] {
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
  std::array<std::thread, kProducers> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers[p] = StartThread(absl::StrCat("producer-", p), config.CpuFor(p), [&, p] {
      sync.ArriveAndWait();
      const int64_t first = p * per_producer;
      for (int64_t value = first; value < first + per_producer; ++value) {
        channel.Push(p, ValueEvent{value});
      }
    });
  }
  sync.Start();
  result.seconds = sync.WaitFinished();
  for (std::thread& t : producers) t.join();
  consumer.join();
  ExpectEqual(result.error, "events consumed", count, events);
  ExpectEqual(result.error, "sum", sum, SumBelow(events));
  return result;
}

RunResult RunRingcast(const RunConfig& config) {
  return WithWaitMode(config.wait,
                      [&]<class Mode>(Mode) { return RingcastThreeToOne<Mode>(config); });
}

template <template <class> class Q>
RunResult RunPeer(const RunConfig& config) {
  return WithWaitMode(
      config.wait, [&]<class Mode>(Mode) { return PeerThreeToOne<Q<ValueEvent>, Mode>(config); });
}

}  // namespace

void AddThreeToOneBenchmarks(std::vector<Benchmark>& out) {
  out.push_back({kThreeToOne, "ringcast", kThreads, &RunRingcast});
  out.push_back({kThreeToOne, RingcastShardedPeer<ValueEvent>::kName, kThreads,
                 &RunPeer<RingcastShardedPeer>});
  out.push_back(
      {kThreeToOne, MutexDequePeer<ValueEvent>::kName, kThreads, &RunPeer<MutexDequePeer>});
  out.push_back(
      {kThreeToOne, BoostQueuePeer<ValueEvent>::kName, kThreads, &RunPeer<BoostQueuePeer>});
  out.push_back({kThreeToOne, MoodycamelConcurrentPeer<ValueEvent>::kName, kThreads,
                 &RunPeer<MoodycamelConcurrentPeer>});
}

}  // namespace ringcast::bench
