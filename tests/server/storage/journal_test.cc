// Journal: writing and reading back across segments, reopening, torn tails, damaged sealed
// segments, retention, time lookup, the index files, and what a full disk or a failing
// fdatasync does.
#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/storage/storage_test_support.h"
#include "storage/fault_injection.h"
#include "storage/journal.h"
#include "storage/record.h"
#include "storage/segment.h"

namespace ringcast::server::storage {
namespace {

using testing::AppendRange;
using testing::BodyOf;
using testing::FlipByte;
using testing::ReadAll;
using testing::ReadFileBytes;
using testing::ReadRecord;
using testing::SegmentFiles;
using testing::TempDir;
using testing::TimeOf;
using testing::WriteFileBytes;

// Small segments (a dozen records each) and a dense index, so that every test crosses many of
// both.
JournalOptions SmallSegments() {
  JournalOptions options;
  options.segment_bytes = 2048;
  options.index_interval_bytes = 256;
  return options;
}

void ExpectRecords(const absl::StatusOr<std::vector<ReadRecord>>& records, int64_t first,
                   int64_t last) {
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(static_cast<int64_t>(records->size()), last - first + 1);
  for (int64_t s = first; s <= last; ++s) {
    const ReadRecord& record = (*records)[s - first];
    ASSERT_EQ(record.sequence, s);
    ASSERT_EQ(record.time_nanos, TimeOf(s));
    ASSERT_EQ(record.body, BodyOf(s));
  }
}

std::size_t RecordBytes(int64_t sequence) { return kRecordHeaderBytes + BodyOf(sequence).size(); }

// Where record `sequence` starts in the segment whose first record is `first`.
uint64_t OffsetOf(int64_t first, int64_t sequence) {
  uint64_t offset = 0;
  for (int64_t s = first; s < sequence; ++s) offset += RecordBytes(s);
  return offset;
}

int64_t FirstOf(const std::string& segment_path) {
  return *ParseSegmentFileName(std::filesystem::path(segment_path).filename().string());
}

std::string IndexPathOf(const std::string& segment_path) {
  return JoinPath(ParentDirectory(segment_path), IndexFileName(FirstOf(segment_path)));
}

// Every file name in `dir`.
std::set<std::string> FileNames(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

class JournalTest : public ::testing::Test {
 protected:
  std::unique_ptr<Journal> Open(const JournalOptions& options = SmallSegments(),
                                RecoveryReport* report = nullptr) {
    absl::StatusOr<std::unique_ptr<Journal>> journal = Journal::Open(dir(), options, report);
    EXPECT_TRUE(journal.ok()) << journal.status();
    return journal.ok() ? *std::move(journal) : nullptr;
  }
  // Writes records [0, last] in a fresh journal and closes it.
  void WriteAndClose(int64_t last, const JournalOptions& options = SmallSegments()) {
    std::unique_ptr<Journal> journal = Open(options);
    ASSERT_NE(journal, nullptr);
    AppendRange(*journal, 0, last);
  }
  std::string dir() const { return temp_.Sub("journal"); }

  TempDir temp_;
};

TEST_F(JournalTest, RoundTripsRecordsAcrossSeveralSegments) {
  {
    std::unique_ptr<Journal> journal = Open();
    ASSERT_NE(journal, nullptr);
    AppendRange(*journal, 0, 199);
    EXPECT_EQ(journal->next_sequence(), 200);
    EXPECT_EQ(journal->written_sequence(), 199);
    EXPECT_EQ(journal->synced_sequence(), 199);
    EXPECT_GT(journal->segments(), 5);
    ExpectRecords(ReadAll(*journal, 0), 0, 199);
  }
  for (const std::string& file : SegmentFiles(dir())) {
    EXPECT_LE(std::filesystem::file_size(file), 2048u) << file;
  }
  RecoveryReport report;
  std::unique_ptr<Journal> journal = Open(SmallSegments(), &report);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(report.truncated_bytes, 0);
  EXPECT_EQ(report.truncation, "");
  EXPECT_EQ(report.indexes_rebuilt, 0);
  EXPECT_EQ(report.segments, static_cast<int>(SegmentFiles(dir()).size()));
  EXPECT_EQ(report.first_sequence, 0);
  EXPECT_EQ(report.next_sequence, 200);
  EXPECT_EQ(report.bytes, journal->bytes());
  ExpectRecords(ReadAll(*journal, 0), 0, 199);
  for (const int64_t from : {1, 57, 123, 199, 200})
    ExpectRecords(ReadAll(*journal, from), from, 199);
}

TEST_F(JournalTest, ReopeningContinuesTheNextSequence) {
  WriteAndClose(49);
  {
    std::unique_ptr<Journal> journal = Open();
    ASSERT_NE(journal, nullptr);
    EXPECT_EQ(journal->next_sequence(), 50);
    EXPECT_EQ(journal->written_sequence(), 49);
    EXPECT_EQ(journal->synced_sequence(), 49);
    AppendRange(*journal, 50, 99);
  }
  std::unique_ptr<Journal> journal = Open();
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->next_sequence(), 100);
  ExpectRecords(ReadAll(*journal, 0), 0, 99);
}

TEST_F(JournalTest, AnEmptyJournalStartsAtItsConfiguredSequenceAndKeepsItsOwnAfterwards) {
  JournalOptions options = SmallSegments();
  options.empty_next_sequence = 1000;
  {
    std::unique_ptr<Journal> journal = Open(options);
    ASSERT_NE(journal, nullptr);
    EXPECT_EQ(journal->first_sequence(), 1000);
    EXPECT_EQ(journal->next_sequence(), 1000);
    EXPECT_EQ(journal->written_sequence(), 999);
    EXPECT_EQ(journal->segments(), 0);
    EXPECT_TRUE(SegmentFiles(dir()).empty());
    AppendRange(*journal, 1000, 1099);
    EXPECT_EQ(journal->first_sequence(), 1000);
  }
  EXPECT_EQ(std::filesystem::path(SegmentFiles(dir()).front()).filename(),
            "00000000000000001000.log");
  options.empty_next_sequence = 0;  // only for a journal with no segment
  std::unique_ptr<Journal> journal = Open(options);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->first_sequence(), 1000);
  EXPECT_EQ(journal->next_sequence(), 1100);
  ExpectRecords(ReadAll(*journal, 1000), 1000, 1099);
  EXPECT_TRUE(absl::IsOutOfRange(journal->NewReader(999).status()));
}

TEST_F(JournalTest, RecordTimesAreMadeMonotonic) {
  std::unique_ptr<Journal> journal = Open();
  ASSERT_NE(journal, nullptr);
  const int64_t given[] = {100, 50, 200, 150, 200, 300};
  const int64_t stored[] = {100, 100, 200, 200, 200, 300};
  for (int64_t s = 0; s < 6; ++s) ASSERT_TRUE(journal->Append(s, given[s], "x").ok());
  ASSERT_TRUE(journal->Write().ok());
  std::unique_ptr<JournalReader> reader = *journal->NewReader(0);
  std::string out;
  std::vector<JournalReader::RecordInfo> infos;
  ASSERT_EQ(*reader->Read(5, 10, 1000, out, &infos), 6);
  for (int s = 0; s < 6; ++s) EXPECT_EQ(infos[s].time_nanos, stored[s]) << s;
}

TEST_F(JournalTest, ASegmentRollsOnceARecordIsSegmentAgeYoungerThanItsFirst) {
  JournalOptions options;
  options.segment_age = absl::Microseconds(10);
  std::unique_ptr<Journal> journal = Open(options);
  ASSERT_NE(journal, nullptr);
  const int64_t times[] = {0, 5'000, 9'999, 10'000, 15'000, 19'999, 20'000};
  for (int64_t s = 0; s < 7; ++s) ASSERT_TRUE(journal->Append(s, times[s], "x").ok());
  ASSERT_TRUE(journal->Write().ok());
  EXPECT_EQ(journal->segments(), 3);
  std::vector<int64_t> firsts;
  for (const std::string& file : SegmentFiles(dir())) firsts.push_back(FirstOf(file));
  EXPECT_EQ(firsts, (std::vector<int64_t>{0, 3, 6}));
}

TEST_F(JournalTest, ARecordLargerThanASegmentGetsOneOfItsOwn) {
  std::unique_ptr<Journal> journal = Open();
  ASSERT_NE(journal, nullptr);
  ASSERT_TRUE(journal->Append(0, 1, "small").ok());
  ASSERT_TRUE(journal->Append(1, 2, std::string(5000, 'L')).ok());
  ASSERT_TRUE(journal->Append(2, 3, "small").ok());
  ASSERT_TRUE(journal->Write().ok());
  EXPECT_EQ(journal->segments(), 3);
  std::unique_ptr<JournalReader> reader = *journal->NewReader(0);
  std::string out;
  ASSERT_EQ(*reader->Read(2, 10, 1 << 20, out), 3);
  EXPECT_EQ(out, "small" + std::string(5000, 'L') + "small");
}

TEST_F(JournalTest, AppendRefusesABodyOverTheBoundAndOpenRefusesBadOptions) {
  JournalOptions options = SmallSegments();
  options.max_body_bytes = 100;
  std::unique_ptr<Journal> journal = Open(options);
  ASSERT_NE(journal, nullptr);
  EXPECT_TRUE(absl::IsInvalidArgument(journal->Append(0, 0, std::string(101, 'x'))));
  EXPECT_TRUE(journal->Append(0, 0, std::string(100, 'x')).ok());

  JournalOptions no_segments;
  no_segments.segment_bytes = 0;
  EXPECT_TRUE(absl::IsInvalidArgument(Journal::Open(temp_.Sub("other"), no_segments).status()));
  EXPECT_TRUE(absl::IsNotFound(Journal::Open(temp_.Sub("no/parent"), JournalOptions{}).status()));
}

TEST_F(JournalTest, OpenLeavesOtherFilesInTheDirectoryAlone) {
  std::filesystem::create_directory(dir());
  WriteFileBytes(JoinPath(dir(), "topic.meta"), "capacity 10");
  WriteFileBytes(JoinPath(dir(), "CLEAN"), "");
  WriteFileBytes(JoinPath(dir(), "12.log"), "not a segment");
  {
    std::unique_ptr<Journal> journal = Open();
    ASSERT_NE(journal, nullptr);
    EXPECT_EQ(journal->segments(), 0);
    AppendRange(*journal, 0, 9);
  }
  std::unique_ptr<Journal> journal = Open();
  ASSERT_NE(journal, nullptr);
  ExpectRecords(ReadAll(*journal, 0), 0, 9);
  EXPECT_EQ(ReadFileBytes(JoinPath(dir(), "topic.meta")), "capacity 10");
  EXPECT_EQ(ReadFileBytes(JoinPath(dir(), "12.log")), "not a segment");
}

// ---- Torn tails ----

// Each test writes records [0, 59] in small segments and closes the journal, lets `damage` change
// the last segment file (given its path and the offset of record 59 in it), then checks that Open
// cuts `expect_truncated` bytes, keeps [0, expect_next), and takes appends after it.
class TornTailTest : public JournalTest {
 protected:
  void Check(const std::function<void(const std::string&, uint64_t)>& damage,
             int64_t expect_truncated, int64_t expect_next, absl::string_view expect_defect) {
    WriteAndClose(59);
    const std::string last = SegmentFiles(dir()).back();
    damage(last, OffsetOf(FirstOf(last), 59));

    RecoveryReport report;
    {
      std::unique_ptr<Journal> journal = Open(SmallSegments(), &report);
      ASSERT_NE(journal, nullptr);
      EXPECT_EQ(report.truncated_bytes, expect_truncated);
      EXPECT_TRUE(absl::StrContains(report.truncation, expect_defect)) << report.truncation;
      EXPECT_TRUE(absl::StrContains(report.truncation, last)) << report.truncation;
      EXPECT_EQ(journal->next_sequence(), expect_next);
      EXPECT_EQ(journal->synced_sequence(), expect_next - 1);
      ExpectRecords(ReadAll(*journal, 0), 0, expect_next - 1);
      AppendRange(*journal, expect_next, expect_next + 20);
    }
    std::unique_ptr<Journal> journal = Open(SmallSegments(), &report);
    ASSERT_NE(journal, nullptr);
    EXPECT_EQ(report.truncated_bytes, 0);
    ExpectRecords(ReadAll(*journal, 0), 0, expect_next + 20);
  }
};

TEST_F(TornTailTest, RecoversATailCutMidHeader) {
  Check(
      [](const std::string& file, uint64_t last) { std::filesystem::resize_file(file, last + 10); },
      10, 59, "short header");
}

TEST_F(TornTailTest, RecoversATailCutMidBody) {
  Check([](const std::string& file,
           uint64_t last) { std::filesystem::resize_file(file, last + kRecordHeaderBytes + 5); },
        kRecordHeaderBytes + 5, 59, "short body");
}

TEST_F(TornTailTest, RecoversALastRecordWithAFlippedBodyByte) {
  Check(
      [](const std::string& file, uint64_t last) { FlipByte(file, last + kRecordHeaderBytes + 3); },
      static_cast<int64_t>(RecordBytes(59)), 59, "checksum mismatch");
}

TEST_F(TornTailTest, RecoversGarbageAppendedAfterTheLastRecord) {
  Check(
      [](const std::string& file, uint64_t /*last*/) {
        WriteFileBytes(file, ReadFileBytes(file) + std::string(100, 'g'));
      },
      100, 60, "length beyond the bound");
}

TEST_F(TornTailTest, RecoversALengthFieldOf2To31) {
  Check(
      [](const std::string& file, uint64_t last) {
        std::string bytes = ReadFileBytes(file);
        bytes.replace(last, 4, std::string("\x00\x00\x00\x80", 4));
        WriteFileBytes(file, bytes);
      },
      static_cast<int64_t>(RecordBytes(59)), 59, "length beyond the bound");
}

TEST_F(TornTailTest, RecoversZerosWhereTheLastRecordsWere) {
  // What a power cut can leave: the size reached the disk, the data did not.
  Check(
      [](const std::string& file, uint64_t last) {
        std::string bytes = ReadFileBytes(file);
        bytes.replace(last, bytes.size() - last, std::string(bytes.size() - last, '\0'));
        WriteFileBytes(file, bytes);
      },
      static_cast<int64_t>(RecordBytes(59)), 59, "checksum mismatch");
}

TEST_F(TornTailTest, RecoversAnEarlierRecordOfTheLastSegmentWhenItsIndexIsGone) {
  // Without the saved index the whole segment is scanned: the first bad record cuts the rest.
  WriteAndClose(59);
  const std::string last = SegmentFiles(dir()).back();
  const int64_t first = FirstOf(last);
  std::filesystem::remove(IndexPathOf(last));
  FlipByte(last, OffsetOf(first, first + 1) + kRecordHeaderBytes);
  RecoveryReport report;
  std::unique_ptr<Journal> journal = Open(SmallSegments(), &report);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(report.truncated_bytes,
            static_cast<int64_t>(OffsetOf(first, 60) - OffsetOf(first, first + 1)));
  EXPECT_EQ(journal->next_sequence(), first + 1);
  ExpectRecords(ReadAll(*journal, 0), 0, first);
}

// ---- Crashes ----

TEST_F(JournalTest, ACrashBetweenARollAndTheWriteLeavesNoGap) {
  std::unique_ptr<Journal> journal = Open();
  ASSERT_NE(journal, nullptr);
  AppendRange(*journal, 0, 9);
  const int written_segments = journal->segments();
  // Rolls create segment files while the records before them are only buffered.
  for (int64_t s = 10; s < 60; ++s) ASSERT_TRUE(journal->Append(s, TimeOf(s), BodyOf(s)).ok());
  ASSERT_GT(journal->segments(), written_segments + 1);
  // What a crash leaves now: the directory as it is (the page cache survives a killed process).
  const std::string crashed = temp_.Sub("crashed");
  std::filesystem::copy(dir(), crashed, std::filesystem::copy_options::recursive);

  RecoveryReport report;
  absl::StatusOr<std::unique_ptr<Journal>> recovered =
      Journal::Open(crashed, SmallSegments(), &report);
  ASSERT_TRUE(recovered.ok()) << recovered.status();
  EXPECT_EQ((*recovered)->next_sequence(), 10);
  EXPECT_EQ((*recovered)->segments(), written_segments);
  EXPECT_EQ(report.removed_segments, journal->segments() - written_segments);
  EXPECT_EQ(report.damaged_segments, 0);
  EXPECT_EQ(report.truncated_bytes, 0);
  EXPECT_EQ(static_cast<int>(SegmentFiles(crashed).size()), written_segments);
  ExpectRecords(ReadAll(**recovered, 0), 0, 9);
  AppendRange(**recovered, 10, 59);
  ExpectRecords(ReadAll(**recovered, 0), 0, 59);
}

TEST_F(JournalTest, ACrashMidWriteLeavesATornTailThatOpenCuts) {
  FaultInjectingFileSystem fs;
  JournalOptions options = SmallSegments();
  options.fs = &fs;
  std::unique_ptr<Journal> journal = Open(options);
  ASSERT_NE(journal, nullptr);
  AppendRange(*journal, 0, 4);
  for (int64_t s = 5; s < 8; ++s) ASSERT_TRUE(journal->Append(s, TimeOf(s), BodyOf(s)).ok());
  // Stands for a write the crash interrupted: part of it on disk, and no chance to cut it off.
  fs.SetFaults({.write_error = EIO, .write_bytes_before_error = 50, .truncate_error = EIO});
  EXPECT_TRUE(absl::IsUnavailable(journal->Write()));
  const std::string crashed = temp_.Sub("crashed");
  std::filesystem::copy(dir(), crashed, std::filesystem::copy_options::recursive);
  fs.ClearFaults();

  RecoveryReport report;
  absl::StatusOr<std::unique_ptr<Journal>> recovered =
      Journal::Open(crashed, SmallSegments(), &report);
  ASSERT_TRUE(recovered.ok()) << recovered.status();
  EXPECT_EQ(report.truncated_bytes, 50);
  EXPECT_EQ((*recovered)->next_sequence(), 5);
  ExpectRecords(ReadAll(**recovered, 0), 0, 4);
  // The journal that saw the failure retries the write over the same bytes.
  ASSERT_TRUE(journal->Write().ok());
  ExpectRecords(ReadAll(*journal, 0), 0, 7);
}

// ---- Damage in sealed segments ----

TEST_F(JournalTest, ADamagedSealedSegmentIsFoundByReadersNotByOpen) {
  WriteAndClose(199);
  const std::vector<std::string> files = SegmentFiles(dir());
  ASSERT_GE(files.size(), 4u);
  const std::string& damaged = files[1];
  const int64_t first = FirstOf(damaged);
  const int64_t last = FirstOf(files[2]) - 1;
  const int64_t bad = first + 3;
  const uint64_t bad_offset = OffsetOf(first, bad);
  FlipByte(damaged, bad_offset + kRecordHeaderBytes + 1);

  RecoveryReport report;
  std::unique_ptr<Journal> journal = Open(SmallSegments(), &report);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(report.truncated_bytes, 0);
  EXPECT_EQ(report.damaged_segments, 0);  // not rescanned: its index file is whole
  EXPECT_EQ(journal->next_sequence(), 200);

  // Reading up to the damage works; crossing it does not, and the reader stays there.
  std::unique_ptr<JournalReader> reader = *journal->NewReader(0);
  std::string out;
  std::vector<JournalReader::RecordInfo> infos;
  ASSERT_EQ(*reader->Read(bad - 1, 1000, 1 << 20, out, &infos), bad);
  EXPECT_EQ(infos.back().sequence, bad - 1);
  EXPECT_EQ(out.substr(infos.back().offset), BodyOf(bad - 1));
  for (int attempt = 0; attempt < 2; ++attempt) {
    const absl::StatusOr<int> crossing = reader->Read(199, 1000, 1 << 20, out);
    ASSERT_TRUE(absl::IsDataLoss(crossing.status())) << crossing.status();
    EXPECT_EQ(crossing.status().message(),
              absl::StrCat("journal ", dir(), ": records [", bad, ", ", last, "] of segment ",
                           damaged, " are damaged (checksum mismatch at byte offset ", bad_offset,
                           "); reading can resume at ", last + 1));
    EXPECT_EQ(reader->next(), bad);
  }
  // A reader that starts after the damage reads on.
  ExpectRecords(ReadAll(*journal, last + 1), last + 1, 199);
  // A reader that meets it mid-batch gets what came before first.
  std::unique_ptr<JournalReader> batch = *journal->NewReader(first);
  out.clear();
  EXPECT_EQ(*batch->Read(199, 1000, 1 << 20, out), 3);
  EXPECT_TRUE(absl::IsDataLoss(batch->Read(199, 1000, 1 << 20, out).status()));

  // Without its index file the segment is scanned at Open: still opened, counted as damaged.
  journal.reset();
  std::filesystem::remove(IndexPathOf(damaged));
  journal = Open(SmallSegments(), &report);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(report.indexes_rebuilt, 1);
  EXPECT_EQ(report.damaged_segments, 1);
  EXPECT_TRUE(absl::IsDataLoss(ReadAll(*journal, 0).status()));
  ExpectRecords(ReadAll(*journal, last + 1), last + 1, 199);
}

TEST_F(JournalTest, ASealedSegmentCutShortIsReportedAsDamaged) {
  WriteAndClose(199);
  const std::vector<std::string> files = SegmentFiles(dir());
  const int64_t first = FirstOf(files[1]);
  const int64_t last = FirstOf(files[2]) - 1;
  std::filesystem::resize_file(files[1], OffsetOf(first, last));  // the last record is gone
  RecoveryReport report;
  std::unique_ptr<Journal> journal = Open(SmallSegments(), &report);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(report.damaged_segments, 1);
  EXPECT_EQ(journal->next_sequence(), 200);
  const absl::Status status = ReadAll(*journal, first).status();
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), absl::StrCat("records [", last, ", ", last, "]")))
      << status;
}

