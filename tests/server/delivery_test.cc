// Delivery under concurrency: exactly-once, in-order fan-out from several publisher streams to
// several subscribers, on one topic and on several; catch-up hand-over while publishers run.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "server_test_support.h"

namespace ringcast::testing {
namespace {

constexpr int kPublishers = 4;
constexpr int kSubscribersPerTopic = 4;
constexpr int kEventsPerPublisher = 100'000;
constexpr int kBatch = 100;

struct Ack {
  std::string topic;
  uint64_t first;
  uint32_t count;
  int publisher;
  int first_index;  // index of the batch's first event within its publisher's stream
};

// Publisher `p` sends kEventsPerPublisher events "p:i" in batches, round-robin over `topics`,
// pipelining writes and reads on one stream. Records every ack.
void RunPublisher(TestServer& server, int p, const std::vector<std::string>& topics,
                  std::vector<Ack>& acks, std::atomic<int>& failures) {
  auto channel = server.NewChannel();
  auto stub = v1::EventService::NewStub(channel);
  PublishStream stream(*stub, absl::Minutes(5));
  const int batches = kEventsPerPublisher / kBatch;
  std::vector<Ack> sent(batches);
  std::thread writer([&] {
    for (int b = 0; b < batches; ++b) {
      v1::PublishRequest request;
      request.set_topic(topics[b % topics.size()]);
      request.set_batch_id(static_cast<uint64_t>(b));
      for (int i = 0; i < kBatch; ++i) {
        request.add_events()->set_payload(absl::StrCat(p, ":", b * kBatch + i));
      }
      sent[b] = Ack{request.topic(), 0, 0, p, b * kBatch};
      if (!stream.Write(request)) {
        failures.fetch_add(1);
        return;
      }
    }
  });
  v1::PublishResponse response;
  for (int b = 0; b < batches; ++b) {
    if (!stream.Read(&response) || !response.has_ack() || response.batch_id() != uint64_t(b)) {
      ADD_FAILURE() << "publisher " << p << " batch " << b << ": " << response.DebugString();
      failures.fetch_add(1);
      break;
    }
    sent[b].first = response.ack().first_sequence();
    sent[b].count = response.ack().count();
  }
  writer.join();
  EXPECT_TRUE(stream.Close().ok());
  acks = std::move(sent);
}

struct Received {
  int64_t start = -1;
  std::vector<v1::Event> events;
  grpc::Status status;
};

// Checks one topic: acks cover [0, total) exactly once, and every subscriber received exactly
// sequences 0..total-1 in order with the payloads the acks promise.
void VerifyTopic(const std::string& topic, const std::vector<std::vector<Ack>>& all_acks,
                 const std::vector<Received*>& subscribers, int64_t total) {
  std::vector<std::string> expected(static_cast<std::size_t>(total));
  std::vector<int> covered(static_cast<std::size_t>(total), 0);
  for (const auto& acks : all_acks) {
    for (const Ack& ack : acks) {
      if (ack.topic != topic) continue;
      ASSERT_EQ(ack.count, static_cast<uint32_t>(kBatch));
      for (uint32_t i = 0; i < ack.count; ++i) {
        const uint64_t s = ack.first + i;
        ASSERT_LT(s, static_cast<uint64_t>(total));
        ++covered[s];
        expected[s] = absl::StrCat(ack.publisher, ":", ack.first_index + static_cast<int>(i));
      }
    }
  }
  for (int64_t s = 0; s < total; ++s) ASSERT_EQ(covered[s], 1) << "sequence " << s;
  for (const Received* r : subscribers) {
    ASSERT_EQ(r->start, 0);
    ASSERT_EQ(static_cast<int64_t>(r->events.size()), total) << r->status.error_message();
    for (int64_t s = 0; s < total; ++s) {
      ASSERT_EQ(r->events[s].sequence(), static_cast<uint64_t>(s));
      ASSERT_EQ(r->events[s].payload(), expected[s]) << "sequence " << s;
    }
  }
}

void RunExactnessScenario(int topic_count, int fanout_threads) {
  server::ServerOptions options = TestOptions();
  options.default_ring_capacity = 4096;
  options.fanout_threads = fanout_threads;
  options.publish_timeout = absl::Seconds(60);
  TestServer server(options);
  std::vector<std::string> topics;
  for (int t = 0; t < topic_count; ++t) topics.push_back(absl::StrCat("exact-", t));

  const int64_t per_topic =
      int64_t{kPublishers} * kEventsPerPublisher / static_cast<int64_t>(topic_count);
  std::vector<Received> received(static_cast<std::size_t>(topic_count * kSubscribersPerTopic));
  std::vector<std::unique_ptr<v1::EventService::Stub>> stubs;
  std::vector<std::unique_ptr<SubscribeStream>> streams;
  for (int t = 0; t < topic_count; ++t) {
    for (int i = 0; i < kSubscribersPerTopic; ++i) {
      stubs.push_back(v1::EventService::NewStub(server.NewChannel()));
      streams.push_back(std::make_unique<SubscribeStream>(
          *stubs.back(), SubscribeFromLatest(topics[t]), absl::Minutes(5)));
      received[streams.size() - 1].start = streams.back()->WaitForStart();
    }
  }
  std::vector<std::thread> readers;
  for (std::size_t i = 0; i < streams.size(); ++i) {
    readers.emplace_back([&, i] {
      if (!streams[i]->ReadEvents(static_cast<std::size_t>(per_topic), received[i].events)) {
        received[i].status = streams[i]->Finish();
      }
    });
  }
  std::vector<std::vector<Ack>> acks(kPublishers);
  std::atomic<int> failures{0};
  std::vector<std::thread> publishers;
  for (int p = 0; p < kPublishers; ++p) {
    publishers.emplace_back(
        [&, p] { RunPublisher(server, p, topics, acks[static_cast<std::size_t>(p)], failures); });
  }
  for (auto& t : publishers) t.join();
  for (auto& t : readers) t.join();
  ASSERT_EQ(failures.load(), 0);
  for (int t = 0; t < topic_count; ++t) {
    std::vector<Received*> subscribers;
    for (int i = 0; i < kSubscribersPerTopic; ++i) {
      subscribers.push_back(&received[static_cast<std::size_t>(t * kSubscribersPerTopic + i)]);
    }
    VerifyTopic(topics[t], acks, subscribers, per_topic);
  }
}

TEST(DeliveryTest, FourPublishersFourSubscribersOneTopicExactlyOnceInOrder) {
  RunExactnessScenario(/*topic_count=*/1, /*fanout_threads=*/1);
}

TEST(DeliveryTest, FourPublishersFourSubscribersEachOfFourTopicsOnTwoFanoutThreads) {
  RunExactnessScenario(/*topic_count=*/4, /*fanout_threads=*/2);
}

// Subscribers joining from EARLIEST and from a sequence while publishers run catch up from the
// ring and join the live stream with no gap and no duplicate.
TEST(DeliveryTest, CatchUpHandsOverToTheLiveStreamWithoutGapOrDuplicate) {
  server::ServerOptions options = TestOptions();
  options.default_ring_capacity = 4096;
  options.publish_timeout = absl::Seconds(60);
  TestServer server(options);
  constexpr int kTotal = 60'000;
  std::atomic<int64_t> acked{0};
  std::thread publisher([&] {
    PublishStream stream(server.events(), absl::Minutes(2));
    for (int b = 0; b < kTotal / kBatch; ++b) {
      const v1::PublishResponse r = stream.Send(MakeBatch("catchup", b, kBatch));
      ASSERT_TRUE(r.has_ack()) << r.error().message();
      acked.store(static_cast<int64_t>(r.ack().first_sequence() + r.ack().count()));
    }
    EXPECT_TRUE(stream.Close().ok());
  });
  // Joiners at different moments, so hand-overs happen at different ring positions.
  std::vector<std::thread> joiners;
  std::mutex mu;
  std::vector<std::string> failures;
  for (int j = 0; j < 4; ++j) {
    joiners.emplace_back([&, j] {
      ASSERT_TRUE(Eventually([&] { return acked.load() >= (j + 1) * 9'000; }, absl::Minutes(1)));
      auto stub = v1::EventService::NewStub(server.NewChannel());
      v1::SubscribeRequest request =
          j % 2 == 0 ? SubscribeFromEarliest("catchup")
                     : SubscribeFrom("catchup", static_cast<uint64_t>(acked.load() - 1000));
      request.set_max_batch_events(j % 2 == 0 ? 0 : 33);
      SubscribeStream stream(*stub, request, absl::Minutes(2));
      const int64_t start = stream.WaitForStart();
      std::vector<v1::Event> events;
      const bool ok = stream.ReadEvents(static_cast<std::size_t>(kTotal - start), events);
      std::lock_guard<std::mutex> lock(mu);
      if (!ok || start < 0) {
        failures.push_back(absl::StrCat("joiner ", j, " ended early at ", events.size()));
        return;
      }
      for (std::size_t i = 0; i < events.size(); ++i) {
        const uint64_t s = static_cast<uint64_t>(start) + i;
        if (events[i].sequence() != s || events[i].payload() != absl::StrCat("e", s % kBatch)) {
          failures.push_back(absl::StrCat("joiner ", j, " (start ", start, ") at index ", i,
                                          " got sequence ", events[i].sequence()));
          return;
        }
      }
    });
  }
  publisher.join();
  for (auto& t : joiners) t.join();
  EXPECT_TRUE(failures.empty()) << failures.front();
}

}  // namespace
}  // namespace ringcast::testing
