#include "storage/record_cursor.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace ringcast::server::storage {

RecordCursor::RecordCursor(std::size_t read_ahead_bytes, uint32_t max_body_bytes)
    : read_ahead_bytes_(std::max(read_ahead_bytes, kRecordHeaderBytes)),
      max_body_bytes_(max_body_bytes) {}

void RecordCursor::Reset(const File* file, uint64_t position, int64_t sequence) {
  file_ = file;
  position_ = position;
  sequence_ = sequence;
  peeked_bytes_ = 0;
  defect_ = RecordDefect::kNone;
  buffer_position_ = position;
  buffer_bytes_ = 0;
}

absl::StatusOr<RecordCursor::Step> RecordCursor::Peek(uint64_t limit, Record& record) {
  assert(file_ != nullptr && "Reset the cursor before reading");
  peeked_bytes_ = 0;
  if (position_ >= limit) return Step::kEnd;
  const uint64_t available = limit - position_;
  if (available < kRecordHeaderBytes) return Defect(RecordDefect::kShortHeader);
  absl::StatusOr<const char*> header_bytes = Fetch(kRecordHeaderBytes, limit);
  if (!header_bytes.ok()) return header_bytes.status();
  if (*header_bytes == nullptr) return Defect(RecordDefect::kShortHeader);
  const RecordHeader header = DecodeRecordHeader(*header_bytes);
  if (header.length > max_body_bytes_) return Defect(RecordDefect::kTooLong);
  const std::size_t total = kRecordHeaderBytes + header.length;
  if (available < total) return Defect(RecordDefect::kShortBody);
  absl::StatusOr<const char*> bytes = Fetch(total, limit);
  if (!bytes.ok()) return bytes.status();
  if (*bytes == nullptr) return Defect(RecordDefect::kShortBody);
  const absl::string_view body(*bytes + kRecordHeaderBytes, header.length);
  if (const RecordDefect defect = CheckRecord(header, absl::string_view(*bytes, total), sequence_);
      defect != RecordDefect::kNone) {
    return Defect(defect);
  }
  record = Record{.sequence = header.sequence,
                  .time_nanos = header.time_nanos,
                  .body = body,
                  .position = position_};
  peeked_bytes_ = total;
  return Step::kRecord;
}

void RecordCursor::Consume() {
  assert(peeked_bytes_ > 0 && "Consume follows a Peek that found a record");
  position_ += peeked_bytes_;
  ++sequence_;
  peeked_bytes_ = 0;
}

absl::StatusOr<const char*> RecordCursor::Fetch(std::size_t n, uint64_t limit) {
  const uint64_t buffer_end = buffer_position_ + buffer_bytes_;
  if (position_ >= buffer_position_ && position_ + n <= buffer_end) {
    return buffer_.data() + (position_ - buffer_position_);
  }
  // Keep the unread bytes already buffered, move them to the front, and read after them.
  std::size_t kept = 0;
  if (position_ >= buffer_position_ && position_ < buffer_end) {
    kept = static_cast<std::size_t>(buffer_end - position_);
    std::memmove(buffer_.data(), buffer_.data() + (position_ - buffer_position_), kept);
  }
  buffer_position_ = position_;
  buffer_bytes_ = kept;
  const std::size_t capacity = std::max(read_ahead_bytes_, n);
  if (buffer_.size() < capacity) buffer_.resize(capacity);
  // Read as far ahead as the buffer allows, but never at or past the limit.
  const uint64_t want = std::min<uint64_t>(capacity - kept, limit - (position_ + kept));
  absl::StatusOr<std::size_t> got =
      file_->ReadAt(position_ + kept, buffer_.data() + kept, static_cast<std::size_t>(want));
  if (!got.ok()) return got.status();
  buffer_bytes_ += *got;
  if (buffer_bytes_ < n) return nullptr;
  return buffer_.data();
}

}  // namespace ringcast::server::storage
