// Why a publish batch was rejected, and per-reason counters of rejected batches.
#ifndef RINGCAST_SERVER_OBSERVABILITY_REJECT_REASON_H_
#define RINGCAST_SERVER_OBSERVABILITY_REJECT_REASON_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace ringcast::server {

// Why a publish batch was rejected: the `reason` label of ringcast_publish_rejected_total.
enum class RejectReason {
  kInvalid,       // malformed request, bad topic name, empty batch
  kTooLarge,      // an event over --max_event_bytes, a batch larger than the ring or half its bytes
  kBackpressure,  // the ring stayed full for --publish_timeout
  kNotFound,      // unknown topic with auto-create off, or the topic was deleted
  kShutdown,      // the server is shutting down
  kTopicLimit,    // auto-create refused: --max_topics topics exist already
  kInternal,      // the topic failed (a stage of its pipeline could not go on)
  kMemory,        // the server's memory budget (--max_memory_bytes) had no room for the batch
  kJournal,       // the topic's journal cannot take it: disk full, or a failed sync
  kUnauthenticated,  // the publish stream had no valid credentials (--auth_file)
  kDenied,           // the principal may not publish to the topic
};
inline constexpr std::size_t kRejectReasonCount = 11;

// The label value.
[[nodiscard]] constexpr absl::string_view RejectReasonName(RejectReason reason) {
  switch (reason) {
    case RejectReason::kInvalid:
      return "invalid";
    case RejectReason::kTooLarge:
      return "too_large";
    case RejectReason::kBackpressure:
      return "backpressure";
    case RejectReason::kNotFound:
      return "not_found";
    case RejectReason::kShutdown:
      return "shutdown";
    case RejectReason::kTopicLimit:
      return "topic_limit";
    case RejectReason::kInternal:
      return "internal";
    case RejectReason::kMemory:
      return "memory";
    case RejectReason::kJournal:
      return "journal";
    case RejectReason::kUnauthenticated:
      return "unauthenticated";
    case RejectReason::kDenied:
      return "denied";
  }
  return "unknown";
}

// Rejected batches by reason, counted once per batch.
class RejectCounters {
 public:
  void Add(RejectReason reason) noexcept {
    counts_[static_cast<std::size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
  }
  [[nodiscard]] uint64_t Get(RejectReason reason) const noexcept {
    return counts_[static_cast<std::size_t>(reason)].load(std::memory_order_relaxed);
  }

 private:
  std::array<std::atomic<uint64_t>, kRejectReasonCount> counts_{};
};

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_OBSERVABILITY_REJECT_REASON_H_
