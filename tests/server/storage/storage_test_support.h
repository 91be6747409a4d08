// Helpers for the storage tests: a temporary directory removed at the end, bodies that say
// which record they belong to, reading a whole journal back, and damaging files on purpose.
#ifndef RINGCAST_TESTS_SERVER_STORAGE_STORAGE_TEST_SUPPORT_H_
#define RINGCAST_TESTS_SERVER_STORAGE_STORAGE_TEST_SUPPORT_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "storage/journal.h"
#include "storage/segment.h"

namespace ringcast::server::storage::testing {

// A fresh directory under ::testing::TempDir(), removed with everything in it when destroyed.
class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "ringcast_storage_XXXXXX";
    const char* made = ::mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr) << "mkdtemp " << pattern;
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The body of record `sequence`: it names the record, and its size varies with it (up to
// `spread` bytes of filler on top of `base`).
inline std::string BodyOf(int64_t sequence, std::size_t base = 40, std::size_t spread = 200) {
  std::string body = absl::StrCat("record ", sequence, ":");
  const std::size_t filler = base + static_cast<std::size_t>(sequence * 37) % (spread + 1);
  for (std::size_t i = 0; i < filler; ++i)
    body.push_back(static_cast<char>('a' + (sequence + i) % 26));
  return body;
}

// The time test records carry: 1000 ns apart, from a fixed instant.
inline int64_t TimeOf(int64_t sequence) { return 1'700'000'000'000'000'000 + sequence * 1000; }

struct ReadRecord {
  int64_t sequence = 0;
  int64_t time_nanos = 0;
  std::string body;
};

// Every record from `from` through written_sequence(), a few per Read; the first error if any.
inline absl::StatusOr<std::vector<ReadRecord>> ReadAll(const Journal& journal, int64_t from,
                                                       int max_records = 7,
                                                       std::size_t max_bytes = 4096) {
  absl::StatusOr<std::unique_ptr<JournalReader>> reader = journal.NewReader(from);
  if (!reader.ok()) return reader.status();
  std::vector<ReadRecord> records;
  const int64_t through = journal.written_sequence();
  while ((*reader)->next() <= through) {
    std::string out;
    std::vector<JournalReader::RecordInfo> infos;
    absl::StatusOr<int> n = (*reader)->Read(through, max_records, max_bytes, out, &infos);
    if (!n.ok()) return n.status();
    if (*n == 0) return absl::InternalError("Read returned nothing before `through`");
    for (const JournalReader::RecordInfo& info : infos) {
      records.push_back({info.sequence, info.time_nanos, out.substr(info.offset, info.size)});
    }
  }
  return records;
}

// Appends records [first, last] with BodyOf and TimeOf bodies and times, then writes them.
inline void AppendRange(Journal& journal, int64_t first, int64_t last, bool sync = true) {
  for (int64_t s = first; s <= last; ++s) {
    ASSERT_TRUE(journal.Append(s, TimeOf(s), BodyOf(s)).ok()) << s;
  }
  ASSERT_TRUE(journal.Write().ok());
  if (sync) {
    ASSERT_TRUE(journal.Sync().ok());
  }
}

// The segment files in `dir`, oldest first.
inline std::vector<std::string> SegmentFiles(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (ParseSegmentFileName(entry.path().filename().string())) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

inline std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void WriteFileBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline void FlipByte(const std::string& path, uint64_t offset) {
  std::string bytes = ReadFileBytes(path);
  ASSERT_LT(offset, bytes.size());
  bytes[offset] = static_cast<char>(bytes[offset] ^ 0x5a);
  WriteFileBytes(path, bytes);
}

}  // namespace ringcast::server::storage::testing

#endif  // RINGCAST_TESTS_SERVER_STORAGE_STORAGE_TEST_SUPPORT_H_
