// The cost of the per-batch publish check, Principal::Allowed, and of authenticating a call.
//
// Target: the check runs once per publish batch; at ~3 M events/s in batches of 100 that is 30 000
// checks/s, so staying under 2% of ingest leaves ~660 ns per check. Each case below is one
// principal and one topic, named by what the principal's patterns look like:
//   Typical        allow orders.*, deny orders.audit (the auth file reference's example)
//   ManyPatterns/n n exact names and n prefixes allowed, n of each denied; the topic matches the
//                  last allow prefix, so every deny and allow prefix is compared
//   Denied         the deny pattern matches (deny wins)
// Run: build/bin/ringcast-security-bench --benchmark_repetitions=10
//        --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "security/auth_file.h"
#include "security/policy.h"

namespace ringcast::server::security {
namespace {

std::shared_ptr<const Policy> PolicyOf(const nlohmann::json& principal) {
  nlohmann::json json = {{"principals", {principal}}};
  json["principals"][0]["name"] = "bench";
  json["principals"][0]["tokens_sha256"] = {*HashTokenHex("bench-token")};
  absl::StatusOr<AuthFile> file = ParseAuthFile(json.dump());
  if (!file.ok()) std::abort();
  absl::StatusOr<std::shared_ptr<const Policy>> policy = Policy::Create(*file);
  if (!policy.ok()) std::abort();
  return *policy;
}

nlohmann::json Typical() {
  return {{"allow", {{"publish", {"orders.*"}}}}, {"deny", {{"publish", {"orders.audit"}}}}};
}

void CheckPublish(benchmark::State& state, const Principal& principal, const std::string& topic,
                  bool expected) {
  for (auto _ : state) {
    const bool allowed = principal.Allowed(Action::kPublish, topic);
    benchmark::DoNotOptimize(allowed);
    if (allowed != expected) state.SkipWithError("unexpected answer");
  }
}

void BM_AllowedPublish_Typical(benchmark::State& state) {
  const std::shared_ptr<const Policy> policy = PolicyOf(Typical());
  CheckPublish(state, *policy->Find("bench"), "orders.eu.created", true);
}
BENCHMARK(BM_AllowedPublish_Typical);

void BM_AllowedPublish_Denied(benchmark::State& state) {
  const std::shared_ptr<const Policy> policy = PolicyOf(Typical());
  CheckPublish(state, *policy->Find("bench"), "orders.audit", false);
}
BENCHMARK(BM_AllowedPublish_Denied);

void BM_AllowedPublish_ManyPatterns(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  nlohmann::json allow = nlohmann::json::array();
  nlohmann::json deny = nlohmann::json::array();
  for (int i = 0; i < n; ++i) {
    allow.push_back(absl::StrCat("team", i, ".orders"));
    allow.push_back(absl::StrCat("team", i, ".*"));
    deny.push_back(absl::StrCat("team", i, ".secret"));
    deny.push_back(absl::StrCat("secret", i, ".*"));
  }
  const std::shared_ptr<const Policy> policy =
      PolicyOf({{"allow", {{"publish", allow}}}, {"deny", {{"publish", deny}}}});
  CheckPublish(state, *policy->Find("bench"), absl::StrCat("team", n - 1, ".orders.eu"), true);
}
BENCHMARK(BM_AllowedPublish_ManyPatterns)->Arg(1)->Arg(10)->Arg(100);

// Once per call, not per batch: SHA-256 of the token and a table lookup.
void BM_Authenticate(benchmark::State& state) {
  const std::shared_ptr<const Policy> policy = PolicyOf(Typical());
  for (auto _ : state) {
    absl::StatusOr<std::shared_ptr<const Principal>> principal =
        policy->Authenticate("bench-token");
    benchmark::DoNotOptimize(principal);
  }
}
BENCHMARK(BM_Authenticate);

}  // namespace
}  // namespace ringcast::server::security

BENCHMARK_MAIN();
