// Behaviour both sequencers share, as typed tests; the single- and multi-producer specifics live in
// single_producer_sequencer_test.cc and multi_producer_sequencer_test.cc.
#include <gtest/gtest.h>

#include <thread>

#include "ringcast/core/ring_buffer.h"

#include "ringcast/core/multi_producer_sequencer.h"
#include "ringcast/core/single_producer_sequencer.h"
#include "test_support.h"

namespace ringcast {
namespace {

template <class S>
class SequencerTest : public ::testing::Test {};

using Sequencers = ::testing::Types<SingleProducerSequencer<BusySpin, YieldOnFull>,
                                    MultiProducerSequencer<BusySpin, YieldOnFull>>;
TYPED_TEST_SUITE(SequencerTest, Sequencers);

TYPED_TEST(SequencerTest, ClaimsConsecutiveSequencesFromZero) {
  TypeParam sequencer(8);
  EXPECT_EQ(sequencer.Next(), 0);
  EXPECT_EQ(sequencer.Next(3), 3);
  const ClaimResult claim = sequencer.TryNext(2);
  ASSERT_TRUE(claim.ok());
  EXPECT_EQ(claim.sequence, 5);
}

TYPED_TEST(SequencerTest, PublishMakesSequencesAvailable) {
  TypeParam sequencer(8);
  const int64_t high = sequencer.Next(3);
  EXPECT_FALSE(sequencer.IsAvailable(0));
  sequencer.Publish(high - 2, high);
  for (int64_t s = 0; s <= high; ++s) EXPECT_TRUE(sequencer.IsAvailable(s)) << s;
  EXPECT_EQ(sequencer.HighestPublishedSequence(0, high), high);
}

TYPED_TEST(SequencerTest, TryNextFailsFastWhenTheRingIsFull) {
  TypeParam sequencer(4);
  Sequence consumer;
  ASSERT_TRUE(sequencer.AddGatingSequence(consumer));
  const ClaimResult first = sequencer.TryNext(4);
  ASSERT_TRUE(first.ok());
  sequencer.Publish(0, 3);
  EXPECT_EQ(sequencer.TryNext(1).status, ClaimStatus::kInsufficientCapacity);
  EXPECT_EQ(sequencer.RemainingCapacity(), 0);
  consumer.Set(1);  // two slots freed
  EXPECT_EQ(sequencer.RemainingCapacity(), 2);
  EXPECT_EQ(sequencer.TryNext(3).status, ClaimStatus::kInsufficientCapacity)
      << "a failed TryNext must claim nothing";
  const ClaimResult second = sequencer.TryNext(2);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second.sequence, 5);
}

TYPED_TEST(SequencerTest, RejectsClaimsLargerThanTheRingWithoutWaiting) {
  TypeParam sequencer(4);
  EXPECT_EQ(sequencer.TryNext(5).status, ClaimStatus::kTooLarge);
  EXPECT_EQ(sequencer.TryNext(0).status, ClaimStatus::kTooLarge);
  EXPECT_EQ(sequencer.TryNext(-1).status, ClaimStatus::kTooLarge);
  EXPECT_TRUE(sequencer.TryNext(4).ok());
}

TYPED_TEST(SequencerTest, NextBeyondCapacityIsAnErrorNotADeadlock) {
  EXPECT_DEATH(
      {
        TypeParam sequencer(4);
        (void)sequencer.Next(5);
      },
      "1 <= n <= capacity");
}

TYPED_TEST(SequencerTest, NextWaitsForTheSlowestGatingSequence) {
  TypeParam sequencer(2);
  Sequence consumer;
  ASSERT_TRUE(sequencer.AddGatingSequence(consumer));
  sequencer.Publish(0, sequencer.Next(2));
  std::atomic<bool> claimed{false};
  std::thread producer([&] {
    const int64_t s = sequencer.Next();
    claimed.store(true);
    sequencer.Publish(s);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(claimed.load()) << "the producer must not lap the consumer";
  consumer.Set(0);
  producer.join();
  EXPECT_TRUE(claimed.load());
  EXPECT_EQ(sequencer.Cursor(), 2);
}

TYPED_TEST(SequencerTest, GatingSequencesCanBeAddedAndRemoved) {
  TypeParam sequencer(4);
  Sequence slow, fast;
  ASSERT_TRUE(sequencer.AddGatingSequence(slow));
  ASSERT_TRUE(sequencer.AddGatingSequence(fast));
  EXPECT_EQ(sequencer.GatingSequenceCount(), 2u);
  sequencer.Publish(0, sequencer.Next(4));
  fast.Set(3);
  EXPECT_EQ(sequencer.TryNext(1).status, ClaimStatus::kInsufficientCapacity);
  EXPECT_TRUE(sequencer.RemoveGatingSequence(slow));
  EXPECT_FALSE(sequencer.RemoveGatingSequence(slow));
  EXPECT_TRUE(sequencer.TryNext(4).ok()) << "only the remaining consumer gates now";
}

TYPED_TEST(SequencerTest, AddGatingSequenceAtCursorStartsAtTheCursor) {
  TypeParam sequencer(8);
  Sequence first;
  ASSERT_TRUE(sequencer.AddGatingSequence(first));
  sequencer.Publish(0, sequencer.Next(5));
  Sequence late;
  EXPECT_EQ(sequencer.AddGatingSequenceAtCursor(late), 4);
  EXPECT_EQ(late.Get(), 4);
}

TYPED_TEST(SequencerTest, RefusesGatingSequencesBeyondItsLimit) {
  TypeParam sequencer(8, {}, SequencerOptions{.max_gating_sequences = 2});
  Sequence a, b, c;
  EXPECT_TRUE(sequencer.AddGatingSequence(a));
  EXPECT_TRUE(sequencer.AddGatingSequence(b));
  EXPECT_FALSE(sequencer.AddGatingSequence(c));
  EXPECT_TRUE(sequencer.RemoveGatingSequence(a));
  EXPECT_TRUE(sequencer.AddGatingSequence(c)) << "a freed slot is reused";
}

TYPED_TEST(SequencerTest, ReportsOccupancyAndBackpressure) {
  TypeParam sequencer(8);
  Sequence consumer;
  ASSERT_TRUE(sequencer.AddGatingSequence(consumer));
  EXPECT_EQ(sequencer.Occupancy(), 0);
  sequencer.Publish(0, sequencer.Next(6));
  EXPECT_EQ(sequencer.Occupancy(), 6);
  EXPECT_DOUBLE_EQ(sequencer.BackpressureRatio(), 0.75);
  consumer.Set(5);
  EXPECT_EQ(sequencer.Occupancy(), 0);
  EXPECT_DOUBLE_EQ(sequencer.BackpressureRatio(), 0.0);
}

// One thread alternates between producing and consuming so the lap arithmetic (index masks,
// per-slot lap numbers, cached gating values) is exercised millions of times quickly and
// deterministically; tests/stress runs tiny rings with real threads.
TYPED_TEST(SequencerTest, TinyRingsWrapMillionsOfTimes) {
  for (int64_t capacity : {1, 2, 4}) {
    TypeParam sequencer(capacity);
    RingBuffer<int64_t> ring(capacity);
    Sequence consumer;
    ASSERT_TRUE(sequencer.AddGatingSequence(consumer));
    const int64_t events = 3'000'000 / testing::kScale;
    uint64_t rng = 88172645463325252ull;  // xorshift: varied claim sizes, same every run
    int64_t produced = 0, consumed = 0, mismatches = 0;
    while (consumed < events) {
      rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
      const int64_t n = 1 + static_cast<int64_t>(rng % static_cast<uint64_t>(capacity));
      const ClaimResult claim = sequencer.TryNext(n);
      if (claim.ok()) {
        for (int64_t s = claim.sequence - n + 1; s <= claim.sequence; ++s) ring.Get(s) = s;
        sequencer.Publish(claim.sequence - n + 1, claim.sequence);
        produced += n;
      } else {
        ASSERT_EQ(claim.status, ClaimStatus::kInsufficientCapacity);
      }
      // Consume part of what is there, so the ring is sometimes full and sometimes not.
      const int64_t available = sequencer.HighestPublishedSequence(consumed, sequencer.Cursor());
      const int64_t take_until = consumed + static_cast<int64_t>((rng >> 32) % 3) - 1;
      const int64_t end = available < take_until ? available : take_until;
      for (; consumed <= end; ++consumed) {
        if (!sequencer.IsAvailable(consumed) || ring.Get(consumed) != consumed) ++mismatches;
      }
      consumer.Set(consumed - 1);
      ASSERT_LE(produced - consumed, capacity) << "a producer lapped the consumer";
    }
    EXPECT_EQ(mismatches, 0) << "capacity " << capacity;
    EXPECT_GE(produced, events);
    EXPECT_GE(sequencer.Cursor() / capacity, events / capacity - 1) << "laps completed";
  }
}

}  // namespace
}  // namespace ringcast
