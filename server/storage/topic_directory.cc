#include "storage/topic_directory.h"

#include <cassert>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace ringcast::server::storage {
namespace {

constexpr absl::string_view kPrefix = "t_";

// The rule of ValidateTopicName (topic/topic_registry.h), which this component cannot depend on:
// topics sit above storage.
bool IsTopicName(absl::string_view name) {
  if (name.empty() || name.size() > 249) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string TopicDirectoryName(absl::string_view topic) {
  assert(IsTopicName(topic) && "TopicDirectoryName needs a valid topic name");
  return absl::StrCat(kPrefix, topic);
}

std::optional<std::string> TopicFromDirectoryName(absl::string_view name) {
  if (!absl::ConsumePrefix(&name, kPrefix) || !IsTopicName(name)) return std::nullopt;
  return std::string(name);
}

}  // namespace ringcast::server::storage
