#include "ringcast/core/lossy_reader.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "ringcast/core/disruptor.h"
#include "ringcast/core/multi_producer_sequencer.h"
#include "ringcast/core/single_producer_sequencer.h"

namespace ringcast {
namespace {

template <class S>
class LossyReaderTest : public ::testing::Test {
 protected:
  void Publish(int64_t count) {
    for (int64_t i = 0; i < count; ++i) {
      const ClaimResult claim = sequencer_.TryNext();
      ASSERT_TRUE(claim.ok()) << "a lossy reader must never hold the producer back";
      ring_.Get(claim.sequence) = claim.sequence * 10;
      sequencer_.Publish(claim.sequence);
    }
  }
  std::vector<int64_t> ReadAll(LossyPoll* last = nullptr) {
    std::vector<int64_t> seen;
    LossyPoll result = reader_.Poll([&](int64_t& v, int64_t s, bool) {
      EXPECT_EQ(v, s * 10) << "a slot overwritten under the reader";
      seen.push_back(s);
    });
    if (last != nullptr) *last = result;
    return seen;
  }

  RingBuffer<int64_t> ring_{8};
  S sequencer_{8};
  LossyReader<int64_t, S> reader_{ring_, sequencer_};
};

using Sequencers =
    ::testing::Types<SingleProducerSequencer<BusySpin>, MultiProducerSequencer<BusySpin>>;
TYPED_TEST_SUITE(LossyReaderTest, Sequencers);

TYPED_TEST(LossyReaderTest, ReadsEverythingInOrderWhenItKeepsUp) {
  this->Publish(5);
  LossyPoll result;
  EXPECT_EQ(this->ReadAll(&result), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(result.state, PollState::kProcessing);
  EXPECT_EQ(result.handled, 5);
  EXPECT_EQ(result.missed, 0);
  EXPECT_EQ(this->reader_.position(), 4);
  this->ReadAll(&result);
  EXPECT_EQ(result.state, PollState::kIdle);
}

TYPED_TEST(LossyReaderTest, NeverHoldsTheProducerBack) {
  this->Publish(100);  // TryNext succeeds every time: the ring is only 8
  EXPECT_EQ(this->sequencer_.Cursor(), 99);
  EXPECT_EQ(this->sequencer_.Occupancy(), 0) << "lossy readers count in no occupancy";
}

TYPED_TEST(LossyReaderTest, WhenLappedSkipsToTheOldestSlotNotOverwrittenAndSaysHowManyItMissed) {
  this->Publish(3);
  EXPECT_EQ(this->ReadAll().size(), 3u);
  this->Publish(20);  // events 3..22; a ring of 8 keeps 15..22
  LossyPoll result;
  const std::vector<int64_t> seen = this->ReadAll(&result);
  EXPECT_EQ(result.missed, 12);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.front(), 15);
  EXPECT_EQ(seen.back(), 22);
  EXPECT_EQ(result.handled, 8);
  EXPECT_EQ(this->reader_.MissedTotal(), 12);
  EXPECT_EQ(this->reader_.Lag(), 0);
}

TYPED_TEST(LossyReaderTest, AReaderInTheMiddleOfABatchHoldsOnlyItsBatch) {
  this->Publish(8);  // the ring is full of unread events
  std::vector<int64_t> seen;
  LossyPoll result = this->reader_.Poll(
      [&](int64_t& v, int64_t s, bool) {
        seen.push_back(v);
        // While the reader holds 0..1, a claim that would overwrite slot 0 must fail...
        EXPECT_FALSE(this->sequencer_.TryNext().ok());
        return s < 1;
      },
      2);
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 10}));
  EXPECT_EQ(result.handled, 2);
  // ...and once it is done, claims overwrite freely again.
  this->Publish(8);
  EXPECT_EQ(this->ReadAll(&result).front(), 8);
  EXPECT_EQ(result.missed, 6);
}

TYPED_TEST(LossyReaderTest, MaxEventsBoundsAPoll) {
  this->Publish(6);
  LossyPoll result = this->reader_.Poll([](int64_t&, int64_t, bool) {}, 4);
  EXPECT_EQ(result.handled, 4);
  EXPECT_EQ(this->reader_.Lag(), 2);
}

TYPED_TEST(LossyReaderTest, UnregistersWhenDestroyed) {
  EXPECT_EQ(this->sequencer_.LossyReaderCount(), 1u);
  {
    LossyReader<int64_t, TypeParam> second(this->ring_, this->sequencer_);
    EXPECT_EQ(this->sequencer_.LossyReaderCount(), 2u);
  }
  EXPECT_EQ(this->sequencer_.LossyReaderCount(), 1u);
}

TEST(LossyReader, WaitPollWakesWhenAProducerPublishes) {
  using S = SingleProducerSequencer<Blocking>;
  RingBuffer<int64_t> ring(8);
  S sequencer(8);
  LossyReader<int64_t, S> reader(ring, sequencer);
  std::thread producer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    sequencer.Publish(sequencer.Next());
  });
  LossyPoll result = reader.WaitPoll([](int64_t&, int64_t, bool) {}, absl::Seconds(20));
  producer.join();
  EXPECT_EQ(result.handled, 1);
  result = reader.WaitPoll([](int64_t&, int64_t, bool) {}, absl::Milliseconds(10));
  EXPECT_EQ(result.state, PollState::kIdle);
}

TEST(LossyReader, ADisruptorOfALossyReaderAndAStage) {
  std::atomic<int64_t> processed{0};
  Disruptor<int64_t, SingleProducerSequencer<Yielding>> d(16);
  d.HandleEventsWith([&](int64_t&, int64_t, bool) { processed.fetch_add(1); });
  auto& lossy = d.AddLossyReader();
  ASSERT_TRUE(d.Start().ok());
  for (int64_t i = 0; i < 100; ++i) d.Publish([i](int64_t& v, int64_t) { v = i; });
  ASSERT_TRUE(d.Shutdown(absl::Seconds(10)).ok());
  EXPECT_EQ(processed.load(), 100) << "the gating stage sees everything";
  int64_t last = -1;
  LossyPoll result = lossy.Poll([&](int64_t& v, int64_t, bool) { last = v; }, 100);
  EXPECT_EQ(last, 99);
  EXPECT_EQ(result.missed + result.handled, 100) << "every event read or counted as missed";
}

}  // namespace
}  // namespace ringcast
