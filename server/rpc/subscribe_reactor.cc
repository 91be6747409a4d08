#include "rpc/subscribe_reactor.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ringcast/grpc_status.h"
#include "rpc/event_codec.h"
#include "rpc/slice_run.h"

namespace ringcast::server {

namespace {

// The wire response for `response`: its slice of the run, after the skipped count if any.
grpc::ByteBuffer ToByteBuffer(const OutboundResponse& response) {
  // Every run the server's topics make is a SliceRun (TopicRegistry gets MakeSliceRun).
  const auto& run = static_cast<const SliceRun&>(*response.run);
  const grpc::Slice events = run.grpc_slice().sub(response.begin, response.end);
  if (response.skipped == 0) return grpc::ByteBuffer(&events, 1);
  std::string field;
  AppendSkippedField(response.skipped, field);
  const grpc::Slice slices[2] = {grpc::Slice(field), events};
  return grpc::ByteBuffer(slices, 2);
}

}  // namespace

SubscribeReactor::SubscribeReactor(grpc::CallbackServerContext* context, uint64_t queue_bytes,
                                   Doorbell* doorbell, StreamCounter& streams,
                                   std::shared_ptr<LatencyHistogram> delivery_latency)
    : context_(context),
      queue_bytes_(queue_bytes),
      doorbell_(doorbell),
      streams_(streams),
      delivery_latency_(std::move(delivery_latency)) {
  streams_.Add();
}

std::shared_ptr<SubscribeReactor> SubscribeReactor::Create(
    grpc::CallbackServerContext* context, uint64_t queue_bytes, Doorbell* doorbell,
    StreamCounter& streams, std::shared_ptr<LatencyHistogram> delivery_latency) {
  auto subscription = std::make_shared<SubscribeReactor>(context, queue_bytes, doorbell, streams,
                                                         std::move(delivery_latency));
  subscription->self_ = subscription;
  return subscription;
}

void SubscribeReactor::Start(int64_t start_sequence) {
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_ || done_) return;
  context_->AddInitialMetadata("ringcast-start-sequence", absl::StrCat(start_sequence));
  StartSendInitialMetadata();
  started_ = true;
  MaybeStartWriteLocked();
}

void SubscribeReactor::Reject(grpc::Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  FinishLocked(status);
}

SubscribeReactor::OfferResult SubscribeReactor::Offer(OutboundResponse& response) {
  const std::size_t bytes = response.bytes();
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_ || done_ || finish_when_drained_) return OfferResult::kClosed;
  if (queued_bytes_ != 0 && queued_bytes_ + bytes > queue_bytes_) {
    wake_on_drain_ = true;
    return OfferResult::kFull;
  }
  queue_.push_back(
      Pending{ToByteBuffer(response), bytes, response.last_sequence, std::move(response.spans)});
  queued_bytes_ += bytes;
  MaybeStartWriteLocked();
  return OfferResult::kAccepted;
}

void SubscribeReactor::MaybeStartWriteLocked() {
  if (!started_ || write_in_flight_ || finished_ || done_ || queue_.empty()) return;
  write_in_flight_ = true;
  Pending& next = queue_.front();
  last_sent_sequence_ = next.last_sequence;
  set_sent_through(next.last_sequence);
  if (delivery_latency_ != nullptr && !next.spans.empty()) {
    const int64_t now = MonotonicNanos();
    for (const LatencySpan& span : next.spans) {
      delivery_latency_->Observe(now - span.accepted_nanos, span.events);
    }
  }
  // The buffer stays at the queue's front, untouched, until OnWriteDone.
  StartWrite(&next.buffer);
}

void SubscribeReactor::OnWriteDone(bool ok) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    write_in_flight_ = false;
    queued_bytes_ -= queue_.front().bytes;
    queue_.pop_front();
    if (!ok) {
      // The client went away; the stream still has to be finished.
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "subscriber stream broken"));
    } else if (finished_) {
      // FinishNow ran while this write was in flight.
    } else if (queue_.empty() && finish_when_drained_) {
      FinishLocked(*finish_when_drained_);
    } else {
      MaybeStartWriteLocked();
    }
    wake = std::exchange(wake_on_drain_, false);
  }
  if (Doorbell* doorbell = doorbell_.load(std::memory_order_acquire); wake && doorbell != nullptr) {
    doorbell->Ring();
  }
}

void SubscribeReactor::FinishNow(const absl::Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  // Keep the write in flight (gRPC owns its buffer until OnWriteDone); drop the rest.
  while (queue_.size() > (write_in_flight_ ? 1u : 0u)) {
    queued_bytes_ -= queue_.back().bytes;
    queue_.pop_back();
  }
  FinishLocked(ToGrpcStatus(status));
}

void SubscribeReactor::FinishWhenDrained(const absl::Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_ || finish_when_drained_) return;
  if (queue_.empty()) {
    FinishLocked(ToGrpcStatus(status));
  } else {
    finish_when_drained_ = ToGrpcStatus(status);
    // Release; pairs with the acquire in closed(): no more offers are wanted.
    closed_.store(true, std::memory_order_release);
  }
}

void SubscribeReactor::FinishLocked(const grpc::Status& status) {
  // Release; pairs with the acquire in closed().
  closed_.store(true, std::memory_order_release);
  if (finished_ || done_) return;
  finished_ = true;
  Finish(status);
}

int64_t SubscribeReactor::last_sent_sequence() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_sent_sequence_;
}

void SubscribeReactor::OnCancel() {
  std::lock_guard<std::mutex> lock(mu_);
  FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "subscriber cancelled"));
}

void SubscribeReactor::OnDone() {
  std::shared_ptr<SubscribeReactor> self;
  {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    closed_.store(true, std::memory_order_release);  // release; pairs with closed()
    self = std::move(self_);
  }
  // Let the fan-out stage (or the replay) drop it promptly.
  if (Doorbell* doorbell = doorbell_.load(std::memory_order_acquire); doorbell != nullptr) {
    doorbell->Ring();
  }
  streams_.Remove();
  // `self` may be the last reference: the subscription is destroyed here.
}

}  // namespace ringcast::server
