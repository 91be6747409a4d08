#include "security/topic_pattern.h"

#include <gtest/gtest.h>

#include <string>

#include "topic/topic_registry.h"

namespace ringcast::server::security {
namespace {

TopicPattern Parsed(absl::string_view text) {
  absl::StatusOr<TopicPattern> pattern = TopicPattern::Parse(text);
  EXPECT_TRUE(pattern.ok()) << text << ": " << pattern.status();
  return pattern.ok() ? *pattern : *TopicPattern::Parse("*");
}

TEST(TopicPatternTest, ExactNameMatchesOnlyItself) {
  const TopicPattern orders = Parsed("orders");
  EXPECT_EQ(orders.kind(), TopicPattern::Kind::kExact);
  EXPECT_TRUE(orders.Matches("orders"));
  EXPECT_FALSE(orders.Matches("orders.eu"));
  EXPECT_FALSE(orders.Matches("order"));
  EXPECT_FALSE(orders.Matches("Orders"));
}

TEST(TopicPatternTest, PrefixMatchesNamesBelowItAtAnyDepth) {
  const TopicPattern orders = Parsed("orders.*");
  EXPECT_EQ(orders.kind(), TopicPattern::Kind::kPrefix);
  EXPECT_EQ(orders.stem(), "orders.");
  EXPECT_TRUE(orders.Matches("orders.eu"));
  EXPECT_TRUE(orders.Matches("orders.a.b"));
  EXPECT_TRUE(orders.Matches("orders.x"));
  EXPECT_TRUE(orders.Matches("orders.."));
}

TEST(TopicPatternTest, PrefixDoesNotMatchItsOwnNameNorANameThatOnlyStartsLikeIt) {
  const TopicPattern orders = Parsed("orders.*");
  EXPECT_FALSE(orders.Matches("orders"));
  EXPECT_FALSE(orders.Matches("orders."));
  EXPECT_FALSE(orders.Matches("ordersX.y"));
  EXPECT_FALSE(orders.Matches("xorders.y"));
}

TEST(TopicPatternTest, StarMatchesEveryName) {
  const TopicPattern all = Parsed("*");
  EXPECT_EQ(all.kind(), TopicPattern::Kind::kAll);
  EXPECT_TRUE(all.Matches("orders"));
  EXPECT_TRUE(all.Matches("."));
  EXPECT_TRUE(all.Matches(std::string(249, 'z')));
}

TEST(TopicPatternTest, DotAndDotDotAreTopicNamesAndPrefixes) {
  EXPECT_TRUE(Parsed(".").Matches("."));
  EXPECT_FALSE(Parsed(".").Matches(".."));
  EXPECT_TRUE(Parsed("..").Matches(".."));
  const TopicPattern dot = Parsed("..*");  // the prefix "."
  EXPECT_EQ(dot.stem(), "..");
  EXPECT_TRUE(dot.Matches("..x"));
  EXPECT_TRUE(dot.Matches("..."));
  EXPECT_FALSE(dot.Matches(".."));
  EXPECT_FALSE(dot.Matches(".x"));
}

TEST(TopicPatternTest, RejectsWildcardsAnywhereButTheEnd) {
  for (const absl::string_view text :
       {"orders*", "*.created", "a.*.b", "**", "orders.**", "orders.*.*", ".*", "*orders"}) {
    absl::StatusOr<TopicPattern> pattern = TopicPattern::Parse(text);
    EXPECT_EQ(pattern.status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
}

TEST(TopicPatternTest, RejectsWhatIsNotATopicName) {
  for (const absl::string_view text : {"", "orders/eu", "orders eu", "é", "orders.\n"}) {
    absl::StatusOr<TopicPattern> pattern = TopicPattern::Parse(text);
    EXPECT_EQ(pattern.status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
  EXPECT_TRUE(TopicPattern::Parse(std::string(249, 'a')).ok());
  EXPECT_FALSE(TopicPattern::Parse(std::string(250, 'a')).ok());
}

TEST(TopicPatternTest, RejectsAPrefixTooLongToMatchAnyName) {
  EXPECT_TRUE(TopicPattern::Parse(std::string(247, 'a') + ".*").ok());  // matches 249-byte names
  EXPECT_FALSE(TopicPattern::Parse(std::string(248, 'a') + ".*").ok());
}

TEST(TopicPatternTest, ErrorNamesThePattern) {
  absl::StatusOr<TopicPattern> pattern = TopicPattern::Parse("orders*");
  EXPECT_NE(pattern.status().message().find("\"orders*\""), absl::string_view::npos)
      << pattern.status();
}

TEST(TopicPatternTest, TopicNameRuleAgreesWithTheTopicRegistry) {
  for (const std::string& name :
       {std::string("orders"), std::string("."), std::string(".."), std::string("a-b_c.D9"),
        std::string(""), std::string("a b"), std::string("a*"), std::string("a/b"),
        std::string(249, 'x'), std::string(250, 'x'), std::string("\xc3\xa9")}) {
    EXPECT_EQ(IsTopicName(name), ValidateTopicName(name).ok()) << name;
  }
}

}  // namespace
}  // namespace ringcast::server::security
