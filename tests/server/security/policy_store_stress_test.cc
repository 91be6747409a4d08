// Readers authenticate and check rights against PolicyStore::Current() while another thread
// rewrites the auth file and reloads it, good files and bad ones in turn. Every snapshot a reader
// takes must be one whole version of the file, and versions never go backwards for a reader.
// Labelled stress (and security), so it runs under ThreadSanitizer.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "security/denial_log.h"
#include "security/policy_store.h"
#include "security_test_support.h"
#include "stress/stress_support.h"

namespace ringcast::server::security {
namespace {

using stress::FailureLog;
using stress::Scaled;
using stress::Watchdog;

constexpr absl::string_view kToken = "stress-token";

// Version `v`: the client may publish to v<v>.* except v<v>.deny.
std::string FileOfVersion(int v) {
  nlohmann::json json = {{"principals", nlohmann::json::array()}};
  json["principals"].push_back({{"name", "client"},
                                {"tokens_sha256", {testing::HexOf(kToken)}},
                                {"allow", {{"publish", {absl::StrCat("v", v, ".*")}}}},
                                {"deny", {{"publish", {absl::StrCat("v", v, ".deny")}}}}});
  return json.dump();
}

// The one version whose rights `principal` has, or -1 if it has none or several.
int VersionOf(const Principal& principal, int versions) {
  int found = -1;
  for (int v = 0; v < versions; ++v) {
    if (!principal.Allowed(Action::kPublish, absl::StrCat("v", v, ".x"))) continue;
    if (found != -1 || principal.Allowed(Action::kPublish, absl::StrCat("v", v, ".deny"))) {
      return -1;
    }
    found = v;
  }
  return found;
}

TEST(PolicyStoreStressTest, ReadersSeeWholeVersionsInOrderWhileAnotherThreadReloads) {
  Watchdog watchdog;
  testing::TempDir dir;
  const std::string path = dir.Sub("auth.json");
  testing::WriteFileAtomically(path, FileOfVersion(0));
  absl::StatusOr<std::unique_ptr<PolicyStore>> opened = PolicyStore::Open(path);
  ASSERT_TRUE(opened.ok()) << opened.status();
  PolicyStore& store = **opened;

  const int versions = static_cast<int>(Scaled(200, 20));
  std::atomic<bool> done{false};
  FailureLog failures;
  std::atomic<int64_t> checks{0};

  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      int last = 0;
      int64_t local_checks = 0;
      std::shared_ptr<const Principal> kept;  // a stream's principal, kept across reloads
      // Acquire; pairs with the release store after the last reload.
      while (!done.load(std::memory_order_acquire)) {
        const std::shared_ptr<const Policy> snapshot = store.Current();
        absl::StatusOr<std::shared_ptr<const Principal>> principal = snapshot->Authenticate(kToken);
        if (!principal.ok()) return failures.Record(principal.status().ToString());
        const int version = VersionOf(**principal, versions);
        if (version < last) {
          return failures.Record(absl::StrCat("version went back from ", last, " to ", version));
        }
        last = version;
        if (kept == nullptr || local_checks % 64 == 0) kept = *principal;
        if (VersionOf(*kept, versions) < 0) return failures.Record("a kept principal changed");
        ++local_checks;
      }
      checks.fetch_add(local_checks, std::memory_order_relaxed);  // read after join
    });
  }

  int rejected = 0;
  for (int v = 1; v < versions; ++v) {
    if (v % 3 == 0) {  // a broken edit first: the store must keep version v - 1
      testing::WriteFileAtomically(path, R"({"principals": [{"name": "client"}]})");
      rejected += !store.Reload().ok();
    }
    testing::WriteFileAtomically(path, FileOfVersion(v));
    const absl::Status reload = store.Reload();
    if (!reload.ok()) failures.Record(reload.ToString());
  }
  done.store(true, std::memory_order_release);  // pairs with the readers' acquire loads
  for (std::thread& t : readers) t.join();

  EXPECT_EQ(failures.count(), 0) << failures.Summary();
  EXPECT_EQ(rejected, (versions - 1) / 3);
  EXPECT_EQ(VersionOf(**store.Current()->Authenticate(kToken), versions), versions - 1);
  EXPECT_GT(checks.load(std::memory_order_relaxed), 0);
}

TEST(DenialLogStressTest, ThreadsDenyingManyKeysAtOnceKeepTheTableBounded) {
  Watchdog watchdog;
  DenialLog log({.interval = absl::Milliseconds(1), .max_keys = 64});
  const int per_thread = static_cast<int>(Scaled(50'000, 5'000));
  std::atomic<int64_t> lines{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      int64_t local_lines = 0;
      for (int i = 0; i < per_thread; ++i) {
        const std::string key = i % 2 == 0 ? std::string("shared") : absl::StrCat(t, "-", i);
        local_lines += log.Record(key, absl::Now()).kind != DenialDecision::Kind::kSuppress;
      }
      lines.fetch_add(local_lines, std::memory_order_relaxed);  // read after join
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_LE(log.tracked_keys(), 64u);
  EXPECT_GT(lines.load(std::memory_order_relaxed), 0);
}

}  // namespace
}  // namespace ringcast::server::security
