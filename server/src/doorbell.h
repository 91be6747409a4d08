// Doorbell: wakes a fan-out thread that parked because none of its topics had work.
//
// Thread safety: Ring from any thread; Epoch and Wait from the owning fan-out thread.
//
// Memory ordering: Ring increments the epoch and then reads the sleeper count; Wait increments
// the sleeper count and then reads the epoch. All four are seq_cst, so at least one side sees the
// other: either the ringer sees a sleeper and notifies (under the mutex, so the notify cannot fall
// between the sleeper's check and its wait), or the sleeper sees the new epoch and does not park.
// A ringer's earlier writes (a published slot, a freed queue) happen-before the woken thread's
// reads, through the epoch's seq_cst RMW and load.
#ifndef RINGCAST_SERVER_SRC_DOORBELL_H_
#define RINGCAST_SERVER_SRC_DOORBELL_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace ringcast::server {

class Doorbell {
 public:
  Doorbell() = default;
  Doorbell(const Doorbell&) = delete;
  Doorbell& operator=(const Doorbell&) = delete;

  // Take before looking for work; pass to Wait so a ring in between is not missed.
  [[nodiscard]] uint64_t Epoch() const noexcept { return epoch_.load(std::memory_order_seq_cst); }

  // Cheap when nobody sleeps: one RMW and one load.
  void Ring() noexcept {
    epoch_.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lock(mu_);
      cv_.notify_all();
    }
  }

  // Parks until the epoch moves past `seen` or `timeout` passes. True if it moved.
  bool Wait(uint64_t seen, std::chrono::nanoseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    const bool rung =
        cv_.wait_for(lock, timeout, [&] { return epoch_.load(std::memory_order_seq_cst) != seen; });
    sleepers_.fetch_sub(1, std::memory_order_relaxed);  // relaxed: only makes a ringer skip notify
    return rung;
  }

 private:
  std::atomic<uint64_t> epoch_{0};
  std::atomic<int> sleepers_{0};
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_SRC_DOORBELL_H_
