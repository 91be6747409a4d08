#include "ringcast/core/ring_buffer.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

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

struct PlainSlot {
  int64_t value;
  char* data;
  uint32_t size;
};

// Pages of the ring's slot array the kernel has committed, through mincore(2).
template <class E>
int ResidentPages(RingBuffer<E>& ring) {
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  const std::size_t bytes = sizeof(E) * static_cast<std::size_t>(ring.capacity());
  std::vector<unsigned char> resident((bytes + page - 1) / page);
  EXPECT_EQ(mincore(static_cast<void*>(&ring.Get(0)), bytes, resident.data()), 0);
  int count = 0;
  for (const unsigned char r : resident) count += r & 1;
  return count;
}

TEST(RingBuffer, ZeroFilledSlotsStartEmptyAndCommitPagesAsTheyAreWritten) {
  constexpr int64_t kCapacity = int64_t{1} << 16;  // 1.5 MiB of slots
  RingBuffer<PlainSlot> ring(kCapacity, kZeroFilled);
  EXPECT_EQ(ResidentPages(ring), 0) << "an unwritten ring costs no memory";
  for (int64_t s = 0; s < 1024; ++s) ring.Get(s).value = s + 1;
  const int after_1024 = ResidentPages(ring);
  EXPECT_GE(after_1024, 1);
  EXPECT_LE(after_1024, 7) << "1024 slots of 24 bytes span 6 pages (7 if unaligned)";
  // Unwritten slots read as empty.
  EXPECT_EQ(ring.Get(kCapacity - 1).value, 0);
  EXPECT_EQ(ring.Get(kCapacity - 1).data, nullptr);
  EXPECT_EQ(ring.Get(1023).value, 1024);
  EXPECT_EQ(ring.Get(kCapacity + 5).value, 6) << "indexes wrap like a built ring's";
}

}  // namespace
}  // namespace ringcast
