// A TCP proxy on 127.0.0.1 between the client under test and a real server, so a test can break
// the network without stopping the server: CutAll drops every connection, and while refusing it
// accepts connections and closes them at once (a server that is unreachable).
#ifndef RINGCAST_TESTS_CLIENT_TCP_PROXY_H_
#define RINGCAST_TESTS_CLIENT_TCP_PROXY_H_

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace ringcast::testing {

class TcpProxy {
 public:
  // Forwards connections on a free port to 127.0.0.1:target_port.
  explicit TcpProxy(int target_port);
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;
  ~TcpProxy();

  [[nodiscard]] int port() const { return port_; }
  // Breaks every open connection (both directions, at once).
  void CutAll();
  // While true, new connections are closed as soon as they are accepted.
  void SetRefusing(bool refusing) { refusing_.store(refusing); }
  // Connections accepted and forwarded so far.
  [[nodiscard]] int connections() const { return connections_.load(); }

 private:
  void AcceptLoop();
  void Pump(int from, int to);

  const int target_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> refusing_{false};
  std::atomic<int> connections_{0};

  std::mutex mu_;
  std::vector<int> fds_;            // open sockets, both sides; guarded by mu_
  std::vector<std::thread> pumps_;  // guarded by mu_
  std::thread acceptor_;
};

}  // namespace ringcast::testing

#endif  // RINGCAST_TESTS_CLIENT_TCP_PROXY_H_
