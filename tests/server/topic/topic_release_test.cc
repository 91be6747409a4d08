// When a publish wakes the fan-out stage: for every batch while the topic has subscribers (they
// wait for it), but only in bulk while it has none (nobody waits; ingest alone should cost no
// thread hand-off per batch). Exercises the Topic directly, with its doorbell.
#include <cstdint>
#include <memory>

#include "gtest/gtest.h"
#include "server/topic/topic_test_support.h"
#include "topic/topic.h"

namespace ringcast::server {
namespace {

// Claims and publishes `n` slots; returns the last sequence.
int64_t PublishBatch(Topic& topic, int64_t n) {
  const ClaimResult claim = topic.TryClaim(n);
  EXPECT_TRUE(claim.ok());
  topic.Publish(claim.sequence - n + 1, claim.sequence);
  return claim.sequence;
}

TEST(TopicReleaseTest, WithoutSubscribersTheFanoutIsWokenOnlyOnceAnEighthIsUnreleased) {
  Blocking strategy;
  Doorbell doorbell(strategy);
  Topic topic("ingest", TopicSettings{.capacity = 1024, .latency_metrics = false}, doorbell);
  // Nothing released yet: the fan-out stage is woken once 1024 / 8 = 128 events wait.
  const int64_t before = doorbell.Epoch();
  for (int i = 0; i < 12; ++i) PublishBatch(topic, 10);  // 120 events
  EXPECT_EQ(doorbell.Epoch(), before) << "no subscriber waits for these events";
  PublishBatch(topic, 10);  // 130 events
  EXPECT_GT(doorbell.Epoch(), before) << "128 unreleased events must wake the fan-out stage";
}

TEST(TopicReleaseTest, WithASubscriberEveryBatchWakesTheFanout) {
  Blocking strategy;
  Doorbell doorbell(strategy);
  Topic topic("live", TopicSettings{.capacity = 1024, .latency_metrics = false}, doorbell);
  auto subscriber = std::make_shared<testing::CheckingQueue>(doorbell);
  ASSERT_TRUE(topic.Register(subscriber, {}, StartPosition{}, 10).ok());
  for (int i = 0; i < 5; ++i) {
    const int64_t before = doorbell.Epoch();
    PublishBatch(topic, 1);
    EXPECT_GT(doorbell.Epoch(), before) << "batch " << i;
  }
}

TEST(TopicReleaseTest, APublisherThatParksWakesTheFanout) {
  Blocking strategy;
  Doorbell doorbell(strategy);
  Topic topic("parked", TopicSettings{.capacity = 64, .latency_metrics = false}, doorbell);
  struct Waiter final : PublishWaiter {
    void WakeForRoom() override {}
  } waiter;
  const int64_t before = doorbell.Epoch();
  topic.AddWaiter(&waiter);
  EXPECT_GT(doorbell.Epoch(), before);
  EXPECT_TRUE(topic.RemoveWaiter(&waiter));
}

}  // namespace
}  // namespace ringcast::server
