// Prometheus metrics: the families of the design, computed when /metrics is scraped.
//
// Nothing here runs per event. The stages keep their own counters and fold them into TopicCounters
// once per batch or round; latency histograms are LatencyHistograms. At scrape time
// MetricsCollector reads those, walks the live topics and reads the gauges (occupancy,
// backpressure, subscriber lag, subscribers) from the sequences. A deleted topic is no longer
// listed, so its series disappear with it, and the `topic` label only ever carries the name of an
// existing (validated) topic: there are at most --max_topics values.
//
// Thread safety: Collect runs on the exposer's threads; it only reads atomics and takes the
// registry's and each topic's directory lock briefly.
#ifndef RINGCAST_SERVER_OBSERVABILITY_METRICS_H_
#define RINGCAST_SERVER_OBSERVABILITY_METRICS_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "observability/latency_histogram.h"
#include "observability/reject_reason.h"
#include "observability/stream_counter.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace prometheus {
class Exposer;
}  // namespace prometheus

namespace ringcast::server {

class TopicRegistry;

// What the metrics are computed from; every reference must outlive the endpoint.
struct MetricsSources {
  const TopicRegistry& topics;
  const StreamCounter& publish_streams;
  // Rejected batches that name no live topic.
  const RejectCounters& rejected_without_topic;
  const LatencyHistogram* publish_latency;  // null when not measured
  // The gRPC transport's share of the memory budget (ServerOptions::TransportMemoryBytes).
  uint64_t transport_memory_bytes = 0;
  // Calls refused UNAUTHENTICATED, and calls or batches refused PERMISSION_DENIED (--auth_file);
  // left out when empty.
  std::function<uint64_t()> authentication_failures;
  std::function<uint64_t()> denials;
};

// The standard process_* figures, read from /proc/self.
struct ProcessStats {
  double cpu_seconds = 0;
  double resident_memory_bytes = 0;
  double virtual_memory_bytes = 0;
  double open_fds = 0;
  double max_fds = 0;
  double start_time_seconds = 0;  // since the Unix epoch
};
// False if /proc could not be read (the process_* families are then left out).
bool ReadProcessStats(ProcessStats& stats);

class MetricsCollector final : public prometheus::Collectable {
 public:
  explicit MetricsCollector(MetricsSources sources) : sources_(sources) {}

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const MetricsSources sources_;
};

// The HTTP endpoint serving MetricsCollector on /metrics.
class MetricsEndpoint {
 public:
  // Binds `address` (host:port). UNAVAILABLE naming the address if it cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(const std::string& address,
                                                                const MetricsSources& sources);
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;
  // Stops serving; returns within milliseconds (see the definition).
  ~MetricsEndpoint();

  // The bound port.
  [[nodiscard]] int port() const noexcept { return port_; }

 private:
  MetricsEndpoint(std::string address, std::unique_ptr<prometheus::Exposer> exposer,
                  std::shared_ptr<MetricsCollector> collector);

  const std::string address_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<MetricsCollector> collector_;
  int port_ = 0;
};

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_OBSERVABILITY_METRICS_H_
