// Stress: producers hammer TryNext against a slow consumer, so the ring is full nearly all the time
// and most attempts fail.
//
// Every successful claim must be published and consumed exactly once; a failed attempt must claim
// nothing (a phantom claim would leave a hole the consumer never gets past, and the cursor would
// end above the number of events claimed); and a successful claim must never hand out a slot the
// consumer has not finished: the consumer stamps each slot with the sequence it finished there
// (a plain field), and the producer checks the stamp before it overwrites the slot.
#include <algorithm>
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
using stress::kStallTimeout;
using stress::Random;
using stress::Scaled;
using stress::WaitUntil;
using stress::Watchdog;
using Clock = std::chrono::steady_clock;

struct Claimed {
  int64_t sequence = kInitialSequence;  // written by the producer
  int32_t producer = -1;
  int64_t counter = -1;
  int64_t finished = kInitialSequence;  // written by the consumer: the sequence it finished here
};

// The slow consumer: checks contiguity, contents and per-producer order, stamps the slot, and
// burns a little time per event so the producers find the ring full.
class SlowConsumer {
 public:
  SlowConsumer(int producers, FailureLog& failures) : next_(producers, 0), failures_(failures) {}

  void OnEvent(Claimed& slot, int64_t sequence, bool /*end_of_batch*/) {
    if (sequence != last_ + 1 || slot.sequence != sequence) {
      failures_.Record(absl::StrCat("consumer: sequence ", sequence, " (slot holds ", slot.sequence,
                                    ") after ", last_));
    }
    last_ = sequence;
    if (slot.producer >= 0 && slot.producer < static_cast<int32_t>(next_.size())) {
      int64_t& next = next_[static_cast<std::size_t>(slot.producer)];
      if (slot.counter != next) {
        failures_.Record(absl::StrCat("producer ", slot.producer, ": event ", slot.counter,
                                      " arrived when ", next, " was due"));
      }
      next = slot.counter + 1;
    } else {
      failures_.Record(absl::StrCat("consumer: bad producer id ", slot.producer));
    }
    slot.finished = sequence;
    ++events_;
    // A few hundred nanoseconds of work: slower than a producer's claim.
    for (int i = 0; i < 200; ++i) sink_ = sink_ * 31 + static_cast<uint64_t>(i);
  }

  [[nodiscard]] int64_t events() const { return events_; }
  [[nodiscard]] int64_t last() const { return last_; }
  [[nodiscard]] int64_t next(int producer) const {
    return next_[static_cast<std::size_t>(producer)];
  }

 private:
  std::vector<int64_t> next_;
  FailureLog& failures_;
  int64_t last_ = kInitialSequence;
  int64_t events_ = 0;
  volatile uint64_t sink_ = 0;
};

struct TryStats {
  std::atomic<int64_t> claimed{0};
  std::atomic<int64_t> insufficient{0};
};

// Claims [high - n + 1, high], checks the slots are free, fills and publishes them.
template <class S>
void FillAndPublish(RingBuffer<Claimed>& ring, S& sequencer, int producer, int64_t& counter,
                    int64_t high, int64_t n, FailureLog& failures) {
  const int64_t capacity = sequencer.capacity();
  for (int64_t s = high - n + 1; s <= high; ++s) {
    Claimed& slot = ring.Get(s);
    const int64_t previous = s >= capacity ? s - capacity : kInitialSequence;
    if (slot.finished != previous) {
      failures.Record(absl::StrCat("producer ", producer, " claimed sequence ", s,
                                   " while its slot's last finished sequence is ", slot.finished,
                                   ", not ", previous));
    }
    slot.sequence = s;
    slot.producer = producer;
    slot.counter = counter++;
  }
  sequencer.Publish(high - n + 1, high);
}

// One producer's loop: TryNext(n) of varying n until `events` are published; every so often an
// impossible claim (n > capacity) that must fail with kTooLarge. Gives up if no claim succeeds
// for kStallTimeout (the consumer would be deadlocked).
template <class S>
void HammerTryNext(RingBuffer<Claimed>& ring, S& sequencer, int producer, int64_t events,
                   int64_t max_claim, TryStats& stats, FailureLog& failures) {
  Random random(static_cast<uint64_t>(producer) * 7 + 3);
  const int64_t capacity = sequencer.capacity();
  auto stall_deadline = Clock::now() + kStallTimeout;
  for (int64_t counter = 0; counter < events;) {
    if (random.Below(64) == 0) {
      const ClaimResult impossible = sequencer.TryNext(capacity + 1 + random.Below(3));
      if (impossible.status != ClaimStatus::kTooLarge) {
        failures.Record(absl::StrCat("TryNext(n > capacity) returned status ",
                                     static_cast<int>(impossible.status)));
      }
      continue;
    }
    const int64_t n = std::min(events - counter, 1 + random.Below(max_claim));
    const ClaimResult claim = sequencer.TryNext(n);
    if (!claim.ok()) {
      if (claim.status != ClaimStatus::kInsufficientCapacity) {
        failures.Record(
            absl::StrCat("TryNext(", n, ") returned status ", static_cast<int>(claim.status)));
      }
      stats.insufficient.fetch_add(1, std::memory_order_relaxed);
      if (Clock::now() > stall_deadline) {
        failures.Record(absl::StrCat("producer ", producer, ": no claim succeeded for ",
                                     kStallTimeout.count(), " s; cursor ", sequencer.Cursor()));
        return;
      }
      std::this_thread::yield();
      continue;
    }
    FillAndPublish(ring, sequencer, producer, counter, claim.sequence, n, failures);
    stats.claimed.fetch_add(n, std::memory_order_relaxed);
    stall_deadline = Clock::now() + kStallTimeout;
  }
}

