#include "security/policy_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "security_test_support.h"

namespace ringcast::server::security {
namespace {

using testing::GoodAuthFile;
using ::testing::HasSubstr;
using testing::kReaderToken;
using testing::kWriterToken;
using testing::TempDir;
using testing::WriteFileAtomically;

class PolicyStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<PolicyStore> OpenGood() {
    WriteFileAtomically(path_, GoodAuthFile().dump(2));
    absl::StatusOr<std::unique_ptr<PolicyStore>> store = PolicyStore::Open(path_);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  TempDir dir_;
  const std::string path_ = dir_.Sub("auth.json");
};

TEST_F(PolicyStoreTest, OpeningABadFileFailsNamingIt) {
  WriteFileAtomically(path_, "{");
  absl::StatusOr<std::unique_ptr<PolicyStore>> store = PolicyStore::Open(path_);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(store.status().message(), HasSubstr(path_));
}

TEST_F(PolicyStoreTest, ReloadKeepsTheOldPolicyWhenTheNewFileIsBad) {
  std::unique_ptr<PolicyStore> store = OpenGood();
  const std::shared_ptr<const Policy> before = store->Current();

  WriteFileAtomically(path_, R"({"principals": [{"name": "x", "tokens_sha256": ["abc"]}]})");
  const absl::Status reload = store->Reload();
  EXPECT_EQ(reload.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(reload.message(), HasSubstr("principal \"x\": tokens_sha256[0]"));
  EXPECT_EQ(store->Current(), before);
  EXPECT_TRUE(store->Current()->Authenticate(kWriterToken).ok());
}

TEST_F(PolicyStoreTest, ReloadKeepsTheOldPolicyWhenTheFileIsGone) {
  std::unique_ptr<PolicyStore> store = OpenGood();
  const std::shared_ptr<const Policy> before = store->Current();
  std::filesystem::remove(path_);
  EXPECT_EQ(store->Reload().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->Current(), before);
}

TEST_F(PolicyStoreTest, ReloadSwapsInAGoodFileForNewCallsOnly) {
  std::unique_ptr<PolicyStore> store = OpenGood();
  const std::shared_ptr<const Principal> writer_before =
      *store->Current()->Authenticate(kWriterToken);

  // The writer's token is revoked and the reader may now publish to orders.*.
  nlohmann::json json = GoodAuthFile();
  json["principals"][0]["tokens_sha256"] = nlohmann::json::array();
  json["principals"][1]["allow"]["publish"] = {"orders.*"};
  WriteFileAtomically(path_, json.dump());
  ASSERT_TRUE(store->Reload().ok());

  EXPECT_EQ(store->Current()->Authenticate(kWriterToken).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(
      (*store->Current()->Authenticate(kReaderToken))->Allowed(Action::kPublish, "orders.eu"));
  // A call that authenticated before the reload keeps the rights it started with.
  EXPECT_TRUE(writer_before->Allowed(Action::kPublish, "orders.eu"));
}

TEST_F(PolicyStoreTest, ReplaceMakesAPolicyCurrent) {
  std::unique_ptr<PolicyStore> store = OpenGood();
  absl::StatusOr<std::shared_ptr<const Policy>> empty = Policy::Create(AuthFile{});
  ASSERT_TRUE(empty.ok());
  store->Replace(*empty);
  EXPECT_EQ(store->Current(), *empty);
  EXPECT_EQ(store->Current()->size(), 0u);
}

}  // namespace
}  // namespace ringcast::server::security
