// one_to_three_multicast: one producer, three consumers that each see every event and sum it.
// one_to_three_pipeline: one producer, three consumers in a chain; the first two add one to each
// value, the last sums, so a step that ran ahead of the one before it shows in the sum.
//
// ringcast runs both on one ring (the consumers share the slots); the queues need one queue per
// consumer (multicast: the producer pushes each event three times) or per hop (pipeline).
#include <array>
#include <cstdint>
#include <memory>
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
#include "ringcast/core/single_producer_sequencer.h"

namespace ringcast::bench {
namespace {

constexpr std::string_view kMulticast = "one_to_three_multicast";
constexpr std::string_view kPipeline = "one_to_three_pipeline";
constexpr int kConsumers = 3;
constexpr int kThreads = kConsumers + 1;  // thread 0 produces, threads 1-3 consume

template <class Mode>
using RingcastDisruptor =
    Disruptor<ValueEvent,
              SingleProducerSequencer<typename Mode::Strategy, typename Mode::ProducerWait>>;

StageOptions ConsumerStage(const RunConfig& config, int consumer) {
  return {.name = absl::StrCat("consumer-", consumer), .cpu = config.CpuFor(1 + consumer)};
}

// Publishes 0 .. events-1 once the clock starts.
template <class D>
std::thread StartRingcastProducer(const RunConfig& config, RunSync& sync, D& disruptor,
                                  int64_t events) {
  return StartThread("producer", config.CpuFor(0), [&sync, &disruptor, events] {
    sync.ArriveAndWait();
    for (int64_t i = 0; i < events; ++i) {
      disruptor.Publish([](ValueEvent& event, int64_t sequence) { event.value = sequence; });
    }
  });
}

template <class Mode>
RunResult RingcastMulticast(const RunConfig& config) {
  RunResult result;
  result.events = config.events;
  RunSync sync(kThreads, kConsumers);
  std::array<std::unique_ptr<SumHandler>, kConsumers> handlers;
  for (auto& h : handlers) h = std::make_unique<SumHandler>(sync, result.events - 1);
  RingcastDisruptor<Mode> disruptor(config.capacity);
  disruptor.HandleEventsWith(Stage(*handlers[0], ConsumerStage(config, 0)),
                             Stage(*handlers[1], ConsumerStage(config, 1)),
                             Stage(*handlers[2], ConsumerStage(config, 2)));
  if (absl::Status started = disruptor.Start(); !started.ok()) {
    result.error = started.ToString();
    return result;
  }
  std::thread producer = StartRingcastProducer(config, sync, disruptor, result.events);
  sync.Start();
  result.seconds = sync.WaitFinished();
  producer.join();
  disruptor.Halt();
  for (int c = 0; c < kConsumers; ++c) {
    ExpectEqual(result.error, absl::StrCat("consumer ", c, " events"), handlers[c]->count,
                result.events);
    ExpectEqual(result.error, absl::StrCat("consumer ", c, " sum"), handlers[c]->sum,
                SumBelow(result.events));
  }
  return result;
}

template <class Mode>
RunResult RingcastPipeline(const RunConfig& config) {
  RunResult result;
  result.events = config.events;
  RunSync sync(kThreads, 1);
  IncrementHandler step1(sync);
  IncrementHandler step2(sync);
  SumHandler step3(sync, result.events - 1);
  RingcastDisruptor<Mode> disruptor(config.capacity);
  disruptor.HandleEventsWith(Stage(step1, ConsumerStage(config, 0)))
      .Then(Stage(step2, ConsumerStage(config, 1)))
      .Then(Stage(step3, ConsumerStage(config, 2)));
  if (absl::Status started = disruptor.Start(); !started.ok()) {
    result.error = started.ToString();
    return result;
  }
  std::thread producer = StartRingcastProducer(config, sync, disruptor, result.events);
  sync.Start();
  result.seconds = sync.WaitFinished();
  producer.join();
  disruptor.Halt();
  ExpectEqual(result.error, "events at the last step", step3.count, result.events);
  ExpectEqual(result.error, "sum at the last step", step3.sum,
              SumBelow(result.events) + 2 * result.events);
  return result;
}

// Totals of one consumer thread, on their own cache lines.
struct alignas(kCacheLineSize) ConsumerTotals {
  int64_t sum = 0;
  int64_t count = 0;
};

template <class C>
std::array<std::unique_ptr<C>, kConsumers> MakeChannels(const RunConfig& config) {
  std::array<std::unique_ptr<C>, kConsumers> channels;
  for (auto& c : channels) c = std::make_unique<C>(1, static_cast<std::size_t>(config.capacity));
  return channels;
}

template <class Q, class Mode>
RunResult PeerMulticast(const RunConfig& config) {
  using C = Channel<Q, Mode>;
  RunResult result;
  const int64_t events = result.events = config.events;
  auto channels = MakeChannels<C>(config);
  RunSync sync(kThreads, kConsumers);
  std::array<ConsumerTotals, kConsumers> totals;
  std::array<std::thread, kConsumers> consumers;
  for (int c = 0; c < kConsumers; ++c) {
    consumers[c] = StartThread(absl::StrCat("consumer-", c), config.CpuFor(1 + c), [&, c] {
      sync.Arrive();
      int64_t sum = 0;
      int64_t count = 0;
      while (count < events) {
        count += static_cast<int64_t>(
            channels[c]->Consume([&](ValueEvent& event) { sum += event.value; }));
      }
      sync.Finish();
      totals[c] = {sum, count};
    });
  }
  std::thread producer = StartThread("producer", config.CpuFor(0), [&] {
    sync.ArriveAndWait();
    for (int64_t i = 0; i < events; ++i) {
      for (auto& channel : channels) channel->Push(0, ValueEvent{i});
    }
  });
  sync.Start();
  result.seconds = sync.WaitFinished();
  producer.join();
  for (std::thread& t : consumers) t.join();
  for (int c = 0; c < kConsumers; ++c) {
    ExpectEqual(result.error, absl::StrCat("consumer ", c, " events"), totals[c].count, events);
    ExpectEqual(result.error, absl::StrCat("consumer ", c, " sum"), totals[c].sum,
                SumBelow(events));
  }
  return result;
}

template <class Q, class Mode>
RunResult PeerPipeline(const RunConfig& config) {
  using C = Channel<Q, Mode>;
  RunResult result;
  const int64_t events = result.events = config.events;
  auto hops = MakeChannels<C>(config);  // producer -> step 1 -> step 2 -> step 3
  RunSync sync(kThreads, 1);
  ConsumerTotals last;
  std::array<std::thread, kConsumers> steps;
  for (int s = 0; s < kConsumers - 1; ++s) {
    steps[s] = StartThread(absl::StrCat("consumer-", s), config.CpuFor(1 + s), [&, s] {
      sync.Arrive();
      // Forward what one Consume hands over with one Push: each queue at its bulk best.
      ValueEvent out[kPopBuffer];
      std::size_t n = 0;
      for (int64_t count = 0; count < events;) {
        n = 0;
        hops[s]->Consume([&](ValueEvent& event) { out[n++] = ValueEvent{event.value + 1}; });
        hops[s + 1]->Push(0, out, n);
        count += static_cast<int64_t>(n);
      }
    });
  }
  steps[kConsumers - 1] =
      StartThread(absl::StrCat("consumer-", kConsumers - 1), config.CpuFor(kConsumers), [&] {
        sync.Arrive();
        int64_t sum = 0;
        int64_t count = 0;
        while (count < events) {
          count += static_cast<int64_t>(
              hops[kConsumers - 1]->Consume([&](ValueEvent& event) { sum += event.value; }));
        }
        sync.Finish();
        last = {sum, count};
      });
  std::thread producer = StartThread("producer", config.CpuFor(0), [&] {
    sync.ArriveAndWait();
    for (int64_t i = 0; i < events; ++i) hops[0]->Push(0, ValueEvent{i});
  });
  sync.Start();
  result.seconds = sync.WaitFinished();
  producer.join();
  for (std::thread& t : steps) t.join();
  ExpectEqual(result.error, "events at the last step", last.count, events);
  ExpectEqual(result.error, "sum at the last step", last.sum, SumBelow(events) + 2 * events);
  return result;
}

RunResult RunRingcastMulticast(const RunConfig& config) {
  return WithWaitMode(config.wait,
                      [&]<class Mode>(Mode) { return RingcastMulticast<Mode>(config); });
}
RunResult RunRingcastPipeline(const RunConfig& config) {
  return WithWaitMode(config.wait,
                      [&]<class Mode>(Mode) { return RingcastPipeline<Mode>(config); });
}
template <template <class> class Q>
RunResult RunPeerMulticast(const RunConfig& config) {
  return WithWaitMode(config.wait,
                      [&]<class Mode>(Mode) { return PeerMulticast<Q<ValueEvent>, Mode>(config); });
}
template <template <class> class Q>
RunResult RunPeerPipeline(const RunConfig& config) {
  return WithWaitMode(config.wait,
                      [&]<class Mode>(Mode) { return PeerPipeline<Q<ValueEvent>, Mode>(config); });
}

// Every hop of both topologies has one producer and one consumer, so the SPSC queues qualify.
template <template <class> class Q>
void AddPeer(std::vector<Benchmark>& multicast, std::vector<Benchmark>& pipeline) {
  multicast.push_back({kMulticast, Q<ValueEvent>::kName, kThreads, &RunPeerMulticast<Q>});
  pipeline.push_back({kPipeline, Q<ValueEvent>::kName, kThreads, &RunPeerPipeline<Q>});
}

}  // namespace

void AddOneToThreeBenchmarks(std::vector<Benchmark>& out) {
  std::vector<Benchmark> multicast = {{kMulticast, "ringcast", kThreads, &RunRingcastMulticast}};
  std::vector<Benchmark> pipeline = {{kPipeline, "ringcast", kThreads, &RunRingcastPipeline}};
  AddPeer<MutexDequePeer>(multicast, pipeline);
  AddPeer<BoostSpscPeer>(multicast, pipeline);
  AddPeer<BoostQueuePeer>(multicast, pipeline);
  AddPeer<MoodycamelRwPeer>(multicast, pipeline);
  AddPeer<MoodycamelConcurrentPeer>(multicast, pipeline);
  out.insert(out.end(), multicast.begin(), multicast.end());
  out.insert(out.end(), pipeline.begin(), pipeline.end());
}

}  // namespace ringcast::bench
