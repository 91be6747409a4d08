// Command-line flags of ringcast-core-bench. Parsed by hand: the binary takes no extra dependency.
#ifndef RINGCAST_BENCH_CORE_FLAGS_H_
#define RINGCAST_BENCH_CORE_FLAGS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/core/wait_mode.h"

namespace ringcast::bench {

enum class OutputFormat { kTable, kJson };

struct Flags {
  std::vector<std::string> scenarios;  // empty: all
  std::vector<std::string> impls;      // empty: all
  std::optional<int64_t> events;       // unset: each scenario's default
  std::vector<WaitMode> waits = {WaitMode::kBusySpin};
  int runs = 1;
  OutputFormat format = OutputFormat::kTable;
  int timeout_seconds = 300;  // per run; a run that takes longer is a hang and aborts the binary
  bool list = false;
  bool help = false;
};

// INVALID_ARGUMENT naming the offending flag when an argument is malformed or unknown. Names of
// scenarios and implementations are checked against the catalogue by the caller.
absl::StatusOr<Flags> ParseFlags(int argc, char** argv);

std::string Usage();

}  // namespace ringcast::bench

#endif  // RINGCAST_BENCH_CORE_FLAGS_H_
