// DiskReplay: serves a subscriber of a durable topic that starts before what the ring still holds,
// from the topic's journal, then hands it to the fan-out stage: catch-up goes disk -> ring -> live
// with no gap and no duplicate.
//
// It runs as an agent on the replay pool (threads of their own: a read from disk never holds up a
// fan-out or a journal thread). Each step reads the next records the journal has journaled, cut
// to the subscriber's batch and byte limits, and offers them to its queue as one response; a full
// queue rings the replay's runner when it drains (OutboundQueue::RedirectWakeups). Once its next
// sequence is inside the ring, it registers the subscriber with the topic from exactly there
// (Topic::Register checks that under the topic's lock, so the ring cannot move past it first; if
// it did, reading from disk goes on). A subscriber reading from disk is not a gating consumer of
// the ring: it never holds publishers back.
//
// Faults: a damaged range ends the stream with DATA_LOSS naming it; records retention deleted
// before they were read end it with OUT_OF_RANGE; a deleted topic with NOT_FOUND.
//
// Threads: DoWork on the replay runner's thread; Finished from any thread.
#ifndef RINGCAST_SERVER_TOPIC_DISK_REPLAY_H_
#define RINGCAST_SERVER_TOPIC_DISK_REPLAY_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "ringcast/core/doorbell.h"
#include "storage/journal.h"
#include "topic/outbound_queue.h"

namespace ringcast::server {

class Topic;

class DiskReplay {
 public:
  // `reader` starts at the subscriber's first sequence; `doorbell` wakes this replay's runner.
  DiskReplay(std::shared_ptr<Topic> topic, std::shared_ptr<OutboundQueue> queue,
             SubscriberSettings settings, uint32_t max_subscribers,
             std::unique_ptr<storage::JournalReader> reader, Doorbell& doorbell);
  DiskReplay(const DiskReplay&) = delete;
  DiskReplay& operator=(const DiskReplay&) = delete;

  int DoWork();
  [[nodiscard]] bool Finished() const noexcept { return finished_.load(std::memory_order_acquire); }

 private:
  // Registers the subscriber with the topic from the reader's position if the ring holds it.
  bool TryHandOver();
  void End(const absl::Status& status);

  const std::shared_ptr<Topic> topic_;
  const std::shared_ptr<OutboundQueue> queue_;
  const SubscriberSettings settings_;
  const uint32_t max_subscribers_;
  const std::unique_ptr<storage::JournalReader> reader_;
  Doorbell& doorbell_;
  std::optional<OutboundResponse> pending_;  // offered, found the queue full
  std::string buffer_;                       // scratch: the records of one read
  std::atomic<bool> finished_{false};
};

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_TOPIC_DISK_REPLAY_H_
