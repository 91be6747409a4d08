#include "security/policy_store.h"

#include <cassert>
#include <utility>

namespace ringcast::server::security {

absl::StatusOr<std::unique_ptr<PolicyStore>> PolicyStore::Open(std::string path) {
  absl::StatusOr<std::shared_ptr<const Policy>> policy = Policy::Load(path);
  if (!policy.ok()) return policy.status();
  return std::make_unique<PolicyStore>(std::move(path), *std::move(policy));
}

PolicyStore::PolicyStore(std::string path, std::shared_ptr<const Policy> initial)
    : path_(std::move(path)), current_(std::move(initial)) {
  assert(current_ != nullptr && "PolicyStore needs a policy");
}

std::shared_ptr<const Policy> PolicyStore::Current() const {
  std::lock_guard<std::mutex> lock(current_mutex_);
  return current_;
}

absl::Status PolicyStore::Reload() {
  std::lock_guard<std::mutex> update(update_mutex_);
  absl::StatusOr<std::shared_ptr<const Policy>> policy = Policy::Load(path_);
  if (!policy.ok()) return policy.status();
  Publish(*std::move(policy));
  return absl::OkStatus();
}

void PolicyStore::Replace(std::shared_ptr<const Policy> policy) {
  assert(policy != nullptr && "PolicyStore::Replace needs a policy");
  std::lock_guard<std::mutex> update(update_mutex_);
  Publish(std::move(policy));
}

void PolicyStore::Publish(std::shared_ptr<const Policy> policy) {
  {
    std::lock_guard<std::mutex> lock(current_mutex_);
    current_.swap(policy);
  }
  // `policy` now holds the old one: freed here, outside the readers' lock, if nobody holds it.
}

}  // namespace ringcast::server::security
