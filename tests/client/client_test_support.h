// Test support for the client library: channels to a real test server (directly or through a
// TcpProxy), and reading a topic back with the generated stubs, independently of the library.
#ifndef RINGCAST_TESTS_CLIENT_CLIENT_TEST_SUPPORT_H_
#define RINGCAST_TESTS_CLIENT_CLIENT_TEST_SUPPORT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "ringcast/client/connection.h"
#include "server_test_support.h"

namespace ringcast::testing {

// A channel made by the library to 127.0.0.1:port.
inline std::shared_ptr<grpc::Channel> ClientChannel(int port) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      client::Connect({.target = absl::StrCat("127.0.0.1:", port)});
  EXPECT_TRUE(channel.ok()) << channel.status();
  return channel.ok() ? *channel : nullptr;
}

// Options for a server listening on a given port (to restart a server where the last one was).
inline server::ServerOptions OptionsOnPort(int port) {
  server::ServerOptions options = TestOptions();
  options.listen = absl::StrCat("127.0.0.1:", port);
  return options;
}

// Every event of `topic` from the oldest retained, read with the generated stub (not the library
// under test), until `count` arrived.
inline std::vector<v1::Event> ReadTopic(TestServer& server, const std::string& topic,
                                        std::size_t count) {
  SubscribeStream stream(server.events(), SubscribeFromEarliest(topic));
  std::vector<v1::Event> events;
  EXPECT_TRUE(stream.ReadEvents(count, events));
  stream.Cancel();
  return events;
}

}  // namespace ringcast::testing

#endif  // RINGCAST_TESTS_CLIENT_CLIENT_TEST_SUPPORT_H_
