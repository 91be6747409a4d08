// TopicPattern: the topics a right applies to, as an operator writes them in the auth file.
//
//   "orders"    exactly the topic `orders`
//   "orders.*"  every topic whose name starts with `orders.` followed by at least one more
//               character, at any depth: `orders.eu`, `orders.eu.created`, `orders..`; not
//               `orders` itself, not `ordersX.y`. Like NATS's `orders.>`: topic names are flat
//               strings where dots are only a naming convention, so a right on a family of topics
//               should not stop at the first level and force operators to list every depth.
//   "*"         every topic
//
// The prefix of `prefix.*` is itself a valid topic name, so `..*` (prefix `.`) is valid and `.*`
// is not (use `*`). A wildcard anywhere else (`orders*`, `a.*.b`, `*.created`) is rejected.
//
// Thread safety: immutable after Parse; every const method is safe from any thread.
#ifndef RINGCAST_SERVER_SECURITY_TOPIC_PATTERN_H_
#define RINGCAST_SERVER_SECURITY_TOPIC_PATTERN_H_

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ringcast::server::security {

// True if `name` matches [A-Za-z0-9._-]{1,249}: the rule of ValidateTopicName
// (topic/topic_registry.h), which this component cannot depend on (it sits below topics, as
// storage does). tests/server/security/topic_pattern_test.cc checks that the two agree.
[[nodiscard]] bool IsTopicName(absl::string_view name) noexcept;

class TopicPattern {
 public:
  enum class Kind { kExact, kPrefix, kAll };

  // A pattern as written above; INVALID_ARGUMENT naming the pattern and what is wrong otherwise.
  static absl::StatusOr<TopicPattern> Parse(absl::string_view text);

  // True if the pattern covers `topic`. Does not validate `topic`: callers reject invalid names
  // (INVALID_ARGUMENT) before they ask about rights.
  [[nodiscard]] bool Matches(absl::string_view topic) const noexcept;

  [[nodiscard]] Kind kind() const noexcept { return kind_; }
  // The pattern as written ("orders.*").
  [[nodiscard]] const std::string& text() const noexcept { return text_; }
  // kExact: the name; kPrefix: the prefix with its dot ("orders."); kAll: empty.
  [[nodiscard]] absl::string_view stem() const noexcept;

  friend bool operator==(const TopicPattern& a, const TopicPattern& b) {
    return a.text_ == b.text_;
  }

 private:
  TopicPattern(Kind kind, std::string text) : kind_(kind), text_(std::move(text)) {}

  Kind kind_;
  std::string text_;
};

}  // namespace ringcast::server::security

#endif  // RINGCAST_SERVER_SECURITY_TOPIC_PATTERN_H_