struct TryNextConfig {
  int64_t capacity = 8;
  int try_producers = 2;
  // Producers that claim with the blocking Next alongside the TryNext ones (multi-producer only).
  int next_producers = 0;
  int64_t events_per_producer = 1000;
  int64_t max_claim = 1;
};

template <class S>
void RunTryNext(const TryNextConfig& config,
                typename S::WaitStrategyType wait = typename S::WaitStrategyType()) {
  SCOPED_TRACE(absl::StrCat("capacity ", config.capacity, ", claims of up to ", config.max_claim));
  const int producers = config.try_producers + config.next_producers;
  RingBuffer<Claimed> ring(config.capacity);
  S sequencer(config.capacity, std::move(wait));
  FailureLog failures;
  SlowConsumer consumer(producers, failures);
  BatchEventProcessor<Claimed, SlowConsumer, S> processor(ring, sequencer, {}, consumer,
                                                          {.name = "slow", .max_batch_size = 4});
  ASSERT_TRUE(sequencer.AddGatingSequence(processor.sequence()));
  std::thread consumer_thread([&] { processor.Run(); });
  TryStats stats;
  std::vector<std::thread> threads;
  for (int p = 0; p < config.try_producers; ++p) {
    threads.emplace_back([&, p] {
      HammerTryNext(ring, sequencer, p, config.events_per_producer, config.max_claim, stats,
                    failures);
    });
  }
  for (int p = config.try_producers; p < producers; ++p) {
    threads.emplace_back([&, p] {
      int64_t counter = 0;
      while (counter < config.events_per_producer) {
        const int64_t n = std::min<int64_t>(config.events_per_producer - counter, config.max_claim);
        FillAndPublish(ring, sequencer, p, counter, sequencer.Next(n), n, failures);
      }
    });
  }
  for (auto& t : threads) t.join();
  const int64_t total = producers * config.events_per_producer;
  EXPECT_TRUE(WaitUntil([&] { return processor.sequence().Get() >= total - 1; }, kStallTimeout))
      << "consumer stopped at " << processor.sequence().Get() << " of " << total - 1
      << ": a claim was never published";
  processor.Halt();
  consumer_thread.join();

  EXPECT_EQ(sequencer.Cursor(), total - 1) << "failed TryNext calls claimed slots";
  EXPECT_EQ(stats.claimed.load(), config.try_producers * config.events_per_producer);
  EXPECT_EQ(consumer.events(), total);
  EXPECT_EQ(consumer.last(), total - 1);
  for (int p = 0; p < producers; ++p) EXPECT_EQ(consumer.next(p), config.events_per_producer);
  // Otherwise the ring was never full and the test proved little.
  EXPECT_GT(stats.insufficient.load(), 0);
  EXPECT_EQ(failures.count(), 0) << failures.Summary();
}

using MultiRing = MultiProducerSequencer<Yielding, YieldOnFull>;

TEST(TryNextStress, MultiProducerClaimsAgainstAFullRingArePublishedAndConsumedOnce) {
  Watchdog watchdog;
  RunTryNext<MultiRing>(
      {.capacity = 8, .try_producers = 3, .events_per_producer = Scaled(300'000)});
}

TEST(TryNextStress, MultiProducerBatchClaimsAgainstAFullRingArePublishedAndConsumedOnce) {
  Watchdog watchdog;
  for (int64_t capacity : {1, 4, 16}) {
    RunTryNext<MultiRing>({.capacity = capacity,
                           .try_producers = 3,
                           .events_per_producer = Scaled(100'000, 2'000),
                           .max_claim = capacity});
    if (HasFailure()) return;
  }
}

TEST(TryNextStress, TryNextAndNextProducersShareAFullRingWithoutLosingClaims) {
  Watchdog watchdog;
  RunTryNext<MultiRing>({.capacity = 8,
                         .try_producers = 2,
                         .next_producers = 1,
                         .events_per_producer = Scaled(300'000),
                         .max_claim = 3});
}

// Two threads only (one producer, one consumer), so the busy-spinning consumer has a core.
TEST(TryNextStress, SingleProducerClaimsAgainstAFullRingArePublishedAndConsumedOnce) {
  Watchdog watchdog;
  for (int64_t capacity : {1, 16}) {
    RunTryNext<SingleProducerSequencer<BusySpin>>({.capacity = capacity,
                                                   .try_producers = 1,
                                                   .events_per_producer = Scaled(500'000),
                                                   .max_claim = capacity},
                                                  BusySpin());
    if (HasFailure()) return;
  }
}

}  // namespace
}  // namespace ringcast
