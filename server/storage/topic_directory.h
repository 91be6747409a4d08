// The name of a topic's directory under the data directory.
//
// Topic names match [A-Za-z0-9._-]{1,249}, so "." and ".." are valid topic names; the fixed "t_"
// prefix makes every directory name safe, and leaves other names in the data directory free for
// other uses.
#ifndef RINGCAST_SERVER_STORAGE_TOPIC_DIRECTORY_H_
#define RINGCAST_SERVER_STORAGE_TOPIC_DIRECTORY_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace ringcast::server::storage {

// "t_" + topic. Requires: `topic` is a valid topic name (assert).
std::string TopicDirectoryName(absl::string_view topic);

// The topic whose directory `name` is, nullopt if it is not one ("t_" + a valid topic name).
std::optional<std::string> TopicFromDirectoryName(absl::string_view name);

}  // namespace ringcast::server::storage

#endif  // RINGCAST_SERVER_STORAGE_TOPIC_DIRECTORY_H_
