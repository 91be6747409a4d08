#include "security/denial_log.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "observability/log.h"

namespace ringcast::server::security {
namespace {

using Kind = DenialDecision::Kind;

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'000);

TEST(DenialLogTest, LogsTheFirstDenialOfAKey) {
  DenialLog log;
  const DenialDecision decision = log.Record("orders-writer", kStart);
  EXPECT_EQ(decision.kind, Kind::kLog);
  EXPECT_EQ(decision.suppressed, 0);
}

TEST(DenialLogTest, LogsAKeyAtMostOncePerInterval) {
  DenialLog log({.interval = absl::Seconds(10), .max_keys = 16});
  ASSERT_EQ(log.Record("k", kStart).kind, Kind::kLog);
  for (int i = 1; i <= 99; ++i) {
    EXPECT_EQ(log.Record("k", kStart + absl::Milliseconds(i * 100 - 1)).kind, Kind::kSuppress);
  }
  EXPECT_EQ(log.Record("k", kStart + absl::Seconds(10) - absl::Nanoseconds(1)).kind,
            Kind::kSuppress);
}

TEST(DenialLogTest, TheNextLineOfAKeyCountsWhatWasSuppressed) {
  DenialLog log({.interval = absl::Seconds(10), .max_keys = 16});
  ASSERT_EQ(log.Record("k", kStart).kind, Kind::kLog);
  for (int i = 0; i < 41; ++i)
    ASSERT_EQ(log.Record("k", kStart + absl::Seconds(1)).kind, Kind::kSuppress);

  const DenialDecision next = log.Record("k", kStart + absl::Seconds(10));
  EXPECT_EQ(next.kind, Kind::kLog);
  EXPECT_EQ(next.suppressed, 41);
  const DenialDecision after = log.Record("k", kStart + absl::Seconds(20));
  EXPECT_EQ(after.kind, Kind::kLog);
  EXPECT_EQ(after.suppressed, 0);
}

TEST(DenialLogTest, KeysAreLimitedIndependently) {
  DenialLog log;
  EXPECT_EQ(log.Record("a", kStart).kind, Kind::kLog);
  EXPECT_EQ(log.Record("b", kStart).kind, Kind::kLog);
  EXPECT_EQ(log.Record("a", kStart).kind, Kind::kSuppress);
  EXPECT_EQ(log.Record("b", kStart).kind, Kind::kSuppress);
}

TEST(DenialLogTest, ManyDistinctKeysShareOneOverflowLinePerInterval) {
  DenialLog log({.interval = absl::Seconds(10), .max_keys = 4});
  for (int i = 0; i < 4; ++i) ASSERT_EQ(log.Record(absl::StrCat("k", i), kStart).kind, Kind::kLog);

  int overflow_lines = 0;
  for (int i = 4; i < 100'000; ++i) {
    const DenialDecision d = log.Record(absl::StrCat("k", i), kStart + absl::Seconds(1));
    EXPECT_NE(d.kind, Kind::kLog);
    overflow_lines += d.kind == Kind::kLogOverflow;
  }
  EXPECT_EQ(overflow_lines, 1);
  EXPECT_EQ(log.tracked_keys(), 4u);

  const DenialDecision next = log.Record("another", kStart + absl::Seconds(5));
  EXPECT_EQ(next.kind, Kind::kSuppress);
  const DenialDecision summary = log.Record("yet-another", kStart + absl::Seconds(11));
  // The table's keys expired at +10 s: the sweep makes room, so the newcomer is tracked again.
  EXPECT_EQ(summary.kind, Kind::kLog);
  EXPECT_LE(log.tracked_keys(), 4u);
}

TEST(DenialLogTest, SuppressedCountsOfSweptKeysAreReportedByTheOverflowLine) {
  DenialLog log({.interval = absl::Seconds(10), .max_keys = 1});
  ASSERT_EQ(log.Record("a", kStart).kind, Kind::kLog);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(log.Record("a", kStart).kind, Kind::kSuppress);
  ASSERT_EQ(log.Record("b", kStart).kind, Kind::kLogOverflow);              // no room yet
  ASSERT_EQ(log.Record("c", kStart).kind, Kind::kSuppress);                 // overflow counts 1
  ASSERT_EQ(log.Record("b", kStart + absl::Seconds(10)).kind, Kind::kLog);  // "a" swept
  const DenialDecision overflow = log.Record("c", kStart + absl::Seconds(10));
  EXPECT_EQ(overflow.kind, Kind::kLogOverflow);
  EXPECT_EQ(overflow.suppressed, 1 + 5);  // "c" once, and the five of "a"
}

TEST(DenialLogTest, LongKeysAreTruncatedToOneKey) {
  DenialLog log({.interval = absl::Seconds(10), .max_keys = 2});
  const std::string base(DenialLog::kMaxKeyBytes, 'x');
  EXPECT_EQ(log.Record(base + "1", kStart).kind, Kind::kLog);
  EXPECT_EQ(log.Record(base + "2", kStart).kind, Kind::kSuppress);
  EXPECT_EQ(log.tracked_keys(), 1u);
}

TEST(DenialLogTest, DeniedLogsThroughTheServerLog) {
  SetLogEnabled(false);
  DenialLog log;
  log.Denied("orders-writer", "may not publish to topic \"orders.audit\"");
  log.Denied("orders-writer", "may not publish to topic \"orders.audit\"");
  SetLogEnabled(true);
  EXPECT_EQ(log.tracked_keys(), 1u);
}

TEST(DenialLogTest, UnauthenticatedKeysNameTheClientWithoutItsPort) {
  EXPECT_EQ(UnauthenticatedKey("ipv4:10.0.0.7:53100"), "unauthenticated from ipv4:10.0.0.7");
  EXPECT_EQ(UnauthenticatedKey("ipv6:[::1]:53100"), "unauthenticated from ipv6:[::1]");
  EXPECT_EQ(UnauthenticatedKey("ipv6:[fe80::1%eth0]:1"),
            "unauthenticated from ipv6:[fe80::1%eth0]");
  EXPECT_EQ(UnauthenticatedKey("unix:/run/ringcast.sock"),
            "unauthenticated from unix:/run/ringcast.sock");
  EXPECT_EQ(UnauthenticatedKey("ipv4:"), "unauthenticated from ipv4:");
}

}  // namespace
}  // namespace ringcast::server::security
