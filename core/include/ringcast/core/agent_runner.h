// Agents and the runner that gives them a thread: Aeron's duty-cycle model with the core's wait
// strategies as idle strategies.
//
// An agent is a unit of work done in small non-blocking steps:
//
//   int DoWork();      // required: one duty cycle; returns how much it did (0: nothing to do)
//   void OnStart();    // optional: on the runner's thread, before the first cycle
//   void OnClose();    // optional: on the runner's thread, after the last cycle
//
// AgentRunner<A, W> calls DoWork in a loop. After a cycle that did nothing it idles with the wait
// strategy W until its doorbell rings or `max_park` passes, whichever comes first:
//
//   BusySpin, Yielding   spin (or yield) re-reading the doorbell; check the clock for max_park
//   PhasedBackoff<F>     spins, yields, then hands over to F
//   TimeoutBlocking(d)   parks on a condition variable for at most d (pick d <= max_park for
//                        agents with timed duties)
//   Blocking             parks until rung: only for agents whose every piece of work rings
//
// Whoever makes work for the agent rings the runner's doorbell (doorbell.h); a ring between the
// cycle and the park is never lost. Many units of work share one runner through AgentGroup
// (agent_group.h), and a ConsumerStage (consumer_stage.h) is itself an agent, so many topics x
// stages can share a small fixed pool of threads.
//
// Lifecycle: Start() runs the loop on a new thread, or Run() on the calling thread; Close() stops
// the loop after the cycle in hand and joins the thread. A Close() that comes before Run() is
// never lost: Run() then returns at once (still pairing OnStart with OnClose). Run() twice, or
// Start() after Run(), aborts: a programmer error.
//
// Errors: an exception thrown by DoWork is caught at the loop boundary, counted and reported; the
// cycle counts as idle (so an agent that keeps failing parks between attempts rather than spinning
// on them) and the loop goes on. Exceptions from OnStart/OnClose are reported the same way.
//
// Thread safety: Start, Run, Close, doorbell(), ExceptionCount() from any thread; Close may be
// called concurrently and repeatedly.
//
// Memory ordering: Close stores `closing_` with release before ringing; the loop reads it with
// acquire (and the wait strategy reads it as its alert flag), so a parked runner wakes and sees
// it. Everything a ringer wrote before Ring happens-before the next cycle (see doorbell.h).
#ifndef RINGCAST_CORE_AGENT_RUNNER_H_
#define RINGCAST_CORE_AGENT_RUNNER_H_

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "ringcast/core/check.h"
#include "ringcast/core/consumer_stage.h"
#include "ringcast/core/doorbell.h"
#include "ringcast/core/thread.h"
#include "ringcast/core/wait_strategy.h"

namespace ringcast {

template <class A>
concept Agent = requires(A& a) {
  { a.DoWork() } -> std::convertible_to<int>;
};
template <class A>
concept HasAgentOnStart = requires(A& a) {
  a.OnStart();
};
template <class A>
concept HasAgentOnClose = requires(A& a) {
  a.OnClose();
};

struct AgentRunnerOptions {
  // The thread's name (top, perf, gdb) and the name exceptions are reported under.
  std::string name = "agent";
  // Longest idle between two duty cycles when nobody rings, for agents with timed duties.
  std::chrono::nanoseconds max_park = std::chrono::milliseconds(50);
  ExceptionReporter report_exception = LogHandlerException;
};

template <Agent A, WaitStrategy W>
class AgentRunner {
 public:
  explicit AgentRunner(A& agent, W strategy = W(), AgentRunnerOptions options = {})
      : agent_(agent), strategy_(std::move(strategy)), options_(std::move(options)) {}

  AgentRunner(const AgentRunner&) = delete;
  AgentRunner& operator=(const AgentRunner&) = delete;
  ~AgentRunner() { Close(); }

  // Runs the duty cycle on a new thread named after the options.
  void Start() {
    std::lock_guard<std::mutex> lock(thread_mu_);
    RINGCAST_CHECK(!thread_.joinable(), "AgentRunner::Start called twice");
    thread_ = std::thread([this] {
      SetCurrentThreadName(options_.name);
      Run();
    });
  }

