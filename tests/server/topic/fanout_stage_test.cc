// The fan-out stage, driven step by step on the test's thread (Topic::DoWork), with checking
// outbound queues in place of gRPC streams.
#include "topic/fanout_stage.h"

#include <gtest/gtest.h>

#include <memory>
#include <thread>

#include "server/topic/topic_test_support.h"
#include "topic/topic.h"

namespace ringcast::server {
namespace {

using testing::CheckingQueue;
using testing::TryPublish;

class FanoutStageTest : public ::testing::Test {
 protected:
  std::unique_ptr<Topic> MakeTopic(uint32_t capacity, absl::Duration slow = absl::Seconds(10)) {
    return std::make_unique<Topic>(
        "t", TopicSettings{.capacity = capacity, .fanout = {.slow_subscriber_timeout = slow}},
        doorbell_);
  }
  std::shared_ptr<CheckingQueue> Subscribe(Topic& topic, bool reliable = true,
                                           StartPosition start = {}, std::size_t capacity = 1000,
                                           uint32_t max_batch = 512) {
    auto queue = std::make_shared<CheckingQueue>(doorbell_, capacity);
    const absl::StatusOr<int64_t> first = topic.Register(
        queue, SubscriberSettings{.reliable = reliable, .max_batch_events = max_batch}, start, 100);
    EXPECT_TRUE(first.ok()) << first.status();
    if (first.ok()) queue->ExpectFrom(*first);
    return queue;
  }
  // Steps the pipeline until it reports no work (bounded).
  static void Settle(Topic& topic) {
    for (int i = 0; i < 1000 && topic.DoWork() > 0; ++i) {
    }
  }

  Blocking strategy_;
  Doorbell doorbell_{strategy_};
};

TEST_F(FanoutStageTest, EveryReliableSubscriberReceivesEveryEventOnceInOrder) {
  auto topic = MakeTopic(64);
  auto a = Subscribe(*topic);
  auto b = Subscribe(*topic, true, {}, 1000, /*max_batch=*/3);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(TryPublish(*topic, 7));
    Settle(*topic);
  }
  EXPECT_EQ(a->received(), 70);
  EXPECT_EQ(b->received(), 70);
  EXPECT_EQ(a->errors(), "");
  EXPECT_EQ(b->errors(), "");
  EXPECT_EQ(topic->counters().events_delivered.load(), 140u);
}

TEST_F(FanoutStageTest, AFullReliableQueueHoldsProducersBackUntilItDrains) {
  auto topic = MakeTopic(8);
  auto slow = Subscribe(*topic, true, {}, /*capacity=*/1, /*max_batch=*/4);
  // One response of 4 accepted; the rest waits. Producers may run 2 x capacity past the gate.
  int64_t published = 0;
  while (TryPublish(*topic, 1)) {
    ++published;
    Settle(*topic);
    ASSERT_LT(published, 100) << "a stalled RELIABLE subscriber must hold producers back";
  }
  EXPECT_EQ(slow->received(), 1);  // the first event alone: the queue was full from then on
  EXPECT_TRUE(topic->PublishersBlocked());
  while (slow->received() < published) {
    slow->Drain();
    Settle(*topic);
  }
  EXPECT_EQ(slow->errors(), "");
  EXPECT_TRUE(TryPublish(*topic, 1));
}

TEST_F(FanoutStageTest, ALossySubscriberNeverHoldsProducersAndReportsWhatItSkipped) {
  auto topic = MakeTopic(8);
  auto lossy = Subscribe(*topic, /*reliable=*/false, {}, /*capacity=*/1, /*max_batch=*/2);
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(TryPublish(*topic, 1)) << "a LOSSY subscriber held producers back at " << i;
    Settle(*topic);
  }
  lossy->Drain();
  Settle(*topic);
  lossy->Drain();
  Settle(*topic);
  EXPECT_EQ(lossy->errors(), "");
  EXPECT_GT(lossy->skipped(), 0u);
  EXPECT_EQ(topic->counters().events_skipped.load(), lossy->skipped());
}

TEST_F(FanoutStageTest, EarliestReplaysTheRetainedEventsThenGoesLiveWithoutGapOrDuplicate) {
  auto topic = MakeTopic(16);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(TryPublish(*topic, 10));
    Settle(*topic);  // nobody subscribed: 50 published, the newest 16 retained
  }
  auto replay =
      Subscribe(*topic, true, StartPosition{.kind = StartPosition::Kind::kEarliest}, 1000, 5);
  EXPECT_EQ(replay->next_expected(), 34);
  ASSERT_TRUE(TryPublish(*topic, 10));
  Settle(*topic);
  EXPECT_EQ(replay->received(), 26);
  EXPECT_EQ(replay->errors(), "");
}

TEST_F(FanoutStageTest, ASequenceOutsideTheRetainedRangeIsRefusedWithTheRange) {
  auto topic = MakeTopic(16);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(TryPublish(*topic, 10));
    Settle(*topic);
  }
  auto queue = std::make_shared<CheckingQueue>(doorbell_);
  const absl::StatusOr<int64_t> first = topic->Register(
      queue, {}, StartPosition{.kind = StartPosition::Kind::kSequence, .sequence = 3}, 100);
  EXPECT_EQ(first.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(first.status().message().find("[24, 40)"), absl::string_view::npos) << first.status();
}

