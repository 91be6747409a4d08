// Journal: a topic's append-only log of records in segment files, with its recovery, retention,
// time lookup and readers.
//
// Files. A journal owns one directory: segments `<first_sequence:020d>.log` of records (format
// in record.h) and, for sealed segments, their sparse indexes `<first_sequence:020d>.idx`
// (segment.h). Other names in the directory are left alone. Sequences are consecutive from the
// journal's first sequence (not necessarily 0). Record times are made monotonic: the stored time
// is max(previous stored time, given time), so a time lookup is a binary search.
//
// Writing. Append buffers records in memory; Write hands them to the OS (one write per segment
// touched); Sync makes what was written durable (fdatasync). A segment rolls when the next
// record would take it past segment_bytes, or when that record is segment_age or more younger
// than the segment's first record (ages are measured in record time, which tests can set).
//
// Errors. A failed write (ENOSPC, EIO, ...) cuts the file back to its last good size and keeps
// the records buffered: a later Write retries them. A failed fdatasync is never retried: after
// one, Linux may have dropped the dirty pages and a second fdatasync would "succeed" with data
// gone (PostgreSQL's fsyncgate), so the journal fails for good and says to restart, which
// re-validates the tail from disk.
//
// Threads:
//  * The writer, one thread at a time: Append, Write, Sync, ApplyRetention. A debug build
//    asserts that two threads never run them at once.
//  * Any thread: the const methods, NewReader, and the JournalReaders (each one thread at a
//    time), concurrently with the writer and each other. Readers must not outlive the journal.
//
// Memory ordering: Write stores written_sequence_ with release after each segment it wrote was
// extended (Segment::Extend); written_sequence() loads it with acquire, so a thread that sees
// sequence s also sees the segment list and extents that hold every record up to s. Sync stores
// synced_sequence_ with release after the fdatasyncs returned; synced_sequence() pairs with it.
// The segment list is guarded by mu_, held briefly and never across I/O. The mutexes are
// std::mutex, not absl::Mutex: Debian's Abseil is built without ThreadSanitizer annotations, so
// the TSan run could not see absl::Mutex's ordering.
//
// Lock order: Journal::mu_, then Segment::mu_.
#ifndef RINGCAST_SERVER_STORAGE_JOURNAL_H_
#define RINGCAST_SERVER_STORAGE_JOURNAL_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/file_io.h"
#include "storage/record_cursor.h"
#include "storage/segment.h"

namespace ringcast::server::storage {

struct JournalOptions {
  uint64_t segment_bytes = uint64_t{64} << 20;  // roll when the next record would pass it
  absl::Duration segment_age = absl::Hours(1);  // or when it is this much younger than the first
  uint64_t retention_bytes = 0;                 // 0: no byte limit
  absl::Duration retention_age = absl::ZeroDuration();  // zero: no age limit
  uint32_t max_body_bytes = (1 << 20) + 4096;           // a length above this is corruption
  uint64_t index_interval_bytes = 4096;
  FileSystem* fs = nullptr;         // null: FileSystem::Posix()
  int64_t empty_next_sequence = 0;  // where a journal with no segment at all starts
};

// What Open found and did.
struct RecoveryReport {
  int64_t truncated_bytes = 0;  // cut from the last segment's torn tail
  std::string truncation;       // what was cut and why; empty if nothing
  int segments = 0;
  uint64_t bytes = 0;        // of all segments, after truncation
  int indexes_rebuilt = 0;   // sealed segments whose .idx was missing or inconsistent
  int damaged_segments = 0;  // sealed segments found short while rebuilding their index
  int removed_segments = 0;  // empty last segments of a roll whose records were never written
  int64_t first_sequence = 0;
  int64_t next_sequence = 0;
  absl::Duration took;
};

class JournalReader;

class Journal {
 public:
  // Opens the journal in `dir` (created if missing; its parent must exist), recovering it: the
  // last segment is scanned from its last index entry (or its start), and a torn tail (short
  // header, length beyond max_body_bytes, short body, bad checksum, sequence not the next) is
  // truncated at the first bad record (ftruncate + fdatasync) and counted in `report`. An empty
  // last segment after one that stops short of it (a crash between a roll and the write of the
  // records before it) is removed, and that one recovered as the last instead. Sealed
  // segments are not rescanned (readers find their damage), but their index is rebuilt by a
  // scan when the .idx is missing or inconsistent. With no segment at all the journal starts at
  // options.empty_next_sequence; retention never deletes the active segment, so a journal that
  // ever held a record keeps knowing its next sequence.
  // INVALID_ARGUMENT for bad options; the file system's errors otherwise.
  static absl::StatusOr<std::unique_ptr<Journal>> Open(std::string dir, JournalOptions options,
                                                       RecoveryReport* report = nullptr);

  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;
  // Saves the active segment's index (not synced) so the next Open scans only its tail.
  // Records still buffered are dropped: Write (and Sync) first.
  ~Journal();

  // ---- The writer (one thread at a time) ----

