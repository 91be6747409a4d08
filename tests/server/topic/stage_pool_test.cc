// Topics on the stage pool's runner threads, with each wait strategy the server offers.
#include "topic/stage_pool.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>

#include "server/topic/topic_test_support.h"
#include "topic/topic.h"

namespace ringcast::server {
namespace {

using testing::CheckingQueue;

bool Eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

class StagePoolTest : public ::testing::TestWithParam<FanoutWaitStrategy> {};

TEST_P(StagePoolTest, RunsEveryTopicsPipelineAndLetsGoOfDeletedTopics) {
  StagePool pool("rc-stage", 2, GetParam());
  std::vector<std::shared_ptr<Topic>> topics;
  std::vector<std::shared_ptr<CheckingQueue>> queues;
  for (int i = 0; i < 4; ++i) {
    topics.push_back(pool.Adopt([&](Doorbell& doorbell) {
      return std::make_shared<Topic>(absl::StrCat("t", i), TopicSettings{.capacity = 64}, doorbell);
    }));
    queues.push_back(std::make_shared<CheckingQueue>(topics.back()->doorbell(), /*capacity=*/4));
    ASSERT_TRUE(topics.back()->Register(queues.back(), {}, {}, 10).ok());
  }
  EXPECT_EQ(pool.Load(), (std::vector<std::size_t>{2, 2}));
  constexpr int64_t kEvents = 2000;
  std::thread reader([&] {
    Eventually([&] {
      for (const auto& q : queues) q->Drain();
      bool all = true;
      for (const auto& q : queues) all &= q->received() == kEvents;
      return all;
    });
  });
  for (int64_t n = 0; n < kEvents; ++n) {
    for (const auto& topic : topics) {
      while (!testing::TryPublish(*topic, 1)) std::this_thread::yield();
    }
  }
  reader.join();
  for (const auto& q : queues) {
    EXPECT_EQ(q->received(), kEvents);
    EXPECT_EQ(q->errors(), "");
  }
  for (const auto& topic : topics) topic->MarkDeleted();
  EXPECT_TRUE(Eventually([&] { return pool.Load() == std::vector<std::size_t>{0, 0}; }));
  for (const auto& q : queues) {
    ASSERT_TRUE(q->final_status().has_value());
    EXPECT_EQ(q->final_status()->code(), absl::StatusCode::kNotFound);
  }
  pool.Stop();
}

TEST_P(StagePoolTest, AnIdlePoolStopsPromptly) {
  StagePool pool("rc-stage", 2, GetParam());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const auto start = std::chrono::steady_clock::now();
  pool.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

INSTANTIATE_TEST_SUITE_P(
    EveryStrategy, StagePoolTest,
    ::testing::Values(FanoutWaitStrategy::kBlocking, FanoutWaitStrategy::kPhased,
                      FanoutWaitStrategy::kYielding, FanoutWaitStrategy::kBusySpin),
    [](const auto& test) { return std::string(FanoutWaitStrategyName(test.param)); });

}  // namespace
}  // namespace ringcast::server
