// Connecting to a ringcast server: one gRPC channel, shared by every Publisher, Subscriber and
// TopicAdmin made from it (each stream is multiplexed on the channel's HTTP/2 connection).
#ifndef RINGCAST_CLIENT_CONNECTION_H_
#define RINGCAST_CLIENT_CONNECTION_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"

namespace ringcast::client {

struct ConnectionOptions {
  // host:port of the server.
  std::string target = "localhost:7470";
  // TLS. Off: plaintext (what ringcastd serves). On: the server's certificate is checked against
  // `tls_ca_file` (PEM), or the system roots when empty; `tls_cert_file` and `tls_key_file` (PEM)
  // present a client certificate; `tls_server_name` overrides the name checked in the server's
  // certificate.
  bool tls = false;
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_server_name;
  // A bearer token: every call carries `authorization: Bearer <token>` metadata (a server with an
  // --auth_file authenticates it). Over plaintext it travels in the clear: use it with TLS.
  std::string token;
};

// A channel to options.target. Does not connect yet (the first call does). INVALID_ARGUMENT for
// an empty target, an unreadable TLS file, a certificate without its key, or a token that cannot be
// a header value.
absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(const ConnectionOptions& options);

// The server's grpc.health.v1 status for the whole server: true if SERVING, false if NOT_SERVING
// (shutting down); the call's error (UNAVAILABLE, DEADLINE_EXCEEDED, ...) otherwise.
absl::StatusOr<bool> CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                 absl::Duration deadline);

}  // namespace ringcast::client

#endif  // RINGCAST_CLIENT_CONNECTION_H_
