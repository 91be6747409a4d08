#include "ringcast/core/event_poller.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "ringcast/core/multi_producer_sequencer.h"
#include "ringcast/core/single_producer_sequencer.h"

namespace ringcast {
namespace {

using Seq = MultiProducerSequencer<BusySpin>;

class EventPollerTest : public ::testing::Test {
 protected:
  EventPollerTest() { EXPECT_TRUE(sequencer_.AddGatingSequence(poller_.sequence())); }

  void Publish(int64_t value) {
    const int64_t s = sequencer_.Next();
    ring_.Get(s) = value;
    sequencer_.Publish(s);
  }

  RingBuffer<int64_t> ring_{8};
  Seq sequencer_{8};
  EventPoller<int64_t, Seq> poller_{ring_, sequencer_};
};

TEST_F(EventPollerTest, IsIdleWhenNothingWasPublished) {
  EXPECT_EQ(poller_.Poll([](int64_t&, int64_t, bool) { return true; }), PollState::kIdle);
}

TEST_F(EventPollerTest, HandsOverEverythingPublishedInOrder) {
  for (int64_t v : {10, 11, 12}) Publish(v);
  std::vector<int64_t> seen;
  std::vector<bool> ends;
  EXPECT_EQ(poller_.Poll([&](int64_t& v, int64_t, bool end) {
    seen.push_back(v);
    ends.push_back(end);
    return true;
  }),
            PollState::kProcessing);
  EXPECT_EQ(seen, (std::vector<int64_t>{10, 11, 12}));
  EXPECT_EQ(ends, (std::vector<bool>{false, false, true}));
  EXPECT_EQ(poller_.sequence().Get(), 2);
  EXPECT_EQ(poller_.Poll([](int64_t&, int64_t, bool) { return true; }), PollState::kIdle);
}

TEST_F(EventPollerTest, StopsWhenTheHandlerSaysSoAndResumesThere) {
  for (int64_t v : {1, 2, 3, 4}) Publish(v);
  std::vector<int64_t> seen;
  auto take_two = [&](int64_t& v, int64_t, bool) {
    seen.push_back(v);
    return seen.size() % 2 != 0;
  };
  EXPECT_EQ(poller_.Poll(take_two), PollState::kProcessing);
  EXPECT_EQ(poller_.sequence().Get(), 1);
  EXPECT_EQ(poller_.Poll(take_two), PollState::kProcessing);
  EXPECT_EQ(seen, (std::vector<int64_t>{1, 2, 3, 4}));
}

TEST_F(EventPollerTest, MaxEventsBoundsOnePoll) {
  for (int64_t v : {1, 2, 3, 4, 5}) Publish(v);
  int count = 0;
  poller_.Poll([&](int64_t&, int64_t, bool) { return ++count > 0; }, 2);
  EXPECT_EQ(count, 2);
  EXPECT_EQ(poller_.sequence().Get(), 1);
}

TEST_F(EventPollerTest, ReportsGatingWhenAClaimIsUnpublished) {
  const int64_t claimed = sequencer_.Next();
  EXPECT_EQ(poller_.Poll([](int64_t&, int64_t, bool) { return true; }), PollState::kGating);
  sequencer_.Publish(claimed);
  EXPECT_EQ(poller_.Poll([](int64_t&, int64_t, bool) { return true; }), PollState::kProcessing);
}

TEST_F(EventPollerTest, AThrowingHandlerConsumesOnlyTheEventsBeforeIt) {
  for (int64_t v : {1, 2, 3}) Publish(v);
  EXPECT_THROW(poller_.Poll([](int64_t& v, int64_t, bool) {
    if (v == 2) throw std::runtime_error("no");
    return true;
  }),
               std::runtime_error);
  EXPECT_EQ(poller_.sequence().Get(), 0);
}

TEST_F(EventPollerTest, FreesSlotsForProducers) {
  for (int i = 0; i < 8; ++i) Publish(i);
  EXPECT_EQ(sequencer_.TryNext().status, ClaimStatus::kInsufficientCapacity);
  poller_.Poll([](int64_t&, int64_t, bool) { return true; });
  EXPECT_TRUE(sequencer_.TryNext(8).ok());
}

TEST(EventPoller, FollowsAnUpstreamStage) {
  using SP = SingleProducerSequencer<BusySpin>;
  RingBuffer<int64_t> ring(8);
  SP sequencer(8);
  Sequence upstream;
  EventPoller<int64_t, SP> poller(ring, sequencer, {&upstream});
  sequencer.Publish(sequencer.Next(4));
  EXPECT_EQ(poller.Poll([](int64_t&, int64_t, bool) { return true; }), PollState::kGating);
  upstream.Set(1);
  int seen = 0;
  EXPECT_EQ(poller.Poll([&](int64_t&, int64_t, bool) { return ++seen > 0; }),
            PollState::kProcessing);
  EXPECT_EQ(seen, 2);
}

}  // namespace
}  // namespace ringcast
