#include "ringcast/core/multi_producer_sequencer.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

namespace ringcast {
namespace {

TEST(MultiProducerSequencer, CursorIsTheHighestClaimAndAvailabilityIsPerSlot) {
  MultiProducerSequencer<BusySpin> sequencer(8);
  const int64_t first = sequencer.Next();   // 0
  const int64_t second = sequencer.Next();  // 1
  EXPECT_EQ(sequencer.Cursor(), 1);
  sequencer.Publish(second);
  EXPECT_FALSE(sequencer.IsAvailable(first));
  EXPECT_TRUE(sequencer.IsAvailable(second));
  EXPECT_EQ(sequencer.HighestPublishedSequence(0, 1), -1) << "0 is still being written";
  sequencer.Publish(first);
  EXPECT_EQ(sequencer.HighestPublishedSequence(0, 1), 1);
}

TEST(MultiProducerSequencer, AvailabilityTellsLapsApart) {
  MultiProducerSequencer<BusySpin> sequencer(2);
  sequencer.Publish(0, sequencer.Next(2));
  EXPECT_TRUE(sequencer.IsAvailable(0));
  EXPECT_FALSE(sequencer.IsAvailable(2)) << "slot 0 holds lap 0, not lap 1";
  sequencer.Publish(sequencer.Next());
  EXPECT_TRUE(sequencer.IsAvailable(2));
  EXPECT_FALSE(sequencer.IsAvailable(0));
}

TEST(MultiProducerSequencer, StartsAtAnInitialCursorAndGatesFromThere) {
  // A ring continuing a sequence kept elsewhere: claims start after the initial cursor, slots
  // before it never read as published, and a gating sequence starting there holds producers back.
  MultiProducerSequencer<BusySpin> sequencer(4, BusySpin(), {.initial_cursor = 1001});
  Sequence consumer(1001);
  ASSERT_TRUE(sequencer.AddGatingSequence(consumer));
  EXPECT_EQ(sequencer.Cursor(), 1001);
  EXPECT_EQ(sequencer.HighestPublishedSequence(1002, 1002), 1001) << "nothing published yet";
  const ClaimResult claim = sequencer.TryNext(4);
  ASSERT_TRUE(claim.ok());
  EXPECT_EQ(claim.sequence, 1005);
  sequencer.Publish(1002, 1005);
  EXPECT_EQ(sequencer.HighestPublishedSequence(1002, sequencer.Cursor()), 1005);
  EXPECT_FALSE(sequencer.TryNext(1).ok()) << "the consumer at 1001 holds the ring full";
  consumer.Set(1003);
  const ClaimResult more = sequencer.TryNext(2);
  ASSERT_TRUE(more.ok());
  EXPECT_EQ(more.sequence, 1007);
  EXPECT_FALSE(sequencer.IsAvailable(1006)) << "claimed, not yet published";
}

TEST(MultiProducerSequencer, ConcurrentTryNextClaimsAreDisjoint) {
  MultiProducerSequencer<BusySpin> sequencer(1 << 16);
  constexpr int kThreads = 4;
  constexpr int kClaims = 5000;
  std::vector<std::vector<int64_t>> claims(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kClaims; ++i) {
        const ClaimResult claim = sequencer.TryNext(3);
        ASSERT_TRUE(claim.ok());
        claims[t].push_back(claim.sequence);
        sequencer.Publish(claim.sequence - 2, claim.sequence);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<int64_t> highs;
  for (const auto& c : claims) highs.insert(c.begin(), c.end());
  ASSERT_EQ(highs.size(), size_t{kThreads * kClaims});
  int64_t expected = 2;
  for (int64_t high : highs) {
    EXPECT_EQ(high, expected);
    expected += 3;
  }
  EXPECT_EQ(sequencer.HighestPublishedSequence(0, sequencer.Cursor()), sequencer.Cursor());
}

}  // namespace
}  // namespace ringcast
