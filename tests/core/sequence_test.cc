#include "ringcast/core/sequence.h"

#include <gtest/gtest.h>

#include <vector>

namespace ringcast {
namespace {

TEST(Sequence, StartsBeforeTheFirstEvent) {
  Sequence s;
  EXPECT_EQ(s.Get(), kInitialSequence);
  EXPECT_EQ(Sequence(41).Get(), 41);
}

TEST(Sequence, OwnsItsCacheLines) {
  static_assert(alignof(Sequence) == kCacheLineSize);
  static_assert(sizeof(Sequence) == kCacheLineSize);
  Sequence pair[2];
  const auto a = reinterpret_cast<uintptr_t>(&pair[0]);
  const auto b = reinterpret_cast<uintptr_t>(&pair[1]);
  EXPECT_EQ(a % kCacheLineSize, 0u);
  EXPECT_EQ(b - a, kCacheLineSize);
}

TEST(Sequence, SetGetCompareAndSetAddAndGet) {
  Sequence s;
  s.Set(7);
  EXPECT_EQ(s.Get(), 7);
  EXPECT_EQ(s.GetRelaxed(), 7);
  EXPECT_FALSE(s.CompareAndSet(6, 9));
  EXPECT_EQ(s.Get(), 7);
  EXPECT_TRUE(s.CompareAndSet(7, 9));
  EXPECT_EQ(s.AddAndGet(3), 12);
}

TEST(MinimumSequence, IsTheSmallestOrTheFloor) {
  Sequence a(5), b(3), c(9);
  std::vector<const Sequence*> all{&a, &b, &c};
  EXPECT_EQ(MinimumSequence(all), 3);
  EXPECT_EQ(MinimumSequence(all, 2), 2);
  EXPECT_EQ(MinimumSequence({}, 11), 11);
}

}  // namespace
}  // namespace ringcast
