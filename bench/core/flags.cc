#include "bench/core/flags.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace ringcast::bench {
namespace {

// The non-empty pieces of a comma-separated list.
std::vector<std::string_view> SplitCommas(std::string_view list) {
  std::vector<std::string_view> pieces;
  while (!list.empty()) {
    const std::size_t comma = std::min(list.find(','), list.size());
    if (comma != 0) pieces.push_back(list.substr(0, comma));
    list.remove_prefix(std::min(comma + 1, list.size()));
  }
  return pieces;
}

// "all" (or nothing) selects everything, so it becomes the empty list.
std::vector<std::string> ParseNames(std::string_view value) {
  std::vector<std::string> names;
  for (std::string_view name : SplitCommas(value)) {
    if (name == "all") return {};
    names.emplace_back(name);
  }
  return names;
}

absl::StatusOr<std::vector<WaitMode>> ParseWaits(std::string_view value) {
  if (value == "all")
    return std::vector<WaitMode>(std::begin(kAllWaitModes), std::end(kAllWaitModes));
  std::vector<WaitMode> waits;
  for (std::string_view name : SplitCommas(value)) {
    std::optional<WaitMode> mode = ParseWaitMode(name);
    if (!mode) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "--wait: unknown mode '%s'; expected busy_spin, yielding, blocking, phased or all",
          name));
    }
    waits.push_back(*mode);
  }
  if (waits.empty()) return absl::InvalidArgumentError("--wait: no mode given");
  return waits;
}

absl::StatusOr<int64_t> ParsePositive(std::string_view flag, std::string_view value, int64_t max) {
  int64_t n = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (error != std::errc() || end != value.data() + value.size() || n < 1 || n > max) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--%s: expected an integer from 1 to %d, got '%s'", flag, max, value));
  }
  return n;
}

}  // namespace

absl::StatusOr<Flags> ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      flags.help = true;
      continue;
    }
    if (arg == "--list") {
      flags.list = true;
      continue;
    }
    const std::size_t eq = arg.find('=');
    if (!arg.starts_with("--") || eq == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrFormat("unexpected argument '%s'; flags look like --name=value", arg));
    }
    const std::string_view name = arg.substr(2, eq - 2);
    const std::string_view value = arg.substr(eq + 1);
    if (name == "scenario") {
      flags.scenarios = ParseNames(value);
    } else if (name == "impl") {
      flags.impls = ParseNames(value);
    } else if (name == "events") {
      // 2^32: the checked sums of sequence numbers stay far from int64 overflow.
      absl::StatusOr<int64_t> n = ParsePositive(name, value, int64_t{1} << 32);
      if (!n.ok()) return n.status();
      flags.events = *n;
    } else if (name == "wait") {
      absl::StatusOr<std::vector<WaitMode>> waits = ParseWaits(value);
      if (!waits.ok()) return waits.status();
      flags.waits = *std::move(waits);
    } else if (name == "runs") {
      absl::StatusOr<int64_t> n = ParsePositive(name, value, 1000);
      if (!n.ok()) return n.status();
      flags.runs = static_cast<int>(*n);
    } else if (name == "timeout") {
      absl::StatusOr<int64_t> n = ParsePositive(name, value, 86400);
      if (!n.ok()) return n.status();
      flags.timeout_seconds = static_cast<int>(*n);
    } else if (name == "format") {
      if (value == "table") {
        flags.format = OutputFormat::kTable;
      } else if (value == "json") {
        flags.format = OutputFormat::kJson;
      } else {
        return absl::InvalidArgumentError(
            absl::StrFormat("--format: expected table or json, got '%s'", value));
      }
    } else {
      return absl::InvalidArgumentError(absl::StrFormat("unknown flag --%s; see --help", name));
    }
  }
  return flags;
}

std::string Usage() {
  return R"(Usage: ringcast-core-bench [flags]

Throughput and latency of the ringcast disruptor against peer queues (std::mutex + std::deque,
boost::lockfree spsc_queue and queue, moodycamel ReaderWriterQueue and ConcurrentQueue), in the
topologies of LMAX's perf tests. Every run checks what its consumers computed and the binary
exits non-zero if a result is wrong.

  --scenario=NAME[,NAME...]|all  topologies to run (default all); --list shows them
  --impl=NAME[,NAME...]|all      implementations to run (default all)
  --events=N                     events per run (round trips for ping_pong); default per scenario
  --wait=MODE[,MODE...]|all      busy_spin (default), yielding, blocking or phased: how consumers
                                 wait for events and producers for room. A run with more threads
                                 than CPUs never busy-spins: it yields instead, and says so.
  --runs=N                       repeat each measurement N times (default 1)
  --format=table|json            a table of medians and min-max across runs (default), or one
                                 JSON object per run and line
  --timeout=SECONDS              abort if one run takes longer: a hang (default 300)
  --list                         print the scenario/implementation pairs and exit
  --help                         this text

Threads are pinned to distinct CPUs when the run has no more threads than CPUs.
)";
}

}  // namespace ringcast::bench
