// A minimal NATS client connection, written for the fan-out benchmark against NATS: just enough of
// the NATS client protocol (https://docs.nats.io/reference/protocols/client) to connect, publish,
// subscribe, and count what the server delivers. No TLS, no authentication, no headers, no
// reconnection.
//
// Protocol facts this relies on:
//  * Every protocol line ends in CRLF. On connect the server sends `INFO {json}`; the client
//    answers `CONNECT {json}`. With "verbose":false the server acknowledges nothing with +OK, and
//    with "pedantic":false it skips the extra checks on subjects.
//  * The client sends `PUB <subject> <#bytes>\r\n<payload>\r\n` and `SUB <subject> <sid>\r\n`; the
//    server delivers `MSG <subject> <sid> [reply-to] <#bytes>\r\n<payload>\r\n`. HMSG (messages
//    with headers) only goes to clients that asked for headers; this one does not.
//  * The server handles one connection's input in order, so the PONG answering a PING proves that
//    every command sent before that PING was processed (a PUB: matched and queued to subscribers).
//  * The server PINGs quiet clients and drops those that do not answer with PONG.
//  * `-ERR '<text>'` reports an error, and most errors close the connection. A slow consumer is
//    cut off by closing its connection, sometimes with no -ERR at all: end of stream is an error.
//
// Thread safety: a Connection is used by one thread at a time, except Shutdown (any thread).
#ifndef RINGCAST_BENCH_PEERS_NATS_CONNECTION_H_
#define RINGCAST_BENCH_PEERS_NATS_CONNECTION_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ringcast::bench::nats {

// What a connection has received so far, counted as it is parsed.
struct InboundCounts {
  int64_t messages = 0;       // MSG
  int64_t payload_bytes = 0;  // sum of the MSG payload sizes
  int64_t min_payload_bytes = std::numeric_limits<int64_t>::max();
  int64_t max_payload_bytes = 0;
  int64_t pongs = 0;
};

class Connection {
 public:
  // Connects to host:port over TCP, reads the server's INFO, sends CONNECT (verbose and pedantic
  // off, `name` as the client name) and waits for the PONG of a PING, so the server has accepted
  // the connection when this returns. `timeout` bounds every blocking read and write after that.
  static absl::StatusOr<std::unique_ptr<Connection>> Dial(const std::string& host, int port,
                                                          const std::string& name,
                                                          absl::Duration timeout);

  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Writes all of `bytes` (blocking), followed in the same system call by PING if `ping`.
  absl::Status Write(std::string_view bytes, bool ping = false);

  // Waits for input (up to the timeout), parses every complete command in it and answers the
  // server's PINGs. An error means the connection is unusable: -ERR, end of stream, timeout, or
  // input that is not the NATS protocol.
  absl::Status ReadSome();

  // Sends PING and reads until every PING sent so far is answered: afterwards the server has
  // processed everything written before, and this connection has read everything the server
  // queued for it before it processed that PING.
  absl::Status Flush();

  // Wakes a thread blocked in ReadSome or Write, which then fails. Thread-safe.
  void Shutdown();

  int fd() const { return fd_; }
  // Whether the stream ended: the server (or Shutdown) closed the connection.
  bool closed() const { return closed_; }
  const InboundCounts& counts() const { return counts_; }
  int64_t pings_outstanding() const { return pings_sent_ - counts_.pongs; }
  // From the server's INFO.
  const std::string& server_version() const { return server_version_; }
  int64_t max_payload() const { return max_payload_; }

 private:
  Connection(int fd, absl::Duration timeout);

  absl::Status ParseBuffered();
  absl::Status HandleLine(std::string_view line);
  absl::Status HandleInfo(std::string_view json);

  const int fd_;
  const absl::Duration timeout_;
  std::vector<char> in_;  // received bytes; [begin_, end_) is not parsed yet
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  int64_t skip_ = 0;       // bytes of a MSG payload (and its CRLF) still to pass over
  bool pong_due_ = false;  // the server sent PING
  bool has_info_ = false;
  bool closed_ = false;
  int64_t pings_sent_ = 0;
  InboundCounts counts_;
  std::string server_version_;
  int64_t max_payload_ = 0;
};

}  // namespace ringcast::bench::nats

#endif  // RINGCAST_BENCH_PEERS_NATS_CONNECTION_H_
