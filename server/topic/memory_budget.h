// MemoryBudget: a count of bytes in use against a limit, shared by the threads that use them.
//
// A topic has one for the event bytes its ring holds (--max_topic_bytes), and the server one that
// every topic also charges (what --max_memory_bytes leaves the topics; see ServerOptions).
// Publishers reserve before they claim slots, so the limit holds whatever the number of them;
// the fan-out stage and ~Topic release.
//
// Thread safety: every method is safe from any thread (one atomic).
#ifndef RINGCAST_SERVER_TOPIC_MEMORY_BUDGET_H_
#define RINGCAST_SERVER_TOPIC_MEMORY_BUDGET_H_

#include <atomic>
#include <cstdint>

namespace ringcast::server {

class MemoryBudget {
 public:
  explicit MemoryBudget(uint64_t limit) noexcept : limit_(limit) {}
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  // Adds `bytes` if that keeps the count within the limit; false (nothing added) otherwise.
  [[nodiscard]] bool TryCharge(uint64_t bytes) noexcept {
    uint64_t used = used_.load(std::memory_order_relaxed);
    do {
      if (bytes > limit_ || used > limit_ - bytes) return false;
    } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
    return true;
  }
  // Adds `bytes` whatever the limit: memory already taken, which later charges must make room for.
  void Charge(uint64_t bytes) noexcept { used_.fetch_add(bytes, std::memory_order_relaxed); }
  void Release(uint64_t bytes) noexcept { used_.fetch_sub(bytes, std::memory_order_relaxed); }

  [[nodiscard]] uint64_t used() const noexcept { return used_.load(std::memory_order_relaxed); }
  [[nodiscard]] uint64_t limit() const noexcept { return limit_; }
  // More than 7/8 in use: the topics' stages give back all they can, and no new topic is created.
  [[nodiscard]] bool nearly_spent() const noexcept { return used() > limit_ / 8 * 7; }
  [[nodiscard]] uint64_t available() const noexcept {
    const uint64_t used = this->used();
    return used >= limit_ ? 0 : limit_ - used;
  }

 private:
  const uint64_t limit_;
  std::atomic<uint64_t> used_{0};
};

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_TOPIC_MEMORY_BUDGET_H_
