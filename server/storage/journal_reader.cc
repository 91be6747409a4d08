#include <algorithm>
#include <cassert>
#include <utility>

#include "absl/strings/str_cat.h"
#include "storage/journal.h"

namespace ringcast::server::storage {
namespace {

// What one pread fetches: many small records, or a large one whole.
constexpr std::size_t kReadAheadBytes = 256 << 10;

}  // namespace

JournalReader::JournalReader(const Journal& journal, int64_t from)
    : journal_(journal), next_(from), cursor_(kReadAheadBytes, journal.options().max_body_bytes) {}

absl::StatusOr<int> JournalReader::Read(int64_t through, int max_records, std::size_t max_bytes,
                                        std::string& out, std::vector<RecordInfo>* infos) {
  assert(max_records > 0 && "JournalReader::Read needs room for a record");
  // Acquire (pairs with the release in Journal::WriteRun): every record up to `through` is now
  // in the segment list, below its segment's written_end().
  const int64_t written = journal_.written_sequence();
  through = std::min(through, written);
  int count = 0;
  std::size_t bytes = 0;
  Record record;
  // An error after some records were appended returns them instead: the next Read meets it
  // again, with nothing lost.
  auto fail = [&count](absl::Status status) -> absl::StatusOr<int> {
    if (count > 0) return count;
    return status;
  };
  while (next_ <= through && count < max_records) {
    if (segment_ == nullptr || next_ >= segment_end_sequence_) {
      if (absl::Status status = Locate(); !status.ok()) return fail(std::move(status));
    }
    absl::StatusOr<RecordCursor::Step> step = cursor_.Peek(segment_->written_end(), record);
    if (!step.ok()) return fail(step.status());
    if (*step == RecordCursor::Step::kEnd) {
      if (absl::Status status = AtSegmentEnd(); !status.ok()) return fail(std::move(status));
      continue;
    }
    if (*step == RecordCursor::Step::kDefect) {
      return fail(journal_.Damaged(*segment_, cursor_.sequence(),
                                   journal_.LastSequenceOf(*segment_, written),
                                   DescribeRecordDefect(cursor_.defect()), cursor_.position()));
    }
    if (record.sequence < next_) {  // between the index entry Locate started at and next_
      cursor_.Consume();
      continue;
    }
    if (count > 0 && bytes + record.body.size() > max_bytes) break;
    if (infos != nullptr) {
      infos->push_back(RecordInfo{.sequence = record.sequence,
                                  .time_nanos = record.time_nanos,
                                  .offset = out.size(),
                                  .size = record.body.size()});
    }
    out.append(record.body.data(), record.body.size());
    bytes += record.body.size();
    ++count;
    ++next_;
    cursor_.Consume();
  }
  return count;
}

absl::Status JournalReader::Locate() {
  Journal::Located located = journal_.Locate(next_);
  if (located.segment == nullptr) {
    return absl::OutOfRangeError(absl::StrCat("journal ", journal_.dir(), ": record ", next_,
                                              " is no longer retained (the oldest is ",
                                              journal_.first_sequence(), ")"));
  }
  if (located.segment != segment_) {
    segment_ = std::move(located.segment);
    const IndexEntry entry = segment_->SeekEntry(next_);
    cursor_.Reset(&segment_->file(), entry.position, entry.sequence);
    segment_->file().AdviseSequential();
  }
  segment_end_sequence_ = located.end_sequence;
  return absl::OkStatus();
}

absl::Status JournalReader::AtSegmentEnd() {
  if (segment_end_sequence_ == Journal::kNoSuccessor) {
    // The segment was the last one when located, and next_ is written: the writer rolled since.
    const Segment* before = segment_.get();
    if (absl::Status status = Locate(); !status.ok()) return status;
    if (segment_.get() != before || segment_end_sequence_ != Journal::kNoSuccessor) {
      return absl::OkStatus();
    }
  }
  // The file ends before the records the segment list says it holds.
  return journal_.Damaged(*segment_, cursor_.sequence(),
                          journal_.LastSequenceOf(*segment_, journal_.written_sequence()),
                          "the file ends", cursor_.position());
}

}  // namespace ringcast::server::storage
