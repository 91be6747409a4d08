// A DAG of stages: decode feeds risk and audit in parallel; settle runs after both, and a
// reporting poller after settle.
//
//   publish ──► decode ──┬──► risk  ──┬──► settle ──► report (poller)
//                        └──► audit ──┘
#include <cstdint>
#include <cstdio>

#include "ringcast/core.h"

struct Order {
  int64_t raw = 0;
  int64_t amount = 0;     // written by decode
  bool approved = false;  // written by risk
  bool settled = false;   // written by settle
};

struct Audit {
  int64_t seen = 0;
  void OnEvent(const Order&, int64_t, bool) { ++seen; }
};

int main() {
  auto orders = ringcast::DisruptorBuilder<Order>(512)
                    .SingleProducer()
                    .WaitWith(ringcast::Yielding())
                    .Build();
  auto decode = [](Order& o, int64_t, bool) { o.amount = o.raw * 10; };
  auto risk = [](Order& o, int64_t, bool) { o.approved = o.amount < 5'000; };
  Audit audit;
  orders.HandleEventsWith(decode);
  orders.After(decode).HandleEventsWith(risk, audit);
  auto& report = orders.After(risk, audit)
                     .Then([](Order& o, int64_t, bool) { o.settled = o.approved; })
                     .AddPoller();
  if (!orders.Start().ok()) return 1;

  int64_t settled = 0;
  int64_t seen = 0;
  auto tally = [&](Order& o, int64_t, bool) {
    settled += o.settled ? 1 : 0;
    ++seen;
  };
  for (int64_t i = 0; i < 1000; ++i) {
    // This thread is both the producer and the reporter: when the ring is full it reports.
    while (!orders.TryPublish([i](Order& o, int64_t) { o.raw = i; })) {
      (void)report.WaitPoll(tally, absl::Milliseconds(10));
    }
  }
  while (seen < 1000) (void)report.WaitPoll(tally, absl::Seconds(1));
  if (!orders.Shutdown(absl::Seconds(5)).ok()) return 1;
  std::printf("seen %lld, settled %lld, audited %lld\n", static_cast<long long>(seen),
              static_cast<long long>(settled), static_cast<long long>(audit.seen));
  return settled == 500 && audit.seen == 1000 ? 0 : 1;
}
