// Journal: the writer (Append, Write, Sync, retention), the figures and the time lookup. Open and
// recovery are in journal_open.cc, JournalReader in journal_reader.cc.
#include "storage/journal.h"

#include <algorithm>
#include <cassert>
#include <utility>

#include "absl/strings/str_cat.h"
#include "storage/record.h"
#include "storage/segment_index.h"

namespace ringcast::server::storage {
namespace {

// A time lookup reads about one index interval, then a record or two.
constexpr std::size_t kTimeScanReadAheadBytes = 64 << 10;

}  // namespace

class Journal::WriterScope {
 public:
#ifndef NDEBUG
  explicit WriterScope(Journal& journal) : journal_(journal) {
    // Acquire/release: one writer thread's calls happen before the next one's, as the caller's
    // hand-off must already ensure; this only catches two writers at once.
    const bool busy = journal_.writer_busy_.exchange(true, std::memory_order_acquire);
    assert(!busy && "two threads ran the journal's writer at once");
    (void)busy;
  }
  ~WriterScope() { journal_.writer_busy_.store(false, std::memory_order_release); }

 private:
  Journal& journal_;
#else
  explicit WriterScope(Journal& /*journal*/) {}
#endif
};

Journal::Journal(std::string dir, JournalOptions options, FileSystem& fs)
    : dir_(std::move(dir)), options_(std::move(options)), fs_(fs) {}

Journal::~Journal() {
  // Failed: the files are suspect, let the next Open scan them. Abandoned: not ours any more.
  if (!writer_.failure.ok()) return;
  for (const std::shared_ptr<Segment>& segment : writer_.unsaved) {
    if (!HasPendingRecords(segment.get())) SaveIndex(*segment);
  }
  // The active segment's index covers what was written: the next Open scans from its last
  // entry instead of from the start.
  if (writer_.active != nullptr) SaveIndex(*writer_.active);
}

// ---- The writer ----

absl::Status Journal::Append(int64_t sequence, int64_t time_nanos, absl::string_view body) {
  WriterScope scope(*this);
  if (absl::Status status = CheckWritable(sequence, body); !status.ok()) return status;
  const int64_t time = std::max(writer_.last_time_nanos, time_nanos);
  const std::size_t record_bytes = kRecordHeaderBytes + body.size();
  if (writer_.active == nullptr || NeedsRoll(record_bytes, time)) {
    if (absl::Status status = Roll(sequence); !status.ok()) return status;
  }
  PendingRun& run = RunForActive();
  if (NeedsIndexEntry(writer_.active_entries, writer_.active_end, options_.index_interval_bytes)) {
    const IndexEntry entry{
        .sequence = sequence, .position = writer_.active_end, .time_nanos = time};
    writer_.active_entries.push_back(entry);
    run.entries.push_back(entry);
  }
  AppendRecord(sequence, time, body, run.bytes);
  run.last_sequence = sequence;
  run.last_time_nanos = time;
  writer_.active_end += record_bytes;
  writer_.last_time_nanos = time;
  // Relaxed: see next_sequence().
  next_sequence_.store(sequence + 1, std::memory_order_relaxed);
  return absl::OkStatus();
}

absl::Status Journal::CheckWritable(int64_t sequence, absl::string_view body) const {
  if (!writer_.failure.ok()) return writer_.failure;
  const int64_t next = next_sequence();
  assert(sequence == next && "Journal::Append takes next_sequence()");
  if (sequence != next) {
    return absl::FailedPreconditionError(
        absl::StrCat("journal of ", dir_, ": appended ", sequence, " where ", next, " is next"));
  }
  if (body.size() > options_.max_body_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("journal of ", dir_, ": a record of ",
                                                   body.size(), " bytes passes the bound of ",
                                                   options_.max_body_bytes));
  }
  return absl::OkStatus();
}

