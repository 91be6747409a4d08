#include "bench/core/run.h"

#include <atomic>
#include <cstdio>
#include <string>

#include "absl/strings/str_format.h"
#include "ringcast/core/thread.h"

namespace ringcast::bench {

void PlaceCurrentThread(std::string_view name, int cpu) {
  SetCurrentThreadName(name);
  if (cpu < 0) return;
  if (absl::Status pinned = PinCurrentThreadToCpu(cpu); !pinned.ok()) {
    // Once per process: a refused pin is a property of the machine, not of one run.
    static std::atomic<bool> reported{false};
    if (!reported.exchange(true, std::memory_order_relaxed)) {
      std::fprintf(stderr, "ringcast-core-bench: thread %.*s not pinned to CPU %d: %s\n",
                   static_cast<int>(name.size()), name.data(), cpu, pinned.ToString().c_str());
    }
  }
}

void ExpectEqual(std::string& error, std::string_view what, int64_t got, int64_t want) {
  if (got == want) return;
  absl::StrAppendFormat(&error, "%s%s: got %d, want %d", error.empty() ? "" : "; ", what, got,
                        want);
}

}  // namespace ringcast::bench
