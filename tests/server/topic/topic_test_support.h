// Test doubles for the topic component: an outbound queue that checks what it is offered, and a
// publisher that writes each event's own sequence into its slot. No gRPC: these tests run under
// ThreadSanitizer.
#ifndef RINGCAST_TESTS_SERVER_TOPIC_TOPIC_TEST_SUPPORT_H_
#define RINGCAST_TESTS_SERVER_TOPIC_TOPIC_TEST_SUPPORT_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <mutex>
#include <new>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ringcast/core/doorbell.h"
#include "topic/outbound_queue.h"
#include "topic/topic.h"

namespace ringcast::server::testing {

// Claims n slots of `topic`, writes each event as its own sequence (8 bytes, then `event_bytes`
// - 8 bytes of filler) and publishes them as one batch, reserving and settling their bytes as a
// publisher does. False if the ring or its byte budget had no room.
inline bool TryPublish(Topic& topic, int64_t n, std::size_t event_bytes = sizeof(int64_t)) {
  const uint64_t reserved = static_cast<uint64_t>(n) * EventSlot::BufferBytes(event_bytes);
  if (topic.ReserveBytes(reserved) != ByteReservation::kReserved) return false;
  const ClaimResult claim = topic.TryClaim(n);
  if (!claim.ok()) {
    topic.UnreserveBytes(reserved);
    return false;
  }
  const int64_t first = claim.sequence - n + 1;
  uint64_t grown = 0;
  for (int64_t s = first; s <= claim.sequence; ++s) {
    EventSlot& slot = topic.slot(s);
    char* out = slot.Resize(event_bytes, grown);
    std::memcpy(out, &s, sizeof(s));
    std::memset(out + sizeof(s), 'f', event_bytes - sizeof(s));
    slot.accepted_nanos = MonotonicNanos();
  }
  topic.SettleBytes(reserved, grown, first, claim.sequence);
  // As the publish reactor does: a topic set to run its fan-out inline runs it on this thread.
  if (topic.PublishForInlineFanout(first, claim.sequence)) topic.RunFanoutInline();
  return true;
}

// An outbound queue that holds at most `capacity` responses until the test drains them (a
// subscriber reading at whatever pace the test sets) and checks, as each response is offered,
// that it carries exactly the next events: no gap (unless reported as skipped), no duplicate,
// the bytes of the right events (each `event_bytes` long, as TryPublish writes them).
//
// Thread safety: the OutboundQueue methods from the topic's stage thread; Drain, counters and
// Set* from any thread.
class CheckingQueue final : public OutboundQueue {
 public:
  explicit CheckingQueue(Doorbell& doorbell, std::size_t capacity = 1u << 20,
                         std::size_t event_bytes = sizeof(int64_t))
      : doorbell_(doorbell), capacity_(capacity), event_bytes_(event_bytes) {}

  // Where the first response must start: the start sequence Register returned. The stage may
  // offer before the test learns it; then the first response is checked against it here.
  void ExpectFrom(int64_t sequence) {
    std::lock_guard<std::mutex> lock(mu_);
    if (first_ < 0) {
      next_expected_ = sequence;
    } else if (first_ != sequence) {
      absl::StrAppend(&errors_, "the first response starts at ", first_, ", not at ", sequence,
                      "\n");
    }
    first_ = sequence;
  }