// ---- Retention ----

std::map<std::string, uint64_t> FileSizes(const std::vector<std::string>& files) {
  std::map<std::string, uint64_t> sizes;
  for (const std::string& file : files) sizes[file] = std::filesystem::file_size(file);
  return sizes;
}

TEST_F(JournalTest, RetentionByBytesDeletesWholeOldestSegmentsOnly) {
  JournalOptions options = SmallSegments();
  options.retention_bytes = 5000;
  std::unique_ptr<Journal> journal = Open(options);
  ASSERT_NE(journal, nullptr);
  AppendRange(*journal, 0, 199);
  const std::vector<std::string> before = SegmentFiles(dir());
  const std::map<std::string, uint64_t> sizes = FileSizes(before);

  const absl::StatusOr<int> deleted = journal->ApplyRetention(absl::Now());
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  ASSERT_GT(*deleted, 0);
  const std::vector<std::string> after = SegmentFiles(dir());
  EXPECT_EQ(after, std::vector<std::string>(before.begin() + *deleted, before.end()));
  for (int i = 0; i < *deleted; ++i) {
    EXPECT_FALSE(std::filesystem::exists(IndexPathOf(before[i]))) << before[i];
  }
  uint64_t kept = 0;
  for (const std::string& file : after) kept += sizes.at(file);
  EXPECT_EQ(journal->bytes(), kept);
  EXPECT_LE(kept, 5000u);
  EXPECT_GT(kept + sizes.at(before[*deleted - 1]), 5000u);  // the last deletion was needed
  EXPECT_EQ(journal->segments(), static_cast<int>(after.size()));
  EXPECT_EQ(journal->first_sequence(), FirstOf(after.front()));
  ExpectRecords(ReadAll(*journal, journal->first_sequence()), journal->first_sequence(), 199);
  const absl::Status gone = journal->NewReader(0).status();
  EXPECT_TRUE(absl::IsOutOfRange(gone)) << gone;
  EXPECT_TRUE(absl::StrContains(
      gone.message(), absl::StrCat("holds records [", journal->first_sequence(), ", 199]")))
      << gone;
  EXPECT_EQ(*journal->ApplyRetention(absl::Now()), 0);

  // The journal reopens from what is left.
  journal.reset();
  journal = Open(options);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->first_sequence(), FirstOf(after.front()));
  EXPECT_EQ(journal->next_sequence(), 200);
}