TEST_F(FanoutStageTest, AReliableSubscriberHoldingUpAFullRingIsCutOffAfterTheTimeout) {
  auto topic = MakeTopic(8, absl::Milliseconds(20));
  auto stalled = Subscribe(*topic, true, {}, /*capacity=*/1, /*max_batch=*/1);
  while (TryPublish(*topic, 1)) Settle(*topic);
  Settle(*topic);
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  Settle(*topic);
  ASSERT_TRUE(stalled->final_status().has_value());
  EXPECT_EQ(stalled->final_status()->code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(stalled->final_status()->message().find("resume from 1"), absl::string_view::npos)
      << *stalled->final_status();
  EXPECT_EQ(topic->counters().slow_subscriber_disconnects.load(), 1u);
  Settle(*topic);
  EXPECT_TRUE(TryPublish(*topic, 1)) << "producers resume once the slow subscriber is gone";
  EXPECT_EQ(topic->subscriber_count(), 0u);
}

TEST_F(FanoutStageTest, DeletionEndsSubscribersWithNotFoundAndFinishesThePipeline) {
  auto topic = MakeTopic(8);
  auto a = Subscribe(*topic);
  topic->MarkDeleted();
  Settle(*topic);
  ASSERT_TRUE(a->final_status().has_value());
  EXPECT_EQ(a->final_status()->code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(topic->Finished());
  auto late = std::make_shared<CheckingQueue>(doorbell_);
  EXPECT_EQ(topic->Register(late, {}, {}, 100).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(FanoutStageTest, DrainEndsEachSubscriberOnlyOnceItWasOfferedEverything) {
  auto topic = MakeTopic(64);
  auto fast = Subscribe(*topic);
  auto slow = Subscribe(*topic, true, {}, /*capacity=*/1, /*max_batch=*/5);
  ASSERT_TRUE(TryPublish(*topic, 20));
  topic->BeginDrain();
  Settle(*topic);
  EXPECT_FALSE(fast->final_status().has_value()) << "its last response is not written yet";
  fast->Drain();
  ASSERT_TRUE(fast->final_status().has_value());
  EXPECT_EQ(fast->final_status()->code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(fast->received(), 20);
  EXPECT_FALSE(slow->final_status().has_value()) << "it still has events to receive";
  while (!slow->final_status().has_value()) {
    slow->Drain();
    Settle(*topic);
  }
  EXPECT_EQ(slow->received(), 20);
  EXPECT_EQ(slow->final_status()->code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(slow->final_status()->message().find("resume from 20"), absl::string_view::npos);
  EXPECT_EQ(fast->errors() + slow->errors(), "");
}

// The shutdown race: events published (and acknowledged) while a step is under way, just before
// the drain begins, must still reach caught-up subscribers before their streams end. A step that
// compared the subscribers with the published sequence it read before seeing the drain flag
// ended them with UNAVAILABLE "resume from N" although N.. had been published.
TEST_F(FanoutStageTest, DrainThatBeginsDuringAStepStillDeliversWhatWasPublishedBeforeIt) {
  auto topic = MakeTopic(64);
  auto caught_up = Subscribe(*topic);
  auto other = Subscribe(*topic);
  ASSERT_TRUE(TryPublish(*topic, 4));
  // While the stage offers those 4 events, the last publisher publishes 6 more and shutdown
  // begins (publishing has stopped: drain starts only after every publish stream ended).
  other->OnNextOffer([&] {
    ASSERT_TRUE(TryPublish(*topic, 6));
    topic->BeginDrain();
  });
  for (int i = 0; i < 10; ++i) {
    Settle(*topic);
    caught_up->Drain();
    other->Drain();
  }
  for (const auto& queue : {caught_up, other}) {
    ASSERT_TRUE(queue->final_status().has_value());
    EXPECT_EQ(queue->received(), 10) << *queue->final_status();
    EXPECT_NE(queue->final_status()->message().find("resume from 10"), absl::string_view::npos)
        << *queue->final_status();
    EXPECT_EQ(queue->errors(), "");
  }
}

TEST_F(FanoutStageTest, AnExceptionInTheStageFailsThatTopicAloneWithInternal) {
  auto topic = MakeTopic(16);
  auto healthy_topic = MakeTopic(16);
  auto a = Subscribe(*topic);
  auto b = Subscribe(*topic);
  auto elsewhere = Subscribe(*healthy_topic);
  b->ThrowOnOffer();  // std::bad_alloc, as an allocation failing while a response is queued
  ASSERT_TRUE(TryPublish(*topic, 3));
  ASSERT_TRUE(TryPublish(*healthy_topic, 3));
  Settle(*topic);
  Settle(*healthy_topic);
  for (const auto& queue : {a, b}) {
    ASSERT_TRUE(queue->final_status().has_value());
    EXPECT_EQ(queue->final_status()->code(), absl::StatusCode::kInternal);
    EXPECT_NE(queue->final_status()->message().find("std::bad_alloc"), absl::string_view::npos)
        << *queue->final_status();
  }
  EXPECT_TRUE(topic->failed());
  EXPECT_EQ(topic->counters().stage_failures.load(), 1u);
  EXPECT_EQ(topic->subscriber_count(), 0u);
  auto late = std::make_shared<CheckingQueue>(doorbell_);
  EXPECT_EQ(topic->Register(late, {}, {}, 100).status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(elsewhere->received(), 3);
  EXPECT_FALSE(healthy_topic->failed());
  // A failed topic can still be deleted, which finishes its pipeline.
  topic->MarkDeleted();
  Settle(*topic);
  EXPECT_TRUE(topic->Finished());
}

TEST_F(FanoutStageTest, ASubscriberThatLeavesIsDroppedAndStopsHoldingProducers) {
  auto topic = MakeTopic(8);
  auto leaving = Subscribe(*topic, true, {}, /*capacity=*/1, /*max_batch=*/1);
  while (TryPublish(*topic, 1)) Settle(*topic);
  leaving->Cancel();
  Settle(*topic);
  EXPECT_EQ(topic->subscriber_count(), 0u);
  EXPECT_TRUE(TryPublish(*topic, 8));
}

}  // namespace
}  // namespace ringcast::server
