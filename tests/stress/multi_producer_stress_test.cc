// Stress: several producers share one MultiProducerSequencer ring and several consumers each see
// every event (multicast).
//
// Each event carries its producer and that producer's counter, so every consumer can check on its
// own that sequences arrive contiguously, that the slot holds the event published at its sequence,
// and that each producer's events arrive exactly once and in the producer's order.
#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <latch>
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
using stress::Random;
using stress::Scaled;
using stress::Watchdog;

// Counts its own constructions and destructions, so a test can check that slots are built once
// and reused in place (no event is constructed, copied or destroyed while events flow).
struct Tagged {
  static inline std::atomic<int64_t> constructed{0};  // relaxed: read after the threads joined
  static inline std::atomic<int64_t> destroyed{0};

  Tagged() { constructed.fetch_add(1, std::memory_order_relaxed); }
  Tagged(const Tagged& other)
      : sequence(other.sequence),
        producer(other.producer),
        counter(other.counter),
        batch_high(other.batch_high) {
    constructed.fetch_add(1, std::memory_order_relaxed);
  }
  Tagged& operator=(const Tagged&) = default;
  ~Tagged() { destroyed.fetch_add(1, std::memory_order_relaxed); }

  int64_t sequence = kInitialSequence;  // the sequence the producer wrote this slot for
  int32_t producer = -1;
  int64_t counter = -1;     // events this producer published before this one
  int64_t batch_high = -1;  // the highest sequence of the claim this event was published in
};

// One consumer's view: contiguity, slot contents, per-producer order and totals.
class OrderChecker {
 public:
  OrderChecker(std::string name, int producers, FailureLog& failures)
      : name_(std::move(name)), next_counter_(producers, 0), failures_(failures) {}

  void OnEvent(const Tagged& event, int64_t sequence, bool /*end_of_batch*/) {
    if (sequence != last_sequence_ + 1) {
      failures_.Record(absl::StrCat(name_, ": sequence ", sequence, " after ", last_sequence_));
    }
    last_sequence_ = sequence;
    ++events_;
    if (event.sequence != sequence) {
      failures_.Record(
          absl::StrCat(name_, ": slot of sequence ", sequence, " holds sequence ", event.sequence));
      return;
    }
    if (event.producer < 0 || event.producer >= static_cast<int32_t>(next_counter_.size())) {
      failures_.Record(absl::StrCat(name_, ": bad producer id ", event.producer, " at ", sequence));
      return;
    }
    int64_t& expected = next_counter_[static_cast<std::size_t>(event.producer)];
    if (event.counter != expected) {
      failures_.Record(absl::StrCat(name_, ": producer ", event.producer, " event ", event.counter,
                                    " arrived when ", expected, " was due (sequence ", sequence,
                                    ")"));
    }
    expected = event.counter + 1;
    counter_sum_ += event.counter;
  }

  [[nodiscard]] int64_t events() const { return events_; }
  [[nodiscard]] int64_t last_sequence() const { return last_sequence_; }
  [[nodiscard]] int64_t counter_sum() const { return counter_sum_; }
  [[nodiscard]] const std::vector<int64_t>& next_counter() const { return next_counter_; }

 private:
  const std::string name_;
  int64_t last_sequence_ = kInitialSequence;
  int64_t events_ = 0;
  int64_t counter_sum_ = 0;
  std::vector<int64_t> next_counter_;
  FailureLog& failures_;
};

struct MulticastConfig {
  int64_t capacity = 1024;
  int producers = 3;
  int consumers = 3;
  int64_t events_per_producer = 1000;
  // Above 1, producers claim batches of 1..max_claim with Next(n) and Publish(lo, hi).
  int64_t max_claim = 1;
};

std::string Describe(const MulticastConfig& c) {
  return absl::StrCat("capacity ", c.capacity, ", ", c.producers, " producers x ",
                      c.events_per_producer, " events, ", c.consumers,
                      " consumers, claims of up to ", c.max_claim);
}