TEST_F(JournalTest, RetentionByAgeDeletesSegmentsWhoseLastRecordIsOlder) {
  JournalOptions options = SmallSegments();
  options.retention_age = absl::Microseconds(50);  // records are 1 us apart
  std::unique_ptr<Journal> journal = Open(options);
  ASSERT_NE(journal, nullptr);
  AppendRange(*journal, 0, 199);
  const std::vector<std::string> before = SegmentFiles(dir());
  // Now is record 199's time: a sealed segment goes if its last record is before record 149's.
  int64_t expect_first = FirstOf(before.back());
  for (std::size_t i = 0; i + 1 < before.size(); ++i) {
    if (FirstOf(before[i + 1]) - 1 >= 149) {
      expect_first = FirstOf(before[i]);
      break;
    }
  }
  ASSERT_GT(expect_first, 0);
  const absl::StatusOr<int> deleted = journal->ApplyRetention(absl::FromUnixNanos(TimeOf(199)));
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(journal->first_sequence(), expect_first);
  EXPECT_EQ(FirstOf(SegmentFiles(dir()).front()), expect_first);
  ExpectRecords(ReadAll(*journal, expect_first), expect_first, 199);
}

TEST_F(JournalTest, RetentionNeverDeletesTheActiveSegment) {
  JournalOptions options = SmallSegments();
  options.retention_bytes = 1;
  options.retention_age = absl::Nanoseconds(1);
  {
    std::unique_ptr<Journal> journal = Open(options);
    ASSERT_NE(journal, nullptr);
    AppendRange(*journal, 0, 99);
    const int64_t active_first = FirstOf(SegmentFiles(dir()).back());
    ASSERT_GT(*journal->ApplyRetention(absl::InfiniteFuture()), 0);
    EXPECT_EQ(journal->segments(), 1);
    EXPECT_EQ(journal->first_sequence(), active_first);
    EXPECT_EQ(journal->next_sequence(), 100);
    ExpectRecords(ReadAll(*journal, active_first), active_first, 99);
  }
  std::unique_ptr<Journal> journal = Open(options);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->next_sequence(), 100);
  AppendRange(*journal, 100, 109);
  ExpectRecords(ReadAll(*journal, journal->first_sequence()), journal->first_sequence(), 109);
}

