// The server a benchmark measures, as a process on this machine (ringcastd or a peer): spawned and
// stopped by the benchmark, or found by the port it listens on; and its CPU time (user + system
// time from /proc/<pid>/stat), read the same way for every server.
#ifndef RINGCAST_BENCH_COMMON_SERVER_PROCESS_H_
#define RINGCAST_BENCH_COMMON_SERVER_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ringcast::bench {

// CPU seconds (user + system) process `pid` has used, or -1 if it cannot be read.
double ProcessCpuSeconds(int pid);

// The pid of the process listening on TCP `port` on this machine, or 0 if none is found (or it
// belongs to another user, whose file descriptors cannot be read).
int FindListeningPid(int port);

// The path of program `name`: `name` itself if it holds a '/', else the first executable of that
// name on PATH or, after PATH, in `extra_dirs`; empty if there is none.
std::string FindProgram(const std::string& name, const std::vector<std::string>& extra_dirs = {});

// A TCP port on 127.0.0.1 that was free a moment ago (bound, then released: another process could
// take it in between).
absl::StatusOr<int> PickFreePort();

// A child process, stopped when this object goes, and killed if this process dies first.
class ChildProcess {
 public:
  // Starts argv[0] (searched on PATH when it holds no '/') with its output to `log_path`, or to
  // /dev/null if that is empty. Fails if it cannot be started.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Spawn(const std::vector<std::string>& argv,
                                                             const std::string& log_path);

  // Stop().
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // Whether it has exited (reaped; its status in exit_status()).
  [[nodiscard]] bool Exited();
  int exit_status() const { return status_; }

  // SIGTERM, then SIGKILL if it has not exited within `grace`; reaps it. Idempotent.
  void Stop(absl::Duration grace = absl::Seconds(5));

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}

  const pid_t pid_;
  bool reaped_ = false;
  int status_ = 0;  // as from waitpid
};

}  // namespace ringcast::bench

#endif  // RINGCAST_BENCH_COMMON_SERVER_PROCESS_H_
