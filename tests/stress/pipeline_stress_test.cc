// Stress: pipelines and diamonds of stages over one ring. A stage must never see an event before
// every stage it follows has finished with it, nor after a stage that follows it has.
//
// Each stage writes its own mark into the slot, a value derived from the sequence; a stage checks
// that every upstream mark is there for this sequence and that no downstream mark is yet. The
// marks are plain fields, so under ThreadSanitizer a missing happens-before between two stages is
// reported as a data race even when the values happen to be right.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ringcast/core.h"
#include "stress_scale.h"
#include "stress_support.h"

namespace ringcast {
namespace {

using stress::FailureLog;
using stress::kWaitTimeout;
using stress::Mix;
using stress::Scaled;
using stress::WaitUntil;
using stress::Watchdog;

constexpr int kMaxStages = 6;

struct Slot {
  int64_t sequence = kInitialSequence;       // written by the producer
  std::array<uint64_t, kMaxStages> marks{};  // marks[i] written by stage i only
};

uint64_t MarkOf(int64_t sequence, int stage) {
  return Mix(sequence, static_cast<uint64_t>(stage) + 1);
}

// Stage `id`: checks the marks of every stage before it (transitively) and the absence of the
// marks of every stage after it, then leaves its own.
class StageChecker {
 public:
  StageChecker(int id, std::vector<int> upstream, std::vector<int> downstream, FailureLog& failures)
      : id_(id),
        upstream_(std::move(upstream)),
        downstream_(std::move(downstream)),
        failures_(failures) {}

  void OnEvent(Slot& slot, int64_t sequence, bool /*end_of_batch*/) {
    if (sequence != last_sequence_ + 1) {
      failures_.Record(
          absl::StrCat("stage ", id_, ": sequence ", sequence, " after ", last_sequence_));
    }
    last_sequence_ = sequence;
    ++events_;
    if (slot.sequence != sequence) {
      failures_.Record(
          absl::StrCat("stage ", id_, ": slot of ", sequence, " holds ", slot.sequence));
    }
    for (int u : upstream_) {
      if (slot.marks[static_cast<std::size_t>(u)] != MarkOf(sequence, u)) {
        failures_.Record(absl::StrCat("stage ", id_, " saw sequence ", sequence,
                                      " before upstream stage ", u, " finished it"));
      }
    }
    for (int d : downstream_) {
      if (slot.marks[static_cast<std::size_t>(d)] == MarkOf(sequence, d)) {
        failures_.Record(absl::StrCat("stage ", id_, " saw sequence ", sequence,
                                      " after downstream stage ", d, " had already handled it"));
      }
    }
    slot.marks[static_cast<std::size_t>(id_)] = MarkOf(sequence, id_);
  }

  // TimeoutBlocking: `sequence` must be the last event this stage finished.
  void OnTimeout(int64_t sequence) {
    ++timeouts_;
    if (sequence != last_sequence_) {
      failures_.Record(absl::StrCat("stage ", id_, ": OnTimeout(", sequence, ") after finishing ",
                                    last_sequence_));
    }
  }

  [[nodiscard]] int64_t events() const { return events_; }
  [[nodiscard]] int64_t last_sequence() const { return last_sequence_; }
  [[nodiscard]] int64_t timeouts() const { return timeouts_; }

