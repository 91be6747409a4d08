#include "ringcast/core/single_producer_sequencer.h"

#include <gtest/gtest.h>

#include <thread>

namespace ringcast {
namespace {

TEST(SingleProducerSequencer, StartsAtAnInitialCursor) {
  SingleProducerSequencer<BusySpin> sequencer(4, BusySpin(), {.initial_cursor = 41});
  Sequence consumer(41);
  ASSERT_TRUE(sequencer.AddGatingSequence(consumer));
  EXPECT_EQ(sequencer.Cursor(), 41);
  const ClaimResult claim = sequencer.TryNext(4);
  ASSERT_TRUE(claim.ok());
  EXPECT_EQ(claim.sequence, 45);
  sequencer.Publish(45);
  EXPECT_EQ(sequencer.Cursor(), 45);
  EXPECT_FALSE(sequencer.TryNext(1).ok()) << "the consumer at 41 holds the ring full";
}

TEST(SingleProducerSequencer, CursorIsThePublishedSequence) {
  SingleProducerSequencer<BusySpin> sequencer(8);
  const int64_t s = sequencer.Next(2);
  EXPECT_EQ(sequencer.Cursor(), kInitialSequence) << "claimed is not published";
  sequencer.Publish(s);
  EXPECT_EQ(sequencer.Cursor(), 1);
}

TEST(SingleProducerSequencer, IsAvailableOnlyWithinTheLastLap) {
  SingleProducerSequencer<BusySpin> sequencer(4);
  for (int i = 0; i < 6; ++i) sequencer.Publish(sequencer.Next());
  EXPECT_FALSE(sequencer.IsAvailable(1)) << "overwritten by the second lap";
  EXPECT_TRUE(sequencer.IsAvailable(2));
  EXPECT_TRUE(sequencer.IsAvailable(5));
  EXPECT_FALSE(sequencer.IsAvailable(6));
}

#if RINGCAST_CORE_DEBUG_CHECKS
using SpinningSequencer = SingleProducerSequencer<BusySpin, SpinOnFull>;

TEST(SingleProducerSequencerDeathTest, DebugBuildsCatchTwoConcurrentProducers) {
  // Simulates a second thread entering while a claim is in progress by claiming from inside the
  // producer wait of a full ring.
  EXPECT_DEATH(
      {
        SpinningSequencer sequencer(1);
        Sequence consumer;
        (void)sequencer.AddGatingSequence(consumer);
        sequencer.Publish(sequencer.Next());
        std::thread blocked([&] { (void)sequencer.Next(); });  // waits for the consumer
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        (void)sequencer.TryNext();
        blocked.join();
      },
      "two threads at once");
}
#endif

}  // namespace
}  // namespace ringcast
