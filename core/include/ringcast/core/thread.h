// Thread helpers for processors: names that show in top/perf, and optional CPU pinning.
#ifndef RINGCAST_CORE_THREAD_H_
#define RINGCAST_CORE_THREAD_H_

#include <string_view>

#include "absl/status/status.h"

namespace ringcast {

// Names the calling thread (truncated to the 15 characters Linux keeps). Best effort.
void SetCurrentThreadName(std::string_view name);

// Pins the calling thread to `cpu`. INVALID_ARGUMENT if the CPU does not exist, INTERNAL if the
// kernel refuses.
absl::Status PinCurrentThreadToCpu(int cpu);

}  // namespace ringcast

#endif  // RINGCAST_CORE_THREAD_H_
