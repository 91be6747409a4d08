#include "topic/journal_stage.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "observability/log.h"
#include "topic/topic.h"

namespace ringcast::server {
namespace {

// One step journals at most this many bytes of events before it writes and syncs them, so that a
// huge backlog is acknowledged in pieces rather than all at once at the end.
constexpr std::size_t kMaxStepBytes = std::size_t{8} << 20;
// Retention and the disk's free space are looked at this often.
constexpr absl::Duration kHousekeepingPeriod = absl::Seconds(1);

}  // namespace

JournalStage::JournalStage(Topic& topic, std::unique_ptr<storage::Journal> journal,
                           JournalSettings settings)
    : topic_(topic),
      journal_(std::move(journal)),
      settings_(settings),
      stage_(topic.ring_, topic.sequencer_, /*upstream=*/{}, handler_,
             ProcessorOptions{
                 .name = "journal",
                 .error_policy = ErrorPolicy::kHalt,
                 .report_exception = [this](const std::string&, int64_t, std::exception_ptr error) {
                   stage_error_ = std::move(error);
                 }}) {
  stage_.sequence().Set(journal_->next_sequence() - 1);
}

JournalStage::~JournalStage() {
  // A deleted topic whose stage never ran again (its pool stopped first) leaves its directory
  // alone too.
  if (topic_.deleted() && !Finished()) journal_->Abandon();
  // Whatever was written reaches the disk before the journal closes (a clean shutdown).
  if (!sync_failed_ && journal_->written_sequence() > journal_->synced_sequence()) {
    static_cast<void>(journal_->Sync());
  }
}

int JournalStage::DoWork() {
  if (finished_.load(std::memory_order_relaxed)) return 0;  // relaxed: our own flag
  if (topic_.deleted()) {
    Finish();
    return 1;
  }
  const absl::Time now = absl::Now();
  if (now >= next_housekeeping_) Housekeeping(now);
  if (sync_failed_) return 0;
  const int64_t before = stage_.sequence().GetRelaxed();
  int work = stage_.DoWork();
  if (stage_.halted()) {
    Refuse(absl::InternalError(absl::StrCat("topic \"", topic_.name(),
                                            "\" failed in its journal stage (",
                                            DescribeException(stage_error_), ")")));
    sync_failed_ = true;
    topic_.NotifyJournaled();
    return 1;
  }
  if (settings_.sync == storage::SyncMode::kInterval) work += SyncIfDue(now) ? 1 : 0;
  if (stage_.sequence().GetRelaxed() != before) {
    topic_.doorbell().Ring();  // the fan-out stage has events to send
    topic_.NotifyJournaled();  // and publishers acknowledgements to write
  }
  return work;
}

int64_t JournalStage::Journal(int64_t first, int64_t last) {
  // A deleted topic's directory may already hold a new topic of the same name.
  if (topic_.deleted()) return first - 1;
  // Records from an earlier step that failed to write are still buffered in the journal.
  int64_t next = std::max(first, journal_->next_sequence());
  // The stored time of each record: its acceptance, on the wall clock.
  const int64_t wall_offset = absl::GetCurrentTimeNanos() - MonotonicNanos();
  std::size_t bytes = 0;
  absl::Status failure;
  for (; next <= last && bytes < kMaxStepBytes; ++next) {
    const EventSlot& slot = topic_.slot(next);
    // Fails only when a new segment cannot be created (a full disk): retried on the next step.
    failure = journal_->Append(next, slot.accepted_nanos + wall_offset, slot.framed());
    if (!failure.ok()) break;
    bytes += slot.size;
  }
  if (absl::Status s = journal_->Write(); !s.ok()) failure = s;
  if (!failure.ok()) {
    if (!write_failed_) {
      Log(LogLevel::kError, "journal write failed",
          {{"topic", topic_.name()}, {"error", failure.ToString()}});
    }
    write_failed_ = true;
    Refuse(failure);
    // What an earlier step wrote may still be unsynced: nothing more is journaled now.
    return settings_.sync == storage::SyncMode::kAlways ? first - 1 : journal_->written_sequence();
  }
  written_since_check_ += bytes;
  // The disk's free space is looked at once a second, and more often while writing a lot: every
  // quarter of --min_free_bytes (at most 1 MiB), so a fast publisher cannot write the guard away
  // between two looks.
  if (settings_.min_free_bytes != 0 &&
      written_since_check_ >= std::min<uint64_t>(settings_.min_free_bytes / 4, 1 << 20)) {
    CheckFreeSpace();
  }
  if (write_failed_) {
    write_failed_ = false;
    Log(LogLevel::kInfo, "journal writes again", {{"topic", topic_.name()}});
    if (!disk_low_) topic_.SetPublishRefusal(absl::OkStatus());
  }
  if (settings_.sync == storage::SyncMode::kAlways) {
    if (!Sync()) return first - 1;
    return journal_->synced_sequence();
  }
  return journal_->written_sequence();
}

bool JournalStage::SyncIfDue(absl::Time now) {
  if (now - last_sync_ < settings_.sync_interval ||
      journal_->synced_sequence() >= journal_->written_sequence()) {
    return false;
  }
  Sync();
  return true;
}

bool JournalStage::Sync() {
  const int64_t started = MonotonicNanos();
  if (absl::Status s = journal_->Sync(); !s.ok()) {
    sync_failed_ = true;
    Log(LogLevel::kError, "journal sync failed",
        {{"topic", topic_.name()}, {"error", s.ToString()}});
    Refuse(s);
    topic_.NotifyJournaled();
    return false;
  }
  const int64_t finished = MonotonicNanos();
  if (settings_.sync_latency != nullptr) settings_.sync_latency->Observe(finished - started);
  last_sync_ = absl::Now();
  return true;
}

void JournalStage::Housekeeping(absl::Time now) {
  next_housekeeping_ = now + kHousekeepingPeriod;
  if (!sync_failed_) {
    absl::StatusOr<int> deleted = journal_->ApplyRetention(now);
    if (!deleted.ok()) {
      Log(LogLevel::kWarning, "journal retention failed",
          {{"topic", topic_.name()}, {"error", deleted.status().ToString()}});
    } else if (*deleted > 0) {
      topic_.counters().journal_segments_deleted.fetch_add(static_cast<uint64_t>(*deleted),
                                                           std::memory_order_relaxed);
    }
  }
  CheckFreeSpace();
}

void JournalStage::CheckFreeSpace() {
  written_since_check_ = 0;
  if (settings_.min_free_bytes == 0 || sync_failed_) return;
  struct statvfs disk {};
  if (statvfs(journal_->dir().c_str(), &disk) != 0) return;
  const uint64_t free_bytes = static_cast<uint64_t>(disk.f_bavail) * disk.f_frsize;
  const bool low = free_bytes < settings_.min_free_bytes;
  if (low == disk_low_) return;
  disk_low_ = low;
  if (low) {
    Log(LogLevel::kWarning, "disk nearly full: topic refuses batches",
        {{"topic", topic_.name()}, {"free_bytes", free_bytes}});
    Refuse(absl::ResourceExhaustedError(
        absl::StrCat("the disk of topic \"", topic_.name(), "\"'s journal has ", free_bytes,
                     " bytes free, under --min_free_bytes=", settings_.min_free_bytes,
                     "; batch not published")));
  } else if (!write_failed_) {
    Log(LogLevel::kInfo, "disk has room again", {{"topic", topic_.name()}});
    topic_.SetPublishRefusal(absl::OkStatus());
  }
}

void JournalStage::Refuse(absl::Status status) { topic_.SetPublishRefusal(std::move(status)); }

void JournalStage::Finish() {
  journal_->Abandon();
  topic_.NotifyJournaled();  // publishers waiting on a deleted topic learn it
  finished_.store(true, std::memory_order_release);  // pairs with the acquire in Finished
  finished_notice_.Notify();
}

}  // namespace ringcast::server
