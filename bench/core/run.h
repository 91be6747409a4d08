// What every scenario shares: the events, a run's configuration and result, the start and finish
// line, and thread placement.
#ifndef RINGCAST_BENCH_CORE_RUN_H_
#define RINGCAST_BENCH_CORE_RUN_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <latch>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "bench/common/latency_histogram.h"
#include "bench/core/wait_mode.h"

namespace ringcast::bench {

using Clock = std::chrono::steady_clock;

// LMAX's ValueEvent: one long. Small on purpose, so the runs measure the hand-over, not copying.
struct ValueEvent {
  int64_t value = 0;
};

// LMAX's FizzBuzzEvent for the diamond: two stages write one flag each, a third reads both.
struct FizzBuzzEvent {
  int64_t value = 0;
  bool fizz = false;
  bool buzz = false;
};

struct RunConfig {
  int64_t events = 0;    // requested; a topology may round it down (see RunResult::events)
  int64_t capacity = 0;  // slots of every ring and queue
  WaitMode wait = WaitMode::kBusySpin;  // the mode actually used
  std::vector<int> cpus;                // thread i runs on cpus[i]; empty when threads may float

  // The CPU for the run's thread `thread`, or -1 to leave it to the scheduler.
  [[nodiscard]] int CpuFor(int thread) const {
    return cpus.empty() ? -1 : cpus[static_cast<std::size_t>(thread) % cpus.size()];
  }
};

struct RunResult {
  int64_t events = 0;  // events (round trips for ping_pong) that went through
  double seconds = 0;
  std::optional<LatencySummary> latency;  // round trips, for ping_pong
  std::string error;                      // what came out wrong; empty when verified
};

// The start and finish line of one run. Producers wait at the start until every thread of the
// run is up, so no run times thread creation; consumers report when they have seen their last
// event, and the time of the last report ends the run.
class RunSync {
 public:
  // `starters`: threads that call Arrive or ArriveAndWait; `finishers`: threads that call Finish.
  RunSync(int starters, int finishers) : ready_(starters), go_(1), done_(finishers) {}

  RunSync(const RunSync&) = delete;
  RunSync& operator=(const RunSync&) = delete;

  // A consumer is ready; it needs no start signal, it just waits for events.
  void Arrive() { ready_.count_down(); }

  // A producer is ready; returns when the controller starts the clock.
  void ArriveAndWait() {
    ready_.count_down();
    go_.wait();
  }

  // Controller: waits until every thread arrived, then starts the clock and the producers.
  Clock::time_point Start() {
    ready_.wait();
    start_ = Clock::now();
    go_.count_down();
    return start_;
  }

  // A consumer saw its last event.
  void Finish() {
    const int64_t now = Clock::now().time_since_epoch().count();
    int64_t last = last_finish_.load(std::memory_order_relaxed);
    // Relaxed: the latch below publishes the value to the controller.
    while (now > last &&
           !last_finish_.compare_exchange_weak(last, now, std::memory_order_relaxed)) {
    }
    done_.count_down();
  }

  // Controller: waits for every Finish; returns the seconds from Start to the last of them.
  double WaitFinished() {
    done_.wait();
    const Clock::time_point end{Clock::duration(last_finish_.load(std::memory_order_relaxed))};
    return std::chrono::duration<double>(end - start_).count();
  }

 private:
  std::latch ready_;
  std::latch go_;
  std::latch done_;
  Clock::time_point start_;
  std::atomic<int64_t> last_finish_{0};
};

// Names the calling thread (it shows in top and perf) and pins it when `cpu` >= 0. A failed pin
// is reported on stderr and the run goes on unpinned.
void PlaceCurrentThread(std::string_view name, int cpu);

// Starts `body` on a thread placed with PlaceCurrentThread.
template <class F>
std::thread StartThread(std::string name, int cpu, F&& body) {
  return std::thread([name = std::move(name), cpu, body = std::forward<F>(body)]() mutable {
    PlaceCurrentThread(name, cpu);
    body();
  });
}

// 0 + 1 + ... + (n - 1), the sum a consumer must see when values are sequence numbers.
constexpr int64_t SumBelow(int64_t n) { return n * (n - 1) / 2; }

// Appends "what: got G, want W" to `error` when got != want.
void ExpectEqual(std::string& error, std::string_view what, int64_t got, int64_t want);

}  // namespace ringcast::bench

#endif  // RINGCAST_BENCH_CORE_RUN_H_
