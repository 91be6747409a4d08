// ringcast-metrics-bench: what the metrics cost end to end. Rounds alternate between a server with
// /metrics on (scraped every --scrape_interval while the round runs, so the scrapes are part of
// the cost) and one with --metrics_listen="" (no endpoint, no latency histograms); each round
// starts a fresh in-process server on 127.0.0.1, publishes --events events in batches of --batch
// x --event_bytes over one Publish stream and fans them out to --subscribers RELIABLE
// subscribers. Every subscriber must receive every event (the round fails otherwise), and in the
// metrics-on rounds the scraped ringcast_events_delivered_total must equal what was received.
//
// The clients are lean on purpose, so the server's share of the CPU is as large as it can be: the
// publisher writes one pre-encoded request over and over, and subscribers count events in the raw
// response bytes without parsing them.
//
// Output: one JSON object per round, then a summary object (median, min, max per mode, and the
// ratio of the medians); or a table.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "bench/core/report.h"
#include "bench/load/raw_client.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/sync_stream.h"
#include "observability/log.h"
#include "observability/metrics_scrape.h"
#include "ringcast/server/server.h"
#include "ringcast/v1/ringcast.pb.h"

ABSL_FLAG(int, rounds, 7, "rounds per mode (metrics on, off), interleaved");
ABSL_FLAG(int, warmup, 1, "rounds of each mode run first and not counted");
ABSL_FLAG(int64_t, events, 2'000'000, "events published per round");
ABSL_FLAG(int, subscribers, 4, "RELIABLE subscribers, each on its own connection");
ABSL_FLAG(int, batch, 100, "events per publish batch");
ABSL_FLAG(int, event_bytes, 64, "payload bytes per event");
ABSL_FLAG(absl::Duration, scrape_interval, absl::Seconds(1),
          "how often metrics-on rounds scrape /metrics");
ABSL_FLAG(std::string, format, "json", "json (one object per round, then a summary) or table");

namespace ringcast::bench {
namespace {

namespace v1 = ::ringcast::v1;
using Clock = std::chrono::steady_clock;

struct Config {
  int rounds;
  int warmup;
  int64_t events;
  int subscribers;
  int batch;
  int event_bytes;
  absl::Duration scrape_interval;
  bool json;
};

struct Round {
  bool metrics = false;
  int index = 0;
  double seconds = 0;          // first publish to the last subscriber's last event
  double publish_seconds = 0;  // first publish to the last ack
  int scrapes = 0;
  std::string error;  // empty if every check passed
};

const grpc::internal::RpcMethod kPublish("/ringcast.v1.EventService/Publish",
                                         grpc::internal::RpcMethod::BIDI_STREAMING);
const grpc::internal::RpcMethod kSubscribe("/ringcast.v1.EventService/Subscribe",
                                           grpc::internal::RpcMethod::SERVER_STREAMING);

Round RunRound(const Config& config, bool metrics, int index) {
  Round round{.metrics = metrics, .index = index};
  server::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.metrics_listen = metrics ? "127.0.0.1:0" : "";
  options.default_ring_capacity = 65536;
  auto server = server::Server::Start(options);
  if (!server.ok()) {
    round.error = std::string(server.status().message());
    return round;
  }
  const std::string target = absl::StrCat("127.0.0.1:", (*server)->port());
  const int64_t total = config.events / config.batch * config.batch;

  // Subscribers first, each on its own connection, all registered before anything is published.
  std::vector<std::thread> subscribers;
  std::atomic<int> started{0};
  std::atomic<int64_t> received{0};
  std::atomic<int> failed{0};
  Clock::time_point last_event_at{};
  std::mutex last_mu;
  for (int s = 0; s < config.subscribers; ++s) {
    subscribers.emplace_back([&] {
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
      auto channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
      v1::SubscribeRequest request;
      request.set_topic("bench");
      request.set_max_batch_events(4096);
      grpc::ClientContext context;
      std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader(
          grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(channel.get(), kSubscribe,
                                                                        &context, request));
      reader->WaitForInitialMetadata();
      started.fetch_add(1);
      int64_t mine = 0;
      grpc::ByteBuffer response;
      while (mine < total && reader->Read(&response)) {
        const int64_t n = CountEvents(response);
        if (n < 0) break;
        mine += n;
      }
      received.fetch_add(mine);
      if (mine != total) failed.fetch_add(1);
      {
        std::lock_guard<std::mutex> lock(last_mu);
        last_event_at = std::max(last_event_at, Clock::now());
      }
      context.TryCancel();
      static_cast<void>(reader->Finish());
    });
  }
  while (started.load() < config.subscribers)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));