TEST_F(JournalTest, RetentionSparesASealedSegmentWhoseRecordsAreStillBuffered) {
  JournalOptions options = SmallSegments();
  options.retention_bytes = 1;
  std::unique_ptr<Journal> journal = Open(options);
  ASSERT_NE(journal, nullptr);
  for (int64_t s = 0; s < 40; ++s) ASSERT_TRUE(journal->Append(s, TimeOf(s), BodyOf(s)).ok());
  ASSERT_GT(journal->segments(), 2);
  EXPECT_EQ(*journal->ApplyRetention(absl::Now()), 0);  // nothing written yet
  ASSERT_TRUE(journal->Write().ok());
  EXPECT_GT(*journal->ApplyRetention(absl::Now()), 0);
  EXPECT_EQ(journal->segments(), 1);
}

TEST_F(JournalTest, AReaderHoldingADeletedSegmentKeepsReadingIt) {
  JournalOptions options = SmallSegments();
  options.retention_bytes = 1;
  std::unique_ptr<Journal> journal = Open(options);
  ASSERT_NE(journal, nullptr);
  AppendRange(*journal, 0, 199);
  const std::vector<std::string> files = SegmentFiles(dir());
  const int64_t first_end = FirstOf(files[1]);  // one past the first segment's last record

  std::unique_ptr<JournalReader> reader = *journal->NewReader(0);
  std::string out;
  ASSERT_EQ(*reader->Read(199, 2, 1 << 20, out), 2);
  ASSERT_EQ(*journal->ApplyRetention(absl::Now()), static_cast<int>(files.size()) - 1);
  EXPECT_FALSE(std::filesystem::exists(files[0]));

  // The rest of the first segment comes from the unlinked file; then the records are gone.
  std::vector<JournalReader::RecordInfo> infos;
  out.clear();
  ASSERT_EQ(*reader->Read(199, 1000, 1 << 20, out, &infos), first_end - 2);
  for (const JournalReader::RecordInfo& info : infos) {
    EXPECT_EQ(out.substr(info.offset, info.size), BodyOf(info.sequence));
  }
  const absl::StatusOr<int> gone = reader->Read(199, 1000, 1 << 20, out);
  EXPECT_TRUE(absl::IsOutOfRange(gone.status())) << gone.status();
  EXPECT_EQ(reader->next(), first_end);
}

