// A pipe: one producer thread, one consumer that receives like a channel, waiting with a timeout.
#include <cstdint>
#include <cstdio>
#include <thread>

#include "ringcast/core.h"

int main() {
  auto pipe = ringcast::DisruptorBuilder<int64_t>(1024).SingleProducer().Build();
  auto& receiver = pipe.AddPoller();  // a pull consumer: the caller's thread drives it
  if (!pipe.Start().ok()) return 1;   // no stage threads: the poller is the only consumer

  std::thread producer([&] {
    for (int64_t i = 1; i <= 10'000; ++i) pipe.Publish([i](int64_t& slot, int64_t) { slot = i; });
  });
  int64_t sum = 0;
  int64_t received = 0;
  while (received < 10'000) {
    receiver.WaitPoll(
        [&](int64_t& value, int64_t /*sequence*/, bool /*end_of_batch*/) {
          sum += value;
          ++received;
        },
        absl::Seconds(1));
  }
  producer.join();
  std::printf("received %lld events, sum %lld\n", static_cast<long long>(received),
              static_cast<long long>(sum));
  return sum == 10'000LL * 10'001 / 2 ? 0 : 1;
}