bool Journal::NeedsRoll(std::size_t record_bytes, int64_t time_nanos) const {
  if (writer_.active_end == 0 || writer_.active_entries.empty()) return false;  // holds nothing
  if (writer_.active_end + record_bytes > options_.segment_bytes) return true;
  // Unsigned: times never decrease, so the difference fits even when it passes INT64_MAX.
  const uint64_t age = static_cast<uint64_t>(time_nanos) -
                       static_cast<uint64_t>(writer_.active_entries.front().time_nanos);
  return age >= static_cast<uint64_t>(absl::ToInt64Nanoseconds(options_.segment_age));
}

absl::Status Journal::Roll(int64_t first_sequence) {
  const std::string path = JoinPath(dir_, SegmentFileName(first_sequence));
  absl::StatusOr<std::unique_ptr<File>> file = fs_.Open(path, OpenMode::kCreateNew);
  if (!file.ok()) return file.status();
  auto segment = std::make_shared<Segment>(first_sequence, path, *std::move(file),
                                           SegmentIndex{.last_sequence = first_sequence - 1},
                                           /*readable_end=*/0);
  {
    std::lock_guard<std::mutex> lock(mu_);
    segments_.push_back(segment);
  }
  if (writer_.active != nullptr) writer_.unsaved.push_back(writer_.active);
  writer_.active = std::move(segment);
  writer_.active_end = 0;
  writer_.active_entries.clear();
  writer_.directory_unsynced = true;
  return absl::OkStatus();
}

Journal::PendingRun& Journal::RunForActive() {
  if (writer_.pending.empty() || writer_.pending.back().segment != writer_.active) {
    PendingRun& run = writer_.pending.emplace_back();
    run.segment = writer_.active;
    run.position = writer_.active_end;
    run.bytes.swap(writer_.spare_bytes);  // reuse the last run's allocation
    run.bytes.clear();
  }
  return writer_.pending.back();
}

absl::Status Journal::Write() {
  WriterScope scope(*this);
  if (!writer_.failure.ok()) return writer_.failure;
  while (!writer_.pending.empty()) {
    if (absl::Status status = WriteRun(writer_.pending.front()); !status.ok()) return status;
    writer_.spare_bytes.swap(writer_.pending.front().bytes);
    writer_.pending.pop_front();
  }
  // Every sealed segment is now written whole: save its index.
  for (const std::shared_ptr<Segment>& segment : writer_.unsaved) SaveIndex(*segment);
  writer_.unsaved.clear();
  return absl::OkStatus();
}

absl::Status Journal::WriteRun(PendingRun& run) {
  Segment& segment = *run.segment;
  const absl::string_view parts[] = {run.bytes};
  if (absl::Status status = segment.file().WriteAt(run.position, parts); !status.ok()) {
    // Cut off whatever prefix reached the file, so that a crash before the retry leaves no torn
    // record. If even that fails, the retry overwrites the same bytes at the same offset, and
    // recovery cuts a torn tail.
    (void)segment.file().Truncate(run.position);
    return status;
  }
  segment.Extend(run.position + run.bytes.size(), run.last_sequence, run.last_time_nanos,
                 run.entries);
  MarkUnsynced(run.segment);
  // Release: pairs with the acquire in written_sequence(); Extend and the list come first.
  written_sequence_.store(run.last_sequence, std::memory_order_release);
  return absl::OkStatus();
}

void Journal::MarkUnsynced(const std::shared_ptr<Segment>& segment) {
  std::vector<std::shared_ptr<Segment>>& unsynced = writer_.unsynced;
  if (std::find(unsynced.begin(), unsynced.end(), segment) == unsynced.end()) {
    unsynced.push_back(segment);
  }
}

bool Journal::HasPendingRecords(const Segment* segment) const {
  return std::any_of(writer_.pending.begin(), writer_.pending.end(),
                     [segment](const PendingRun& run) { return run.segment.get() == segment; });
}

