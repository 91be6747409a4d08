// Preconditions and invariants.
//
// RINGCAST_CHECK is always on: it guards misuse whose alternative is a deadlock or memory
// corruption (claiming more than the ring holds, a capacity that is not a power of two).
// RINGCAST_DCHECK is compiled out in release builds (NDEBUG) and guards the hot path.
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

#ifdef NDEBUG
// Keeps the condition compiled (so it cannot rot) but never evaluated.
#define RINGCAST_DCHECK(condition, message) \
  do {                                      \
    if (false && (condition)) {             \
      static_cast<void>(message);           \
    }                                       \
  } while (false)
#else
#define RINGCAST_DCHECK(condition, message) RINGCAST_CHECK(condition, message)
#endif

#endif  // RINGCAST_CORE_CHECK_H_
