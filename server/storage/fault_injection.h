// FaultInjectingFileSystem: a FileSystem over another (POSIX by default) that fails chosen calls
// with chosen errno values, for tests of what the journal does on a full disk (ENOSPC on write) or
// a failing disk (EIO on fdatasync).
//
// Faults apply to every File opened through it, including those opened before the fault was set,
// until cleared. Counters say how many calls failed.
//
// Thread safety: every method, and every File's, from any thread (one mutex).
#ifndef RINGCAST_SERVER_STORAGE_FAULT_INJECTION_H_
#define RINGCAST_SERVER_STORAGE_FAULT_INJECTION_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "storage/file_io.h"

namespace ringcast::server::storage {

struct Faults {
  int write_error = 0;                    // errno for File::WriteAt; 0: none
  uint64_t write_bytes_before_error = 0;  // how much of a failing write still reaches the file
  int sync_error = 0;                     // errno for File::DataSync and SyncDirectory
  int create_error = 0;                   // errno for Open in kCreateNew/kCreateOrTruncate mode
  int truncate_error = 0;                 // errno for File::Truncate
};

struct FaultCounts {
  int writes_failed = 0;
  int syncs_failed = 0;
  int creates_failed = 0;
  int truncates_failed = 0;
};

class FaultInjectingFileSystem final : public FileSystem {
 public:
  explicit FaultInjectingFileSystem(FileSystem& base = FileSystem::Posix());

  void SetFaults(const Faults& faults);
  void ClearFaults() { SetFaults(Faults{}); }
  [[nodiscard]] FaultCounts counts() const;

  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override;
  absl::StatusOr<bool> CreateDirectory(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> ListDirectory(const std::string& path) override;
  absl::Status Remove(const std::string& path) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::Status SyncDirectory(const std::string& path) override;

  // What the files opened through this share with it (they may outlive it).
  struct State {
    mutable std::mutex mu;
    Faults faults;       // guarded by mu
    FaultCounts counts;  // guarded by mu
  };

 private:
  FileSystem& base_;
  const std::shared_ptr<State> state_;
};

}  // namespace ringcast::server::storage

#endif  // RINGCAST_SERVER_STORAGE_FAULT_INJECTION_H_
