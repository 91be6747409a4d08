// The file layer: errno mapping, positional writes, the fault-injecting file system, atomically
// replaced files, topic directory names and the sync mode's spelling.
#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "server/storage/storage_test_support.h"
#include "storage/atomic_file.h"
#include "storage/fault_injection.h"
#include "storage/file_io.h"
#include "storage/sync_mode.h"
#include "storage/topic_directory.h"

namespace ringcast::server::storage {
namespace {

using testing::ReadFileBytes;
using testing::TempDir;
using testing::WriteFileBytes;

TEST(IoErrorTest, SaysTheDiskIsFullForEnospcAndEdquot) {
  for (const int error : {ENOSPC, EDQUOT}) {
    const absl::Status status = IoError(error, "write of", "/d/x.log");
    EXPECT_TRUE(absl::IsResourceExhausted(status)) << status;
    EXPECT_NE(status.message().find("write of /d/x.log failed"), absl::string_view::npos);
    EXPECT_NE(status.message().find("the disk is full"), absl::string_view::npos);
  }
  EXPECT_EQ(IoError(ENOSPC, "write of", "/d/x.log").message(),
            "write of /d/x.log failed: No space left on device (the disk is full)");
}

TEST(IoErrorTest, MapsOtherErrnoValuesToUnavailableWithTheirText) {
  const absl::Status eio = IoError(EIO, "fdatasync of", "/d/x.log");
  EXPECT_TRUE(absl::IsUnavailable(eio)) << eio;
  EXPECT_EQ(eio.message(), "fdatasync of /d/x.log failed: Input/output error");
  EXPECT_TRUE(absl::IsNotFound(IoError(ENOENT, "open of", "/x")));
  EXPECT_TRUE(absl::IsAlreadyExists(IoError(EEXIST, "open of", "/x")));
}

TEST(PathTest, JoinsAndSplitsPaths) {
  EXPECT_EQ(ParentDirectory("a/b/c"), "a/b");
  EXPECT_EQ(ParentDirectory("c"), ".");
  EXPECT_EQ(ParentDirectory("/c"), "/");
  EXPECT_EQ(JoinPath("a/b", "c"), "a/b/c");
  EXPECT_EQ(JoinPath("a/b/", "c"), "a/b/c");
}

TEST(PosixFileTest, WritesPartsAtTheirOffsetAndReadsThemBack) {
  TempDir dir;
  FileSystem& fs = FileSystem::Posix();
  absl::StatusOr<std::unique_ptr<File>> file = fs.Open(dir.Sub("f"), OpenMode::kCreateNew);
  ASSERT_TRUE(file.ok()) << file.status();
  const absl::string_view parts[] = {"hello", "", " world"};
  ASSERT_TRUE((*file)->WriteAt(3, parts).ok());
  EXPECT_EQ(ReadFileBytes(dir.Sub("f")), std::string("\0\0\0hello world", 14));
  char out[32];
  absl::StatusOr<std::size_t> got = (*file)->ReadAt(8, out, sizeof(out));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(std::string(out, *got), " world");
  ASSERT_TRUE((*file)->Truncate(5).ok());
  EXPECT_EQ(*(*file)->Size(), 5u);
  EXPECT_TRUE((*file)->DataSync().ok());
  EXPECT_TRUE(absl::IsAlreadyExists(fs.Open(dir.Sub("f"), OpenMode::kCreateNew).status()));
  EXPECT_TRUE(absl::IsNotFound(fs.Open(dir.Sub("missing"), OpenMode::kReadOnly).status()));
}

TEST(FaultInjectingFileSystemTest, FailsWritesAfterAPrefixUntilCleared) {
  TempDir dir;
  FaultInjectingFileSystem fs;
  absl::StatusOr<std::unique_ptr<File>> file = fs.Open(dir.Sub("f"), OpenMode::kCreateNew);
  ASSERT_TRUE(file.ok());
  fs.SetFaults({.write_error = ENOSPC, .write_bytes_before_error = 3});
  const absl::string_view parts[] = {"abcdef"};
  EXPECT_TRUE(absl::IsResourceExhausted((*file)->WriteAt(0, parts)));
  EXPECT_EQ(ReadFileBytes(dir.Sub("f")), "abc");
  fs.ClearFaults();
  EXPECT_TRUE((*file)->WriteAt(0, parts).ok());
  EXPECT_EQ(ReadFileBytes(dir.Sub("f")), "abcdef");
  EXPECT_EQ(fs.counts().writes_failed, 1);
}

TEST(AtomicFileTest, WritesAndReplacesContentsLeavingNoTemporaryFile) {
  TempDir dir;
  const std::string path = dir.Sub("topic.meta");
  ASSERT_TRUE(WriteFileAtomically(path, "first").ok());
  EXPECT_EQ(*ReadSmallFile(path), "first");
  ASSERT_TRUE(WriteFileAtomically(path, "second, longer").ok());
  EXPECT_EQ(*ReadSmallFile(path), "second, longer");
  ASSERT_TRUE(WriteFileAtomically(path, "").ok());
  EXPECT_EQ(*ReadSmallFile(path), "");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(AtomicFileTest, ReadSmallFileSaysNotFoundOrTooLarge) {
  TempDir dir;
  EXPECT_TRUE(absl::IsNotFound(ReadSmallFile(dir.Sub("missing")).status()));
  WriteFileBytes(dir.Sub("big"), std::string(100, 'x'));
  EXPECT_TRUE(absl::IsOutOfRange(ReadSmallFile(dir.Sub("big"), 99).status()));
  EXPECT_EQ(ReadSmallFile(dir.Sub("big"), 100)->size(), 100u);
}

TEST(AtomicFileTest, AFullDiskOrAFailingSyncLeavesTheOldContents) {
  TempDir dir;
  FaultInjectingFileSystem fs;
  const std::string path = dir.Sub("topic.meta");
  ASSERT_TRUE(WriteFileAtomically(path, "old", &fs).ok());

  fs.SetFaults({.write_error = ENOSPC, .write_bytes_before_error = 2});
  const absl::Status full = WriteFileAtomically(path, "new contents", &fs);
  EXPECT_TRUE(absl::IsResourceExhausted(full)) << full;
  EXPECT_EQ(*ReadSmallFile(path, 100, &fs), "old");

  fs.SetFaults({.sync_error = EIO});
  const absl::Status failed_sync = WriteFileAtomically(path, "new contents", &fs);
  EXPECT_TRUE(absl::IsUnavailable(failed_sync)) << failed_sync;
  EXPECT_EQ(*ReadSmallFile(path, 100, &fs), "old");

  fs.ClearFaults();
  ASSERT_TRUE(WriteFileAtomically(path, "new contents", &fs).ok());
  EXPECT_EQ(*ReadSmallFile(path, 100, &fs), "new contents");
}

TEST(TopicDirectoryTest, PrefixesEveryTopicSoDotAndDotDotAreSafe) {
  EXPECT_EQ(TopicDirectoryName("orders"), "t_orders");
  EXPECT_EQ(TopicDirectoryName("."), "t_.");
  EXPECT_EQ(TopicDirectoryName(".."), "t_..");
  for (const std::string& topic :
       std::vector<std::string>{"orders", ".", "..", "a-b_c.d", std::string(249, 'z')}) {
    EXPECT_EQ(TopicFromDirectoryName(TopicDirectoryName(topic)), topic);
  }
}

TEST(TopicDirectoryTest, TopicFromDirectoryNameRefusesOtherNames) {
  for (const std::string& name :
       std::vector<std::string>{"orders", "t_", "x_orders", "t_a/b", "t_a b", "topic.meta",
                                "t_" + std::string(250, 'z')}) {
    EXPECT_EQ(TopicFromDirectoryName(name), std::nullopt) << name;
  }
}

TEST(SyncModeTest, ParsesWhatItPrintsAndNothingElse) {
  for (const SyncMode mode : {SyncMode::kAlways, SyncMode::kInterval, SyncMode::kNone}) {
    EXPECT_EQ(ParseSyncMode(SyncModeName(mode)), mode);
    SyncMode parsed = SyncMode::kNone;
    std::string error;
    EXPECT_TRUE(AbslParseFlag(AbslUnparseFlag(mode), &parsed, &error));
    EXPECT_EQ(parsed, mode);
  }
  EXPECT_EQ(SyncModeName(SyncMode::kInterval), "interval");
  EXPECT_EQ(ParseSyncMode("Always"), std::nullopt);
  EXPECT_EQ(ParseSyncMode(""), std::nullopt);
  SyncMode parsed = SyncMode::kNone;
  std::string error;
  EXPECT_FALSE(AbslParseFlag("sometimes", &parsed, &error));
  EXPECT_EQ(error, "must be always, interval or none");
}

}  // namespace
}  // namespace ringcast::server::storage
