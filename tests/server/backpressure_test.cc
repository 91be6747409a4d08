// Backpressure: a stalled RELIABLE subscriber holds publishers back, is cut off after
// --slow_subscriber_timeout naming the last sequence it was sent, and publishers resume; a batch
// that waits longer than --publish_timeout is rejected; LOSSY subscribers never hold anyone back
// and account for what they skip.
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server_test_support.h"

namespace ringcast::testing {
namespace {

double BackpressureRatio(TestServer& server, const std::string& topic) {
  v1::Topic t;
  return server.GetTopic(topic, &t).ok() ? t.backpressure_ratio() : -1;
}

TEST(BackpressureTest, StalledReliableSubscriberBlocksPublishersThenIsCutOffAndPublishersResume) {
  server::ServerOptions options = SmallRingOptions();
  options.slow_subscriber_timeout = absl::Milliseconds(1500);
  options.publish_timeout = absl::Seconds(30);  // publishers wait through the cut-off
  TestServer server(options);
  server.CreateTopic("bp");

  // A subscriber that never reads (its own connection, so its flow control stalls alone) and a
  // healthy one that reads everything.
  OwnConnectionSubscriber stalled_subscriber(server, SubscribeFromLatest("bp"));
  SubscribeStream& stalled = stalled_subscriber.stream();
  ASSERT_EQ(stalled.WaitForStart(), 0);
  OwnConnectionSubscriber healthy_subscriber(server, SubscribeFromLatest("bp"));
  SubscribeStream& healthy = healthy_subscriber.stream();
  ASSERT_EQ(healthy.WaitForStart(), 0);

  constexpr int kBatches = 600;  // 600 x 8 x 16 KiB = 75 MiB: far beyond every buffer
  constexpr int kPerBatch = 8;
  std::vector<v1::Event> healthy_events;
  std::thread reader([&] { healthy.ReadEvents(kBatches * kPerBatch, healthy_events); });

  std::atomic<int> acked{0};
  std::atomic<int> rejected{0};
  std::thread publisher([&] {
    PublishStream stream(server.events());
    for (int b = 0; b < kBatches; ++b) {
      const v1::PublishResponse r = stream.Send(BigBatch("bp", b, kPerBatch));
      (r.has_ack() ? acked : rejected).fetch_add(1);
    }
    EXPECT_TRUE(stream.Close().ok());
  });

  // The ring fills up behind the stalled subscriber until the next 8-event batch no longer fits:
  // publishers are held back.
  EXPECT_TRUE(Eventually([&] { return BackpressureRatio(server, "bp") >= 57.0 / 64; }));
  publisher.join();
  reader.join();
  EXPECT_EQ(acked.load(), kBatches);
  EXPECT_EQ(rejected.load(), 0);
  EXPECT_EQ(healthy_events.size(), static_cast<std::size_t>(kBatches * kPerBatch));

  // The stalled subscriber finds, behind what was buffered for it, RESOURCE_EXHAUSTED naming the
  // last sequence it was sent; what it did receive is a gap-free prefix up to exactly that.
  std::vector<v1::Event> stalled_events;
  v1::SubscribeResponse response;
  while (stalled.Read(&response)) {
    for (auto& e : *response.mutable_events()) stalled_events.push_back(std::move(e));
  }
  const grpc::Status status = stalled.Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  ASSERT_FALSE(stalled_events.empty());
  for (std::size_t i = 0; i < stalled_events.size(); ++i) {
    ASSERT_EQ(stalled_events[i].sequence(), i);
  }
  const uint64_t last = stalled_events.back().sequence();
  EXPECT_TRUE(absl::StrContains(status.error_message(), absl::StrCat("last sequence sent: ", last)))
      << status.error_message();
  EXPECT_TRUE(absl::StrContains(status.error_message(), absl::StrCat("resume from ", last + 1)))
      << status.error_message();
  EXPECT_LT(last + 1, static_cast<uint64_t>(kBatches * kPerBatch));
}

TEST(BackpressureTest, BatchWaitingLongerThanPublishTimeoutIsRejectedAndTheStreamStaysOpen) {
  server::ServerOptions options = SmallRingOptions();
  options.slow_subscriber_timeout = absl::Seconds(30);  // the stall outlasts the publish timeout
  options.publish_timeout = absl::Milliseconds(300);
  TestServer server(options);
  server.CreateTopic("pt");
  OwnConnectionSubscriber stalled_subscriber(server, SubscribeFromLatest("pt"));
  SubscribeStream& stalled = stalled_subscriber.stream();
  ASSERT_EQ(stalled.WaitForStart(), 0);

  PublishStream stream(server.events());
  v1::PublishResponse r;
  int b = 0;
  for (; b < 2000; ++b) {
    r = stream.Send(BigBatch("pt", b, 8));
    if (!r.has_ack()) break;
  }
  ASSERT_TRUE(r.has_error()) << "the ring never filled";
  EXPECT_EQ(r.batch_id(), static_cast<uint64_t>(b));
  EXPECT_EQ(r.error().code(), static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_TRUE(absl::StrContains(r.error().message(), "--publish_timeout")) << r.error().message();
  // Same stream, next batch: still answered (rejected again while the stall lasts).
  const v1::PublishResponse again = stream.Send(BigBatch("pt", 99999, 1));
  EXPECT_EQ(again.batch_id(), 99999u);
  EXPECT_TRUE(again.has_error());
  // Once the stalled subscriber leaves, the topic accepts batches again.
  stalled.Cancel();
  EXPECT_TRUE(Eventually([&] { return stream.Send(BigBatch("pt", 100000, 1)).has_ack(); }));
  EXPECT_TRUE(stream.Close().ok());
}

TEST(BackpressureTest, LossySubscriberNeverHoldsPublishersBackAndCountsWhatItSkipped) {
  server::ServerOptions options = SmallRingOptions();
  options.publish_timeout = absl::Milliseconds(500);  // any hold-up would reject a batch
  TestServer server(options);
  server.CreateTopic("lossy");
  v1::SubscribeRequest request = SubscribeFromLatest("lossy");
  request.set_mode(v1::DELIVERY_MODE_LOSSY);
  OwnConnectionSubscriber lossy_subscriber(server, request);
  SubscribeStream& lossy = lossy_subscriber.stream();
  ASSERT_EQ(lossy.WaitForStart(), 0);

  // Publish while the LOSSY subscriber reads nothing.
  constexpr int kBatches = 400;
  constexpr int kPerBatch = 8;
  PublishStream stream(server.events());
  for (int b = 0; b < kBatches; ++b) {
    const v1::PublishResponse r = stream.Send(BigBatch("lossy", b, kPerBatch));
    ASSERT_TRUE(r.has_ack()) << "batch " << b << ": " << r.error().message();
  }
  constexpr uint64_t kTotal = kBatches * kPerBatch;

  // Now read: sequences only go up, every gap is announced by `skipped`, and received + skipped
  // accounts for every event once the last one arrives.
  uint64_t expected_next = 0;
  uint64_t received = 0;
  uint64_t skipped = 0;
  v1::SubscribeResponse response;
  while (expected_next < kTotal) {
    ASSERT_TRUE(lossy.Read(&response));
    ASSERT_GT(response.events_size(), 0);
    const uint64_t first = response.events(0).sequence();
    ASSERT_EQ(first, expected_next + response.skipped());
    skipped += response.skipped();
    for (int i = 0; i < response.events_size(); ++i) {
      ASSERT_EQ(response.events(i).sequence(), first + static_cast<uint64_t>(i));
    }
    received += static_cast<uint64_t>(response.events_size());
    expected_next = first + static_cast<uint64_t>(response.events_size());
  }
  EXPECT_EQ(received + skipped, kTotal);
  EXPECT_GT(skipped, 0u) << "the subscriber never fell behind: the test proves nothing";
  EXPECT_TRUE(stream.Close().ok());
}

}  // namespace
}  // namespace ringcast::testing
