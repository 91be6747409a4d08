// Stress: consumers join and leave the gating set while producers publish.
//
// A permanent consumer keeps the producers gated. Churn threads repeatedly add a consumer (an
// EventPoller polled on the churn thread, or a BatchEventProcessor on a thread of its own), let it
// take some events, and remove it. Each added consumer must see exactly the sequences after its
// start, with no gap and no repeat, and each slot must still hold the event published at that
// sequence (sequence and checksum): a producer that lapped the consumer shows as a wrong slot (one
// producer) or as a slot that is published for a later lap (several producers).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
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
using stress::Random;
using stress::Scaled;
using stress::WaitUntil;
using stress::Watchdog;

struct Stamped {
  int64_t sequence = kInitialSequence;
  uint64_t check = 0;  // Mix(sequence)
};

// Checks one consumer's events: contiguous from `start + 1`, each slot holding its own event.
class RangeChecker {
 public:
  RangeChecker(std::string name, FailureLog& failures)
      : name_(std::move(name)), failures_(failures) {}

  void Begin(int64_t start) {
    start_ = start;
    next_ = start + 1;
  }

  // False once the consumer saw something wrong.
  bool Check(const Stamped& event, int64_t sequence) {
    if (sequence != next_) {
      failures_.Record(absl::StrCat(name_, " (start ", start_, "): got sequence ", sequence,
                                    " when ", next_, " was due"));
      ok_.store(false, std::memory_order_relaxed);
    }
    if (event.sequence != sequence || event.check != Mix(sequence)) {
      failures_.Record(absl::StrCat(
          name_, " (start ", start_, "): the slot of sequence ", sequence, " holds sequence ",
          event.sequence, event.sequence > sequence ? ": a producer lapped the consumer" : ""));
      ok_.store(false, std::memory_order_relaxed);
    }
    next_ = sequence + 1;
    return ok();
  }

  // Relaxed: a flag for the churn loop; the details travel through the FailureLog.
  [[nodiscard]] bool ok() const { return ok_.load(std::memory_order_relaxed); }
  [[nodiscard]] int64_t next() const { return next_; }

 private:
  const std::string name_;
  FailureLog& failures_;
  int64_t start_ = kInitialSequence;
  int64_t next_ = 0;
  std::atomic<bool> ok_{true};
};

// The handler of the permanent consumer and of the added processors.
class CheckingHandler {
 public:
  explicit CheckingHandler(RangeChecker& checker) : checker_(checker) {}
  void OnEvent(const Stamped& event, int64_t sequence, bool /*end_of_batch*/) {
    checker_.Check(event, sequence);
    ++events_;
  }
  [[nodiscard]] int64_t events() const { return events_; }

 private:
  RangeChecker& checker_;
  int64_t events_ = 0;
};

template <class S>
inline constexpr bool kMultiProducer = false;
template <WaitStrategy W, ProducerWaitPolicy P>
inline constexpr bool kMultiProducer<MultiProducerSequencer<W, P>> = true;

enum class AddMethod {
  // sequencer.AddGatingSequenceAtCursor(sequence); the consumer starts after its result.
  kAtCursor,
  // sequence.Set(Cursor()); AddGatingSequence(sequence); then Set(Cursor()) again and start
  // there: once the add is visible, no producer can lap the re-read cursor.
  kAddThenStartAtCursor,
};

template <class S>
class GatingChurn {
 public:
  GatingChurn(int64_t capacity, int producers, AddMethod method, typename S::WaitStrategyType wait)
      : ring_(capacity, [] { return Stamped(); }),
        sequencer_(capacity, std::move(wait)),
        producers_(producers),
        method_(method),
        permanent_checker_("permanent consumer", failures_),
        permanent_handler_(permanent_checker_),
        permanent_(ring_, sequencer_, {}, permanent_handler_, {.name = "permanent"}) {}

