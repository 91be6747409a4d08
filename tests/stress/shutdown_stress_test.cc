// Stress: Disruptor::Shutdown drains everything published before it, and gives up, bounded, when
// a stage cannot keep up or has stopped.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ringcast/core.h"
#include "stress_scale.h"
#include "stress_support.h"

namespace ringcast {
namespace {

using stress::FailureLog;
using stress::kThreadSanitizer;
using stress::kWaitTimeout;
using stress::Scaled;
using stress::StallWatchdog;
using stress::WaitUntil;
using stress::Watchdog;
using Clock = std::chrono::steady_clock;

// Slack on top of a deadline for scheduling: generous, since this machine has two cores.
constexpr auto kSlack = std::chrono::milliseconds(kThreadSanitizer ? 3'000 : 1'000);

struct Job {
  int64_t sequence = kInitialSequence;
  int64_t value = 0;
};

// Counts what it sees and checks contiguity; optionally sleeps every `pause_every` events.
class Tally {
 public:
  Tally(std::string name, FailureLog& failures, int64_t pause_every = 0,
        std::chrono::microseconds pause = std::chrono::microseconds(0))
      : name_(std::move(name)), failures_(failures), pause_every_(pause_every), pause_(pause) {}

  void OnEvent(const Job& job, int64_t sequence, bool /*end_of_batch*/) {
    if (sequence != last_ + 1 || job.sequence != sequence) {
      failures_.Record(absl::StrCat(name_, ": sequence ", sequence, " (slot says ", job.sequence,
                                    ") after ", last_));
    }
    last_ = sequence;
    ++events_;
    sum_ += job.value;
    if (pause_every_ > 0 && events_ % pause_every_ == 0) std::this_thread::sleep_for(pause_);
  }

  [[nodiscard]] int64_t events() const { return events_; }
  [[nodiscard]] int64_t last() const { return last_; }
  [[nodiscard]] int64_t sum() const { return sum_; }

 private:
  const std::string name_;
  FailureLog& failures_;
  const int64_t pause_every_;
  const std::chrono::microseconds pause_;
  int64_t last_ = kInitialSequence;
  int64_t events_ = 0;
  int64_t sum_ = 0;
};

template <class D>
void PublishFromThreads(D& disruptor, int producers, int64_t events_per_producer) {
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&] {
      for (int64_t i = 0; i < events_per_producer; ++i) {
        disruptor.Publish([i](Job& job, int64_t sequence) {
          job.sequence = sequence;
          job.value = i;
        });
      }
    });
  }
  for (auto& t : threads) t.join();
}

TEST(ShutdownStress, DrainsEveryEventPublishedFromSeveralThreadsThroughEveryStage) {
  Watchdog watchdog;
  constexpr int kProducers = 3;
  const int64_t rounds = Scaled(30, 3);
  const int64_t per_producer = Scaled(20'000, 1'000);
  const int64_t total = kProducers * per_producer;
  int64_t rounds_with_backlog = 0;
  StallWatchdog stall;
  for (int64_t round = 0; round < rounds; ++round) {
    stall.Progress(round);
    SCOPED_TRACE(absl::StrCat("round ", round));
    FailureLog failures;
    //   producers -> a --+--> c        c is slow: there is a backlog when Shutdown starts
    //             -> b --+
    //                a -----> d
    Tally a("a", failures), b("b", failures), d("d", failures);
    Tally c("c", failures, 2048, std::chrono::microseconds(300));
    Disruptor<Job, MultiProducerSequencer<Blocking>> disruptor(256);
    disruptor
        .HandleEventsWith(Stage(a, {.name = "a"}), Stage(b, {.name = "b", .max_batch_size = 8}))
        .Then(Stage(c, {.name = "c"}));
    disruptor.After(a).HandleEventsWith(Stage(d, {.name = "d"}));
    ASSERT_TRUE(disruptor.Start().ok());
    PublishFromThreads(disruptor, kProducers, per_producer);
    if (disruptor.SequenceOf(c).Get() < disruptor.Cursor()) ++rounds_with_backlog;
    const absl::Status drained = disruptor.Shutdown(absl::FromChrono(kWaitTimeout));
    ASSERT_TRUE(drained.ok()) << drained;
    for (const Tally* stage : {&a, &b, &c, &d}) {
      EXPECT_EQ(stage->events(), total);
      EXPECT_EQ(stage->last(), total - 1);
      EXPECT_EQ(stage->sum(), kProducers * per_producer * (per_producer - 1) / 2);
    }
    ASSERT_EQ(failures.count(), 0) << failures.Summary();
  }
  // Otherwise Shutdown only ever found an empty ring and the drain went untested.
  EXPECT_GT(rounds_with_backlog, 0);
}

