// Many producers, one consumer, through ShardedMpscChannel: each producer reserves a run of slots,
// fills them and commits them at once; the consumer drains with a total limit.
#include <cstdint>
#include <cstdio>
#include <thread>
#include <vector>

#include "ringcast/core.h"

struct Reading {
  int64_t sensor = 0;
  int64_t value = 0;
};

int main() {
  ringcast::ShardedMpscChannel<Reading, ringcast::ChannelCounters> channel(
      ringcast::ShardedMpscChannelOptions::LowLatency());
  constexpr int kProducers = 3;
  constexpr int64_t kBatches = 1000;
  constexpr std::size_t kBatch = 4;

  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&channel, p] {
      auto producer = channel.RegisterProducer();  // the shard is allocated now, not before
      if (!producer.ok()) return;
      for (int64_t b = 0; b < kBatches;) {
        auto run = producer->TryReserve(kBatch);  // all kBatch slots, or none
        if (!run) {
          std::this_thread::yield();  // the shard is full: the consumer is behind
          continue;
        }
        for (std::size_t i = 0; i < run.size(); ++i) {
          run[i] = Reading{.sensor = p,
                           .value = b * static_cast<int64_t>(kBatch) + static_cast<int64_t>(i)};
        }
        run.Commit();  // the consumer sees the whole run or nothing of it
        ++b;
      }
    });
  }

  const int64_t expected = kProducers * kBatches * static_cast<int64_t>(kBatch);
  int64_t received = 0;
  while (received < expected) {
    // At most 1000 readings per call, over every producer together.
    received += static_cast<int64_t>(channel.Drain([](Reading&) {}, 1000));
  }
  for (auto& t : producers) t.join();
  const ringcast::ChannelStats stats = channel.Stats();
  std::printf("received %lld readings; committed %llu, drained %llu, shards %zu\n",
              static_cast<long long>(received), static_cast<unsigned long long>(stats.committed),
              static_cast<unsigned long long>(stats.drained), stats.allocated);
  return received == expected ? 0 : 1;
}
