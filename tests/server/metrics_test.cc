// Metrics: a real server with its /metrics endpoint on 127.0.0.1, known traffic through real gRPC
// streams, and real HTTP scrapes, parsed and checked for exact counter deltas, plausible gauges and
// histograms, series that leave with their topic, and an exposition promtool accepts.
#include <sys/resource.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "observability/metrics_scrape.h"
#include "server_test_support.h"

namespace ringcast::testing {
namespace {

server::ServerOptions MetricsOptions() {
  server::ServerOptions options = TestOptions();
  options.metrics_listen = "127.0.0.1:0";
  return options;
}

Exposition MustScrape(TestServer& server) {
  absl::StatusOr<Exposition> scraped = Scrape(server.server().metrics_port());
  EXPECT_TRUE(scraped.ok()) << scraped.status();
  return scraped.ok() ? *std::move(scraped) : Exposition();
}

Labels Topic(const std::string& topic) { return {{"topic", topic}}; }
Labels Rejected(const std::string& topic, const std::string& reason) {
  return {{"topic", topic}, {"reason", reason}};
}

// The change of `name{labels}` between two scrapes.
double Delta(const Exposition& before, const Exposition& after, const std::string& name,
             const Labels& labels = {}) {
  return after.ValueOr0(name, labels) - before.ValueOr0(name, labels);
}

// A histogram's buckets are cumulative, end in +Inf, and +Inf equals the count.
void ExpectWellFormedHistogram(const Exposition& e, const std::string& family,
                               const Labels& labels) {
  const std::optional<double> count = e.Value(family + "_count", labels);
  const std::optional<double> sum = e.Value(family + "_sum", labels);
  ASSERT_TRUE(count.has_value()) << family;
  ASSERT_TRUE(sum.has_value()) << family;
  double previous = 0;
  double previous_bound = 0;
  int buckets = 0;
  bool saw_inf = false;
  for (const Sample& s : e.SamplesOf(family + "_bucket")) {
    Labels without_le = s.labels;
    const std::string le = without_le["le"];
    without_le.erase("le");
    if (without_le != labels) continue;
    ++buckets;
    const double bound = le == "+Inf" ? HUGE_VAL : std::stod(le);
    EXPECT_GT(bound, previous_bound) << family << " buckets out of order at le=" << le;
    EXPECT_GE(s.value, previous) << family << " buckets not cumulative at le=" << le;
    previous = s.value;
    previous_bound = bound;
    if (le == "+Inf") {
      saw_inf = true;
      EXPECT_EQ(s.value, *count) << family;
    }
  }
  EXPECT_TRUE(saw_inf) << family;
  EXPECT_EQ(buckets, 23) << family << ": 1 us .. 10 s in 22 bounds, then +Inf";
  EXPECT_GE(*sum, 0);
  if (*count > 0) {
    EXPECT_LT(*sum / *count, 10.0) << family << ": mean latency above 10 s";
  }
}

// Every family of the design, with its type.
const std::vector<std::pair<std::string, std::string>> kFamilies = {
    {"ringcast_events_published_total", "counter"},
    {"ringcast_publish_batches_total", "counter"},
    {"ringcast_publish_rejected_total", "counter"},
    {"ringcast_events_delivered_total", "counter"},
    {"ringcast_events_skipped_total", "counter"},
    {"ringcast_slow_subscriber_disconnects_total", "counter"},
    {"ringcast_publish_latency_seconds", "histogram"},
    {"ringcast_delivery_latency_seconds", "histogram"},
    {"ringcast_publish_blocked_seconds_total", "counter"},
    {"ringcast_ring_capacity", "gauge"},
    {"ringcast_ring_occupancy", "gauge"},
    {"ringcast_backpressure_ratio", "gauge"},
    {"ringcast_subscriber_lag_max", "gauge"},
    {"ringcast_subscribers", "gauge"},
    {"ringcast_publish_streams", "gauge"},
    {"ringcast_topics", "gauge"},
    {"ringcast_build_info", "gauge"},
    {"process_cpu_seconds_total", "counter"},
    {"process_resident_memory_bytes", "gauge"},
    {"process_open_fds", "gauge"},
    {"process_start_time_seconds", "gauge"},
};

TEST(MetricsTest, KnownTrafficGivesExactCounterDeltasAndPlausibleGaugesAndHistograms) {
  TestServer server(MetricsOptions());
  ASSERT_GT(server.server().metrics_port(), 0);
  server.CreateTopic("m", 1024);
  SubscribeStream a(server.events(), SubscribeFromLatest("m"));
  SubscribeStream b(server.events(), SubscribeFromLatest("m"));
  ASSERT_EQ(a.WaitForStart(), 0);
  ASSERT_EQ(b.WaitForStart(), 0);

  const Exposition before = MustScrape(server);
  for (const auto& [family, type] : kFamilies) {
    EXPECT_EQ(before.TypeOf(family), type) << family;
  }
  EXPECT_EQ(before.Value("ringcast_subscribers", Topic("m")), 2);
  EXPECT_EQ(before.Value("ringcast_ring_capacity", Topic("m")), 1024);
  EXPECT_EQ(before.Value("ringcast_topics"), 1);

  constexpr int kBatches = 10;
  constexpr int kPerBatch = 50;
  constexpr int kEvents = kBatches * kPerBatch;
  PublishStream stream(server.events());
  for (int i = 0; i < kBatches; ++i) {
    ASSERT_TRUE(stream.Send(MakeBatch("m", static_cast<uint64_t>(i), kPerBatch)).has_ack());
  }
  EXPECT_EQ(MustScrape(server).Value("ringcast_publish_streams"), 1);
  std::vector<v1::Event> got_a;
  std::vector<v1::Event> got_b;
  ASSERT_TRUE(a.ReadEvents(kEvents, got_a));
  ASSERT_TRUE(b.ReadEvents(kEvents, got_b));

  // The fan-out stage folds its counts in at the end of each round: wait for that round.
  Exposition after;
  EXPECT_TRUE(Eventually([&] {
    after = MustScrape(server);
    return Delta(before, after, "ringcast_events_delivered_total", Topic("m")) == 2 * kEvents &&
           after.Value("ringcast_subscriber_lag_max", Topic("m")) == 0;
  })) << after.text();
  EXPECT_EQ(Delta(before, after, "ringcast_events_published_total", Topic("m")), kEvents);
  EXPECT_EQ(Delta(before, after, "ringcast_publish_batches_total", Topic("m")), kBatches);
  EXPECT_EQ(Delta(before, after, "ringcast_events_delivered_total", Topic("m")), 2 * kEvents);
  EXPECT_EQ(Delta(before, after, "ringcast_events_skipped_total", Topic("m")), 0);
  EXPECT_EQ(Delta(before, after, "ringcast_slow_subscriber_disconnects_total", Topic("m")), 0);
  EXPECT_EQ(Delta(before, after, "ringcast_publish_blocked_seconds_total", Topic("m")), 0);
  for (const char* reason : {"invalid", "too_large", "backpressure", "not_found", "shutdown",
                             "topic_limit", "internal"}) {
    EXPECT_EQ(after.Value("ringcast_publish_rejected_total", Rejected("m", reason)), 0) << reason;
  }
  // One publish-latency observation per batch; one delivery-latency observation per event per
  // subscriber, all of them live.
  EXPECT_EQ(Delta(before, after, "ringcast_publish_latency_seconds_count"), kBatches);
  EXPECT_EQ(Delta(before, after, "ringcast_delivery_latency_seconds_count", Topic("m")),
            2 * kEvents);
  EXPECT_GT(Delta(before, after, "ringcast_delivery_latency_seconds_sum", Topic("m")), 0);
  ExpectWellFormedHistogram(after, "ringcast_publish_latency_seconds", {});
  ExpectWellFormedHistogram(after, "ringcast_delivery_latency_seconds", Topic("m"));

  const double occupancy = after.ValueOr0("ringcast_ring_occupancy", Topic("m"));
  EXPECT_GE(occupancy, 0);
  EXPECT_LE(occupancy, 1024);
  EXPECT_EQ(after.Value("ringcast_backpressure_ratio", Topic("m")), occupancy / 1024);
  EXPECT_EQ(after.Value("ringcast_subscribers", Topic("m")), 2);

  EXPECT_TRUE(stream.Close().ok());
  EXPECT_TRUE(
      Eventually([&] { return MustScrape(server).Value("ringcast_publish_streams") == 0; }));
}

TEST(MetricsTest, ReplayedEventsAreDeliveredButNotTimedAsLatency) {
  TestServer server(MetricsOptions());
  server.CreateTopic("replay", 1024);
  ASSERT_TRUE(PublishOnce(server.events(), MakeBatch("replay", 1, 100)).has_ack());
  const Exposition before = MustScrape(server);

  SubscribeStream late(server.events(), SubscribeFromEarliest("replay"));
  ASSERT_EQ(late.WaitForStart(), 0);
  ASSERT_TRUE(PublishOnce(server.events(), MakeBatch("replay", 2, 30)).has_ack());
  std::vector<v1::Event> events;
  ASSERT_TRUE(late.ReadEvents(130, events));
  Exposition after;
  EXPECT_TRUE(Eventually([&] {
    after = MustScrape(server);
    return Delta(before, after, "ringcast_events_delivered_total", Topic("replay")) == 130;
  }));
  // The 100 events published before the subscription are a replay it asked for; only the 30 live
  // ones are timed.
  EXPECT_EQ(Delta(before, after, "ringcast_delivery_latency_seconds_count", Topic("replay")), 30);
}

TEST(MetricsTest, RejectionsAreCountedByReasonOnTheirTopicAndNeverLabelUnknownNames) {
  server::ServerOptions options = MetricsOptions();
  options.max_event_bytes = 1024;
  options.max_topics = 2;
  TestServer server(options);
  server.CreateTopic("r", 16);
  server.CreateTopic("other", 16);
  const Exposition before = MustScrape(server);

  PublishStream stream(server.events());
  v1::PublishRequest empty;
  empty.set_topic("r");
  EXPECT_TRUE(stream.Send(empty).has_error());
  v1::PublishRequest big;
  big.set_topic("r");
  *big.add_events() = MakeEvent(std::string(2000, 'x'));
  EXPECT_TRUE(stream.Send(big).has_error());
  EXPECT_TRUE(stream.Send(MakeBatch("r", 3, 17)).has_error());  // more than the ring holds
  EXPECT_TRUE(stream.Send(MakeBatch("bad name!", 4, 1)).has_error());
  EXPECT_TRUE(stream.Send(MakeBatch("bad\"name\n", 5, 1)).has_error());
  EXPECT_TRUE(stream.Send(MakeBatch("third", 6, 1)).has_error());  // --max_topics is 2
  EXPECT_TRUE(stream.Send(MakeBatch("r", 7, 16)).has_ack());
  EXPECT_TRUE(stream.Close().ok());

  const Exposition after = MustScrape(server);
  const auto rejected = [&](const std::string& topic, const std::string& reason) {
    return Delta(before, after, "ringcast_publish_rejected_total", Rejected(topic, reason));
  };
  EXPECT_EQ(rejected("r", "invalid"), 1);
  EXPECT_EQ(rejected("r", "too_large"), 2);
  EXPECT_EQ(rejected("", "invalid"), 2);
  EXPECT_EQ(rejected("", "topic_limit"), 1);
  EXPECT_EQ(rejected("other", "invalid"), 0);
  EXPECT_EQ(Delta(before, after, "ringcast_events_published_total", Topic("r")), 16);
  EXPECT_EQ(Delta(before, after, "ringcast_publish_batches_total", Topic("r")), 1);
  EXPECT_EQ(Delta(before, after, "ringcast_publish_latency_seconds_count"), 7);

  // The topic label holds existing topics' names (or nothing), never what a client sent.
  EXPECT_EQ(after.LabelValues("topic"), (std::set<std::string>{"", "other", "r"}));

  // An unknown topic with auto-create off: not_found, without a label for the unknown name.
  server::ServerOptions strict = MetricsOptions();
  strict.auto_create_topics = false;
  TestServer strict_server(strict);
  const v1::PublishResponse missing =
      PublishOnce(strict_server.events(), MakeBatch("nosuch", 1, 1));
  EXPECT_EQ(missing.error().code(), static_cast<int>(grpc::StatusCode::NOT_FOUND));
  const Exposition strict_scrape = MustScrape(strict_server);
  EXPECT_EQ(strict_scrape.Value("ringcast_publish_rejected_total", Rejected("", "not_found")), 1);
  EXPECT_EQ(strict_scrape.LabelValues("topic"), (std::set<std::string>{""}));
}

TEST(MetricsTest, PublishTimeoutIsCountedAsBackpressureWithTheTimeBlockedAndTheLag) {
  server::ServerOptions options = SmallRingOptions(MetricsOptions());
  options.publish_timeout = absl::Milliseconds(300);
  options.slow_subscriber_timeout = absl::Seconds(60);
  TestServer server(options);
  server.CreateTopic("pt");
  OwnConnectionSubscriber stalled_subscriber(server, SubscribeFromLatest("pt"));
  SubscribeStream& stalled = stalled_subscriber.stream();  // never reads
  ASSERT_EQ(stalled.WaitForStart(), 0);
  const Exposition before = MustScrape(server);

  PublishStream stream(server.events());
  int acked = 0;
  for (int b = 0; b < 2000; ++b) {
    const v1::PublishResponse r = stream.Send(BigBatch("pt", static_cast<uint64_t>(b), 8));
    if (!r.has_ack()) break;
    ++acked;
  }
  const Exposition after = MustScrape(server);
  EXPECT_EQ(Delta(before, after, "ringcast_publish_rejected_total", Rejected("pt", "backpressure")),
            1);
  EXPECT_EQ(Delta(before, after, "ringcast_events_published_total", Topic("pt")), 8 * acked);
  EXPECT_GE(Delta(before, after, "ringcast_publish_blocked_seconds_total", Topic("pt")), 0.29);
  EXPECT_GE(after.ValueOr0("ringcast_backpressure_ratio", Topic("pt")), 57.0 / 64);
  EXPECT_LE(after.ValueOr0("ringcast_backpressure_ratio", Topic("pt")), 1.0);
  EXPECT_GE(after.ValueOr0("ringcast_ring_occupancy", Topic("pt")), 57);
  // Everything not handed to the stalled subscriber's stream is lag.
  const double lag = after.ValueOr0("ringcast_subscriber_lag_max", Topic("pt"));
  EXPECT_GT(lag, 0);
  EXPECT_LE(lag, 8 * acked);
  stalled.Cancel();
  EXPECT_TRUE(stream.Close().ok());
}

TEST(MetricsTest, SlowSubscriberCutOffIsCountedOnceAndItsSeriesDropToZero) {
  server::ServerOptions options = SmallRingOptions(MetricsOptions());
  options.publish_timeout = absl::Seconds(30);
  options.slow_subscriber_timeout = absl::Seconds(1);
  TestServer server(options);
  server.CreateTopic("cut");
  OwnConnectionSubscriber stalled_subscriber(server, SubscribeFromLatest("cut"));
  SubscribeStream& stalled = stalled_subscriber.stream();
  ASSERT_EQ(stalled.WaitForStart(), 0);
  const Exposition before = MustScrape(server);

  constexpr int kBatches = 100;  // 100 x 8 x 16 KiB: far beyond the stalled stream's buffers
  std::thread publisher([&] {
    PublishStream stream(server.events());
    for (int b = 0; b < kBatches; ++b) {
      EXPECT_TRUE(stream.Send(BigBatch("cut", static_cast<uint64_t>(b), 8)).has_ack());
    }
    EXPECT_TRUE(stream.Close().ok());
  });
  publisher.join();  // finishes only once the stalled subscriber was cut off
  v1::SubscribeResponse response;
  while (stalled.Read(&response)) {
  }
  EXPECT_EQ(stalled.Finish().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);

  Exposition after;
  EXPECT_TRUE(Eventually([&] {
    after = MustScrape(server);
    return after.Value("ringcast_subscribers", Topic("cut")) == 0;
  }));
  EXPECT_EQ(Delta(before, after, "ringcast_slow_subscriber_disconnects_total", Topic("cut")), 1);
  EXPECT_EQ(Delta(before, after, "ringcast_events_published_total", Topic("cut")), 8 * kBatches);
  EXPECT_GT(Delta(before, after, "ringcast_publish_blocked_seconds_total", Topic("cut")), 0);
  EXPECT_EQ(after.Value("ringcast_subscriber_lag_max", Topic("cut")), 0);
}

TEST(MetricsTest, LossySkipsAreCountedExactlyAsTheSubscriberSawThem) {
  server::ServerOptions options = SmallRingOptions(MetricsOptions());
  TestServer server(options);
  server.CreateTopic("lossy");
  v1::SubscribeRequest request = SubscribeFromLatest("lossy");
  request.set_mode(v1::DELIVERY_MODE_LOSSY);
  OwnConnectionSubscriber lossy_subscriber(server, request);
  SubscribeStream& lossy = lossy_subscriber.stream();
  ASSERT_EQ(lossy.WaitForStart(), 0);
  const Exposition before = MustScrape(server);

  constexpr int kBatches = 200;
  constexpr uint64_t kTotal = kBatches * 8;
  PublishStream stream(server.events());
  for (int b = 0; b < kBatches; ++b) {
    ASSERT_TRUE(stream.Send(BigBatch("lossy", static_cast<uint64_t>(b), 8)).has_ack());
  }
  uint64_t received = 0;
  uint64_t skipped = 0;
  while (received + skipped < kTotal) {
    v1::SubscribeResponse response;
    ASSERT_TRUE(lossy.Read(&response));
    received += static_cast<uint64_t>(response.events_size());
    skipped += response.skipped();
  }
  ASSERT_GT(skipped, 0u) << "the subscriber never fell behind: the test proves nothing";
  Exposition after;
  EXPECT_TRUE(Eventually([&] {
    after = MustScrape(server);
    return Delta(before, after, "ringcast_events_delivered_total", Topic("lossy")) ==
           static_cast<double>(received);
  }));
  EXPECT_EQ(Delta(before, after, "ringcast_events_skipped_total", Topic("lossy")),
            static_cast<double>(skipped));
  EXPECT_EQ(Delta(before, after, "ringcast_events_published_total", Topic("lossy")), kTotal);
  EXPECT_EQ(
      Delta(before, after, "ringcast_publish_rejected_total", Rejected("lossy", "backpressure")),
      0);
  EXPECT_TRUE(stream.Close().ok());
}

TEST(MetricsTest, DeletingATopicRemovesEveryOneOfItsSeries) {
  TestServer server(MetricsOptions());
  server.CreateTopic("keep");
  server.CreateTopic("gone");
  SubscribeStream subscriber(server.events(), SubscribeFromLatest("gone"));
  ASSERT_EQ(subscriber.WaitForStart(), 0);
  ASSERT_TRUE(PublishOnce(server.events(), MakeBatch("gone", 1, 5)).has_ack());
  std::vector<v1::Event> events;
  ASSERT_TRUE(subscriber.ReadEvents(5, events));

  const Exposition with = MustScrape(server);
  EXPECT_GE(with.SamplesOf("ringcast_").size(), 10u);
  EXPECT_TRUE(with.LabelValues("topic").count("gone"));
  EXPECT_EQ(with.Value("ringcast_topics"), 2);

  ASSERT_TRUE(DeleteTopicStatus(server, "gone").ok());
  const Exposition without = MustScrape(server);
  EXPECT_EQ(without.LabelValues("topic"), (std::set<std::string>{"", "keep"}));
  EXPECT_EQ(without.Value("ringcast_topics"), 1);
  EXPECT_EQ(without.Value("ringcast_events_published_total", Topic("keep")), 0);
}

// CPU time this process has used, from getrusage.
double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec * 1e-6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

TEST(MetricsTest, ProcessMetricsAndBuildInfoDescribeThisProcess) {
  TestServer server(MetricsOptions());
  // Use at least 50 ms of CPU, so the figure is well above /proc's 10 ms resolution.
  volatile uint64_t sink = 0;
  while (ProcessCpuSeconds() < 0.05) {
    for (int i = 0; i < 100000; ++i) sink = sink + static_cast<uint64_t>(i);
  }
  const double cpu_before = ProcessCpuSeconds();
  const Exposition e = MustScrape(server);
  const double cpu_after = ProcessCpuSeconds();
  EXPECT_EQ(e.Value("ringcast_build_info", {{"version", "0.1.0"}}), 1);
  EXPECT_GT(e.ValueOr0("process_resident_memory_bytes"), 1 << 20);
  EXPECT_GE(e.ValueOr0("process_virtual_memory_bytes"),
            e.ValueOr0("process_resident_memory_bytes"));
  EXPECT_GT(e.ValueOr0("process_open_fds"), 3);
  EXPECT_GE(e.ValueOr0("process_max_fds"), e.ValueOr0("process_open_fds"));
  EXPECT_GE(e.ValueOr0("process_cpu_seconds_total"), cpu_before - 0.02);
  EXPECT_LE(e.ValueOr0("process_cpu_seconds_total"), cpu_after + 0.02);
  // The test process started within the last hour, and not in the future.
  const double now = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());
  const double started = e.ValueOr0("process_start_time_seconds");
  EXPECT_LE(started, now + 1);
  EXPECT_GT(started, now - 3600);
}

TEST(MetricsTest, ExpositionPassesPromtoolCheckMetrics) {
  TestServer server(MetricsOptions());
  server.CreateTopic("lint");
  SubscribeStream subscriber(server.events(), SubscribeFromLatest("lint"));
  ASSERT_EQ(subscriber.WaitForStart(), 0);
  ASSERT_TRUE(PublishOnce(server.events(), MakeBatch("lint", 1, 20)).has_ack());
  ASSERT_TRUE(PublishOnce(server.events(), MakeBatch("", 2, 1)).has_error());
  std::vector<v1::Event> events;
  ASSERT_TRUE(subscriber.ReadEvents(20, events));

  const Exposition e = MustScrape(server);
  const std::string path = absl::StrCat(::testing::TempDir(), "/ringcast_metrics.txt");
  {
    std::ofstream file(path);
    file << e.text();
  }
  const std::string command = absl::StrCat("promtool check metrics < ", path, " 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  while (const std::size_t n = fread(buffer, 1, sizeof(buffer), pipe)) output.append(buffer, n);
  const int status = pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_NE(WEXITSTATUS(status), 127) << "promtool is not installed (Debian package prometheus)";
  EXPECT_EQ(WEXITSTATUS(status), 0) << output << "\n---\n" << e.text();
  std::remove(path.c_str());
}

// The metrics table of docs/metrics.md lists exactly the families the server exports.
TEST(MetricsTest, DocTableListsExactlyTheFamiliesServed) {
  std::ifstream doc(RINGCAST_METRICS_DOC);
  ASSERT_TRUE(doc.is_open()) << RINGCAST_METRICS_DOC;
  std::set<std::string> documented;
  for (std::string line; std::getline(doc, line);) {
    if (!absl::StartsWith(line, "| `ringcast_") && !absl::StartsWith(line, "| `process_")) continue;
    // The first cell: one or more `name`s.
    const std::string cell = line.substr(1, line.find('|', 1) - 1);
    for (std::size_t at = cell.find('`'); at != std::string::npos; at = cell.find('`', at)) {
      const std::size_t end = cell.find('`', at + 1);
      documented.insert(cell.substr(at + 1, end - at - 1));
      at = end + 1;
    }
  }
  TestServer server(MetricsOptions());
  server.CreateTopic("t");  // per-topic families have samples only once a topic exists
  std::set<std::string> served;
  for (const std::string& family : MustScrape(server).Families()) {
    if (!absl::StartsWith(family, "exposer_")) served.insert(family);
  }
  EXPECT_EQ(documented, served);
}

TEST(MetricsTest, EmptyMetricsListenServesNothing) {
  TestServer server(TestOptions());
  EXPECT_EQ(server.server().metrics_port(), 0);
}

TEST(MetricsTest, AMetricsAddressThatCannotBeBoundFailsStartWithAClearMessage) {
  TestServer first(MetricsOptions());
  server::ServerOptions options = MetricsOptions();
  options.metrics_listen = absl::StrCat("127.0.0.1:", first.server().metrics_port());
  const absl::StatusOr<std::unique_ptr<server::Server>> second = server::Server::Start(options);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(Mentions(std::string(second.status().message()), "--metrics_listen"));
  EXPECT_TRUE(Mentions(std::string(second.status().message()), options.metrics_listen));
}

TEST(MetricsTest, OtherPathsAreNotFound) {
  TestServer server(MetricsOptions());
  const absl::StatusOr<std::string> other = HttpGet(server.server().metrics_port(), "/other");
  EXPECT_FALSE(other.ok());
  // The server answered (a connection failure would be UNAVAILABLE), and not with 200.
  EXPECT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition) << other.status();
  EXPECT_TRUE(Mentions(std::string(other.status().message()), "404"));
}

}  // namespace
}  // namespace ringcast::testing
