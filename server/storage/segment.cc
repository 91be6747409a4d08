#include "storage/segment.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace ringcast::server::storage {
namespace {

constexpr std::size_t kSequenceDigits = 20;

}  // namespace

std::string SegmentFileName(int64_t first_sequence) {
  return absl::StrFormat("%020d.log", first_sequence);
}

std::string IndexFileName(int64_t first_sequence) {
  return absl::StrFormat("%020d.idx", first_sequence);
}

std::optional<int64_t> ParseSegmentFileName(absl::string_view name) {
  if (!absl::ConsumeSuffix(&name, ".log") || name.size() != kSequenceDigits) return std::nullopt;
  if (!std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  int64_t first = 0;
  if (!absl::SimpleAtoi(name, &first)) return std::nullopt;  // beyond int64
  return first;
}

Segment::Segment(int64_t first_sequence, std::string path, std::unique_ptr<File> file,
                 SegmentIndex index, uint64_t readable_end)
    : first_sequence_(first_sequence),
      path_(std::move(path)),
      file_(std::move(file)),
      written_end_(readable_end),
      index_(std::move(index)) {}

void Segment::Extend(uint64_t end, int64_t last_sequence, int64_t last_time_nanos,
                     absl::Span<const IndexEntry> entries) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    index_.entries.insert(index_.entries.end(), entries.begin(), entries.end());
    index_.end = end;
    index_.last_sequence = last_sequence;
    index_.last_time_nanos = last_time_nanos;
  }
  // Release: pairs with the acquire in written_end(); the bytes and entries come first.
  written_end_.store(end, std::memory_order_release);
}

IndexEntry Segment::SeekEntry(int64_t sequence) const {
  std::lock_guard<std::mutex> lock(mu_);
  const std::vector<IndexEntry>& entries = index_.entries;
  auto after =
      std::upper_bound(entries.begin(), entries.end(), sequence,
                       [](int64_t s, const IndexEntry& entry) { return s < entry.sequence; });
  if (after == entries.begin()) return IndexEntry{.sequence = first_sequence_};
  return *(after - 1);
}

IndexEntry Segment::TimeEntry(int64_t time_nanos) const {
  std::lock_guard<std::mutex> lock(mu_);
  const std::vector<IndexEntry>& entries = index_.entries;
  // Times never decrease along a journal, so entries are partitioned by `time < time_nanos`.
  auto at_or_after = std::partition_point(
      entries.begin(), entries.end(),
      [time_nanos](const IndexEntry& entry) { return entry.time_nanos < time_nanos; });
  if (at_or_after == entries.begin()) {
    return entries.empty() ? IndexEntry{.sequence = first_sequence_} : entries.front();
  }
  return *(at_or_after - 1);
}

bool Segment::empty() const {
  std::lock_guard<std::mutex> lock(mu_);
  return index_.entries.empty();
}

int64_t Segment::last_sequence() const {
  std::lock_guard<std::mutex> lock(mu_);
  return index_.last_sequence;
}

int64_t Segment::last_time_nanos() const {
  std::lock_guard<std::mutex> lock(mu_);
  return index_.last_time_nanos;
}

SegmentIndex Segment::index() const {
  std::lock_guard<std::mutex> lock(mu_);
  return index_;
}

}  // namespace ringcast::server::storage
