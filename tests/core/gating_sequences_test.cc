#include "ringcast/core/gating_sequences.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

namespace ringcast {
namespace {

TEST(GatingSequences, MinimumIsTheFloorWhenEmpty) {
  GatingSequences gating;
  EXPECT_EQ(gating.Minimum(42), 42);
  EXPECT_EQ(gating.SizeGuess(), 0u);
}

TEST(GatingSequences, MinimumIsTheSlowestMember) {
  GatingSequences gating;
  Sequence a(10), b(4);
  ASSERT_TRUE(gating.Add(a));
  ASSERT_TRUE(gating.Add(b));
  EXPECT_EQ(gating.Minimum(100), 4);
  EXPECT_EQ(gating.Minimum(2), 2);
  EXPECT_TRUE(gating.Remove(b));
  EXPECT_EQ(gating.Minimum(100), 10);
}

TEST(GatingSequences, RemovedSequencesMayBeFreedAtOnceWhileReadersRun) {
  // Readers scan continuously while sequences come and go and are deleted right after Remove;
  // AddressSanitizer flags a read of a freed sequence.
  GatingSequences gating(8);
  Sequence anchor(0);
  ASSERT_TRUE(gating.Add(anchor));
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (int i = 0; i < 2; ++i) {
    readers.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        EXPECT_LE(gating.Minimum(1'000'000), 0);
      }
    });
  }
  for (int i = 0; i < 2000; ++i) {
    auto s = std::make_unique<Sequence>(i);
    ASSERT_TRUE(gating.Add(*s));
    ASSERT_TRUE(gating.Remove(*s));
  }
  stop.store(true);
  for (auto& r : readers) r.join();
  EXPECT_EQ(gating.SizeGuess(), 1u);
}

}  // namespace
}  // namespace ringcast
