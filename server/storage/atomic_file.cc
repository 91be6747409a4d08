#include "storage/atomic_file.h"

#include <memory>

#include "absl/strings/str_cat.h"

namespace ringcast::server::storage {

absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents,
                                 FileSystem* fs) {
  FileSystem& files = fs != nullptr ? *fs : FileSystem::Posix();
  const std::string tmp = absl::StrCat(path, ".tmp");
  {
    absl::StatusOr<std::unique_ptr<File>> file = files.Open(tmp, OpenMode::kCreateOrTruncate);
    if (!file.ok()) return file.status();
    const absl::string_view parts[] = {contents};
    if (absl::Status status = (*file)->WriteAt(0, parts); !status.ok()) return status;
    // fdatasync also writes the size: all a reader of the new name needs.
    if (absl::Status status = (*file)->DataSync(); !status.ok()) return status;
  }
  if (absl::Status status = files.Rename(tmp, path); !status.ok()) return status;
  return files.SyncDirectory(ParentDirectory(path));
}

absl::StatusOr<std::string> ReadSmallFile(const std::string& path, std::size_t max_bytes,
                                          FileSystem* fs) {
  FileSystem& files = fs != nullptr ? *fs : FileSystem::Posix();
  absl::StatusOr<std::unique_ptr<File>> file = files.Open(path, OpenMode::kReadOnly);
  if (!file.ok()) return file.status();
  absl::StatusOr<uint64_t> size = (*file)->Size();
  if (!size.ok()) return size.status();
  if (*size > max_bytes) {
    return absl::OutOfRangeError(
        absl::StrCat(path, " holds ", *size, " bytes, more than the ", max_bytes, " expected"));
  }
  // One byte more than the size: a file that grew meanwhile shows as too long, not cut short.
  std::string contents(static_cast<std::size_t>(*size) + 1, '\0');
  absl::StatusOr<std::size_t> got = (*file)->ReadAt(0, contents.data(), contents.size());
  if (!got.ok()) return got.status();
  if (*got > max_bytes) {
    return absl::OutOfRangeError(
        absl::StrCat(path, " holds more than the ", max_bytes, " bytes expected"));
  }
  contents.resize(*got);
  return contents;
}

}  // namespace ringcast::server::storage