// TimeoutBlocking stages (idle ones wake every 200 us) behind one producer.
class TimedTally : public Tally {
 public:
  using Tally::Tally;
  void OnTimeout(int64_t /*sequence*/) { ++timeouts_; }
  [[nodiscard]] int64_t timeouts() const { return timeouts_; }

 private:
  int64_t timeouts_ = 0;
};

TEST(ShutdownStress, DrainsTimeoutBlockingStagesBehindASingleProducer) {
  Watchdog watchdog;
  const int64_t rounds = Scaled(20, 2);
  const int64_t events = Scaled(50'000, 2'000);
  for (int64_t round = 0; round < rounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    FailureLog failures;
    TimedTally first("first", failures),
        second("second", failures, 2048, std::chrono::microseconds(300));
    Disruptor<Job, SingleProducerSequencer<TimeoutBlocking, YieldOnFull>> disruptor(
        1024, [] { return Job(); }, TimeoutBlocking(std::chrono::microseconds(200)));
    disruptor.HandleEventsWith(Stage(first, {.name = "first"}))
        .Then(Stage(second, {.name = "second"}));
    ASSERT_TRUE(disruptor.Start().ok());
    PublishFromThreads(disruptor, 1, events);
    const absl::Status drained = disruptor.Shutdown(absl::FromChrono(kWaitTimeout));
    ASSERT_TRUE(drained.ok()) << drained;
    EXPECT_EQ(first.events(), events);
    EXPECT_EQ(second.events(), events);
    EXPECT_EQ(second.last(), events - 1);
    ASSERT_EQ(failures.count(), 0) << failures.Summary();
  }
}

