// AgentGroup: a composite agent that services a changing set of member agents on one runner
// thread, one DoWork of each per duty cycle (Aeron's DynamicCompositeAgent).
//
// A member is an Agent that also says when it is finished:
//
//   int DoWork();
//   bool Finished() const;   // true once it needs no more cycles: the group lets go of it
//
// Members join from any thread with Add (then ring the runner's doorbell so the runner looks);
// they take part from the next duty cycle on and are dropped after the cycle in which Finished()
// turned true. An exception thrown by one member's DoWork is reported and counted, and does not
// keep the other members from their turn.
//
// Thread safety: Add, size() and ExceptionCount() from any thread; DoWork on the runner's thread
// only.
//
// Memory ordering: joining members pass through `mu_`; `has_incoming_` is a hint (release in Add,
// acquire in DoWork) that lets a cycle skip the mutex when nobody joined, and the mutex orders
// the member itself.
#ifndef RINGCAST_CORE_AGENT_GROUP_H_
#define RINGCAST_CORE_AGENT_GROUP_H_

#include <algorithm>
#include <atomic>
#include <concepts>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ringcast/core/agent_runner.h"

namespace ringcast {

template <class M>
concept GroupMember = Agent<M> && requires(const M& m) {
  { m.Finished() } -> std::convertible_to<bool>;
};

template <GroupMember M>
class AgentGroup {
 public:
  explicit AgentGroup(std::string name = "agent-group",
                      ExceptionReporter report_exception = LogHandlerException)
      : name_(std::move(name)), report_exception_(std::move(report_exception)) {}

  AgentGroup(const AgentGroup&) = delete;
  AgentGroup& operator=(const AgentGroup&) = delete;

  // Adds `member`; it joins at the start of the next duty cycle.
  void Add(std::shared_ptr<M> member) {
    std::lock_guard<std::mutex> lock(mu_);
    incoming_.push_back(std::move(member));
    ++size_;
    has_incoming_.store(true, std::memory_order_release);  // pairs with the acquire in DoWork
  }

  // Members added and not yet dropped.
  [[nodiscard]] std::size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return size_;
  }

  // One duty cycle: takes in new members, runs each member's DoWork once, drops finished ones.
  int DoWork() {
    int work = TakeIncoming();
    for (const std::shared_ptr<M>& member : members_) {
      try {
        work += static_cast<int>(member->DoWork());
      } catch (...) {
        exceptions_.fetch_add(1, std::memory_order_relaxed);
        report_exception_(name_, -1, std::current_exception());
      }
    }
    DropFinished();
    return work;
  }

  // Exceptions members threw so far. Relaxed: a statistic.
  [[nodiscard]] uint64_t ExceptionCount() const noexcept {
    return exceptions_.load(std::memory_order_relaxed);
  }

 private:
  int TakeIncoming() {
    if (!has_incoming_.load(std::memory_order_acquire)) return 0;  // pairs with Add's release
    std::lock_guard<std::mutex> lock(mu_);
    const int joined = static_cast<int>(incoming_.size());
    for (std::shared_ptr<M>& member : incoming_) members_.push_back(std::move(member));
    incoming_.clear();
    has_incoming_.store(false, std::memory_order_relaxed);  // relaxed: under mu_
    return joined;
  }

  void DropFinished() {
    const auto gone = std::remove_if(members_.begin(), members_.end(),
                                     [](const std::shared_ptr<M>& m) { return m->Finished(); });
    if (gone == members_.end()) return;
    const auto dropped = static_cast<std::size_t>(members_.end() - gone);
    members_.erase(gone, members_.end());
    std::lock_guard<std::mutex> lock(mu_);
    size_ -= dropped;
  }

  const std::string name_;
  const ExceptionReporter report_exception_;
  std::vector<std::shared_ptr<M>> members_;  // the runner thread's own

  mutable std::mutex mu_;
  std::vector<std::shared_ptr<M>> incoming_;  // guarded by mu_
  std::size_t size_ = 0;                      // guarded by mu_
  std::atomic<bool> has_incoming_{false};
  std::atomic<uint64_t> exceptions_{0};
};

}  // namespace ringcast

#endif  // RINGCAST_CORE_AGENT_GROUP_H_
