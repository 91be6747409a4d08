// Server: the ringcast event service, embeddable (tests, benchmarks) and run by ringcastd.
//
// Thread safety: every method is safe from any thread. Shutdown may be called more than once and
// concurrently; the first call does the work, later calls wait for it.
#ifndef RINGCAST_SERVER_SERVER_H_
#define RINGCAST_SERVER_SERVER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "ringcast/server/options.h"

namespace ringcast::server {

class ServerImpl;

class Server {
 public:
  // Validates the options, binds the listening addresses (gRPC and metrics) and starts serving.
  // INVALID_ARGUMENT for bad options, UNAVAILABLE if an address cannot be bound.
  static absl::StatusOr<std::unique_ptr<Server>> Start(ServerOptions options);

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  // Shuts down (gracefully, as Shutdown) if that has not happened yet.
  ~Server();

  // The bound gRPC port (useful with a listen address ending in ":0").
  [[nodiscard]] int port() const;
  // The bound metrics port (/metrics over HTTP), or 0 when ServerOptions::metrics_listen is empty.
  [[nodiscard]] int metrics_port() const;

  // Graceful shutdown: health goes NOT_SERVING and new streams are refused with UNAVAILABLE;
  // publishes in flight finish; every subscriber receives what was published; streams end with
  // UNAVAILABLE. Bounded by ServerOptions::shutdown_timeout, after which the rest is cancelled.
  void Shutdown();

  // Blocks until Shutdown has completed.
  void Wait();

  // Reads ServerOptions::auth_file again (SIGHUP): new rights apply to calls that start from now
  // on. On error the rights in force stay and the error names the file and the fault. Any thread.
  absl::Status ReloadAuth();

 private:
  explicit Server(std::unique_ptr<ServerImpl> impl);
  std::unique_ptr<ServerImpl> impl_;
};

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_SERVER_H_
