#include "security/topic_pattern.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace ringcast::server::security {
namespace {

constexpr std::size_t kMaxTopicNameBytes = 249;
constexpr absl::string_view kPrefixSuffix = ".*";

absl::Status InvalidPattern(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("topic pattern \"", absl::CHexEscape(text), "\" ", why));
}

}  // namespace

bool IsTopicName(absl::string_view name) noexcept {
  if (name.empty() || name.size() > kMaxTopicNameBytes) return false;
  for (const char c : name) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!allowed) return false;
  }
  return true;
}

absl::StatusOr<TopicPattern> TopicPattern::Parse(absl::string_view text) {
  if (text == "*") return TopicPattern(Kind::kAll, std::string(text));
  if (IsTopicName(text)) return TopicPattern(Kind::kExact, std::string(text));

  absl::string_view prefix = text;
  if (absl::ConsumeSuffix(&prefix, kPrefixSuffix) && IsTopicName(prefix)) {
    // The shortest name it covers is the prefix, its dot and one character.
    if (prefix.size() + 2 > kMaxTopicNameBytes) {
      return InvalidPattern(text, "can match no topic: names are at most 249 bytes long");
    }
    return TopicPattern(Kind::kPrefix, std::string(text));
  }
  if (text.empty()) return InvalidPattern(text, "is empty");
  if (text == kPrefixSuffix) {
    return InvalidPattern(text, "has an empty prefix; \"*\" is the pattern for every topic");
  }
  if (absl::StrContains(text, '*')) {
    return InvalidPattern(
        text, "has a wildcard that is not \"*\" alone nor a final \".*\" after a topic name");
  }
  return InvalidPattern(text, "is not a topic name ([A-Za-z0-9._-]{1,249}), \"prefix.*\" or \"*\"");
}

absl::string_view TopicPattern::stem() const noexcept {
  switch (kind_) {
    case Kind::kExact:
      return text_;
    case Kind::kPrefix:
      return absl::string_view(text_).substr(0, text_.size() - 1);  // keeps the dot
    case Kind::kAll:
      return {};
  }
  return {};
}

bool TopicPattern::Matches(absl::string_view topic) const noexcept {
  switch (kind_) {
    case Kind::kExact:
      return topic == text_;
    case Kind::kPrefix: {
      const absl::string_view dotted = stem();
      return topic.size() > dotted.size() && absl::StartsWith(topic, dotted);
    }
    case Kind::kAll:
      return true;
  }
  return false;
}

}  // namespace ringcast::server::security