// Publishes events_per_producer events from each producer thread into one ring, drains it with
// Shutdown, and checks every consumer saw every event once, each producer's in order.
template <WaitStrategy W, ProducerWaitPolicy P = BackoffOnFull>
void RunMulticast(const MulticastConfig& config, W wait_strategy = W()) {
  SCOPED_TRACE(Describe(config));
  ASSERT_LE(config.max_claim, config.capacity);
  using Ring = Disruptor<Tagged, MultiProducerSequencer<W, P>>;
  const int64_t constructed_before = Tagged::constructed.load();
  const int64_t destroyed_before = Tagged::destroyed.load();
  auto disruptor_owner = std::make_unique<Ring>(
      config.capacity, [] { return Tagged(); }, std::move(wait_strategy));
  Ring& disruptor = *disruptor_owner;
  // The factory's temporaries are elided: one construction per slot.
  EXPECT_EQ(Tagged::constructed.load() - constructed_before, config.capacity);
  FailureLog failures;
  std::vector<std::unique_ptr<OrderChecker>> checkers;
  for (int c = 0; c < config.consumers; ++c) {
    checkers.push_back(
        std::make_unique<OrderChecker>(absl::StrCat("consumer-", c), config.producers, failures));
    // Small batches on one consumer so its sequence moves often and gates producers finely.
    const int64_t max_batch = c == 1 ? 3 : std::numeric_limits<int64_t>::max();
    disruptor.HandleEventsWith(Stage(
        *checkers.back(), {.name = absl::StrCat("consumer-", c), .max_batch_size = max_batch}));
  }
  ASSERT_TRUE(disruptor.Start().ok());

  std::latch start(config.producers);
  std::vector<std::thread> producers;
  for (int p = 0; p < config.producers; ++p) {
    producers.emplace_back([&, p] {
      Random random(static_cast<uint64_t>(p) + 1);
      auto& sequencer = disruptor.sequencer();
      auto& ring = disruptor.ring();
      start.arrive_and_wait();
      for (int64_t counter = 0; counter < config.events_per_producer;) {
        const int64_t n = std::min(config.events_per_producer - counter,
                                   config.max_claim == 1 ? 1 : 1 + random.Below(config.max_claim));
        const int64_t high = sequencer.Next(n);
        for (int64_t s = high - n + 1; s <= high; ++s) {
          Tagged& event = ring.Get(s);
          event.sequence = s;
          event.producer = p;
          event.counter = counter++;
          event.batch_high = high;
        }
        sequencer.Publish(high - n + 1, high);
      }
    });
  }
  for (auto& t : producers) t.join();
  const absl::Status drained = disruptor.Shutdown(absl::FromChrono(kWaitTimeout));
  ASSERT_TRUE(drained.ok()) << drained;

  const int64_t total = config.producers * config.events_per_producer;
  const int64_t per_producer_sum =
      config.events_per_producer * (config.events_per_producer - 1) / 2;
  EXPECT_EQ(disruptor.Cursor(), total - 1);
  for (int c = 0; c < config.consumers; ++c) {
    SCOPED_TRACE(absl::StrCat("consumer-", c));
    const OrderChecker& checker = *checkers[static_cast<std::size_t>(c)];
    EXPECT_EQ(checker.events(), total);
    EXPECT_EQ(checker.last_sequence(), total - 1);
    EXPECT_EQ(checker.counter_sum(), config.producers * per_producer_sum);
    for (int64_t next : checker.next_counter()) EXPECT_EQ(next, config.events_per_producer);
  }
  EXPECT_EQ(failures.count(), 0) << failures.Summary();
  // Slots were reused in place, then each destroyed exactly once with the ring.
  EXPECT_EQ(Tagged::constructed.load() - constructed_before, config.capacity);
  EXPECT_EQ(Tagged::destroyed.load(), destroyed_before);
  disruptor_owner.reset();
  EXPECT_EQ(Tagged::destroyed.load() - destroyed_before, config.capacity);
}

TEST(MultiProducerStress, EveryConsumerSeesEveryEventOnceInProducerOrder) {
  Watchdog watchdog;
  RunMulticast<Blocking>({.capacity = 1024,
                          .producers = 3,
                          .consumers = 3,
                          .events_per_producer = Scaled(500'000, 5'000)});
}

TEST(MultiProducerStress, PhasedBackoffConsumersSeeEveryEventOnceInProducerOrder) {
  Watchdog watchdog;
  RunMulticast<PhasedBackoff<>, YieldOnFull>({.capacity = 256,
                                              .producers = 2,
                                              .consumers = 2,
                                              .events_per_producer = Scaled(500'000, 5'000)});
}