// ---- Readers ----

TEST_F(JournalTest, NewReaderRefusesSequencesOutsideTheRetainedRange) {
  std::unique_ptr<Journal> journal = Open();
  ASSERT_NE(journal, nullptr);
  AppendRange(*journal, 0, 99);
  for (const int64_t from : {-1, 101, 1000}) {
    const absl::Status status = journal->NewReader(from).status();
    EXPECT_TRUE(absl::IsOutOfRange(status)) << from;
    EXPECT_EQ(status.message(),
              absl::StrCat("journal ", dir(), " holds records [0, 99]: cannot read from ", from));
  }
  std::unique_ptr<JournalReader> at_end = *journal->NewReader(100);
  std::string out;
  EXPECT_EQ(*at_end->Read(1000, 10, 1000, out), 0);
  AppendRange(*journal, 100, 100);
  EXPECT_EQ(*at_end->Read(1000, 10, 1000, out), 1);
  EXPECT_EQ(out, BodyOf(100));
}

TEST_F(JournalTest, ReadersSeeOnlyWrittenRecords) {
  std::unique_ptr<Journal> journal = Open();
  ASSERT_NE(journal, nullptr);
  for (int64_t s = 0; s < 30; ++s) ASSERT_TRUE(journal->Append(s, TimeOf(s), BodyOf(s)).ok());
  EXPECT_EQ(journal->next_sequence(), 30);
  EXPECT_EQ(journal->written_sequence(), -1);
  EXPECT_EQ(journal->bytes(), 0u);
  std::unique_ptr<JournalReader> reader = *journal->NewReader(0);
  std::string out;
  EXPECT_EQ(*reader->Read(29, 100, 1 << 20, out), 0);
  ASSERT_TRUE(journal->Write().ok());
  EXPECT_EQ(journal->written_sequence(), 29);
  EXPECT_EQ(journal->synced_sequence(), -1);
  EXPECT_EQ(*reader->Read(1000, 100, 1 << 20, out), 30);  // `through` past the end is cut
  ASSERT_TRUE(journal->Sync().ok());
  EXPECT_EQ(journal->synced_sequence(), 29);
}

