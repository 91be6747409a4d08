#include "rpc/call_auth.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/security/auth_context.h"

namespace ringcast::server {
namespace {

constexpr absl::string_view kBearer = "bearer ";

// The first value of `key` in the call's metadata, if any.
bool FindHeader(const grpc::CallbackServerContext& context, absl::string_view key,
                absl::string_view& value) {
  const auto& metadata = context.client_metadata();
  const auto found = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (found == metadata.end()) return false;
  value = absl::string_view(found->second.data(), found->second.size());
  return true;
}

// The verified client certificate's subject, or empty.
std::string CertificateSubject(const grpc::CallbackServerContext& context) {
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) return "";
  const std::vector<grpc::string_ref> subjects =
      auth->FindPropertyValues(GRPC_X509_SUBJECT_PROPERTY_NAME);
  if (subjects.empty()) return "";
  return std::string(subjects.front().data(), subjects.front().size());
}

}  // namespace

absl::StatusOr<std::unique_ptr<CallAuth>> CallAuth::Create(const std::string& auth_file) {
  if (auth_file.empty()) return std::unique_ptr<CallAuth>(new CallAuth(nullptr));
  absl::StatusOr<std::unique_ptr<security::PolicyStore>> store =
      security::PolicyStore::Open(auth_file);
  if (!store.ok()) return store.status();
  return std::unique_ptr<CallAuth>(new CallAuth(*std::move(store)));
}

CallAuth::CallAuth(std::unique_ptr<security::PolicyStore> store) : store_(std::move(store)) {}

absl::StatusOr<CallAuth::PrincipalPtr> CallAuth::Authenticate(
    const grpc::CallbackServerContext& context) {
  if (store_ == nullptr) return PrincipalPtr();
  const std::shared_ptr<const security::Policy> policy = store_->Current();
  absl::string_view header;
  if (FindHeader(context, "authorization", header)) {
    if (header.size() < kBearer.size() ||
        !absl::EqualsIgnoreCase(header.substr(0, kBearer.size()), kBearer)) {
      return Unauthenticated(context, absl::UnauthenticatedError(
                                          "the authorization header is not \"Bearer <token>\""));
    }
    absl::StatusOr<PrincipalPtr> principal =
        policy->Authenticate(absl::StripAsciiWhitespace(header.substr(kBearer.size())));
    if (!principal.ok()) return Unauthenticated(context, principal.status());
    return principal;
  }
  if (const std::string subject = CertificateSubject(context); !subject.empty()) {
    absl::StatusOr<PrincipalPtr> principal = policy->AuthenticateCertificate(subject);
    if (!principal.ok()) return Unauthenticated(context, principal.status());
    return principal;
  }
  return Unauthenticated(context,
                         absl::UnauthenticatedError(
                             "no credentials: send \"authorization: Bearer <token>\" metadata or "
                             "a client certificate the server's auth file names"));
}

absl::Status CallAuth::Unauthenticated(const grpc::CallbackServerContext& context,
                                       absl::Status status) {
  authentication_failures_.fetch_add(1, std::memory_order_relaxed);
  log_.Denied(security::UnauthenticatedKey(context.peer()), status.message());
  return status;
}

absl::Status CallAuth::Authorize(const security::Principal* principal, security::Action action,
                                 absl::string_view topic) {
  if (principal == nullptr || principal->Allowed(action, topic)) return absl::OkStatus();
  denials_.fetch_add(1, std::memory_order_relaxed);
  absl::Status denied = security::PermissionDenied(*principal, action, topic);
  log_.Denied(principal->name(), denied.message());
  return denied;
}

absl::Status CallAuth::Reload() {
  if (store_ == nullptr) return absl::OkStatus();
  return store_->Reload();
}

}  // namespace ringcast::server