 private:
  const int id_;
  const std::vector<int> upstream_;
  const std::vector<int> downstream_;
  FailureLog& failures_;
  int64_t last_sequence_ = kInitialSequence;
  int64_t events_ = 0;
  int64_t timeouts_ = 0;
};

struct Load {
  int producers = 1;
  int64_t events_per_producer = 1000;
  // Every `pause_every` events a producer sleeps `pause`, so idle stages time out (0: never).
  int64_t pause_every = 0;
  std::chrono::microseconds pause{0};
};

// Publishes the load, drains with Shutdown and checks every stage saw every event.
template <class D>
void PublishAndCheck(D& disruptor, const Load& load, const std::vector<StageChecker*>& stages,
                     const FailureLog& failures) {
  ASSERT_TRUE(disruptor.Start().ok());
  std::vector<std::thread> producers;
  for (int p = 0; p < load.producers; ++p) {
    producers.emplace_back([&] {
      for (int64_t i = 0; i < load.events_per_producer; ++i) {
        if (load.pause_every > 0 && i % load.pause_every == load.pause_every - 1) {
          std::this_thread::sleep_for(load.pause);
        }
        disruptor.Publish([](Slot& slot, int64_t sequence) { slot.sequence = sequence; });
      }
    });
  }
  for (auto& t : producers) t.join();
  const absl::Status drained = disruptor.Shutdown(absl::FromChrono(kWaitTimeout));
  ASSERT_TRUE(drained.ok()) << drained;
  const int64_t total = load.producers * load.events_per_producer;
  for (std::size_t i = 0; i < stages.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("stage ", i));
    EXPECT_EQ(stages[i]->events(), total);
    EXPECT_EQ(stages[i]->last_sequence(), total - 1);
  }
  EXPECT_EQ(failures.count(), 0) << failures.Summary();
}

// 0 -> 1 -> 2 -> 3 on a single-producer ring.
template <WaitStrategy W>
void RunPipeline(int64_t capacity, const Load& load, W wait_strategy = W()) {
  SCOPED_TRACE(absl::StrCat("capacity ", capacity));
  Disruptor<Slot, SingleProducerSequencer<W>> disruptor(
      capacity, [] { return Slot(); }, std::move(wait_strategy));
  FailureLog failures;
  StageChecker s0(0, {}, {1, 2, 3}, failures);
  StageChecker s1(1, {0}, {2, 3}, failures);
  StageChecker s2(2, {0, 1}, {3}, failures);
  StageChecker s3(3, {0, 1, 2}, {}, failures);
  disruptor.HandleEventsWith(Stage(s0, {.name = "pipe-0"}))
      .Then(Stage(s1, {.name = "pipe-1", .max_batch_size = 7}))
      .Then(Stage(s2, {.name = "pipe-2"}))
      .Then(Stage(s3, {.name = "pipe-3", .max_batch_size = 1}));
  PublishAndCheck(disruptor, load, {&s0, &s1, &s2, &s3}, failures);
}

TEST(PipelineStress, EachStageSeesAnEventOnlyAfterTheStageBeforeIt) {
  Watchdog watchdog;
  RunPipeline<Blocking>(4, {.events_per_producer = Scaled(20'000, 1'000)});
  RunPipeline<Blocking>(1024, {.events_per_producer = Scaled(200'000, 5'000)});
}

TEST(PipelineStress, SleepingStagesOnATinyRingSeeEventsOnlyAfterTheStageBeforeIt) {
  Watchdog watchdog;
  RunPipeline<Sleeping>(2, {.events_per_producer = Scaled(50'000, 2'000)},
                        Sleeping(std::chrono::microseconds(20)));
}

// Diamond with a side branch, several producers:
//
//   producers -> 0 --+--> 2 -> 3
//             -> 1 --+
//                0 -----> 4      (after 0 only)
template <WaitStrategy W>
void RunDiamond(int64_t capacity, const Load& load, W wait_strategy = W()) {
  SCOPED_TRACE(absl::StrCat("capacity ", capacity));
  Disruptor<Slot, MultiProducerSequencer<W, YieldOnFull>> disruptor(
      capacity, [] { return Slot(); }, std::move(wait_strategy));
  FailureLog failures;
  StageChecker s0(0, {}, {2, 3, 4}, failures);
  StageChecker s1(1, {}, {2, 3}, failures);
  StageChecker s2(2, {0, 1}, {3}, failures);
  StageChecker s3(3, {0, 1, 2}, {}, failures);
  StageChecker s4(4, {0}, {}, failures);
  disruptor.HandleEventsWith(Stage(s0, {.name = "diamond-0"}),
                             Stage(s1, {.name = "diamond-1", .max_batch_size = 5}));
  disruptor.After(s0, s1)
      .Then(Stage(s2, {.name = "diamond-2"}))
      .Then(Stage(s3, {.name = "diamond-3"}));
  disruptor.After(s0).HandleEventsWith(Stage(s4, {.name = "diamond-4", .max_batch_size = 3}));
  PublishAndCheck(disruptor, load, {&s0, &s1, &s2, &s3, &s4}, failures);
}

TEST(DiamondStress, JoinStageSeesAnEventOnlyAfterBothBranches) {
  Watchdog watchdog;
  RunDiamond<PhasedBackoff<>>(2, {.producers = 2, .events_per_producer = Scaled(10'000, 1'000)});
  RunDiamond<PhasedBackoff<>>(256, {.producers = 2, .events_per_producer = Scaled(300'000, 2'000)});
}

TEST(DiamondStress, TimedOutStagesReportTheLastEventTheyFinished) {
  Watchdog watchdog;
  const Load load{.producers = 2,
                  .events_per_producer = Scaled(40'000, 2'000),
                  .pause_every = Scaled(40'000, 2'000) / 10,
                  .pause = std::chrono::microseconds(3'000)};
  Disruptor<Slot, MultiProducerSequencer<TimeoutBlocking, YieldOnFull>> disruptor(
      64, [] { return Slot(); }, TimeoutBlocking(std::chrono::microseconds(500)));
  FailureLog failures;
  StageChecker s0(0, {}, {2}, failures);
  StageChecker s1(1, {}, {2}, failures);
  StageChecker s2(2, {0, 1}, {}, failures);
  disruptor.HandleEventsWith(Stage(s0, {.name = "timeout-0"}), Stage(s1, {.name = "timeout-1"}))
      .Then(Stage(s2, {.name = "timeout-2"}));
  PublishAndCheck(disruptor, load, {&s0, &s1, &s2}, failures);
  // The producers paused ten times for six timeouts' worth: every stage must have timed out.
  EXPECT_GT(s0.timeouts(), 0);
  EXPECT_GT(s2.timeouts(), 0);
}

// A Blocking strategy that, on a thread that asked for it, pauses right after it has woken the
// waiters: what a preemption of that thread at that point does. The contract of a wait strategy
// puts no bound on how long SignalAllWhenBlocking takes.
class SlowSignalBlocking {
 public:
  static void SlowOnThisThread(bool slow) { slow_here_ = slow; }

  template <Dependents D>
  WaitResult WaitFor(int64_t sequence, const D& dependents, const std::atomic<bool>& alerted) {
    return inner_.WaitFor(sequence, dependents, alerted);
  }
  void SignalAllWhenBlocking() noexcept {
    inner_.SignalAllWhenBlocking();
    if (slow_here_) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

 private:
  static thread_local bool slow_here_;
  Blocking inner_;
};
thread_local bool SlowSignalBlocking::slow_here_ = false;

// event_poller.h: Poll wakes "producers or downstream stages parked on a Blocking strategy". A
// stage behind a poller waits on the poller's sequence, so Poll must store its progress before
// it signals: a stage woken (or starting to wait) between a signal and the store would read the
// old sequence, park again, and stay parked until some later, unrelated signal. The slow signal
// holds the poller exactly there.
TEST(PollerPipelineStress, StageBehindAnEventPollerWakesForEveryPolledEvent) {
  Watchdog watchdog;
  using S = SingleProducerSequencer<SlowSignalBlocking>;
  constexpr int64_t kEvents = 20;
  constexpr auto kPatience = std::chrono::seconds(2);
  RingBuffer<Slot> ring(64);
  S sequencer(64);
  EventPoller<Slot, S> poller(ring, sequencer);
  FailureLog failures;
  StageChecker first(0, {}, {1}, failures);
  StageChecker after(1, {0}, {}, failures);
  BatchEventProcessor<Slot, StageChecker, S> processor(ring, sequencer, {&poller.sequence()},
                                                       after);
  ASSERT_TRUE(sequencer.AddGatingSequence(processor.sequence()));
  std::thread thread([&] { processor.Run(); });

  for (int64_t i = 0; i < kEvents; ++i) {
    const int64_t sequence = sequencer.Next(1);
    ring.Get(sequence).sequence = sequence;
    sequencer.Publish(sequence);
    // The test thread is the poller's thread; only its signals are slow.
    SlowSignalBlocking::SlowOnThisThread(true);
    const PollState state = poller.Poll([&](Slot& slot, int64_t s, bool end) {
      first.OnEvent(slot, s, end);
      return true;
    });
    SlowSignalBlocking::SlowOnThisThread(false);
    ASSERT_EQ(state, PollState::kProcessing);
    ASSERT_EQ(poller.sequence().Get(), sequence);
    const bool woke = WaitUntil([&] { return processor.sequence().Get() == sequence; }, kPatience);
    EXPECT_TRUE(woke) << "the stage behind the poller still waits for sequence " << sequence << " "
                      << kPatience.count() << " s after the poller finished it";
    if (!woke) break;
  }
  processor.Halt();
  thread.join();
  EXPECT_EQ(failures.count(), 0) << failures.Summary();
}

// The same topology without any artificial delay, under load: a poller thread and a processor
// behind it. Were the wake-up above lost with the ring full, the producer would wait for the
// processor, the processor for a signal, and the poller, having nothing new, would send none: a
// deadlock. The producer claims with TryNext and a deadline so the test reports it.
TEST(PollerPipelineStress, StageBehindAnEventPollerSeesEveryEventAfterThePoller) {
  Watchdog watchdog;
  using S = SingleProducerSequencer<Blocking>;
  const int64_t events = Scaled(1'000'000, 20'000);
  constexpr auto kStall = std::chrono::seconds(stress::kThreadSanitizer ? 5 : 2);
  RingBuffer<Slot> ring(256);
  S sequencer(256);
  EventPoller<Slot, S> poller(ring, sequencer);
  FailureLog failures;
  StageChecker first(0, {}, {1}, failures);
  StageChecker after(1, {0}, {}, failures);
  BatchEventProcessor<Slot, StageChecker, S> processor(ring, sequencer, {&poller.sequence()},
                                                       after);
  ASSERT_TRUE(sequencer.AddGatingSequence(processor.sequence()));
  std::atomic<bool> stop{false};
  std::thread processor_thread([&] { processor.Run(); });
  std::thread poller_thread([&] {
    while (!stop.load(std::memory_order_relaxed)) {  // relaxed: only ends the loop
      const PollState state = poller.Poll([&](Slot& slot, int64_t s, bool end) {
        first.OnEvent(slot, s, end);
        return true;
      });
      if (state != PollState::kProcessing) std::this_thread::yield();
    }
  });
  int64_t published = 0;
  for (; published < events; ++published) {
    ClaimResult claim{ClaimStatus::kInsufficientCapacity, 0};
    const bool claimed = WaitUntil([&] { return (claim = sequencer.TryNext(1)).ok(); }, kStall);
    if (!claimed) {
      ADD_FAILURE() << "deadlock: the ring stayed full for " << kStall.count()
                    << " s with the poller at " << poller.sequence().Get()
                    << " and the processor behind it at " << processor.sequence().Get()
                    << " (cursor " << sequencer.Cursor() << ")";
      break;
    }
    ring.Get(claim.sequence).sequence = claim.sequence;
    sequencer.Publish(claim.sequence);
  }
  const bool polled = WaitUntil([&] { return poller.sequence().Get() == published - 1; });
  stop.store(true, std::memory_order_relaxed);
  poller_thread.join();
  EXPECT_TRUE(polled);
  EXPECT_TRUE(WaitUntil([&] { return processor.sequence().Get() == published - 1; }, kStall))
      << "the processor stopped at " << processor.sequence().Get() << " with the poller at "
      << poller.sequence().Get();
  processor.Halt();
  processor_thread.join();
  EXPECT_EQ(published, events);
  EXPECT_EQ(first.events(), published);
  EXPECT_EQ(after.events(), published);
  EXPECT_EQ(failures.count(), 0) << failures.Summary();
}

}  // namespace
}  // namespace ringcast
