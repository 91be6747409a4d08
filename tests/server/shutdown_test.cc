// Graceful shutdown: health goes NOT_SERVING, new streams are refused with UNAVAILABLE, publishes
// in flight finish, every acknowledged event reaches every RELIABLE subscriber before its stream
// ends with UNAVAILABLE, and the whole thing is bounded by --shutdown_timeout.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server_test_support.h"

namespace ringcast::testing {
namespace {

TEST(ShutdownTest, ServerStartsServing) {
  TestServer server;
  EXPECT_EQ(HealthStatus(*server.NewChannel()), 1);
}

// Publishers pipeline batches (of `max_batch` events, or 1..max_batch when `vary`) into a topic of
// 4096 slots read by `fast` RELIABLE subscribers at full speed and, with `slow`, one that sleeps
// between reads; Shutdown comes under load. Every publish stream must end with UNAVAILABLE (not a
// reset), every acknowledged event must reach every subscriber, in order, before its stream ends
// with UNAVAILABLE.
void ShutdownUnderLoad(int fast, bool slow, int max_batch, bool vary) {
  server::ServerOptions options = TestOptions();
  options.default_ring_capacity = 4096;
  TestServer server(options);
  server.CreateTopic("sd");

  struct Sub {
    std::unique_ptr<v1::EventService::Stub> stub;
    std::unique_ptr<SubscribeStream> stream;
    std::vector<v1::Event> events;
    grpc::Status status;
    bool slow = false;
  };
  std::vector<Sub> subs(static_cast<std::size_t>(fast + (slow ? 1 : 0)));
  if (slow) subs.back().slow = true;
  for (Sub& sub : subs) {
    sub.stub = v1::EventService::NewStub(server.NewChannel());
    sub.stream = std::make_unique<SubscribeStream>(*sub.stub, SubscribeFromLatest("sd"));
    ASSERT_EQ(sub.stream->WaitForStart(), 0);
  }
  std::vector<std::thread> readers;
  for (Sub& sub : subs) {
    readers.emplace_back([&sub] {
      v1::SubscribeResponse response;
      while (sub.stream->Read(&response)) {
        for (auto& e : *response.mutable_events()) sub.events.push_back(std::move(e));
        if (sub.slow) std::this_thread::sleep_for(std::chrono::microseconds(300));
      }
      sub.status = sub.stream->Finish();
    });
  }

  // Two publishers pipeline batches until the server ends their streams.
  constexpr int kPublishers = 2;
  std::atomic<uint64_t> acked_events{0};
  std::atomic<uint64_t> highest_acked{0};
  std::vector<grpc::Status> publisher_status(kPublishers);
  std::vector<std::thread> publishers;
  for (int p = 0; p < kPublishers; ++p) {
    publishers.emplace_back([&, p] {
      auto stub = v1::EventService::NewStub(server.NewChannel());
      grpc::ClientContext context;
      auto stream = stub->Publish(&context);
      std::thread writer([&] {
        for (uint64_t b = 0;; ++b) {
          const int n = vary ? 1 + static_cast<int>((b * 37 + static_cast<uint64_t>(p)) %
                                                    static_cast<uint64_t>(max_batch))
                             : max_batch;
          if (!stream->Write(MakeBatch("sd", b, n))) break;
        }
      });
      v1::PublishResponse response;
      while (stream->Read(&response)) {
        if (!response.has_ack()) continue;  // UNAVAILABLE for a batch read during shutdown
        acked_events.fetch_add(response.ack().count());
        const uint64_t last = response.ack().first_sequence() + response.ack().count() - 1;
        uint64_t seen = highest_acked.load();
        while (last > seen && !highest_acked.compare_exchange_weak(seen, last)) {
        }
      }
      writer.join();
      publisher_status[static_cast<std::size_t>(p)] = stream->Finish();
    });
  }
  ASSERT_TRUE(Eventually([&] { return acked_events.load() >= 20'000; }));
  server.server().Shutdown();
  for (auto& t : publishers) t.join();
  for (auto& t : readers) t.join();

  for (const grpc::Status& status : publisher_status) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  }
  const uint64_t total = acked_events.load();
  EXPECT_EQ(highest_acked.load() + 1, total);  // acks cover 0..total-1
  for (const Sub& sub : subs) {
    EXPECT_EQ(sub.status.error_code(), grpc::StatusCode::UNAVAILABLE) << sub.status.error_message();
    ASSERT_EQ(sub.events.size(), total) << (sub.slow ? "slow" : "fast") << " subscriber";
    for (uint64_t s = 0; s < total; ++s) ASSERT_EQ(sub.events[s].sequence(), s);
  }
}

TEST(ShutdownTest, UnderLoadEveryAckedEventReachesEveryReliableSubscriberBeforeUnavailable) {
  ShutdownUnderLoad(/*fast=*/3, /*slow=*/false, /*max_batch=*/50, /*vary=*/false);
}

// Caught-up subscribers beside a slow one, batches of 1-100: the shape in which subscribers that
// had caught up were once ended before the last acknowledged events reached them.
TEST(ShutdownTest, CaughtUpSubscribersBesideASlowOneGetEverythingAckedBeforeUnavailable) {
  for (int round = 0; round < 4; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    ShutdownUnderLoad(/*fast=*/3, /*slow=*/true, /*max_batch=*/100, /*vary=*/true);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(ShutdownTest, RefusesNewStreamsReportsNotServingAndIsBoundedByTheTimeout) {
  server::ServerOptions options = TestOptions();
  options.default_ring_capacity = 64;
  options.subscriber_queue_bytes = 64 << 10;
  options.slow_subscriber_timeout = absl::Minutes(5);
  options.shutdown_timeout = absl::Seconds(3);
  TestServer server(options);
  // A subscriber that never reads keeps the drain from completing.
  OwnConnectionSubscriber stalled_subscriber(server, SubscribeFromLatest("held"));
  SubscribeStream& stalled = stalled_subscriber.stream();
  ASSERT_EQ(stalled.WaitForStart(), 0);
  {
    PublishStream stream(server.events());
    v1::PublishRequest big;
    big.set_topic("held");
    for (int i = 0; i < 32; ++i) *big.add_events() = MakeEvent(std::string(64 << 10, 'x'));
    for (int b = 0; b < 8; ++b) {
      big.set_batch_id(static_cast<uint64_t>(b));
      if (!stream.Send(big).has_ack()) break;
    }
  }
  const absl::Time started = absl::Now();
  std::thread shutdown([&] { server.server().Shutdown(); });

  auto channel = server.NewChannel();
  EXPECT_TRUE(Eventually([&] { return HealthStatus(*channel) == 2; }));
  auto stub = v1::EventService::NewStub(channel);
  {
    PublishStream late(*stub);
    late.Write(MakeBatch("held", 1, 1));
    EXPECT_EQ(late.Close().error_code(), grpc::StatusCode::UNAVAILABLE);
  }
  {
    SubscribeStream late(*stub, SubscribeFromLatest("held"));
    EXPECT_EQ(late.Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  }
  {
    grpc::ClientContext context;
    v1::CreateTopicRequest request;
    request.set_name("new");
    v1::Topic topic;
    auto topics = v1::TopicService::NewStub(channel);
    EXPECT_EQ(topics->CreateTopic(&context, request, &topic).error_code(),
              grpc::StatusCode::UNAVAILABLE);
  }
  shutdown.join();
  // Bounded: the stalled subscriber is cancelled at the deadline instead of holding shutdown.
  EXPECT_LT(absl::Now() - started, options.shutdown_timeout + absl::Seconds(5));
  stalled.Cancel();
}

}  // namespace
}  // namespace ringcast::testing
