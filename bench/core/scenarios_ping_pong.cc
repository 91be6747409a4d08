// ping_pong: round-trip latency. The pinger sends a number down one ring (or queue), the ponger
// sends it back up another, and the pinger times each trip into a histogram before sending the
// next. One event is in flight at a time, so this measures the hand-over latency of an idle
// channel, wake-ups included, which throughput runs hide.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/optimization.h"
#include "bench/common/latency_histogram.h"
#include "bench/core/channel.h"
#include "bench/core/peer_queues.h"
#include "bench/core/run.h"
#include "bench/core/scenario.h"
#include "ringcast/core/disruptor.h"
#include "ringcast/core/single_producer_sequencer.h"

namespace ringcast::bench {
namespace {

constexpr std::string_view kPingPong = "ping_pong";
constexpr int kThreads = 2;  // thread 0 pings, thread 1 pongs

int64_t NanosSince(Clock::time_point start, Clock::time_point end) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count();
}

template <class Mode>
using RingcastDisruptor =
    Disruptor<ValueEvent,
              SingleProducerSequencer<typename Mode::Strategy, typename Mode::ProducerWait>>;

// Runs on the pong ring's processor and publishes on the ping ring: it is the ping ring's only
// producer. It sends the first ping when the clock starts.
template <class Mode>
struct alignas(kCacheLineSize) Pinger {
  void OnStart() {
    sync->ArriveAndWait();
    Send();
  }
  void OnEvent(const ValueEvent& pong, int64_t, bool) {
    const Clock::time_point now = Clock::now();
    histogram.Record(NanosSince(sent, now));
    if (ABSL_PREDICT_FALSE(pong.value != received)) ++out_of_order;
    if (++received == round_trips) {
      sync->Finish();
      return;
    }
    Send();
  }
  void Send() {
    sent = Clock::now();
    ping->Publish([value = received](ValueEvent& event, int64_t) { event.value = value; });
  }

  RunSync* sync = nullptr;
  RingcastDisruptor<Mode>* ping = nullptr;
  int64_t round_trips = 0;
  int64_t received = 0;
  int64_t out_of_order = 0;
  Clock::time_point sent;
  LatencyHistogram histogram;
};

// Runs on the ping ring's processor and echoes each ping on the pong ring (its only producer).
template <class Mode>
struct alignas(kCacheLineSize) Ponger {
  void OnStart() { sync->Arrive(); }
  void OnEvent(const ValueEvent& ping, int64_t, bool) {
    pong->Publish([value = ping.value](ValueEvent& event, int64_t) { event.value = value; });
  }

  RunSync* sync = nullptr;
  RingcastDisruptor<Mode>* pong = nullptr;
};

template <class Mode>
RunResult RingcastPingPong(const RunConfig& config) {
  RunResult result;
  result.events = config.events;
  RunSync sync(kThreads, 1);
  // Handlers first: they must outlive the disruptors whose threads call them.
  auto pinger = std::make_unique<Pinger<Mode>>();  // the histogram is large for a stack
  Ponger<Mode> ponger;
  RingcastDisruptor<Mode> ping(config.capacity);
  RingcastDisruptor<Mode> pong(config.capacity);
  pinger->sync = &sync;
  pinger->ping = &ping;
  pinger->round_trips = result.events;
  ponger.sync = &sync;
  ponger.pong = &pong;
  pong.HandleEventsWith(Stage(*pinger, {.name = "pinger", .cpu = config.CpuFor(0)}));
  ping.HandleEventsWith(Stage(ponger, {.name = "ponger", .cpu = config.CpuFor(1)}));
  for (auto* d : {&ping, &pong}) {
    if (absl::Status started = d->Start(); !started.ok()) {
      result.error = started.ToString();
      return result;
    }
  }
  sync.Start();
  result.seconds = sync.WaitFinished();
  ping.Halt();
  pong.Halt();
  ExpectEqual(result.error, "round trips", pinger->received, result.events);
  ExpectEqual(result.error, "pongs out of order", pinger->out_of_order, 0);
  result.latency = pinger->histogram.Summarize();
  return result;
}

template <class Q, class Mode>
RunResult PeerPingPong(const RunConfig& config) {
  using C = Channel<Q, Mode>;
  RunResult result;
  const int64_t round_trips = result.events = config.events;
  C ping(1, static_cast<std::size_t>(config.capacity));
  C pong(1, static_cast<std::size_t>(config.capacity));
  RunSync sync(kThreads, 1);
  auto histogram = std::make_unique<LatencyHistogram>();
  int64_t received = 0;
  int64_t out_of_order = 0;
  std::thread ponger = StartThread("ponger", config.CpuFor(1), [&] {
    sync.Arrive();
    for (int64_t echoed = 0; echoed < round_trips;) {
      echoed +=
          static_cast<int64_t>(ping.Consume([&](ValueEvent& event) { pong.Push(0, event); }, 1));
    }
  });
  std::thread pinger = StartThread("pinger", config.CpuFor(0), [&] {
    sync.ArriveAndWait();
    while (received < round_trips) {
      const Clock::time_point sent = Clock::now();
      ping.Push(0, ValueEvent{received});
      pong.Consume(
          [&](ValueEvent& event) {
            histogram->Record(NanosSince(sent, Clock::now()));
            if (ABSL_PREDICT_FALSE(event.value != received)) ++out_of_order;
          },
          1);
      ++received;
    }
    sync.Finish();
  });
  sync.Start();
  result.seconds = sync.WaitFinished();
  pinger.join();
  ponger.join();
  ExpectEqual(result.error, "round trips", received, round_trips);
  ExpectEqual(result.error, "pongs out of order", out_of_order, 0);
  result.latency = histogram->Summarize();
  return result;
}

RunResult RunRingcast(const RunConfig& config) {
  return WithWaitMode(config.wait,
                      [&]<class Mode>(Mode) { return RingcastPingPong<Mode>(config); });
}

template <template <class> class Q>
RunResult RunPeer(const RunConfig& config) {
  return WithWaitMode(config.wait,
                      [&]<class Mode>(Mode) { return PeerPingPong<Q<ValueEvent>, Mode>(config); });
}

}  // namespace

void AddPingPongBenchmarks(std::vector<Benchmark>& out) {
  out.push_back({kPingPong, "ringcast", kThreads, &RunRingcast});
  out.push_back({kPingPong, MutexDequePeer<ValueEvent>::kName, kThreads, &RunPeer<MutexDequePeer>});
  out.push_back({kPingPong, BoostSpscPeer<ValueEvent>::kName, kThreads, &RunPeer<BoostSpscPeer>});
  out.push_back({kPingPong, BoostQueuePeer<ValueEvent>::kName, kThreads, &RunPeer<BoostQueuePeer>});
  out.push_back(
      {kPingPong, MoodycamelRwPeer<ValueEvent>::kName, kThreads, &RunPeer<MoodycamelRwPeer>});
  out.push_back({kPingPong, MoodycamelConcurrentPeer<ValueEvent>::kName, kThreads,
                 &RunPeer<MoodycamelConcurrentPeer>});
}

}  // namespace ringcast::bench