// Halt may reach a stage while its thread is still entering Run (before or after Run has cleared
// the barrier's alert); the halt must not be lost, or Shutdown joins a thread parked for good.
TEST(ShutdownStress, ShutdownRightAfterStartReturnsPromptly) {
  Watchdog watchdog;
  StallWatchdog stall;
  const int64_t rounds = Scaled(15'000, 500);
  for (int64_t round = 0; round < rounds; ++round) {
    stall.Progress(round);
    SCOPED_TRACE(absl::StrCat("round ", round));
    FailureLog failures;
    Tally a("a", failures), b("b", failures), c("c", failures), d("d", failures);
    Tally e("e", failures);
    Disruptor<Job, MultiProducerSequencer<Blocking>> disruptor(16);
    disruptor
        .HandleEventsWith(Stage(a, {.name = "a"}), Stage(b, {.name = "b"}), Stage(c, {.name = "c"}),
                          Stage(d, {.name = "d"}))
        .Then(Stage(e, {.name = "e"}));
    ASSERT_TRUE(disruptor.Start().ok());
    const bool publish_one = round % 2 == 1;
    if (publish_one) disruptor.Publish([](Job& job, int64_t sequence) { job.sequence = sequence; });
    const auto begin = Clock::now();
    const absl::Status drained = disruptor.Shutdown(absl::FromChrono(kWaitTimeout));
    const auto took = Clock::now() - begin;
    ASSERT_TRUE(drained.ok()) << drained;
    EXPECT_LT(took, kSlack);
    EXPECT_EQ(e.events(), publish_one ? 1 : 0);
    ASSERT_EQ(failures.count(), 0) << failures.Summary();
  }
}

// The destructor halts: a disruptor dropped mid-stream must not hang or leak running threads.
TEST(ShutdownStress, DestroyingARunningDisruptorHaltsItsStages) {
  Watchdog watchdog;
  StallWatchdog stall;
  const int64_t rounds = Scaled(500, 25);
  for (int64_t round = 0; round < rounds; ++round) {
    stall.Progress(round);
    FailureLog failures;
    Tally a("a", failures), b("b", failures, 16, std::chrono::microseconds(50));
    {
      Disruptor<Job, MultiProducerSequencer<PhasedBackoff<>>> disruptor(32);
      disruptor.HandleEventsWith(Stage(a, {.name = "a"})).Then(Stage(b, {.name = "b"}));
      ASSERT_TRUE(disruptor.Start().ok());
      PublishFromThreads(disruptor, 2, round % 50);
    }
    // Whatever was processed was processed in order.
    ASSERT_EQ(failures.count(), 0) << failures.Summary();
    EXPECT_LE(b.events(), a.events());
  }
}

TEST(ShutdownStress, SlowStageMakesShutdownReturnDeadlineExceededSoonAfterTheTimeout) {
  Watchdog watchdog;
  constexpr int64_t kEvents = 500;  // below the capacity: the producer never waits
  constexpr auto kTimeout = std::chrono::milliseconds(100);
  constexpr int64_t kBatch = 4;
  constexpr auto kPerEvent = std::chrono::milliseconds(1);
  FailureLog failures;
  Tally fast("fast", failures);
  Tally slow("slow", failures, 1, std::chrono::duration_cast<std::chrono::microseconds>(kPerEvent));
  Disruptor<Job, SingleProducerSequencer<Blocking>> disruptor(1024);
  disruptor.HandleEventsWith(Stage(fast, {.name = "fast"}),
                             Stage(slow, {.name = "slow", .max_batch_size = kBatch}));
  ASSERT_TRUE(disruptor.Start().ok());
  PublishFromThreads(disruptor, 1, kEvents);
  const auto begin = Clock::now();
  const absl::Status status = disruptor.Shutdown(absl::FromChrono(kTimeout));
  const auto took = Clock::now() - begin;
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_GE(took, kTimeout);
  // Halt lets the slow stage finish the batch in hand (at most kBatch events).
  EXPECT_LT(took, kTimeout + kBatch * kPerEvent + kSlack);
  EXPECT_LT(slow.events(), kEvents);
  EXPECT_EQ(failures.count(), 0) << failures.Summary();
}

// Throws at one sequence; with ErrorPolicy::kHalt its stage stops there for good.
class ThrowsAt {
 public:
  explicit ThrowsAt(int64_t at) : at_(at) {}
  void OnEvent(const Job& /*job*/, int64_t sequence, bool /*end_of_batch*/) {
    if (sequence == at_) throw std::runtime_error("injected failure");
    ++events_;
  }
  [[nodiscard]] int64_t events() const { return events_; }

 private:
  const int64_t at_;
  int64_t events_ = 0;
};

TEST(ShutdownStress, StageHaltedByItsErrorPolicyMakesShutdownReturnDeadlineExceeded) {
  Watchdog watchdog;
  constexpr int64_t kEvents = 500;
  constexpr int64_t kThrowAt = 100;
  constexpr auto kTimeout = std::chrono::milliseconds(100);
  FailureLog failures;
  std::atomic<int> reported{0};
  ThrowsAt stopper(kThrowAt);
  Tally behind("behind", failures), independent("independent", failures);
  Disruptor<Job, MultiProducerSequencer<Blocking>> disruptor(1024);
  disruptor
      .HandleEventsWith(Stage(stopper, {.name = "stopper",
                                        .error_policy = ErrorPolicy::kHalt,
                                        .report_exception =
                                            [&](const std::string&, int64_t, std::exception_ptr) {
                                              reported.fetch_add(1, std::memory_order_relaxed);
                                            }}),
                        Stage(independent, {.name = "independent"}))
      .Then(Stage(behind, {.name = "behind"}));
  ASSERT_TRUE(disruptor.Start().ok());
  PublishFromThreads(disruptor, 2, kEvents / 2);
  ASSERT_TRUE(WaitUntil([&] { return disruptor.SequenceOf(independent).Get() == kEvents - 1; }));
  ASSERT_TRUE(WaitUntil([&] { return disruptor.SequenceOf(behind).Get() == kThrowAt - 1; }));
  const auto begin = Clock::now();
  const absl::Status status = disruptor.Shutdown(absl::FromChrono(kTimeout));
  const auto took = Clock::now() - begin;
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_NE(status.message().find(absl::StrCat(kEvents - kThrowAt, " events not processed")),
            std::string::npos)
      << status;
  EXPECT_GE(took, kTimeout);
  EXPECT_LT(took, kTimeout + kSlack);
  EXPECT_EQ(stopper.events(), kThrowAt);
  EXPECT_EQ(reported.load(), 1);
  EXPECT_EQ(behind.events(), kThrowAt);
  EXPECT_EQ(independent.events(), kEvents);
  EXPECT_EQ(failures.count(), 0) << failures.Summary();
}

}  // namespace
}  // namespace ringcast