TEST(MultiProducerStress, TinyRingsWrapConstantlyWithoutLosingOrRepeatingEvents) {
  Watchdog watchdog;
  for (int64_t capacity : {1, 2, 4}) {
    RunMulticast<Yielding, YieldOnFull>({.capacity = capacity,
                                         .producers = 3,
                                         .consumers = 2,
                                         .events_per_producer = Scaled(20'000, 500)});
    if (HasFailure()) return;
  }
}

TEST(MultiProducerStress, BlockingConsumersOnTinyRingsNeverMissAWakeUp) {
  Watchdog watchdog;
  for (int64_t capacity : {1, 2, 4}) {
    RunMulticast<Blocking>({.capacity = capacity,
                            .producers = 2,
                            .consumers = 2,
                            .events_per_producer = Scaled(20'000, 500)});
    if (HasFailure()) return;
  }
}

TEST(MultiProducerStress, BatchClaimsOfVaryingSizeArriveOnceInProducerOrder) {
  Watchdog watchdog;
  RunMulticast<Yielding, YieldOnFull>({.capacity = 64,
                                       .producers = 3,
                                       .consumers = 2,
                                       .events_per_producer = Scaled(1'000'000),
                                       .max_claim = 16});
}

TEST(MultiProducerStress, BatchClaimsOnTinyRingsWrapConstantly) {
  Watchdog watchdog;
  for (int64_t capacity : {2, 4}) {
    RunMulticast<PhasedBackoff<>, YieldOnFull>({.capacity = capacity,
                                                .producers = 3,
                                                .consumers = 2,
                                                .events_per_producer = Scaled(20'000, 500),
                                                .max_claim = capacity});
    if (HasFailure()) return;
  }
}

// Disruptor::PublishBatch promises "Publishes n consecutive events atomically: consumers see all or
// none". A consumer handed part of a batch ends its own batch (end_of_batch) inside the producer's
// batch: the next slot of that batch was not yet published when the processor looked.
class WholeBatchChecker {
 public:
  explicit WholeBatchChecker(FailureLog& failures) : failures_(failures) {}

  void OnEvent(const Tagged& event, int64_t sequence, bool end_of_batch) {
    ++events_;
    if (end_of_batch && sequence < event.batch_high) {
      ++partial_batches_;
      failures_.Record(absl::StrCat("handed sequence ", sequence, " as the end of a batch while ",
                                    event.batch_high, " of the same PublishBatch was unpublished"));
    }
  }

  [[nodiscard]] int64_t events() const { return events_; }
  [[nodiscard]] int64_t partial_batches() const { return partial_batches_; }

 private:
  int64_t events_ = 0;
  int64_t partial_batches_ = 0;
  FailureLog& failures_;
};

TEST(MultiProducerStress, ConsumersSeeAPublishBatchWholeOrNotAtAll) {
  Watchdog watchdog;
  // One producer and one Yielding consumer (two threads: each can have a core), so the consumer
  // polls slot availability while MultiProducerSequencer::Publish(lo, hi) marks the slots. Still
  // a multi-producer ring: its Publish(lo, hi) is what the promise rests on.
  constexpr int kProducers = 1;
  constexpr int64_t kCapacity = 1024;
  constexpr int64_t kBatch = 16;
  const int64_t batches_per_producer = Scaled(200'000, 5'000);
  Disruptor<Tagged, MultiProducerSequencer<Yielding, YieldOnFull>> disruptor(kCapacity);
  FailureLog failures;
  WholeBatchChecker checker(failures);
  disruptor.HandleEventsWith(Stage(checker, {.name = "whole-batch"}));
  ASSERT_TRUE(disruptor.Start().ok());
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      int64_t counter = 0;
      for (int64_t b = 0; b < batches_per_producer; ++b) {
        int64_t high = -1;
        disruptor.PublishBatch(kBatch, [&](Tagged& event, int64_t sequence) {
          if (high < 0) high = sequence + kBatch - 1;  // fill runs from the lowest sequence up
          event.sequence = sequence;
          event.producer = p;
          event.counter = counter++;
          event.batch_high = high;
        });
      }
    });
  }
  for (auto& t : producers) t.join();
  const absl::Status drained = disruptor.Shutdown(absl::FromChrono(kWaitTimeout));
  ASSERT_TRUE(drained.ok()) << drained;
  EXPECT_EQ(checker.events(), kProducers * batches_per_producer * kBatch);
  EXPECT_EQ(checker.partial_batches(), 0) << failures.Summary();
}

// A handler that lets the test read the CPU time its processor thread has used.
class CpuClockedHandler {
 public:
  void OnStart() {
    clockid_t clock;
    if (pthread_getcpuclockid(pthread_self(), &clock) == 0) {
      clock_ = clock;
      started_.store(true, std::memory_order_release);  // pairs with the acquire in CpuTime
    }
  }
  void OnEvent(const Tagged& /*event*/, int64_t /*sequence*/, bool /*end_of_batch*/) { ++events_; }

  [[nodiscard]] bool started() const { return started_.load(std::memory_order_acquire); }
  // CPU time of the processor thread so far. Requires: started().
  [[nodiscard]] std::chrono::nanoseconds CpuTime() const {
    timespec ts{};
    clock_gettime(clock_, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
  }
  [[nodiscard]] int64_t events() const { return events_; }

 private:
  std::atomic<bool> started_{false};
  clockid_t clock_{};
  int64_t events_ = 0;
};

// The CPU a Blocking consumer burns over `window` while it waits: with `held_claim`, for a slot
// a producer claimed but has not published while another producer already published the slot
// after it (the consumer is woken by that publish); otherwise on an empty ring.
std::chrono::nanoseconds BlockingConsumerCpuWhileWaiting(bool held_claim,
                                                         std::chrono::milliseconds window) {
  Disruptor<Tagged, MultiProducerSequencer<Blocking>> disruptor(64);
  auto& sequencer = disruptor.sequencer();
  CpuClockedHandler handler;
  disruptor.HandleEventsWith(Stage(handler, {.name = "cpu-clocked"}));
  EXPECT_TRUE(disruptor.Start().ok());
  EXPECT_TRUE(stress::WaitUntil([&] { return handler.started(); }));
  // One published event first, so the consumer is past start-up and waiting for the next.
  disruptor.Publish([](Tagged& event, int64_t sequence) { event.sequence = sequence; });
  EXPECT_TRUE(stress::WaitUntil([&] { return disruptor.SequenceOf(handler).Get() == 0; }));
  int64_t held = kInitialSequence;
  if (held_claim) {
    held = sequencer.Next(1);                 // a producer stalls between claim and publish...
    const int64_t later = sequencer.Next(1);  // ...while another one publishes after it
    sequencer.Publish(later);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let it settle into its wait
  const auto before = handler.CpuTime();
  std::this_thread::sleep_for(window);
  const auto used = handler.CpuTime() - before;
  if (held_claim) sequencer.Publish(held);
  const absl::Status drained = disruptor.Shutdown(absl::FromChrono(kWaitTimeout));
  EXPECT_TRUE(drained.ok()) << drained;
  EXPECT_EQ(handler.events(), held_claim ? 3 : 1);
  return used;
}

// The control for the test below: with nothing claimed a Blocking consumer parks.
TEST(MultiProducerStress, BlockingConsumerUsesNoCpuWhileTheRingIsEmpty) {
  Watchdog watchdog;
  constexpr auto kWindow = std::chrono::milliseconds(300);
  const auto used = BlockingConsumerCpuWhileWaiting(/*held_claim=*/false, kWindow);
  EXPECT_LT(used, kWindow / 4)
      << "consumer thread used "
      << std::chrono::duration_cast<std::chrono::milliseconds>(used).count() << " ms of CPU in "
      << kWindow.count() << " ms";
}

// wait_strategy.h: "Blocking parks on a condition variable; an idle consumer uses no CPU". A
// consumer whose next slot a producer has claimed but not yet published (that producer was
// preempted, say) has nothing to do either. The multi-producer cursor counts claims, so a wait
// that looked at the cursor alone would return at once and the processor would spin for as long
// as the claiming producer stays off the CPU.
TEST(MultiProducerStress, BlockingConsumerUsesNoCpuWhileAClaimIsUnpublished) {
  Watchdog watchdog;
  constexpr auto kWindow = std::chrono::milliseconds(300);
  const auto used = BlockingConsumerCpuWhileWaiting(/*held_claim=*/true, kWindow);
  EXPECT_LT(used, kWindow / 4)
      << "consumer thread used "
      << std::chrono::duration_cast<std::chrono::milliseconds>(used).count() << " ms of CPU in "
      << kWindow.count() << " ms waiting for a claimed, unpublished slot";
}

}  // namespace
}  // namespace ringcast
