// Topics and their fan-out stages on a pool of stage threads, under load from every side at once:
// several publishers per topic, RELIABLE subscribers reading at full speed and slowly, a LOSSY
// one that stalls and resumes, subscribers that register while events are published and leave
// again, a topic deleted under load, and the shutdown drain; with the fan-out step on the stage
// threads only, and run inline by the publishers too. Links no gRPC (checking outbound
// queues stand in for streams), so it runs under ThreadSanitizer.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "server/topic/topic_test_support.h"
#include "stress_scale.h"
#include "stress_support.h"
#include "topic/stage_pool.h"
#include "topic/topic.h"

namespace ringcast::server {
namespace {

using stress::Scaled;
using stress::Watchdog;
using testing::CheckingQueue;
using testing::TryPublish;

struct Subscriber {
  std::shared_ptr<CheckingQueue> queue;
  bool reliable = true;
  int64_t start = 0;
  int pace_us = 0;  // sleep between drains; 0 reads at full speed
};

// Registers a subscriber on `topic`; false if the topic refused it.
bool Join(Topic& topic, Subscriber& s, StartPosition start, std::size_t capacity) {
  s.queue = std::make_shared<CheckingQueue>(topic.doorbell(), capacity);
  const absl::StatusOr<int64_t> first = topic.Register(
      s.queue, SubscriberSettings{.reliable = s.reliable, .max_batch_events = 64}, start, 1000);
  if (!first.ok()) return false;
  s.start = *first;
  s.queue->ExpectFrom(*first);
  return true;
}

void RunScenario(FanoutWaitStrategy strategy, bool inline_fanout = false) {
  Watchdog watchdog;
  constexpr int kTopics = 3;
  constexpr int kPublishersPerTopic = 2;
  const int64_t per_publisher = Scaled(200000, 20000);
  StagePool pool("rc-stage", 2, strategy);
  std::vector<std::shared_ptr<Topic>> topics;
  for (int t = 0; t < kTopics; ++t) {
    topics.push_back(pool.Adopt([&](Doorbell& doorbell) {
      return std::make_shared<Topic>(absl::StrCat("stress", t),
                                     TopicSettings{.capacity = 256,
                                                   .inline_fanout = inline_fanout,
                                                   .inline_fanout_quiet = absl::ZeroDuration()},
                                     doorbell);
    }));
  }
  // Per topic: two fast RELIABLE, one slow RELIABLE, one LOSSY that stalls now and then.
  std::vector<std::vector<Subscriber>> subscribers(kTopics);
  for (int t = 0; t < kTopics; ++t) {
    for (int i = 0; i < 4; ++i) {
      Subscriber s{.reliable = i != 3, .pace_us = i == 2 ? 50 : 0};
      ASSERT_TRUE(Join(*topics[t], s, {}, /*capacity=*/i == 3 ? 2 : 8));
      subscribers[t].push_back(std::move(s));
    }
  }

  std::atomic<bool> publishing{true};
  std::atomic<bool> stop_readers{false};
  std::vector<std::thread> threads;
  // Readers: one per subscriber, at its own pace; the LOSSY one stalls for a while every so often.
  for (int t = 0; t < kTopics; ++t) {
    for (Subscriber& s : subscribers[t]) {
      threads.emplace_back([&s, &stop_readers] {
        std::minstd_rand random(static_cast<unsigned>(s.pace_us + (s.reliable ? 1 : 7)));
        while (!stop_readers.load()) {
          s.queue->Drain(1 + random() % 4);
          if (s.pace_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(s.pace_us));
          if (!s.reliable && random() % 64 == 0) {
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
          }
          if (s.pace_us == 0) std::this_thread::yield();
        }
      });
    }
  }
  // Churn: subscribers that register while events flow (latest, earliest or a retained
  // sequence), read a little, and leave; each must see a gapless stream while it lasts.
  std::atomic<int> churn_errors{0};
  threads.emplace_back([&] {
    std::minstd_rand random(42);
    while (publishing.load()) {
      Topic& topic = *topics[random() % kTopics];
      Subscriber s{.reliable = random() % 2 == 0};
      StartPosition start;
      switch (random() % 3) {
        case 0:
          break;
        case 1:
          start.kind = StartPosition::Kind::kEarliest;
          break;
        default:
          start.kind = StartPosition::Kind::kSequence;
          start.sequence = static_cast<uint64_t>(std::max<int64_t>(0, topic.NextSequence() - 10));
      }
      if (!Join(topic, s, start, 4)) continue;  // a retained sequence can expire meanwhile
      for (int i = 0; i < 20; ++i) {
        s.queue->Drain();
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
      s.queue->Cancel();
      if (!s.queue->errors().empty()) {
        ADD_FAILURE() << s.queue->errors();
        churn_errors.fetch_add(1);
      }
    }
  });
  // A topic deleted under load: its publisher stops, its subscribers end with NOT_FOUND.
  auto doomed = pool.Adopt([inline_fanout](Doorbell& doorbell) {
    return std::make_shared<Topic>("doomed",
                                   TopicSettings{.capacity = 64,
                                                 .inline_fanout = inline_fanout,
                                                 .inline_fanout_quiet = absl::ZeroDuration()},
                                   doorbell);
  });
  Subscriber doomed_reader;
  ASSERT_TRUE(Join(*doomed, doomed_reader, {}, 4));
  threads.emplace_back([&] {
    while (!doomed->deleted()) {
      if (!TryPublish(*doomed, 3)) std::this_thread::yield();
      doomed_reader.queue->Drain();
    }
  });
  std::thread deleter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    doomed->MarkDeleted();
  });

