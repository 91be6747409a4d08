// Journal::Open: finding the segments, loading or rebuilding their indexes, and cutting the last
// segment's torn tail.
#include <algorithm>
#include <cassert>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "storage/atomic_file.h"
#include "storage/journal.h"
#include "storage/record.h"
#include "storage/record_cursor.h"
#include "storage/segment_index.h"

namespace ringcast::server::storage {
namespace {

constexpr std::size_t kScanReadAheadBytes = 256 << 10;

absl::Status ValidateOptions(const JournalOptions& options) {
  if (options.segment_bytes == 0) return absl::InvalidArgumentError("segment_bytes must be > 0");
  if (options.segment_age <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("segment_age must be > 0");
  }
  if (options.retention_age < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("retention_age must be >= 0");
  }
  if (options.empty_next_sequence < 0) {
    return absl::InvalidArgumentError("empty_next_sequence must be >= 0");
  }
  return absl::OkStatus();
}

// "/a/b/" -> "/a/b": the directory's parent is then its ParentDirectory.
std::string WithoutTrailingSlashes(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

// An index file for a segment of `segment_bytes` holds at most one entry per record.
std::size_t MaxIndexFileBytes(uint64_t segment_bytes) {
  return 64 + static_cast<std::size_t>(segment_bytes / kRecordHeaderBytes + 1) * 24;
}

// What a scan of a segment's records found.
struct ScanOutcome {
  uint64_t end = 0;           // after the last good record
  int64_t next_sequence = 0;  // of the record after it
  int64_t last_time_nanos = 0;
  RecordDefect defect = RecordDefect::kNone;  // of the record at `end`, if the scan stopped there
};

// Reads the records of `file` from `start` while they are below `limit` bytes and
// `stop_sequence`, adding index entries to `entries` as the writer did. `floor_time_nanos`: the
// last time before `start`.
absl::StatusOr<ScanOutcome> ScanRecords(const File& file, const IndexEntry& start, uint64_t limit,
                                        int64_t stop_sequence, const JournalOptions& options,
                                        int64_t floor_time_nanos,
                                        std::vector<IndexEntry>& entries) {
  RecordCursor cursor(kScanReadAheadBytes, options.max_body_bytes);
  cursor.Reset(&file, start.position, start.sequence);
  ScanOutcome outcome{
      .end = start.position, .next_sequence = start.sequence, .last_time_nanos = floor_time_nanos};
  Record record;
  while (cursor.sequence() < stop_sequence) {
    absl::StatusOr<RecordCursor::Step> step = cursor.Peek(limit, record);
    if (!step.ok()) return step.status();
    if (*step == RecordCursor::Step::kEnd) break;
    if (*step == RecordCursor::Step::kDefect) {
      outcome.defect = cursor.defect();
      break;
    }
    if (NeedsIndexEntry(entries, record.position, options.index_interval_bytes)) {
      entries.push_back(IndexEntry{.sequence = record.sequence,
                                   .position = record.position,
                                   .time_nanos = record.time_nanos});
    }
    outcome.last_time_nanos = record.time_nanos;
    cursor.Consume();
    outcome.end = cursor.position();
    outcome.next_sequence = cursor.sequence();
  }
  return outcome;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Journal>> Journal::Open(std::string dir, JournalOptions options,
                                                       RecoveryReport* report) {
  const absl::Time start = absl::Now();
  if (absl::Status status = ValidateOptions(options); !status.ok()) return status;
  dir = WithoutTrailingSlashes(std::move(dir));
  FileSystem& fs = options.fs != nullptr ? *options.fs : FileSystem::Posix();
  absl::StatusOr<bool> created = fs.CreateDirectory(dir);
  if (!created.ok()) return created.status();
  if (*created) {
    if (absl::Status status = fs.SyncDirectory(ParentDirectory(dir)); !status.ok()) return status;
  }
  absl::StatusOr<std::vector<std::string>> names = fs.ListDirectory(dir);
  if (!names.ok()) return names.status();
  std::vector<int64_t> firsts;
  for (const std::string& name : *names) {
    if (std::optional<int64_t> first = ParseSegmentFileName(name)) firsts.push_back(*first);
  }
  std::sort(firsts.begin(), firsts.end());

  std::unique_ptr<Journal> journal(new Journal(std::move(dir), std::move(options), fs));
  RecoveryReport recovered;
  if (absl::Status status = journal->Recover(firsts, recovered); !status.ok()) return status;
  recovered.segments = journal->segments();
  recovered.bytes = journal->bytes();
  recovered.first_sequence = journal->first_sequence();
  recovered.next_sequence = journal->next_sequence();
  recovered.took = absl::Now() - start;
  if (report != nullptr) *report = std::move(recovered);
  return journal;
}

absl::Status Journal::Recover(const std::vector<int64_t>& firsts, RecoveryReport& report) {
  if (firsts.empty()) {
    // Nothing on disk: the first Append creates the first segment.
    next_sequence_.store(options_.empty_next_sequence, std::memory_order_relaxed);
    written_sequence_.store(options_.empty_next_sequence - 1, std::memory_order_relaxed);
    synced_sequence_.store(options_.empty_next_sequence - 1, std::memory_order_relaxed);
    return absl::OkStatus();
  }
  for (std::size_t i = 0; i + 1 < firsts.size(); ++i) {
    absl::StatusOr<std::shared_ptr<Segment>> segment =
        LoadSealedSegment(firsts[i], firsts[i + 1], report);
    if (!segment.ok()) return segment.status();
    if (!(*segment)->empty()) writer_.last_time_nanos = (*segment)->last_time_nanos();
    std::lock_guard<std::mutex> lock(mu_);
    segments_.push_back(*std::move(segment));
  }
  if (absl::Status status = LoadActiveSegment(firsts.back(), report); !status.ok()) return status;
  while (EndsWithAnUnwrittenRoll()) {
    if (absl::Status status = DropUnwrittenRoll(report); !status.ok()) return status;
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (std::size_t i = 0; i + 1 < segments_.size(); ++i) {
    if (segments_[i]->last_sequence() != segments_[i + 1]->first_sequence() - 1) {
      ++report.damaged_segments;
    }
  }
  return absl::OkStatus();
}

bool Journal::EndsWithAnUnwrittenRoll() const {
  std::lock_guard<std::mutex> lock(mu_);
  const std::size_t n = segments_.size();
  return n >= 2 && segments_[n - 1]->empty() &&
         segments_[n - 2]->last_sequence() != segments_[n - 1]->first_sequence() - 1;
}

absl::Status Journal::DropUnwrittenRoll(RecoveryReport& report) {
  // Append creates a segment when it rolls, while the records before it may still be buffered:
  // a crash before Write leaves an empty last segment after one that stops short. Those records
  // were never written (nor acknowledged), so the empty segment goes and the one before it is
  // the active one again, its torn tail cut: the sequences stay without a gap.
  std::shared_ptr<Segment> empty;
  std::shared_ptr<Segment> before;
  {
    std::lock_guard<std::mutex> lock(mu_);
    empty = segments_.back();
    segments_.pop_back();
    before = segments_.back();
    segments_.pop_back();
    writer_.last_time_nanos = segments_.empty() || segments_.back()->empty()
                                  ? std::numeric_limits<int64_t>::min()
                                  : segments_.back()->last_time_nanos();
  }
  writer_.active = nullptr;
  (void)fs_.Remove(JoinPath(dir_, IndexFileName(empty->first_sequence())));
  if (absl::Status status = fs_.Remove(empty->path()); !status.ok()) return status;
  if (absl::Status status = fs_.SyncDirectory(dir_); !status.ok()) return status;
  ++report.removed_segments;
  return LoadActiveSegment(before->first_sequence(), report);
}

std::optional<SegmentIndex> Journal::ReadSavedIndex(int64_t first, uint64_t segment_bytes) {
  absl::StatusOr<std::string> data =
      ReadSmallFile(JoinPath(dir_, IndexFileName(first)), MaxIndexFileBytes(segment_bytes), &fs_);
  if (!data.ok()) return std::nullopt;  // missing, too long or unreadable: rebuilt either way
  std::optional<SegmentIndex> index = DecodeIndexFile(*data, first);
  // Records it claims past the file's end are not there: it is from another life of the file.
  if (!index || index->end > segment_bytes) return std::nullopt;
  return index;
}

absl::StatusOr<std::shared_ptr<Segment>> Journal::LoadSealedSegment(int64_t first,
                                                                    int64_t next_first,
                                                                    RecoveryReport& report) {
  const std::string path = JoinPath(dir_, SegmentFileName(first));
  absl::StatusOr<std::unique_ptr<File>> file = fs_.Open(path, OpenMode::kReadOnly);
  if (!file.ok()) return file.status();
  absl::StatusOr<uint64_t> size = (*file)->Size();
  if (!size.ok()) return size.status();
  std::optional<SegmentIndex> index = ReadSavedIndex(first, *size);
  if (index && index->last_sequence == next_first - 1) {
    return std::make_shared<Segment>(first, path, *std::move(file), *std::move(index), *size);
  }
  // Rebuild the index. A damaged record stops the scan but not the Open: readers report it.
  ++report.indexes_rebuilt;
  SegmentIndex rebuilt;
  absl::StatusOr<ScanOutcome> outcome =
      ScanRecords(**file, IndexEntry{.sequence = first}, *size, next_first, options_,
                  writer_.last_time_nanos, rebuilt.entries);
  if (!outcome.ok()) return outcome.status();
  rebuilt.end = outcome->end;
  rebuilt.last_sequence = outcome->next_sequence - 1;
  rebuilt.last_time_nanos = outcome->last_time_nanos;
  const bool whole = outcome->next_sequence == next_first;
  auto segment =
      std::make_shared<Segment>(first, path, *std::move(file), std::move(rebuilt), *size);
  if (whole) SaveIndex(*segment);  // else it would fail the check above at every Open
  return segment;
}

SegmentIndex Journal::TakeActiveIndex(int64_t first, uint64_t segment_bytes) {
  std::optional<SegmentIndex> index = ReadSavedIndex(first, segment_bytes);
  // The segment grows from now on, so its saved index goes: ~Journal saves a new one. Should the
  // removal fail, what stays describes a prefix of the file, still true or refused by its end.
  (void)fs_.Remove(JoinPath(dir_, IndexFileName(first)));
  if (!index) return SegmentIndex{.last_sequence = first - 1};
  return *std::move(index);
}

absl::Status Journal::LoadActiveSegment(int64_t first, RecoveryReport& report) {
  const std::string path = JoinPath(dir_, SegmentFileName(first));
  absl::StatusOr<std::unique_ptr<File>> file = fs_.Open(path, OpenMode::kReadWrite);
  if (!file.ok()) return file.status();
  absl::StatusOr<uint64_t> size = (*file)->Size();
  if (!size.ok()) return size.status();

  // Scan from the last index entry: only the tail can be torn.
  SegmentIndex index = TakeActiveIndex(first, *size);
  IndexEntry start = index.entries.empty() ? IndexEntry{.sequence = first} : index.entries.back();
  absl::StatusOr<ScanOutcome> outcome = ScanRecords(**file, start, *size, kNoSuccessor, options_,
                                                    writer_.last_time_nanos, index.entries);
  if (!outcome.ok()) return outcome.status();
  if (outcome->defect != RecordDefect::kNone && outcome->end == start.position &&
      start.position > 0) {
    // The indexed record itself is bad, so the saved index cannot be trusted: scan everything.
    index.entries.clear();
    start = IndexEntry{.sequence = first};
    outcome = ScanRecords(**file, start, *size, kNoSuccessor, options_, writer_.last_time_nanos,
                          index.entries);
    if (!outcome.ok()) return outcome.status();
  }
  std::erase_if(index.entries,
                [end = outcome->end](const IndexEntry& entry) { return entry.position >= end; });

  if (outcome->end < *size) {
    if (absl::Status status = (*file)->Truncate(outcome->end); !status.ok()) return status;
    report.truncated_bytes += static_cast<int64_t>(*size - outcome->end);
    report.truncation =
        absl::StrCat("cut ", *size - outcome->end, " bytes from ", path, " at byte offset ",
                     outcome->end, " (", DescribeRecordDefect(outcome->defect), " where record ",
                     outcome->next_sequence, " should start)");
  }
  // What is kept is durable from here on, so synced_sequence() can say so.
  if (absl::Status status = (*file)->DataSync(); !status.ok()) return status;

  index.end = outcome->end;
  index.last_sequence = outcome->next_sequence - 1;
  index.last_time_nanos = outcome->last_time_nanos;
  writer_.active_entries = index.entries;
  auto segment =
      std::make_shared<Segment>(first, path, *std::move(file), std::move(index), outcome->end);
  {
    std::lock_guard<std::mutex> lock(mu_);
    segments_.push_back(segment);
  }
  writer_.active = std::move(segment);
  writer_.active_end = outcome->end;
  writer_.last_time_nanos = outcome->last_time_nanos;
  // Relaxed: no other thread has the journal yet; Open's return publishes it.
  next_sequence_.store(outcome->next_sequence, std::memory_order_relaxed);
  written_sequence_.store(outcome->next_sequence - 1, std::memory_order_relaxed);
  synced_sequence_.store(outcome->next_sequence - 1, std::memory_order_relaxed);
  return absl::OkStatus();
}

}  // namespace ringcast::server::storage
