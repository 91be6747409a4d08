#include "ringcast/core/disruptor.h"

#include <gtest/gtest.h>
#include <sched.h>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ringcast/core/single_producer_sequencer.h"
#include "test_support.h"

namespace ringcast {
namespace {

using testing::CountedEvent;

struct Event {
  int64_t value = 0;
  int64_t doubled = 0;  // written by stage a
  int64_t tripled = 0;  // written by stage b
};

struct Doubler {
  void OnEvent(Event& e, int64_t, bool) { e.doubled = e.value * 2; }
};
struct Tripler {
  void OnEvent(Event& e, int64_t, bool) { e.tripled = e.value * 3; }
};
// Checks that both upstream stages finished the event before it got here.
struct Joiner {
  int64_t events = 0;
  int64_t wrong = 0;
  void OnEvent(const Event& e, int64_t, bool) {
    ++events;
    if (e.doubled != e.value * 2 || e.tripled != e.value * 3) ++wrong;
  }
};
struct Counter {
  std::atomic<int64_t> events{0};
  std::atomic<int64_t> sum{0};
  std::string thread_name;
  void OnStart() {
    char name[16] = {};
    pthread_getname_np(pthread_self(), name, sizeof(name));
    thread_name = name;
  }
  void OnEvent(const Event& e, int64_t, bool) {
    events.fetch_add(1, std::memory_order_relaxed);
    sum.fetch_add(e.value, std::memory_order_relaxed);
  }
};

constexpr int64_t kEvents = 20'000 / testing::kScale;

template <class D>
void PublishRange(D& d, int64_t count) {
  for (int64_t i = 1; i <= count; ++i) d.Publish([i](Event& e, int64_t) { e.value = i; });
}

TEST(Disruptor, MulticastsEveryEventToEveryFirstStage) {
  Disruptor<Event> d(64);
  Counter a, b;
  d.HandleEventsWith(a, b);
  ASSERT_TRUE(d.Start().ok());
  PublishRange(d, kEvents);
  ASSERT_TRUE(d.Shutdown(absl::Seconds(30)).ok());
  EXPECT_EQ(a.events.load(), kEvents);
  EXPECT_EQ(b.events.load(), kEvents);
  EXPECT_EQ(a.sum.load(), kEvents * (kEvents + 1) / 2);
}

TEST(Disruptor, ThenRunsAStageAfterEveryStageOfTheGroup) {
  Disruptor<Event, SingleProducerSequencer<Yielding>> d(256);
  Doubler doubler;
  Tripler tripler;
  Joiner joiner;
  d.HandleEventsWith(doubler, tripler).Then(joiner);
  ASSERT_TRUE(d.Start().ok());
  PublishRange(d, kEvents);
  ASSERT_TRUE(d.Shutdown(absl::Seconds(30)).ok());
  EXPECT_EQ(joiner.events, kEvents);
  EXPECT_EQ(joiner.wrong, 0);
}

TEST(Disruptor, AfterBuildsADiamond) {
  Disruptor<Event, MultiProducerSequencer<PhasedBackoff<>>> d(256);
  Doubler doubler;
  Tripler tripler;
  Joiner joiner;
  Counter audit;
  d.HandleEventsWith(doubler, tripler);
  d.After(doubler, tripler).HandleEventsWith(joiner);
  d.After(doubler).Then(audit);
  ASSERT_TRUE(d.Start().ok());
  PublishRange(d, kEvents);
  ASSERT_TRUE(d.Shutdown(absl::Seconds(30)).ok());
  EXPECT_EQ(joiner.events, kEvents);
  EXPECT_EQ(joiner.wrong, 0);
  EXPECT_EQ(audit.events.load(), kEvents);
  EXPECT_EQ(d.SequenceOf(joiner).Get(), kEvents - 1);
}

TEST(Disruptor, OnlyTheLastStagesGateTheProducers) {
  Disruptor<Event> d(8);
  Doubler first;
  Joiner last;
  d.HandleEventsWith(first).Then(last);
  EXPECT_EQ(d.sequencer().GatingSequenceCount(), 1u);
}

TEST(Disruptor, NamesStageThreads) {
  Disruptor<Event> d(8);
  Counter counter;
  d.HandleEventsWith(Stage(counter, {.name = "journal"}));
  ASSERT_TRUE(d.Start().ok());
  PublishRange(d, 1);
  ASSERT_TRUE(d.Shutdown(absl::Seconds(10)).ok());
  EXPECT_EQ(counter.thread_name, "journal");
}

// Records the CPUs its thread may run on, as seen from inside the stage.
struct AffinityProbe {
  cpu_set_t allowed;
  void OnStart() { sched_getaffinity(0, sizeof(allowed), &allowed); }
  void OnEvent(const Event&, int64_t, bool) {}
};

TEST(Disruptor, PinsAStageToACpuWhenAsked) {
  const int cpu = static_cast<int>(std::thread::hardware_concurrency()) - 1;
  Disruptor<Event> d(8);
  AffinityProbe probe;
  CPU_ZERO(&probe.allowed);
  d.HandleEventsWith(Stage(probe, {.cpu = cpu}));
  ASSERT_TRUE(d.Start().ok());
  PublishRange(d, 3);
  ASSERT_TRUE(d.Shutdown(absl::Seconds(10)).ok());
  EXPECT_EQ(CPU_COUNT(&probe.allowed), 1) << "the stage thread must be pinned to one CPU";
  EXPECT_TRUE(CPU_ISSET(cpu, &probe.allowed)) << "pinned to the wrong CPU";
}

TEST(Disruptor, StartTwiceOrWithoutStagesIsRefused) {
  Disruptor<Event> empty(8);
  EXPECT_EQ(empty.Start().code(), absl::StatusCode::kFailedPrecondition);
  Disruptor<Event> d(8);
  Counter counter;
  d.HandleEventsWith(counter);
  ASSERT_TRUE(d.Start().ok());
  EXPECT_EQ(d.Start().code(), absl::StatusCode::kFailedPrecondition);
  d.Halt();
}

struct Stuck {
  std::atomic<bool> release{false};
  void OnEvent(Event&, int64_t, bool) {
    while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
};

TEST(Disruptor, ShutdownTimesOutInsteadOfHanging) {
  Disruptor<Event> d(8);
  Stuck stuck;
  d.HandleEventsWith(stuck);
  ASSERT_TRUE(d.Start().ok());
  PublishRange(d, 3);
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stuck.release.store(true);  // lets the halted stage's thread finish so it can be joined
  });
  const auto start = std::chrono::steady_clock::now();
  const absl::Status s = d.Shutdown(absl::Milliseconds(50));
  releaser.join();
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(s.message().find("not processed"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(Disruptor, PublishBatchIsAtomicForConsumers) {
  Disruptor<Event> d(16);
  struct BatchChecker {
    int64_t wrong = 0;
    int64_t events = 0;
    void OnEvent(const Event& e, int64_t sequence, bool end_of_batch) {
      ++events;
      // Batches of 4 are published together, so a batch end never falls inside one.
      if (end_of_batch && sequence % 4 != 3) ++wrong;
      if (e.value != sequence) ++wrong;
    }
  } checker;
  d.HandleEventsWith(checker);
  ASSERT_TRUE(d.Start().ok());
  for (int i = 0; i < 1000; ++i) d.PublishBatch(4, [](Event& e, int64_t s) { e.value = s; });
  ASSERT_TRUE(d.Shutdown(absl::Seconds(10)).ok());
  EXPECT_EQ(checker.events, 4000);
  EXPECT_EQ(checker.wrong, 0);
}

TEST(Disruptor, TryPublishFailsWhenFull) {
  Disruptor<Event> d(2);
  Stuck stuck;
  d.HandleEventsWith(stuck);  // never started: nothing consumes
  EXPECT_TRUE(d.TryPublish([](Event&, int64_t) {}));
  EXPECT_TRUE(d.TryPublish([](Event&, int64_t) {}));
  EXPECT_FALSE(d.TryPublish([](Event&, int64_t) {}));
  EXPECT_EQ(d.Occupancy(), 2);
  EXPECT_DOUBLE_EQ(d.BackpressureRatio(), 1.0);
}

TEST(Disruptor, AThrowingFillStillPublishesTheSlot) {
  Disruptor<Event> d(8);
  Counter counter;
  d.HandleEventsWith(counter);
  ASSERT_TRUE(d.Start().ok());
  EXPECT_THROW(d.Publish([](Event&, int64_t) { throw std::runtime_error("fill"); }),
               std::runtime_error);
  PublishRange(d, 1);
  ASSERT_TRUE(d.Shutdown(absl::Seconds(10)).ok());
  EXPECT_EQ(counter.events.load(), 2) << "consumers must not stall on the abandoned slot";
}

TEST(Disruptor, SlotsAreBuiltOnceAndDestroyedOnce) {
  CountedEvent::Reset();
  {
    struct Touch {
      void OnEvent(CountedEvent& e, int64_t s, bool) { e.value = s; }
    } touch;
    Disruptor<CountedEvent> d(32);
    d.HandleEventsWith(touch);
    ASSERT_TRUE(d.Start().ok());
    for (int i = 0; i < 1000; ++i) d.Publish([](CountedEvent& e, int64_t s) { e.value = s; });
    ASSERT_TRUE(d.Shutdown(absl::Seconds(10)).ok());
    EXPECT_EQ(CountedEvent::constructed.load(), 32);
  }
  EXPECT_EQ(CountedEvent::destroyed.load(), CountedEvent::constructed.load());
}

// --- Closures, draining destruction, pollers, batches, pressure, the builder. ---

TEST(Disruptor, AClosureIsAHandler) {
  std::atomic<int64_t> sum{0};
  {
    Disruptor<Event> d(64);
    d.HandleEventsWith(
        [&sum](Event& e, int64_t, bool) { sum.fetch_add(e.value, std::memory_order_relaxed); });
    ASSERT_TRUE(d.Start().ok());
    PublishRange(d, 10);
    ASSERT_TRUE(d.Shutdown(absl::Seconds(10)).ok());
  }
  EXPECT_EQ(sum.load(), 55);
}

TEST(Disruptor, AClosurePassedByReferenceCanBeFollowed) {
  int64_t first_seen = 0;
  auto first = [&first_seen](Event& e, int64_t, bool) {
    e.doubled = e.value * 2;
    ++first_seen;
  };
  int64_t wrong = 0;
  Disruptor<Event> d(64);
  d.HandleEventsWith(first);
  d.After(first).Then(Stage(
      [&wrong](const Event& e, int64_t, bool) {
        if (e.doubled != e.value * 2) ++wrong;
      },
      {.name = "checker"}));
  ASSERT_TRUE(d.Start().ok());
  PublishRange(d, kEvents);
  ASSERT_TRUE(d.Shutdown(absl::Seconds(10)).ok());
  EXPECT_EQ(first_seen, kEvents);
  EXPECT_EQ(wrong, 0);
}

TEST(Disruptor, OwnsAHandlerPassedAsATemporary) {
  struct Owned {
    std::atomic<int64_t>* events;
    void OnEvent(Event&, int64_t, bool) { events->fetch_add(1, std::memory_order_relaxed); }
  };
  std::atomic<int64_t> events{0};
  Disruptor<Event> d(64);
  d.HandleEventsWith(Owned{&events});
  ASSERT_TRUE(d.Start().ok());
  PublishRange(d, 5);
  ASSERT_TRUE(d.Shutdown(absl::Seconds(10)).ok());
  EXPECT_EQ(events.load(), 5);
}

// A handler slow enough that events are still in the ring when the disruptor is destroyed.
struct SlowCounter {
  std::atomic<int64_t>* events;
  void OnEvent(Event&, int64_t, bool) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    events->fetch_add(1, std::memory_order_relaxed);
  }
};

TEST(Disruptor, DestroyingARunningDisruptorDrainsIt) {
  std::atomic<int64_t> events{0};
  {
    Disruptor<Event> d(64);
    d.HandleEventsWith(SlowCounter{&events});
    ASSERT_TRUE(d.Start().ok());
    PublishRange(d, 8);
  }  // destroyed with most of the 8 events unprocessed
  EXPECT_EQ(events.load(), 8) << "destruction must drain, not drop";
}

TEST(Disruptor, DestructionDrainIsBounded) {
  std::atomic<bool> release{false};
  std::atomic<int64_t> events{0};
  const auto start = std::chrono::steady_clock::now();
  {
    Disruptor<Event> d(64);
    d.set_drain_on_destroy(absl::Milliseconds(100));
    d.HandleEventsWith(Stage(
        [&](Event&, int64_t, bool) {
          // The first event blocks until well after the drain bound.
          if (events.fetch_add(1) == 0) {
            testing::WaitUntil([&] { return release.load(); }, std::chrono::milliseconds(300));
          }
        },
        {.max_batch_size = 1}));
    ASSERT_TRUE(d.Start().ok());
    PublishRange(d, 4);
  }
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::seconds(5));
  EXPECT_LT(events.load(), 4) << "gave up after the bound instead of processing everything";
}

TEST(Disruptor, StartsWithOnlyAPollerAndThePollerWaits) {
  Disruptor<Event, SingleProducerSequencer<Blocking>> d(8);
  auto& poller = d.AddPoller();
  ASSERT_TRUE(d.Start().ok()) << "pollers are consumers too";
  std::thread producer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    PublishRange(d, 20);  // more than the ring: only possible if the poller frees slots
  });
  int64_t sum = 0;
  int64_t received = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (received < 20 && std::chrono::steady_clock::now() < deadline) {
    poller.WaitPoll(
        [&](Event& e, int64_t, bool) {
          sum += e.value;
          ++received;
        },
        absl::Seconds(1));
  }
  producer.join();
  EXPECT_EQ(received, 20);
  EXPECT_EQ(sum, 210);
  EXPECT_EQ(poller.WaitPoll([](Event&, int64_t, bool) {}, absl::Milliseconds(10)),
            PollState::kIdle);
}

