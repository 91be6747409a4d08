#include "bench/core/scenario.h"

#include <cstdint>
#include <string_view>
#include <vector>

namespace ringcast::bench {

std::vector<Benchmark> AllBenchmarks() {
  std::vector<Benchmark> all;
  AddOneToOneBenchmarks(all);
  AddThreeToOneBenchmarks(all);
  AddOneToThreeBenchmarks(all);
  AddDiamondBenchmarks(all);
  AddPingPongBenchmarks(all);
  return all;
}

int64_t DefaultEvents(std::string_view scenario, WaitMode wait) {
  if (scenario == "ping_pong") {
    // A round trip costs two thread wake-ups when the threads sleep between events.
    return wait == WaitMode::kBlocking ? 50'000 : 1'000'000;
  }
  if (scenario == "one_to_one" || scenario == "one_to_one_batch" ||
      scenario == "one_to_one_lossy") {
    return 20'000'000;
  }
  return 10'000'000;
}

}  // namespace ringcast::bench