  // Runs `churners` threads of `rounds` add/consume/remove cycles each against the producers.
  void Run(int churners, int64_t rounds) {
    permanent_checker_.Begin(kInitialSequence);
    ASSERT_TRUE(sequencer_.AddGatingSequence(permanent_.sequence()));
    std::thread permanent_thread([this] { permanent_.Run(); });
    std::atomic<bool> stop{false};
    std::vector<std::thread> producers;
    for (int p = 0; p < producers_; ++p) {
      producers.emplace_back([this, &stop] {
        while (!stop.load(std::memory_order_relaxed)) {  // relaxed: only ends the loop
          const int64_t sequence = sequencer_.Next(1);
          Stamped& event = ring_.Get(sequence);
          event.sequence = sequence;
          event.check = Mix(sequence);
          sequencer_.Publish(sequence);
        }
      });
    }
    std::vector<std::thread> churn;
    for (int c = 0; c < churners; ++c) {
      churn.emplace_back([this, c, rounds] {
        Random random(static_cast<uint64_t>(c) + 17);
        for (int64_t r = 0; r < rounds && failures_.count() == 0; ++r) {
          const int64_t want = 1 + random.Below(2 * sequencer_.capacity());
          const std::string name = absl::StrCat("churner ", c, " round ", r);
          if (r % 2 == 0) {
            ChurnPoller(name, want);
          } else {
            ChurnProcessor(name, want);
          }
        }
      });
    }
    // Joins and leaves without consuming, as fast as it can: keeps Add and Remove contending for
    // the gating set's writer lock, as many short-lived subscribers would. Its sequence lives as
    // long as the test, so a producer reading it after its removal (the last test of this file
    // is about that) does not make these tests fail too.
    std::atomic<bool> churn_done{false};
    std::vector<std::thread> flickers;
    for (int f = 0; f < kFlickers; ++f) {
      flickers.emplace_back([this, &churn_done, f] {
        Sequence& sequence = flicker_sequences_[f];
        while (!churn_done.load(std::memory_order_relaxed)) {  // relaxed: only ends the loop
          if (Add(sequence) < kInitialSequence) continue;
          if (!sequencer_.RemoveGatingSequence(sequence)) failures_.Record("flicker: not removed");
          std::this_thread::yield();
        }
      });
    }
    for (auto& t : churn) t.join();
    churn_done.store(true, std::memory_order_relaxed);
    for (auto& t : flickers) t.join();
    stop.store(true, std::memory_order_relaxed);
    for (auto& t : producers) t.join();
    const int64_t last = sequencer_.Cursor();
    EXPECT_TRUE(WaitUntil([&] { return permanent_.sequence().Get() == last; }))
        << "permanent consumer stopped at " << permanent_.sequence().Get() << ", cursor " << last;
    permanent_.Halt();
    permanent_thread.join();

    EXPECT_EQ(permanent_handler_.events(), last + 1);
    if (failures_.count() == 0) {  // a failure ends the churn early
      EXPECT_EQ(added_.load(), churners * rounds);
    }
    EXPECT_GT(events_seen_by_added_.load(), 0);
    EXPECT_EQ(sequencer_.GatingSequenceCount(), 1u) << "only the permanent consumer should be left";
    EXPECT_EQ(failures_.count(), 0) << failures_.Summary();
  }

 private:
  static constexpr int kFlickers = 1;

  // Adds `sequence` to the gating set; returns the sequence its consumer starts after.
  int64_t Add(Sequence& sequence) {
    if (method_ == AddMethod::kAtCursor) return sequencer_.AddGatingSequenceAtCursor(sequence);
    sequence.Set(sequencer_.Cursor());
    if (!sequencer_.AddGatingSequence(sequence)) return kInitialSequence - 1;
    const int64_t start = sequencer_.Cursor();
    sequence.Set(start);
    return start;
  }

  // True when the slot the consumer needs next was already published for a later lap while the
  // consumer, at `next - 1` all along, gated the producers: it was lapped (before it was added).
  bool Lapped(const Sequence& consumer) const {
    const int64_t before = consumer.Get();
    const int64_t next = before + 1;
    const int64_t capacity = sequencer_.capacity();
    bool later_lap = false;
    if constexpr (kMultiProducer<S>) {
      // Slots remember the lap last published into them; look a few laps ahead.
      for (int64_t lap = 1; lap <= 4 && !later_lap; ++lap) {
        later_lap = sequencer_.IsAvailable(next + lap * capacity);
      }
    } else {
      later_lap = sequencer_.Cursor() >= next + capacity;  // the cursor is the last published
    }
    return later_lap && consumer.Get() == before;
  }

