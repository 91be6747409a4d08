#include "storage/fault_injection.h"

#include <algorithm>
#include <utility>

namespace ringcast::server::storage {
namespace {

using State = FaultInjectingFileSystem::State;

class FaultInjectingFile final : public File {
 public:
  FaultInjectingFile(std::unique_ptr<File> base, std::shared_ptr<State> state)
      : File(base->path()), base_(std::move(base)), state_(std::move(state)) {}

  absl::Status WriteAt(uint64_t offset, absl::Span<const absl::string_view> parts) override;
  absl::StatusOr<std::size_t> ReadAt(uint64_t offset, char* out, std::size_t n) const override {
    return base_->ReadAt(offset, out, n);
  }
  absl::StatusOr<uint64_t> Size() const override { return base_->Size(); }
  absl::Status Truncate(uint64_t size) override {
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      if (const int error = state_->faults.truncate_error; error != 0) {
        ++state_->counts.truncates_failed;
        return IoError(error, "ftruncate of", path());
      }
    }
    return base_->Truncate(size);
  }
  absl::Status DataSync() override {
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      if (const int error = state_->faults.sync_error; error != 0) {
        ++state_->counts.syncs_failed;
        return IoError(error, "fdatasync of", path());
      }
    }
    return base_->DataSync();
  }
  void AdviseSequential() const override { base_->AdviseSequential(); }

 private:
  const std::unique_ptr<File> base_;
  const std::shared_ptr<State> state_;
};

absl::Status FaultInjectingFile::WriteAt(uint64_t offset,
                                         absl::Span<const absl::string_view> parts) {
  int error = 0;
  uint64_t allowed = 0;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    error = state_->faults.write_error;
    allowed = state_->faults.write_bytes_before_error;
    if (error != 0) ++state_->counts.writes_failed;
  }
  if (error == 0) return base_->WriteAt(offset, parts);
  // The prefix a real failing write may leave behind, then the error.
  std::vector<absl::string_view> prefix;
  for (absl::string_view part : parts) {
    if (allowed == 0) break;
    const std::size_t n = static_cast<std::size_t>(std::min<uint64_t>(allowed, part.size()));
    prefix.push_back(part.substr(0, n));
    allowed -= n;
  }
  if (!prefix.empty()) {
    if (absl::Status status = base_->WriteAt(offset, prefix); !status.ok()) return status;
  }
  return IoError(error, "write of", path());
}

bool Creates(OpenMode mode) {
  return mode == OpenMode::kCreateNew || mode == OpenMode::kCreateOrTruncate;
}

}  // namespace

FaultInjectingFileSystem::FaultInjectingFileSystem(FileSystem& base)
    : base_(base), state_(std::make_shared<State>()) {}

void FaultInjectingFileSystem::SetFaults(const Faults& faults) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->faults = faults;
}

FaultCounts FaultInjectingFileSystem::counts() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->counts;
}

absl::StatusOr<std::unique_ptr<File>> FaultInjectingFileSystem::Open(const std::string& path,
                                                                     OpenMode mode) {
  if (Creates(mode)) {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (const int error = state_->faults.create_error; error != 0) {
      ++state_->counts.creates_failed;
      return IoError(error, "open of", path);
    }
  }
  absl::StatusOr<std::unique_ptr<File>> file = base_.Open(path, mode);
  if (!file.ok()) return file.status();
  return std::make_unique<FaultInjectingFile>(*std::move(file), state_);
}

absl::StatusOr<bool> FaultInjectingFileSystem::CreateDirectory(const std::string& path) {
  return base_.CreateDirectory(path);
}

absl::StatusOr<std::vector<std::string>> FaultInjectingFileSystem::ListDirectory(
    const std::string& path) {
  return base_.ListDirectory(path);
}

absl::Status FaultInjectingFileSystem::Remove(const std::string& path) {
  return base_.Remove(path);
}

absl::Status FaultInjectingFileSystem::Rename(const std::string& from, const std::string& to) {
  return base_.Rename(from, to);
}

absl::Status FaultInjectingFileSystem::SyncDirectory(const std::string& path) {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (const int error = state_->faults.sync_error; error != 0) {
      ++state_->counts.syncs_failed;
      return IoError(error, "fsync of", path);
    }
  }
  return base_.SyncDirectory(path);
}

}  // namespace ringcast::server::storage
