#include <cstdint>
#include <cstdio>

#include "ringcast/core.h"

struct Tick {
  int64_t price = 0;
};

struct Summer {  // any type with OnEvent(E&, int64_t sequence, bool end_of_batch)
  int64_t total = 0;
  void OnEvent(const Tick& tick, int64_t /*sequence*/, bool /*end_of_batch*/) {
    total += tick.price;
  }
};

int main() {
  // One producer thread, consumers that park when idle.
  ringcast::Disruptor<Tick, ringcast::SingleProducerSequencer<ringcast::Blocking>> disruptor(1024);
  Summer summer;
  disruptor.HandleEventsWith(summer);
  if (!disruptor.Start().ok()) return 1;

  for (int64_t i = 1; i <= 1'000'000; ++i) {
    disruptor.Publish([i](Tick& tick, int64_t /*sequence*/) { tick.price = i; });
  }

  // Drain everything published, then stop the stage threads.
  if (absl::Status s = disruptor.Shutdown(absl::Seconds(5)); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("total %lld\n", static_cast<long long>(summer.total));
  return summer.total == 500'000'500'000 ? 0 : 1;
}
