// The core library on its own: a diamond of stages over one ring, fed by two producer threads.
//
//   producers ──► ring ──► parse ──┐
//                      └─► audit ──┴─► total
//
// `parse` and `audit` see every event in parallel; `total` sees an event only after both.
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>

#include "ringcast/core.h"

namespace {

struct Order {
  std::string symbol;  // keeps its capacity across laps: no allocation in the steady state
  int64_t quantity = 0;
  int64_t notional = 0;  // written by `parse`, read by `total`
};

struct Parse {
  void OnEvent(Order& order, int64_t, bool) { order.notional = order.quantity * 100; }
};

struct Audit {
  int64_t seen = 0;
  void OnEvent(const Order&, int64_t, bool) { ++seen; }
};

struct Total {
  int64_t notional = 0;
  int64_t batches = 0;
  void OnEvent(const Order& order, int64_t, bool end_of_batch) {
    notional += order.notional;
    if (end_of_batch) ++batches;
  }
};

}  // namespace

int main() {
  constexpr int kPerProducer = 100'000;
  ringcast::Disruptor<Order, ringcast::MultiProducerSequencer<ringcast::Blocking>> disruptor(1024);
  Parse parse;
  Audit audit;
  Total total;
  disruptor.HandleEventsWith(ringcast::Stage(parse, {.name = "parse"}),
                             ringcast::Stage(audit, {.name = "audit"}));
  disruptor.After(parse, audit).Then(ringcast::Stage(total, {.name = "total"}));
  if (absl::Status started = disruptor.Start(); !started.ok()) {
    std::fprintf(stderr, "%s\n", started.ToString().c_str());
    return 1;
  }

  auto produce = [&] {
    for (int i = 0; i < kPerProducer; ++i) {
      disruptor.Publish([](Order& order, int64_t) {
        order.symbol.assign("ACME");
        order.quantity = 1;
      });
    }
  };
  std::thread first(produce), second(produce);
  first.join();
  second.join();

  if (absl::Status drained = disruptor.Shutdown(absl::Seconds(10)); !drained.ok()) {
    std::fprintf(stderr, "%s\n", drained.ToString().c_str());
    return 1;
  }
  std::printf("events %lld, audited %lld, notional %lld, in %lld batches\n",
              static_cast<long long>(disruptor.Cursor() + 1), static_cast<long long>(audit.seen),
              static_cast<long long>(total.notional), static_cast<long long>(total.batches));
  return total.notional == 2LL * kPerProducer * 100 ? 0 : 1;
}
