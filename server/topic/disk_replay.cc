#include "topic/disk_replay.h"

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "topic/topic.h"

namespace ringcast::server {

DiskReplay::DiskReplay(std::shared_ptr<Topic> topic, std::shared_ptr<OutboundQueue> queue,
                       SubscriberSettings settings, uint32_t max_subscribers,
                       std::unique_ptr<storage::JournalReader> reader, Doorbell& doorbell)
    : topic_(std::move(topic)),
      queue_(std::move(queue)),
      settings_(settings),
      max_subscribers_(max_subscribers),
      reader_(std::move(reader)),
      doorbell_(doorbell) {
  queue_->RedirectWakeups(&doorbell_);
}

int DiskReplay::DoWork() {
  if (finished_.load(std::memory_order_relaxed)) return 0;  // relaxed: our own flag
  if (queue_->closed()) {
    End(absl::OkStatus());
    return 1;
  }
  if (topic_->deleted()) {
    End(absl::NotFoundError(absl::StrCat("topic \"", topic_->name(), "\" was deleted")));
    return 1;
  }
  if (pending_.has_value()) {
    const OutboundQueue::OfferResult result = queue_->Offer(*pending_);
    if (result == OutboundQueue::OfferResult::kFull) return 0;  // the queue rings us
    pending_.reset();
    if (result == OutboundQueue::OfferResult::kClosed) return 0;
  }
  if (TryHandOver()) return 1;
  const int64_t first = reader_->next();
  buffer_.clear();
  absl::StatusOr<int> read =
      reader_->Read(topic_->JournaledSequence(), static_cast<int>(settings_.max_batch_events),
                    settings_.max_response_bytes, buffer_);
  if (!read.ok()) {
    End(read.status());
    return 1;
  }
  if (*read == 0) return 0;
  std::shared_ptr<EventRun> run = topic_->run_factory()(buffer_.size());
  std::memcpy(run->data(), buffer_.data(), buffer_.size());
  OutboundResponse response{.run = std::move(run),
                            .end = buffer_.size(),
                            .first_sequence = first,
                            .last_sequence = reader_->next() - 1};
  // Counted as read: a response the queue cannot take now waits in pending_ and goes next.
  topic_->counters().events_replayed_from_disk.fetch_add(static_cast<uint64_t>(*read),
                                                         std::memory_order_relaxed);
  if (queue_->Offer(response) == OutboundQueue::OfferResult::kFull) {
    pending_ = std::move(response);
  }
  return 1;
}

bool DiskReplay::TryHandOver() {
  if (reader_->next() < topic_->RingOldestSequence()) return false;
  // The fan-out stage offers from here on: its runner is the one to wake.
  queue_->RedirectWakeups(&topic_->doorbell());
  // max_subscribers_ + 1: this reader is still counted among the topic's disk readers.
  absl::StatusOr<int64_t> registered =
      topic_->Register(queue_, settings_,
                       StartPosition{.kind = StartPosition::Kind::kSequence,
                                     .sequence = static_cast<uint64_t>(reader_->next())},
                       max_subscribers_ + 1);
  if (registered.ok()) {
    topic_->RemoveDiskReader();
    finished_.store(true, std::memory_order_release);  // pairs with the acquire in Finished
    return true;
  }
  if (absl::IsOutOfRange(registered.status())) {
    // The ring moved on meanwhile: keep reading from disk.
    queue_->RedirectWakeups(&doorbell_);
    return false;
  }
  End(registered.status());
  return true;
}

void DiskReplay::End(const absl::Status& status) {
  if (!status.ok()) queue_->FinishNow(status);
  topic_->RemoveDiskReader();
  finished_.store(true, std::memory_order_release);  // pairs with the acquire in Finished
}

}  // namespace ringcast::server
