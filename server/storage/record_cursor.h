// RecordCursor: reads one segment's records front to back through a read-ahead buffer, checking
// each (length bound, checksum, sequence), and never reading the file past a limit the caller
// gives: the journal passes what the writer finished writing, so a cursor never looks at bytes a
// write may still be changing.
//
// Thread safety: one thread at a time (the file's ReadAt is safe with a concurrent writer).
#ifndef RINGCAST_SERVER_STORAGE_RECORD_CURSOR_H_
#define RINGCAST_SERVER_STORAGE_RECORD_CURSOR_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "storage/file_io.h"
#include "storage/record.h"

namespace ringcast::server::storage {

struct Record {
  int64_t sequence = 0;
  int64_t time_nanos = 0;
  absl::string_view body;  // into the cursor's buffer: valid until its next call
  uint64_t position = 0;   // of the header in the file
};

class RecordCursor {
 public:
  // What Peek found at position().
  enum class Step {
    kRecord,  // a whole record that passed every check
    kEnd,     // position() is the limit: nothing more to read
    kDefect,  // a damaged record; defect() says how
  };

  // `read_ahead_bytes`: how much one pread fetches (a record larger than that is read whole).
  RecordCursor(std::size_t read_ahead_bytes, uint32_t max_body_bytes);
  RecordCursor(const RecordCursor&) = delete;
  RecordCursor& operator=(const RecordCursor&) = delete;

  // Starts reading `file` at `position`, where record `sequence` should start. Drops the buffer.
  // `file` must outlive the cursor's use of it.
  void Reset(const File* file, uint64_t position, int64_t sequence);

  // Looks at the record at position() without moving past it, reading no byte at or beyond
  // `limit`. kRecord fills `record`. An error status only for a failed read.
  absl::StatusOr<Step> Peek(uint64_t limit, Record& record);
  // Moves past the record the last Peek returned (kRecord only).
  void Consume();

  [[nodiscard]] uint64_t position() const noexcept { return position_; }
  // The sequence the record at position() must carry.
  [[nodiscard]] int64_t sequence() const noexcept { return sequence_; }
  // Of the last kDefect.
  [[nodiscard]] RecordDefect defect() const noexcept { return defect_; }

 private:
  // Makes [position_, position_ + n) readable in the buffer, reading below `limit` only. Null
  // if the file ends first (it was cut short behind the journal's back).
  absl::StatusOr<const char*> Fetch(std::size_t n, uint64_t limit);
  Step Defect(RecordDefect defect) {
    defect_ = defect;
    return Step::kDefect;
  }

  const std::size_t read_ahead_bytes_;
  const uint32_t max_body_bytes_;
  const File* file_ = nullptr;
  uint64_t position_ = 0;
  int64_t sequence_ = 0;
  std::size_t peeked_bytes_ = 0;  // of the record the last Peek returned; 0 if none
  RecordDefect defect_ = RecordDefect::kNone;

  std::string buffer_;  // file bytes [buffer_position_, + buffer_bytes_)
  uint64_t buffer_position_ = 0;
  std::size_t buffer_bytes_ = 0;
};

}  // namespace ringcast::server::storage

#endif  // RINGCAST_SERVER_STORAGE_RECORD_CURSOR_H_
