#include "storage/segment_index.h"

#include <cstddef>

#include "storage/crc32c.h"
#include "storage/little_endian.h"
#include "storage/record.h"

namespace ringcast::server::storage {
namespace {

constexpr absl::string_view kMagic = "RCJIDX01";
constexpr std::size_t kFixedBytes = 8 + 8 + 8 + 8 + 8 + 4 + 4;
constexpr std::size_t kEntryBytes = 24;
constexpr std::size_t kCrcBytes = 4;

void Append64(std::string& out, uint64_t value) {
  char bytes[8];
  StoreLittle64(bytes, value);
  out.append(bytes, sizeof(bytes));
}

void Append32(std::string& out, uint32_t value) {
  char bytes[4];
  StoreLittle32(bytes, value);
  out.append(bytes, sizeof(bytes));
}

int64_t Load64s(const char* in) { return static_cast<int64_t>(LoadLittle64(in)); }

// Whether a decoded index can describe the segment starting at `first_sequence`.
bool Consistent(const SegmentIndex& index, int64_t first_sequence) {
  if (index.entries.empty()) return index.end == 0 && index.last_sequence == first_sequence - 1;
  const IndexEntry& first = index.entries.front();
  if (first.sequence != first_sequence || first.position != 0) return false;
  for (std::size_t i = 1; i < index.entries.size(); ++i) {
    const IndexEntry& before = index.entries[i - 1];
    const IndexEntry& entry = index.entries[i];
    // Each record takes at least a header.
    if (entry.sequence <= before.sequence || entry.time_nanos < before.time_nanos ||
        entry.position <
            before.position +
                kRecordHeaderBytes * static_cast<uint64_t>(entry.sequence - before.sequence)) {
      return false;
    }
  }
  const IndexEntry& last = index.entries.back();
  return last.position + kRecordHeaderBytes <= index.end && last.sequence <= index.last_sequence &&
         last.time_nanos <= index.last_time_nanos;
}

}  // namespace

std::string EncodeIndexFile(int64_t first_sequence, const SegmentIndex& index) {
  std::string out;
  out.reserve(kFixedBytes + index.entries.size() * kEntryBytes + kCrcBytes);
  out.append(kMagic.data(), kMagic.size());
  Append64(out, static_cast<uint64_t>(first_sequence));
  Append64(out, index.end);
  Append64(out, static_cast<uint64_t>(index.last_sequence));
  Append64(out, static_cast<uint64_t>(index.last_time_nanos));
  Append32(out, static_cast<uint32_t>(index.entries.size()));
  Append32(out, 0);
  for (const IndexEntry& entry : index.entries) {
    Append64(out, static_cast<uint64_t>(entry.sequence));
    Append64(out, entry.position);
    Append64(out, static_cast<uint64_t>(entry.time_nanos));
  }
  Append32(out, Crc32c(out));
  return out;
}

std::optional<SegmentIndex> DecodeIndexFile(absl::string_view data, int64_t first_sequence) {
  if (data.size() < kFixedBytes + kCrcBytes || data.substr(0, kMagic.size()) != kMagic) {
    return std::nullopt;
  }
  const char* p = data.data();
  const uint32_t count = LoadLittle32(p + 40);
  if (data.size() != kFixedBytes + std::size_t{count} * kEntryBytes + kCrcBytes) {
    return std::nullopt;
  }
  const std::size_t covered = data.size() - kCrcBytes;
  if (LoadLittle32(p + covered) != Crc32c(data.substr(0, covered))) return std::nullopt;
  if (Load64s(p + 8) != first_sequence) return std::nullopt;

  SegmentIndex index;
  index.end = LoadLittle64(p + 16);
  index.last_sequence = Load64s(p + 24);
  index.last_time_nanos = Load64s(p + 32);
  index.entries.reserve(count);
  for (const char* entry = p + kFixedBytes; entry < p + covered; entry += kEntryBytes) {
    index.entries.push_back(IndexEntry{.sequence = Load64s(entry),
                                       .position = LoadLittle64(entry + 8),
                                       .time_nanos = Load64s(entry + 16)});
  }
  if (!Consistent(index, first_sequence)) return std::nullopt;
  return index;
}

}  // namespace ringcast::server::storage
