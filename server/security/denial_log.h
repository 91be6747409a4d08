// DenialLog: decides which denied calls are logged, so that a client retrying a bad token, or an
// attacker guessing tokens, cannot flood the log.
//
// Keys are what a line is about: a principal's name for PERMISSION_DENIED, UnauthenticatedKey(peer)
// for UNAUTHENTICATED. Per key, at most one line per interval; the denials in between are counted
// and the next line of that key reports them ("suppressed": n).
//
// Memory is bounded whatever clients send: at most `max_keys` keys of at most kMaxKeyBytes each.
// When the table is full, keys whose interval has passed are dropped (a sweep, at most once per
// interval); denials of keys that still find no room share one overflow entry, which logs at most
// one line per interval counting the rest. A key truncated to kMaxKeyBytes stays one key.
//
// Thread safety: every method is safe from any thread (one std::mutex, taken only on the denial
// path; not absl::Mutex, which Debian's Abseil builds without ThreadSanitizer annotations).
#ifndef RINGCAST_SERVER_SECURITY_DENIAL_LOG_H_
#define RINGCAST_SERVER_SECURITY_DENIAL_LOG_H_

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ringcast::server::security {

struct DenialLogOptions {
  absl::Duration interval = absl::Seconds(10);
  std::size_t max_keys = 4096;
};

// What to do about one denial.
struct DenialDecision {
  enum class Kind {
    kSuppress,     // counted, not logged
    kLog,          // log a line for this key
    kLogOverflow,  // the table is full: log one line for every key that found no room
  };
  Kind kind = Kind::kSuppress;
  // kLog: denials of this key not logged since its previous line. kLogOverflow: denials of keys
  // without room, and unreported counts of swept keys, since the previous overflow line.
  int64_t suppressed = 0;
};

class DenialLog {
 public:
  static constexpr std::size_t kMaxKeyBytes = 256;

  // Requires: options.interval > 0 and options.max_keys > 0 (assert).
  explicit DenialLog(DenialLogOptions options = {});
  DenialLog(const DenialLog&) = delete;
  DenialLog& operator=(const DenialLog&) = delete;

  // Counts a denial of `key` at `now` and says whether to log it. `now` never goes backwards
  // between calls (a clock that does only delays lines).
  [[nodiscard]] DenialDecision Record(absl::string_view key, absl::Time now);

  // Record(key, absl::Now()), and the line it calls for, as a warning through
  // observability/log.h: {"msg":"access denied","key":...,"reason":...,"suppressed":n}.
  void Denied(absl::string_view key, absl::string_view reason);

  // Keys tracked now (at most max_keys).
  [[nodiscard]] std::size_t tracked_keys() const;

 private:
  struct Entry {
    absl::Time last_logged = absl::InfinitePast();
    int64_t suppressed = 0;
  };

  // Logs now if the entry's interval has passed, else counts. Requires: mutex_ held.
  DenialDecision Decide(Entry& entry, DenialDecision::Kind kind, absl::Time now);
  // Requires: mutex_ held.
  void Sweep(absl::Time now);

  const DenialLogOptions options_;
  mutable std::mutex mutex_;  // guards the fields below
  absl::flat_hash_map<std::string, Entry> entries_;
  Entry overflow_;
  absl::Time next_sweep_ = absl::InfinitePast();
};

// The key of an unauthenticated call from gRPC peer `peer`, without the client's port (every
// connection has a new one, and the key must name the client): "ipv4:10.0.0.7:53100" ->
// "unauthenticated from ipv4:10.0.0.7", "ipv6:[::1]:53100" -> "unauthenticated from ipv6:[::1]".
std::string UnauthenticatedKey(absl::string_view peer);

}  // namespace ringcast::server::security

#endif  // RINGCAST_SERVER_SECURITY_DENIAL_LOG_H_
