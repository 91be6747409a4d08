// ringcast-core-bench: the disruptor core against peer queues, topology by topology.
//
//   ringcast-core-bench --scenario=all --wait=busy_spin --runs=5 --format=table
//
// See --help. Exit status: 0 when every run was verified, 1 when a run computed a wrong result (or,
// before any run, when Abseil's parser met an unknown flag or a malformed value), 2 on flags out of
// range or unknown names, 3 when a run hung past --timeout.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "bench/core/flags.h"
#include "bench/core/report.h"
#include "bench/core/run.h"
#include "bench/core/scenario.h"
#include "bench/core/wait_mode.h"

namespace ringcast::bench {
namespace {

// Ends the process when a run overstays its deadline: a benchmark that hangs must not hang CI.
// The runs themselves cannot be cancelled (their threads may be parked anywhere), hence _Exit.
class Watchdog {
 public:
  Watchdog() : thread_([this] { Loop(); }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

  void Arm(std::chrono::seconds timeout, std::string what) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      deadline_ = std::chrono::steady_clock::now() + timeout;
      timeout_ = timeout;
      what_ = std::move(what);
      armed_ = true;
    }
    wake_.notify_all();
  }

  void Disarm() {
    std::lock_guard<std::mutex> lock(mutex_);
    armed_ = false;
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
      if (!armed_) {
        wake_.wait(lock);
        continue;
      }
      wake_.wait_until(lock, deadline_);
      if (armed_ && !stopping_ && std::chrono::steady_clock::now() >= deadline_) {
        std::fprintf(stderr, "ringcast-core-bench: %s did not finish within %llds; giving up\n",
                     what_.c_str(), static_cast<long long>(timeout_.count()));
        std::fflush(stdout);
        std::_Exit(3);
      }
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool armed_ = false;
  std::chrono::steady_clock::time_point deadline_;
  std::chrono::seconds timeout_{0};
  std::string what_;
  std::thread thread_;  // last: starts once the fields above exist
};

// Abseil's StrJoin takes absl::string_view, which Debian's Abseil does not alias to std's.
std::string Join(const std::vector<std::string_view>& pieces, std::string_view separator) {
  std::string joined;
  for (std::string_view piece : pieces) {
    if (!joined.empty()) joined += separator;
    joined += piece;
  }
  return joined;
}

bool Selected(const std::vector<std::string>& wanted, std::string_view name) {
  return wanted.empty() || std::find(wanted.begin(), wanted.end(), name) != wanted.end();
}

// Every name in `wanted` must name something in the catalogue: a typo must not run nothing.
bool CheckNames(const std::vector<std::string>& wanted, const std::vector<Benchmark>& all,
                std::string_view Benchmark::*field, std::string_view flag) {
  for (const std::string& name : wanted) {
    const bool known =
        std::any_of(all.begin(), all.end(), [&](const Benchmark& b) { return b.*field == name; });
    if (!known) {
      std::vector<std::string_view> names;
      for (const Benchmark& b : all) {
        if (std::find(names.begin(), names.end(), b.*field) == names.end()) {
          names.push_back(b.*field);
        }
      }
      absl::FPrintF(stderr, "ringcast-core-bench: --%s: unknown name '%s'; known: %s\n", flag, name,
                    Join(names, ", "));
      return false;
    }
  }
  return true;
}

int Main(int argc, char** argv) {
  absl::StatusOr<Flags> parsed = ParseFlags(argc, argv);
  if (!parsed.ok()) {
    std::fprintf(stderr, "ringcast-core-bench: %s\n",
                 std::string(parsed.status().message()).c_str());
    return 2;
  }
  const Flags& flags = *parsed;
  const std::vector<Benchmark> all = AllBenchmarks();
  if (!CheckNames(flags.scenarios, all, &Benchmark::scenario, "scenario") ||
      !CheckNames(flags.impls, all, &Benchmark::impl, "impl")) {
    return 2;
  }
  std::vector<const Benchmark*> selected;
  for (const Benchmark& b : all) {
    if (Selected(flags.scenarios, b.scenario) && Selected(flags.impls, b.impl)) {
      selected.push_back(&b);
    }
  }
  if (flags.list) {
    for (const Benchmark* b : selected) {
      std::printf("%.*s %.*s %d threads\n", static_cast<int>(b->scenario.size()),
                  b->scenario.data(), static_cast<int>(b->impl.size()), b->impl.data(), b->threads);
    }
    return 0;
  }
  if (selected.empty()) {
    std::fprintf(stderr, "ringcast-core-bench: no implementation runs that scenario\n");
    return 2;
  }

  const std::vector<int> cpus = AllowedCpus();
  const int nproc = static_cast<int>(cpus.size());
  std::vector<std::string_view> args(argv, argv + argc);
  TableReport table(stdout);
  if (flags.format == OutputFormat::kTable) {
    table.PrintHeader(DescribeMachine(cpus), Join(args, " "));
  }
  Watchdog watchdog;
  for (WaitMode requested : flags.waits) {
    for (std::size_t i = 0; i < selected.size(); ++i) {
      const Benchmark& b = *selected[i];
      // Spinning threads that outnumber the CPUs spin while the thread they wait for cannot run.
      const bool oversubscribed = b.threads > nproc;
      RunConfig config;
      config.wait =
          oversubscribed && requested == WaitMode::kBusySpin ? WaitMode::kYielding : requested;
      config.events = flags.events.value_or(DefaultEvents(b.scenario, config.wait));
      config.capacity = kDefaultCapacity;
      if (!oversubscribed) config.cpus = cpus;
      for (int run = 1; run <= flags.runs; ++run) {
        watchdog.Arm(std::chrono::seconds(flags.timeout_seconds),
                     absl::StrFormat("%s/%s (wait %s, run %d)", b.scenario, b.impl,
                                     WaitModeName(config.wait), run));
        RunRecord record{b.scenario, b.impl, config.wait,          requested,    run,
                         b.threads,  nproc,  !config.cpus.empty(), b.run(config)};
        watchdog.Disarm();
        if (flags.format == OutputFormat::kJson) {
          std::printf("%s\n", JsonLine(record).c_str());
          std::fflush(stdout);
        } else {
          table.Add(record);
        }
        if (!record.result.error.empty()) {
          table.Flush();
          std::fprintf(
              stderr, "ringcast-core-bench: %.*s/%.*s run %d computed a wrong result: %s\n",
              static_cast<int>(b.scenario.size()), b.scenario.data(),
              static_cast<int>(b.impl.size()), b.impl.data(), run, record.result.error.c_str());
          return 1;
        }
      }
      const bool last_of_scenario =
          i + 1 == selected.size() || selected[i + 1]->scenario != b.scenario;
      if (last_of_scenario) table.Flush();
    }
  }
  return 0;
}

}  // namespace
}  // namespace ringcast::bench

int main(int argc, char** argv) { return ringcast::bench::Main(argc, argv); }
