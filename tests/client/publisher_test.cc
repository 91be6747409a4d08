// Publisher against a real server: batching by count, bytes and linger; order across threads;
// the server's errors per event; both full-memory policies; reconnection after a server restart
// and after a cut connection without resending what was acknowledged; Close loses nothing.
#include "ringcast/client/publisher.h"

#include <atomic>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client_test_support.h"
#include "gtest/gtest.h"
#include "tcp_proxy.h"

namespace ringcast::testing {
namespace {

using client::Publisher;
using client::PublisherOptions;
using Result = std::future<absl::StatusOr<uint64_t>>;

std::unique_ptr<Publisher> MakePublisher(std::shared_ptr<grpc::Channel> channel,
                                         PublisherOptions options = {}) {
  absl::StatusOr<std::unique_ptr<Publisher>> publisher =
      Publisher::Create(std::move(channel), options);
  EXPECT_TRUE(publisher.ok()) << publisher.status();
  return publisher.ok() ? *std::move(publisher) : nullptr;
}

// Waits for every result; each must be a sequence.
std::vector<uint64_t> Sequences(std::vector<Result>& results) {
  std::vector<uint64_t> sequences;
  for (Result& r : results) {
    absl::StatusOr<uint64_t> s = r.get();
    EXPECT_TRUE(s.ok()) << s.status();
    sequences.push_back(s.ok() ? *s : ~uint64_t{0});
  }
  return sequences;
}

TEST(PublisherTest, BatchesByCountAndResolvesEveryEventWithItsSequence) {
  TestServer server;
  auto publisher = MakePublisher(ClientChannel(server.port()),
                                 {.max_batch_events = 100, .linger = absl::Seconds(30)});
  std::vector<Result> results;
  for (int i = 0; i < 1000; ++i) results.push_back(publisher->Publish("count", absl::StrCat(i)));
  ASSERT_TRUE(publisher->Flush(absl::Seconds(20)).ok());
  const std::vector<uint64_t> sequences = Sequences(results);
  for (uint64_t i = 0; i < sequences.size(); ++i) EXPECT_EQ(sequences[i], i);
  EXPECT_EQ(publisher->stats().batches_sent, 10u);
  EXPECT_EQ(publisher->stats().events_pending, 0u);
  const std::vector<v1::Event> events = ReadTopic(server, "count", 1000);
  ASSERT_EQ(events.size(), 1000u);
  for (std::size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].payload(), absl::StrCat(i));
}

TEST(PublisherTest, BatchesByBytes) {
  TestServer server;
  auto publisher = MakePublisher(
      ClientChannel(server.port()),
      {.max_batch_events = 1000, .max_batch_bytes = 1000, .linger = absl::Seconds(30)});
  std::vector<Result> results;
  for (int i = 0; i < 9; ++i) results.push_back(publisher->Publish("bytes", std::string(300, 'b')));
  ASSERT_TRUE(publisher->Flush(absl::Seconds(20)).ok());
  Sequences(results);
  EXPECT_EQ(publisher->stats().batches_sent, 3u);  // 3 x 300 bytes fit in 1000, a 4th does not
}

TEST(PublisherTest, LingerSendsAPartialBatchWithoutFlush) {
  TestServer server;
  auto publisher = MakePublisher(ClientChannel(server.port()),
                                 {.max_batch_events = 1000, .linger = absl::Milliseconds(20)});
  std::vector<Result> results;
  for (int i = 0; i < 3; ++i) results.push_back(publisher->Publish("linger", "x"));
  for (Result& r : results) {
    ASSERT_EQ(r.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  }
  EXPECT_EQ(Sequences(results), (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_EQ(publisher->stats().batches_sent, 1u);
}

TEST(PublisherTest, ConcurrentPublishersEachKeepTheirOrder) {
  TestServer server;
  server.CreateTopic("order", 16384);
  auto publisher = MakePublisher(ClientChannel(server.port()), {.max_batch_events = 64});
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2500;
  std::vector<std::vector<Result>> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        results[t].push_back(publisher->Publish("order", absl::StrCat(t, ":", i)));
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(publisher->Flush(absl::Seconds(30)).ok());
  std::map<uint64_t, std::string> by_sequence;
  for (int t = 0; t < kThreads; ++t) {
    const std::vector<uint64_t> sequences = Sequences(results[t]);
    for (int i = 0; i < kPerThread; ++i) {
      by_sequence[sequences[i]] = absl::StrCat(t, ":", i);
      if (i > 0) {
        EXPECT_GT(sequences[i], sequences[i - 1]) << "thread " << t << " event " << i;
      }
    }
  }
  ASSERT_EQ(by_sequence.size(), static_cast<std::size_t>(kThreads * kPerThread));
  const std::vector<v1::Event> events = ReadTopic(server, "order", kThreads * kPerThread);
  for (const v1::Event& e : events) EXPECT_EQ(e.payload(), by_sequence[e.sequence()]);
}

TEST(PublisherTest, TheServersErrorsReachTheirEventsWithCodeAndMessage) {
  server::ServerOptions options = TestOptions();
  options.max_event_bytes = 1024;
  TestServer server(options);
  auto publisher = MakePublisher(ClientChannel(server.port()), {.linger = absl::Milliseconds(1)});
  Result too_big = publisher->Publish("errors", std::string(2000, 'x'));
  ASSERT_TRUE(publisher->Flush(absl::Seconds(20)).ok());
  Result bad_name = publisher->Publish("bad name!", "x");
  Result fine = publisher->Publish("errors", "fine");
  ASSERT_TRUE(publisher->Flush(absl::Seconds(20)).ok());
  const absl::StatusOr<uint64_t> big = too_big.get();
  EXPECT_EQ(big.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(big.status().message(), "--max_event_bytes")) << big.status();
  EXPECT_EQ(bad_name.get().status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(fine.get().value_or(99), 0u);
}

// A server whose topic "full" has a 64-slot ring held by a subscriber that never reads: after a
// few big batches nothing more is answered until that subscriber goes.
struct StalledTopic {
  StalledTopic()
      : server([] {
          server::ServerOptions o = SmallRingOptions();
          o.publish_timeout = absl::Seconds(60);
          o.slow_subscriber_timeout = absl::Seconds(60);
          return o;
        }()),
        stalled(server, SubscribeFromLatest("full")) {
    EXPECT_EQ(stalled.stream().WaitForStart(), 0);
  }
  TestServer server;
  OwnConnectionSubscriber stalled;
};

PublisherOptions SmallMemory(PublisherOptions::WhenFull when_full) {
  return {.max_batch_events = 8,
          .linger = absl::ZeroDuration(),
          .max_in_flight_bytes = std::size_t{2} << 20,
          .when_full = when_full};
}

TEST(PublisherTest, FailFastRejectsAtOnceWhenMemoryIsUsedUp) {
  StalledTopic topic;
  auto publisher = MakePublisher(ClientChannel(topic.server.port()),
                                 SmallMemory(PublisherOptions::WhenFull::kFailFast));
  std::vector<Result> accepted;
  absl::Status refused;
  for (int i = 0; i < 1000 && refused.ok(); ++i) {
    Result r = publisher->Publish("full", std::string(kBigEventBytes, 'f'));
    if (r.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
      refused = r.get().status();
    } else {
      accepted.push_back(std::move(r));
    }
  }
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted) << refused;
  EXPECT_TRUE(absl::StrContains(refused.message(), "max_in_flight_bytes")) << refused;
  EXPECT_LE(publisher->stats().bytes_pending, std::size_t{2} << 20);
  // Once the ring drains, everything accepted is published.
  topic.stalled.stream().Cancel();
  ASSERT_TRUE(publisher->Flush(absl::Seconds(30)).ok());
  Sequences(accepted);
}

TEST(PublisherTest, BlockingPolicyWaitsForRoomInsteadOfFailing) {
  StalledTopic topic;
  auto publisher = MakePublisher(ClientChannel(topic.server.port()),
                                 SmallMemory(PublisherOptions::WhenFull::kBlock));
  // 4000 x 16 KiB = 64 MiB: far beyond the ring, the stalled stream's socket buffers and the
  // publisher's 2 MiB.
  constexpr int kEvents = 4000;
  std::atomic<int> returned{0};
  std::vector<Result> results;
  std::thread producer([&] {
    for (int i = 0; i < kEvents; ++i) {
      results.push_back(publisher->Publish("full", std::string(kBigEventBytes, 'b')));
      returned.fetch_add(1);
    }
  });
  // Publish blocks once the memory is used up: the producer stops well short of the end...
  EXPECT_TRUE(Eventually([&] {
    const int before = returned.load();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return returned.load() == before && before < kEvents;
  }));
  EXPECT_LT(returned.load(), kEvents);
  // ...and goes on when there is room again.
  topic.stalled.stream().Cancel();
  producer.join();
  ASSERT_TRUE(publisher->Flush(absl::Seconds(30)).ok());
  EXPECT_EQ(Sequences(results).size(), static_cast<std::size_t>(kEvents));
}

TEST(PublisherTest, ReconnectsAfterAServerRestartAndPublishesWhatWasNotAnswered) {
  auto first = std::make_unique<TestServer>();
  const int port = first->port();
  auto publisher = MakePublisher(ClientChannel(port),
                                 {.max_batch_events = 50, .retry_timeout = absl::Seconds(60)});
  std::vector<Result> before;
  for (int i = 0; i < 500; ++i)
    before.push_back(publisher->Publish("restart", absl::StrCat("a", i)));
  ASSERT_TRUE(publisher->Flush(absl::Seconds(20)).ok());
  Sequences(before);
  first.reset();  // graceful shutdown; the next batches find no server

  std::vector<Result> after;
  for (int i = 0; i < 500; ++i)
    after.push_back(publisher->Publish("restart", absl::StrCat("b", i)));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let a few attempts fail
  TestServer second(OptionsOnPort(port));
  ASSERT_TRUE(publisher->Flush(absl::Seconds(60)).ok());
  const std::vector<uint64_t> sequences = Sequences(after);
  for (uint64_t i = 0; i < sequences.size(); ++i) EXPECT_EQ(sequences[i], i);
  EXPECT_GE(publisher->stats().reconnects, 1u);
  // The new server has the second half only, once each, in order: nothing answered by the first
  // server was sent again.
  const std::vector<v1::Event> events = ReadTopic(second, "restart", 500);
  v1::Topic described;
  ASSERT_TRUE(second.GetTopic("restart", &described).ok());
  EXPECT_EQ(described.next_sequence(), 500u);
  for (std::size_t i = 0; i < events.size(); ++i)
    EXPECT_EQ(events[i].payload(), absl::StrCat("b", i));
}

TEST(PublisherTest, ACutConnectionResendsOnlyUnansweredBatchesAndKeepsOrder) {
  TestServer server;
  server.CreateTopic("cut", 65536);
  TcpProxy proxy(server.port());
  auto publisher = MakePublisher(ClientChannel(proxy.port()), {.max_batch_events = 100});
  constexpr int kEvents = 20000;
  std::vector<Result> results;
  for (int i = 0; i < kEvents; ++i) {
    results.push_back(publisher->Publish("cut", absl::StrCat(i)));
    if (i == kEvents / 2) proxy.CutAll();
  }
  ASSERT_TRUE(publisher->Flush(absl::Seconds(60)).ok());
  const std::vector<uint64_t> sequences = Sequences(results);
  for (int i = 1; i < kEvents; ++i) ASSERT_GT(sequences[i], sequences[i - 1]) << "event " << i;
  EXPECT_GE(proxy.connections(), 2);

  v1::Topic described;
  ASSERT_TRUE(server.GetTopic("cut", &described).ok());
  const std::vector<v1::Event> events = ReadTopic(server, "cut", described.next_sequence());
  ASSERT_EQ(events.size(), described.next_sequence());
  // Only a batch that was never answered may appear twice, and its answer then names the later
  // copy: an acknowledged batch is never sent again.
  std::map<std::string, std::vector<uint64_t>> copies;
  for (const v1::Event& e : events) copies[e.payload()].push_back(e.sequence());
  ASSERT_EQ(copies.size(), static_cast<std::size_t>(kEvents));
  for (int i = 0; i < kEvents; ++i) {
    const std::vector<uint64_t>& at = copies[absl::StrCat(i)];
    EXPECT_EQ(at.back(), sequences[i]) << "event " << i << " has " << at.size() << " copies";
  }
}

TEST(PublisherTest, CloseWaitsForEveryAnswerAndLosesNothing) {
  TestServer server;
  server.CreateTopic("close", 8192);
  auto publisher = MakePublisher(ClientChannel(server.port()),
                                 {.max_batch_events = 512, .linger = absl::Seconds(30)});
  std::vector<Result> results;
  for (int i = 0; i < 5000; ++i) results.push_back(publisher->Publish("close", absl::StrCat(i)));
  publisher->Close();
  for (Result& r : results)
    ASSERT_EQ(r.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_EQ(Sequences(results).size(), 5000u);
  EXPECT_EQ(ReadTopic(server, "close", 5000).size(), 5000u);
  // Closed: later events fail at once.
  EXPECT_EQ(publisher->Publish("close", "late").get().status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(PublisherTest, GivesUpWithUnavailableAfterTheRetryTimeout) {
  int port = 0;
  {
    TestServer gone;
    port = gone.port();
  }
  auto publisher = MakePublisher(ClientChannel(port), {.retry_timeout = absl::Milliseconds(300),
                                                       .initial_backoff = absl::Milliseconds(20)});
  const absl::StatusOr<uint64_t> r = publisher->Publish("nobody", "x").get();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "retry_timeout")) << r.status();
}

TEST(PublisherTest, BadOptionsAreRejected) {
  TestServer server;
  EXPECT_EQ(
      Publisher::Create(ClientChannel(server.port()), {.max_batch_events = 0}).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Publisher::Create(nullptr).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ringcast::testing