  // Buffers one record. Requires: sequence == next_sequence() (assert; FAILED_PRECONDITION in a
  // release build). INVALID_ARGUMENT for a body over max_body_bytes. No I/O except rolling to a
  // new segment (creating its file), whose error is returned with nothing buffered.
  absl::Status Append(int64_t sequence, int64_t time_nanos, absl::string_view body);
  // Hands every buffered record to the OS, one write per segment touched. On an error the file
  // is cut back to its last good size, the records stay buffered for the next Write, and the
  // error is returned: RESOURCE_EXHAUSTED saying the disk is full for ENOSPC/EDQUOT, UNAVAILABLE
  // otherwise, naming the file and the errno text.
  absl::Status Write();
  // fdatasync of every segment written since the last Sync, and of the directory after segment
  // files were created or deleted; then synced_sequence() = written_sequence(). A failure fails
  // the journal for good: this and every later Append/Write/Sync/ApplyRetention return
  // UNAVAILABLE "journal of <dir> failed: ...; restart the server to recover".
  absl::Status Sync();
  // Deletes whole sealed segments, oldest first, while all segments together hold more than
  // retention_bytes, or while the oldest's last record is older than now - retention_age. Never
  // the active segment, nor one whose records are still buffered. Returns how many it deleted.
  // Readers holding a deleted segment keep reading it.
  absl::StatusOr<int> ApplyRetention(absl::Time now);
  // Gives the directory up (its topic was deleted; the same name may soon hold a new one): from
  // now on the journal creates, writes, removes and syncs nothing there, not even the index its
  // destructor would save, and Append/Write/Sync/ApplyRetention return NOT_FOUND. Readers keep
  // reading the segments already open.
  void Abandon();

  // ---- Any thread ----

  [[nodiscard]] const std::string& dir() const noexcept { return dir_; }
  [[nodiscard]] const JournalOptions& options() const noexcept { return options_; }
  // The oldest retained record (== next_sequence() when there is none).
  [[nodiscard]] int64_t first_sequence() const;
  // One past the last appended record, buffered ones included.
  [[nodiscard]] int64_t next_sequence() const noexcept {
    // Relaxed: a figure; it publishes no data (readers go by written_sequence()).
    return next_sequence_.load(std::memory_order_relaxed);
  }
  // The last record handed to the OS (first_sequence() - 1 when none); acquire: pairs with the
  // release store in Write.
  [[nodiscard]] int64_t written_sequence() const noexcept {
    return written_sequence_.load(std::memory_order_acquire);
  }
  // The last record fdatasynced; acquire: pairs with the release store in Sync.
  [[nodiscard]] int64_t synced_sequence() const noexcept {
    return synced_sequence_.load(std::memory_order_acquire);
  }
  // Bytes handed to the OS, in all segments, and how many segments (for metrics).
  [[nodiscard]] uint64_t bytes() const;
  [[nodiscard]] int segments() const;
  // True once an fdatasync failed (see Sync).
  [[nodiscard]] bool failed() const noexcept {
    // Relaxed: a flag; the failure's text is read by the writer only, on its own thread.
    return failed_.load(std::memory_order_relaxed);
  }

  // The first retained record whose time is >= time_nanos, or written_sequence() + 1 if none:
  // a binary search over the segments' last times, then the segment's index, then a short scan.
  // DATA_LOSS if the scan meets a damaged record.
  absl::StatusOr<int64_t> SequenceAtTime(int64_t time_nanos) const;

  // A reader from `from`; OUT_OF_RANGE naming the retained range unless
  // first_sequence() <= from <= written_sequence() + 1.
  absl::StatusOr<std::unique_ptr<JournalReader>> NewReader(int64_t from) const;

 private:
  friend class JournalReader;

  // Records buffered for one segment, written by one WriteAt.
  struct PendingRun {
    std::shared_ptr<Segment> segment;
    uint64_t position = 0;  // where bytes go in the file
    std::string bytes;
    std::vector<IndexEntry> entries;
    int64_t last_sequence = 0;
    int64_t last_time_nanos = 0;
  };

  // The segment holding `sequence`, and where the next segment starts (kNoSuccessor if none).
  struct Located {
    std::shared_ptr<Segment> segment;  // null if `sequence` is before every retained segment
    int64_t end_sequence = kNoSuccessor;
  };
  static constexpr int64_t kNoSuccessor = std::numeric_limits<int64_t>::max();

  Journal(std::string dir, JournalOptions options, FileSystem& fs);

  // Open's steps (journal_open.cc).
  absl::Status Recover(const std::vector<int64_t>& firsts, RecoveryReport& report);
  absl::StatusOr<std::shared_ptr<Segment>> LoadSealedSegment(int64_t first, int64_t next_first,
                                                             RecoveryReport& report);
  absl::Status LoadActiveSegment(int64_t first, RecoveryReport& report);
  bool EndsWithAnUnwrittenRoll() const;
  absl::Status DropUnwrittenRoll(RecoveryReport& report);
  std::optional<SegmentIndex> ReadSavedIndex(int64_t first, uint64_t segment_bytes);
  SegmentIndex TakeActiveIndex(int64_t first, uint64_t segment_bytes);

