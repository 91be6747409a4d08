// PolicyStore: the current Policy of the server, replaced as a whole when the auth file is
// reloaded (SIGHUP). Calls take a snapshot when they start and keep it, so a reload applies to
// new calls; a snapshot stays valid as long as it is held, whatever reloads happen meanwhile.
//
// Thread safety: Current() is safe from any thread, concurrently with Reload and Replace. Reload
// and Replace are safe from any thread too; a second mutex serializes them so that two reloads
// cannot publish their results out of order, and readers never wait for a file being read.
//
// Memory ordering: the current policy is a shared_ptr guarded by a std::mutex; the unlock after
// Reload or Replace stores it happens before the lock of any Current that then copies it, so a
// reader that sees a new policy sees it fully built. The lock is held only to copy the pointer
// (a reference count increment), once per call, never per batch: a stream checks its batches
// against the Principal it kept. Not std::atomic<std::shared_ptr>: GCC 12's implementation is a
// spin lock in the pointer's low bit that ThreadSanitizer cannot follow, and not absl::Mutex:
// Debian's Abseil is built without TSan annotations (as storage/journal.h explains).
#ifndef RINGCAST_SERVER_SECURITY_POLICY_STORE_H_
#define RINGCAST_SERVER_SECURITY_POLICY_STORE_H_

#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "security/policy.h"

namespace ringcast::server::security {

class PolicyStore {
 public:
  // Loads `path` once; its errors (Policy::Load's) when the file cannot be used at start-up.
  static absl::StatusOr<std::unique_ptr<PolicyStore>> Open(std::string path);

  // A store of `initial`, reloaded from `path`. Requires: `initial` is not null (assert).
  PolicyStore(std::string path, std::shared_ptr<const Policy> initial);
  PolicyStore(const PolicyStore&) = delete;
  PolicyStore& operator=(const PolicyStore&) = delete;

  // The policy in force now. Never null.
  [[nodiscard]] std::shared_ptr<const Policy> Current() const;

  // Reads and compiles the file again and makes it current. On any error the current policy
  // stays in force and the error (naming the path and what is wrong) is returned for the caller
  // to log.
  absl::Status Reload();

  // Makes `policy` current. Requires: `policy` is not null (assert).
  void Replace(std::shared_ptr<const Policy> policy);

  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  // Swaps `policy` in under current_mutex_; the old one is released after the unlock.
  void Publish(std::shared_ptr<const Policy> policy);

  const std::string path_;
  std::mutex update_mutex_;                // held by Reload and Replace for their whole run
  mutable std::mutex current_mutex_;       // held only to copy or swap current_
  std::shared_ptr<const Policy> current_;  // guarded by current_mutex_; never null
};

}  // namespace ringcast::server::security

#endif  // RINGCAST_SERVER_SECURITY_POLICY_STORE_H_
