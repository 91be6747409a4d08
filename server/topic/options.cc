#include "ringcast/server/options.h"

#include <algorithm>
#include <bit>

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
           PositiveDuration("publish_timeout", o.publish_timeout),
           PositiveDuration("slow_subscriber_timeout", o.slow_subscriber_timeout),
           PositiveDuration("keepalive_time", o.keepalive_time),
           PositiveDuration("keepalive_timeout", o.keepalive_timeout),
           PositiveDuration("keepalive_min_ping_interval", o.keepalive_min_ping_interval),
           PositiveDuration("shutdown_timeout", o.shutdown_timeout),
       }) {
    if (!s.ok()) return s;
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
  if (o.fanout_threads > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("--fanout_threads=", o.fanout_threads, " is above 256"));
  }
  return absl::OkStatus();
}

}  // namespace ringcast::server
