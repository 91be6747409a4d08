#include "storage/file_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace ringcast::server::storage {
namespace {

// strerror_r comes in two flavours: XSI returns an int and fills the buffer, GNU returns the text.
[[maybe_unused]] const char* StrerrorResult(int /*result*/, const char* buffer) { return buffer; }
[[maybe_unused]] const char* StrerrorResult(const char* text, const char* /*buffer*/) {
  return text;
}

class PosixFile final : public File {
 public:
  PosixFile(std::string path, int fd) : File(std::move(path)), fd_(fd) {}
  ~PosixFile() override { ::close(fd_); }

  absl::Status WriteAt(uint64_t offset, absl::Span<const absl::string_view> parts) override;
  absl::StatusOr<std::size_t> ReadAt(uint64_t offset, char* out, std::size_t n) const override;
  absl::StatusOr<uint64_t> Size() const override;
  absl::Status Truncate(uint64_t size) override;
  absl::Status DataSync() override;
  void AdviseSequential() const override {
    (void)::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);  // a hint: its failure changes nothing
  }

 private:
  const int fd_;
};

// At most IOV_MAX iovecs per call; the journal passes one or two parts.
constexpr std::size_t kMaxIovecs = 64;

absl::Status PosixFile::WriteAt(uint64_t offset, absl::Span<const absl::string_view> parts) {
  std::size_t part = 0;
  std::size_t done_in_part = 0;  // bytes of parts[part] already written
  while (part < parts.size()) {
    iovec iov[kMaxIovecs];
    int count = 0;
    for (std::size_t i = part; i < parts.size() && count < static_cast<int>(kMaxIovecs); ++i) {
      const std::size_t skip = i == part ? done_in_part : 0;
      if (parts[i].size() == skip) continue;  // nothing (left) to write of it
      iov[count].iov_base = const_cast<char*>(parts[i].data() + skip);
      iov[count].iov_len = parts[i].size() - skip;
      ++count;
    }
    if (count == 0) break;  // only empty parts were left
    const ssize_t n = ::pwritev(fd_, iov, count, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError(errno, "write of", path());
    }
    if (n == 0) return IoError(EIO, "write of", path());  // no progress on a regular file
    // Advance past what was written, part by part (a short write stops anywhere).
    offset += static_cast<uint64_t>(n);
    std::size_t left = static_cast<std::size_t>(n);
    while (part < parts.size() && left >= parts[part].size() - done_in_part) {
      left -= parts[part].size() - done_in_part;
      ++part;
      done_in_part = 0;
    }
    done_in_part += left;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::size_t> PosixFile::ReadAt(uint64_t offset, char* out, std::size_t n) const {
  std::size_t done = 0;
  while (done < n) {
    const ssize_t got = ::pread(fd_, out + done, n - done, static_cast<off_t>(offset + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      return IoError(errno, "read of", path());
    }
    if (got == 0) break;  // end of file
    done += static_cast<std::size_t>(got);
  }
  return done;
}

absl::StatusOr<uint64_t> PosixFile::Size() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) return IoError(errno, "fstat of", path());
  return static_cast<uint64_t>(st.st_size);
}

absl::Status PosixFile::Truncate(uint64_t size) {
  while (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
    if (errno != EINTR) return IoError(errno, "ftruncate of", path());
  }
  return absl::OkStatus();
}

absl::Status PosixFile::DataSync() {
  // Not retried on EINTR either: fdatasync does not return it on Linux, and any failure must
  // reach the caller, who must not trust a second attempt.
  if (::fdatasync(fd_) != 0) return IoError(errno, "fdatasync of", path());
  return absl::OkStatus();
}

int OpenFlags(OpenMode mode) {
  switch (mode) {
    case OpenMode::kReadOnly:
      return O_RDONLY;
    case OpenMode::kReadWrite:
      return O_RDWR;
    case OpenMode::kCreateNew:
      return O_RDWR | O_CREAT | O_EXCL;
    case OpenMode::kCreateOrTruncate:
      return O_RDWR | O_CREAT | O_TRUNC;
  }
  return O_RDONLY;
}

class PosixFileSystem final : public FileSystem {
 public:
  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override {
    int fd;
    do {
      fd = ::open(path.c_str(), OpenFlags(mode) | O_CLOEXEC, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return IoError(errno, "open of", path);
    return std::make_unique<PosixFile>(path, fd);
  }

  absl::StatusOr<bool> CreateDirectory(const std::string& path) override {
    if (::mkdir(path.c_str(), 0755) == 0) return true;
    const int error = errno;
    struct stat st;
    if (error == EEXIST && ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return false;
    return IoError(error, "mkdir of", path);
  }

  absl::StatusOr<std::vector<std::string>> ListDirectory(const std::string& path) override {
    DIR* dir = ::opendir(path.c_str());
    if (dir == nullptr) return IoError(errno, "opendir of", path);
    std::vector<std::string> names;
    errno = 0;
    while (const dirent* entry = ::readdir(dir)) {
      const absl::string_view name = entry->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
    }
    const int error = errno;
    ::closedir(dir);
    if (error != 0) return IoError(error, "readdir of", path);
    return names;
  }

  absl::Status Remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return IoError(errno, "unlink of", path);
    return absl::OkStatus();
  }

  absl::Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return IoError(errno, "rename", absl::StrCat(from, " to ", to));
    }
    return absl::OkStatus();
  }

  absl::Status SyncDirectory(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return IoError(errno, "open of", path);
    const int result = ::fsync(fd);
    const int error = errno;
    ::close(fd);
    if (result != 0) return IoError(error, "fsync of", path);
    return absl::OkStatus();
  }
};

}  // namespace

std::string ErrnoText(int error) {
  char buffer[128] = {0};
  return StrerrorResult(::strerror_r(error, buffer, sizeof(buffer)), buffer);
}

absl::Status IoError(int error, absl::string_view operation, absl::string_view path) {
  std::string message = absl::StrCat(operation, " ", path, " failed: ", ErrnoText(error));
  switch (error) {
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(absl::StrCat(message, " (the disk is full)"));
    case ENOENT:
      return absl::NotFoundError(message);
    case EEXIST:
      return absl::AlreadyExistsError(message);
    default:
      return absl::UnavailableError(message);
  }
}

FileSystem& FileSystem::Posix() {
  static PosixFileSystem* const posix = new PosixFileSystem();  // never destroyed: used at exit
  return *posix;
}

std::string ParentDirectory(absl::string_view path) {
  const std::size_t slash = path.rfind('/');
  if (slash == absl::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

std::string JoinPath(absl::string_view directory, absl::string_view name) {
  if (!directory.empty() && directory.back() == '/') return absl::StrCat(directory, name);
  return absl::StrCat(directory, "/", name);
}

}  // namespace ringcast::server::storage
