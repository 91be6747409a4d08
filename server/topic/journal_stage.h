// JournalStage: the first stage of a durable topic's pipeline. It appends every published event to
// the topic's journal (storage::Journal) and releases it downstream, to the fan-out stage and to
// the publishers waiting for their acknowledgements, only once it is journaled:
//   always    written and fdatasynced, one sync per step covering every batch published since
//             the last (group commit: the busier the topic, the more batches one sync covers);
//   interval  written to the OS; synced every --journal_sync_interval;
//   none      written to the OS; synced when the kernel writes back.
// So no subscriber is ever sent, and no publisher told about, an event a crash could take back
// (under `always`; a power cut under the other two).
//
// Faults. A failed write (a full disk) keeps the records buffered in the journal and retries them
// on later steps; meanwhile the topic refuses new batches with RESOURCE_EXHAUSTED, and batches
// already published wait for their acknowledgement. So does a disk whose free space falls under
// --min_free_bytes, checked once a second. A failed fdatasync is not retried (see
// storage::Journal::Sync): the topic refuses batches with UNAVAILABLE until the server restarts and
// recovers the journal from disk, and batches waiting for their acknowledgement get that error.
// Subscribers keep reading what was journaled in both cases.
//
// Deletion. Once the topic is deleted the next step finishes the stage and gives the journal's
// directory up: the registry waits for that (AwaitFinished) before it removes the directory, so
// a topic created again under the same name never finds a file of the old one in its own.
//
// Threads: DoWork runs on the thread of the journal pool's runner that owns the stage; position(),
// Finished() and AwaitFinished() from any thread.
#ifndef RINGCAST_SERVER_TOPIC_JOURNAL_STAGE_H_
#define RINGCAST_SERVER_TOPIC_JOURNAL_STAGE_H_

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "observability/latency_histogram.h"
#include "ringcast/core/consumer_stage.h"
#include "ringcast/core/sequence.h"
#include "storage/journal.h"
#include "storage/sync_mode.h"
#include "topic/event_slot.h"

namespace ringcast::server {

class Topic;

struct JournalSettings {
  storage::SyncMode sync = storage::SyncMode::kAlways;
  absl::Duration sync_interval = absl::Milliseconds(100);  // kInterval only
  uint64_t min_free_bytes = 0;  // refuse batches while the disk has less free (0: no check)
  LatencyHistogram* sync_latency = nullptr;  // fdatasync durations (null: not measured)
};

class JournalStage {
 public:
  // `first` is the sequence the topic's ring starts at: journal->next_sequence().
  JournalStage(Topic& topic, std::unique_ptr<storage::Journal> journal, JournalSettings settings);
  JournalStage(const JournalStage&) = delete;
  JournalStage& operator=(const JournalStage&) = delete;
  ~JournalStage();

  // One step: journals what producers published, syncs as the mode says, applies retention and
  // checks the disk's free space now and then. Returns the work done.
  int DoWork();
  // True once the topic was deleted: the stage needs no more steps, and its journal has given up
  // the topic's directory (storage::Journal::Abandon).
  [[nodiscard]] bool Finished() const noexcept { return finished_.load(std::memory_order_acquire); }
  // Waits up to `timeout` for Finished(); true if it came.
  bool AwaitFinished(absl::Duration timeout) {
    return finished_notice_.WaitForNotificationWithTimeout(timeout);
  }
  // Events up to here are journaled (see the class comment): the fan-out stage's upstream.
  [[nodiscard]] const Sequence& position() const noexcept { return stage_.sequence(); }
  [[nodiscard]] const storage::Journal& journal() const noexcept { return *journal_; }

 private:
  struct RunHandler {
    JournalStage& stage;
    int64_t OnBatch(int64_t first, int64_t last) { return stage.Journal(first, last); }
  };

  // Appends first..last (those not buffered yet, up to a bound of bytes), writes and, under
  // `always`, syncs them. Returns the last sequence journaled.
  int64_t Journal(int64_t first, int64_t last);
  // Under `interval`, syncs what was written once the interval has passed.
  bool SyncIfDue(absl::Time now);
  void Housekeeping(absl::Time now);
  void CheckFreeSpace();
  void Refuse(absl::Status status);
  // Syncs the journal, timing it; on failure the stage stops journaling for good.
  bool Sync();
  void Finish();

  Topic& topic_;
  const std::unique_ptr<storage::Journal> journal_;
  const JournalSettings settings_;
  RunHandler handler_{*this};
  ConsumerStage<EventSlot, RunHandler, TopicSequencer> stage_;
  std::exception_ptr stage_error_;

  absl::Time last_sync_ = absl::InfinitePast();
  absl::Time next_housekeeping_ = absl::InfinitePast();
  bool write_failed_ = false;         // the last Write failed: records wait in the journal's buffer
  bool disk_low_ = false;             // under --min_free_bytes at the last check
  bool sync_failed_ = false;          // for good
  uint64_t written_since_check_ = 0;  // bytes journaled since the disk's free space was looked at
  std::atomic<bool> finished_{false};
  absl::Notification finished_notice_;
};

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_TOPIC_JOURNAL_STAGE_H_
