// DataDirectory: where a durable server keeps its topics, and the definitions that bring them back
// after a restart.
//
//   <data_dir>/LOCK                   held (flock) while a server uses the directory
//   <data_dir>/topics/t_<name>/       one per topic (storage/topic_directory.h: every valid name
//                                     is a safe directory name, "." and ".." included)
//       topic.meta                    its definition, replaced atomically (storage/atomic_file.h)
//       <first_sequence>.log / .idx   its journal (storage/journal.h)
//   <data_dir>/trash/                 deleted topics on their way out; emptied at start-up
//   <data_dir>/damaged/               topic directories Open could not read a definition from
//
// A topic directory without a readable definition (a creation cut short by a crash, or damage)
// is not served: Open moves it to damaged/, untouched, and says so, rather than guess its
// settings.
//
// Thread safety: every method from any thread; callers serialize operations on one topic name
// (the registry does, under its lock).
#ifndef RINGCAST_SERVER_TOPIC_DATA_DIRECTORY_H_
#define RINGCAST_SERVER_TOPIC_DATA_DIRECTORY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ringcast::server {

// What a topic was created with. Zero retention fields mean the server's defaults at the time the
// topic is opened; a zero max_bytes the server's --max_topic_bytes.
struct TopicDefinition {
  std::string name;
  uint32_t capacity = 0;
  uint64_t max_bytes = 0;
  uint64_t retention_bytes = 0;
  absl::Duration retention_age = absl::ZeroDuration();
  int64_t created_unix_nanos = 0;
};

// The definition as topic.meta stores it ("key=value" lines), and back.
std::string FormatTopicDefinition(const TopicDefinition& definition);
absl::StatusOr<TopicDefinition> ParseTopicDefinition(absl::string_view text);

class DataDirectory {
 public:
  // Creates `dir` (and its parents) if missing, takes its lock (FAILED_PRECONDITION if another
  // process holds it), empties trash/ and moves topic directories without a definition to
  // damaged/.
  static absl::StatusOr<std::unique_ptr<DataDirectory>> Open(std::string dir);
  DataDirectory(const DataDirectory&) = delete;
  DataDirectory& operator=(const DataDirectory&) = delete;
  ~DataDirectory();  // releases the lock

  [[nodiscard]] const std::string& path() const noexcept { return dir_; }

  // The definitions of every topic found at Open, by name.
  [[nodiscard]] const std::vector<TopicDefinition>& recovered() const noexcept {
    return recovered_;
  }
  // Notes found at Open about directories moved to damaged/ (for the log).
  [[nodiscard]] const std::vector<std::string>& discarded() const noexcept { return discarded_; }

  // The directory of topic `name` (its journal's too).
  [[nodiscard]] std::string TopicPath(absl::string_view name) const;
  // Creates the topic's directory and writes its definition, durably.
  absl::Status Define(const TopicDefinition& definition);
  // Removes the topic's directory: renamed into trash at once (so the name can be reused), then
  // deleted. Open files in it stay readable and writable until closed.
  absl::Status Remove(absl::string_view name);

 private:
  DataDirectory(std::string dir, int lock_fd);
  absl::Status Scan();
  // Renames `path` into trash/ and deletes it there.
  absl::Status Discard(const std::string& path);

  const std::string dir_;
  const int lock_fd_;
  std::vector<TopicDefinition> recovered_;
  std::vector<std::string> discarded_;
};

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_TOPIC_DATA_DIRECTORY_H_
