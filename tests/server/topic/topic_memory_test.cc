// A topic's memory: its byte budget, the buffers the fan-out stage gives back, retention trimmed
// under pressure, the server's budget, and what deleting a topic returns. Driven step by step on
// the test's thread (Topic::DoWork).
#include <gtest/gtest.h>

#include <memory>

#include "server/topic/topic_test_support.h"
#include "topic/memory_budget.h"
#include "topic/topic.h"

namespace ringcast::server {
namespace {

using testing::CheckingQueue;
using testing::TryPublish;

constexpr std::size_t kEvent = 1000;                          // bytes of one test event
constexpr uint64_t kBuffer = EventSlot::BufferBytes(kEvent);  // what its slot holds: 1024

class TopicMemoryTest : public ::testing::Test {
 protected:
  std::unique_ptr<Topic> MakeTopic(uint32_t capacity, uint64_t max_bytes,
                                   MemoryBudget* server = nullptr) {
    return std::make_unique<Topic>(
        "t", TopicSettings{.capacity = capacity, .max_bytes = max_bytes, .server_budget = server},
        doorbell_);
  }
  std::shared_ptr<CheckingQueue> Subscribe(Topic& topic, std::size_t queue_capacity,
                                           StartPosition start = {}) {
    auto queue = std::make_shared<CheckingQueue>(doorbell_, queue_capacity, kEvent);
    const absl::StatusOr<int64_t> first =
        topic.Register(queue, SubscriberSettings{.reliable = true}, start, 100);
    EXPECT_TRUE(first.ok()) << first.status();
    if (first.ok()) queue->ExpectFrom(*first);
    return queue;
  }
  static void Settle(Topic& topic) {
    for (int i = 0; i < 1000 && topic.DoWork() > 0; ++i) {
    }
  }

  Blocking strategy_;
  Doorbell doorbell_{strategy_};
};

TEST_F(TopicMemoryTest, TheRingHoldsAtMostItsBudgetAndRetainsWhatFitsInHalf) {
  constexpr uint64_t kBudget = 64 * kBuffer;
  auto topic = MakeTopic(/*capacity=*/1024, kBudget);
  for (int i = 0; i < 500; ++i) {
    while (!TryPublish(*topic, 1, kEvent)) Settle(*topic);  // publishers wait for room
    ASSERT_LE(topic->bytes(), kBudget);
  }
  Settle(*topic);
  const TopicInfo info = topic->Describe();
  EXPECT_EQ(info.next_sequence, 500);
  EXPECT_EQ(info.max_bytes, kBudget);
  EXPECT_LE(info.bytes, kBudget / 2);
  // Count-wise the ring would retain all 500; bytes-wise half the budget's worth.
  EXPECT_EQ(info.next_sequence - info.oldest_sequence, static_cast<int64_t>(kBudget / 2 / kBuffer));
}

TEST_F(TopicMemoryTest, AReliableSubscriberHoldsPublishersBackByBytesAndGetsEverything) {
  constexpr uint64_t kBudget = 32 * kBuffer;
  auto topic = MakeTopic(/*capacity=*/1024, kBudget);
  auto slow = Subscribe(*topic, /*queue_capacity=*/2);
  int64_t published = 0;
  while (TryPublish(*topic, 1, kEvent)) {
    ++published;
    Settle(*topic);
    ASSERT_LT(published, 1000) << "the byte budget must hold producers back";
  }
  EXPECT_FALSE(topic->HasRoomFor(1, kBuffer));
  EXPECT_TRUE(topic->HasRoomFor(1, 0)) << "slots are not what is short";
  EXPECT_LE(topic->bytes(), kBudget);
  for (int i = 0; i < 200; ++i) {
    slow->Drain();
    Settle(*topic);
    if (TryPublish(*topic, 1, kEvent)) ++published;
  }
  while (slow->received() < published) {
    slow->Drain();
    Settle(*topic);
  }
  EXPECT_EQ(slow->errors(), "");
  EXPECT_GT(published, 200);
}

TEST_F(TopicMemoryTest, LargeBuffersAreGivenBackAndSmallOnesReused) {
  auto topic = MakeTopic(/*capacity=*/8, /*max_bytes=*/uint64_t{64} << 20);
  constexpr std::size_t kLarge = 100 << 10;  // above Topic::kKeepBytes
  for (int i = 0; i < 64; ++i) {
    ASSERT_TRUE(TryPublish(*topic, 1, kLarge));
    Settle(*topic);
  }
  // 16 slots; those behind the gate (8 behind the live position) gave their buffers back.
  EXPECT_LE(topic->bytes(),
            8 * EventSlot::BufferBytes(kLarge) + 8 * EventSlot::BufferBytes(kLarge));
  for (int i = 0; i < 64; ++i) {
    ASSERT_TRUE(TryPublish(*topic, 1, 100));
    Settle(*topic);
  }
  const uint64_t warm = topic->bytes();
  EXPECT_LE(warm, 16 * EventSlot::BufferBytes(100)) << "the large buffers went";
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(TryPublish(*topic, 1, 100));
    Settle(*topic);
  }
  EXPECT_EQ(topic->bytes(), warm) << "a steady stream reuses its slots' buffers";
}

TEST_F(TopicMemoryTest, ReplayStartsAtWhatTheTrimmedRingStillHolds) {
  constexpr uint64_t kBudget = 16 * kBuffer;
  auto topic = MakeTopic(/*capacity=*/1024, kBudget);
  for (int i = 0; i < 100; ++i) {
    while (!TryPublish(*topic, 1, kEvent)) Settle(*topic);
  }
  Settle(*topic);
  const TopicInfo info = topic->Describe();
  ASSERT_GT(info.oldest_sequence, 0);
  auto late = std::make_shared<CheckingQueue>(doorbell_, 1000, kEvent);
  const auto too_old =
      topic->Register(late, {}, {.kind = StartPosition::Kind::kSequence, .sequence = 0}, 100);
  EXPECT_EQ(too_old.status().code(), absl::StatusCode::kOutOfRange);
  auto earliest = Subscribe(*topic, 1000, {.kind = StartPosition::Kind::kEarliest});
  Settle(*topic);
  EXPECT_EQ(earliest->received(), info.next_sequence - info.oldest_sequence);
  EXPECT_EQ(earliest->errors(), "");
}

TEST_F(TopicMemoryTest, TheServerBudgetRefusesAndADeletedTopicGivesEverythingBack) {
  MemoryBudget server(40 * kBuffer);
  auto topic = MakeTopic(/*capacity=*/1024, /*max_bytes=*/1024 * kBuffer, &server);
  auto holder = Subscribe(*topic, /*queue_capacity=*/1);  // keeps everything in flight
  int accepted = 0;
  ByteReservation outcome = ByteReservation::kReserved;
  while ((outcome = topic->ReserveBytes(kBuffer)) == ByteReservation::kReserved) {
    topic->UnreserveBytes(kBuffer);
    ASSERT_TRUE(TryPublish(*topic, 1, kEvent));
    Settle(*topic);
    ASSERT_LT(++accepted, 100);
  }
  EXPECT_EQ(outcome, ByteReservation::kServerFull);
  EXPECT_LE(server.used(), server.limit());
  EXPECT_GT(server.used(), 0u);
  holder->Cancel();
  topic->MarkDeleted();
  Settle(*topic);
  topic.reset();
  EXPECT_EQ(server.used(), 0u) << "slot buffers and slot pages all returned";
}

}  // namespace
}  // namespace ringcast::server