  // Runs the duty cycle on the calling thread until Close.
  void Run() {
    int expected = kIdle;
    const bool run = state_.compare_exchange_strong(expected, kRunning, std::memory_order_acq_rel);
    RINGCAST_CHECK(run || expected == kClosed, "AgentRunner::Run called while running");
    Guard(kStartHook, [&] {
      if constexpr (HasAgentOnStart<A>) agent_.OnStart();
    });
    // Acquire; pairs with the release in Close.
    while (run && !closing_.load(std::memory_order_acquire)) {
      const int64_t epoch = doorbell_.Epoch();
      int work = 0;
      try {
        work = static_cast<int>(agent_.DoWork());
      } catch (...) {
        Report(kDutyCycle);
      }
      if (work <= 0) Park(epoch);
    }
    Guard(kCloseHook, [&] {
      if constexpr (HasAgentOnClose<A>) agent_.OnClose();
    });
  }

  // Stops the loop after the cycle in hand and joins the runner's thread (if Start made one).
  // Idempotent; never called from the runner's own thread.
  void Close() {
    // Release; pairs with the acquire in Run and with the strategy's alert check.
    closing_.store(true, std::memory_order_release);
    int expected = kIdle;
    static_cast<void>(state_.compare_exchange_strong(expected, kClosed, std::memory_order_acq_rel));
    doorbell_.Ring();
    std::lock_guard<std::mutex> lock(thread_mu_);
    if (thread_.joinable()) thread_.join();
  }

  // Ring to have the agent run a cycle soon.
  [[nodiscard]] Doorbell& doorbell() noexcept { return doorbell_; }
  [[nodiscard]] A& agent() noexcept { return agent_; }
  [[nodiscard]] const AgentRunnerOptions& options() const noexcept { return options_; }

  // Exceptions the agent threw so far. Relaxed: a statistic.
  [[nodiscard]] uint64_t ExceptionCount() const noexcept {
    return exceptions_.load(std::memory_order_relaxed);
  }

 private:
  enum State : int { kIdle, kRunning, kClosed };
  // The sequence reported with an exception says where it came from.
  static constexpr int64_t kDutyCycle = -1;
  static constexpr int64_t kStartHook = -2;
  static constexpr int64_t kCloseHook = -3;

  // What the wait strategy waits on while the runner idles: the doorbell's epoch, which counts as
  // reached once `deadline` has passed so that spinning strategies honour max_park too.
  class ParkView {
   public:
    ParkView(const Doorbell& doorbell, std::chrono::steady_clock::time_point deadline)
        : doorbell_(doorbell), deadline_(deadline) {}
    [[nodiscard]] int64_t Available(int64_t from) const noexcept {
      const int64_t epoch = doorbell_.Available(from);
      if (epoch >= from || std::chrono::steady_clock::now() < deadline_) return epoch;
      return from;
    }

   private:
    const Doorbell& doorbell_;
    std::chrono::steady_clock::time_point deadline_;
  };

  void Park(int64_t epoch) {
    const ParkView view(doorbell_, std::chrono::steady_clock::now() + options_.max_park);
    static_cast<void>(strategy_.WaitFor(epoch + 1, view, closing_));
  }

  void Report(int64_t where) {
    exceptions_.fetch_add(1, std::memory_order_relaxed);
    options_.report_exception(options_.name, where, std::current_exception());
  }

  template <class F>
  void Guard(int64_t where, F&& hook) {
    try {
      hook();
    } catch (...) {
      Report(where);
    }
  }

  A& agent_;
  W strategy_;
  const AgentRunnerOptions options_;
  Doorbell doorbell_{strategy_};
  std::atomic<bool> closing_{false};
  std::atomic<int> state_{kIdle};
  std::atomic<uint64_t> exceptions_{0};
  std::mutex thread_mu_;
  std::thread thread_;  // guarded by thread_mu_
};

}  // namespace ringcast

#endif  // RINGCAST_CORE_AGENT_RUNNER_H_
