#include "ringcast/core/thread.h"

#include <pthread.h>
#include <sched.h>

#include <cstring>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"

namespace ringcast {

void SetCurrentThreadName(std::string_view name) {
  std::string truncated(name.substr(0, 15));
  pthread_setname_np(pthread_self(), truncated.c_str());
}

absl::Status PinCurrentThreadToCpu(int cpu) {
  if (cpu < 0 || cpu >= CPU_SETSIZE) {
    return absl::InvalidArgumentError(absl::StrCat("no such CPU: ", cpu));
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (int err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set); err != 0) {
    return err == EINVAL ? absl::InvalidArgumentError(absl::StrCat("no such CPU: ", cpu))
                         : absl::InternalError(absl::StrCat("pthread_setaffinity_np(", cpu,
                                                            "): ", std::strerror(err)));
  }
  return absl::OkStatus();
}

}  // namespace ringcast
