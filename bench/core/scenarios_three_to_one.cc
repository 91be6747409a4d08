// three_to_one: three producer threads hand disjoint ranges of numbers to one consumer, which sums
// them. ringcast runs it twice: through the multi-producer sequencer (one ring, claims contend on
// the cursor) and through ShardedMpscChannel (one single-producer ring per producer).
//
// three_to_one_batch: the same, each producer handing over 10 numbers per call: ringcast claims
// and publishes them as one batch (PublishBatch), ShardedMpscChannel reserves and commits them as
// one unit (TryReserve(10), the ringcast_sharded_reserve row) or claims them one by one
// (ringcast_sharded), the peers push them with their bulk calls.
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
constexpr std::string_view kThreeToOneBatch = "three_to_one_batch";
constexpr int kProducers = 3;
constexpr int kThreads = kProducers + 1;  // threads 0-2 produce, thread 3 consumes

template <class Mode, int64_t kBatch>
RunResult RingcastThreeToOne(const RunConfig& config) {
  using Sequencer = MultiProducerSequencer<typename Mode::Strategy, typename Mode::ProducerWait>;
  RunResult result;
  const int64_t per_producer = config.events / kProducers / kBatch * kBatch;
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
      if constexpr (kBatch == 1) {
        for (int64_t value = first; value < first + per_producer; ++value) {
          disruptor.Publish([value](ValueEvent& event, int64_t) { event.value = value; });
        }
      } else {
        for (int64_t value = first; value < first + per_producer; value += kBatch) {
          disruptor.PublishBatch(kBatch, [value](ValueEvent& event, int64_t, int64_t index) {
            event.value = value + index;
          });
        }
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

template <class Q, class Mode, int64_t kBatch>
RunResult PeerThreeToOne(const RunConfig& config) {
  RunResult result;
  const int64_t per_producer = config.events / kProducers / kBatch * kBatch;
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
      if constexpr (kBatch == 1) {
        for (int64_t value = first; value < first + per_producer; ++value) {
          channel.Push(p, ValueEvent{value});
        }
      } else {
        ValueEvent batch[kBatch];
        for (int64_t value = first; value < first + per_producer; value += kBatch) {
          for (int64_t j = 0; j < kBatch; ++j) batch[j].value = value + j;
          channel.Push(p, batch, kBatch);
        }
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

template <int64_t kBatch>
RunResult RunRingcast(const RunConfig& config) {
  return WithWaitMode(config.wait,
                      [&]<class Mode>(Mode) { return RingcastThreeToOne<Mode, kBatch>(config); });
}

template <template <class> class Q, int64_t kBatch>
RunResult RunPeer(const RunConfig& config) {
  return WithWaitMode(config.wait, [&]<class Mode>(Mode) {
    return PeerThreeToOne<Q<ValueEvent>, Mode, kBatch>(config);
  });
}

}  // namespace

void AddThreeToOneBenchmarks(std::vector<Benchmark>& out) {
  out.push_back({kThreeToOne, "ringcast", kThreads, &RunRingcast<1>});
  out.push_back({kThreeToOne, RingcastShardedPeer<ValueEvent>::kName, kThreads,
                 &RunPeer<RingcastShardedPeer, 1>});
  out.push_back(
      {kThreeToOne, MutexDequePeer<ValueEvent>::kName, kThreads, &RunPeer<MutexDequePeer, 1>});
  out.push_back(
      {kThreeToOne, BoostQueuePeer<ValueEvent>::kName, kThreads, &RunPeer<BoostQueuePeer, 1>});
  out.push_back({kThreeToOne, MoodycamelConcurrentPeer<ValueEvent>::kName, kThreads,
                 &RunPeer<MoodycamelConcurrentPeer, 1>});

  constexpr int64_t kBatch = 10;
  out.push_back({kThreeToOneBatch, "ringcast", kThreads, &RunRingcast<kBatch>});
  out.push_back({kThreeToOneBatch, RingcastShardedReservePeer<ValueEvent>::kName, kThreads,
                 &RunPeer<RingcastShardedReservePeer, kBatch>});
  out.push_back({kThreeToOneBatch, RingcastShardedPeer<ValueEvent>::kName, kThreads,
                 &RunPeer<RingcastShardedPeer, kBatch>});
  out.push_back({kThreeToOneBatch, MoodycamelConcurrentPeer<ValueEvent>::kName, kThreads,
                 &RunPeer<MoodycamelConcurrentPeer, kBatch>});
}

}  // namespace ringcast::bench
