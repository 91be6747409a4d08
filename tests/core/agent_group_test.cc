#include "ringcast/core/agent_group.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <stdexcept>

#include "ringcast/core/agent_runner.h"
#include "test_support.h"

namespace ringcast {
namespace {

using testing::WaitUntil;

struct Member {
  int work_per_cycle = 1;
  bool throws = false;
  std::atomic<int64_t> cycles{0};
  std::atomic<bool> finished{false};

  int DoWork() {
    cycles.fetch_add(1);
    if (throws) throw std::runtime_error("member failed");
    return work_per_cycle;
  }
  bool Finished() const { return finished.load(); }
};

TEST(AgentGroup, RunsEveryMemberOncePerCycleAndSumsTheirWork) {
  AgentGroup<Member> group;
  auto a = std::make_shared<Member>();
  auto b = std::make_shared<Member>();
  b->work_per_cycle = 2;
  group.Add(a);
  group.Add(b);
  EXPECT_EQ(group.size(), 2u);
  EXPECT_EQ(group.DoWork(), 2 + 1 + 2);  // two joined, then their work
  EXPECT_EQ(group.DoWork(), 3);
  EXPECT_EQ(a->cycles.load(), 2);
  EXPECT_EQ(b->cycles.load(), 2);
}

TEST(AgentGroup, DropsFinishedMembersAndLetsGoOfThem) {
  AgentGroup<Member> group;
  auto a = std::make_shared<Member>();
  std::weak_ptr<Member> watch = a;
  group.Add(a);
  group.DoWork();
  a->finished.store(true);
  a.reset();
  group.DoWork();
  EXPECT_EQ(group.size(), 0u);
  EXPECT_TRUE(watch.expired());
}

TEST(AgentGroup, AFailingMemberDoesNotStarveTheOthers) {
  std::atomic<int> reported{0};
  AgentGroup<Member> group(
      "topics", [&](const std::string&, int64_t, std::exception_ptr) { reported.fetch_add(1); });
  auto bad = std::make_shared<Member>();
  bad->throws = true;
  auto good = std::make_shared<Member>();
  group.Add(bad);
  group.Add(good);
  for (int i = 0; i < 3; ++i) group.DoWork();
  EXPECT_EQ(good->cycles.load(), 3);
  EXPECT_EQ(reported.load(), 3);
  EXPECT_EQ(group.ExceptionCount(), 3u);
}

TEST(AgentGroup, MembersAddedFromOtherThreadsJoinARunningRunner) {
  AgentGroup<Member> group;
  AgentRunner<AgentGroup<Member>, Blocking> runner(group);
  runner.Start();
  auto member = std::make_shared<Member>();
  member->work_per_cycle = 0;
  group.Add(member);
  runner.doorbell().Ring();
  EXPECT_TRUE(WaitUntil([&] { return member->cycles.load() >= 1; }));
  runner.Close();
}

}  // namespace
}  // namespace ringcast
