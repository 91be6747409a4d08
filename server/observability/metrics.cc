#include "observability/metrics.h"

#include <dirent.h>
#include <netdb.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <sstream>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "prometheus/exposer.h"

#include "observability/latency_histogram.h"
#include "topic/topic.h"
#include "topic/topic_registry.h"

#ifndef RINGCAST_VERSION
#define RINGCAST_VERSION "unknown"
#endif

namespace ringcast::server {

namespace {

// Open fds of this process (the directory listing's own fd excluded).
int CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int count = 0;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count - 1;
}

// Seconds since the epoch at which the machine booted (/proc/stat btime).
bool ReadBootTime(double& boot_time) {
  std::ifstream stat("/proc/stat");
  std::string key;
  while (stat >> key) {
    if (key == "btime") return static_cast<bool>(stat >> boot_time);
    stat.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return false;
}

}  // namespace

bool ReadProcessStats(ProcessStats& stats) {
  std::ifstream file("/proc/self/stat");
  const std::string line((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  // The command name (field 2) is in parentheses and may hold anything, ')' included.
  const std::size_t comm_end = line.rfind(')');
  if (comm_end == std::string::npos) return false;
  std::istringstream fields(line.substr(comm_end + 1));
  // Fields from 3 (state) on; see proc(5).
  std::string field;
  double utime = 0, stime = 0, start_ticks = 0, vsize = 0, rss_pages = 0;
  for (int index = 3; fields >> field && index <= 24; ++index) {
    switch (index) {
      case 14:
        utime = std::stod(field);
        break;
      case 15:
        stime = std::stod(field);
        break;
      case 22:
        start_ticks = std::stod(field);
        break;
      case 23:
        vsize = std::stod(field);
        break;
      case 24:
        rss_pages = std::stod(field);
        break;
      default:
        break;
    }
  }
  const auto ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const auto page_size = static_cast<double>(sysconf(_SC_PAGESIZE));
  double boot_time = 0;
  if (ticks <= 0 || page_size <= 0 || !ReadBootTime(boot_time)) return false;
  stats.cpu_seconds = (utime + stime) / ticks;
  stats.start_time_seconds = boot_time + start_ticks / ticks;
  stats.virtual_memory_bytes = vsize;
  stats.resident_memory_bytes = rss_pages * page_size;
  stats.open_fds = CountOpenFds();
  rlimit limit{};
  stats.max_fds = getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY
                      ? static_cast<double>(limit.rlim_cur)
                      : -1;
  return true;
}

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily Family(std::string name, std::string help, MetricType type) {
  return MetricFamily{std::move(name), std::move(help), type, {}};
}

ClientMetric::Label TopicLabel(const Topic& topic) { return {"topic", topic.name()}; }

void AddCounter(MetricFamily& family, std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric metric;
  metric.label = std::move(labels);
  metric.counter.value = value;
  family.metric.push_back(std::move(metric));
}

void AddGauge(MetricFamily& family, std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric metric;
  metric.label = std::move(labels);
  metric.gauge.value = value;
  family.metric.push_back(std::move(metric));
}

void AddHistogram(MetricFamily& family, std::vector<ClientMetric::Label> labels,
                  const LatencyHistogram& histogram) {
  const LatencyHistogram::Snapshot snapshot = histogram.Read();
  ClientMetric metric;
  metric.label = std::move(labels);
  metric.histogram.sample_count = snapshot.count;
  metric.histogram.sample_sum = snapshot.sum_seconds;
  uint64_t cumulative = 0;
  for (std::size_t b = 0; b < LatencyHistogram::kBuckets; ++b) {
    cumulative += snapshot.buckets[b];
    const double bound = b < LatencyHistogram::kBoundsNanos.size()
                             ? static_cast<double>(LatencyHistogram::kBoundsNanos[b]) * 1e-9
                             : std::numeric_limits<double>::infinity();
    metric.histogram.bucket.push_back(ClientMetric::Bucket{cumulative, bound});
  }
  family.metric.push_back(std::move(metric));
}

void AddRejected(MetricFamily& family, const std::string& topic, const RejectCounters& counters) {
  for (std::size_t r = 0; r < kRejectReasonCount; ++r) {
    const auto reason = static_cast<RejectReason>(r);
    AddCounter(family, {{"topic", topic}, {"reason", std::string(RejectReasonName(reason))}},
               static_cast<double>(counters.Get(reason)));
  }
}

double AsDouble(const std::atomic<uint64_t>& counter) {
  return static_cast<double>(counter.load(std::memory_order_relaxed));
}

}  // namespace

std::vector<MetricFamily> MetricsCollector::Collect() const {
  auto published = Family("ringcast_events_published_total", "Events accepted into a ring.",
                          MetricType::Counter);
  auto batches =
      Family("ringcast_publish_batches_total", "Publish batches accepted.", MetricType::Counter);
  auto rejected = Family("ringcast_publish_rejected_total",
                         "Publish batches rejected, by reason. topic is empty when the batch "
                         "named no live topic.",
                         MetricType::Counter);
  auto delivered =
      Family("ringcast_events_delivered_total",
             "Events handed to subscriber streams (each subscriber counts).", MetricType::Counter);
  auto skipped = Family("ringcast_events_skipped_total",
                        "Events LOSSY subscribers skipped because the ring overwrote them.",
                        MetricType::Counter);
  auto disconnects =
      Family("ringcast_slow_subscriber_disconnects_total",
             "RELIABLE subscribers cut off for holding up a full ring.", MetricType::Counter);
  auto publish_latency =
      Family("ringcast_publish_latency_seconds",
             "Publish request read to its response handed to gRPC.", MetricType::Histogram);
  auto delivery_latency =
      Family("ringcast_delivery_latency_seconds",
             "Event accepted into the ring to the write carrying it handed to gRPC, per "
             "subscriber; replays of events published before the subscription are left out.",
             MetricType::Histogram);
  auto blocked = Family("ringcast_publish_blocked_seconds_total",
                        "Time publish streams waited on a full ring.", MetricType::Counter);
  auto capacity = Family("ringcast_ring_capacity", "Ring capacity in events (the retention).",
                         MetricType::Gauge);
  auto occupancy = Family("ringcast_ring_occupancy",
                          "Events published but not yet released by the slowest gating sequence.",
                          MetricType::Gauge);
  auto backpressure =
      Family("ringcast_backpressure_ratio",
             "Ring occupancy over capacity, 0 to 1; at 1 publishers wait.", MetricType::Gauge);
  auto lag = Family("ringcast_subscriber_lag_max",
                    "Events between the last published sequence and the slowest subscriber's last "
                    "sequence handed to gRPC.",
                    MetricType::Gauge);
  auto subscribers = Family("ringcast_subscribers", "Live subscriptions.", MetricType::Gauge);
  auto failures = Family("ringcast_stage_failures_total",
                         "Topics whose pipeline stage failed (an exception it could not contain "
                         "otherwise): their streams ended with INTERNAL.",
                         MetricType::Counter);

  auto topic_bytes = Family("ringcast_topic_bytes",
                            "Bytes of event buffers the topic's ring holds (its slots' buffers).",
                            MetricType::Gauge);
  auto topic_max_bytes = Family(
      "ringcast_topic_max_bytes",
      "The topic's byte budget: publishers wait when its ring holds this much.", MetricType::Gauge);

  auto journal_bytes =
      Family("ringcast_journal_bytes", "Bytes of the durable topic's journal segment files.",
             MetricType::Gauge);
  auto journal_segments =
      Family("ringcast_journal_segments", "Segment files of the durable topic's journal.",
             MetricType::Gauge);
  auto journal_sequence =
      Family("ringcast_journal_sequence",
             "The last sequence the durable topic journaled (under --journal_sync=always: synced); "
             "subscribers and acknowledgements go no further.",
             MetricType::Gauge);
  auto replayed = Family("ringcast_events_replayed_from_disk_total",
                         "Events sent to subscribers from the journal (older than the ring).",
                         MetricType::Counter);
  auto segments_deleted =
      Family("ringcast_journal_segments_deleted_total",
             "Segment files the durable topic's retention deleted (--retention_bytes, "
             "--retention_age or the topic's own).",
             MetricType::Counter);
  auto journal_refusing =
      Family("ringcast_journal_refusing",
             "1 while the durable topic refuses batches because its journal cannot take them (the "
             "disk is full or under --min_free_bytes, or a sync failed).",
             MetricType::Gauge);

  for (const std::shared_ptr<Topic>& topic : sources_.topics.List()) {
    const TopicCounters& c = topic->counters();
    const std::vector<ClientMetric::Label> by_topic = {TopicLabel(*topic)};
    AddCounter(published, by_topic, AsDouble(c.events_published));
    AddCounter(batches, by_topic, AsDouble(c.batches_published));
    AddRejected(rejected, topic->name(), c.rejected);
    AddCounter(delivered, by_topic, AsDouble(c.events_delivered));
    AddCounter(skipped, by_topic, AsDouble(c.events_skipped));
    AddCounter(disconnects, by_topic, AsDouble(c.slow_subscriber_disconnects));
    AddCounter(blocked, by_topic, AsDouble(c.publish_blocked_nanos) * 1e-9);
    AddCounter(failures, by_topic, AsDouble(c.stage_failures));
    if (topic->delivery_latency() != nullptr) {
      AddHistogram(delivery_latency, by_topic, *topic->delivery_latency());
    }
    AddGauge(capacity, by_topic, topic->capacity());
    const int64_t used = topic->Occupancy();
    AddGauge(occupancy, by_topic, static_cast<double>(used));
    AddGauge(backpressure, by_topic, static_cast<double>(used) / topic->capacity());
    AddGauge(lag, by_topic, static_cast<double>(topic->SubscriberLagMax()));
    AddGauge(subscribers, by_topic, topic->subscriber_count());
    AddGauge(topic_bytes, by_topic, static_cast<double>(topic->bytes()));
    AddGauge(topic_max_bytes, by_topic, static_cast<double>(topic->max_bytes()));
    if (const JournalStage* stage = topic->journal_stage(); stage != nullptr) {
      AddGauge(journal_bytes, by_topic, static_cast<double>(stage->journal().bytes()));
      AddGauge(journal_segments, by_topic, stage->journal().segments());
      AddGauge(journal_sequence, by_topic, static_cast<double>(stage->position().Get()));
      AddCounter(replayed, by_topic, AsDouble(c.events_replayed_from_disk));
      AddCounter(segments_deleted, by_topic, AsDouble(c.journal_segments_deleted));
      AddGauge(journal_refusing, by_topic, topic->refusing() ? 1 : 0);
    }
  }
  AddRejected(rejected, "", sources_.rejected_without_topic);
  auto auth_failures = Family(
      "ringcast_auth_failures_total",
      "Calls refused for their credentials (reason unauthenticated: no, unknown or malformed "
      "token or certificate) or their rights (reason denied: a call or publish batch the "
      "principal may not make), with --auth_file.",
      MetricType::Counter);
  if (sources_.authentication_failures && sources_.denials) {
    AddCounter(auth_failures, {{"reason", "unauthenticated"}},
               static_cast<double>(sources_.authentication_failures()));
    AddCounter(auth_failures, {{"reason", "denied"}}, static_cast<double>(sources_.denials()));
  }
  if (sources_.publish_latency != nullptr) {
    AddHistogram(publish_latency, {}, *sources_.publish_latency);
  }

  auto topics = Family("ringcast_topics", "Topics.", MetricType::Gauge);
  AddGauge(topics, {}, static_cast<double>(capacity.metric.size()));
  auto streams = Family("ringcast_publish_streams", "Open publish streams.", MetricType::Gauge);
  AddGauge(streams, {}, static_cast<double>(sources_.publish_streams.count()));
  auto memory_budget = Family(
      "ringcast_memory_budget_bytes",
      "The server's memory budget (--max_memory_bytes) by pool: `events` for the topics' rings and "
      "the runs queued for subscribers, `transport` for gRPC's buffers.",
      MetricType::Gauge);
  const MemoryBudget& events_memory = sources_.topics.memory();
  AddGauge(memory_budget, {{"pool", "events"}}, static_cast<double>(events_memory.limit()));
  AddGauge(memory_budget, {{"pool", "transport"}},
           static_cast<double>(sources_.transport_memory_bytes));
  auto memory_used = Family("ringcast_memory_used_bytes",
                            "What the `events` pool of the memory budget has in use; a batch that "
                            "would take it past the budget is refused (reason `memory`).",
                            MetricType::Gauge);
  AddGauge(memory_used, {{"pool", "events"}}, static_cast<double>(events_memory.used()));
  auto sync_latency =
      Family("ringcast_journal_sync_seconds",
             "fdatasync of a topic's journal: one per group commit.", MetricType::Histogram);
  auto recovery = Family("ringcast_journal_recovery_seconds",
                         "How long start-up took to open the data directory and recover every "
                         "topic's journal.",
                         MetricType::Gauge);
  auto truncated = Family("ringcast_journal_truncated_bytes_total",
                          "Bytes recovery cut from torn journal tails (a crash mid-write).",
                          MetricType::Counter);
  auto disk_free = Family("ringcast_disk_free_bytes",
                          "Free bytes on the data directory's disk; batches are refused below "
                          "--min_free_bytes.",
                          MetricType::Gauge);
  if (sources_.topics.durable()) {
    AddHistogram(sync_latency, {}, sources_.topics.journal_sync_latency());
    AddGauge(recovery, {}, sources_.topics.recovery_seconds());
    AddCounter(truncated, {}, static_cast<double>(sources_.topics.journal_truncated_bytes()));
    AddGauge(disk_free, {}, static_cast<double>(sources_.topics.DiskFreeBytes()));
  }
  auto build = Family("ringcast_build_info", "The ringcastd build; always 1.", MetricType::Gauge);
  AddGauge(build, {{"version", RINGCAST_VERSION}}, 1);

  std::vector<MetricFamily> families;
  for (MetricFamily* family : {&published,
                               &batches,
                               &rejected,
                               &delivered,
                               &skipped,
                               &disconnects,
                               &publish_latency,
                               &delivery_latency,
                               &blocked,
                               &capacity,
                               &occupancy,
                               &backpressure,
                               &lag,
                               &subscribers,
                               &failures,
                               &topic_bytes,
                               &topic_max_bytes,
                               &topics,
                               &streams,
                               &memory_budget,
                               &memory_used,
                               &journal_bytes,
                               &journal_segments,
                               &journal_sequence,
                               &replayed,
                               &segments_deleted,
                               &journal_refusing,
                               &sync_latency,
                               &recovery,
                               &truncated,
                               &disk_free,
                               &auth_failures,
                               &build}) {
    families.push_back(std::move(*family));
  }

  ProcessStats process;
  if (ReadProcessStats(process)) {
    auto add = [&](const char* name, const char* help, MetricType type, double value) {
      MetricFamily family = Family(name, help, type);
      if (type == MetricType::Counter) {
        AddCounter(family, {}, value);
      } else {
        AddGauge(family, {}, value);
      }
      families.push_back(std::move(family));
    };
    add("process_cpu_seconds_total", "CPU time (user and system) used by ringcastd, in seconds.",
        MetricType::Counter, process.cpu_seconds);
    add("process_resident_memory_bytes", "Resident set size of ringcastd, in bytes.",
        MetricType::Gauge, process.resident_memory_bytes);
    add("process_virtual_memory_bytes", "Virtual memory size of ringcastd, in bytes.",
        MetricType::Gauge, process.virtual_memory_bytes);
    add("process_open_fds", "File descriptors ringcastd has open.", MetricType::Gauge,
        process.open_fds);
    if (process.max_fds >= 0) {
      add("process_max_fds", "The soft limit on open file descriptors (RLIMIT_NOFILE).",
          MetricType::Gauge, process.max_fds);
    }
    add("process_start_time_seconds", "When ringcastd started, in seconds since the Unix epoch.",
        MetricType::Gauge, process.start_time_seconds);
  }
  return families;
}

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(
    const std::string& address, const MetricsSources& sources) {
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    exposer = std::make_unique<prometheus::Exposer>(address, /*num_threads=*/2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", address, " (--metrics_listen): ", e.what()));
  }
  return std::unique_ptr<MetricsEndpoint>(new MetricsEndpoint(
      address, std::move(exposer), std::make_shared<MetricsCollector>(sources)));
}

MetricsEndpoint::MetricsEndpoint(std::string address, std::unique_ptr<prometheus::Exposer> exposer,
                                 std::shared_ptr<MetricsCollector> collector)
    : address_(std::move(address)), exposer_(std::move(exposer)), collector_(std::move(collector)) {
  exposer_->RegisterCollectable(collector_, "/metrics");
  const std::vector<int> ports = exposer_->GetListeningPorts();
  port_ = ports.empty() ? 0 : ports.front();
}

namespace {

// Opens and closes one TCP connection to `host`:`port`, ignoring failure.
void Knock(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    const bool connected = connect(fd, a->ai_addr, a->ai_addrlen) == 0;
    close(fd);
    if (connected) break;
  }
  freeaddrinfo(found);
}

// The host to connect to in order to reach a server bound to `address`.
std::string ReachableHost(const std::string& address) {
  const std::size_t colon = address.rfind(':');
  std::string host = colon == std::string::npos ? "" : address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || host == "0.0.0.0") return "127.0.0.1";
  if (host == "::") return "::1";
  return host;
}

}  // namespace

MetricsEndpoint::~MetricsEndpoint() {
  // The HTTP server's accept loop polls in 2-second rounds and looks at its stop flag only between
  // them, so stopping it would take up to 2 s. While it stops, knock on its port: the connection
  // ends the round at once.
  std::atomic<bool> stopped{false};
  std::thread knocker([&] {
    const std::string host = ReachableHost(address_);
    while (!stopped.load(std::memory_order_acquire)) {
      Knock(host, port_);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  exposer_.reset();
  stopped.store(true, std::memory_order_release);
  knocker.join();
}

}  // namespace ringcast::server
