// StreamCounter: counts live streams of one kind, so shutdown can wait for them to end.
// Thread-safe.
#ifndef RINGCAST_SERVER_OBSERVABILITY_STREAM_COUNTER_H_
#define RINGCAST_SERVER_OBSERVABILITY_STREAM_COUNTER_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace ringcast::server {

class StreamCounter {
 public:
  // False (and nothing counted) if `limit` streams are live already.
  [[nodiscard]] bool TryAdd(std::size_t limit) {
    std::lock_guard<std::mutex> lock(mu_);
    if (count_ >= limit) return false;
    ++count_;
    return true;
  }
  void Add() {
    std::lock_guard<std::mutex> lock(mu_);
    ++count_;
  }
  void Remove() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--count_ == 0) cv_.notify_all();
  }
  [[nodiscard]] std::size_t count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return count_;
  }
  // True if the count reached zero before `deadline`.
  bool WaitForZero(absl::Time deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_until(lock, absl::ToChronoTime(deadline), [&] { return count_ == 0; });
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::size_t count_ = 0;
};

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_OBSERVABILITY_STREAM_COUNTER_H_
