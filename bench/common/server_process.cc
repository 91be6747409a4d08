#include "bench/common/server_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ringcast::bench {

double ProcessCpuSeconds(int pid) {
  std::ifstream file(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(file, line)) return -1;
  // The command name, field 2, is in parentheses and may hold spaces: count from after it.
  const std::size_t name_end = line.rfind(')');
  if (name_end == std::string::npos) return -1;
  std::istringstream fields(line.substr(name_end + 1));
  std::string skipped;
  for (int field = 3; field < 14; ++field) fields >> skipped;
  double utime_ticks = 0;
  double stime_ticks = 0;  // fields 14 and 15 of proc(5)
  if (!(fields >> utime_ticks >> stime_ticks)) return -1;
  return (utime_ticks + stime_ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

int FindListeningPid(int port) {
  // The inodes of the sockets listening on `port` (state 0A), then the process holding one.
  std::vector<std::string> sockets;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream file(table);
    std::string line;
    std::getline(file, line);  // the header
    while (std::getline(file, line)) {
      const std::vector<std::string> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (fields.size() < 10 || fields[3] != "0A") continue;
      const std::size_t colon = fields[1].rfind(':');
      int local_port = 0;
      if (colon != std::string::npos &&
          absl::SimpleHexAtoi(fields[1].substr(colon + 1), &local_port) && local_port == port) {
        sockets.push_back(absl::StrCat("socket:[", fields[9], "]"));
      }
    }
  }
  if (sockets.empty()) return 0;
  // Processes come and go while this runs: every filesystem call takes an error code instead of
  // throwing, and a process that vanished is skipped.
  namespace fs = std::filesystem;
  std::error_code error;
  const fs::directory_iterator end;
  for (fs::directory_iterator process("/proc", error); !error && process != end;
       process.increment(error)) {
    int pid = 0;
    if (!absl::SimpleAtoi(process->path().filename().string(), &pid)) continue;
    std::error_code fd_error;
    for (fs::directory_iterator fd(process->path() / "fd", fd_error); !fd_error && fd != end;
         fd.increment(fd_error)) {
      std::error_code link_error;
      const fs::path target = fs::read_symlink(fd->path(), link_error);
      if (link_error) continue;
      for (const std::string& socket : sockets) {
        if (target == socket) return pid;
      }
    }
  }
  return 0;
}

std::string FindProgram(const std::string& name, const std::vector<std::string>& extra_dirs) {
  if (name.find('/') != std::string::npos) {
    return access(name.c_str(), X_OK) == 0 ? name : std::string();
  }
  const char* path = std::getenv("PATH");
  std::vector<std::string> dirs =
      absl::StrSplit(path != nullptr ? path : "", ':', absl::SkipEmpty());
  dirs.insert(dirs.end(), extra_dirs.begin(), extra_dirs.end());
  for (const std::string& dir : dirs) {
    std::string candidate = absl::StrCat(dir, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

absl::StatusOr<int> PickFreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  sockaddr* raw = reinterpret_cast<sockaddr*>(&address);
  const bool ok = bind(fd, raw, sizeof(address)) == 0 && getsockname(fd, raw, &length) == 0;
  const int error = errno;
  close(fd);
  if (!ok) return absl::InternalError(absl::StrCat("bind 127.0.0.1:0: ", std::strerror(error)));
  return ntohs(address.sin_port);
}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Spawn(
    const std::vector<std::string>& argv, const std::string& log_path) {
  if (argv.empty()) return absl::InvalidArgumentError("no program to start");
  // Everything the child needs is prepared here: between fork and exec it may only make
  // async-signal-safe calls.
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const std::string output = log_path.empty() ? "/dev/null" : log_path;
  const int output_fd = open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (output_fd < 0) {
    return absl::InvalidArgumentError(absl::StrCat("open ", output, ": ", std::strerror(errno)));
  }
  // The child reports a failed exec through this pipe; a successful exec closes it (CLOEXEC).
  int exec_error[2];
  if (pipe2(exec_error, O_CLOEXEC) != 0) {
    close(output_fd);
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    // If this benchmark dies (a test timeout kills it), the server goes too.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    dup2(output_fd, STDOUT_FILENO);
    dup2(output_fd, STDERR_FILENO);
    execvp(args[0], args.data());
    const int error = errno;
    static_cast<void>(write(exec_error[1], &error, sizeof(error)));
    _exit(127);
  }
  const int fork_error = errno;
  close(output_fd);
  close(exec_error[1]);
  if (pid < 0) {
    close(exec_error[0]);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(fork_error)));
  }
  int error = 0;
  ssize_t n;
  do {
    n = read(exec_error[0], &error, sizeof(error));
  } while (n < 0 && errno == EINTR);
  close(exec_error[0]);
  std::unique_ptr<ChildProcess> child(new ChildProcess(pid));
  if (n == sizeof(error)) {
    child->Stop();
    return absl::NotFoundError(absl::StrCat("cannot run ", argv[0], ": ", std::strerror(error)));
  }
  return child;
}

ChildProcess::~ChildProcess() { Stop(); }

bool ChildProcess::Exited() {
  if (!reaped_ && waitpid(pid_, &status_, WNOHANG) == pid_) reaped_ = true;
  return reaped_;
}

void ChildProcess::Stop(absl::Duration grace) {
  if (Exited()) return;
  kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(grace);
  while (std::chrono::steady_clock::now() < deadline) {
    if (Exited()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid_, SIGKILL);
  while (waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
}

}  // namespace ringcast::bench
