// Shared helpers for the core tests: a payload that counts its own lives, and scaling for
// sanitizer builds.
#ifndef RINGCAST_TESTS_CORE_TEST_SUPPORT_H_
#define RINGCAST_TESTS_CORE_TEST_SUPPORT_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>

namespace ringcast::testing {

// Sanitizers slow everything down 5-15x; loops that wrap rings "millions of times" shrink there.
inline constexpr int64_t kScale =
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
    20;
#else
    1;
#endif

// An event that counts constructions and destructions, so a test can prove the ring builds each
// slot once, reuses it in place, and destroys it once.
struct CountedEvent {
  static inline std::atomic<int64_t> constructed{0};
  static inline std::atomic<int64_t> destroyed{0};
  static void Reset() {
    constructed.store(0);
    destroyed.store(0);
  }

  CountedEvent() { constructed.fetch_add(1, std::memory_order_relaxed); }
  CountedEvent(const CountedEvent& other) : value(other.value) {
    constructed.fetch_add(1, std::memory_order_relaxed);
  }
  CountedEvent& operator=(const CountedEvent&) = default;
  ~CountedEvent() { destroyed.fetch_add(1, std::memory_order_relaxed); }

  int64_t value = -1;
};

// Polls `done` until it holds or `timeout` passes; returns whether it held. Keeps tests bounded.
inline bool WaitUntil(const std::function<bool()>& done,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return true;
}

}  // namespace ringcast::testing

#endif  // RINGCAST_TESTS_CORE_TEST_SUPPORT_H_
