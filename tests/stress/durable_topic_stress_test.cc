// A durable topic under load from every side at once, through the registry with its real thread
// pools (stage, journal, replay): several publishers, each waiting for its acknowledgement
// (Topic::WaitForJournal) before it counts a batch; a live RELIABLE subscriber; subscribers that
// join from EARLIEST while publishing goes on, so they are served from the journal on the replay
// thread and handed to the ring mid-stream. Every subscriber must see every event from its start,
// in order, once (the checking queues verify each response). Then the topic is opened again from
// its files and holds exactly what was acknowledged. And a durable topic deleted and created again
// under the same name while a publisher keeps writing: the new topic's directory never receives a
// file of the old one's. Links no gRPC, so it runs under ThreadSanitizer.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "server/topic/topic_test_support.h"
#include "stress_scale.h"
#include "stress_support.h"
#include "topic/topic_registry.h"

namespace ringcast::server {
namespace {

using stress::Scaled;
using stress::Watchdog;
using testing::CheckingQueue;
using testing::TryPublish;

// Waits until the journal has passed `last`.
class AckWaiter final : public JournalWaiter {
 public:
  void OnJournaled() override {
    std::lock_guard<std::mutex> lock(mu_);
    woken_ = true;
    cv_.notify_all();
  }
  void WaitFor(Topic& topic, int64_t last) {
    while (topic.JournaledSequence() < last) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        woken_ = false;
      }
      topic.WaitForJournal(self_);
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(20), [&] { return woken_; });
    }
  }
  void set_self(std::shared_ptr<AckWaiter> self) { self_ = std::move(self); }
  void clear_self() { self_.reset(); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;
  std::shared_ptr<AckWaiter> self_;
};

bool Eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  return true;
}

TEST(DurableTopicStress, PublishersSubscribersAndDiskReplayAgreeWithTheJournal) {
  Watchdog watchdog;
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) /
                                    ("durable-stress-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  ServerOptions options;
  options.data_dir = dir.string();
  options.min_free_bytes = 0;
  options.fanout_threads = 2;
  constexpr int kPublishers = 3;
  const int64_t per_publisher = Scaled(30000, 3000);
  const int64_t total = kPublishers * per_publisher;
  {
    TopicRegistry registry(options);
    ASSERT_TRUE(registry.OpenDataDirectory().ok());
    absl::StatusOr<std::shared_ptr<Topic>> created = registry.Create("durable", 256);
    ASSERT_TRUE(created.ok()) << created.status();
    std::shared_ptr<Topic> topic = *created;

    auto live = std::make_shared<CheckingQueue>(topic->doorbell(), 16);
    absl::StatusOr<int64_t> live_start =
        registry.Subscribe(topic, live, SubscriberSettings{.max_batch_events = 64}, {}, 100);
    ASSERT_TRUE(live_start.ok());
    live->ExpectFrom(*live_start);

    std::atomic<bool> stop_readers{false};
    std::vector<std::shared_ptr<CheckingQueue>> late;
    std::mutex late_mu;
    std::vector<std::thread> threads;
    threads.emplace_back([&] {
      while (!stop_readers.load()) live->Drain();
    });
    std::atomic<int64_t> acknowledged{0};
    for (int p = 0; p < kPublishers; ++p) {
      threads.emplace_back([&, p] {
        auto waiter = std::make_shared<AckWaiter>();
        waiter->set_self(waiter);
        for (int64_t sent = 0; sent < per_publisher;) {
          const int64_t n = std::min<int64_t>(1 + (sent + p) % 16, per_publisher - sent);
          while (!TryPublish(*topic, n)) std::this_thread::yield();
          // The batch's last sequence is at most the topic's next - 1 now.
          waiter->WaitFor(*topic, topic->NextSequence() - 1);
          acknowledged.fetch_add(n);
          sent += n;
        }
        waiter->clear_self();
      });
    }
    // Late subscribers from EARLIEST: the ring holds 256 of the events, the journal all of them.
    threads.emplace_back([&] {
      for (int i = 0; i < 3; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        auto queue = std::make_shared<CheckingQueue>(topic->doorbell(), 8);
        absl::StatusOr<int64_t> first =
            registry.Subscribe(topic, queue, SubscriberSettings{.max_batch_events = 100},
                               StartPosition{.kind = StartPosition::Kind::kEarliest}, 100);
        ASSERT_TRUE(first.ok()) << first.status();
        EXPECT_EQ(*first, 0);
        queue->ExpectFrom(0);
        std::lock_guard<std::mutex> lock(late_mu);
        late.push_back(queue);
      }
    });
    std::thread late_reader([&] {
      while (!stop_readers.load()) {
        std::vector<std::shared_ptr<CheckingQueue>> queues;
        {
          std::lock_guard<std::mutex> lock(late_mu);
          queues = late;
        }
        for (const auto& q : queues) q->Drain();
        std::this_thread::yield();
      }
    });
    for (int i = 1; i < static_cast<int>(threads.size()); ++i) threads[i].join();
    EXPECT_EQ(acknowledged.load(), total);
    EXPECT_TRUE(Eventually([&] { return live->received() == total - *live_start; }))
        << live->received();
    std::vector<std::shared_ptr<CheckingQueue>> queues;
    {
      std::lock_guard<std::mutex> lock(late_mu);
      queues = late;
    }
    ASSERT_EQ(queues.size(), 3u);
    for (const auto& q : queues) {
      EXPECT_TRUE(Eventually([&] { return q->received() == total; })) << q->received();
      EXPECT_EQ(q->errors(), "");
    }
    EXPECT_EQ(live->errors(), "");
    EXPECT_GT(topic->counters().events_replayed_from_disk.load(), 0u);
    stop_readers.store(true);
    threads[0].join();
    late_reader.join();
    registry.BeginDrainAll();
    registry.StopStages();
  }
  // Opened again from its files: every acknowledged event, and the sequence continues.
  {
    TopicRegistry registry(options);
    ASSERT_TRUE(registry.OpenDataDirectory().ok());
    absl::StatusOr<std::shared_ptr<Topic>> topic = registry.Get("durable");
    ASSERT_TRUE(topic.ok());
    EXPECT_EQ((*topic)->NextSequence(), total);
    {
      // A reader held on disk (its queue takes one response and is never drained) is one of the
      // topic's subscribers, in its figures and against the limit, until it leaves.
      auto held = std::make_shared<CheckingQueue>((*topic)->doorbell(), 1);
      ASSERT_TRUE(registry
                      .Subscribe(*topic, held, SubscriberSettings{.max_batch_events = 10},
                                 StartPosition{.kind = StartPosition::Kind::kEarliest}, 1)
                      .ok());
      EXPECT_EQ((*topic)->Describe().subscribers, 1u);
      auto refused = std::make_shared<CheckingQueue>((*topic)->doorbell(), 1);
      EXPECT_TRUE(absl::IsResourceExhausted(
          registry
              .Subscribe(*topic, refused, SubscriberSettings{},
                         StartPosition{.kind = StartPosition::Kind::kEarliest}, 1)
              .status()));
      held->Cancel();
      EXPECT_TRUE(Eventually([&] { return (*topic)->Describe().subscribers == 0; }));
    }
    auto queue = std::make_shared<CheckingQueue>((*topic)->doorbell(), 64);
    absl::StatusOr<int64_t> first =
        registry.Subscribe(*topic, queue, SubscriberSettings{.max_batch_events = 500},
                           StartPosition{.kind = StartPosition::Kind::kEarliest}, 100);
    ASSERT_TRUE(first.ok());
    queue->ExpectFrom(0);
    EXPECT_TRUE(Eventually([&] {
      queue->Drain();
      return queue->received() == total;
    })) << queue->received();
    EXPECT_EQ(queue->errors(), "");
    registry.StopStages();
  }
  std::filesystem::remove_all(dir);
}