TEST_F(JournalTest, ReadStopsAtMaxRecordsOrMaxBytesButTakesAtLeastOne) {
  std::unique_ptr<Journal> journal = Open();
  ASSERT_NE(journal, nullptr);
  AppendRange(*journal, 0, 49);
  std::unique_ptr<JournalReader> reader = *journal->NewReader(0);
  std::string out;
  std::vector<JournalReader::RecordInfo> infos;
  EXPECT_EQ(*reader->Read(49, 3, 1 << 20, out, &infos), 3);
  EXPECT_EQ(*reader->Read(49, 100, 1, out, &infos), 1);  // one even though it passes max_bytes
  const std::size_t two = BodyOf(4).size() + BodyOf(5).size();
  EXPECT_EQ(*reader->Read(49, 100, two, out, &infos), 2);
  EXPECT_EQ(*reader->Read(49, 100, BodyOf(6).size() + BodyOf(7).size() - 1, out, &infos), 1);
  EXPECT_EQ(*reader->Read(10, 100, 1 << 20, out, &infos), 4);  // through 10
  EXPECT_EQ(reader->next(), 11);
  ASSERT_EQ(infos.size(), 11u);
  std::string expected;
  for (int64_t s = 0; s <= 10; ++s) {
    EXPECT_EQ(infos[s].sequence, s);
    EXPECT_EQ(infos[s].offset, expected.size());
    EXPECT_EQ(infos[s].size, BodyOf(s).size());
    expected += BodyOf(s);
  }
  EXPECT_EQ(out, expected);
}

// ---- Time lookup ----

