// one_to_three_diamond: LMAX's FizzBuzz. One producer; `fizz` and `buzz` see every event in
// parallel and each sets one flag; `fizzbuzz` sees an event only after both and counts the events
// with both flags set (the multiples of 15), so a stage that ran ahead shows in the count.
//
// ringcast runs it on one ring with the DSL's After(fizz, buzz).Then(fizzbuzz). The queues need
// four: producer -> fizz, producer -> buzz, fizz -> fizzbuzz, buzz -> fizzbuzz.
#include <cstdint>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/optimization.h"
#include "bench/core/channel.h"
#include "bench/core/peer_queues.h"
#include "bench/core/run.h"
#include "bench/core/scenario.h"
#include "ringcast/core/disruptor.h"
#include "ringcast/core/single_producer_sequencer.h"

namespace ringcast::bench {
namespace {

constexpr std::string_view kDiamond = "one_to_three_diamond";
constexpr int kThreads = 4;  // producer, fizz, buzz, fizzbuzz

bool IsFizz(int64_t value) { return value % 3 == 0; }
bool IsBuzz(int64_t value) { return value % 5 == 0; }

// What fizzbuzz must count among 0 .. events-1: the multiples of 15, and their sum.
int64_t ExpectedFizzBuzzCount(int64_t events) { return (events + 14) / 15; }
int64_t ExpectedFizzBuzzSum(int64_t events) { return 15 * SumBelow(ExpectedFizzBuzzCount(events)); }

struct alignas(kCacheLineSize) FizzHandler {
  explicit FizzHandler(RunSync& s) : sync(&s) {}
  void OnStart() { sync->Arrive(); }
  void OnEvent(FizzBuzzEvent& event, int64_t, bool) { event.fizz = IsFizz(event.value); }
  RunSync* sync;
};

struct alignas(kCacheLineSize) BuzzHandler {
  explicit BuzzHandler(RunSync& s) : sync(&s) {}
  void OnStart() { sync->Arrive(); }
  void OnEvent(FizzBuzzEvent& event, int64_t, bool) { event.buzz = IsBuzz(event.value); }
  RunSync* sync;
};

struct alignas(kCacheLineSize) FizzBuzzHandler {
  FizzBuzzHandler(RunSync& s, int64_t last_sequence) : sync(&s), last(last_sequence) {}
  void OnStart() { sync->Arrive(); }
  void OnEvent(const FizzBuzzEvent& event, int64_t sequence, bool) {
    if (event.fizz && event.buzz) {
      ++fizzbuzz;
      sum += event.value;
    }
    ++count;
    if (ABSL_PREDICT_FALSE(sequence == last)) sync->Finish();
  }
  RunSync* sync;
  int64_t last;
  int64_t fizzbuzz = 0;
  int64_t sum = 0;
  int64_t count = 0;
};

void CheckFizzBuzz(RunResult& result, int64_t count, int64_t fizzbuzz, int64_t sum) {
  ExpectEqual(result.error, "events at fizzbuzz", count, result.events);
  ExpectEqual(result.error, "fizzbuzz count", fizzbuzz, ExpectedFizzBuzzCount(result.events));
  ExpectEqual(result.error, "fizzbuzz sum", sum, ExpectedFizzBuzzSum(result.events));
}

template <class Mode>
RunResult RingcastDiamond(const RunConfig& config) {
  using Sequencer = SingleProducerSequencer<typename Mode::Strategy, typename Mode::ProducerWait>;
  RunResult result;
  result.events = config.events;
  RunSync sync(kThreads, 1);
  FizzHandler fizz(sync);
  BuzzHandler buzz(sync);
  FizzBuzzHandler fizzbuzz(sync, result.events - 1);
  Disruptor<FizzBuzzEvent, Sequencer> disruptor(config.capacity);
  disruptor.HandleEventsWith(Stage(fizz, {.name = "fizz", .cpu = config.CpuFor(1)}),
                             Stage(buzz, {.name = "buzz", .cpu = config.CpuFor(2)}));
  disruptor.After(fizz, buzz).Then(Stage(fizzbuzz, {.name = "fizzbuzz", .cpu = config.CpuFor(3)}));
  if (absl::Status started = disruptor.Start(); !started.ok()) {
    result.error = started.ToString();
    return result;
  }
  std::thread producer = StartThread("producer", config.CpuFor(0), [&] {
    sync.ArriveAndWait();
    for (int64_t i = 0; i < result.events; ++i) {
      disruptor.Publish([](FizzBuzzEvent& event, int64_t sequence) { event.value = sequence; });
    }
  });
  sync.Start();
  result.seconds = sync.WaitFinished();
  producer.join();
  disruptor.Halt();
  CheckFizzBuzz(result, fizzbuzz.count, fizzbuzz.fizzbuzz, fizzbuzz.sum);
  return result;
}

// One of the two parallel stages of the queue diamond: sets its flag and forwards.
template <class C, class Flag>
std::thread StartPeerStage(const char* name, int cpu, RunSync& sync, int64_t events, C& in, C& out,
                           Flag flag) {
  return StartThread(name, cpu, [&sync, events, &in, &out, flag] {
    sync.Arrive();
    FizzBuzzEvent forward[kPopBuffer];
    for (int64_t count = 0; count < events;) {
      std::size_t n = 0;
      in.Consume([&](FizzBuzzEvent& event) {
        forward[n] = event;
        flag(forward[n]);
        ++n;
      });
      out.Push(0, forward, n);
      count += static_cast<int64_t>(n);
    }
  });
}

template <class Q, class Mode>
RunResult PeerDiamond(const RunConfig& config) {
  using C = Channel<Q, Mode>;
  RunResult result;
  const int64_t events = result.events = config.events;
  const auto capacity = static_cast<std::size_t>(config.capacity);
  C to_fizz(1, capacity), to_buzz(1, capacity), from_fizz(1, capacity), from_buzz(1, capacity);
  RunSync sync(kThreads, 1);
  std::thread fizz = StartPeerStage("fizz", config.CpuFor(1), sync, events, to_fizz, from_fizz,
                                    [](FizzBuzzEvent& e) { e.fizz = IsFizz(e.value); });
  std::thread buzz = StartPeerStage("buzz", config.CpuFor(2), sync, events, to_buzz, from_buzz,
                                    [](FizzBuzzEvent& e) { e.buzz = IsBuzz(e.value); });
  int64_t count = 0;
  int64_t fizzbuzz_count = 0;
  int64_t sum = 0;
  int64_t mismatched = 0;
  std::thread fizzbuzz = StartThread("fizzbuzz", config.CpuFor(3), [&] {
    sync.Arrive();
    // Both inputs are FIFO, so the n-th event from fizz pairs with the n-th from buzz.
    FizzBuzzEvent fizzed[kPopBuffer];
    while (count < events) {
      std::size_t n = 0;
      from_fizz.Consume([&](FizzBuzzEvent& event) { fizzed[n++] = event; });
      for (std::size_t matched = 0; matched < n;) {
        from_buzz.Consume(
            [&](FizzBuzzEvent& buzzed) {
              const FizzBuzzEvent& f = fizzed[matched++];
              if (ABSL_PREDICT_FALSE(f.value != buzzed.value)) ++mismatched;
              if (f.fizz && buzzed.buzz) {
                ++fizzbuzz_count;
                sum += f.value;
              }
            },
            n - matched);
      }
      count += static_cast<int64_t>(n);
    }
    sync.Finish();
  });
  std::thread producer = StartThread("producer", config.CpuFor(0), [&] {
    sync.ArriveAndWait();
    for (int64_t i = 0; i < events; ++i) {
      const FizzBuzzEvent event{.value = i};
      to_fizz.Push(0, event);
      to_buzz.Push(0, event);
    }
  });
  sync.Start();
  result.seconds = sync.WaitFinished();
  for (std::thread* t : {&producer, &fizz, &buzz, &fizzbuzz}) t->join();
  ExpectEqual(result.error, "fizz and buzz out of step", mismatched, 0);
  CheckFizzBuzz(result, count, fizzbuzz_count, sum);
  return result;
}

RunResult RunRingcast(const RunConfig& config) {
  return WithWaitMode(config.wait, [&]<class Mode>(Mode) { return RingcastDiamond<Mode>(config); });
}

template <template <class> class Q>
RunResult RunPeer(const RunConfig& config) {
  return WithWaitMode(
      config.wait, [&]<class Mode>(Mode) { return PeerDiamond<Q<FizzBuzzEvent>, Mode>(config); });
}

}  // namespace

void AddDiamondBenchmarks(std::vector<Benchmark>& out) {
  out.push_back({kDiamond, "ringcast", kThreads, &RunRingcast});
  // Every queue of the diamond has one producer and one consumer, so the SPSC queues qualify.
  out.push_back(
      {kDiamond, MutexDequePeer<FizzBuzzEvent>::kName, kThreads, &RunPeer<MutexDequePeer>});
  out.push_back({kDiamond, BoostSpscPeer<FizzBuzzEvent>::kName, kThreads, &RunPeer<BoostSpscPeer>});
  out.push_back(
      {kDiamond, BoostQueuePeer<FizzBuzzEvent>::kName, kThreads, &RunPeer<BoostQueuePeer>});
  out.push_back(
      {kDiamond, MoodycamelRwPeer<FizzBuzzEvent>::kName, kThreads, &RunPeer<MoodycamelRwPeer>});
  out.push_back({kDiamond, MoodycamelConcurrentPeer<FizzBuzzEvent>::kName, kThreads,
                 &RunPeer<MoodycamelConcurrentPeer>});
}

}  // namespace ringcast::bench
