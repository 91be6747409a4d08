#include "bench/peers/nats_server.h"

#include <sys/wait.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/peers/nats_connection.h"

namespace ringcast::bench::nats {

absl::Status SpawnServer(const std::string& program_name,
                         const std::vector<std::string>& extra_args, const std::string& log,
                         const std::string& client_name, absl::Duration start_timeout,
                         Server& server) {
  const std::string program = FindProgram(program_name, {"/usr/local/sbin", "/usr/sbin", "/sbin"});
  if (program.empty()) {
    return absl::NotFoundError(
        absl::StrCat(program_name,
                     " not found on PATH or in /usr/sbin (scripts/install-deps.sh --bench "
                     "installs it)"));
  }
  absl::StatusOr<int> port = PickFreePort();
  if (!port.ok()) return port.status();
  server.host = "127.0.0.1";
  server.port = *port;
  std::vector<std::string> argv = {program, "-a", server.host, "-p", std::to_string(server.port)};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  auto child = ChildProcess::Spawn(argv, log);
  if (!child.ok()) return child.status();
  server.child = *std::move(child);
  server.pid = server.child->pid();
  const absl::Time deadline = absl::Now() + start_timeout;
  while (true) {
    auto probe = Connection::Dial(server.host, server.port, client_name, absl::Seconds(5));
    if (probe.ok()) {
      server.version = (*probe)->server_version();
      return absl::OkStatus();
    }
    if (server.child->Exited()) {
      const int status = server.child->exit_status();
      return absl::UnavailableError(
          absl::StrCat(program,
                       WIFEXITED(status) ? absl::StrCat(" exited with code ", WEXITSTATUS(status))
                                         : absl::StrCat(" was killed by signal ", WTERMSIG(status)),
                       " before accepting clients (see its log with --server_log=FILE)"));
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(program, " accepted no client in ",
                                                      absl::FormatDuration(start_timeout), ": ",
                                                      probe.status().message()));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

absl::Status ConnectToServer(const std::string& target, int pid, const std::string& client_name,
                             absl::Duration timeout, Server& server) {
  const std::size_t colon = target.rfind(':');
  if (colon == std::string::npos || !absl::SimpleAtoi(target.substr(colon + 1), &server.port)) {
    return absl::InvalidArgumentError(absl::StrCat("--target=", target, " is not HOST:PORT"));
  }
  server.host = target.substr(0, colon);
  if (server.host.size() >= 2 && server.host.front() == '[' && server.host.back() == ']') {
    server.host = server.host.substr(1, server.host.size() - 2);  // [IPv6 address]
  }
  auto probe = Connection::Dial(server.host, server.port, client_name, timeout);
  if (!probe.ok()) return probe.status();
  server.version = (*probe)->server_version();
  server.pid = pid != 0 ? pid : FindListeningPid(server.port);
  return absl::OkStatus();
}

}  // namespace ringcast::bench::nats
