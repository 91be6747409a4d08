#include "security/denial_log.h"

#include <cassert>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "observability/log.h"

namespace ringcast::server::security {

DenialLog::DenialLog(DenialLogOptions options) : options_(options) {
  assert(options_.interval > absl::ZeroDuration() && "DenialLog needs a positive interval");
  assert(options_.max_keys > 0 && "DenialLog needs room for at least one key");
}

DenialDecision DenialLog::Record(absl::string_view key, absl::Time now) {
  key = key.substr(0, kMaxKeyBytes);
  std::lock_guard<std::mutex> lock(mutex_);
  if (const auto it = entries_.find(key); it != entries_.end()) {
    return Decide(it->second, DenialDecision::Kind::kLog, now);
  }
  if (entries_.size() >= options_.max_keys) Sweep(now);
  if (entries_.size() < options_.max_keys) {
    return Decide(entries_[key], DenialDecision::Kind::kLog, now);
  }
  return Decide(overflow_, DenialDecision::Kind::kLogOverflow, now);
}

DenialDecision DenialLog::Decide(Entry& entry, DenialDecision::Kind kind, absl::Time now) {
  if (now - entry.last_logged < options_.interval) {
    ++entry.suppressed;
    return {};
  }
  const DenialDecision decision{.kind = kind, .suppressed = entry.suppressed};
  entry = Entry{.last_logged = now, .suppressed = 0};
  return decision;
}

void DenialLog::Sweep(absl::Time now) {
  // At most once per interval, so that a full table under attack costs O(max_keys) once per
  // interval rather than per denial; entries that expire in between wait for the next sweep.
  if (now < next_sweep_) return;
  next_sweep_ = now + options_.interval;
  absl::erase_if(entries_, [&](const auto& key_and_entry) {
    const Entry& entry = key_and_entry.second;
    if (now - entry.last_logged < options_.interval) return false;
    overflow_.suppressed += entry.suppressed;  // reported by the next overflow line
    return true;
  });
}

void DenialLog::Denied(absl::string_view key, absl::string_view reason) {
  const DenialDecision decision = Record(key, absl::Now());
  switch (decision.kind) {
    case DenialDecision::Kind::kSuppress:
      return;
    case DenialDecision::Kind::kLog:
      Log(LogLevel::kWarning, "access denied",
          {{"key", key}, {"reason", reason}, {"suppressed", decision.suppressed}});
      return;
    case DenialDecision::Kind::kLogOverflow:
      Log(LogLevel::kWarning, "access denied (too many denied clients to log each)",
          {{"key", key}, {"reason", reason}, {"suppressed", decision.suppressed}});
      return;
  }
}

std::size_t DenialLog::tracked_keys() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

std::string UnauthenticatedKey(absl::string_view peer) {
  constexpr absl::string_view kPrefix = "unauthenticated from ";
  if (absl::StartsWith(peer, "ipv6:[")) {
    if (const std::size_t end = peer.find(']'); end != absl::string_view::npos) {
      return absl::StrCat(kPrefix, peer.substr(0, end + 1));
    }
  } else if (absl::StartsWith(peer, "ipv4:")) {
    if (const std::size_t colon = peer.rfind(':'); colon > 4) {
      return absl::StrCat(kPrefix, peer.substr(0, colon));
    }
  }
  return absl::StrCat(kPrefix, peer);
}

}  // namespace ringcast::server::security
