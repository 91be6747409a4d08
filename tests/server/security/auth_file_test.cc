#include "security/auth_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "security_test_support.h"

namespace ringcast::server::security {
namespace {

using testing::GoodAuthFile;
using ::testing::HasSubstr;
using testing::HexOf;
using testing::kWriterSubject;
using testing::kWriterToken;
using testing::PolicyOf;

// The INVALID_ARGUMENT message `json` is refused with (by the parser or by Policy::Create).
std::string RejectionOf(const nlohmann::json& json) {
  absl::StatusOr<std::shared_ptr<const Policy>> policy = PolicyOf(json);
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument) << json.dump(2);
  return std::string(policy.status().message());
}

std::string RejectionOfText(absl::string_view text) {
  absl::StatusOr<AuthFile> file = ParseAuthFile(text);
  EXPECT_EQ(file.status().code(), absl::StatusCode::kInvalidArgument) << text;
  return std::string(file.status().message());
}

TEST(AuthFileTest, ParsesEveryFieldOfAGoodFile) {
  absl::StatusOr<AuthFile> file = ParseAuthFile(GoodAuthFile().dump());
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_EQ(file->principals.size(), 3u);
  const PrincipalSpec& writer = file->principals[0];
  EXPECT_EQ(writer.name, "orders-writer");
  ASSERT_EQ(writer.token_digests.size(), 1u);
  EXPECT_EQ(TokenDigestHex(writer.token_digests[0]), HexOf(kWriterToken));
  EXPECT_THAT(writer.certificate_subjects, ::testing::ElementsAre(std::string(kWriterSubject)));
  ASSERT_EQ(writer.allow.publish.size(), 1u);
  EXPECT_EQ(writer.allow.publish[0].text(), "orders.*");
  EXPECT_EQ(writer.allow.subscribe.size(), 1u);
  EXPECT_TRUE(writer.allow.admin.empty());
  ASSERT_EQ(writer.deny.publish.size(), 1u);
  EXPECT_EQ(writer.deny.publish[0].text(), "orders.audit");
}

TEST(AuthFileTest, AcceptsAFileWithoutPrincipalsOrVersion) {
  absl::StatusOr<AuthFile> file = ParseAuthFile(R"({"principals": []})");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_TRUE(file->principals.empty());
}

TEST(AuthFileTest, AcceptsUpperCaseHexDigests) {
  nlohmann::json json = GoodAuthFile();
  std::string hex = HexOf(kWriterToken);
  for (char& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  json["principals"][0]["tokens_sha256"][0] = hex;
  absl::StatusOr<AuthFile> file = ParseAuthFile(json.dump());
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(TokenDigestHex(file->principals[0].token_digests[0]), HexOf(kWriterToken));
}

TEST(AuthFileTest, RejectsMalformedJsonSayingWhere) {
  EXPECT_THAT(RejectionOfText(R"({"principals": [)"), HasSubstr("not valid JSON"));
  EXPECT_THAT(RejectionOfText(R"({"principals": []} trailing)"), HasSubstr("not valid JSON"));
  EXPECT_THAT(RejectionOfText(""), HasSubstr("not valid JSON"));
}

TEST(AuthFileTest, RejectsATopLevelThatIsNotAnObjectWithPrincipals) {
  EXPECT_THAT(RejectionOfText("[]"), HasSubstr("top level must be a JSON object"));
  EXPECT_THAT(RejectionOfText("{}"), HasSubstr("\"principals\" array"));
  EXPECT_THAT(RejectionOfText(R"({"principals": {}})"), HasSubstr("\"principals\" array"));
  EXPECT_THAT(RejectionOfText(R"({"version": 2, "principals": []})"), HasSubstr("\"version\""));
}

TEST(AuthFileTest, RejectsUnknownFieldsNamingThemAndThePrincipal) {
  nlohmann::json top = GoodAuthFile();
  top["principal"] = nlohmann::json::array();
  EXPECT_THAT(RejectionOf(top), HasSubstr("unknown field \"principal\""));

  nlohmann::json principal = GoodAuthFile();
  principal["principals"][0]["denny"] = nlohmann::json::object();
  EXPECT_THAT(RejectionOf(principal),
              HasSubstr("principal \"orders-writer\": unknown field \"denny\""));

  nlohmann::json right = GoodAuthFile();
  right["principals"][1]["allow"]["subcribe"] = {"x"};
  EXPECT_THAT(RejectionOf(right), HasSubstr("principal \"orders-reader\": \"allow\": unknown "
                                            "field \"subcribe\""));
}

TEST(AuthFileTest, RejectsAFieldRepeatedInOneObject) {
  const std::string text = R"({"principals": [{"name": "a", "tokens_sha256": [], )"
                           R"("deny": {"publish": ["x"]}, "deny": {}}]})";
  EXPECT_THAT(RejectionOfText(text), HasSubstr("\"deny\" appears twice"));
}

TEST(AuthFileTest, RejectsAPrincipalWithoutAUsableName) {
  nlohmann::json missing = GoodAuthFile();
  missing["principals"][1].erase("name");
  EXPECT_THAT(RejectionOf(missing), HasSubstr("principals[1]: needs a \"name\" string"));

  nlohmann::json empty = GoodAuthFile();
  empty["principals"][1]["name"] = "";
  EXPECT_THAT(RejectionOf(empty), HasSubstr("principals[1]: \"name\" must be 1 to 128"));

  nlohmann::json spaced = GoodAuthFile();
  spaced["principals"][1]["name"] = "orders reader";
  EXPECT_THAT(RejectionOf(spaced), HasSubstr("printable ASCII without spaces"));

  nlohmann::json number = GoodAuthFile();
  number["principals"][1]["name"] = 7;
  EXPECT_THAT(RejectionOf(number), HasSubstr("principals[1]: needs a \"name\" string"));
}

TEST(AuthFileTest, RejectsATokenHashThatIsNot64HexCharactersWithoutQuotingIt) {
  for (const std::string& bad :
       {std::string(kWriterToken) + "0", std::string(63, 'a'), std::string(64, 'g'),
        std::string("sha256:") + HexOf(kWriterToken)}) {
    nlohmann::json json = GoodAuthFile();
    json["principals"][0]["tokens_sha256"][0] = bad;
    const std::string message = RejectionOf(json);
    EXPECT_THAT(message, HasSubstr("principal \"orders-writer\": tokens_sha256[0] is not 64 hex"));
    EXPECT_THAT(message, ::testing::Not(HasSubstr(bad)));
  }
}

TEST(AuthFileTest, RejectsFieldsOfTheWrongType) {
  nlohmann::json tokens = GoodAuthFile();
  tokens["principals"][0]["tokens_sha256"] = HexOf(kWriterToken);  // a string, not an array
  EXPECT_THAT(RejectionOf(tokens), HasSubstr("\"tokens_sha256\" must be an array of strings"));

  nlohmann::json subjects = GoodAuthFile();
  subjects["principals"][0]["certificate_subjects"] = {1};
  EXPECT_THAT(RejectionOf(subjects),
              HasSubstr("\"certificate_subjects\" must be an array of strings"));

  nlohmann::json allow = GoodAuthFile();
  allow["principals"][0]["allow"] = {"orders.*"};
  EXPECT_THAT(RejectionOf(allow), HasSubstr("\"allow\": must be an object"));
}

TEST(AuthFileTest, RejectsAnInvalidPatternNamingPrincipalRightAndPattern) {
  nlohmann::json json = GoodAuthFile();
  json["principals"][1]["allow"]["subscribe"] = {"orders.*", "audit*"};
  const std::string message = RejectionOf(json);
  EXPECT_THAT(message, HasSubstr("principal \"orders-reader\": \"allow\": \"subscribe\""));
  EXPECT_THAT(message, HasSubstr("\"audit*\""));

  nlohmann::json deny = GoodAuthFile();
  deny["principals"][0]["deny"]["admin"] = {"orders/x"};
  EXPECT_THAT(RejectionOf(deny), HasSubstr("\"deny\": \"admin\": topic pattern \"orders/x\""));
}

TEST(AuthFileTest, RejectsAnEmptyOrControlCharacterSubject) {
  nlohmann::json empty = GoodAuthFile();
  empty["principals"][0]["certificate_subjects"] = {""};
  EXPECT_THAT(RejectionOf(empty), HasSubstr("certificate_subjects[0] must be 1 to 1024"));

  nlohmann::json control = GoodAuthFile();
  control["principals"][0]["certificate_subjects"] = {"CN=a\nO=b"};
  EXPECT_THAT(RejectionOf(control), HasSubstr("control character"));
}

TEST(AuthFileTest, RejectsDuplicatePrincipalNames) {
  nlohmann::json json = GoodAuthFile();
  json["principals"][2]["name"] = "orders-reader";
  EXPECT_THAT(RejectionOf(json), HasSubstr("two principals are named \"orders-reader\""));
}

TEST(AuthFileTest, RejectsATokenHashClaimedByTwoPrincipals) {
  nlohmann::json json = GoodAuthFile();
  json["principals"][2]["tokens_sha256"].push_back(HexOf(kWriterToken));
  EXPECT_THAT(RejectionOf(json),
              HasSubstr("principals \"orders-writer\" and \"operator\" claim the same token hash"));
}

TEST(AuthFileTest, RejectsACertificateSubjectClaimedByTwoPrincipals) {
  nlohmann::json json = GoodAuthFile();
  json["principals"][1]["certificate_subjects"] = {kWriterSubject};
  EXPECT_THAT(RejectionOf(json), HasSubstr("principals \"orders-writer\" and \"orders-reader\" "
                                           "claim the same certificate subject"));
}

TEST(AuthFileTest, RejectsAPrincipalNobodyCanAuthenticateAs) {
  nlohmann::json json = GoodAuthFile();
  json["principals"][1]["tokens_sha256"] = nlohmann::json::array();
  EXPECT_THAT(RejectionOf(json),
              HasSubstr("principal \"orders-reader\" has neither tokens_sha256 nor "
                        "certificate_subjects"));
}

TEST(AuthFileTest, ReadingAMissingFileIsNotFoundNamingThePath) {
  testing::TempDir dir;
  absl::StatusOr<AuthFile> file = ReadAuthFile(dir.Sub("absent.json"));
  EXPECT_EQ(file.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(file.status().message(), HasSubstr("absent.json"));
}

TEST(AuthFileTest, ErrorsOfAFileOnDiskNameThePath) {
  testing::TempDir dir;
  const std::string path = dir.Sub("auth.json");
  testing::WriteFileAtomically(path, R"({"principals": [{"name": ""}]})");
  absl::StatusOr<std::shared_ptr<const Policy>> policy = Policy::Load(path);
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(policy.status().message(), HasSubstr(path + ": auth file: principals[0]"));
}

}  // namespace
}  // namespace ringcast::server::security
