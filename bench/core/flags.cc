#include "bench/core/flags.h"

#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

ABSL_FLAG(std::vector<std::string>, scenario, {"all"},
          "topologies to run, NAME[,NAME...] or all; --list shows them");
ABSL_FLAG(std::vector<std::string>, impl, {"all"}, "implementations to run, NAME[,NAME...] or all");
ABSL_FLAG(std::optional<int64_t>, events, std::nullopt,
          "events per run (round trips for ping_pong); default per scenario");
ABSL_FLAG(ringcast::bench::WaitModes, wait,
          ringcast::bench::WaitModes{{ringcast::bench::WaitMode::kBusySpin}},
          "busy_spin, yielding, blocking or phased (MODE[,MODE...] or all): how consumers wait "
          "for events and producers for room. A run with more threads than CPUs never "
          "busy-spins: it yields instead, and says so.");
ABSL_FLAG(int, runs, 1, "repeat each measurement N times");
ABSL_FLAG(ringcast::bench::OutputFormat, format, ringcast::bench::OutputFormat::kTable,
          "table (medians and min-max across runs) or json (one object per run and line)");
ABSL_FLAG(int, timeout, 300, "seconds: abort if one run takes longer (a hang)");
ABSL_FLAG(bool, list, false, "print the scenario/implementation pairs and exit");

namespace ringcast::bench {
namespace {

constexpr char kUsage[] =
    R"(ringcast-core-bench [flags]

Throughput and latency of the ringcast disruptor against peer queues (std::mutex + std::deque,
boost::lockfree spsc_queue and queue, moodycamel ReaderWriterQueue and ConcurrentQueue), in the
topologies of LMAX's perf tests. Every run checks what its consumers computed and the binary
exits non-zero if a result is wrong. Threads are pinned to distinct CPUs when the run has no more
threads than CPUs.)";

// "all" (or nothing) selects everything, so it becomes the empty list.
std::vector<std::string> Names(std::vector<std::string> names) {
  for (const std::string& name : names) {
    if (name == "all") return {};
  }
  std::erase(names, std::string());
  return names;
}

// `value` if it is within [1, max], else INVALID_ARGUMENT naming --`flag`.
absl::StatusOr<int64_t> Positive(const char* flag, int64_t value, int64_t max) {
  if (value < 1 || value > max) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--%s: expected an integer from 1 to %d, got %d", flag, max, value));
  }
  return value;
}

}  // namespace

bool AbslParseFlag(absl::string_view text, OutputFormat* format, std::string* error) {
  if (text == "table") {
    *format = OutputFormat::kTable;
  } else if (text == "json") {
    *format = OutputFormat::kJson;
  } else {
    *error = "expected table or json";
    return false;
  }
  return true;
}

std::string AbslUnparseFlag(OutputFormat format) {
  return format == OutputFormat::kJson ? "json" : "table";
}

bool AbslParseFlag(absl::string_view text, WaitModes* waits, std::string* error) {
  if (text == "all") {
    waits->modes.assign(std::begin(kAllWaitModes), std::end(kAllWaitModes));
    return true;
  }
  waits->modes.clear();
  for (absl::string_view name : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    const std::optional<WaitMode> mode = ParseWaitMode(std::string_view(name.data(), name.size()));
    if (!mode) {
      *error = absl::StrFormat(
          "unknown mode '%s'; expected busy_spin, yielding, blocking, phased or all", name);
      return false;
    }
    waits->modes.push_back(*mode);
  }
  if (waits->modes.empty()) *error = "no mode given";
  return !waits->modes.empty();
}

std::string AbslUnparseFlag(const WaitModes& waits) {
  return absl::StrJoin(waits.modes, ",",
                       [](std::string* out, WaitMode mode) { out->append(WaitModeName(mode)); });
}

absl::StatusOr<Flags> ParseFlags(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  // --help lists the flags defined here (Abseil's default looks for a file named after the binary).
  absl::SetFlagsUsageConfig({.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "bench/core/flags.cc");
  }});
  const std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("unexpected argument '%s'; flags look like --name=value", positional[1]));
  }
  Flags flags;
  flags.scenarios = Names(absl::GetFlag(FLAGS_scenario));
  flags.impls = Names(absl::GetFlag(FLAGS_impl));
  if (const std::optional<int64_t> events = absl::GetFlag(FLAGS_events)) {
    // 2^32: the checked sums of sequence numbers stay far from int64 overflow.
    absl::StatusOr<int64_t> n = Positive("events", *events, int64_t{1} << 32);
    if (!n.ok()) return n.status();
    flags.events = *n;
  }
  flags.waits = absl::GetFlag(FLAGS_wait).modes;
  absl::StatusOr<int64_t> runs = Positive("runs", absl::GetFlag(FLAGS_runs), 1000);
  if (!runs.ok()) return runs.status();
  flags.runs = static_cast<int>(*runs);
  absl::StatusOr<int64_t> timeout = Positive("timeout", absl::GetFlag(FLAGS_timeout), 86400);
  if (!timeout.ok()) return timeout.status();
  flags.timeout_seconds = static_cast<int>(*timeout);
  flags.format = absl::GetFlag(FLAGS_format);
  flags.list = absl::GetFlag(FLAGS_list);
  return flags;
}

}  // namespace ringcast::bench
