// Segment: one segment file of a journal and what is known of its records, shared by the
// journal's writer and its readers.
//
// A segment `<dir>/<first_sequence:020d>.log` holds consecutive records from first_sequence on.
// Its sparse index has an entry {sequence, position, time} for the first record and then for
// about one record every `index_interval_bytes`; it lives in memory and, once the segment is
// sealed, in `<first_sequence:020d>.idx` too (derived data: never synced, rebuilt by scanning
// when missing or inconsistent).
//
// Thread safety: first_sequence, path and file never change. The journal's writer (one thread
// at a time) calls Extend; any thread the rest. Readers hold a shared_ptr, so a segment that
// retention unlinks stays open and readable for them.
//
// Memory ordering: Extend runs after the bytes reached the file (pwrite returned). It appends
// the index entries under mu_, then stores written_end_ with release; readers load written_end()
// with acquire (pairs with that store) before they pread, so every byte below what they see is a
// whole record that the kernel already holds, and the index entries for them are visible.
#ifndef RINGCAST_SERVER_STORAGE_SEGMENT_H_
#define RINGCAST_SERVER_STORAGE_SEGMENT_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "storage/file_io.h"

namespace ringcast::server::storage {

struct IndexEntry {
  int64_t sequence = 0;
  uint64_t position = 0;  // of the record's header in the file
  int64_t time_nanos = 0;

  friend bool operator==(const IndexEntry&, const IndexEntry&) = default;
};

// What is known of a segment's whole records.
struct SegmentIndex {
  std::vector<IndexEntry> entries;  // entries[0] is the first record, when there is one
  uint64_t end = 0;                 // where the last whole record ends
  int64_t last_sequence = -1;       // first_sequence - 1 when there is no record
  int64_t last_time_nanos = 0;      // meaningless when there is no record
};

// True if the record at `position` gets an index entry: the first record does, and then one
// at least `interval` bytes past the last entry.
inline bool NeedsIndexEntry(const std::vector<IndexEntry>& entries, uint64_t position,
                            uint64_t interval) noexcept {
  return entries.empty() || position - entries.back().position >= interval;
}

// "00000000000000000042.log", "00000000000000000042.idx".
std::string SegmentFileName(int64_t first_sequence);
std::string IndexFileName(int64_t first_sequence);
// The first sequence of the segment file named `name`, nullopt if it is not one.
std::optional<int64_t> ParseSegmentFileName(absl::string_view name);

class Segment {
 public:
  // `readable_end`: where readers may read to (the file's size for a sealed segment, which may
  // pass index.end when its records are damaged; index.end for the active one).
  Segment(int64_t first_sequence, std::string path, std::unique_ptr<File> file, SegmentIndex index,
          uint64_t readable_end);
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  [[nodiscard]] int64_t first_sequence() const noexcept { return first_sequence_; }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] File& file() const noexcept { return *file_; }

  // Bytes of whole records handed to the OS; acquire (see Memory ordering).
  [[nodiscard]] uint64_t written_end() const noexcept {
    return written_end_.load(std::memory_order_acquire);
  }

  // Writer only. Records up to `end` were written, the last of them `last_sequence` at
  // `last_time_nanos`; `entries` index them.
  void Extend(uint64_t end, int64_t last_sequence, int64_t last_time_nanos,
              absl::Span<const IndexEntry> entries);

  // Where to start reading for record `sequence`: the last entry at or before it ({first, 0}
  // when there is none).
  [[nodiscard]] IndexEntry SeekEntry(int64_t sequence) const;
  // Where to start scanning for the first record at or after `time_nanos`: the last entry
  // earlier than it, else the first ({first, 0} when there is none).
  [[nodiscard]] IndexEntry TimeEntry(int64_t time_nanos) const;

  [[nodiscard]] bool empty() const;
  // Of the last whole record written (see SegmentIndex for an empty segment).
  [[nodiscard]] int64_t last_sequence() const;
  [[nodiscard]] int64_t last_time_nanos() const;
  // A copy of the index, e.g. to write it to the .idx file.
  [[nodiscard]] SegmentIndex index() const;

 private:
  const int64_t first_sequence_;
  const std::string path_;
  const std::unique_ptr<File> file_;
  std::atomic<uint64_t> written_end_;

  mutable std::mutex mu_;
  SegmentIndex index_;  // guarded by mu_
};

}  // namespace ringcast::server::storage

#endif  // RINGCAST_SERVER_STORAGE_SEGMENT_H_
