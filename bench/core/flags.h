// Command-line flags of ringcast-core-bench, parsed by Abseil flags as the other benchmarks' are.
#ifndef RINGCAST_BENCH_CORE_FLAGS_H_
#define RINGCAST_BENCH_CORE_FLAGS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "bench/core/wait_mode.h"

namespace ringcast::bench {

enum class OutputFormat { kTable, kJson };

// --wait: one or more wait modes, comma-separated, or "all".
struct WaitModes {
  std::vector<WaitMode> modes;
};

// Abseil flag marshalling (found by argument-dependent lookup).
bool AbslParseFlag(absl::string_view text, OutputFormat* format, std::string* error);
std::string AbslUnparseFlag(OutputFormat format);
bool AbslParseFlag(absl::string_view text, WaitModes* waits, std::string* error);
std::string AbslUnparseFlag(const WaitModes& waits);

struct Flags {
  std::vector<std::string> scenarios;  // empty: all
  std::vector<std::string> impls;      // empty: all
  std::optional<int64_t> events;       // unset: each scenario's default
  std::vector<WaitMode> waits;
  int runs = 1;
  OutputFormat format = OutputFormat::kTable;
  int timeout_seconds = 300;  // per run; a run that takes longer is a hang and aborts the binary
  bool list = false;
};

// Parses the command line (Abseil handles --help, and exits on an unknown flag or a value of the
// wrong type). INVALID_ARGUMENT naming the flag when a value is out of range or an argument is
// not a flag. Names of scenarios and implementations are checked against the catalogue by the
// caller.
absl::StatusOr<Flags> ParseFlags(int argc, char** argv);

}  // namespace ringcast::bench

#endif  // RINGCAST_BENCH_CORE_FLAGS_H_