  // Publishers: batches of 1-50 events until each has published its share.
  std::vector<std::thread> publishers;
  for (int t = 0; t < kTopics; ++t) {
    for (int p = 0; p < kPublishersPerTopic; ++p) {
      publishers.emplace_back([&, t, p] {
        std::minstd_rand random(static_cast<unsigned>(t * 10 + p));
        int64_t sent = 0;
        while (sent < per_publisher) {
          const int64_t n = std::min<int64_t>(1 + random() % 50, per_publisher - sent);
          if (TryPublish(*topics[t], n)) {
            sent += n;
          } else {
            std::this_thread::yield();  // full ring: a RELIABLE subscriber holds it
          }
        }
      });
    }
  }
  for (auto& p : publishers) p.join();
  deleter.join();
  publishing.store(false);

  // Shutdown: every topic drains; every subscriber ends once it was offered everything.
  for (const auto& topic : topics) topic->BeginDrain();
  const int64_t total = per_publisher * kPublishersPerTopic;
  for (int t = 0; t < kTopics; ++t) {
    for (const Subscriber& s : subscribers[t]) {
      ASSERT_TRUE(stress::WaitUntil([&] { return s.queue->final_status().has_value(); }))
          << "topic " << t << ": a subscriber was never ended; it received " << s.queue->received();
    }
  }
  stop_readers.store(true);
  for (auto& thread : threads) thread.join();

  for (int t = 0; t < kTopics; ++t) {
    EXPECT_EQ(topics[t]->NextSequence(), total);
    for (const Subscriber& s : subscribers[t]) {
      EXPECT_EQ(s.queue->errors(), "") << "topic " << t;
      EXPECT_EQ(s.queue->final_status()->code(), absl::StatusCode::kUnavailable)
          << *s.queue->final_status();
      if (s.reliable) {
        EXPECT_EQ(s.queue->received(), total - s.start) << "a RELIABLE subscriber lost events";
      } else {
        EXPECT_EQ(s.queue->received() + static_cast<int64_t>(s.queue->skipped()), total - s.start)
            << "a LOSSY subscriber's received + skipped must account for every event";
      }
    }
  }
  ASSERT_TRUE(doomed_reader.queue->final_status().has_value());
  EXPECT_EQ(doomed_reader.queue->final_status()->code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(doomed_reader.queue->errors(), "");
  EXPECT_EQ(churn_errors.load(), 0);
  pool.Stop();
}

TEST(TopicFanoutStress, BlockingPoolLosesNothingUnderPublishersChurnDeletionAndDrain) {
  RunScenario(FanoutWaitStrategy::kBlocking);
}

TEST(TopicFanoutStress, PhasedPoolLosesNothingUnderPublishersChurnDeletionAndDrain) {
  RunScenario(FanoutWaitStrategy::kPhased);
}

// Publishers run the fan-out step themselves whenever the stage thread is not running it (no
// quiet period asked for), so the step alternates between the stage thread and every publisher.
TEST(TopicFanoutStress, InlineFanoutLosesNothingUnderPublishersChurnDeletionAndDrain) {
  RunScenario(FanoutWaitStrategy::kBlocking, /*inline_fanout=*/true);
}

}  // namespace
}  // namespace ringcast::server
