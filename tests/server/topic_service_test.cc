// TopicService against a real server: creating topics (capacities, duplicates), their live
// figures, listing, and deleting topics that have subscribers and publishers attached.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server_test_support.h"

namespace ringcast::testing {
namespace {

using grpc::StatusCode;

// Every call here completes in milliseconds; the deadlines only bound a failing test.
constexpr absl::Duration kStreamDeadline = absl::Seconds(5);
constexpr absl::Duration kEventuallyTimeout = absl::Seconds(3);

std::vector<v1::Topic> ListTopics(TestServer& server) {
  grpc::ClientContext context;
  v1::ListTopicsResponse list;
  const grpc::Status status = server.topics().ListTopics(&context, {}, &list);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return {list.topics().begin(), list.topics().end()};
}

// GetTopic, failing the test if the topic is not there.
v1::Topic Describe(TestServer& server, const std::string& name) {
  v1::Topic topic;
  const grpc::Status status = server.GetTopic(name, &topic);
  EXPECT_TRUE(status.ok()) << name << ": " << status.error_message();
  return topic;
}

// Waits until GetTopic(name) satisfies `condition`.
bool TopicEventually(TestServer& server, const std::string& name,
                     const std::function<bool(const v1::Topic&)>& condition) {
  return Eventually(
      [&] {
        v1::Topic topic;
        return server.GetTopic(name, &topic).ok() && condition(topic);
      },
      kEventuallyTimeout);
}

v1::SubscribeRequest Lossy(v1::SubscribeRequest request) {
  request.set_mode(v1::DELIVERY_MODE_LOSSY);
  return request;
}

// --- CreateTopic ---

TEST(TopicServiceTest, CreateTopicWithoutCapacityGetsTheServerDefault) {
  server::ServerOptions options = TestOptions();
  options.default_ring_capacity = 256;
  TestServer server(options);
  v1::Topic topic;
  ASSERT_TRUE(TryCreateTopic(server, "t", 0, &topic).ok());
  EXPECT_EQ(topic.name(), "t");
  EXPECT_EQ(topic.capacity(), 256u);
  EXPECT_EQ(topic.next_sequence(), 0u);
  EXPECT_EQ(topic.oldest_sequence(), 0u);
  EXPECT_EQ(topic.subscribers(), 0u);
  EXPECT_EQ(topic.publish_streams(), 0u);
  EXPECT_EQ(topic.backpressure_ratio(), 0.0);
  EXPECT_EQ(Describe(server, "t").capacity(), 256u);
}

TEST(TopicServiceTest, CreateTopicWithAnExplicitCapacityKeepsIt) {
  TestServer server;
  for (const uint32_t capacity : {2u, 64u, 4096u}) {
    const std::string name = absl::StrCat("t", capacity);
    v1::Topic topic;
    ASSERT_TRUE(TryCreateTopic(server, name, capacity, &topic).ok());
    EXPECT_EQ(topic.name(), name);
    EXPECT_EQ(topic.capacity(), capacity);
    EXPECT_EQ(Describe(server, name).capacity(), capacity);
  }
}

TEST(TopicServiceTest, ACapacityOfOneRetainsExactlyTheLastEvent) {
  TestServer server;
  v1::Topic topic;
  ASSERT_TRUE(TryCreateTopic(server, "one", 1, &topic).ok());
  EXPECT_EQ(topic.capacity(), 1u);
  PublishStream stream(server.events(), kStreamDeadline);
  for (uint64_t i = 0; i < 3; ++i) {
    const v1::PublishResponse response = stream.Send(MakeBatch("one", i, 1, absl::StrCat("p", i)));
    ASSERT_TRUE(response.has_ack()) << response.error().message();
    EXPECT_EQ(response.ack().first_sequence(), i);
  }
  const v1::PublishResponse too_big = stream.Send(MakeBatch("one", 9, 2));
  ASSERT_TRUE(too_big.has_error());
  EXPECT_EQ(too_big.error().code(), static_cast<int>(StatusCode::INVALID_ARGUMENT));
  EXPECT_TRUE(stream.Close().ok());
  topic = Describe(server, "one");
  EXPECT_EQ(topic.next_sequence(), 3u);
  EXPECT_EQ(topic.oldest_sequence(), 2u);
  SubscribeStream subscriber(server.events(), SubscribeFromEarliest("one"), kStreamDeadline);
  ASSERT_EQ(subscriber.WaitForStart(), 2);
  std::vector<v1::Event> events;
  ASSERT_TRUE(subscriber.ReadEvents(1, events)) << subscriber.Finish().error_message();
  EXPECT_EQ(events[0].sequence(), 2u);
  EXPECT_EQ(events[0].payload(), "p20");
}

TEST(TopicServiceTest, CreateTopicRejectsACapacityThatIsNotAPowerOfTwo) {
  TestServer server;
  for (const uint32_t capacity : {3u, 100u, 1000u, 1025u, std::numeric_limits<uint32_t>::max()}) {
    SCOPED_TRACE(absl::StrCat("capacity ", capacity));
    const grpc::Status status = TryCreateTopic(server, "t", capacity);
    EXPECT_TRUE(HasCode(status, StatusCode::INVALID_ARGUMENT));
    EXPECT_TRUE(Mentions(status.error_message(), absl::StrCat(capacity)));
  }
  EXPECT_TRUE(ListTopics(server).empty());
}

TEST(TopicServiceTest, CreateTopicRejectsACapacityAboveMaxRingCapacity) {
  server::ServerOptions options = TestOptions();
  options.max_ring_capacity = 1024;
  options.default_ring_capacity = 256;
  TestServer server(options);
  for (const uint32_t capacity : {2048u, 1u << 20, 1u << 31}) {
    SCOPED_TRACE(absl::StrCat("capacity ", capacity));
    const grpc::Status status = TryCreateTopic(server, "t", capacity);
    EXPECT_TRUE(HasCode(status, StatusCode::INVALID_ARGUMENT));
    EXPECT_TRUE(Mentions(status.error_message(), "1024"));
  }
  EXPECT_TRUE(ListTopics(server).empty());
  v1::Topic topic;
  ASSERT_TRUE(TryCreateTopic(server, "t", 1024, &topic).ok());
  EXPECT_EQ(topic.capacity(), 1024u);
}

TEST(TopicServiceTest, CreateTopicRejectsInvalidNames) {
  TestServer server;
  for (const std::string& name : {std::string(), std::string(250, 'n'), std::string("a/b"),
                                  std::string("a b"), std::string("caf\xc3\xa9")}) {
    SCOPED_TRACE(absl::StrCat("name of ", name.size(), " bytes"));
    EXPECT_TRUE(HasCode(TryCreateTopic(server, name, 8), StatusCode::INVALID_ARGUMENT));
  }
  EXPECT_TRUE(ListTopics(server).empty());
  EXPECT_TRUE(TryCreateTopic(server, std::string(249, 'n'), 8).ok());
}

TEST(TopicServiceTest, CreatingAnExistingTopicIsAlreadyExistsAndChangesNothing) {
  TestServer server;
  ASSERT_TRUE(TryCreateTopic(server, "existing", 8).ok());
  ASSERT_TRUE(PublishOnce(server.events(), MakeBatch("existing", 1, 3)).has_ack());
  for (const uint32_t capacity : {0u, 8u, 16u}) {
    SCOPED_TRACE(absl::StrCat("capacity ", capacity));
    const grpc::Status status = TryCreateTopic(server, "existing", capacity);
    EXPECT_TRUE(HasCode(status, StatusCode::ALREADY_EXISTS));
    EXPECT_TRUE(Mentions(status.error_message(), "existing"));
  }
  const v1::Topic topic = Describe(server, "existing");
  EXPECT_EQ(topic.capacity(), 8u);
  EXPECT_EQ(topic.next_sequence(), 3u);
  // A topic created by publishing exists just the same.
  ASSERT_TRUE(PublishOnce(server.events(), MakeBatch("auto", 1, 1)).has_ack());
  EXPECT_TRUE(HasCode(TryCreateTopic(server, "auto", 0), StatusCode::ALREADY_EXISTS));
}

// --- GetTopic ---

TEST(TopicServiceTest, GetTopicOfAnUnknownTopicIsNotFound) {
  TestServer server;
  v1::Topic topic;
  const grpc::Status status = server.GetTopic("missing", &topic);
  EXPECT_TRUE(HasCode(status, StatusCode::NOT_FOUND));
  EXPECT_TRUE(Mentions(status.error_message(), "missing"));
  EXPECT_TRUE(HasCode(server.GetTopic("a/b", &topic), StatusCode::INVALID_ARGUMENT));
  EXPECT_TRUE(HasCode(server.GetTopic("", &topic), StatusCode::INVALID_ARGUMENT));
  // Asking does not create it.
  EXPECT_TRUE(ListTopics(server).empty());
}

TEST(TopicServiceTest, GetTopicReportsSequencesBeforeAndAfterTheRingWraps) {
  TestServer server;
  server.CreateTopic("t", 8);
  v1::Topic topic = Describe(server, "t");
  EXPECT_EQ(topic.next_sequence(), 0u);
  EXPECT_EQ(topic.oldest_sequence(), 0u);
  PublishStream stream(server.events(), kStreamDeadline);
  ASSERT_TRUE(stream.Send(MakeBatch("t", 1, 5)).has_ack());
  topic = Describe(server, "t");
  EXPECT_EQ(topic.name(), "t");
  EXPECT_EQ(topic.capacity(), 8u);
  EXPECT_EQ(topic.next_sequence(), 5u);
  EXPECT_EQ(topic.oldest_sequence(), 0u);
  ASSERT_TRUE(stream.Send(MakeBatch("t", 2, 3)).has_ack());
  topic = Describe(server, "t");
  EXPECT_EQ(topic.next_sequence(), 8u);
  EXPECT_EQ(topic.oldest_sequence(), 0u);
  for (int b = 0; b < 4; ++b) ASSERT_TRUE(stream.Send(MakeBatch("t", 3 + b, 3)).has_ack());
  topic = Describe(server, "t");
  EXPECT_EQ(topic.next_sequence(), 20u);
  EXPECT_EQ(topic.oldest_sequence(), 12u);
  EXPECT_TRUE(stream.Close().ok());
  // EARLIEST agrees with oldest_sequence.
  SubscribeStream subscriber(server.events(), SubscribeFromEarliest("t"), kStreamDeadline);
  EXPECT_EQ(subscriber.WaitForStart(), 12);
}

TEST(TopicServiceTest, GetTopicCountsSubscribersAsTheyComeAndGo) {
  TestServer server;
  server.CreateTopic("t");
  EXPECT_EQ(Describe(server, "t").subscribers(), 0u);
  auto first =
      std::make_unique<SubscribeStream>(server.events(), SubscribeFromLatest("t"), kStreamDeadline);
  ASSERT_EQ(first->WaitForStart(), 0);
  EXPECT_EQ(Describe(server, "t").subscribers(), 1u);
  auto second = std::make_unique<SubscribeStream>(server.events(), Lossy(SubscribeFromLatest("t")),
                                                  kStreamDeadline);
  ASSERT_EQ(second->WaitForStart(), 0);
  EXPECT_EQ(Describe(server, "t").subscribers(), 2u);
  // A subscriber of another topic does not count.
  SubscribeStream elsewhere(server.events(), SubscribeFromLatest("other"), kStreamDeadline);
  ASSERT_EQ(elsewhere.WaitForStart(), 0);
  EXPECT_EQ(Describe(server, "t").subscribers(), 2u);
  first.reset();
  ASSERT_TRUE(
      TopicEventually(server, "t", [](const v1::Topic& t) { return t.subscribers() == 1; }));
  second.reset();
  EXPECT_TRUE(
      TopicEventually(server, "t", [](const v1::Topic& t) { return t.subscribers() == 0; }));
  EXPECT_EQ(Describe(server, "other").subscribers(), 1u);
}

TEST(TopicServiceTest, GetTopicCountsOpenPublishStreamsThatPublishedToTheTopic) {
  TestServer server;
  server.CreateTopic("t");
  auto first = std::make_unique<PublishStream>(server.events(), kStreamDeadline);
  auto second = std::make_unique<PublishStream>(server.events(), kStreamDeadline);
  // Open streams that have not published to the topic do not count.
  ASSERT_TRUE(first->Send(MakeBatch("other", 1, 1)).has_ack());
  EXPECT_EQ(Describe(server, "t").publish_streams(), 0u);
  ASSERT_TRUE(first->Send(MakeBatch("t", 2, 1)).has_ack());
  EXPECT_EQ(Describe(server, "t").publish_streams(), 1u);
  ASSERT_TRUE(first->Send(MakeBatch("t", 3, 1)).has_ack());
  EXPECT_EQ(Describe(server, "t").publish_streams(), 1u);
  ASSERT_TRUE(second->Send(MakeBatch("t", 4, 1)).has_ack());
  EXPECT_EQ(Describe(server, "t").publish_streams(), 2u);
  EXPECT_TRUE(first->Close().ok());
  ASSERT_TRUE(
      TopicEventually(server, "t", [](const v1::Topic& t) { return t.publish_streams() == 1; }));
  second.reset();  // cancelled rather than closed
  EXPECT_TRUE(
      TopicEventually(server, "t", [](const v1::Topic& t) { return t.publish_streams() == 0; }));
  EXPECT_TRUE(TopicEventually(server, "other",
                              [](const v1::Topic& t) { return t.publish_streams() == 0; }));
}

TEST(TopicServiceTest, BackpressureRatioIsZeroWhenIdle) {
  TestServer server;
  server.CreateTopic("t", 8);
  EXPECT_EQ(Describe(server, "t").backpressure_ratio(), 0.0);
  // Without subscribers.
  PublishStream stream(server.events(), kStreamDeadline);
  for (int b = 0; b < 5; ++b) ASSERT_TRUE(stream.Send(MakeBatch("t", b, 4)).has_ack());
  ASSERT_TRUE(
      TopicEventually(server, "t", [](const v1::Topic& t) { return t.backpressure_ratio() == 0; }));
  // With a RELIABLE subscriber that has read everything.
  SubscribeStream subscriber(server.events(), SubscribeFrom("t", 20), kStreamDeadline);
  ASSERT_EQ(subscriber.WaitForStart(), 20);
  for (int b = 0; b < 5; ++b) {
    ASSERT_TRUE(stream.Send(MakeBatch("t", 10 + b, 4)).has_ack());
    const double ratio = Describe(server, "t").backpressure_ratio();
    EXPECT_GE(ratio, 0.0);
    EXPECT_LE(ratio, 1.0);
  }
  std::vector<v1::Event> events;
  ASSERT_TRUE(subscriber.ReadEvents(20, events));
  EXPECT_EQ(events.back().sequence(), 39u);
  EXPECT_TRUE(
      TopicEventually(server, "t", [](const v1::Topic& t) { return t.backpressure_ratio() == 0; }));
  EXPECT_TRUE(stream.Close().ok());
}

// --- ListTopics ---

TEST(TopicServiceTest, ListTopicsIsSortedByName) {
  TestServer server;
  EXPECT_TRUE(ListTopics(server).empty());
  const std::vector<std::pair<std::string, uint32_t>> created = {
      {"zeta", 8}, {"alpha", 16}, {"Mid", 32}, {"beta-2", 64}, {"_x", 128}, {"beta", 2}, {"9", 4}};
  for (const auto& [name, capacity] : created) server.CreateTopic(name, capacity);
  ASSERT_TRUE(PublishOnce(server.events(), MakeBatch("alpha", 1, 3)).has_ack());
  const std::vector<v1::Topic> topics = ListTopics(server);
  std::vector<std::string> names;
  for (const v1::Topic& topic : topics) names.push_back(topic.name());
  EXPECT_EQ(names, (std::vector<std::string>{"9", "Mid", "_x", "alpha", "beta", "beta-2", "zeta"}));
  ASSERT_EQ(topics.size(), created.size());
  for (const auto& [name, capacity] : created) {
    for (const v1::Topic& topic : topics) {
      if (topic.name() == name) {
        EXPECT_EQ(topic.capacity(), capacity) << name;
      }
    }
  }
  EXPECT_EQ(topics[3].next_sequence(), 3u);  // alpha, with its live figures
}

// --- DeleteTopic ---

TEST(TopicServiceTest, DeletingAnUnknownTopicIsNotFound) {
  TestServer server;
  const grpc::Status status = DeleteTopicStatus(server, "missing");
  EXPECT_TRUE(HasCode(status, StatusCode::NOT_FOUND));
  EXPECT_TRUE(Mentions(status.error_message(), "missing"));
  EXPECT_TRUE(HasCode(DeleteTopicStatus(server, "a/b"), StatusCode::INVALID_ARGUMENT));
  server.CreateTopic("t");
  ASSERT_TRUE(DeleteTopicStatus(server, "t").ok());
  EXPECT_TRUE(HasCode(DeleteTopicStatus(server, "t"), StatusCode::NOT_FOUND));
}

TEST(TopicServiceTest, DeletedTopicIsGoneFromGetAndList) {
  TestServer server;
  server.CreateTopic("a");
  server.CreateTopic("b");
  server.CreateTopic("c");
  ASSERT_TRUE(DeleteTopicStatus(server, "b").ok());
  v1::Topic topic;
  EXPECT_TRUE(HasCode(server.GetTopic("b", &topic), StatusCode::NOT_FOUND));
  std::vector<std::string> names;
  for (const v1::Topic& t : ListTopics(server)) names.push_back(t.name());
  EXPECT_EQ(names, (std::vector<std::string>{"a", "c"}));
}

TEST(TopicServiceTest, DeletingATopicEndsItsSubscribersWithNotFound) {
  TestServer server;
  server.CreateTopic("doomed", 16);
  server.CreateTopic("other");
  SubscribeStream reliable(server.events(), SubscribeFromEarliest("doomed"), kStreamDeadline);
  SubscribeStream lossy(server.events(), Lossy(SubscribeFromEarliest("doomed")), kStreamDeadline);
  SubscribeStream idle(server.events(), SubscribeFromLatest("doomed"), kStreamDeadline);
  SubscribeStream bystander(server.events(), SubscribeFromLatest("other"), kStreamDeadline);
  ASSERT_EQ(reliable.WaitForStart(), 0);
  ASSERT_EQ(lossy.WaitForStart(), 0);
  ASSERT_EQ(idle.WaitForStart(), 0);
  ASSERT_EQ(bystander.WaitForStart(), 0);
  ASSERT_TRUE(PublishOnce(server.events(), MakeBatch("doomed", 1, 4)).has_ack());
  std::vector<v1::Event> events;
  ASSERT_TRUE(reliable.ReadEvents(4, events));
  ASSERT_TRUE(DeleteTopicStatus(server, "doomed").ok());
  for (SubscribeStream* subscriber : {&reliable, &lossy, &idle}) {
    const grpc::Status status = subscriber->Finish();
    EXPECT_TRUE(HasCode(status, StatusCode::NOT_FOUND));
    EXPECT_TRUE(Mentions(status.error_message(), "doomed"));
  }
  // Other topics' subscribers go on.
  ASSERT_TRUE(PublishOnce(server.events(), MakeBatch("other", 2, 1)).has_ack());
  events.clear();
  ASSERT_TRUE(bystander.ReadEvents(1, events));
  EXPECT_EQ(events[0].sequence(), 0u);
}

TEST(TopicServiceTest, PublisherAfterDeletionRecreatesTheTopicWhenAutoCreationIsOn) {
  TestServer server;
  server.CreateTopic("t", 8);
  PublishStream stream(server.events(), kStreamDeadline);
  ASSERT_EQ(stream.Send(MakeBatch("t", 1, 5)).ack().first_sequence(), 0u);
  ASSERT_TRUE(DeleteTopicStatus(server, "t").ok());
  const v1::PublishResponse response = stream.Send(MakeBatch("t", 2, 2));
  ASSERT_TRUE(response.has_ack()) << response.error().message();
  EXPECT_EQ(response.batch_id(), 2u);
  EXPECT_EQ(response.ack().first_sequence(), 0u);
  const v1::Topic topic = Describe(server, "t");
  EXPECT_EQ(topic.capacity(), 1024u);  // the default: a new topic, not the deleted one
  EXPECT_EQ(topic.next_sequence(), 2u);
  EXPECT_EQ(topic.publish_streams(), 1u);
  // It is the topic subscribers now see.
  SubscribeStream subscriber(server.events(), SubscribeFromEarliest("t"), kStreamDeadline);
  ASSERT_EQ(subscriber.WaitForStart(), 0);
  std::vector<v1::Event> events;
  ASSERT_TRUE(subscriber.ReadEvents(2, events));
  EXPECT_EQ(events[0].payload(), "e0");
  EXPECT_EQ(events[1].payload(), "e1");
  ASSERT_EQ(stream.Send(MakeBatch("t", 3, 1)).ack().first_sequence(), 2u);
  EXPECT_TRUE(stream.Close().ok());
}

TEST(TopicServiceTest, PublisherAfterDeletionGetsNotFoundWhenAutoCreationIsOff) {
  server::ServerOptions options = TestOptions();
  options.auto_create_topics = false;
  TestServer server(options);
  server.CreateTopic("orders", 8);
  server.CreateTopic("u");
  PublishStream stream(server.events(), kStreamDeadline);
  ASSERT_EQ(stream.Send(MakeBatch("orders", 1, 5)).ack().first_sequence(), 0u);
  ASSERT_TRUE(DeleteTopicStatus(server, "orders").ok());
  for (uint64_t batch_id : {2u, 3u}) {
    const v1::PublishResponse response = stream.Send(MakeBatch("orders", batch_id, 1));
    EXPECT_EQ(response.batch_id(), batch_id);
    ASSERT_TRUE(response.has_error()) << "acked at " << response.ack().first_sequence();
    EXPECT_EQ(response.error().code(), static_cast<int>(StatusCode::NOT_FOUND));
    EXPECT_TRUE(Mentions(response.error().message(), "orders"));
  }
  v1::Topic topic;
  EXPECT_TRUE(HasCode(server.GetTopic("orders", &topic), StatusCode::NOT_FOUND));
  // The stream stays usable, for other topics and for the topic once it is created again.
  ASSERT_EQ(stream.Send(MakeBatch("u", 4, 1)).ack().first_sequence(), 0u);
  server.CreateTopic("orders", 16);
  const v1::PublishResponse response = stream.Send(MakeBatch("orders", 5, 1));
  ASSERT_TRUE(response.has_ack()) << response.error().message();
  EXPECT_EQ(response.ack().first_sequence(), 0u);
  EXPECT_EQ(Describe(server, "orders").publish_streams(), 1u);
  EXPECT_TRUE(stream.Close().ok());
}

TEST(TopicServiceTest, DeletedTopicCanBeRecreatedWithADifferentCapacityFromSequenceZero) {
  TestServer server;
  server.CreateTopic("t", 8);
  PublishStream stream(server.events(), kStreamDeadline);
  for (int b = 0; b < 5; ++b) ASSERT_TRUE(stream.Send(MakeBatch("t", b, 4, "old")).has_ack());
  ASSERT_TRUE(DeleteTopicStatus(server, "t").ok());
  v1::Topic topic;
  ASSERT_TRUE(TryCreateTopic(server, "t", 16, &topic).ok());
  EXPECT_EQ(topic.capacity(), 16u);
  EXPECT_EQ(topic.next_sequence(), 0u);
  EXPECT_EQ(topic.oldest_sequence(), 0u);
  EXPECT_EQ(topic.subscribers(), 0u);
  EXPECT_EQ(topic.publish_streams(), 0u);
  const v1::PublishResponse response = stream.Send(MakeBatch("t", 9, 12, "new"));
  ASSERT_TRUE(response.has_ack()) << response.error().message();
  EXPECT_EQ(response.ack().first_sequence(), 0u);
  EXPECT_TRUE(stream.Close().ok());
  // Only the new topic's events are there: none of the old ring's contents.
  SubscribeStream subscriber(server.events(), SubscribeFromEarliest("t"), kStreamDeadline);
  ASSERT_EQ(subscriber.WaitForStart(), 0);
  std::vector<v1::Event> events;
  ASSERT_TRUE(subscriber.ReadEvents(12, events));
  for (uint64_t i = 0; i < 12; ++i) {
    EXPECT_EQ(events[i].sequence(), i);
    EXPECT_EQ(events[i].payload(), absl::StrCat("new", i));
  }
  topic = Describe(server, "t");
  EXPECT_EQ(topic.next_sequence(), 12u);
  EXPECT_EQ(topic.oldest_sequence(), 0u);
}

TEST(TopicServiceTest, DeletingATopicAnswersABatchWaitingOnItsFullRingWithNotFound) {
  server::ServerOptions options = TestOptions();
  options.auto_create_topics = false;  // so that no batch can re-create the topic
  options.subscriber_queue_bytes = 64 << 10;
  options.publish_timeout = absl::Seconds(4);  // a batch the deletion does not end times out
  options.slow_subscriber_timeout = absl::Seconds(30);  // the stall is not cut off meanwhile
  TestServer server(options);
  server.CreateTopic("full", 64);
  // A RELIABLE subscriber that never reads (its own connection): the ring fills up behind it.
  OwnConnectionSubscriber stalled_subscriber(server, SubscribeFromLatest("full"), kStreamDeadline);
  SubscribeStream& stalled = stalled_subscriber.stream();
  ASSERT_EQ(stalled.WaitForStart(), 0);

  std::atomic<int> acked{0};
  v1::PublishResponse refused;
  bool broken = false;
  grpc::Status close_status;
  std::thread publisher([&] {
    PublishStream stream(server.events(), kStreamDeadline);
    for (uint64_t batch_id = 1; batch_id <= 20000; ++batch_id) {
      v1::PublishRequest request;
      request.set_topic("full");
      request.set_batch_id(batch_id);
      // One event per batch: the publisher waits only when the ring is entirely full.
      *request.add_events() = MakeEvent(std::string(64 << 10, 'x'));
      v1::PublishResponse response;
      if (!stream.Write(request) || !stream.Read(&response)) {
        broken = true;
        break;
      }
      if (!response.has_ack()) {
        refused = response;
        break;
      }
      acked.fetch_add(1);
    }
    close_status = stream.Close();
  });
  // Once the ring is full, the publisher's batch waits for room that never comes.
  const bool full = TopicEventually(
      server, "full", [](const v1::Topic& t) { return t.backpressure_ratio() >= 1.0; });
  const grpc::Status deleted = DeleteTopicStatus(server, "full");
  publisher.join();
  ASSERT_TRUE(full) << "the ring did not fill up";
  ASSERT_TRUE(deleted.ok()) << deleted.error_message();
  EXPECT_FALSE(broken) << "the publish stream broke";
  EXPECT_TRUE(close_status.ok()) << close_status.error_message();
  EXPECT_GT(acked.load(), 0);
  ASSERT_TRUE(refused.has_error()) << "no batch was refused";
  EXPECT_EQ(refused.batch_id(), static_cast<uint64_t>(acked.load()) + 1);
  EXPECT_EQ(refused.error().code(), static_cast<int>(StatusCode::NOT_FOUND))
      << refused.error().message();
  // The stalled subscriber finds NOT_FOUND behind whatever was buffered for it.
  EXPECT_TRUE(HasCode(stalled.Finish(), StatusCode::NOT_FOUND));
}

// Deletes a topic while two publishers and two subscribers are busy with it.
TEST(TopicServiceTest, DeletingATopicUnderLoadEndsEverySubscriberAndAnswersEveryBatch) {
  server::ServerOptions options = TestOptions();
  options.auto_create_topics = false;  // so that after the deletion every batch is NOT_FOUND
  TestServer server(options);
  server.CreateTopic("t", 16);

  struct SubscriberResult {
    std::vector<uint64_t> sequences;
    std::vector<uint64_t> skipped;
    grpc::Status status;
  };
  const std::vector<v1::SubscribeRequest> requests = {SubscribeFromEarliest("t"),
                                                      Lossy(SubscribeFromEarliest("t"))};
  std::vector<SubscriberResult> subscribed(requests.size());
  std::vector<std::unique_ptr<v1::EventService::Stub>> subscriber_stubs;
  std::vector<std::unique_ptr<SubscribeStream>> subscribers;
  std::array<std::atomic<uint64_t>, 2> events_received{};
  for (const v1::SubscribeRequest& request : requests) {
    subscriber_stubs.push_back(v1::EventService::NewStub(server.NewChannel()));
    subscribers.push_back(
        std::make_unique<SubscribeStream>(*subscriber_stubs.back(), request, kStreamDeadline));
    ASSERT_EQ(subscribers.back()->WaitForStart(), 0);
  }
  std::vector<std::thread> subscriber_threads;
  for (std::size_t i = 0; i < subscribers.size(); ++i) {
    subscriber_threads.emplace_back([&, i] {
      v1::SubscribeResponse response;
      while (subscribers[i]->Read(&response)) {
        subscribed[i].skipped.push_back(response.skipped());
        for (const v1::Event& event : response.events()) {
          subscribed[i].sequences.push_back(event.sequence());
        }
        events_received[i].fetch_add(response.events_size());
      }
      subscribed[i].status = subscribers[i]->Finish();
    });
  }

  struct PublisherResult {
    std::vector<std::pair<uint64_t, uint32_t>> acks;  // first_sequence, count
    std::vector<int> error_codes;
    bool broken = false;  // a write or read failed before the publisher closed
    bool mismatched_batch_id = false;
    grpc::Status close_status;
  };
  constexpr int kPublishers = 2;
  std::vector<PublisherResult> published(kPublishers);
  std::array<std::atomic<int>, kPublishers> acks{};
  std::vector<std::thread> publisher_threads;
  for (int p = 0; p < kPublishers; ++p) {
    publisher_threads.emplace_back([&, p] {
      auto stub = v1::EventService::NewStub(server.NewChannel());
      PublishStream stream(*stub, kStreamDeadline);
      PublisherResult& result = published[p];
      const absl::Time give_up = absl::Now() + absl::Seconds(3);
      for (uint64_t batch_id = 1; absl::Now() < give_up; ++batch_id) {
        v1::PublishResponse response;
        if (!stream.Write(MakeBatch("t", batch_id, 1 + static_cast<int>(batch_id % 4))) ||
            !stream.Read(&response)) {
          result.broken = true;
          break;
        }
        if (response.batch_id() != batch_id) result.mismatched_batch_id = true;
        if (response.has_ack()) {
          result.acks.emplace_back(response.ack().first_sequence(), response.ack().count());
          acks[p].fetch_add(1);
        } else {
          result.error_codes.push_back(response.error().code());
          if (response.error().code() == static_cast<int>(StatusCode::NOT_FOUND)) break;
        }
      }
      result.close_status = stream.Close();
    });
  }

  // Delete once both publishers and both subscribers are under way.
  const bool busy = Eventually(
      [&] {
        return acks[0].load() >= 30 && acks[1].load() >= 30 && events_received[0].load() >= 50 &&
               events_received[1].load() >= 50;
      },
      kEventuallyTimeout);
  const grpc::Status deleted = DeleteTopicStatus(server, "t");
  for (std::thread& thread : publisher_threads) thread.join();
  for (std::thread& thread : subscriber_threads) thread.join();
  ASSERT_TRUE(busy) << "publishers and subscribers did not get going";
  ASSERT_TRUE(deleted.ok()) << deleted.error_message();

  uint64_t acked_events = 0;
  std::vector<std::pair<uint64_t, uint32_t>> all_acks;
  for (int p = 0; p < kPublishers; ++p) {
    SCOPED_TRACE(absl::StrCat("publisher ", p));
    const PublisherResult& result = published[p];
    EXPECT_FALSE(result.broken) << "the publish stream broke before the publisher closed it";
    EXPECT_FALSE(result.mismatched_batch_id);
    EXPECT_TRUE(result.close_status.ok()) << result.close_status.error_message();
    EXPECT_FALSE(result.acks.empty());
    // Every error is NOT_FOUND, and the publisher saw one (so it stopped because of it).
    ASSERT_FALSE(result.error_codes.empty()) << "no batch was refused after the deletion";
    for (const int code : result.error_codes) {
      EXPECT_EQ(code, static_cast<int>(StatusCode::NOT_FOUND));
    }
    for (const auto& ack : result.acks) acked_events += ack.second;
    all_acks.insert(all_acks.end(), result.acks.begin(), result.acks.end());
  }
  // The two publishers' acks tile 0 .. acked_events - 1 without overlap.
  std::sort(all_acks.begin(), all_acks.end());
  uint64_t next = 0;
  for (const auto& [first, count] : all_acks) {
    ASSERT_EQ(first, next) << "acked ranges overlap or leave a gap";
    next += count;
  }
  EXPECT_EQ(next, acked_events);

  for (std::size_t i = 0; i < subscribed.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("subscriber ", i));
    const SubscriberResult& result = subscribed[i];
    EXPECT_TRUE(HasCode(result.status, StatusCode::NOT_FOUND));
    EXPECT_FALSE(result.sequences.empty());
    for (std::size_t j = 0; j < result.sequences.size(); ++j) {
      EXPECT_LT(result.sequences[j], acked_events) << "an event that was never acked";
      if (j == 0) continue;
      if (i == 0) {
        // RELIABLE: every sequence, in order, from 0.
        ASSERT_EQ(result.sequences[j], result.sequences[j - 1] + 1) << "at index " << j;
      } else {
        ASSERT_GT(result.sequences[j], result.sequences[j - 1]) << "at index " << j;
      }
    }
    if (i == 0) {
      EXPECT_EQ(result.sequences.front(), 0u);
      for (const uint64_t skipped : result.skipped) EXPECT_EQ(skipped, 0u);
    }
  }
  v1::Topic topic;
  EXPECT_TRUE(HasCode(server.GetTopic("t", &topic), StatusCode::NOT_FOUND));
}

}  // namespace
}  // namespace ringcast::testing
