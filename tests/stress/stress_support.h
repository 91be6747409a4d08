// Helpers the stress tests share: bounded waits, watchdogs (per test, and per step of a loop), a
// thread-safe failure log and the slot checksum producers write and consumers verify.
#ifndef RINGCAST_TESTS_STRESS_STRESS_SUPPORT_H_
#define RINGCAST_TESTS_STRESS_STRESS_SUPPORT_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "stress_scale.h"

namespace ringcast::stress {

// A value only the event at `sequence` carries (SplitMix64), so a consumer that reads a slot a
// producer has already reused, or not yet written, sees the wrong value.
constexpr uint64_t Mix(int64_t sequence, uint64_t salt = 0) {
  uint64_t z =
      static_cast<uint64_t>(sequence) + salt * 0x9e3779b97f4a7c15ULL + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// A small deterministic generator for batch sizes and pauses; one per thread.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  // Uniform in [0, bound). Requires: bound > 0.
  int64_t Below(int64_t bound) {
    state_ += 0x9e3779b97f4a7c15ULL;
    return static_cast<int64_t>(Mix(static_cast<int64_t>(state_)) % static_cast<uint64_t>(bound));
  }

 private:
  uint64_t state_;
};

// Polls `done` until it returns true or `timeout` passes; returns its last answer. Yields, then
// sleeps briefly, so a waiting test thread does not steal a core from the threads under test.
template <class Predicate>
bool WaitUntil(Predicate&& done, std::chrono::nanoseconds timeout = kWaitTimeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int i = 0; !done(); ++i) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    if (i < 100) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
  return true;
}

// Failures seen on threads other than the test's. Record is safe from any thread and only takes
// a mutex on the failure path; the test asserts `count() == 0` and prints the first messages.
class FailureLog {
 public:
  static constexpr std::size_t kKept = 8;

  void Record(std::string message) {
    // Relaxed: a counter read after the recording threads were joined.
    if (count_.fetch_add(1, std::memory_order_relaxed) >= static_cast<int64_t>(kKept)) return;
    std::lock_guard<std::mutex> lock(mutex_);
    messages_.push_back(std::move(message));
  }

  [[nodiscard]] int64_t count() const { return count_.load(std::memory_order_relaxed); }

  [[nodiscard]] std::string Summary() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return absl::StrCat(count(), " failure(s), first ones:\n  ", absl::StrJoin(messages_, "\n  "));
  }

 private:
  std::atomic<int64_t> count_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> messages_;
};

// "Suite.Name" of the running test, for watchdog messages.
inline std::string CurrentTestName() {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return info == nullptr ? "?" : absl::StrCat(info->test_suite_name(), ".", info->name());
}

// Aborts the test binary, naming the test, if the test outlives `budget`: a deadlocked stress
// test then fails with a message instead of hanging until ctest's TIMEOUT kills it silently.
class Watchdog {
 public:
  explicit Watchdog(std::chrono::seconds budget = kTestBudget)
      : name_(CurrentTestName()), thread_([this, budget] { Watch(budget); }) {}

  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    condition_.notify_one();
    thread_.join();
  }

  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  void Watch(std::chrono::seconds budget) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (condition_.wait_for(lock, budget, [this] { return done_; })) return;
    std::fprintf(stderr, "watchdog: %s still running after %lld s (deadlock?); aborting\n",
                 name_.c_str(), static_cast<long long>(budget.count()));
    std::fflush(stderr);
    std::abort();
  }

  const std::string name_;
  std::mutex mutex_;
  std::condition_variable condition_;
  bool done_ = false;
  std::thread thread_;  // last: starts once the fields above exist
};

// Aborts the test binary, naming the test and the last step reported, if Progress is not called
// for `stall`: for loops of many short rounds, where one stuck round (a join that never returns)
// should fail in seconds rather than at the end of the whole test's budget.
class StallWatchdog {
 public:
  explicit StallWatchdog(std::chrono::seconds stall = kStallTimeout)
      : name_(CurrentTestName()), stall_(stall), thread_([this] { Watch(); }) {}

  ~StallWatchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    condition_.notify_one();
    thread_.join();
  }

  StallWatchdog(const StallWatchdog&) = delete;
  StallWatchdog& operator=(const StallWatchdog&) = delete;

  // Relaxed: the watchdog only needs to see the values eventually.
  void Progress(int64_t step) {
    step_.store(step, std::memory_order_relaxed);
    last_progress_.store(Now(), std::memory_order_relaxed);
  }

 private:
  static int64_t Now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  void Watch() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!condition_.wait_for(lock, std::chrono::milliseconds(100), [this] { return done_; })) {
      const int64_t idle_ms = Now() - last_progress_.load(std::memory_order_relaxed);
      if (idle_ms < std::chrono::duration_cast<std::chrono::milliseconds>(stall_).count()) continue;
      std::fprintf(stderr, "watchdog: %s made no progress for %lld ms after step %lld; aborting\n",
                   name_.c_str(), static_cast<long long>(idle_ms),
                   static_cast<long long>(step_.load(std::memory_order_relaxed)));
      std::fflush(stderr);
      std::abort();
    }
  }

  const std::string name_;
  const std::chrono::seconds stall_;
  std::atomic<int64_t> step_{-1};
  std::atomic<int64_t> last_progress_{Now()};
  std::mutex mutex_;
  std::condition_variable condition_;
  bool done_ = false;
  std::thread thread_;  // last: starts once the fields above exist
};

}  // namespace ringcast::stress

#endif  // RINGCAST_TESTS_STRESS_STRESS_SUPPORT_H_