  void ChurnPoller(const std::string& name, int64_t want) {
    RangeChecker checker(name + " (poller)", failures_);
    // On the heap and freed right after removal: a producer still reading the removed sequence
    // would read freed memory (ThreadSanitizer and AddressSanitizer report it).
    auto poller = std::make_unique<EventPoller<Stamped, S>>(ring_, sequencer_);
    const int64_t start = Add(poller->sequence());
    if (start < kInitialSequence) {
      failures_.Record(name + ": no free gating slot");
      return;
    }
    checker.Begin(start);
    const int64_t end = start + want;
    const auto deadline = std::chrono::steady_clock::now() + stress::kStallTimeout;
    while (checker.next() <= end && checker.ok()) {
      const PollState state =
          poller->Poll([&](Stamped& event, int64_t sequence,
                           bool) { return checker.Check(event, sequence) && sequence < end; },
                       end - checker.next() + 1);
      if (state == PollState::kProcessing) continue;
      if (Lapped(poller->sequence())) {
        failures_.Record(absl::StrCat(name, " (poller, start ", start, "): slot of ",
                                      checker.next(), " was overwritten by a later lap"));
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        failures_.Record(absl::StrCat(name, " (poller, start ", start, "): stuck at ",
                                      checker.next(), " with the cursor at ", sequencer_.Cursor()));
        break;
      }
      std::this_thread::yield();
    }
    events_seen_by_added_.fetch_add(checker.next() - 1 - start, std::memory_order_relaxed);
    added_.fetch_add(1, std::memory_order_relaxed);
    if (!sequencer_.RemoveGatingSequence(poller->sequence())) {
      failures_.Record(name + ": RemoveGatingSequence did not find the poller's sequence");
    }
  }

  void ChurnProcessor(const std::string& name, int64_t want) {
    RangeChecker checker(name + " (processor)", failures_);
    CheckingHandler handler(checker);
    auto processor = std::make_unique<BatchEventProcessor<Stamped, CheckingHandler, S>>(
        ring_, sequencer_, std::vector<const Sequence*>{}, handler,
        ProcessorOptions{.name = "churned", .max_batch_size = 16});
    const int64_t start = Add(processor->sequence());
    if (start < kInitialSequence) {
      failures_.Record(name + ": no free gating slot");
      return;
    }
    checker.Begin(start);  // before the thread starts: the thread's creation orders it
    std::thread thread([&] { processor->Run(); });
    const auto deadline = std::chrono::steady_clock::now() + stress::kStallTimeout;
    for (;;) {
      if (processor->sequence().Get() >= start + want || !checker.ok()) break;
      if (Lapped(processor->sequence())) {
        failures_.Record(absl::StrCat(name, " (processor, start ", start, "): slot of ",
                                      processor->sequence().Get() + 1,
                                      " was overwritten by a later lap"));
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        failures_.Record(absl::StrCat(name, " (processor, start ", start, "): stuck at ",
                                      processor->sequence().Get(), " with the cursor at ",
                                      sequencer_.Cursor()));
        break;
      }
      std::this_thread::yield();
    }
    processor->Halt();
    thread.join();
    events_seen_by_added_.fetch_add(handler.events(), std::memory_order_relaxed);
    added_.fetch_add(1, std::memory_order_relaxed);
    if (!sequencer_.RemoveGatingSequence(processor->sequence())) {
      failures_.Record(name + ": RemoveGatingSequence did not find the processor's sequence");
    }
  }

  RingBuffer<Stamped> ring_;
  S sequencer_;
  const int producers_;
  const AddMethod method_;
  FailureLog failures_;
  RangeChecker permanent_checker_;
  CheckingHandler permanent_handler_;
  BatchEventProcessor<Stamped, CheckingHandler, S> permanent_;
  std::atomic<int64_t> added_{0};
  std::atomic<int64_t> events_seen_by_added_{0};
  Sequence flicker_sequences_[kFlickers];
};