// The names of the journal files (.log, .idx) in the topic directory `dir`.
std::set<std::string> JournalFiles(const std::filesystem::path& dir) {
  std::set<std::string> names;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    const std::string ext = entry.path().extension().string();
    if (ext == ".log" || ext == ".idx") names.insert(entry.path().filename().string());
  }
  return names;
}

TEST(DurableTopicStress, ADeletedTopicNeverWritesIntoTheDirectoryOfItsSuccessor) {
  Watchdog watchdog;
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) /
                                    ("durable-recreate-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  ServerOptions options;
  options.data_dir = dir.string();
  options.min_free_bytes = 0;
  options.journal_sync = storage::SyncMode::kNone;
  options.segment_bytes = 4096;  // a roll (a new file) every ~100 events
  const int rounds = Scaled(40, 10);
  const std::filesystem::path topic_dir = dir / "topics" / "t_again";
  {
    TopicRegistry registry(options);
    ASSERT_TRUE(registry.OpenDataDirectory().ok());
    std::shared_ptr<Topic> previous;  // the last incarnation, kept until its successor exists
    for (int round = 0; round <= rounds; ++round) {
      absl::StatusOr<std::shared_ptr<Topic>> created = registry.Create("again", 64);
      ASSERT_TRUE(created.ok()) << created.status();
      previous.reset();  // its journal closes now, after the new topic took the directory
      // Nothing in the new directory but its own first, empty segment: no segment an old stage
      // rolled to, no index an old journal saved as it closed.
      for (const std::string& name : JournalFiles(topic_dir)) {
        EXPECT_EQ(name.substr(0, 20), "00000000000000000000") << name << ", round " << round;
      }
      if (round == rounds) break;
      std::shared_ptr<Topic> topic = *created;
      std::atomic<int64_t> published{0};
      std::thread publisher([&] {
        // Publishes until the topic is deleted; the journal stage rolls segments meanwhile.
        while (!topic->deleted()) {
          if (TryPublish(*topic, 8)) {
            published.fetch_add(8);
          } else {
            std::this_thread::yield();
          }
        }
      });
      // Deleted mid-stream, at a different point each round.
      ASSERT_TRUE(Eventually([&] { return published.load() >= 200 + 37 * (round % 7); }));
      ASSERT_TRUE(registry.Delete("again").ok());
      publisher.join();
      previous = std::move(topic);
    }
    registry.BeginDrainAll();
    registry.StopStages();
  }
  // Opened again: the topic is back, empty, its sequence at 0.
  TopicRegistry registry(options);
  ASSERT_TRUE(registry.OpenDataDirectory().ok());
  absl::StatusOr<std::shared_ptr<Topic>> topic = registry.Get("again");
  ASSERT_TRUE(topic.ok()) << topic.status();
  EXPECT_EQ((*topic)->NextSequence(), 0);
  registry.StopStages();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ringcast::server
