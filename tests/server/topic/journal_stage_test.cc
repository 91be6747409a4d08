// A durable topic's pipeline, stepped by hand: the journal stage journals what producers
// published, the fan-out stage sends only what is journaled, publishers waiting for their
// acknowledgement are woken, and a topic opened on a journal continues its sequence.
#include "topic/journal_stage.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "server/topic/topic_test_support.h"
#include "storage/journal.h"
#include "topic/topic.h"

namespace ringcast::server {
namespace {

class JournalStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("journal-stage-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<storage::Journal> OpenJournal() {
    absl::StatusOr<std::unique_ptr<storage::Journal>> journal =
        storage::Journal::Open((dir_ / "t_orders").string(), storage::JournalOptions{});
    EXPECT_TRUE(journal.ok()) << journal.status();
    return *std::move(journal);
  }

  std::unique_ptr<Topic> MakeTopic() {
    TopicSettings settings{.capacity = 64, .latency_metrics = false};
    settings.journal = OpenJournal();
    settings.journal_doorbell = &journal_doorbell_;
    return std::make_unique<Topic>("orders", std::move(settings), fanout_doorbell_);
  }

  std::filesystem::path dir_;
  Blocking strategy_;
  Doorbell fanout_doorbell_{strategy_};
  Doorbell journal_doorbell_{strategy_};
};

TEST_F(JournalStageTest, SubscribersAndAcknowledgementsWaitForTheJournal) {
  std::unique_ptr<Topic> topic = MakeTopic();
  ASSERT_NE(topic->journal_stage(), nullptr);
  auto subscriber = std::make_shared<testing::CheckingQueue>(fanout_doorbell_);
  ASSERT_TRUE(topic->Register(subscriber, {}, StartPosition{}, 10).ok());
  subscriber->ExpectFrom(0);

  const int64_t rung = journal_doorbell_.Epoch();
  ASSERT_TRUE(testing::TryPublish(*topic, 10));
  EXPECT_GT(journal_doorbell_.Epoch(), rung) << "every batch wakes the journal stage";
  EXPECT_EQ(topic->JournaledSequence(), -1);
  topic->DoWork();
  EXPECT_EQ(subscriber->received(), 0) << "nothing is sent before it is journaled";

  topic->journal_stage()->DoWork();
  EXPECT_EQ(topic->JournaledSequence(), 9);
  EXPECT_EQ(topic->journal_stage()->journal().synced_sequence(), 9) << "always: synced";
  topic->DoWork();
  EXPECT_EQ(subscriber->received(), 10);
  EXPECT_EQ(subscriber->errors(), "");
}

TEST_F(JournalStageTest, AWaiterIsWokenOnceTheJournalMoves) {
  std::unique_ptr<Topic> topic = MakeTopic();
  struct Counter final : JournalWaiter {
    void OnJournaled() override { calls.fetch_add(1); }
    std::atomic<int> calls{0};
  };
  auto waiter = std::make_shared<Counter>();
  topic->WaitForJournal(waiter);
  topic->journal_stage()->DoWork();
  EXPECT_EQ(waiter->calls.load(), 0) << "the journal did not move";
  ASSERT_TRUE(testing::TryPublish(*topic, 3));
  topic->journal_stage()->DoWork();
  EXPECT_EQ(waiter->calls.load(), 1);
  ASSERT_TRUE(testing::TryPublish(*topic, 3));
  topic->journal_stage()->DoWork();
  EXPECT_EQ(waiter->calls.load(), 1) << "one call per WaitForJournal";
}

TEST_F(JournalStageTest, ATopicOnAJournalContinuesItsSequence) {
  {
    std::unique_ptr<Topic> topic = MakeTopic();
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(testing::TryPublish(*topic, 5));
    while (topic->JournaledSequence() < 99) topic->journal_stage()->DoWork();
  }
  std::unique_ptr<Topic> topic = MakeTopic();
  EXPECT_EQ(topic->NextSequence(), 100);
  auto subscriber = std::make_shared<testing::CheckingQueue>(fanout_doorbell_);
  absl::StatusOr<int64_t> first = topic->Register(subscriber, {}, StartPosition{}, 10);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, 100);
  subscriber->ExpectFrom(100);
  ASSERT_TRUE(testing::TryPublish(*topic, 7));  // writes each event's own sequence
  topic->journal_stage()->DoWork();
  topic->DoWork();
  EXPECT_EQ(subscriber->received(), 7);
  EXPECT_EQ(subscriber->errors(), "");
  TopicInfo info = topic->Describe();
  EXPECT_TRUE(info.durable);
  EXPECT_EQ(info.oldest_sequence, 0) << "the journal retains everything";
  EXPECT_EQ(info.next_sequence, 107);
}

TEST_F(JournalStageTest, TheJournalHoldsExactlyWhatWasPublished) {
  {
    std::unique_ptr<Topic> topic = MakeTopic();
    for (int i = 0; i < 30; ++i) ASSERT_TRUE(testing::TryPublish(*topic, 4, 24));
    while (topic->JournaledSequence() < 119) {
      topic->journal_stage()->DoWork();
      topic->DoWork();  // raises the gate, so publishers keep room
    }
  }
  std::unique_ptr<storage::Journal> journal = OpenJournal();
  ASSERT_EQ(journal->next_sequence(), 120);
  absl::StatusOr<std::unique_ptr<storage::JournalReader>> reader = journal->NewReader(0);
  ASSERT_TRUE(reader.ok());
  std::string bytes;
  std::vector<storage::JournalReader::RecordInfo> records;
  absl::StatusOr<int> read = (*reader)->Read(119, 1000, 1 << 20, bytes, &records);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(*read, 120);
  for (int64_t s = 0; s < 120; ++s) {
    const auto& record = records[static_cast<std::size_t>(s)];
    EXPECT_EQ(record.sequence, s);
    ASSERT_EQ(record.size, 24u);
    int64_t written = -1;
    std::memcpy(&written, bytes.data() + record.offset, sizeof(written));
    EXPECT_EQ(written, s) << "TryPublish writes each event's own sequence";
  }
}

}  // namespace
}  // namespace ringcast::server
