#include "topic/data_directory.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "storage/atomic_file.h"
#include "storage/topic_directory.h"

namespace ringcast::server {
namespace {

namespace fs = std::filesystem;

constexpr char kMetaFile[] = "topic.meta";

absl::Status FromErrorCode(const std::error_code& error, absl::string_view what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", error.message()));
}

}  // namespace

std::string FormatTopicDefinition(const TopicDefinition& d) {
  return absl::StrCat("name=", d.name, "\ncapacity=", d.capacity, "\nmax_bytes=", d.max_bytes,
                      "\nretention_bytes=", d.retention_bytes,
                      "\nretention_age_seconds=", absl::ToInt64Seconds(d.retention_age),
                      "\ncreated_unix_nanos=", d.created_unix_nanos, "\n");
}

absl::StatusOr<TopicDefinition> ParseTopicDefinition(absl::string_view text) {
  TopicDefinition d;
  bool has_name = false;
  bool has_capacity = false;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    const std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(line, '=');
    const absl::string_view key = kv.first;
    const absl::string_view value = kv.second;
    bool ok = true;
    int64_t seconds = 0;
    if (key == "name") {
      d.name = std::string(value);
      has_name = true;
    } else if (key == "capacity") {
      ok = has_capacity = absl::SimpleAtoi(value, &d.capacity);
    } else if (key == "max_bytes") {
      ok = absl::SimpleAtoi(value, &d.max_bytes);
    } else if (key == "retention_bytes") {
      ok = absl::SimpleAtoi(value, &d.retention_bytes);
    } else if (key == "retention_age_seconds") {
      ok = absl::SimpleAtoi(value, &seconds);
      d.retention_age = absl::Seconds(seconds);
    } else if (key == "created_unix_nanos") {
      ok = absl::SimpleAtoi(value, &d.created_unix_nanos);
    }  // unknown keys: written by a newer version; ignored
    if (!ok) {
      return absl::DataLossError(absl::StrCat("bad value in topic definition: \"", line, "\""));
    }
  }
  if (!has_name || !has_capacity) {
    return absl::DataLossError("topic definition lacks its name or capacity");
  }
  return d;
}

absl::StatusOr<std::unique_ptr<DataDirectory>> DataDirectory::Open(std::string dir) {
  std::error_code error;
  fs::create_directories(fs::path(dir) / "topics", error);
  if (error) return FromErrorCode(error, absl::StrCat("cannot create data directory ", dir));
  fs::create_directories(fs::path(dir) / "trash", error);
  if (error) return FromErrorCode(error, absl::StrCat("cannot create ", dir, "/trash"));
  const std::string lock_path = (fs::path(dir) / "LOCK").string();
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("cannot open ", lock_path, ": ", strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    return absl::FailedPreconditionError(absl::StrCat("data directory ", dir,
                                                      " is in use by another process (", lock_path,
                                                      ": ", strerror(err), ")"));
  }
  std::unique_ptr<DataDirectory> data(new DataDirectory(std::move(dir), fd));
  if (absl::Status s = data->Scan(); !s.ok()) return s;
  return data;
}

DataDirectory::DataDirectory(std::string dir, int lock_fd)
    : dir_(std::move(dir)), lock_fd_(lock_fd) {}

DataDirectory::~DataDirectory() { ::close(lock_fd_); }

absl::Status DataDirectory::Scan() {
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(fs::path(dir_) / "trash", error)) {
    fs::remove_all(entry.path(), error);
  }
  for (const auto& entry : fs::directory_iterator(fs::path(dir_) / "topics", error)) {
    const std::string file = entry.path().filename().string();
    const std::optional<std::string> name = storage::TopicFromDirectoryName(file);
    if (!name.has_value()) continue;  // not ours
    absl::StatusOr<std::string> text =
        storage::ReadSmallFile((entry.path() / kMetaFile).string(), 64 << 10);
    absl::StatusOr<TopicDefinition> definition =
        text.ok() ? ParseTopicDefinition(*text) : text.status();
    if (definition.ok() && definition->name != *name) {
      definition = absl::DataLossError(
          absl::StrCat("its definition names topic \"", definition->name, "\""));
    }
    if (!definition.ok()) {
      const fs::path kept =
          fs::path(dir_) / "damaged" / absl::StrCat(file, ".", absl::GetCurrentTimeNanos());
      fs::create_directories(kept.parent_path(), error);
      fs::rename(entry.path(), kept, error);
      if (error) return FromErrorCode(error, absl::StrCat("cannot move ", entry.path().string()));
      discarded_.push_back(absl::StrCat(entry.path().string(), ": ", definition.status().message(),
                                        "; not served, kept as ", kept.string()));
      continue;
    }
    recovered_.push_back(*std::move(definition));
  }
  if (error) return FromErrorCode(error, absl::StrCat("cannot list ", dir_, "/topics"));
  return absl::OkStatus();
}

std::string DataDirectory::TopicPath(absl::string_view name) const {
  return (fs::path(dir_) / "topics" / storage::TopicDirectoryName(name)).string();
}

absl::Status DataDirectory::Define(const TopicDefinition& definition) {
  const std::string path = TopicPath(definition.name);
  std::error_code error;
  fs::create_directory(path, error);
  if (error) return FromErrorCode(error, absl::StrCat("cannot create ", path));
  return storage::WriteFileAtomically((fs::path(path) / kMetaFile).string(),
                                      FormatTopicDefinition(definition));
}

absl::Status DataDirectory::Remove(absl::string_view name) { return Discard(TopicPath(name)); }

absl::Status DataDirectory::Discard(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  const fs::path trash =
      fs::path(dir_) / "trash" /
      absl::StrCat(fs::path(path).filename().string(), ".", absl::GetCurrentTimeNanos(), ".",
                   counter.fetch_add(1, std::memory_order_relaxed));  // relaxed: a unique suffix
  std::error_code error;
  fs::rename(path, trash, error);
  if (error) return FromErrorCode(error, absl::StrCat("cannot move ", path, " to trash"));
  fs::remove_all(trash, error);
  if (error) return FromErrorCode(error, absl::StrCat("cannot delete ", trash.string()));
  return absl::OkStatus();
}

}  // namespace ringcast::server
