#include "ringcast/core/sharded_mpsc_channel.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.h"

namespace ringcast {
namespace {

TEST(ShardedMpscChannel, DeliversEachProducersEventsInOrder) {
  ShardedMpscChannel<int64_t> channel(2, 8);
  auto a = channel.RegisterProducer();
  auto b = channel.RegisterProducer();
  ASSERT_TRUE(a.ok() && b.ok());
  for (int64_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(a->TryPublish([i](int64_t& slot) { slot = 100 + i; }));
    ASSERT_TRUE(b->TryPublish([i](int64_t& slot) { slot = 200 + i; }));
  }
  EXPECT_EQ(channel.SizeGuess(), 6u);
  std::vector<int64_t> seen;
  EXPECT_EQ(channel.Drain([&](int64_t& v) { seen.push_back(v); }), 6u);
  EXPECT_EQ(seen, (std::vector<int64_t>{100, 101, 102, 200, 201, 202}));
  EXPECT_EQ(channel.Drain([&](int64_t&) { FAIL(); }), 0u);
}

TEST(ShardedMpscChannel, AFullShardRefusesWithoutBlockingTheOthers) {
  ShardedMpscChannel<int64_t> channel(2, 2);
  auto a = channel.RegisterProducer();
  auto b = channel.RegisterProducer();
  EXPECT_NE(a->TryClaim(), nullptr);
  a->Commit();
  EXPECT_NE(a->TryClaim(), nullptr);
  a->Commit();
  EXPECT_EQ(a->TryClaim(), nullptr);
  EXPECT_TRUE(b->TryPublish([](int64_t& v) { v = 1; }));
  channel.Drain([](int64_t&) {}, 1);
  EXPECT_NE(a->TryClaim(), nullptr) << "draining frees a slot";
}

TEST(ShardedMpscChannel, DrainIsBoundedPerShard) {
  ShardedMpscChannel<int64_t> channel(1, 16);
  auto p = channel.RegisterProducer();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(p->TryPublish([](int64_t&) {}));
  EXPECT_EQ(channel.Drain([](int64_t&) {}, 4), 4u);
  EXPECT_EQ(channel.SizeGuess(), 6u);
}

TEST(ShardedMpscChannel, RefusesProducersBeyondItsShards) {
  ShardedMpscChannel<int64_t> channel(1, 4);
  auto first = channel.RegisterProducer();
  ASSERT_TRUE(first.ok());
  auto second = channel.RegisterProducer();
  EXPECT_EQ(second.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(ShardedMpscChannel, AClosedShardIsDrainedThenReused) {
  ShardedMpscChannel<int64_t> channel(1, 4);
  {
    auto p = channel.RegisterProducer();
    ASSERT_TRUE(p->TryPublish([](int64_t& v) { v = 7; }));
  }  // unregistered with one event still inside
  EXPECT_FALSE(channel.RegisterProducer().ok()) << "not reusable before it is drained";
  std::vector<int64_t> seen;
  channel.Drain([&](int64_t& v) { seen.push_back(v); });
  EXPECT_EQ(seen, std::vector<int64_t>{7}) << "committed events survive the producer";
  auto again = channel.RegisterProducer();
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(again->TryPublish([](int64_t& v) { v = 8; }));
  seen.clear();
  channel.Drain([&](int64_t& v) { seen.push_back(v); });
  EXPECT_EQ(seen, std::vector<int64_t>{8});
}

TEST(ShardedMpscChannel, ReusesSlotsInPlace) {
  testing::CountedEvent::Reset();
  {
    ShardedMpscChannel<testing::CountedEvent> channel(2, 4);
    EXPECT_EQ(testing::CountedEvent::constructed.load(), 8);
    auto p = channel.RegisterProducer();
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE(p->TryPublish([i](testing::CountedEvent& e) { e.value = i; }));
      channel.Drain([](testing::CountedEvent&) {});
    }
    EXPECT_EQ(testing::CountedEvent::constructed.load(), 8);
  }
  EXPECT_EQ(testing::CountedEvent::destroyed.load(), 8);
}

TEST(ShardedMpscChannel, AThrowingHandlerConsumesOnlyWhatCameBefore) {
  ShardedMpscChannel<int64_t> channel(1, 8);
  auto p = channel.RegisterProducer();
  for (int64_t i = 0; i < 3; ++i) ASSERT_TRUE(p->TryPublish([i](int64_t& v) { v = i; }));
  EXPECT_THROW(channel.Drain([](int64_t& v) {
    if (v == 1) throw std::runtime_error("no");
  }),
               std::runtime_error);
  std::vector<int64_t> rest;
  channel.Drain([&](int64_t& v) { rest.push_back(v); });
  EXPECT_EQ(rest, (std::vector<int64_t>{1, 2}));
}

}  // namespace
}  // namespace ringcast
