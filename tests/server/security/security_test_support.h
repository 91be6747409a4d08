// Helpers for the security tests: a temporary directory, an auth file as a JSON document the tests
// edit field by field, and policies built from such documents.
#ifndef RINGCAST_TESTS_SERVER_SECURITY_SECURITY_TEST_SUPPORT_H_
#define RINGCAST_TESTS_SERVER_SECURITY_SECURITY_TEST_SUPPORT_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <system_error>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "security/auth_file.h"
#include "security/policy.h"
#include "security/token_hash.h"

namespace ringcast::server::security::testing {

// The tokens of the principals of GoodAuthFile.
inline constexpr absl::string_view kWriterToken =
    "3c1f0e9a6b2d47d5a8e4f61b09c7d2e35f8a1b6c4d7e9f0a2b3c5d6e7f8091a2";
inline constexpr absl::string_view kReaderToken =
    "9f8e7d6c5b4a39281706f5e4d3c2b1a0ffeeddccbbaa99887766554433221100";
inline constexpr absl::string_view kAdminToken = "admin-token-for-tests-only";
inline constexpr absl::string_view kWriterSubject = "CN=orders-writer,O=ringcast-test";

inline std::string HexOf(absl::string_view token) {
  absl::StatusOr<std::string> hex = HashTokenHex(token);
  EXPECT_TRUE(hex.ok()) << hex.status();
  return hex.ok() ? *hex : std::string();
}

// Three principals: a writer of orders.* that may not publish to orders.audit (by token or by
// certificate), a reader of orders.* and audit, and an administrator of every topic.
inline nlohmann::json GoodAuthFile() {
  return nlohmann::json::parse(R"({
    "version": 1,
    "principals": [
      {"name": "orders-writer",
       "tokens_sha256": [")" + HexOf(kWriterToken) +
                               R"("],
       "certificate_subjects": [")" +
                               std::string(kWriterSubject) + R"("],
       "allow": {"publish": ["orders.*"], "subscribe": ["orders.*"]},
       "deny": {"publish": ["orders.audit"]}},
      {"name": "orders-reader",
       "tokens_sha256": [")" + HexOf(kReaderToken) +
                               R"("],
       "allow": {"subscribe": ["orders.*", "audit"]}},
      {"name": "operator",
       "tokens_sha256": [")" + HexOf(kAdminToken) +
                               R"("],
       "allow": {"admin": ["*"]}}
    ]
  })");
}

// Policy::Create(ParseAuthFile(json)): the status of the first step that fails.
inline absl::StatusOr<std::shared_ptr<const Policy>> PolicyOf(const nlohmann::json& json) {
  absl::StatusOr<AuthFile> file = ParseAuthFile(json.dump());
  if (!file.ok()) return file.status();
  return Policy::Create(*file);
}

// A fresh directory under ::testing::TempDir(), removed with everything in it when destroyed.
class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "ringcast_security_XXXXXX";
    EXPECT_NE(::mkdtemp(pattern.data()), nullptr) << "mkdtemp " << pattern;
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Replaces `path` with `text` atomically (a rename), as an operator's editor or config management
// would, so a concurrent reader sees the old file or the new one.
inline void WriteFileAtomically(const std::string& path, absl::string_view text) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    ASSERT_TRUE(out.good()) << "writing " << temporary;
  }
  std::filesystem::rename(temporary, path);
}

}  // namespace ringcast::server::security::testing

#endif  // RINGCAST_TESTS_SERVER_SECURITY_SECURITY_TEST_SUPPORT_H_
