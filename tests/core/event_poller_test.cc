#include "ringcast/core/event_poller.h"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <thread>
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
  ASSERT_TRUE(sequencer.AddGatingSequence(poller.sequence()));
  sequencer.Publish(sequencer.Next(4));
  EXPECT_EQ(poller.Poll([](int64_t&, int64_t, bool) { return true; }), PollState::kGating);
  upstream.Set(1);
  int seen = 0;
  EXPECT_EQ(poller.Poll([&](int64_t&, int64_t, bool) { return ++seen > 0; }),
            PollState::kProcessing);
  EXPECT_EQ(seen, 2);
}

TEST_F(EventPollerTest, AHandlerReturningNothingTakesEverything) {
  for (int64_t v : {1, 2, 3}) Publish(v);
  int64_t sum = 0;
  EXPECT_EQ(poller_.Poll([&](int64_t& v, int64_t, bool) { sum += v; }), PollState::kProcessing);
  EXPECT_EQ(sum, 6);
}

TEST_F(EventPollerTest, WaitPollTimesOutWhenNothingComes) {
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(poller_.WaitPoll([](int64_t&, int64_t, bool) {}, absl::Milliseconds(30)),
            PollState::kIdle);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(25));
}

TEST_F(EventPollerTest, WaitPollReturnsAtOnceWhenEventsAreThere) {
  Publish(5);
  int64_t seen = 0;
  EXPECT_EQ(poller_.WaitPoll([&](int64_t& v, int64_t, bool) { seen = v; }, absl::Hours(1)),
            PollState::kProcessing);
  EXPECT_EQ(seen, 5);
}

template <class W>
void WaitPollWakesWhenAProducerPublishes() {
  using S = SingleProducerSequencer<W>;
  RingBuffer<int64_t> ring(8);
  S sequencer(8);
  EventPoller<int64_t, S> poller(ring, sequencer);
  ASSERT_TRUE(sequencer.AddGatingSequence(poller.sequence()));
  std::thread producer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const int64_t s = sequencer.Next();
    ring.Get(s) = 9;
    sequencer.Publish(s);
  });
  int64_t seen = 0;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(poller.WaitPoll([&](int64_t& v, int64_t, bool) { seen = v; }, absl::Seconds(20)),
            PollState::kProcessing);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(seen, 9);
  producer.join();
}

TEST(EventPoller, WaitPollParksOnABlockingStrategyAndIsWoken) {
  WaitPollWakesWhenAProducerPublishes<Blocking>();
}
TEST(EventPoller, WaitPollSpinsOnASpinningStrategy) {
  WaitPollWakesWhenAProducerPublishes<Yielding>();
}
TEST(EventPoller, WaitPollBacksOffOnASleepingStrategy) {
  WaitPollWakesWhenAProducerPublishes<Sleeping>();
}

void PollWithoutGating() {
  using SP = SingleProducerSequencer<BusySpin>;
  RingBuffer<int64_t> ring(4);
  SP sequencer(4);
  EventPoller<int64_t, SP> poller(ring, sequencer);  // never added as a gating sequence
  for (int i = 0; i < 6; ++i) sequencer.Publish(sequencer.Next());  // laps it already
  (void)poller.Poll([](int64_t&, int64_t, bool) { return true; });
}

TEST(EventPollerDeathTest, APollerThatGatesNothingIsRefused) {
  EXPECT_DEATH(PollWithoutGating(), "without gating the producers");
}

}  // namespace
}  // namespace ringcast
