// MutexDequeQueue<T>: the textbook bounded queue, a std::deque behind a std::mutex, with condition
// variables for the blocking mode. It is the baseline every lock-free design has to beat (LMAX
// compared against Java's ArrayBlockingQueue for the same reason).
//
// Thread safety: every method from any thread; any number of producers and consumers.
//
// Memory ordering: everything happens under `mutex_`.
#ifndef RINGCAST_BENCH_CORE_MUTEX_DEQUE_QUEUE_H_
#define RINGCAST_BENCH_CORE_MUTEX_DEQUE_QUEUE_H_

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>

namespace ringcast::bench {

template <class T>
class MutexDequeQueue {
 public:
  explicit MutexDequeQueue(std::size_t capacity) : capacity_(capacity) {}

  MutexDequeQueue(const MutexDequeQueue&) = delete;
  MutexDequeQueue& operator=(const MutexDequeQueue&) = delete;

  // Appends the longest prefix of `items[0, n)` that fits now; returns its length.
  std::size_t TryPush(const T* items, std::size_t n) {
    std::lock_guard<std::mutex> lock(mutex_);
    const std::size_t pushed = std::min(n, capacity_ - items_.size());
    items_.insert(items_.end(), items, items + pushed);
    if (pushed != 0 && consumers_waiting_ != 0) not_empty_.notify_all();
    return pushed;
  }

  // Appends all of `items[0, n)`, sleeping while the queue is full.
  void PushBlocking(const T* items, std::size_t n) {
    std::unique_lock<std::mutex> lock(mutex_);
    while (n != 0) {
      if (items_.size() == capacity_) {
        ++producers_waiting_;
        not_full_.wait(lock, [&] { return items_.size() < capacity_; });
        --producers_waiting_;
      }
      const std::size_t pushed = std::min(n, capacity_ - items_.size());
      items_.insert(items_.end(), items, items + pushed);
      items += pushed;
      n -= pushed;
      if (consumers_waiting_ != 0) not_empty_.notify_all();
    }
  }

  // Moves up to `max` items to `out` and returns how many; 0 when empty.
  std::size_t TryPop(T* out, std::size_t max) {
    std::lock_guard<std::mutex> lock(mutex_);
    return PopLocked(out, max);
  }

  // As TryPop, but sleeps until the queue is not empty.
  std::size_t PopBlocking(T* out, std::size_t max) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (items_.empty()) {
      ++consumers_waiting_;
      not_empty_.wait(lock, [&] { return !items_.empty(); });
      --consumers_waiting_;
    }
    return PopLocked(out, max);
  }

 private:
  std::size_t PopLocked(T* out, std::size_t max) {
    const std::size_t popped = std::min(max, items_.size());
    std::copy_n(items_.begin(), popped, out);
    items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(popped));
    // Waiters are counted so that the common case, nobody asleep, skips the notify.
    if (popped != 0 && producers_waiting_ != 0) not_full_.notify_all();
    return popped;
  }

  const std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<T> items_;
  int consumers_waiting_ = 0;
  int producers_waiting_ = 0;
};

}  // namespace ringcast::bench

#endif  // RINGCAST_BENCH_CORE_MUTEX_DEQUE_QUEUE_H_
