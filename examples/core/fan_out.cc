// Independent readers fanning out: every handler sees every event, each on its own thread.
// Closures are handlers; the disruptor owns the ones written in place.
#include <atomic>
#include <cstdint>
#include <cstdio>

#include "ringcast/core.h"

struct Trade {
  int64_t price = 0;
  int64_t quantity = 0;
};

int main() {
  std::atomic<int64_t> journaled{0};
  std::atomic<int64_t> volume{0};
  std::atomic<int64_t> notional{0};
  {
    ringcast::MultiProducerDisruptor<Trade> trades(256);
    trades.HandleEventsWith(
        [&](Trade&, int64_t, bool) { journaled.fetch_add(1, std::memory_order_relaxed); },
        [&](Trade& t, int64_t, bool) { volume.fetch_add(t.quantity, std::memory_order_relaxed); },
        [&](Trade& t, int64_t, bool) {
          notional.fetch_add(t.price * t.quantity, std::memory_order_relaxed);
        });
    if (!trades.Start().ok()) return 1;
    for (int64_t i = 0; i < 1000; ++i) {
      trades.Publish([i](Trade& t, int64_t) {
        t.price = 100 + i % 7;
        t.quantity = 1 + i % 3;
      });
    }
  }  // destroying a running disruptor drains it first (bounded), then stops the threads
  std::printf("journaled %lld, volume %lld, notional %lld\n",
              static_cast<long long>(journaled.load()), static_cast<long long>(volume.load()),
              static_cast<long long>(notional.load()));
  return journaled.load() == 1000 ? 0 : 1;
}
