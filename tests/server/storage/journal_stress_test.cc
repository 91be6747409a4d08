// A journal's writer on one thread, readers, time lookups and figures on others, and retention
// deleting segments under the readers. Every reader must see every record it reads once, in
// order, intact. Runs under ThreadSanitizer (label stress).
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/storage/storage_test_support.h"
#include "storage/journal.h"
#include "stress/stress_support.h"

namespace ringcast::server::storage {
namespace {

using stress::FailureLog;
using stress::Random;
using stress::Scaled;
using stress::Watchdog;
using testing::TempDir;
using testing::TimeOf;

std::string StressBody(int64_t sequence) { return testing::BodyOf(sequence, 8, 600); }

JournalOptions StressOptions() {
  JournalOptions options;
  options.segment_bytes = 64 << 10;  // a roll every ~200 records
  options.index_interval_bytes = 1024;
  return options;
}

// Appends [0, total) in batches of random size, writing after each and syncing after some; with
// `retain` also applies retention after each write.
void RunWriter(Journal& journal, int64_t total, bool retain, FailureLog& failures) {
  Random random(7);
  int64_t s = 0;
  while (s < total) {
    const int64_t batch = 1 + random.Below(40);
    for (int64_t i = 0; i < batch && s < total; ++i, ++s) {
      if (absl::Status status = journal.Append(s, TimeOf(s), StressBody(s)); !status.ok()) {
        return failures.Record(absl::StrCat("append ", s, ": ", status.ToString()));
      }
    }
    if (absl::Status status = journal.Write(); !status.ok()) {
      return failures.Record(absl::StrCat("write: ", status.ToString()));
    }
    if (random.Below(4) == 0 || s == total) {
      if (absl::Status status = journal.Sync(); !status.ok()) {
        return failures.Record(absl::StrCat("sync: ", status.ToString()));
      }
    }
    if (retain) {
      if (absl::StatusOr<int> deleted = journal.ApplyRetention(absl::Now()); !deleted.ok()) {
        return failures.Record(absl::StrCat("retention: ", deleted.status().ToString()));
      }
    }
  }
}

// Follows the journal from its first record to `total`, checking every record. With retention a
// reader that falls behind gets OUT_OF_RANGE and starts again from the oldest record; it must
// never get anything else wrong. Returns how many records it read.
int64_t RunReader(const Journal& journal, int64_t total, bool follow_synced, int max_records,
                  FailureLog& failures) {
  int64_t read = 0;
  const auto deadline = std::chrono::steady_clock::now() + stress::kWaitTimeout;
  absl::StatusOr<std::unique_ptr<JournalReader>> reader = journal.NewReader(0);
  std::string out;
  std::vector<JournalReader::RecordInfo> infos;
  while (reader.ok() && (*reader)->next() < total) {
    const int64_t through = follow_synced ? journal.synced_sequence() : journal.written_sequence();
    const int64_t expected = (*reader)->next();
    out.clear();
    infos.clear();
    const absl::StatusOr<int> n = (*reader)->Read(through, max_records, 8 << 10, out, &infos);
    if (absl::IsOutOfRange(n.status())) {
      reader = journal.NewReader(journal.first_sequence());
      continue;
    }
    if (!n.ok()) {
      failures.Record(absl::StrCat("read at ", expected, ": ", n.status().ToString()));
      return read;
    }
    for (int i = 0; i < *n; ++i) {
      const JournalReader::RecordInfo& info = infos[i];
      if (info.sequence != expected + i || info.time_nanos != TimeOf(info.sequence) ||
          out.compare(info.offset, info.size, StressBody(info.sequence)) != 0) {
        failures.Record(absl::StrCat("record ", info.sequence, " where ", expected + i,
                                     " was due, or with the wrong time or body"));
        return read;
      }
    }
    read += *n;
    if (*n == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        failures.Record(absl::StrCat("reader stuck at ", expected));
        return read;
      }
      std::this_thread::yield();
    }
  }
  if (!reader.ok()) failures.Record(reader.status().ToString());
  return read;
}

// Looks up the times of written records and reads the figures until `done`.
void RunLookups(const Journal& journal, const std::atomic<bool>& done, FailureLog& failures) {
  Random random(11);
  // Relaxed: a stop flag; the thread reads nothing the writer publishes through it.
  while (!done.load(std::memory_order_relaxed)) {
    const int64_t written = journal.written_sequence();
    const int64_t first = journal.first_sequence();
    (void)journal.bytes();
    (void)journal.segments();
    if (written < first) continue;
    const int64_t target = first + random.Below(written - first + 1);
    const absl::StatusOr<int64_t> found = journal.SequenceAtTime(TimeOf(target));
    // Retention may delete the target's segment meanwhile: then a later record is the answer.
    if (!found.ok() || *found < target) {
      failures.Record(absl::StrCat("time of ", target, " found ",
                                   found.ok() ? absl::StrCat(*found) : found.status().ToString()));
      return;
    }
  }
}

TEST(JournalStressTest, ReadersConcurrentWithAWriterSeeEveryRecordInOrderOnce) {
  Watchdog watchdog;
  TempDir temp;
  std::unique_ptr<Journal> journal = *Journal::Open(temp.Sub("journal"), StressOptions());
  const int64_t total = Scaled(40'000, 5'000);
  FailureLog failures;
  std::atomic<bool> done{false};
  int64_t read_synced = 0;
  int64_t read_written = 0;
  std::thread writer([&] { RunWriter(*journal, total, /*retain=*/false, failures); });
  std::thread synced([&] { read_synced = RunReader(*journal, total, true, 64, failures); });
  std::thread written([&] { read_written = RunReader(*journal, total, false, 5, failures); });
  std::thread lookups([&] { RunLookups(*journal, done, failures); });
  writer.join();
  synced.join();
  written.join();
  done.store(true, std::memory_order_relaxed);
  lookups.join();
  EXPECT_EQ(failures.count(), 0) << failures.Summary();
  EXPECT_EQ(read_synced, total);
  EXPECT_EQ(read_written, total);
  EXPECT_EQ(journal->synced_sequence(), total - 1);
}

TEST(JournalStressTest, ReadersRacingRetentionReadIntactRunsOrAreToldTheyFellBehind) {
  Watchdog watchdog;
  TempDir temp;
  JournalOptions options = StressOptions();
  options.retention_bytes = 256 << 10;  // about four segments
  std::unique_ptr<Journal> journal = *Journal::Open(temp.Sub("journal"), options);
  const int64_t total = Scaled(40'000, 5'000);
  FailureLog failures;
  std::atomic<bool> done{false};
  std::thread writer([&] { RunWriter(*journal, total, /*retain=*/true, failures); });
  std::thread fast([&] { RunReader(*journal, total, false, 256, failures); });
  std::thread slow([&] { RunReader(*journal, total, true, 1, failures); });
  std::thread lookups([&] { RunLookups(*journal, done, failures); });
  writer.join();
  fast.join();
  slow.join();
  done.store(true, std::memory_order_relaxed);
  lookups.join();
  EXPECT_EQ(failures.count(), 0) << failures.Summary();
  EXPECT_LE(journal->bytes(), options.retention_bytes + options.segment_bytes);
}

}  // namespace
}  // namespace ringcast::server::storage