  // Scrapes while the round runs, as Prometheus would (only with metrics on).
  std::atomic<bool> done{false};
  std::thread scraper;
  if (metrics) {
    scraper = std::thread([&] {
      while (!done.load()) {
        if (testing::Scrape((*server)->metrics_port()).ok()) ++round.scrapes;
        const Clock::time_point until =
            Clock::now() + absl::ToChronoNanoseconds(config.scrape_interval);
        while (!done.load() && Clock::now() < until) {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
      }
    });
  }

  // One publish stream: a writer of the same pre-encoded batch and a reader of the acks.
  v1::PublishRequest batch;
  batch.set_topic("bench");
  for (int i = 0; i < config.batch; ++i) {
    batch.add_events()->set_payload(std::string(static_cast<std::size_t>(config.event_bytes), 'x'));
  }
  const grpc::ByteBuffer encoded = Encode(batch);
  auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  grpc::ClientContext publish_context;
  std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>> stream(
      grpc::internal::ClientReaderWriterFactory<grpc::ByteBuffer, grpc::ByteBuffer>::Create(
          channel.get(), kPublish, &publish_context));
  const Clock::time_point start = Clock::now();
  std::thread writer([&] {
    for (int64_t sent = 0; sent < total; sent += config.batch) {
      grpc::ByteBuffer copy(encoded);  // shares the slices
      if (!stream->Write(copy)) break;
    }
    stream->WritesDone();
  });
  int64_t acked = 0;
  grpc::ByteBuffer ack_bytes;
  v1::PublishResponse ack;
  while (acked < total && stream->Read(&ack_bytes)) {
    if (!grpc::GenericDeserialize<grpc::ProtoBufferReader, v1::PublishResponse>(&ack_bytes, &ack)
             .ok() ||
        !ack.has_ack()) {
      round.error = absl::StrCat("publish rejected: ", ack.error().message());
      break;
    }
    acked += ack.ack().count();
  }
  round.publish_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  writer.join();
  static_cast<void>(stream->Finish());
  for (auto& t : subscribers) t.join();
  round.seconds = std::chrono::duration<double>(last_event_at - start).count();
  done.store(true);
  if (scraper.joinable()) scraper.join();

  if (round.error.empty() && failed.load() != 0) {
    round.error =
        absl::StrCat(failed.load(), " subscribers did not receive all ", total, " events");
  }
  if (round.error.empty() && metrics) {
    // The endpoint's count of what was delivered agrees with what the subscribers received.
    bool agreed = false;
    for (int attempt = 0; attempt < 200 && !agreed; ++attempt) {
      const auto scraped = testing::Scrape((*server)->metrics_port());
      agreed = scraped.ok() &&
               scraped->ValueOr0("ringcast_events_delivered_total", {{"topic", "bench"}}) ==
                   static_cast<double>(received.load());
      if (!agreed) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!agreed) round.error = "ringcast_events_delivered_total disagrees with the subscribers";
  }
  return round;
}

double DeliveredPerSecond(const Config& config, const Round& r) {
  const int64_t total = config.events / config.batch * config.batch;
  return r.seconds > 0 ? static_cast<double>(total) * config.subscribers / r.seconds : 0;
}

double PublishedPerSecond(const Config& config, const Round& r) {
  const int64_t total = config.events / config.batch * config.batch;
  return r.publish_seconds > 0 ? static_cast<double>(total) / r.publish_seconds : 0;
}

struct Spread {
  double median = 0;
  double min = 0;
  double max = 0;
};

Spread SpreadOf(std::vector<double> values) {
  if (values.empty()) return {};
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  const double median = values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
  return {median, values.front(), values.back()};
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Measures the end-to-end cost of ringcastd's metrics: alternating rounds with /metrics on "
      "(and scraped) and off, on an in-process server.");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  const Config config{.rounds = absl::GetFlag(FLAGS_rounds),
                      .warmup = absl::GetFlag(FLAGS_warmup),
                      .events = absl::GetFlag(FLAGS_events),
                      .subscribers = absl::GetFlag(FLAGS_subscribers),
                      .batch = absl::GetFlag(FLAGS_batch),
                      .event_bytes = absl::GetFlag(FLAGS_event_bytes),
                      .scrape_interval = absl::GetFlag(FLAGS_scrape_interval),
                      .json = absl::GetFlag(FLAGS_format) == "json"};
  if (config.rounds < 1 || config.warmup < 0 || config.batch < 1 || config.events < config.batch ||
      config.subscribers < 1 || config.event_bytes < 0) {
    std::fprintf(stderr, "need --rounds >= 1, --subscribers >= 1, --events >= --batch >= 1\n");
    return 2;
  }
  server::SetLogEnabled(false);
  const Machine machine = DescribeMachine(AllowedCpus());
  std::vector<std::string> command(argv, argv + argc);
  if (!config.json) {
    absl::PrintF("# %s\n# %s, %d CPUs usable, %s\n", absl::StrJoin(command, " "), machine.cpu_model,
                 machine.cpus.size(), machine.kernel);
  }

