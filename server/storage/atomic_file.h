// Small files replaced atomically (topic metadata): after a crash a reader finds either the old
// contents or the new, never a mix or an empty file.
//
// Thread safety: any thread, but one writer per path at a time (they share the temporary file).
#ifndef RINGCAST_SERVER_STORAGE_ATOMIC_FILE_H_
#define RINGCAST_SERVER_STORAGE_ATOMIC_FILE_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "storage/file_io.h"

namespace ringcast::server::storage {

// Writes `contents` to `path` + ".tmp", fdatasyncs it, renames it over `path` and fsyncs the
// directory. On an error `path` is untouched (a stale ".tmp" may stay; the next call replaces
// it). `fs` null: the POSIX file system.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents,
                                 FileSystem* fs = nullptr);

// The whole contents of `path`: NOT_FOUND if it is missing, OUT_OF_RANGE if it holds more than
// `max_bytes`.
absl::StatusOr<std::string> ReadSmallFile(const std::string& path,
                                          std::size_t max_bytes = std::size_t{1} << 20,
                                          FileSystem* fs = nullptr);

}  // namespace ringcast::server::storage

#endif  // RINGCAST_SERVER_STORAGE_ATOMIC_FILE_H_
