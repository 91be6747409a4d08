// A lossy reader: a market-data snapshot that must never slow the feed. When the feed laps it, it
// skips to the oldest tick still in the ring and learns how many it missed.
#include <cstdint>
#include <cstdio>

#include "ringcast/core.h"

struct Tick {
  int64_t price = 0;
};

int main() {
  ringcast::SingleProducerDisruptor<Tick, ringcast::BusySpin> feed(64);
  auto& snapshot = feed.AddLossyReader();
  if (!feed.Start().ok()) return 1;

  // The feed publishes 1000 ticks while nobody reads: with a reliable consumer it would stop at
  // 64; with only a lossy reader it never waits.
  for (int64_t i = 0; i < 1000; ++i) {
    if (!feed.TryPublish([i](Tick& t, int64_t) { t.price = 100 + i; })) return 1;
  }
  int64_t last_price = 0;
  ringcast::LossyPoll poll =
      snapshot.Poll([&](Tick& t, int64_t, bool) { last_price = t.price; }, 1000);
  std::printf("read %lld ticks, missed %lld, last price %lld\n",
              static_cast<long long>(poll.handled), static_cast<long long>(poll.missed),
              static_cast<long long>(last_price));
  return poll.handled == 64 && poll.missed == 936 && last_price == 1099 ? 0 : 1;
}
