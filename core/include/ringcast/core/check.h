// Preconditions and invariants.
//
// RINGCAST_CHECK is always on: it guards misuse whose alternative is a deadlock or memory
// corruption (claiming more than the ring holds, a capacity that is not a power of two).
//
// RINGCAST_DCHECK guards the hot path (a single-producer sequencer shared by two threads, a commit
// without a claim). It has its own switch, RINGCAST_CORE_DEBUG_CHECKS, and does NOT follow NDEBUG:
// the checks cost several times the claim they guard, and a user's Debug build should not run the
// core five times slower than it needs to. Define RINGCAST_CORE_DEBUG_CHECKS=1 (for the whole
// program: every translation unit must agree) to turn them on; ringcast's own Debug and sanitizer
// builds do. Undefined or 0 leaves them compiled (so they cannot rot) but never evaluated.
#ifndef RINGCAST_CORE_CHECK_H_
#define RINGCAST_CORE_CHECK_H_

#include "absl/base/optimization.h"

namespace ringcast::internal {

// Prints "file:line: check failed: condition: message" to stderr and aborts.
[[noreturn]] void CheckFailed(const char* file, int line, const char* condition,
                              const char* message);

}  // namespace ringcast::internal

#define RINGCAST_CHECK(condition, message)                                          \
  do {                                                                              \
    if (ABSL_PREDICT_FALSE(!(condition))) {                                         \
      ::ringcast::internal::CheckFailed(__FILE__, __LINE__, #condition, (message)); \
    }                                                                               \
  } while (false)

#ifndef RINGCAST_CORE_DEBUG_CHECKS
#define RINGCAST_CORE_DEBUG_CHECKS 0
#endif

namespace ringcast {
// Whether RINGCAST_DCHECK runs, for code that keeps extra state only the checks need.
inline constexpr bool kCoreDebugChecks = RINGCAST_CORE_DEBUG_CHECKS != 0;
}  // namespace ringcast

#if RINGCAST_CORE_DEBUG_CHECKS
#define RINGCAST_DCHECK(condition, message) RINGCAST_CHECK(condition, message)
#else
// Keeps the condition compiled (so it cannot rot) but never evaluated.
#define RINGCAST_DCHECK(condition, message) \
  do {                                      \
    if (false && (condition)) {             \
      static_cast<void>(message);           \
    }                                       \
  } while (false)
#endif

#endif  // RINGCAST_CORE_CHECK_H_
