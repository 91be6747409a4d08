#include "ringcast/core/sharded_mpsc_channel.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.h"

namespace ringcast {
namespace {

template <class C>
concept HasStats = requires(C& c) {
  c.Stats();
};

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

TEST(ShardedMpscChannel, DrainLimitIsATotalOverEveryShard) {
  ShardedMpscChannel<int64_t> channel(2, 16);
  auto a = channel.RegisterProducer();
  auto b = channel.RegisterProducer();
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(a->TryPublish([](int64_t&) {}));
    ASSERT_TRUE(b->TryPublish([](int64_t&) {}));
  }
  EXPECT_EQ(channel.Drain([](int64_t&) {}, 4), 4u) << "not 4 per producer";
  EXPECT_EQ(channel.SizeGuess(), 16u);
  EXPECT_EQ(channel.Drain([](int64_t&) {}, 15), 15u);
  EXPECT_EQ(channel.Drain([](int64_t&) {}), 1u) << "no limit drains everything";
}

TEST(ShardedMpscChannel, ALimitedDrainStartsAtTheNextShardEachTime) {
  ShardedMpscChannel<int64_t> channel(2, 16);
  auto a = channel.RegisterProducer();
  auto b = channel.RegisterProducer();
  for (int64_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(a->TryPublish([i](int64_t& v) { v = 100 + i; }));
    ASSERT_TRUE(b->TryPublish([i](int64_t& v) { v = 200 + i; }));
  }
  std::vector<int64_t> seen;
  for (int i = 0; i < 4; ++i) channel.Drain([&](int64_t& v) { seen.push_back(v); }, 1);
  EXPECT_EQ(seen, (std::vector<int64_t>{100, 200, 101, 201})) << "a busy shard cannot starve";
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
    EXPECT_EQ(testing::CountedEvent::constructed.load(), 0) << "shards are built when first used";
    auto p = channel.RegisterProducer();
    EXPECT_EQ(testing::CountedEvent::constructed.load(), 4);
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE(p->TryPublish([i](testing::CountedEvent& e) { e.value = i; }));
      channel.Drain([](testing::CountedEvent&) {});
    }
    EXPECT_EQ(testing::CountedEvent::constructed.load(), 4);
  }
  EXPECT_EQ(testing::CountedEvent::destroyed.load(), 4);
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

TEST(ShardedMpscChannel, AllocatesAShardOnlyWhenAProducerFirstNeedsIt) {
  ShardedMpscChannel<int64_t> channel(ShardedMpscChannelOptions::HighThroughput());
  EXPECT_EQ(channel.max_producers(), 32u);
  EXPECT_EQ(channel.AllocatedShards(), 0u);
  {
    auto p = channel.RegisterProducer();
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(channel.AllocatedShards(), 1u);
  }
  channel.Drain([](int64_t&) {});  // frees the closed shard
  auto again = channel.RegisterProducer();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(channel.AllocatedShards(), 1u) << "a freed shard is reused before a new one is built";
  EXPECT_EQ(channel.SizeGuess(), 0u);
}

TEST(ShardedMpscChannel, PresetsAreValidShapes) {
  for (const ShardedMpscChannelOptions& o :
       {ShardedMpscChannelOptions::LowLatency(), ShardedMpscChannelOptions::HighThroughput(),
        ShardedMpscChannelOptions{}}) {
    EXPECT_TRUE(ValidateCapacity(o.shard_capacity).ok());
    EXPECT_GE(o.max_producers, 1u);
  }
  EXPECT_LT(ShardedMpscChannelOptions::LowLatency().shard_capacity,
            ShardedMpscChannelOptions::HighThroughput().shard_capacity);
}

TEST(ShardedMpscChannel, AReservationIsCommittedAllAtOnce) {
  ShardedMpscChannel<int64_t> channel(1, 8);
  auto p = channel.RegisterProducer();
  auto span = p->TryReserve(3);
  ASSERT_TRUE(span);
  ASSERT_EQ(span.size(), 3u);
  for (std::size_t i = 0; i < span.size(); ++i) span[i] = static_cast<int64_t>(10 + i);
  EXPECT_EQ(channel.SizeGuess(), 0u) << "nothing is visible before Commit";
  EXPECT_EQ(channel.Drain([](int64_t&) { FAIL(); }), 0u);
  span.Commit();
  EXPECT_FALSE(span) << "a committed reservation is spent";
  std::vector<int64_t> seen;
  EXPECT_EQ(channel.Drain([&](int64_t& v) { seen.push_back(v); }), 3u);
  EXPECT_EQ(seen, (std::vector<int64_t>{10, 11, 12}));
}

TEST(ShardedMpscChannel, AReservationIsAllOrNothing) {
  ShardedMpscChannel<int64_t> channel(1, 8);
  auto p = channel.RegisterProducer();
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(p->TryPublish([](int64_t&) {}));
  EXPECT_FALSE(p->TryReserve(3)) << "only two slots are free";
  EXPECT_FALSE(p->TryReserve(0));
  EXPECT_FALSE(p->TryReserve(9)) << "larger than the shard";
  auto two = p->TryReserve(2);
  ASSERT_TRUE(two);
  two.Commit();
  EXPECT_EQ(channel.SizeGuess(), 8u);
}

TEST(ShardedMpscChannel, AnAbandonedReservationPublishesNothing) {
  ShardedMpscChannel<int64_t> channel(1, 4);
  auto p = channel.RegisterProducer();
  { auto span = p->TryReserve(4); }
  EXPECT_EQ(channel.Drain([](int64_t&) { FAIL(); }), 0u);
  auto span = p->TryReserve(4);
  ASSERT_TRUE(span) << "the slots were given back";
}

TEST(ShardedMpscChannel, AReservationWrapsAroundTheShard) {
  ShardedMpscChannel<int64_t> channel(1, 4);
  auto p = channel.RegisterProducer();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(p->TryPublish([](int64_t&) {}));
  channel.Drain([](int64_t&) {});
  auto span = p->TryReserve(4);  // slots 3, 0, 1, 2 of the ring
  ASSERT_TRUE(span);
  for (std::size_t i = 0; i < 4; ++i) span[i] = static_cast<int64_t>(i);
  span.Commit();
  std::vector<int64_t> seen;
  channel.Drain([&](int64_t& v) { seen.push_back(v); });
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 1, 2, 3}));
}

TEST(ShardedMpscChannel, CountersAreOptIn) {
  ShardedMpscChannel<int64_t, ChannelCounters> channel(2, 4);
  auto a = channel.RegisterProducer();
  auto b = channel.RegisterProducer();
  for (int i = 0; i < 5; ++i) (void)a->TryPublish([](int64_t&) {});  // the fifth is refused
  auto span = b->TryReserve(2);
  span.Commit();
  channel.Drain([](int64_t&) {}, 3);
  const ChannelStats stats = channel.Stats();
  EXPECT_EQ(stats.committed, 6u);
  EXPECT_EQ(stats.full, 1u);
  EXPECT_EQ(stats.drained, 3u);
  EXPECT_EQ(stats.allocated, 2u);
  static_assert(!HasStats<ShardedMpscChannel<int64_t>>, "the default channel keeps no counters");
}

}  // namespace
}  // namespace ringcast
