// Subscriber against a real server: start positions, pull and push, transparent resumption after
// a cut connection without gaps or duplicates, the gap error when missed events are gone, LOSSY
// resumption with `skipped`, DATA_LOSS after a restart that lost the topic, the server's errors.
#include "ringcast/client/subscriber.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client_test_support.h"
#include "gtest/gtest.h"
#include "tcp_proxy.h"

namespace ringcast::testing {
namespace {

using client::Delivery;
using client::Subscriber;
using client::SubscriberOptions;

std::unique_ptr<Subscriber> MustStart(std::shared_ptr<grpc::Channel> channel,
                                      SubscriberOptions options) {
  absl::StatusOr<std::unique_ptr<Subscriber>> subscriber =
      Subscriber::Start(std::move(channel), std::move(options));
  EXPECT_TRUE(subscriber.ok()) << subscriber.status();
  return subscriber.ok() ? *std::move(subscriber) : nullptr;
}

// Publishes events first..first+count-1 with payloads "<sequence>", in batches of `batch`.
void Publish(TestServer& server, const std::string& topic, int count, int first = 0,
             int batch = 100) {
  PublishStream stream(server.events());
  for (int i = first; i < first + count; i += batch) {
    v1::PublishRequest request;
    request.set_topic(topic);
    for (int j = i; j < std::min(first + count, i + batch); ++j) {
      *request.add_events() = MakeEvent(absl::StrCat(j));
    }
    ASSERT_TRUE(stream.Send(request).has_ack());
  }
  EXPECT_TRUE(stream.Close().ok());
}

// Takes deliveries until `count` events arrived; fails on an error or a 20 s silence.
std::vector<v1::Event> Take(Subscriber& subscriber, std::size_t count,
                            uint64_t* skipped = nullptr) {
  std::vector<v1::Event> events;
  while (events.size() < count) {
    absl::StatusOr<Delivery> d = subscriber.Next(absl::Seconds(20));
    if (!d.ok()) {
      ADD_FAILURE() << d.status() << " after " << events.size() << " events";
      break;
    }
    if (skipped != nullptr) *skipped += d->skipped;
    for (v1::Event& e : d->events) events.push_back(std::move(e));
  }
  return events;
}

void ExpectConsecutive(const std::vector<v1::Event>& events, uint64_t first) {
  for (std::size_t i = 0; i < events.size(); ++i) {
    ASSERT_EQ(events[i].sequence(), first + i) << "at " << i;
    ASSERT_EQ(events[i].payload(), absl::StrCat(first + i));
  }
}

TEST(SubscriberTest, StartsWhereAskedAndReportsTheStartSequence) {
  TestServer server;
  server.CreateTopic("start", 1024);
  Publish(server, "start", 300);
  auto latest = MustStart(ClientChannel(server.port()), {.topic = "start"});
  auto earliest = MustStart(ClientChannel(server.port()),
                            {.topic = "start", .start = SubscriberOptions::Start::kEarliest});
  auto from = MustStart(
      ClientChannel(server.port()),
      {.topic = "start", .start = SubscriberOptions::Start::kSequence, .from_sequence = 250});
  EXPECT_EQ(latest->start_sequence(), 300u);
  EXPECT_EQ(earliest->start_sequence(), 0u);
  EXPECT_EQ(from->start_sequence(), 250u);
  Publish(server, "start", 10, 300);
  ExpectConsecutive(Take(*latest, 10), 300);
  ExpectConsecutive(Take(*earliest, 310), 0);
  ExpectConsecutive(Take(*from, 60), 250);
  EXPECT_EQ(latest->next_sequence(), 310u);
}

TEST(SubscriberTest, RunCallsBackUntilTheCallbackSaysStop) {
  TestServer server;
  auto subscriber = MustStart(ClientChannel(server.port()), {.topic = "run"});
  Publish(server, "run", 500);
  std::vector<uint64_t> seen;
  const absl::Status done = subscriber->Run([&](const Delivery& d) {
    for (const v1::Event& e : d.events) seen.push_back(e.sequence());
    return seen.size() < 500;
  });
  EXPECT_TRUE(done.ok()) << done;
  ASSERT_EQ(seen.size(), 500u);
  for (uint64_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], i);
}

TEST(SubscriberTest, ResumesAfterACutConnectionWithoutGapsOrDuplicates) {
  TestServer server;
  server.CreateTopic("resume", 8192);
  TcpProxy proxy(server.port());
  auto subscriber = MustStart(ClientChannel(proxy.port()), {.topic = "resume"});
  Publish(server, "resume", 1000);
  ExpectConsecutive(Take(*subscriber, 1000), 0);
  proxy.CutAll();
  Publish(server, "resume", 1000, 1000);  // published while the subscriber is cut off
  ExpectConsecutive(Take(*subscriber, 1000), 1000);
  EXPECT_GE(subscriber->reconnects(), 1u);
  EXPECT_GE(proxy.connections(), 2);
  // Nothing more arrives: no duplicates were queued behind.
  EXPECT_EQ(subscriber->Next(absl::Milliseconds(200)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
}

// Cuts the subscriber off, publishes more than the ring retains, and lets it reconnect.
void MissRetainedEvents(TestServer& server, TcpProxy& proxy, const std::string& topic) {
  proxy.SetRefusing(true);
  proxy.CutAll();
  // The server lets go of the cut-off subscription (a RELIABLE one holds the ring until then).
  EXPECT_TRUE(Eventually([&] {
    v1::Topic t;
    return server.GetTopic(topic, &t).ok() && t.subscribers() == 0;
  }));
  Publish(server, topic, 200, 10, /*batch=*/10);  // the ring holds 64
  proxy.SetRefusing(false);
}

TEST(SubscriberTest, ReliableEndsWithAGapErrorWhenMissedEventsAreNoLongerRetained) {
  TestServer server;
  server.CreateTopic("gap", 64);
  TcpProxy proxy(server.port());
  auto subscriber = MustStart(ClientChannel(proxy.port()), {.topic = "gap"});
  Publish(server, "gap", 10);
  ExpectConsecutive(Take(*subscriber, 10), 0);
  MissRetainedEvents(server, proxy, "gap");
  absl::StatusOr<Delivery> next = subscriber->Next(absl::Seconds(20));
  EXPECT_EQ(next.status().code(), absl::StatusCode::kOutOfRange) << next.status();
  EXPECT_TRUE(absl::StrContains(next.status().message(), "gap: events from sequence 10"))
      << next.status();
  // The end is final.
  EXPECT_EQ(subscriber->Next(absl::Seconds(1)).status().code(), absl::StatusCode::kOutOfRange);
}

TEST(SubscriberTest, LossyResumesAtTheOldestRetainedEventAndCountsWhatItSkipped) {
  TestServer server;
  server.CreateTopic("lossy", 64);
  TcpProxy proxy(server.port());
  auto subscriber = MustStart(ClientChannel(proxy.port()), {.topic = "lossy", .lossy = true});
  Publish(server, "lossy", 10);
  ExpectConsecutive(Take(*subscriber, 10), 0);
  MissRetainedEvents(server, proxy, "lossy");
  // 210 published, 64 retained: resumes at 146, having skipped 10..145.
  uint64_t skipped = 0;
  const std::vector<v1::Event> rest = Take(*subscriber, 64, &skipped);
  EXPECT_EQ(skipped, 136u);
  ExpectConsecutive(rest, 146);
}

TEST(SubscriberTest, ARestartThatLostTheTopicsHistoryEndsWithDataLoss) {
  auto first = std::make_unique<TestServer>();
  const int port = first->port();
  auto subscriber = MustStart(ClientChannel(port), {.topic = "history"});
  Publish(*first, "history", 100);
  ExpectConsecutive(Take(*subscriber, 100), 0);
  first.reset();  // the subscriber is told UNAVAILABLE ("resume from 100") and reconnects
  TestServer second(OptionsOnPort(port));
  absl::StatusOr<Delivery> next = subscriber->Next(absl::Seconds(30));
  EXPECT_EQ(next.status().code(), absl::StatusCode::kDataLoss) << next.status();
  EXPECT_GE(subscriber->reconnects(), 1u);
}

TEST(SubscriberTest, ARestartThatLostNothingItNeededResumesTransparently) {
  auto first = std::make_unique<TestServer>();
  const int port = first->port();
  auto subscriber = MustStart(ClientChannel(port), {.topic = "fresh"});
  first.reset();  // nothing was published: the new server's sequence 0 is where it resumes
  TestServer second(OptionsOnPort(port));
  ASSERT_TRUE(Eventually([&] {
    v1::Topic t;
    return second.GetTopic("fresh", &t).ok() && t.subscribers() == 1;
  }));
  Publish(second, "fresh", 300);
  ExpectConsecutive(Take(*subscriber, 300), 0);
  EXPECT_GE(subscriber->reconnects(), 1u);
}

TEST(SubscriberTest, TheServersErrorsEndTheSubscriptionWithTheirCode) {
  server::ServerOptions options = TestOptions();
  options.auto_create_topics = false;
  TestServer server(options);
  const absl::StatusOr<std::unique_ptr<Subscriber>> missing =
      Subscriber::Start(ClientChannel(server.port()), {.topic = "nosuch"});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  server.CreateTopic("deleted");
  auto subscriber = MustStart(ClientChannel(server.port()), {.topic = "deleted"});
  ASSERT_TRUE(DeleteTopicStatus(server, "deleted").ok());
  const absl::StatusOr<Delivery> next = subscriber->Next(absl::Seconds(20));
  EXPECT_EQ(next.status().code(), absl::StatusCode::kNotFound) << next.status();
  const absl::StatusOr<std::unique_ptr<Subscriber>> out_of_range = Subscriber::Start(
      ClientChannel(server.port()),
      {.topic = "nosuch", .start = SubscriberOptions::Start::kSequence, .from_sequence = 5});
  EXPECT_EQ(out_of_range.status().code(), absl::StatusCode::kNotFound);
}

TEST(SubscriberTest, CloseFromAnotherThreadEndsAWaitingNext) {
  TestServer server;
  auto subscriber = MustStart(ClientChannel(server.port()), {.topic = "close"});
  std::thread closer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    subscriber->Close();
  });
  EXPECT_EQ(subscriber->Next().status().code(), absl::StatusCode::kCancelled);
  closer.join();
}

TEST(SubscriberTest, GivesUpWithUnavailableWhenNoServerAnswers) {
  int port = 0;
  {
    TestServer gone;
    port = gone.port();
  }
  const absl::StatusOr<std::unique_ptr<Subscriber>> subscriber =
      Subscriber::Start(ClientChannel(port), {.topic = "t",
                                              .reconnect_timeout = absl::Milliseconds(300),
                                              .initial_backoff = absl::Milliseconds(20)});
  EXPECT_EQ(subscriber.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(subscriber.status().message(), "reconnect_timeout"))
      << subscriber.status();
}

}  // namespace
}  // namespace ringcast::testing
