// TopicAdmin against a real server: each call's result, and the server's codes and messages.
#include "ringcast/client/topic_admin.h"

#include "absl/strings/match.h"
#include "client_test_support.h"
#include "gtest/gtest.h"

namespace ringcast::testing {
namespace {

using client::TopicAdmin;

TEST(TopicAdminTest, CreatesGetsListsAndDeletes) {
  TestServer server;
  TopicAdmin admin(ClientChannel(server.port()));
  const absl::StatusOr<v1::Topic> created = admin.Create("orders", 256);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->capacity(), 256u);
  ASSERT_TRUE(admin.Create("audit").ok());
  EXPECT_EQ(admin.Get("audit")->capacity(), 1024u);  // the server's default
  const absl::StatusOr<std::vector<v1::Topic>> listed = admin.List();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].name(), "audit");
  EXPECT_EQ((*listed)[1].name(), "orders");
  EXPECT_TRUE(admin.Delete("orders").ok());
  EXPECT_EQ(admin.List()->size(), 1u);
}

TEST(TopicAdminTest, ErrorsCarryTheServersCodeAndMessage) {
  TestServer server;
  TopicAdmin admin(ClientChannel(server.port()));
  ASSERT_TRUE(admin.Create("t").ok());
  const absl::Status exists = admin.Create("t").status();
  EXPECT_EQ(exists.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(absl::StrContains(exists.message(), "\"t\"")) << exists;
  EXPECT_EQ(admin.Create("t2", 1000).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(admin.Create("bad name").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(admin.Get("missing").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(admin.Delete("missing").code(), absl::StatusCode::kNotFound);
}

TEST(TopicAdminTest, AnUnreachableServerIsUnavailable) {
  int port = 0;
  {
    TestServer gone;
    port = gone.port();
  }
  TopicAdmin admin(ClientChannel(port), absl::Seconds(2));
  EXPECT_EQ(admin.List().status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace ringcast::testing
