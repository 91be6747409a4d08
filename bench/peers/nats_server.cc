#include "bench/peers/nats_server.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace ringcast::bench::nats {
namespace {

// The server's version from the `INFO {json}` line it greets every connection with: the one
// figure the C client does not expose. Also proves that the server accepts clients.
absl::StatusOr<std::string> ReadServerVersion(const std::string& host, int port,
                                              absl::Duration timeout) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int e = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
      e != 0) {
    return absl::UnavailableError(absl::StrCat(host, ": ", gai_strerror(e)));
  }
  const int fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const bool connected = fd >= 0 && connect(fd, found->ai_addr, found->ai_addrlen) == 0;
  const std::string connect_error = std::strerror(errno);
  freeaddrinfo(found);
  std::string line;
  const absl::Time deadline = absl::Now() + timeout;
  while (connected && line.find("\r\n") == std::string::npos && line.size() < 64 * 1024) {
    pollfd readable{.fd = fd, .events = POLLIN, .revents = 0};
    const auto wait_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (wait_ms <= 0 || poll(&readable, 1, static_cast<int>(wait_ms)) <= 0) break;
    char buffer[4096];
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n <= 0) break;
    line.append(buffer, static_cast<std::size_t>(n));
  }
  if (fd >= 0) close(fd);
  if (!connected) {
    return absl::UnavailableError(
        absl::StrCat("connect to ", host, ":", port, ": ", connect_error));
  }
  const std::size_t end = line.find("\r\n");
  if (!line.starts_with("INFO ") || end == std::string::npos) {
    return absl::UnavailableError(absl::StrCat(host, ":", port, " sent no NATS INFO line"));
  }
  const nlohmann::json info =
      nlohmann::json::parse(line.begin() + 5, line.begin() + static_cast<std::ptrdiff_t>(end),
                            /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (!info.is_object() || !info.contains("version") || !info["version"].is_string()) {
    return absl::UnavailableError(absl::StrCat(host, ":", port, "'s INFO names no version"));
  }
  return info["version"].get<std::string>();
}

}  // namespace

absl::Status SpawnServer(const std::string& program_name,
                         const std::vector<std::string>& extra_args, const std::string& log,
                         absl::Duration start_timeout, Server& server) {
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
    absl::StatusOr<std::string> version =
        ReadServerVersion(server.host, server.port, absl::Seconds(5));
    if (version.ok()) {
      server.version = *std::move(version);
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
                                                      version.status().message()));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

absl::Status ConnectToServer(const std::string& target, int pid, absl::Duration timeout,
                             Server& server) {
  const std::size_t colon = target.rfind(':');
  if (colon == std::string::npos || !absl::SimpleAtoi(target.substr(colon + 1), &server.port)) {
    return absl::InvalidArgumentError(absl::StrCat("--target=", target, " is not HOST:PORT"));
  }
  server.host = target.substr(0, colon);
  if (server.host.size() >= 2 && server.host.front() == '[' && server.host.back() == ']') {
    server.host = server.host.substr(1, server.host.size() - 2);  // [IPv6 address]
  }
  absl::StatusOr<std::string> version = ReadServerVersion(server.host, server.port, timeout);
  if (!version.ok()) return version.status();
  server.version = *std::move(version);
  server.pid = pid != 0 ? pid : FindListeningPid(server.port);
  return absl::OkStatus();
}

std::string StatusText(natsStatus status) {
  std::string text = natsStatus_GetText(status);
  const char* last = nats_GetLastError(nullptr);
  if (last != nullptr && *last != '\0' && !absl::StrContains(text, last)) {
    absl::StrAppend(&text, " (", last, ")");
  }
  return text;
}

}  // namespace ringcast::bench::nats