absl::Status Journal::Sync() {
  WriterScope scope(*this);
  if (!writer_.failure.ok()) return writer_.failure;
  // Relaxed: the writer reads its own store.
  const int64_t written = written_sequence_.load(std::memory_order_relaxed);
  for (const std::shared_ptr<Segment>& segment : writer_.unsynced) {
    if (absl::Status status = segment->file().DataSync(); !status.ok()) {
      return Fail(status);
    }
  }
  writer_.unsynced.clear();
  if (writer_.directory_unsynced) {
    if (absl::Status status = fs_.SyncDirectory(dir_); !status.ok()) {
      return Fail(status);
    }
    writer_.directory_unsynced = false;
  }
  // Release: pairs with the acquire in synced_sequence().
  synced_sequence_.store(written, std::memory_order_release);
  return absl::OkStatus();
}

absl::Status Journal::Fail(const absl::Status& cause) {
  // The cause names the call and the file: "fdatasync of <file> failed: Input/output error".
  writer_.failure = absl::UnavailableError(absl::StrCat(
      "journal of ", dir_, " failed: ", cause.message(), "; restart the server to recover"));
  // Relaxed: see failed().
  failed_.store(true, std::memory_order_relaxed);
  return writer_.failure;
}

void Journal::Abandon() {
  WriterScope scope(*this);
  if (!writer_.failure.ok()) return;
  writer_.failure = absl::NotFoundError(
      absl::StrCat("journal of ", dir_, " was given up (its topic was deleted)"));
}

void Journal::SaveIndex(const Segment& segment) {
  // Derived data: not synced, and a failure only costs a scan at the next Open.
  const std::string path = JoinPath(dir_, IndexFileName(segment.first_sequence()));
  const std::string contents = EncodeIndexFile(segment.first_sequence(), segment.index());
  absl::StatusOr<std::unique_ptr<File>> file = fs_.Open(path, OpenMode::kCreateOrTruncate);
  if (!file.ok()) return;
  const absl::string_view parts[] = {contents};
  (void)(*file)->WriteAt(0, parts);
}

// ---- Retention ----

absl::StatusOr<int> Journal::ApplyRetention(absl::Time now) {
  WriterScope scope(*this);
  if (!writer_.failure.ok()) return writer_.failure;
  int deleted = 0;
  for (const std::shared_ptr<Segment>& segment : RetentionVictims(now)) {
    if (absl::Status status = DeleteSegment(segment); !status.ok()) return status;
    ++deleted;
  }
  return deleted;
}

std::vector<std::shared_ptr<Segment>> Journal::RetentionVictims(absl::Time now) const {
  const bool by_bytes = options_.retention_bytes > 0;
  const bool by_age = options_.retention_age > absl::ZeroDuration();
  if (!by_bytes && !by_age) return {};
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t total = 0;
  for (const std::shared_ptr<Segment>& segment : segments_) total += segment->written_end();
  std::vector<std::shared_ptr<Segment>> victims;
  // Oldest first, never the active segment (the last), stopping at the first one kept: times
  // never decrease, so the ones after it are no older.
  for (std::size_t i = 0; i + 1 < segments_.size(); ++i) {
    const Segment& segment = *segments_[i];
    if (HasPendingRecords(&segment)) break;
    const bool too_many_bytes = by_bytes && total > options_.retention_bytes;
    const bool too_old =
        by_age && (segment.empty() ||
                   absl::FromUnixNanos(segment.last_time_nanos()) < now - options_.retention_age);
    if (!too_many_bytes && !too_old) break;
    victims.push_back(segments_[i]);
    total -= segment.written_end();
  }
  return victims;
}

absl::Status Journal::DeleteSegment(const std::shared_ptr<Segment>& segment) {
  // The index first: a crash in between leaves a segment without one (rebuilt), never an index
  // without its segment.
  const std::string index_path = JoinPath(dir_, IndexFileName(segment->first_sequence()));
  if (absl::Status status = fs_.Remove(index_path); !status.ok() && !absl::IsNotFound(status)) {
    return status;
  }
  if (absl::Status status = fs_.Remove(segment->path());
      !status.ok() && !absl::IsNotFound(status)) {
    return status;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    assert(!segments_.empty() && segments_.front() == segment && "retention deletes the oldest");
    segments_.erase(segments_.begin());
  }
  std::erase(writer_.unsynced, segment);
  std::erase(writer_.unsaved, segment);
  writer_.directory_unsynced = true;
  return absl::OkStatus();
}

