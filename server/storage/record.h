// The journal's record format.
//
// A segment file is a run of records, each
//
//   u32 length | u32 crc32c | u64 sequence | i64 time_nanos | body[length]
//
// little-endian, a 24-byte header then the body. The CRC32C covers sequence, time and body (bytes
// 8 onward), so a torn or overwritten record fails it; the length is checked against a bound
// before anything is read, so a corrupt length never makes a reader allocate or skip gigabytes.
// Bodies are opaque: the server stores each event already encoded.
#ifndef RINGCAST_SERVER_STORAGE_RECORD_H_
#define RINGCAST_SERVER_STORAGE_RECORD_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace ringcast::server::storage {

inline constexpr std::size_t kRecordHeaderBytes = 24;

struct RecordHeader {
  uint32_t length = 0;  // of the body
  uint32_t crc = 0;
  int64_t sequence = 0;
  int64_t time_nanos = 0;
};

// The CRC32C a record with these fields carries.
uint32_t RecordCrc(int64_t sequence, int64_t time_nanos, absl::string_view body) noexcept;

// Appends the record (header, CRC computed, then body) to `out`.
// Requires: body.size() < 2^32.
void AppendRecord(int64_t sequence, int64_t time_nanos, absl::string_view body, std::string& out);

// The header stored in the kRecordHeaderBytes at `in`.
RecordHeader DecodeRecordHeader(const char* in) noexcept;

// What is wrong with a record, in the order a reader finds out: the header is cut short, the
// length passes the bound, the body is cut short, the checksum fails, or the record is intact but
// not the next in sequence (left over from elsewhere).
enum class RecordDefect {
  kNone,
  kShortHeader,
  kTooLong,
  kShortBody,
  kChecksumMismatch,
  kUnexpectedSequence,
};

// "checksum mismatch", "short header", ...
absl::string_view DescribeRecordDefect(RecordDefect defect) noexcept;

// Checks a whole record read from disk, `stored` being its header and body as they lie in the
// file and `header` the header decoded from them: its checksum, then its sequence.
// Requires: stored.size() == kRecordHeaderBytes + header.length.
RecordDefect CheckRecord(const RecordHeader& header, absl::string_view stored,
                         int64_t expected_sequence) noexcept;

}  // namespace ringcast::server::storage

#endif  // RINGCAST_SERVER_STORAGE_RECORD_H_
