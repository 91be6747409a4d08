#include "ringcast/core/thread.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <string>
#include <thread>

namespace ringcast {
namespace {

TEST(Thread, NamesTheCallingThreadTruncatedToFifteenCharacters) {
  std::string name;
  std::thread([&] {
    SetCurrentThreadName("a-very-long-stage-name");
    char buffer[16] = {};
    pthread_getname_np(pthread_self(), buffer, sizeof(buffer));
    name = buffer;
  }).join();
  EXPECT_EQ(name, "a-very-long-sta");
}

TEST(Thread, PinningToAMissingCpuIsAnInvalidArgument) {
  std::thread([] {
    EXPECT_EQ(PinCurrentThreadToCpu(-1).code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(PinCurrentThreadToCpu(1000).code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(PinCurrentThreadToCpu(0).ok());
  }).join();
}

}  // namespace
}  // namespace ringcast