TEST(Disruptor, APollerAfterAGroupSeesEventsTheGroupFinished) {
  Doubler doubler;
  Disruptor<Event> d(16);
  auto& poller = d.HandleEventsWith(doubler).AddPoller();
  ASSERT_TRUE(d.Start().ok());
  std::thread producer([&] { PublishRange(d, 40); });  // wraps the ring: the poller gates it
  int64_t received = 0;
  int64_t wrong = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (received < 40 && std::chrono::steady_clock::now() < deadline) {
    (void)poller.WaitPoll(
        [&](Event& e, int64_t, bool) {
          ++received;
          if (e.doubled != e.value * 2) ++wrong;
          return true;
        },
        absl::Seconds(1));
  }
  producer.join();
  EXPECT_EQ(received, 40);
  EXPECT_EQ(wrong, 0);
  ASSERT_TRUE(d.Shutdown(absl::Seconds(10)).ok());
}

TEST(Disruptor, ShutdownOfStagesThatNeverRanSaysWhatWasLeft) {
  Counter counter;
  Disruptor<Event> d(8);
  d.HandleEventsWith(counter);
  PublishRange(d, 3);
  const absl::Status s = d.Shutdown(absl::Seconds(1));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("3 events"), std::string_view::npos) << s;
}

TEST(Disruptor, StartWithoutAnyConsumerIsRefused) {
  Disruptor<Event> d(8);
  EXPECT_EQ(d.Start().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(Disruptor, BatchFillGetsTheIndexWithinTheBatch) {
  Disruptor<Event, SingleProducerSequencer<BusySpin>> d(16);
  (void)d.AddPoller();
  d.Publish([](Event& e, int64_t) { e.value = -1; });
  const int64_t high = d.PublishBatch(4, [](Event& e, int64_t sequence, int64_t index) {
    e.value = index;
    e.doubled = sequence;
  });
  EXPECT_EQ(high, 4);
  for (int64_t s = 1; s <= 4; ++s) {
    EXPECT_EQ(d.ring().Get(s).value, s - 1);
    EXPECT_EQ(d.ring().Get(s).doubled, s);
  }
}

TEST(Disruptor, TryPublishBatchIsAllOrNothing) {
  Disruptor<Event, SingleProducerSequencer<BusySpin>> d(8);
  auto& poller = d.AddPoller();
  EXPECT_TRUE(d.TryPublishBatch(6, [](Event& e, int64_t, int64_t i) { e.value = i; }));
  int64_t calls = 0;
  EXPECT_FALSE(d.TryPublishBatch(3, [&](Event&, int64_t) { ++calls; })) << "only 2 free";
  EXPECT_FALSE(d.TryPublishBatch(9, [&](Event&, int64_t) { ++calls; })) << "larger than the ring";
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(d.Cursor(), 5);
  (void)poller.Poll([](Event&, int64_t, bool) {});
  EXPECT_TRUE(d.TryPublishBatch(8, [](Event&, int64_t) {}));
}

TEST(Disruptor, PressureSignalsFollowTheThresholds) {
  Disruptor<Event, SingleProducerSequencer<BusySpin>> d(8);
  auto& poller = d.AddPoller();
  d.set_pressure_thresholds({.under_pressure = 0.5, .throttle = 0.75});
  EXPECT_FALSE(d.IsUnderPressure());
  for (int i = 0; i < 4; ++i) d.Publish([](Event&, int64_t) {});
  EXPECT_TRUE(d.IsUnderPressure());
  EXPECT_FALSE(d.ShouldThrottle());
  for (int i = 0; i < 2; ++i) d.Publish([](Event&, int64_t) {});
  EXPECT_TRUE(d.ShouldThrottle());
  EXPECT_EQ(poller.Lag(), 6);
  (void)poller.Poll([](Event&, int64_t, bool) {});
  EXPECT_FALSE(d.IsUnderPressure());
  EXPECT_EQ(poller.Lag(), 0);
}

TEST(Disruptor, PerReaderLagNamesTheSlowReader) {
  std::atomic<bool> go{false};
  Counter fast;
  auto slow = [&go](Event&, int64_t, bool) { testing::WaitUntil([&] { return go.load(); }); };
  Disruptor<Event> d(16);
  d.HandleEventsWith(fast, slow);
  ASSERT_TRUE(d.Start().ok());
  PublishRange(d, 8);
  ASSERT_TRUE(testing::WaitUntil([&] { return fast.events.load() == 8; }));
  EXPECT_EQ(d.LagOf(fast), 0);
  EXPECT_GE(d.LagOf(slow), 7);
  EXPECT_GE(d.PressureOf(slow), 7.0 / 16);
  go.store(true);
  ASSERT_TRUE(d.Shutdown(absl::Seconds(10)).ok());
  EXPECT_EQ(d.LagOf(slow), 0);
}

TEST(Disruptor, TheBuilderNamesTheSameTypes) {
  auto single = DisruptorBuilder<Event>(8).SingleProducer().WaitWith(BusySpin()).Build();
  static_assert(std::is_same_v<decltype(single), SingleProducerDisruptor<Event, BusySpin>>);
  static_assert(
      std::is_same_v<decltype(single), Disruptor<Event, SingleProducerSequencer<BusySpin>>>);
  auto multi = DisruptorBuilder<Event>(8)
                   .WhenFull<SpinOnFull>()
                   .DrainOnDestroy(absl::Seconds(1))
                   .Pressure({.under_pressure = 0.1, .throttle = 0.2})
                   .WithFactory([] { return Event{.value = 42}; })
                   .Build();
  static_assert(std::is_same_v<decltype(multi),
                               Disruptor<Event, MultiProducerSequencer<Blocking, SpinOnFull>>>);
  EXPECT_EQ(multi.ring().Get(3).value, 42);
  EXPECT_EQ(multi.drain_on_destroy(), absl::Seconds(1));
  EXPECT_EQ(multi.pressure_thresholds().throttle, 0.2);
  static_assert(sizeof(single) == sizeof(Disruptor<Event, SingleProducerSequencer<BusySpin>>));
}

}  // namespace
}  // namespace ringcast
