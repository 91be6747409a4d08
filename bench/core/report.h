// Output of ringcast-core-bench: one JSON object per run, or a table of medians and spreads.
#ifndef RINGCAST_BENCH_CORE_REPORT_H_
#define RINGCAST_BENCH_CORE_REPORT_H_

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/common/latency_histogram.h"
#include "bench/core/run.h"
#include "bench/core/wait_mode.h"

namespace ringcast::bench {

// What the figures depend on besides the code, printed with every table.
struct Machine {
  std::string cpu_model;
  std::vector<int> cpus;  // the CPUs this process may run on
  std::string kernel;
  std::string compiler;
  bool assertions = false;  // built without NDEBUG: figures are not representative
};

// A report line's JSON object: keys print in the order they are set, as the reports list them.
using Json = nlohmann::ordered_json;

// `value` rounded to `decimals` places, the precision a report gives that figure: with 0 it is a
// whole number and prints as one. Not finite: null.
Json Rounded(double value, int decimals);

// Sets <prefix>p50_us, p90_us, p99_us, p999_us and max_us from `latency` (recorded in ns), each to
// a tenth of a microsecond: the latency fields every end-to-end report line carries.
void AddLatencyFields(Json& line, std::string_view prefix, const LatencyHistogram& latency);

// `object` on one line, without the newline (bytes that are not UTF-8 print as U+FFFD).
std::string JsonText(const Json& object);

// Describes this machine; `cpus` as from AllowedCpus.
Machine DescribeMachine(std::vector<int> cpus);

// The CPUs this process may run on, in order.
std::vector<int> AllowedCpus();

struct RunRecord {
  std::string_view scenario;
  std::string_view impl;
  WaitMode wait;            // used
  WaitMode wait_requested;  // asked for; differs when busy spinning was not allowed
  int run;                  // 1-based
  int threads;
  int nproc;
  bool pinned;
  RunResult result;
};

// One line of JSON, without the newline.
std::string JsonLine(const RunRecord& record);

// Prints runs grouped in blocks of one scenario and wait mode: per implementation the median
// across runs and the min-max spread, and the median relative to ringcast's.
class TableReport {
 public:
  explicit TableReport(std::FILE* out) : out_(out) {}

  void PrintHeader(const Machine& machine, std::string_view command);
  void Add(const RunRecord& record);
  // Prints the block of everything added since the last Flush.
  void Flush();

 private:
  std::FILE* out_;
  std::vector<RunRecord> pending_;
};

}  // namespace ringcast::bench

#endif  // RINGCAST_BENCH_CORE_REPORT_H_
