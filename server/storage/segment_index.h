// The .idx file of a sealed segment: its sparse index, saved so that opening a journal need not
// scan every segment. Derived data: written without fsync, and whatever fails the checks here
// (missing, short, garbage, from another segment) is rebuilt by scanning the segment.
//
// Layout, little-endian:
//   "RCJIDX01" | u64 first_sequence | u64 end | i64 last_sequence | i64 last_time_nanos |
//   u32 entry_count | u32 zero | entry_count x {i64 sequence, u64 position, i64 time_nanos} |
//   u32 crc32c of everything before it
#ifndef RINGCAST_SERVER_STORAGE_SEGMENT_INDEX_H_
#define RINGCAST_SERVER_STORAGE_SEGMENT_INDEX_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "storage/segment.h"

namespace ringcast::server::storage {

std::string EncodeIndexFile(int64_t first_sequence, const SegmentIndex& index);

// The index in `data` if it is whole, for the segment starting at `first_sequence`, and
// consistent in itself: entries start at {first_sequence, 0}, sequences and positions increase,
// times do not decrease, and everything lies within end and last_sequence. nullopt otherwise.
std::optional<SegmentIndex> DecodeIndexFile(absl::string_view data, int64_t first_sequence);

}  // namespace ringcast::server::storage

#endif  // RINGCAST_SERVER_STORAGE_SEGMENT_INDEX_H_
