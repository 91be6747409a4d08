// Publish and Subscribe round trips against a real server: acks, ordering, payload fidelity,
// start positions and the start-sequence metadata.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server_test_support.h"

namespace ringcast::testing {
namespace {

TEST(PublishSubscribeTest, AcksAssignConsecutiveSequencesFromZero) {
  TestServer server;
  PublishStream stream(server.events());
  const v1::PublishResponse first = stream.Send(MakeBatch("orders", 7, 3));
  ASSERT_TRUE(first.has_ack()) << first.error().message();
  EXPECT_EQ(first.batch_id(), 7u);
  EXPECT_EQ(first.ack().first_sequence(), 0u);
  EXPECT_EQ(first.ack().count(), 3u);
  const v1::PublishResponse second = stream.Send(MakeBatch("orders", 8, 2));
  ASSERT_TRUE(second.has_ack());
  EXPECT_EQ(second.ack().first_sequence(), 3u);
  EXPECT_EQ(second.ack().count(), 2u);
  EXPECT_TRUE(stream.Close().ok());
}

TEST(PublishSubscribeTest, SubscriberFromLatestSeesEventsPublishedAfterItStarted) {
  TestServer server;
  PublishOnce(server.events(), MakeBatch("t", 1, 5, "before"));
  SubscribeStream subscriber(server.events(), SubscribeFromLatest("t"));
  ASSERT_EQ(subscriber.WaitForStart(), 5);
  PublishOnce(server.events(), MakeBatch("t", 2, 3, "after"));
  std::vector<v1::Event> events;
  ASSERT_TRUE(subscriber.ReadEvents(3, events));
  ASSERT_EQ(events.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(events[i].sequence(), 5u + i);
    EXPECT_EQ(events[i].payload(), absl::StrCat("after", i));
    EXPECT_GT(events[i].publish_time_unix_nanos(), 0);
  }
}

TEST(PublishSubscribeTest, EventsKeepKeyPayloadAndHeaders) {
  TestServer server;
  SubscribeStream subscriber(server.events(), SubscribeFromLatest("t"));
  ASSERT_EQ(subscriber.WaitForStart(), 0);
  v1::PublishRequest request;
  request.set_topic("t");
  std::string binary(300, '\0');
  for (int i = 0; i < 300; ++i) binary[i] = static_cast<char>(i);
  *request.add_events() = MakeEvent(binary, "key-1", {{"content-type", "bin"}, {"empty", ""}});
  *request.add_events() = MakeEvent("", "", {});  // an entirely empty event is valid
  ASSERT_TRUE(PublishOnce(server.events(), request).has_ack());
  std::vector<v1::Event> events;
  ASSERT_TRUE(subscriber.ReadEvents(2, events));
  EXPECT_EQ(events[0].sequence(), 0u);
  EXPECT_EQ(events[0].key(), "key-1");
  EXPECT_EQ(events[0].payload(), binary);
  ASSERT_EQ(events[0].headers().size(), 2u);
  EXPECT_EQ(events[0].headers().at("content-type"), "bin");
  EXPECT_EQ(events[0].headers().at("empty"), "");
  EXPECT_EQ(events[1].sequence(), 1u);
  EXPECT_TRUE(events[1].payload().empty());
  EXPECT_TRUE(events[1].key().empty());
}

TEST(PublishSubscribeTest, EarliestReplaysTheRetainedWindowThenGoesLive) {
  server::ServerOptions options = TestOptions();
  options.default_ring_capacity = 16;
  TestServer server(options);
  PublishStream publisher(server.events());
  for (int b = 0; b < 5; ++b) ASSERT_TRUE(publisher.Send(MakeBatch("t", b, 8)).has_ack());
  // 40 published, 16 retained: 24..39.
  SubscribeStream subscriber(server.events(), SubscribeFromEarliest("t"));
  ASSERT_EQ(subscriber.WaitForStart(), 24);
  ASSERT_TRUE(publisher.Send(MakeBatch("t", 9, 4)).has_ack());
  std::vector<v1::Event> events;
  ASSERT_TRUE(subscriber.ReadEvents(20, events));
  for (std::size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].sequence(), 24 + i);
}

TEST(PublishSubscribeTest, FromSequenceStartsThereAndNamesItInMetadata) {
  TestServer server;
  PublishOnce(server.events(), MakeBatch("t", 1, 10));
  SubscribeStream subscriber(server.events(), SubscribeFrom("t", 6));
  ASSERT_EQ(subscriber.WaitForStart(), 6);
  std::vector<v1::Event> events;
  ASSERT_TRUE(subscriber.ReadEvents(4, events));
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(events[i].sequence(), 6u + i);
    EXPECT_EQ(events[i].payload(), absl::StrCat("e", 6 + i));
  }
}

TEST(PublishSubscribeTest, FromTheNextSequenceIsAccepted) {
  TestServer server;
  PublishOnce(server.events(), MakeBatch("t", 1, 3));
  SubscribeStream subscriber(server.events(), SubscribeFrom("t", 3));
  EXPECT_EQ(subscriber.WaitForStart(), 3);
}

TEST(PublishSubscribeTest, ResponsesRespectTheRequestedBatchSize) {
  TestServer server;
  PublishOnce(server.events(), MakeBatch("t", 1, 50));
  v1::SubscribeRequest request = SubscribeFromEarliest("t");
  request.set_max_batch_events(7);
  SubscribeStream subscriber(server.events(), request);
  ASSERT_EQ(subscriber.WaitForStart(), 0);
  std::size_t received = 0;
  v1::SubscribeResponse response;
  while (received < 50) {
    ASSERT_TRUE(subscriber.Read(&response));
    EXPECT_LE(response.events_size(), 7);
    EXPECT_GE(response.events_size(), 1);
    received += response.events_size();
  }
  EXPECT_EQ(received, 50u);
}

TEST(PublishSubscribeTest, OneStreamPublishesToSeveralTopics) {
  TestServer server;
  PublishStream stream(server.events());
  EXPECT_EQ(stream.Send(MakeBatch("a", 1, 2)).ack().first_sequence(), 0u);
  EXPECT_EQ(stream.Send(MakeBatch("b", 2, 3)).ack().first_sequence(), 0u);
  EXPECT_EQ(stream.Send(MakeBatch("a", 3, 1)).ack().first_sequence(), 2u);
  v1::Topic a;
  ASSERT_TRUE(server.GetTopic("a", &a).ok());
  EXPECT_EQ(a.next_sequence(), 3u);
  EXPECT_EQ(a.publish_streams(), 1u);
  EXPECT_TRUE(stream.Close().ok());
  EXPECT_TRUE(Eventually([&] {
    v1::Topic t;
    return server.GetTopic("a", &t).ok() && t.publish_streams() == 0;
  }));
}

}  // namespace
}  // namespace ringcast::testing
