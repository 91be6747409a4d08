#include "ringcast/core/ring_buffer.h"

#include <gtest/gtest.h>

#include <string>

#include "test_support.h"

namespace ringcast {
namespace {

using testing::CountedEvent;

TEST(RingBuffer, RejectsCapacityThatIsNotAPowerOfTwo) {
  for (int64_t bad :
       {int64_t{0}, int64_t{-4}, int64_t{3}, int64_t{6}, int64_t{1000}, int64_t{1} << 31}) {
    auto ring = RingBuffer<int>::Create(bad);
    ASSERT_FALSE(ring.ok()) << bad;
    EXPECT_EQ(ring.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(ring.status().message().find("power of two"), std::string::npos);
  }
}

TEST(RingBuffer, AcceptsPowersOfTwoFromOne) {
  for (int64_t good : {1, 2, 4, 1024, 65536}) {
    auto ring = RingBuffer<int>::Create(good);
    ASSERT_TRUE(ring.ok()) << good;
    EXPECT_EQ((*ring)->capacity(), good);
  }
}

TEST(RingBufferDeathTest, ConstructorAbortsOnBadCapacityWithTheReason) {
  EXPECT_DEATH(RingBuffer<int>(12), "power of two");
}

TEST(RingBuffer, BuildsEachSlotOnceAndReusesItInPlace) {
  CountedEvent::Reset();
  {
    RingBuffer<CountedEvent> ring(8);
    EXPECT_EQ(CountedEvent::constructed.load(), 8);
    for (int64_t s = 0; s < 1000; ++s) ring.Get(s).value = s;
    EXPECT_EQ(CountedEvent::constructed.load(), 8) << "slots must be reused, not rebuilt";
    EXPECT_EQ(ring.Get(999).value, 999);
    EXPECT_EQ(&ring.Get(3), &ring.Get(3 + 8));
  }
  EXPECT_EQ(CountedEvent::destroyed.load(), CountedEvent::constructed.load());
}

TEST(RingBuffer, UsesTheFactoryForEverySlot) {
  int built = 0;
  RingBuffer<std::string> ring(4, [&] {
    ++built;
    std::string s;
    s.reserve(256);
    return s;
  });
  EXPECT_EQ(built, 4);
  EXPECT_GE(ring.Get(2).capacity(), 256u);
}

TEST(RingBuffer, SlotsStartOnACacheLine) {
  RingBuffer<char> ring(16);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(&ring.Get(0)) % kCacheLineSize, 0u);
}

}  // namespace
}  // namespace ringcast