// ---- Any thread ----

int64_t Journal::first_sequence() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (segments_.empty()) return next_sequence();
  return segments_.front()->first_sequence();
}

uint64_t Journal::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t total = 0;
  for (const std::shared_ptr<Segment>& segment : segments_) total += segment->written_end();
  return total;
}

int Journal::segments() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(segments_.size());
}

Journal::Located Journal::Locate(int64_t sequence) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto after = std::upper_bound(segments_.begin(), segments_.end(), sequence,
                                [](int64_t s, const std::shared_ptr<Segment>& segment) {
                                  return s < segment->first_sequence();
                                });
  if (after == segments_.begin()) return Located{};
  return Located{
      .segment = *(after - 1),
      .end_sequence = after == segments_.end() ? kNoSuccessor : (*after)->first_sequence()};
}

int64_t Journal::LastSequenceOf(const Segment& segment, int64_t written) const {
  const Located located = Locate(segment.first_sequence());
  if (located.segment.get() == &segment && located.end_sequence != kNoSuccessor) {
    return located.end_sequence - 1;
  }
  return written;
}

absl::Status Journal::Damaged(const Segment& segment, int64_t from, int64_t through,
                              absl::string_view what, uint64_t position) const {
  return absl::DataLossError(
      absl::StrCat("journal ", dir_, ": records [", from, ", ", std::max(from, through),
                   "] of segment ", segment.path(), " are damaged (", what, " at byte offset ",
                   position, "); reading can resume at ", std::max(from, through) + 1));
}

absl::StatusOr<int64_t> Journal::SequenceAtTime(int64_t time_nanos) const {
  // Acquire: pairs with the release in WriteRun; the segments hold every record up to it.
  const int64_t written = written_sequence();
  std::vector<std::shared_ptr<Segment>> segments;
  {
    std::lock_guard<std::mutex> lock(mu_);
    segments = segments_;
  }
  // Times never decrease, so the segments whose last record is earlier come first.
  auto candidate = std::partition_point(
      segments.begin(), segments.end(), [time_nanos](const std::shared_ptr<Segment>& segment) {
        return !segment->empty() && segment->last_time_nanos() < time_nanos;
      });
  for (; candidate != segments.end(); ++candidate) {
    absl::StatusOr<int64_t> found = ScanForTime(**candidate, time_nanos, written);
    if (!found.ok() || *found <= written) return found;
  }
  return written + 1;
}

absl::StatusOr<int64_t> Journal::ScanForTime(const Segment& segment, int64_t time_nanos,
                                             int64_t written) const {
  const IndexEntry start = segment.TimeEntry(time_nanos);
  RecordCursor cursor(kTimeScanReadAheadBytes, options_.max_body_bytes);
  cursor.Reset(&segment.file(), start.position, start.sequence);
  const uint64_t limit = segment.written_end();
  Record record;
  while (cursor.sequence() <= written) {
    absl::StatusOr<RecordCursor::Step> step = cursor.Peek(limit, record);
    if (!step.ok()) return step.status();
    if (*step == RecordCursor::Step::kEnd) break;
    if (*step == RecordCursor::Step::kDefect) {
      return Damaged(segment, cursor.sequence(), LastSequenceOf(segment, written),
                     DescribeRecordDefect(cursor.defect()), cursor.position());
    }
    if (record.time_nanos >= time_nanos) return record.sequence;
    cursor.Consume();
  }
  return written + 1;
}

absl::StatusOr<std::unique_ptr<JournalReader>> Journal::NewReader(int64_t from) const {
  const int64_t written = written_sequence();
  const int64_t first = first_sequence();
  if (from < first || from > written + 1) {
    return absl::OutOfRangeError(absl::StrCat("journal ", dir_, " holds records [", first, ", ",
                                              written, "]: cannot read from ", from));
  }
  return std::unique_ptr<JournalReader>(new JournalReader(*this, from));
}

}  // namespace ringcast::server::storage
