#include "security/policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "security_test_support.h"

namespace ringcast::server::security {
namespace {

using testing::GoodAuthFile;
using ::testing::HasSubstr;
using testing::kAdminToken;
using testing::kReaderToken;
using testing::kWriterSubject;
using testing::kWriterToken;
using ::testing::Not;
using testing::PolicyOf;

std::shared_ptr<const Policy> GoodPolicy() {
  absl::StatusOr<std::shared_ptr<const Policy>> policy = PolicyOf(GoodAuthFile());
  EXPECT_TRUE(policy.ok()) << policy.status();
  return policy.ok() ? *policy : nullptr;
}

std::shared_ptr<const Principal> PrincipalOf(const nlohmann::json& principal) {
  nlohmann::json json = {{"principals", {principal}}};
  json["principals"][0]["name"] = "p";
  json["principals"][0]["tokens_sha256"] = {testing::HexOf("p")};
  absl::StatusOr<std::shared_ptr<const Policy>> policy = PolicyOf(json);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return policy.ok() ? (*policy)->Find("p") : nullptr;
}

TEST(PolicyTest, TheRightTokenAuthenticatesItsPrincipal) {
  const std::shared_ptr<const Policy> policy = GoodPolicy();
  absl::StatusOr<std::shared_ptr<const Principal>> writer = policy->Authenticate(kWriterToken);
  ASSERT_TRUE(writer.ok()) << writer.status();
  EXPECT_EQ((*writer)->name(), "orders-writer");
  EXPECT_EQ((*policy->Authenticate(kReaderToken))->name(), "orders-reader");
  EXPECT_EQ((*policy->Authenticate(kAdminToken))->name(), "operator");
}

TEST(PolicyTest, AWrongTokenIsUnauthenticatedAndNotRepeated) {
  const std::shared_ptr<const Policy> policy = GoodPolicy();
  const std::string wrong = std::string(kWriterToken.substr(0, 63)) + "0";
  absl::StatusOr<std::shared_ptr<const Principal>> principal = policy->Authenticate(wrong);
  EXPECT_EQ(principal.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(principal.status().message(), Not(HasSubstr(wrong)));
}

TEST(PolicyTest, TheTokenHashItselfIsNotAToken) {
  const std::shared_ptr<const Policy> policy = GoodPolicy();
  EXPECT_EQ(policy->Authenticate(testing::HexOf(kWriterToken)).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(PolicyTest, AnEmptyTokenIsAMissingToken) {
  absl::StatusOr<std::shared_ptr<const Principal>> principal = GoodPolicy()->Authenticate("");
  EXPECT_EQ(principal.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(principal.status().message(), HasSubstr("missing"));
}

TEST(PolicyTest, AnOversizedTokenIsUnauthenticated) {
  EXPECT_EQ(
      GoodPolicy()->Authenticate(std::string(Policy::kMaxTokenBytes + 1, 'a')).status().code(),
      absl::StatusCode::kUnauthenticated);
}

TEST(PolicyTest, AListedCertificateSubjectAuthenticatesItsPrincipal) {
  const std::shared_ptr<const Policy> policy = GoodPolicy();
  absl::StatusOr<std::shared_ptr<const Principal>> writer =
      policy->AuthenticateCertificate(kWriterSubject);
  ASSERT_TRUE(writer.ok()) << writer.status();
  EXPECT_EQ((*writer)->name(), "orders-writer");
}

TEST(PolicyTest, AnUnlistedOrDifferentlyWrittenSubjectIsUnauthenticated) {
  const std::shared_ptr<const Policy> policy = GoodPolicy();
  for (const absl::string_view subject :
       {"CN=orders-reader,O=ringcast-test", "O=ringcast-test,CN=orders-writer", "CN=orders-writer",
        ""}) {
    EXPECT_EQ(policy->AuthenticateCertificate(subject).status().code(),
              absl::StatusCode::kUnauthenticated)
        << subject;
  }
}

TEST(PolicyTest, DenyWinsOverAnAllowThatAlsoMatches) {
  const std::shared_ptr<const Principal> writer = GoodPolicy()->Find("orders-writer");
  ASSERT_NE(writer, nullptr);
  EXPECT_TRUE(writer->Allowed(Action::kPublish, "orders.eu"));
  EXPECT_FALSE(writer->Allowed(Action::kPublish, "orders.audit"));
  // The deny is on publish only.
  EXPECT_TRUE(writer->Allowed(Action::kSubscribe, "orders.audit"));
}

TEST(PolicyTest, DenyOfAPrefixWinsOverAllowOfEverything) {
  const std::shared_ptr<const Principal> p = PrincipalOf(
      {{"allow", {{"publish", {"*"}}}}, {"deny", {{"publish", {"payments.*", "secret"}}}}});
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(p->Allowed(Action::kPublish, "orders"));
  EXPECT_TRUE(p->Allowed(Action::kPublish, "payments"));
  EXPECT_FALSE(p->Allowed(Action::kPublish, "payments.eu"));
  EXPECT_FALSE(p->Allowed(Action::kPublish, "secret"));
}

TEST(PolicyTest, NothingIsAllowedThatNoAllowPatternMatches) {
  const std::shared_ptr<const Principal> reader = GoodPolicy()->Find("orders-reader");
  ASSERT_NE(reader, nullptr);
  EXPECT_TRUE(reader->Allowed(Action::kSubscribe, "audit"));
  EXPECT_FALSE(reader->Allowed(Action::kSubscribe, "audit.x"));
  EXPECT_FALSE(reader->Allowed(Action::kSubscribe, "orders"));
  EXPECT_FALSE(reader->Allowed(Action::kPublish, "orders.eu"));
  EXPECT_FALSE(reader->Allowed(Action::kAdmin, "orders.eu"));
}

TEST(PolicyTest, OverlappingPatternsStillMatchEachName) {
  const std::shared_ptr<const Principal> p = PrincipalOf(
      {{"allow",
        {{"publish", {"orders.eu.*", "orders.*", "orders.eu.x", "orders", "orders.eu"}}}}});
  ASSERT_NE(p, nullptr);
  for (const absl::string_view topic :
       {"orders", "orders.eu", "orders.eu.x", "orders.eu.x.y", "orders.us"}) {
    EXPECT_TRUE(p->Allowed(Action::kPublish, topic)) << topic;
  }
  EXPECT_FALSE(p->Allowed(Action::kPublish, "ordersX"));
}

TEST(PolicyTest, ManyPrefixesMatchAsFewDo) {
  nlohmann::json allow = nlohmann::json::array();
  for (int i = 0; i < 40; ++i) allow.push_back(absl::StrCat("team", i, ".*"));
  allow.push_back("a.b.*");
  const std::shared_ptr<const Principal> p =
      PrincipalOf({{"allow", {{"publish", allow}}}, {"deny", {{"publish", {"team7.secret"}}}}});
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(p->Allowed(Action::kPublish, "team0.x"));
  EXPECT_TRUE(p->Allowed(Action::kPublish, "team39.x.y.z"));
  EXPECT_TRUE(p->Allowed(Action::kPublish, "a.b.c"));
  EXPECT_TRUE(p->Allowed(Action::kPublish, "team1.."));
  EXPECT_FALSE(p->Allowed(Action::kPublish, "team7.secret"));
  EXPECT_FALSE(p->Allowed(Action::kPublish, "team1."));
  EXPECT_FALSE(p->Allowed(Action::kPublish, "team40.x"));
  EXPECT_FALSE(p->Allowed(Action::kPublish, "a.b"));
  EXPECT_FALSE(p->Allowed(Action::kPublish, "a.c.b.x"));
  // More dots than prefixes: compared one by one instead.
  EXPECT_TRUE(p->Allowed(Action::kPublish, "team3." + std::string(60, '.')));
  EXPECT_FALSE(p->Allowed(Action::kPublish, std::string(60, '.')));
}

TEST(PolicyTest, ListingTopicsNeedsAnAdminPattern) {
  const std::shared_ptr<const Policy> policy = GoodPolicy();
  EXPECT_TRUE(policy->Find("operator")->MayListTopics());
  EXPECT_FALSE(policy->Find("orders-writer")->MayListTopics());
  const std::shared_ptr<const Principal> scoped =
      PrincipalOf({{"allow", {{"admin", {"orders.*"}}}}});
  EXPECT_TRUE(scoped->MayListTopics());
  EXPECT_TRUE(scoped->Allowed(Action::kAdmin, "orders.eu"));
  EXPECT_FALSE(scoped->Allowed(Action::kAdmin, "payments"));
}

TEST(PolicyTest, PermissionDeniedNamesPrincipalActionAndTopic) {
  const std::shared_ptr<const Principal> writer = GoodPolicy()->Find("orders-writer");
  const absl::Status publish = PermissionDenied(*writer, Action::kPublish, "orders.audit");
  EXPECT_EQ(publish.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(publish.message(),
            "principal \"orders-writer\" may not publish to topic \"orders.audit\"");
  EXPECT_THAT(PermissionDenied(*writer, Action::kAdmin, "").message(),
              HasSubstr("no admin right on any topic"));
}

TEST(PolicyTest, APrincipalKeepsItsPolicyAlive) {
  std::shared_ptr<const Principal> writer;
  {
    std::shared_ptr<const Policy> policy = GoodPolicy();
    writer = *policy->Authenticate(kWriterToken);
  }
  EXPECT_EQ(writer->name(), "orders-writer");
  EXPECT_TRUE(writer->Allowed(Action::kPublish, "orders.eu"));
}

TEST(PolicyTest, HashTokenHexIsTheSha256OfTheToken) {
  // echo -n abc | sha256sum
  EXPECT_EQ(*HashTokenHex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace ringcast::server::security
