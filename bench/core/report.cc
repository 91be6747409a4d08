#include "bench/core/report.h"

#include <sched.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace ringcast::bench {

Json Rounded(double value, int decimals) {
  if (!std::isfinite(value)) return nullptr;
  if (decimals == 0) return std::llround(value);
  const double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

void AddLatencyFields(Json& line, std::string_view prefix, const LatencyHistogram& latency) {
  const auto field = [&](std::string_view name) { return std::string(prefix) + std::string(name); };
  const auto us = [](double ns) { return Rounded(ns / 1e3, 1); };
  line[field("p50_us")] = us(latency.Percentile(0.5));
  line[field("p90_us")] = us(latency.Percentile(0.9));
  line[field("p99_us")] = us(latency.Percentile(0.99));
  line[field("p999_us")] = us(latency.Percentile(0.999));
  line[field("max_us")] = us(latency.max());
}

std::string JsonText(const Json& object) {
  return object.dump(/*indent=*/-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

namespace {

double EventsPerSecond(const RunResult& r) {
  return r.seconds > 0 ? static_cast<double>(r.events) / r.seconds : 0;
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

// Median, min and max of one figure across the runs of one implementation.
struct Spread {
  double median;
  double min;
  double max;
};

template <class F>
Spread SpreadOf(const std::vector<const RunRecord*>& runs, F&& figure) {
  std::vector<double> values;
  for (const RunRecord* r : runs) values.push_back(figure(r->result));
  const auto [min, max] = std::minmax_element(values.begin(), values.end());
  return {Median(values), *min, *max};
}

std::string ReadCpuModel() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.starts_with("model name")) {
      const std::size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown CPU";
}

}  // namespace

std::vector<int> AllowedCpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
    }
  }
  if (cpus.empty()) cpus.push_back(0);
  return cpus;
}

Machine DescribeMachine(std::vector<int> cpus) {
  Machine m;
  m.cpu_model = ReadCpuModel();
  m.cpus = std::move(cpus);
  utsname name;
  if (uname(&name) == 0) m.kernel = absl::StrCat(name.sysname, " ", name.release);
#if defined(__clang__)
  m.compiler = absl::StrCat("clang ", __clang_version__);
#elif defined(__GNUC__)
  m.compiler = absl::StrCat("gcc ", __VERSION__);
#endif
#ifndef NDEBUG
  m.assertions = true;
#endif
  return m;
}

std::string JsonLine(const RunRecord& r) {
  Json line = {{"scenario", r.scenario},
               {"impl", r.impl},
               {"wait", WaitModeName(r.wait)},
               {"wait_requested", WaitModeName(r.wait_requested)},
               {"events", r.result.events},
               {"run", r.run},
               {"threads", r.threads},
               {"nproc", r.nproc},
               {"pinned", r.pinned},
               {"seconds", Rounded(r.result.seconds, 6)},
               {"events_per_sec", Rounded(EventsPerSecond(r.result), 0)}};
  if (r.result.latency) {
    const LatencySummary& l = *r.result.latency;
    line["p50_ns"] = l.p50_ns;
    line["p99_ns"] = l.p99_ns;
    line["p999_ns"] = l.p999_ns;
    line["min_ns"] = l.min_ns;
    line["max_ns"] = l.max_ns;
    line["mean_ns"] = Rounded(l.mean_ns, 1);
  }
  line["verified"] = r.result.error.empty();
  if (!r.result.error.empty()) line["error"] = r.result.error;
  return JsonText(line);
}

void TableReport::PrintHeader(const Machine& m, std::string_view command) {
  absl::FPrintF(out_, "# %s\n", command);
  absl::FPrintF(out_, "# %s, %d CPUs usable (%s), %s\n", m.cpu_model, m.cpus.size(),
                absl::StrJoin(m.cpus, ","), m.kernel);
  absl::FPrintF(out_, "# %s%s\n", m.compiler,
                m.assertions ? "  WARNING: assertions on (no NDEBUG); not a release build" : "");
}

void TableReport::Add(const RunRecord& record) { pending_.push_back(record); }

void TableReport::Flush() {
  if (pending_.empty()) return;
  const RunRecord& first = pending_.front();
  // Runs by implementation, in the order the implementations ran.
  std::vector<std::string_view> impls;
  std::map<std::string_view, std::vector<const RunRecord*>> runs;
  for (const RunRecord& r : pending_) {
    if (!runs.contains(r.impl)) impls.push_back(r.impl);
    runs[r.impl].push_back(&r);
  }
  const std::string wait =
      first.wait == first.wait_requested
          ? std::string(WaitModeName(first.wait))
          : absl::StrFormat("%s (%s requested; more threads than CPUs)", WaitModeName(first.wait),
                            WaitModeName(first.wait_requested));
  absl::FPrintF(out_, "\n%s: %d threads%s, wait %s, %d events, %d run%s\n", first.scenario,
                first.threads, first.pinned ? " pinned" : "", wait, first.result.events,
                runs[impls.front()].size(), runs[impls.front()].size() == 1 ? "" : "s");

  const bool latency = first.result.latency.has_value();
  const auto rate = [](const RunResult& r) { return EventsPerSecond(r) / 1e6; };
  const double ringcast_rate =
      runs.contains("ringcast") ? SpreadOf(runs["ringcast"], rate).median : 0;
  if (latency) {
    absl::FPrintF(out_, "  %-18s %9s %9s %9s %9s  %-19s %11s\n", "impl", "p50 ns", "p99 ns",
                  "p99.9 ns", "max ns", "p50 min-max", "M trips/s");
  } else {
    absl::FPrintF(out_, "  %-18s %10s  %-19s %11s\n", "impl", "M events/s", "min-max",
                  "vs ringcast");
  }
  for (std::string_view impl : impls) {
    const auto& r = runs[impl];
    const Spread throughput = SpreadOf(r, rate);
    if (latency) {
      const auto percentile = [](int64_t LatencySummary::*field) {
        return [field](const RunResult& x) { return static_cast<double>((*x.latency).*field); };
      };
      const Spread p50 = SpreadOf(r, percentile(&LatencySummary::p50_ns));
      absl::FPrintF(out_, "  %-18s %9.0f %9.0f %9.0f %9.0f  %-19s %11.2f\n", impl, p50.median,
                    SpreadOf(r, percentile(&LatencySummary::p99_ns)).median,
                    SpreadOf(r, percentile(&LatencySummary::p999_ns)).median,
                    SpreadOf(r, percentile(&LatencySummary::max_ns)).median,
                    absl::StrFormat("%.0f-%.0f", p50.min, p50.max), throughput.median);
    } else {
      const std::string relative = ringcast_rate > 0
                                       ? absl::StrFormat("%.2fx", throughput.median / ringcast_rate)
                                       : std::string("-");
      absl::FPrintF(out_, "  %-18s %10.2f  %-19s %11s\n", impl, throughput.median,
                    absl::StrFormat("%.2f-%.2f", throughput.min, throughput.max), relative);
    }
  }
  std::fflush(out_);
  pending_.clear();
}

}  // namespace ringcast::bench
