// The catalogue of benchmarks: one entry per (topology, implementation), in the order they run.
//
// Topologies carry the names of LMAX's perf tests (OneToOneSequencedThroughputTest and so on):
//
//   one_to_one              P -> C
//   one_to_one_batch        P -> C, one claim per 10 events
//   one_to_one_lossy        P -> R, a pull reader the producer never waits for (or a gating one)
//   three_to_one            P1, P2, P3 -> C
//   three_to_one_batch      P1, P2, P3 -> C, 10 events per claim (or per reservation)
//   one_to_three_multicast  P -> C1, C2, C3, each sees every event
//   one_to_three_pipeline   P -> C1 -> C2 -> C3
//   one_to_three_diamond    P -> fizz, buzz -> fizzbuzz
//   ping_pong               pinger <-> ponger, round-trip latency
#ifndef RINGCAST_BENCH_CORE_SCENARIO_H_
#define RINGCAST_BENCH_CORE_SCENARIO_H_

#include <string_view>
#include <vector>

#include "bench/core/run.h"

namespace ringcast::bench {

struct Benchmark {
  std::string_view scenario;
  std::string_view impl;
  int threads;  // producers + consumers: decides pinning and whether busy spinning is allowed
  RunResult (*run)(const RunConfig&);
};

// Ring and queue capacity, as in LMAX's throughput tests.
inline constexpr int64_t kDefaultCapacity = 64 * 1024;

// Each file adds its topologies' entries.
void AddOneToOneBenchmarks(std::vector<Benchmark>& out);
void AddThreeToOneBenchmarks(std::vector<Benchmark>& out);
void AddOneToThreeBenchmarks(std::vector<Benchmark>& out);
void AddDiamondBenchmarks(std::vector<Benchmark>& out);
void AddPingPongBenchmarks(std::vector<Benchmark>& out);

// Every entry, grouped by scenario in the order above, ringcast first within a scenario.
std::vector<Benchmark> AllBenchmarks();

// Events a run of `scenario` sends unless --events says otherwise: a fraction of a second for
// ringcast, a few seconds at most for the slowest peer.
int64_t DefaultEvents(std::string_view scenario, WaitMode wait);

}  // namespace ringcast::bench

#endif  // RINGCAST_BENCH_CORE_SCENARIO_H_
