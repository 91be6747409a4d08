#include "storage/record.h"

#include <cassert>

#include "storage/crc32c.h"
#include "storage/little_endian.h"

namespace ringcast::server::storage {
namespace {

// The checksummed part of the header: sequence and time.
constexpr std::size_t kCrcStart = 8;

void EncodeCoveredFields(int64_t sequence, int64_t time_nanos, char* out) noexcept {
  StoreLittle64(out, static_cast<uint64_t>(sequence));
  StoreLittle64(out + 8, static_cast<uint64_t>(time_nanos));
}

}  // namespace

uint32_t RecordCrc(int64_t sequence, int64_t time_nanos, absl::string_view body) noexcept {
  char fields[kRecordHeaderBytes - kCrcStart];
  EncodeCoveredFields(sequence, time_nanos, fields);
  return Crc32c(body, Crc32c(absl::string_view(fields, sizeof(fields))));
}

void AppendRecord(int64_t sequence, int64_t time_nanos, absl::string_view body, std::string& out) {
  assert(body.size() <= UINT32_MAX && "a record body must fit its 32-bit length");
  const std::size_t start = out.size();
  char header[kRecordHeaderBytes];
  StoreLittle32(header, static_cast<uint32_t>(body.size()));
  StoreLittle32(header + 4, 0);  // the CRC, once what it covers is in place
  EncodeCoveredFields(sequence, time_nanos, header + kCrcStart);
  out.append(header, sizeof(header));
  out.append(body.data(), body.size());
  // The covered fields and the body lie side by side: one CRC call over both (two calls cost a
  // small record half again as much).
  StoreLittle32(out.data() + start + 4, Crc32c(absl::string_view(out).substr(start + kCrcStart)));
}

RecordHeader DecodeRecordHeader(const char* in) noexcept {
  return RecordHeader{.length = LoadLittle32(in),
                      .crc = LoadLittle32(in + 4),
                      .sequence = static_cast<int64_t>(LoadLittle64(in + 8)),
                      .time_nanos = static_cast<int64_t>(LoadLittle64(in + 16))};
}

absl::string_view DescribeRecordDefect(RecordDefect defect) noexcept {
  switch (defect) {
    case RecordDefect::kNone:
      return "no defect";
    case RecordDefect::kShortHeader:
      return "short header";
    case RecordDefect::kTooLong:
      return "length beyond the bound";
    case RecordDefect::kShortBody:
      return "short body";
    case RecordDefect::kChecksumMismatch:
      return "checksum mismatch";
    case RecordDefect::kUnexpectedSequence:
      return "unexpected sequence";
  }
  return "unknown defect";
}

RecordDefect CheckRecord(const RecordHeader& header, absl::string_view stored,
                         int64_t expected_sequence) noexcept {
  assert(stored.size() == kRecordHeaderBytes + header.length &&
         "CheckRecord needs the whole record");
  if (Crc32c(stored.substr(kCrcStart)) != header.crc) return RecordDefect::kChecksumMismatch;
  if (header.sequence != expected_sequence) return RecordDefect::kUnexpectedSequence;
  return RecordDefect::kNone;
}

}  // namespace ringcast::server::storage
