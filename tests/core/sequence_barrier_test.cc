#include "ringcast/core/sequence_barrier.h"

#include <gtest/gtest.h>

#include <future>

#include "ringcast/core/multi_producer_sequencer.h"
#include "ringcast/core/single_producer_sequencer.h"

namespace ringcast {
namespace {

TEST(SequenceBarrier, ReleasesUpToTheCursor) {
  SingleProducerSequencer<BusySpin> sequencer(8);
  SequenceBarrier barrier(sequencer);
  sequencer.Publish(sequencer.Next(3));
  const WaitResult r = barrier.WaitFor(0);
  EXPECT_EQ(r.status, WaitStatus::kAvailable);
  EXPECT_EQ(r.available, 2);
}

TEST(SequenceBarrier, ReleasesOnlyWhatEveryUpstreamStageFinished) {
  SingleProducerSequencer<BusySpin> sequencer(8);
  Sequence a(5), b(1);
  SequenceBarrier barrier(sequencer, {&a, &b});
  sequencer.Publish(sequencer.Next(6));
  EXPECT_EQ(barrier.WaitFor(0).available, 1);
  EXPECT_EQ(barrier.Available(0), 1);
}

TEST(SequenceBarrier, StopsAtTheFirstUnpublishedSlotOfMultipleProducers) {
  MultiProducerSequencer<BusySpin> sequencer(8);
  SequenceBarrier barrier(sequencer);
  const int64_t s0 = sequencer.Next();
  const int64_t s1 = sequencer.Next();
  const int64_t s2 = sequencer.Next();
  sequencer.Publish(s0);
  sequencer.Publish(s2);
  EXPECT_EQ(barrier.WaitFor(0).available, 0) << "slot 1 is claimed but not written";
  sequencer.Publish(s1);
  EXPECT_EQ(barrier.WaitFor(1).available, 2);
}

TEST(SequenceBarrier, WaitsForAClaimedSlotToBePublished) {
  MultiProducerSequencer<Blocking> sequencer(8);
  SequenceBarrier barrier(sequencer);
  const int64_t claimed = sequencer.Next();
  auto waiter = std::async(std::launch::async, [&] { return barrier.WaitFor(0); });
  EXPECT_EQ(waiter.wait_for(std::chrono::milliseconds(30)), std::future_status::timeout)
      << "a claim alone must not release the slot";
  sequencer.Publish(claimed);
  ASSERT_EQ(waiter.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const WaitResult r = waiter.get();
  EXPECT_EQ(r.status, WaitStatus::kAvailable);
  EXPECT_EQ(r.available, 0);
}

TEST(SequenceBarrier, AlertEndsAWaitOnAnUnpublishedClaim) {
  MultiProducerSequencer<Blocking> sequencer(8);
  SequenceBarrier barrier(sequencer);
  (void)sequencer.Next();
  auto waiter = std::async(std::launch::async, [&] { return barrier.WaitFor(0); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  barrier.Alert();
  ASSERT_EQ(waiter.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(waiter.get().status, WaitStatus::kAlerted);
}

TEST(SequenceBarrier, AlertWakesABlockedWaiterUntilCleared) {
  SingleProducerSequencer<Blocking> sequencer(8);
  SequenceBarrier barrier(sequencer);
  auto waiter = std::async(std::launch::async, [&] { return barrier.WaitFor(0); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  barrier.Alert();
  ASSERT_EQ(waiter.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(waiter.get().status, WaitStatus::kAlerted);
  EXPECT_TRUE(barrier.IsAlerted());
  EXPECT_EQ(barrier.WaitFor(0).status, WaitStatus::kAlerted);
  barrier.ClearAlert();
  sequencer.Publish(sequencer.Next());
  EXPECT_EQ(barrier.WaitFor(0).status, WaitStatus::kAvailable);
}

}  // namespace
}  // namespace ringcast
