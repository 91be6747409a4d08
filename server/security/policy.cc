#include "security/policy.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace ringcast::server::security {
namespace {

// Up to this many prefixes Matches compares each; beyond, it may use the hash set.
constexpr std::size_t kComparedPrefixes = 8;

absl::Status Duplicate(absl::string_view what, absl::string_view first, absl::string_view second) {
  if (first == second) {
    return absl::InvalidArgumentError(
        absl::StrCat("auth file: principal \"", first, "\" lists the same ", what, " twice"));
  }
  return absl::InvalidArgumentError(absl::StrCat("auth file: principals \"", first, "\" and \"",
                                                 second, "\" claim the same ", what,
                                                 "; each belongs to one principal"));
}

}  // namespace

CompiledPatterns::CompiledPatterns(const std::vector<TopicPattern>& patterns) {
  std::vector<std::string> prefixes;
  for (const TopicPattern& pattern : patterns) {
    if (pattern.kind() == TopicPattern::Kind::kAll) all_ = true;
    if (pattern.kind() == TopicPattern::Kind::kPrefix) prefixes.emplace_back(pattern.stem());
  }
  if (all_) return;
  // Shortest first, so a prefix covered by a shorter one ("orders.eu." by "orders.") is dropped.
  std::sort(prefixes.begin(), prefixes.end(),
            [](const std::string& a, const std::string& b) { return a.size() < b.size(); });
  prefixes.erase(std::unique(prefixes.begin(), prefixes.end()), prefixes.end());
  for (const std::string& prefix : prefixes) {
    if (!Matches(prefix)) prefixes_.push_back(prefix);
  }
  if (prefixes_.size() > kComparedPrefixes) {
    prefix_set_.insert(prefixes_.begin(), prefixes_.end());
  }
  for (const TopicPattern& pattern : patterns) {
    if (pattern.kind() == TopicPattern::Kind::kExact && !Matches(pattern.stem())) {
      exact_.emplace(pattern.stem());
    }
  }
}

bool CompiledPatterns::MatchesPrefix(absl::string_view topic) const noexcept {
  if (!prefix_set_.empty()) {
    // A prefix ends with a dot and must be followed by one more character, so only dots before
    // the last character count.
    const absl::string_view head = topic.substr(0, topic.empty() ? 0 : topic.size() - 1);
    if (static_cast<std::size_t>(std::count(head.begin(), head.end(), '.')) < prefixes_.size()) {
      for (std::size_t dot = head.find('.'); dot != absl::string_view::npos;
           dot = head.find('.', dot + 1)) {
        if (prefix_set_.contains(topic.substr(0, dot + 1))) return true;
      }
      return false;
    }
  }
  for (const std::string& dotted : prefixes_) {
    if (topic.size() > dotted.size() && absl::StartsWith(topic, dotted)) return true;
  }
  return false;
}

Principal::Principal(const PrincipalSpec& spec) : name_(spec.name) {
  for (const Action action : kActions) {
    const auto i = static_cast<std::size_t>(action);
    allow_[i] = CompiledPatterns(spec.allow.For(action));
    deny_[i] = CompiledPatterns(spec.deny.For(action));
  }
}

absl::Status PermissionDenied(const Principal& principal, Action action, absl::string_view topic) {
  switch (action) {
    case Action::kPublish:
      return absl::PermissionDeniedError(absl::StrCat(
          "principal \"", principal.name(), "\" may not publish to topic \"", topic, "\""));
    case Action::kSubscribe:
      return absl::PermissionDeniedError(absl::StrCat(
          "principal \"", principal.name(), "\" may not subscribe to topic \"", topic, "\""));
    case Action::kAdmin:
      break;
  }
  if (topic.empty()) {
    return absl::PermissionDeniedError(
        absl::StrCat("principal \"", principal.name(), "\" has no admin right on any topic"));
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "principal \"", principal.name(), "\" has no admin right on topic \"", topic, "\""));
}

std::size_t Policy::DigestHash::operator()(const TokenDigest& digest) const noexcept {
  // A SHA-256 digest is uniformly distributed already.
  std::size_t hash;
  std::memcpy(&hash, digest.data(), sizeof(hash));
  return hash;
}

absl::StatusOr<std::shared_ptr<const Policy>> Policy::Create(const AuthFile& file) {
  std::shared_ptr<Policy> policy(new Policy());
  policy->principals_.reserve(file.principals.size());
  for (std::size_t i = 0; i < file.principals.size(); ++i) {
    const PrincipalSpec& spec = file.principals[i];
    if (spec.token_digests.empty() && spec.certificate_subjects.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("auth file: principal \"", spec.name,
                       "\" has neither tokens_sha256 nor certificate_subjects, so nobody can "
                       "authenticate as it"));
    }
    if (auto [it, inserted] = policy->by_name_.try_emplace(spec.name, i); !inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat("auth file: two principals are named \"", spec.name, "\""));
    }
    for (const TokenDigest& digest : spec.token_digests) {
      if (auto [it, inserted] = policy->by_token_digest_.try_emplace(digest, i); !inserted) {
        return Duplicate(absl::StrCat("token hash ", TokenDigestHex(digest).substr(0, 12), "..."),
                         file.principals[it->second].name, spec.name);
      }
    }
    for (const std::string& subject : spec.certificate_subjects) {
      if (auto [it, inserted] = policy->by_subject_.try_emplace(subject, i); !inserted) {
        return Duplicate(absl::StrCat("certificate subject \"", subject, "\""),
                         file.principals[it->second].name, spec.name);
      }
    }
    policy->principals_.emplace_back(spec);
  }
  return policy;
}

absl::StatusOr<std::shared_ptr<const Policy>> Policy::Load(const std::string& path) {
  absl::StatusOr<AuthFile> file = ReadAuthFile(path);
  if (!file.ok()) return file.status();
  absl::StatusOr<std::shared_ptr<const Policy>> policy = Create(*file);
  if (!policy.ok()) {
    return absl::Status(policy.status().code(),
                        absl::StrCat(path, ": ", policy.status().message()));
  }
  return policy;
}

absl::StatusOr<std::shared_ptr<const Principal>> Policy::Authenticate(
    absl::string_view token) const {
  if (token.empty()) return absl::UnauthenticatedError("missing bearer token");
  if (token.size() > kMaxTokenBytes) return absl::UnauthenticatedError("unknown bearer token");
  absl::StatusOr<TokenDigest> digest = HashToken(token);
  if (!digest.ok()) return digest.status();
  const auto it = by_token_digest_.find(*digest);
  if (it == by_token_digest_.end()) return absl::UnauthenticatedError("unknown bearer token");
  return Share(it->second);
}

absl::StatusOr<std::shared_ptr<const Principal>> Policy::AuthenticateCertificate(
    absl::string_view subject) const {
  if (subject.empty()) return absl::UnauthenticatedError("no client certificate subject");
  const auto it = by_subject_.find(subject);
  if (it == by_subject_.end()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "client certificate subject \"", absl::CHexEscape(subject), "\" is not in the auth file"));
  }
  return Share(it->second);
}

std::shared_ptr<const Principal> Policy::Find(absl::string_view name) const {
  const auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : Share(it->second);
}

std::shared_ptr<const Principal> Policy::Share(std::size_t index) const {
  // Aliasing: the principal lives as long as anyone holds it, and its policy with it.
  return std::shared_ptr<const Principal>(shared_from_this(), &principals_[index]);
}

}  // namespace ringcast::server::security
