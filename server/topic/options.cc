#include "ringcast/server/options.h"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"

namespace ringcast::server {

absl::StatusOr<FanoutWaitStrategy> ParseFanoutWaitStrategy(absl::string_view name) {
  if (name == "blocking") return FanoutWaitStrategy::kBlocking;
  if (name == "phased") return FanoutWaitStrategy::kPhased;
  if (name == "yielding") return FanoutWaitStrategy::kYielding;
  if (name == "busy_spin") return FanoutWaitStrategy::kBusySpin;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown wait strategy \"", name, "\"; expected blocking, phased, yielding or busy_spin"));
}

absl::string_view FanoutWaitStrategyName(FanoutWaitStrategy strategy) {
  switch (strategy) {
    case FanoutWaitStrategy::kBlocking:
      return "blocking";
    case FanoutWaitStrategy::kPhased:
      return "phased";
    case FanoutWaitStrategy::kYielding:
      return "yielding";
    case FanoutWaitStrategy::kBusySpin:
      return "busy_spin";
  }
  return "blocking";
}

int ServerOptions::MaxReceiveMessageBytes() const {
  constexpr int64_t kFloor = int64_t{4} << 20;
  constexpr int64_t kFramingAllowance = 64 << 10;
  const int64_t wanted = int64_t{4} * max_event_bytes + kFramingAllowance;
  return static_cast<int>(std::min<int64_t>(std::max(wanted, kFloor), INT32_MAX));
}

namespace {

constexpr uint64_t kMinTransportBytes = uint64_t{64} << 20;
constexpr uint64_t kMinMemoryBudget = uint64_t{128} << 20;

// The first number in `path`, or 0 if it cannot be read or says "max".
uint64_t ReadLimit(const char* path) {
  std::ifstream in(path);
  std::string word;
  if (!(in >> word) || word == "max") return 0;
  uint64_t value = 0;
  for (const char c : word) {
    if (c < '0' || c > '9') return 0;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

}  // namespace

uint64_t MachineMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGESIZE);
  uint64_t bytes = pages > 0 && page > 0
                       ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page)
                       : uint64_t{1} << 30;
  for (const char* path :
       {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    const uint64_t limit = ReadLimit(path);
    if (limit != 0) bytes = std::min(bytes, limit);  // v1 says "no limit" with a huge number
  }
  return bytes;
}

uint64_t ServerOptions::MemoryBudgetBytes() const {
  if (max_memory_bytes != 0) return max_memory_bytes;
  return std::max(kMinMemoryBudget, MachineMemoryBytes() / 4 * 3);
}

uint64_t ServerOptions::TransportMemoryBytes() const {
  return std::max(kMinTransportBytes, MemoryBudgetBytes() / 4);
}

uint64_t ServerOptions::EventMemoryBytes() const {
  return MemoryBudgetBytes() - TransportMemoryBytes();
}

uint64_t ServerOptions::TopicMemoryBytes(uint64_t requested) const {
  return std::min(requested == 0 ? max_topic_bytes : requested, EventMemoryBytes());
}

namespace {

absl::Status PowerOfTwo(absl::string_view flag, uint32_t value) {
  if (value == 0 || !std::has_single_bit(value) || value > (1u << 29)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, "=", value, " must be a power of two between 1 and 536870912"));
  }
  return absl::OkStatus();
}

absl::Status Positive(absl::string_view flag, int64_t value) {
  if (value <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, "=", value, " must be positive"));
  }
  return absl::OkStatus();
}

absl::Status PositiveDuration(absl::string_view flag, absl::Duration value) {
  if (value <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, "=", absl::FormatDuration(value), " must be positive"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateOptions(const ServerOptions& o) {
  if (o.listen.empty()) return absl::InvalidArgumentError("--listen must not be empty");
  for (absl::Status s : {
           PowerOfTwo("default_ring_capacity", o.default_ring_capacity),
           PowerOfTwo("max_ring_capacity", o.max_ring_capacity),
           Positive("max_topics", o.max_topics),
           Positive("max_event_bytes", o.max_event_bytes),
           Positive("max_publish_streams", o.max_publish_streams),
           Positive("max_batch_events", o.max_batch_events),
           Positive("max_response_bytes", o.max_response_bytes),
           Positive("subscriber_queue_bytes", static_cast<int64_t>(o.subscriber_queue_bytes)),
           Positive("max_subscribers_per_topic", o.max_subscribers_per_topic),
           Positive("fanout_threads", o.fanout_threads),
           Positive("journal_threads", o.journal_threads),
           PositiveDuration("journal_sync_interval", o.journal_sync_interval),
           PositiveDuration("segment_age", o.segment_age),
           PositiveDuration("publish_timeout", o.publish_timeout),
           PositiveDuration("slow_subscriber_timeout", o.slow_subscriber_timeout),
           PositiveDuration("keepalive_time", o.keepalive_time),
           PositiveDuration("keepalive_timeout", o.keepalive_timeout),
           PositiveDuration("keepalive_min_ping_interval", o.keepalive_min_ping_interval),
           PositiveDuration("shutdown_timeout", o.shutdown_timeout),
       }) {
    if (!s.ok()) return s;
  }
  if (o.segment_bytes < uint64_t{4} * o.max_event_bytes + (1 << 20)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--segment_bytes=", o.segment_bytes, " must hold a few of the largest events: at least ",
        "4 x --max_event_bytes (", o.max_event_bytes, ") + 1 MiB"));
  }
  if (o.tls_cert_file.empty() != o.tls_key_file.empty()) {
    return absl::InvalidArgumentError("--tls_cert and --tls_key go together");
  }
  if (!o.tls_client_ca_file.empty() && !o.tls()) {
    return absl::InvalidArgumentError("--tls_client_ca needs --tls_cert and --tls_key");
  }
  if (o.tls() && absl::ToInt64Seconds(o.tls_reload_interval) < 1) {
    return absl::InvalidArgumentError("--tls_reload_interval must be at least 1s");
  }
  if (!o.auth_file.empty() && !o.tls() && !o.insecure_plaintext_tokens) {
    return absl::InvalidArgumentError(
        "--auth_file without TLS would take bearer tokens in the clear: add --tls_cert and "
        "--tls_key, or --insecure_plaintext_tokens for a development server");
  }
  if (o.default_ring_capacity > o.max_ring_capacity) {
    return absl::InvalidArgumentError(
        absl::StrCat("--default_ring_capacity=", o.default_ring_capacity,
                     " is above --max_ring_capacity=", o.max_ring_capacity));
  }
  if (o.max_event_bytes > (256u << 20)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_event_bytes=", o.max_event_bytes, " is above the 256 MiB limit"));
  }
  if (o.max_memory_bytes != 0 && o.max_memory_bytes < kMinMemoryBudget) {
    return absl::InvalidArgumentError(absl::StrCat("--max_memory_bytes=", o.max_memory_bytes,
                                                   " is below the 128 MiB minimum (or 0: derived "
                                                   "from the machine)"));
  }
  if (o.max_topic_bytes < uint64_t{2} * o.max_event_bytes + (64 << 10)) {
    return absl::InvalidArgumentError(absl::StrCat("--max_topic_bytes=", o.max_topic_bytes,
                                                   " must hold at least two of the largest events: "
                                                   "2 x --max_event_bytes (",
                                                   o.max_event_bytes, ") + 64 KiB"));
  }
  if (o.fanout_threads > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("--fanout_threads=", o.fanout_threads, " is above 256"));
  }
  return absl::OkStatus();
}

}  // namespace ringcast::server
