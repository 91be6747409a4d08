// Policy: one auth file, compiled for the checks calls make. Immutable once created; a new file
// is a new Policy (PolicyStore swaps them).
//
//   Authenticate(token)             bearer token -> Principal, or UNAUTHENTICATED
//   AuthenticateCertificate(subj)   mTLS client certificate subject -> Principal, or
//                                   UNAUTHENTICATED
//   principal->Allowed(action, t)   deny wins: true iff an allow pattern of `action` matches `t`
//                                   and no deny pattern of `action` does
//   principal->MayListTopics()      ListTopics, which names no topic: allowed iff the principal
//                                   has at least one admin allow pattern; the caller then lists
//                                   only the topics with Allowed(kAdmin, name), the ones the
//                                   principal could describe with GetTopic. Principals without
//                                   admin rights get PERMISSION_DENIED, and nobody learns the
//                                   names of topics it has no right on.
//
// A Principal is handed out as a shared_ptr that keeps its whole Policy alive: a stream
// authenticates once, keeps its Principal, and checks every batch against the rights it had when
// it started (new rights apply to new calls). Allowed takes no lock, touches no shared counter and
// does not allocate: the principal's patterns of that action are compiled into prefixes and a hash
// set of names (CompiledPatterns; tests/server/security/policy_check_bench.cc measures it).
//
// Tokens are looked up by their SHA-256 (security/token_hash.h): the table holds digests only and
// compares them with CRYPTO_memcmp. The timing of that lookup depends on the digest of what the
// caller sent, which the caller cannot steer toward a stored digest, so it reveals no token.
//
// Thread safety: every const method of Policy and Principal is safe from any thread.
#ifndef RINGCAST_SERVER_SECURITY_POLICY_H_
#define RINGCAST_SERVER_SECURITY_POLICY_H_

#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "security/action.h"
#include "security/auth_file.h"
#include "security/token_hash.h"
#include "security/topic_pattern.h"

namespace ringcast::server::security {

// The topic patterns of one action of one principal, compiled for Matches. Prefixes covered by a
// shorter one and names covered by a prefix are dropped. Matches compares the topic with each
// prefix; with more than a few prefixes and a topic with fewer dots than prefixes, it looks up
// each dotted beginning of the topic ("a.", "a.b.") in a hash set instead: a cost bounded by the
// smaller of the two, whatever topic names a client sends.
class CompiledPatterns {
 public:
  CompiledPatterns() = default;
  explicit CompiledPatterns(const std::vector<TopicPattern>& patterns);

  // True if any pattern matches `topic`.
  [[nodiscard]] bool Matches(absl::string_view topic) const noexcept {
    if (all_) return true;
    if (!prefixes_.empty() && MatchesPrefix(topic)) return true;
    return !exact_.empty() && exact_.contains(topic);
  }

  [[nodiscard]] bool empty() const noexcept { return !all_ && prefixes_.empty() && exact_.empty(); }

 private:
  [[nodiscard]] bool MatchesPrefix(absl::string_view topic) const noexcept;

  bool all_ = false;                             // "*"
  std::vector<std::string> prefixes_;            // "orders." for "orders.*"
  absl::flat_hash_set<std::string> prefix_set_;  // the same, when there are many
  absl::flat_hash_set<std::string> exact_;       // names
};

class Principal {
 public:
  explicit Principal(const PrincipalSpec& spec);
  Principal(const Principal&) = delete;
  Principal& operator=(const Principal&) = delete;
  Principal(Principal&&) = default;
  Principal& operator=(Principal&&) = default;

  [[nodiscard]] const std::string& name() const noexcept { return name_; }

  // Deny wins. The caller has validated `topic` (IsTopicName) before asking.
  [[nodiscard]] bool Allowed(Action action, absl::string_view topic) const noexcept {
    const auto i = static_cast<std::size_t>(action);
    return !deny_[i].Matches(topic) && allow_[i].Matches(topic);
  }

  // ListTopics (see the top of this file).
  [[nodiscard]] bool MayListTopics() const noexcept {
    return !allow_[static_cast<std::size_t>(Action::kAdmin)].empty();
  }

 private:
  std::string name_;
  std::array<CompiledPatterns, kActions.size()> allow_;
  std::array<CompiledPatterns, kActions.size()> deny_;
};

// PERMISSION_DENIED: principal "orders-writer" may not publish to topic "payments".
absl::Status PermissionDenied(const Principal& principal, Action action, absl::string_view topic);

class Policy : public std::enable_shared_from_this<Policy> {
 public:
  // The longest bearer token hashed; longer ones are refused unhashed (no generated token is
  // anywhere near this long).
  static constexpr std::size_t kMaxTokenBytes = 1024;

  // Compiles `file`. INVALID_ARGUMENT naming both principals when a name, token hash or
  // certificate subject appears twice, or naming a principal with no token hash and no subject.
  static absl::StatusOr<std::shared_ptr<const Policy>> Create(const AuthFile& file);

  // ReadAuthFile(path), then Create. Errors name the path.
  static absl::StatusOr<std::shared_ptr<const Policy>> Load(const std::string& path);

  Policy(const Policy&) = delete;
  Policy& operator=(const Policy&) = delete;

  // The principal whose token hash is SHA-256(`token`). UNAUTHENTICATED for an empty token
  // ("missing bearer token") or an unknown one; the message never repeats the token.
  absl::StatusOr<std::shared_ptr<const Principal>> Authenticate(absl::string_view token) const;

  // The principal that lists `subject` (exact match, RFC 2253 form). UNAUTHENTICATED otherwise.
  absl::StatusOr<std::shared_ptr<const Principal>> AuthenticateCertificate(
      absl::string_view subject) const;

  // The principal named `name`, or nullptr (tests, tooling).
  [[nodiscard]] std::shared_ptr<const Principal> Find(absl::string_view name) const;

  [[nodiscard]] std::size_t size() const noexcept { return principals_.size(); }

 private:
  struct DigestHash {
    std::size_t operator()(const TokenDigest& digest) const noexcept;
  };
  struct DigestEq {
    bool operator()(const TokenDigest& a, const TokenDigest& b) const noexcept {
      return DigestsEqual(a, b);
    }
  };

  Policy() = default;
  [[nodiscard]] std::shared_ptr<const Principal> Share(std::size_t index) const;

  std::vector<Principal> principals_;
  absl::flat_hash_map<std::string, std::size_t> by_name_;
  absl::flat_hash_map<TokenDigest, std::size_t, DigestHash, DigestEq> by_token_digest_;
  absl::flat_hash_map<std::string, std::size_t> by_subject_;
};

}  // namespace ringcast::server::security

#endif  // RINGCAST_SERVER_SECURITY_POLICY_H_