TEST_F(JournalTest, SequenceAtTimeFindsTheFirstRecordAtOrAfterATimeAcrossSegments) {
  std::unique_ptr<Journal> journal = Open();
  ASSERT_NE(journal, nullptr);
  // Runs of three equal times, 1000 ns between runs.
  auto time_of = [](int64_t s) { return 5'000 + (s / 3) * 1000; };
  for (int64_t s = 0; s < 300; ++s) ASSERT_TRUE(journal->Append(s, time_of(s), BodyOf(s)).ok());
  ASSERT_TRUE(journal->Write().ok());
  ASSERT_GT(journal->segments(), 10);
  auto expected = [&](int64_t t) {
    for (int64_t s = 0; s < 300; ++s) {
      if (time_of(s) >= t) return s;
    }
    return int64_t{300};
  };
  for (int64_t s = 0; s < 300; ++s) {
    for (const int64_t t : {time_of(s) - 1, time_of(s), time_of(s) + 1}) {
      const absl::StatusOr<int64_t> found = journal->SequenceAtTime(t);
      ASSERT_TRUE(found.ok()) << found.status();
      ASSERT_EQ(*found, expected(t)) << "time " << t;
    }
  }
  EXPECT_EQ(*journal->SequenceAtTime(INT64_MIN), 0);
  EXPECT_EQ(*journal->SequenceAtTime(INT64_MAX), 300);
  // Buffered records are not looked at.
  ASSERT_TRUE(journal->Append(300, time_of(300), "buffered").ok());
  EXPECT_EQ(*journal->SequenceAtTime(time_of(300)), 300);
  EXPECT_EQ(*journal->SequenceAtTime(INT64_MAX), 300);
}

TEST_F(JournalTest, SequenceAtTimeBeforeEverythingRetainedIsTheFirstRetained) {
  JournalOptions options = SmallSegments();
  options.retention_bytes = 4000;
  std::unique_ptr<Journal> journal = Open(options);
  ASSERT_NE(journal, nullptr);
  AppendRange(*journal, 0, 99);
  ASSERT_GT(*journal->ApplyRetention(absl::Now()), 0);
  EXPECT_EQ(*journal->SequenceAtTime(TimeOf(0)), journal->first_sequence());
  EXPECT_EQ(*journal->SequenceAtTime(TimeOf(99)), 99);
  std::unique_ptr<Journal> empty = *Journal::Open(temp_.Sub("empty"), JournalOptions{});
  EXPECT_EQ(*empty->SequenceAtTime(0), 0);
}

// ---- Index files ----

class IndexFileTest : public JournalTest {
 protected:
  // Writes [0, 199], closes, changes every sealed segment's .idx with `change`, reopens, and
  // checks that the indexes were rebuilt, equal to the originals, and serve lookups.
  void ExpectRebuilt(const std::function<void(const std::string&)>& change) {
    WriteAndClose(199);
    std::vector<std::string> files = SegmentFiles(dir());
    files.pop_back();  // the active segment's index is read differently (TornTailTest)
    std::map<std::string, std::string> originals;
    for (const std::string& file : files) {
      originals[file] = ReadFileBytes(IndexPathOf(file));
      ASSERT_FALSE(originals[file].empty()) << file;
      change(IndexPathOf(file));
    }
    RecoveryReport report;
    std::unique_ptr<Journal> journal = Open(SmallSegments(), &report);
    ASSERT_NE(journal, nullptr);
    EXPECT_EQ(report.indexes_rebuilt, static_cast<int>(files.size()));
    EXPECT_EQ(report.damaged_segments, 0);
    for (const std::string& file : files) {
      EXPECT_EQ(ReadFileBytes(IndexPathOf(file)), originals[file]) << file;
    }
    for (const int64_t from : {0, 17, 93, 150}) ExpectRecords(ReadAll(*journal, from), from, 199);
    for (const int64_t s : {0, 31, 64, 199}) EXPECT_EQ(*journal->SequenceAtTime(TimeOf(s)), s);

    journal.reset();
    journal = Open(SmallSegments(), &report);
    ASSERT_NE(journal, nullptr);
    EXPECT_EQ(report.indexes_rebuilt, 0);
  }
};

TEST_F(IndexFileTest, IsRebuiltWhenDeleted) {
  ExpectRebuilt([](const std::string& path) { std::filesystem::remove(path); });
}

TEST_F(IndexFileTest, IsRebuiltWhenGarbage) {
  ExpectRebuilt([](const std::string& path) { WriteFileBytes(path, "not an index at all"); });
}

TEST_F(IndexFileTest, IsRebuiltWhenShort) {
  ExpectRebuilt([](const std::string& path) {
    const std::string bytes = ReadFileBytes(path);
    WriteFileBytes(path, bytes.substr(0, bytes.size() - 7));
  });
}

TEST_F(IndexFileTest, IsRebuiltWhenItBelongsToAnotherSegment) {
  WriteAndClose(199);
  const std::vector<std::string> files = SegmentFiles(dir());
  std::filesystem::copy_file(IndexPathOf(files[0]), IndexPathOf(files[1]),
                             std::filesystem::copy_options::overwrite_existing);
  RecoveryReport report;
  std::unique_ptr<Journal> journal = Open(SmallSegments(), &report);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(report.indexes_rebuilt, 1);
  ExpectRecords(ReadAll(*journal, 0), 0, 199);
}

// ---- A full disk and a failing disk ----

TEST_F(JournalTest, AFullDiskFailsWriteAndARetryLosesNothing) {
  FaultInjectingFileSystem fs;
  JournalOptions options = SmallSegments();
  options.fs = &fs;
  {
    std::unique_ptr<Journal> journal = Open(options);
    ASSERT_NE(journal, nullptr);
    AppendRange(*journal, 0, 49);
    const uint64_t bytes = journal->bytes();
    const std::string active = SegmentFiles(dir()).back();
    const uint64_t active_size = std::filesystem::file_size(active);
    for (int64_t s = 50; s < 55; ++s) ASSERT_TRUE(journal->Append(s, TimeOf(s), BodyOf(s)).ok());

    fs.SetFaults({.write_error = ENOSPC, .write_bytes_before_error = 30});
    for (int attempt = 0; attempt < 2; ++attempt) {
      const absl::Status full = journal->Write();
      EXPECT_TRUE(absl::IsResourceExhausted(full)) << full;
      EXPECT_TRUE(absl::StrContains(full.message(), "the disk is full")) << full;
      EXPECT_TRUE(absl::StrContains(full.message(), dir())) << full;
      EXPECT_EQ(journal->written_sequence(), 49);
      EXPECT_EQ(journal->bytes(), bytes);
      EXPECT_EQ(std::filesystem::file_size(active), active_size);  // the prefix was cut off
      ExpectRecords(ReadAll(*journal, 0), 0, 49);
    }
    // More records while the disk is full, enough to roll segments.
    for (int64_t s = 55; s < 100; ++s) ASSERT_TRUE(journal->Append(s, TimeOf(s), BodyOf(s)).ok());
    EXPECT_TRUE(absl::IsResourceExhausted(journal->Write()));
    EXPECT_EQ(journal->written_sequence(), 49);

    fs.ClearFaults();
    ASSERT_TRUE(journal->Write().ok());
    ASSERT_TRUE(journal->Sync().ok());
    EXPECT_EQ(journal->synced_sequence(), 99);
    ExpectRecords(ReadAll(*journal, 0), 0, 99);
    EXPECT_FALSE(journal->failed());
  }
  RecoveryReport report;
  std::unique_ptr<Journal> journal = Open(options, &report);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(report.truncated_bytes, 0);
  EXPECT_EQ(journal->next_sequence(), 100);
  ExpectRecords(ReadAll(*journal, 0), 0, 99);
}

TEST_F(JournalTest, AFullDiskWhenRollingFailsAppendWithNothingBuffered) {
  FaultInjectingFileSystem fs;
  JournalOptions options = SmallSegments();
  options.fs = &fs;
  std::unique_ptr<Journal> journal = Open(options);
  ASSERT_NE(journal, nullptr);
  fs.SetFaults({.create_error = ENOSPC});
  const absl::Status first = journal->Append(0, TimeOf(0), BodyOf(0));
  EXPECT_TRUE(absl::IsResourceExhausted(first)) << first;
  EXPECT_EQ(journal->next_sequence(), 0);
  fs.ClearFaults();
  AppendRange(*journal, 0, 9);
  const int segments = journal->segments();
  fs.SetFaults({.create_error = ENOSPC});
  int64_t s = 10;
  absl::Status status;
  while ((status = journal->Append(s, TimeOf(s), BodyOf(s))).ok()) ++s;  // until it must roll
  EXPECT_TRUE(absl::IsResourceExhausted(status)) << status;
  EXPECT_EQ(journal->next_sequence(), s);
  EXPECT_EQ(journal->segments(), segments);
  fs.ClearFaults();
  AppendRange(*journal, s, s + 30);
  ExpectRecords(ReadAll(*journal, 0), 0, s + 30);
}

TEST_F(JournalTest, AnAbandonedJournalTouchesItsDirectoryNoMore) {
  {
    std::unique_ptr<Journal> journal = Open();
    ASSERT_NE(journal, nullptr);
    AppendRange(*journal, 0, 9);  // the active segment's index is not saved yet
    ASSERT_TRUE(journal->Append(10, TimeOf(10), BodyOf(10)).ok());
    const std::set<std::string> before = FileNames(dir());
    journal->Abandon();
    EXPECT_TRUE(absl::IsNotFound(journal->Append(11, TimeOf(11), BodyOf(11))));
    EXPECT_TRUE(absl::IsNotFound(journal->Write()));  // record 10 stays unwritten
    EXPECT_TRUE(absl::IsNotFound(journal->Sync()));
    EXPECT_TRUE(absl::IsNotFound(journal->ApplyRetention(absl::Now()).status()));
    EXPECT_FALSE(journal->failed());            // given up, not failed
    ExpectRecords(ReadAll(*journal, 0), 0, 9);  // readers go on
    journal.reset();                            // closing saves no index
    EXPECT_EQ(FileNames(dir()), before);
  }
}

TEST_F(JournalTest, AFailedFdatasyncFailsTheJournalForGood) {
  FaultInjectingFileSystem fs;
  JournalOptions options = SmallSegments();
  options.fs = &fs;
  {
    std::unique_ptr<Journal> journal = Open(options);
    ASSERT_NE(journal, nullptr);
    AppendRange(*journal, 0, 9);
    ASSERT_TRUE(journal->Append(10, TimeOf(10), BodyOf(10)).ok());
    ASSERT_TRUE(journal->Write().ok());

    fs.SetFaults({.sync_error = EIO});
    const absl::Status failed = journal->Sync();
    EXPECT_TRUE(absl::IsUnavailable(failed)) << failed;
    EXPECT_EQ(
        failed.message(),
        absl::StrCat("journal of ", dir(), " failed: fdatasync of ", SegmentFiles(dir()).back(),
                     " failed: Input/output error; restart the server to recover"));
    EXPECT_TRUE(journal->failed());
    EXPECT_EQ(journal->synced_sequence(), 9);

    fs.ClearFaults();  // never retried, even once the disk answers again
    EXPECT_EQ(journal->Sync(), failed);
    EXPECT_EQ(journal->Append(11, TimeOf(11), BodyOf(11)), failed);
    EXPECT_EQ(journal->Write(), failed);
    EXPECT_EQ(journal->ApplyRetention(absl::Now()).status(), failed);
    EXPECT_EQ(journal->synced_sequence(), 9);
    EXPECT_EQ(fs.counts().syncs_failed, 1);
    ExpectRecords(ReadAll(*journal, 0), 0, 10);  // what was written can still be read
  }
  // A restart re-validates the files.
  std::unique_ptr<Journal> journal = Open(options);
  ASSERT_NE(journal, nullptr);
  EXPECT_FALSE(journal->failed());
  EXPECT_EQ(journal->next_sequence(), 11);
  ExpectRecords(ReadAll(*journal, 0), 0, 10);
}

TEST_F(JournalTest, AFailedDirectoryFsyncFailsTheJournalToo) {
  FaultInjectingFileSystem fs;
  JournalOptions options = SmallSegments();
  options.fs = &fs;
  std::unique_ptr<Journal> journal = Open(options);
  ASSERT_NE(journal, nullptr);
  AppendRange(*journal, 0, 9);
  for (int64_t s = 10; s < 40; ++s) ASSERT_TRUE(journal->Append(s, TimeOf(s), BodyOf(s)).ok());
  ASSERT_TRUE(journal->Write().ok());
  fs.SetFaults({.sync_error = EIO});
  EXPECT_TRUE(absl::IsUnavailable(journal->Sync()));
  EXPECT_TRUE(journal->failed());
}

}  // namespace
}  // namespace ringcast::server::storage
