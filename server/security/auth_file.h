// The auth file (`--auth_file`): who may connect and what each principal may do. JSON; the
// operator's reference is docs/security-auth-file.md.
//
//   {
//     "version": 1,                                   optional; 1 is the only version
//     "principals": [                                 required, may be empty (nobody gets in)
//       {
//         "name": "orders-writer",                    required, unique, 1-128 printable ASCII,
//                                                     no spaces
//         "tokens_sha256": ["<64 hex>", ...],         SHA-256 of each bearer token it may use
//         "certificate_subjects": ["CN=orders-writer,O=acme", ...],
//                                                     client certificate subjects (RFC 2253, as
//                                                     `openssl x509 -noout -subject
//                                                     -nameopt RFC2253` prints them)
//         "allow": {"publish": [...], "subscribe": [...], "admin": [...]},
//         "deny":  {"publish": [...], "subscribe": [...], "admin": [...]}
//       }
//     ]
//   }
//
// Every principal needs at least one token hash or certificate subject. Patterns are those of
// security/topic_pattern.h ("orders", "orders.*", "*"); a deny matching a topic wins over any
// allow. Unknown fields and repeated keys are rejected, so a misspelt "deny" cannot silently
// grant a right. A token hash or certificate subject belongs to one principal only.
//
// Thread safety: free functions without shared state; safe from any thread.
#ifndef RINGCAST_SERVER_SECURITY_AUTH_FILE_H_
#define RINGCAST_SERVER_SECURITY_AUTH_FILE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "security/action.h"
#include "security/token_hash.h"
#include "security/topic_pattern.h"

namespace ringcast::server::security {

// The patterns of one "allow" or "deny" object.
struct RightsSpec {
  std::vector<TopicPattern> publish;
  std::vector<TopicPattern> subscribe;
  std::vector<TopicPattern> admin;

  [[nodiscard]] const std::vector<TopicPattern>& For(Action action) const;
  [[nodiscard]] std::vector<TopicPattern>& For(Action action);
};

// One entry of "principals", with its fields parsed (digests as bytes, patterns parsed).
struct PrincipalSpec {
  std::string name;
  std::vector<TokenDigest> token_digests;
  std::vector<std::string> certificate_subjects;
  RightsSpec allow;
  RightsSpec deny;
};

struct AuthFile {
  std::vector<PrincipalSpec> principals;
};

// The largest auth file read (a file of thousands of principals is far smaller).
inline constexpr std::size_t kMaxAuthFileBytes = 16 << 20;

// Parses and validates the fields of `json`. INVALID_ARGUMENT naming the principal and field
// (malformed JSON with its byte offset, an unknown or repeated field, a wrong type, a bad name,
// token hash, subject or pattern). Checks across principals (unique names, hashes, subjects) are
// Policy::Create's.
absl::StatusOr<AuthFile> ParseAuthFile(absl::string_view json);

// Reads `path` (at most kMaxAuthFileBytes) and parses it. Errors name the path: NOT_FOUND or
// PERMISSION_DENIED or FAILED_PRECONDITION when it cannot be read, ParseAuthFile's otherwise.
absl::StatusOr<AuthFile> ReadAuthFile(const std::string& path);

}  // namespace ringcast::server::security

#endif  // RINGCAST_SERVER_SECURITY_AUTH_FILE_H_
