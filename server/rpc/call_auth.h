// CallAuth: who a call is and what it may do, for the services. The rules live in security/ (the
// auth file's compiled Policy); this is where a gRPC call meets them.
//
// Without an auth file the server is open: Authenticate answers a null principal and every check
// passes. With one, a call is authenticated once, when it starts:
//   * an `authorization: Bearer <token>` header names its principal by the token (a token that is
//     there but unknown is refused, never passed over for the certificate), else
//   * the verified mTLS client certificate's subject does (RFC 2253, as gRPC reports it),
//   * else UNAUTHENTICATED.
// The principal it gets keeps the policy of that moment: an auth file reloaded meanwhile (Reload,
// on SIGHUP) applies to calls that start later.
//
// Failures are counted (authentication_failures(), denials()) and logged through a DenialLog: one
// line per principal, or per peer address for failed authentications, per 10 s at most.
//
// Thread safety: every method from any thread.
#ifndef RINGCAST_SERVER_RPC_CALL_AUTH_H_
#define RINGCAST_SERVER_RPC_CALL_AUTH_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/server_context.h"
#include "security/action.h"
#include "security/denial_log.h"
#include "security/policy.h"
#include "security/policy_store.h"

namespace ringcast::server {

class CallAuth {
 public:
  using PrincipalPtr = std::shared_ptr<const security::Principal>;

  // An open server when `auth_file` is empty; else its policy, or the file's error.
  static absl::StatusOr<std::unique_ptr<CallAuth>> Create(const std::string& auth_file);

  CallAuth(const CallAuth&) = delete;
  CallAuth& operator=(const CallAuth&) = delete;

  [[nodiscard]] bool enabled() const noexcept { return store_ != nullptr; }

  // The caller's principal (null on an open server), or UNAUTHENTICATED saying what was missing
  // or wrong (never repeating a token). Counts and logs a failure.
  absl::StatusOr<PrincipalPtr> Authenticate(const grpc::CallbackServerContext& context);

  // OK if `principal` (null: an open server) may do `action` on `topic`; else PERMISSION_DENIED
  // naming the principal, the action and the topic, counted and logged.
  absl::Status Authorize(const security::Principal* principal, security::Action action,
                         absl::string_view topic);

  // Reads the auth file again (SIGHUP). On error the current policy stays; the error names the
  // file and the fault. OK and nothing done on an open server.
  absl::Status Reload();

  // Calls refused UNAUTHENTICATED, and calls or batches refused PERMISSION_DENIED, so far.
  [[nodiscard]] uint64_t authentication_failures() const noexcept {
    return authentication_failures_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] uint64_t denials() const noexcept {
    return denials_.load(std::memory_order_relaxed);
  }

 private:
  explicit CallAuth(std::unique_ptr<security::PolicyStore> store);

  absl::Status Unauthenticated(const grpc::CallbackServerContext& context, absl::Status status);

  const std::unique_ptr<security::PolicyStore> store_;  // null: an open server
  security::DenialLog log_;
  std::atomic<uint64_t> authentication_failures_{0};  // relaxed: a figure
  std::atomic<uint64_t> denials_{0};                  // relaxed: a figure
};

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_RPC_CALL_AUTH_H_
