// A nats-server for the NATS peer benchmarks: spawned on a free loopback port and stopped at the
// end, or reached at HOST:PORT. Shared by ringcast-nats-bench (core NATS) and
// ringcast-jetstream-bench (JetStream), so both start and find the server the same way, and
// report the C client's errors the same way.
#ifndef RINGCAST_BENCH_PEERS_NATS_SERVER_H_
#define RINGCAST_BENCH_PEERS_NATS_SERVER_H_

#include <nats/nats.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "bench/common/server_process.h"

namespace ringcast::bench::nats {

// The server the runs measure.
struct Server {
  std::string host;
  int port = 0;
  int pid = 0;  // 0: unknown, no CPU figure
  std::string version;
  std::unique_ptr<ChildProcess> child;  // when spawned
};

// Starts `program` (searched on PATH, then in /usr/sbin where Debian puts it) as
// `program -a 127.0.0.1 -p <free port> extra_args...`, its output to `log` (none if empty), and
// waits until it greets a client, at most `start_timeout`.
absl::Status SpawnServer(const std::string& program, const std::vector<std::string>& extra_args,
                         const std::string& log, absl::Duration start_timeout, Server& server);

// Reaches the server at `target` (HOST:PORT, [IPv6]:PORT) and reads its version; its pid is
// `pid`, or found by the port when 0.
absl::Status ConnectToServer(const std::string& target, int pid, absl::Duration timeout,
                             Server& server);

// The text of a libnats status, with the library's last error when it says more.
std::string StatusText(natsStatus status);

}  // namespace ringcast::bench::nats

#endif  // RINGCAST_BENCH_PEERS_NATS_SERVER_H_