  // The writer's steps (journal.cc).
  absl::Status CheckWritable(int64_t sequence, absl::string_view body) const;
  bool NeedsRoll(std::size_t record_bytes, int64_t time_nanos) const;
  absl::Status Roll(int64_t first_sequence);
  PendingRun& RunForActive();
  absl::Status WriteRun(PendingRun& run);
  absl::Status Fail(const absl::Status& cause);
  void MarkUnsynced(const std::shared_ptr<Segment>& segment);
  bool HasPendingRecords(const Segment* segment) const;
  std::vector<std::shared_ptr<Segment>> RetentionVictims(absl::Time now) const;
  absl::Status DeleteSegment(const std::shared_ptr<Segment>& segment);
  void SaveIndex(const Segment& segment);

  // For readers.
  Located Locate(int64_t sequence) const;
  // The last sequence `segment` should hold, as far as the segment list says.
  int64_t LastSequenceOf(const Segment& segment, int64_t written) const;
  absl::Status Damaged(const Segment& segment, int64_t from, int64_t through,
                       absl::string_view what, uint64_t position) const;
  absl::StatusOr<int64_t> ScanForTime(const Segment& segment, int64_t time_nanos,
                                      int64_t written) const;

  // Set once (Open).
  const std::string dir_;
  const JournalOptions options_;
  FileSystem& fs_;

  // Shared with readers.
  mutable std::mutex mu_;
  // Oldest first; the last is the active segment (the writer appends to it).
  std::vector<std::shared_ptr<Segment>> segments_;  // guarded by mu_
  std::atomic<int64_t> next_sequence_{0};           // written by the writer (relaxed: a figure)
  std::atomic<int64_t> written_sequence_{-1};       // see Memory ordering
  std::atomic<int64_t> synced_sequence_{-1};        // see Memory ordering
  std::atomic<bool> failed_{false};                 // written by the writer (relaxed: a flag)

  // The writer's own, touched by no other thread.
  struct Writer {
    std::shared_ptr<Segment> active;         // null until the first segment exists
    uint64_t active_end = 0;                 // where the active segment's next record goes
    std::vector<IndexEntry> active_entries;  // its index, buffered records included
    int64_t last_time_nanos = std::numeric_limits<int64_t>::min();
    std::deque<PendingRun> pending;  // oldest first; at most one run per segment
    std::string spare_bytes;         // a written run's buffer, kept for the next one
    std::vector<std::shared_ptr<Segment>> unsynced;  // written since the last Sync
    std::vector<std::shared_ptr<Segment>> unsaved;   // sealed; .idx to save once written
    bool directory_unsynced = false;                 // a segment file was created or deleted
    absl::Status failure;                            // set once, by Fail or Abandon
  } writer_;
  // Debug check that writer calls never overlap (see Threads); a no-op under NDEBUG.
  class WriterScope;
#ifndef NDEBUG
  std::atomic<bool> writer_busy_{false};
#endif
};

// Reads a journal's records in order, from any thread (one at a time), concurrently with the
// writer and other readers.
class JournalReader {
 public:
  // Where the records of one Read landed in `out`.
  struct RecordInfo {
    int64_t sequence = 0;
    int64_t time_nanos = 0;
    std::size_t offset = 0;  // of the body in `out`
    std::size_t size = 0;
  };

  // Appends to `out` the bodies of the records from next() through `through` (inclusive; pass a
  // bound known written, e.g. synced_sequence(): anything past written_sequence() is not read),
  // at most `max_records` of them, stopping before `out` would grow by more than `max_bytes`
  // (but always taking one record if any is due). Returns how many it appended (0 when next() >
  // through). Each record's length, checksum and sequence are checked: a bad one gives
  // DATA_LOSS naming the damaged range ("journal <dir>: records [a, b] of segment <file> are
  // damaged (checksum mismatch at byte offset N); ...") and the reader stays at it; OUT_OF_RANGE
  // if retention deleted next() before it was read. An error met after some records were
  // appended is returned by the next Read instead, so no record is lost.
  // `infos`, if not null, gets one entry per record appended.
  // Requires: max_records > 0.
  absl::StatusOr<int> Read(int64_t through, int max_records, std::size_t max_bytes,
                           std::string& out, std::vector<RecordInfo>* infos = nullptr);

  // The sequence the next Read starts at.
  [[nodiscard]] int64_t next() const noexcept { return next_; }

 private:
  friend class Journal;
  JournalReader(const Journal& journal, int64_t from);

  // Finds the segment of next_ and positions the cursor at or before it.
  absl::Status Locate();
  // What to do at the end of the readable bytes of segment_: move on, or report damage.
  absl::Status AtSegmentEnd();

  const Journal& journal_;
  int64_t next_;
  std::shared_ptr<Segment> segment_;  // holds the file open even if retention deleted it
  int64_t segment_end_sequence_ = Journal::kNoSuccessor;  // the next segment's first
  RecordCursor cursor_;
};

}  // namespace ringcast::server::storage

#endif  // RINGCAST_SERVER_STORAGE_JOURNAL_H_