using MultiRing = MultiProducerSequencer<Yielding, YieldOnFull>;
using SingleRing = SingleProducerSequencer<Sleeping, YieldOnFull>;

constexpr int kChurners = 2;
const int64_t kRounds = Scaled(40'000, 1'000);

TEST(GatingStress, ConsumersAddedAtTheCursorSeeEveryLaterEventWhileProducersPublish) {
  Watchdog watchdog;
  GatingChurn<MultiRing> churn(4, 2, AddMethod::kAtCursor, Yielding());
  churn.Run(kChurners, kRounds);
}

TEST(GatingStress, ConsumersAddedAtTheCursorSeeEveryLaterEventFromASingleProducer) {
  Watchdog watchdog;
  GatingChurn<SingleRing> churn(4, 1, AddMethod::kAtCursor,
                                Sleeping(std::chrono::microseconds(20)));
  churn.Run(kChurners, kRounds);
}

TEST(GatingStress, ConsumersAddedThenStartedAtTheCursorSeeEveryLaterEventWhileProducersPublish) {
  Watchdog watchdog;
  GatingChurn<MultiRing> churn(4, 2, AddMethod::kAddThenStartAtCursor, Yielding());
  churn.Run(kChurners, kRounds);
}

TEST(GatingStress, ConsumersAddedThenStartedAtTheCursorSeeEveryLaterEventFromASingleProducer) {
  Watchdog watchdog;
  GatingChurn<SingleRing> churn(4, 1, AddMethod::kAddThenStartAtCursor,
                                Sleeping(std::chrono::microseconds(20)));
  churn.Run(kChurners, kRounds);
}

// gating_sequences.h: "After Remove returns, no Minimum call still reads the removed sequence, so
// its owner may free it." Flicker threads add a sequence that lives on their stack, remove it,
// poison it and let it go out of scope (the next one is built at the same address), while reader
// threads take the minimum. A reader that still reads a removed sequence either returns the
// poison (seen here in any build) or races with the next construction (ThreadSanitizer reports
// it, naming the stack of the flicker thread).
TEST(GatingStress, RemovedGatingSequenceIsNeverReadAfterRemoveReturns) {
  Watchdog watchdog;
  constexpr int kFlickers = 2;
  constexpr int kReaders = 2;
  constexpr int64_t kLive = std::numeric_limits<int64_t>::max();  // never the minimum
  constexpr int64_t kPoison = std::numeric_limits<int64_t>::min() / 2;
  const int64_t cycles = Scaled(200'000, 10'000);
  MultiRing sequencer(64);
  FailureLog failures;
  std::atomic<int> flickers_done{0};
  std::vector<std::thread> threads;
  for (int f = 0; f < kFlickers; ++f) {
    threads.emplace_back([&] {
      for (int64_t i = 0; i < cycles; ++i) {
        Sequence sequence(kLive);
        if (!sequencer.AddGatingSequence(sequence)) {
          failures.Record("no free gating slot");
          break;
        }
        if (!sequencer.RemoveGatingSequence(sequence)) failures.Record("sequence not removed");
        sequence.Set(kPoison);  // its owner may do anything with it now
      }
      flickers_done.fetch_add(1, std::memory_order_release);  // pairs with the readers' acquire
    });
  }
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&] {
      while (flickers_done.load(std::memory_order_acquire) < kFlickers) {
        // Nothing is published, so with only live (kLive) sequences gating, the minimum is the
        // floor, the cursor.
        const int64_t minimum = sequencer.MinimumGatingSequence(sequencer.Cursor());
        if (minimum != kInitialSequence) {
          failures.Record(absl::StrCat("Minimum read a removed sequence: got ", minimum));
          return;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(sequencer.GatingSequenceCount(), 0u);
  EXPECT_EQ(failures.count(), 0) << failures.Summary();
}

}  // namespace
}  // namespace ringcast