  for (int i = 0; i < 2 * config.warmup; ++i) {
    if (const Round r = RunRound(config, i % 2 == 1, 0); !r.error.empty()) {
      std::fprintf(stderr, "warm-up round failed: %s\n", r.error.c_str());
      return 1;
    }
  }
  std::vector<double> on;
  std::vector<double> off;
  bool all_ok = true;
  for (int i = 0; i < 2 * config.rounds; ++i) {
    // off, on, on, off, off, on, ...: neither mode always goes first.
    const bool metrics = (i % 4 == 1 || i % 4 == 2);
    const Round r = RunRound(config, metrics, i / 2 + 1);
    all_ok &= r.error.empty();
    const double delivered = DeliveredPerSecond(config, r);
    (metrics ? on : off).push_back(delivered);
    if (config.json) {
      Json line = {{"bench", "metrics_overhead"},
                   {"metrics", metrics},
                   {"round", r.index},
                   {"subscribers", config.subscribers},
                   {"batch", config.batch},
                   {"event_bytes", config.event_bytes},
                   {"events", config.events / config.batch * config.batch},
                   {"seconds", Rounded(r.seconds, 6)},
                   {"published_events_per_sec", Rounded(PublishedPerSecond(config, r), 0)},
                   {"delivered_events_per_sec", Rounded(delivered, 0)},
                   {"scrapes", r.scrapes},
                   {"verified", r.error.empty()}};
      if (!r.error.empty()) line["error"] = r.error;
      absl::PrintF("%s\n", JsonText(line));
    } else {
      absl::PrintF("metrics %-3s round %d: %12.0f delivered events/s  %10.0f published/s%s\n",
                   metrics ? "on" : "off", r.index, delivered, PublishedPerSecond(config, r),
                   r.error.empty() ? "" : absl::StrCat("  FAILED: ", r.error));
    }
    std::fflush(stdout);
  }
  const Spread s_on = SpreadOf(on);
  const Spread s_off = SpreadOf(off);
  const double ratio = s_off.median > 0 ? s_on.median / s_off.median : 0;
  if (config.json) {
    const Json line = {{"bench", "metrics_overhead"},
                       {"summary", true},
                       {"rounds", config.rounds},
                       {"nproc", machine.cpus.size()},
                       {"cpu", machine.cpu_model},
                       {"on_median", Rounded(s_on.median, 0)},
                       {"on_min", Rounded(s_on.min, 0)},
                       {"on_max", Rounded(s_on.max, 0)},
                       {"off_median", Rounded(s_off.median, 0)},
                       {"off_min", Rounded(s_off.min, 0)},
                       {"off_max", Rounded(s_off.max, 0)},
                       {"on_over_off", Rounded(ratio, 4)},
                       {"verified", all_ok}};
    absl::PrintF("%s\n", JsonText(line));
  } else {
    absl::PrintF(
        "metrics on : median %.0f (%.0f-%.0f) delivered events/s\n"
        "metrics off: median %.0f (%.0f-%.0f) delivered events/s\n"
        "on / off   : %.4f\n",
        s_on.median, s_on.min, s_on.max, s_off.median, s_off.min, s_off.max, ratio);
  }
  return all_ok ? 0 : 1;
}

}  // namespace
}  // namespace ringcast::bench

int main(int argc, char** argv) { return ringcast::bench::Main(argc, argv); }
