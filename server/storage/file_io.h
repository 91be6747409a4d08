// File and FileSystem: the storage component's only way to the disk.
//
// Everything the journal and the atomic files do to the disk goes through these two small
// interfaces, so that tests can make a write fail with ENOSPC or an fdatasync with EIO
// (FaultInjectingFileSystem, fault_injection.h). FileSystem::Posix() is the real thing.
//
// Errors are absl::Status made by IoError: RESOURCE_EXHAUSTED for ENOSPC and EDQUOT (the message
// says the disk is full), NOT_FOUND for ENOENT, ALREADY_EXISTS for EEXIST, UNAVAILABLE for
// everything else; the message names the operation, the path and the errno text.
//
// Thread safety: FileSystem methods from any thread. A File's ReadAt, Size and AdviseSequential
// from any thread, concurrently with each other and with the other methods, which one thread at a
// time may call (pread/pwrite semantics: a read never sees a write half-done as torn memory, but
// may see any prefix of a write that is still running; the journal keeps readers below what
// finished).
#ifndef RINGCAST_SERVER_STORAGE_FILE_IO_H_
#define RINGCAST_SERVER_STORAGE_FILE_IO_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace ringcast::server::storage {

// The errno text of `error` ("No space left on device").
std::string ErrnoText(int error);

// The status for `operation` on `path` failing with errno `error` (see the top of this file), e.g.
// RESOURCE_EXHAUSTED "write of /d/x.log failed: No space left on device (the disk is full)".
absl::Status IoError(int error, absl::string_view operation, absl::string_view path);

class File {
 public:
  explicit File(std::string path) : path_(std::move(path)) {}
  virtual ~File() = default;
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  [[nodiscard]] const std::string& path() const noexcept { return path_; }

  // Writes all of `parts`, one after the other, at `offset` (retrying short writes). On an error
  // any prefix of them may have reached the file.
  virtual absl::Status WriteAt(uint64_t offset, absl::Span<const absl::string_view> parts) = 0;
  // Reads up to `n` bytes at `offset` into `out`; fewer only at the end of the file.
  virtual absl::StatusOr<std::size_t> ReadAt(uint64_t offset, char* out, std::size_t n) const = 0;
  virtual absl::StatusOr<uint64_t> Size() const = 0;
  // Cuts the file to `size` bytes (ftruncate).
  virtual absl::Status Truncate(uint64_t size) = 0;
  // fdatasync: the data and the size reach the disk.
  virtual absl::Status DataSync() = 0;
  // A hint that the file is read front to back (posix_fadvise SEQUENTIAL). Never fails.
  virtual void AdviseSequential() const = 0;

 private:
  const std::string path_;
};

enum class OpenMode {
  kReadOnly,          // an existing file
  kReadWrite,         // an existing file
  kCreateNew,         // a new file; ALREADY_EXISTS if there is one
  kCreateOrTruncate,  // a new or emptied file
};

class FileSystem {
 public:
  // The POSIX file system. Lives for the whole process.
  static FileSystem& Posix();

  virtual ~FileSystem() = default;

  virtual absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) = 0;
  // Creates the directory `path` if it is missing (its parent must exist). True if it created it.
  virtual absl::StatusOr<bool> CreateDirectory(const std::string& path) = 0;
  // The names in the directory `path`, without "." and "..", in no particular order.
  virtual absl::StatusOr<std::vector<std::string>> ListDirectory(const std::string& path) = 0;
  // Unlinks the file `path`. Open Files of it keep working.
  virtual absl::Status Remove(const std::string& path) = 0;
  virtual absl::Status Rename(const std::string& from, const std::string& to) = 0;
  // fsync of the directory `path`: the names created, renamed or removed in it reach the disk.
  virtual absl::Status SyncDirectory(const std::string& path) = 0;
};

// "a/b/c" -> "a/b", "c" -> ".", "/c" -> "/".
std::string ParentDirectory(absl::string_view path);
// "a/b" + "c" -> "a/b/c".
std::string JoinPath(absl::string_view directory, absl::string_view name);

}  // namespace ringcast::server::storage

#endif  // RINGCAST_SERVER_STORAGE_FILE_IO_H_