  OfferResult Offer(OutboundResponse& response) override {
    std::function<void()> hook;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_.load(std::memory_order_relaxed)) return OfferResult::kClosed;
      if (throw_on_offer_) throw std::bad_alloc();
      if (queued_ >= capacity_) {
        wake_on_drain_ = true;
        return OfferResult::kFull;
      }
      Check(response);
      ++queued_;
      last_sent_ = response.last_sequence;
      set_sent_through(response.last_sequence);
      hook = std::exchange(on_next_offer_, nullptr);
    }
    if (hook) hook();
    return OfferResult::kAccepted;
  }

  void FinishNow(const absl::Status& status) override {
    std::lock_guard<std::mutex> lock(mu_);
    queued_ = 0;
    FinishLocked(status);
  }

  void FinishWhenDrained(const absl::Status& status) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_ || pending_finish_) return;
    if (queued_ == 0) {
      FinishLocked(status);
    } else {
      pending_finish_ = status;
      closed_.store(true, std::memory_order_release);
    }
  }

  bool closed() const noexcept override { return closed_.load(std::memory_order_acquire); }

  int64_t last_sent_sequence() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return last_sent_;
  }
  void RedirectWakeups(Doorbell* doorbell) override {
    std::lock_guard<std::mutex> lock(mu_);
    wake_ = doorbell;
  }

  // The subscriber reads up to `n` queued responses (a write completing each).
  void Drain(std::size_t n = std::numeric_limits<std::size_t>::max()) {
    Doorbell* wake = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const std::size_t taken = std::min(n, queued_);
      queued_ -= taken;
      if (taken > 0 && queued_ == 0 && pending_finish_) FinishLocked(*pending_finish_);
      if (std::exchange(wake_on_drain_, false)) wake = wake_;
    }
    if (wake != nullptr) wake->Ring();
  }

  // The subscriber goes away (a cancelled stream).
  void Cancel() { FinishNow(absl::CancelledError("subscriber cancelled")); }

  // The next accepted offer runs `hook` on the stage thread, after it was accepted.
  void OnNextOffer(std::function<void()> hook) {
    std::lock_guard<std::mutex> lock(mu_);
    on_next_offer_ = std::move(hook);
  }
  void ThrowOnOffer() {
    std::lock_guard<std::mutex> lock(mu_);
    throw_on_offer_ = true;
  }

  [[nodiscard]] int64_t received() const {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  [[nodiscard]] uint64_t skipped() const {
    std::lock_guard<std::mutex> lock(mu_);
    return skipped_;
  }
  [[nodiscard]] int64_t next_expected() const {
    std::lock_guard<std::mutex> lock(mu_);
    return next_expected_;
  }
  // Empty while the stream goes on, then how it ended.
  [[nodiscard]] std::optional<absl::Status> final_status() const {
    std::lock_guard<std::mutex> lock(mu_);
    return final_status_;
  }
  // Every inconsistency seen, one per line; empty when all was well.
  [[nodiscard]] std::string errors() const {
    std::lock_guard<std::mutex> lock(mu_);
    return errors_;
  }

 private:
  void Check(const OutboundResponse& r) {
    if (first_ < 0) {  // offered before ExpectFrom: this response sets the start
      first_ = r.first_sequence - static_cast<int64_t>(r.skipped);
      next_expected_ = first_;
    }
    if (r.first_sequence != next_expected_ + static_cast<int64_t>(r.skipped)) {
      absl::StrAppend(&errors_, "response starts at ", r.first_sequence, " after ", r.skipped,
                      " skipped; expected ", next_expected_, "\n");
    }
    const int64_t events = r.last_sequence - r.first_sequence + 1;
    if (events < 1 || r.bytes() != static_cast<std::size_t>(events) * event_bytes_) {
      absl::StrAppend(&errors_, "response ", r.first_sequence, "..", r.last_sequence, " holds ",
                      r.bytes(), " bytes\n");
    } else {
      for (int64_t i = 0; i < events; ++i) {
        int64_t carried;
        std::memcpy(&carried, r.run->data() + r.begin + i * event_bytes_, sizeof(carried));
        if (carried != r.first_sequence + i) {
          absl::StrAppend(&errors_, "slot for ", r.first_sequence + i, " carries ", carried, "\n");
          break;
        }
      }
    }
    received_ += std::max<int64_t>(events, 0);
    skipped_ += r.skipped;
    next_expected_ = r.last_sequence + 1;
  }

  void FinishLocked(const absl::Status& status) {
    closed_.store(true, std::memory_order_release);  // pairs with the acquire in closed()
    if (finished_) return;
    finished_ = true;
    final_status_ = status;
  }

  Doorbell& doorbell_;
  Doorbell* wake_ = &doorbell_;  // guarded by mu_
  const std::size_t capacity_;
  const std::size_t event_bytes_;
  mutable std::mutex mu_;
  std::size_t queued_ = 0;
  bool wake_on_drain_ = false;
  bool finished_ = false;
  bool throw_on_offer_ = false;
  std::optional<absl::Status> pending_finish_;
  std::optional<absl::Status> final_status_;
  std::function<void()> on_next_offer_;
  int64_t first_ = -1;  // the first sequence the stream started at, once known
  int64_t next_expected_ = 0;
  int64_t last_sent_ = -1;
  int64_t received_ = 0;
  uint64_t skipped_ = 0;
  std::string errors_;
  std::atomic<bool> closed_{false};
};

}  // namespace ringcast::server::testing

#endif  // RINGCAST_TESTS_SERVER_TOPIC_TOPIC_TEST_SUPPORT_H_
