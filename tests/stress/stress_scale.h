// How big and how long the stress tests run.
//
// The suite must finish in under a minute in a Release build and under four minutes under
// ThreadSanitizer (5-15x slower) on a 2-core machine, so event counts shrink under TSan. Every
// wait in a stress test is bounded by kWaitTimeout and every test by a Watchdog (stress_support.h):
// a deadlock fails with a name instead of hanging ctest.
#ifndef RINGCAST_TESTS_STRESS_STRESS_SCALE_H_
#define RINGCAST_TESTS_STRESS_STRESS_SCALE_H_

#include <chrono>
#include <cstdint>

namespace ringcast::stress {

#if defined(__SANITIZE_THREAD__)  // GCC
inline constexpr bool kThreadSanitizer = true;
#elif defined(__has_feature)  // Clang
#if __has_feature(thread_sanitizer)
inline constexpr bool kThreadSanitizer = true;
#else
inline constexpr bool kThreadSanitizer = false;
#endif
#else
inline constexpr bool kThreadSanitizer = false;
#endif

// How much smaller the event counts are under ThreadSanitizer.
inline constexpr int64_t kSanitizerDivisor = 4;

// `events` in a normal build, a quarter (at least `floor`) under ThreadSanitizer.
constexpr int64_t Scaled(int64_t events, int64_t floor = 1) {
  if (!kThreadSanitizer) return events;
  const int64_t scaled = events / kSanitizerDivisor;
  return scaled < floor ? floor : scaled;
}

// The bound on any single wait that should finish quickly (a drain, a join after a halt): far
// above what a healthy run needs, far below ctest's TIMEOUT.
inline constexpr std::chrono::seconds kWaitTimeout{kThreadSanitizer ? 90 : 20};

// How long a thread may make no progress at all before a test calls it a deadlock.
inline constexpr std::chrono::seconds kStallTimeout{kThreadSanitizer ? 30 : 5};

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif

// A whole test's budget; the Watchdog aborts the binary past it. AddressSanitizer does not shrink
// the event counts but runs them 3-5x slower (the gating tests take ~20 s of their budget there on
// an idle 2-CPU machine, and three times that beside a parallel build).
inline constexpr std::chrono::seconds kTestBudget{kThreadSanitizer || kAddressSanitizer ? 200 : 60};

}  // namespace ringcast::stress

#endif  // RINGCAST_TESTS_STRESS_STRESS_SCALE_H_
