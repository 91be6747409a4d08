// Test support for the server: a real ringcast::server::Server on 127.0.0.1 (a free port), real
// gRPC channels and the generated stubs, and small synchronous publish/subscribe helpers.
#ifndef RINGCAST_TESTS_SERVER_SERVER_TEST_SUPPORT_H_
#define RINGCAST_TESTS_SERVER_SERVER_TEST_SUPPORT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "ringcast/server/options.h"
#include "ringcast/server/server.h"
#include "ringcast/v1/ringcast.grpc.pb.h"

namespace ringcast::testing {

namespace v1 = ::ringcast::v1;

// Options for a test server: 127.0.0.1 with a free port, no metrics endpoint, short timeouts.
server::ServerOptions TestOptions();

// A running server and a channel to it. Shuts the server down on destruction.
class TestServer {
 public:
  explicit TestServer(server::ServerOptions options = TestOptions());
  ~TestServer();

  [[nodiscard]] int port() const { return server_->port(); }
  [[nodiscard]] std::string address() const;
  [[nodiscard]] server::Server& server() { return *server_; }
  // A new channel (a separate HTTP/2 connection) to the server.
  [[nodiscard]] std::shared_ptr<grpc::Channel> NewChannel() const;

  [[nodiscard]] v1::EventService::Stub& events() { return *events_; }
  [[nodiscard]] v1::TopicService::Stub& topics() { return *topics_; }

  // Creates a topic, failing the test if that fails.
  v1::Topic CreateTopic(const std::string& name, uint32_t capacity = 0);
  // GetTopic's status and result.
  grpc::Status GetTopic(const std::string& name, v1::Topic* topic);

 private:
  std::unique_ptr<server::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::EventService::Stub> events_;
  std::unique_ptr<v1::TopicService::Stub> topics_;
};

// Creates a topic and returns the call's status (and the topic, if `topic` is given).
grpc::Status TryCreateTopic(TestServer& server, const std::string& name, uint32_t capacity = 0,
                            v1::Topic* topic = nullptr);
// Deletes a topic and returns the call's status.
grpc::Status DeleteTopicStatus(TestServer& server, const std::string& name);

// `status` has `code`; the failure message shows both codes and the status message.
::testing::AssertionResult HasCode(const grpc::Status& status, grpc::StatusCode code);
// `message` contains `part`.
::testing::AssertionResult Mentions(const std::string& message, const std::string& part);

// An event input with `payload` (and an optional key and headers).
v1::EventInput MakeEvent(const std::string& payload, const std::string& key = "",
                         std::vector<std::pair<std::string, std::string>> headers = {});

// A PublishRequest of `count` events with payloads "<prefix><i>".
v1::PublishRequest MakeBatch(const std::string& topic, uint64_t batch_id, int count,
                             const std::string& prefix = "e");

// Bytes of each event in a BigBatch: a few fill any stream's buffers quickly.
inline constexpr int kBigEventBytes = 16 << 10;
// A PublishRequest of `count` events of kBigEventBytes each (letters varying by batch and event).
v1::PublishRequest BigBatch(const std::string& topic, uint64_t batch_id, int count);

// `base` with a 64-slot default ring and 64 KiB subscriber queues: backpressure within a few
// BigBatches.
server::ServerOptions SmallRingOptions(server::ServerOptions base = TestOptions());

// One open Publish stream (synchronous client API).
class PublishStream {
 public:
  explicit PublishStream(v1::EventService::Stub& stub, absl::Duration deadline = absl::Seconds(60));
  ~PublishStream();

  bool Write(const v1::PublishRequest& request);
  bool Read(v1::PublishResponse* response);
  // Writes `request` and reads its response; fails the test if the stream broke.
  v1::PublishResponse Send(const v1::PublishRequest& request);
  // Half-closes and returns the stream's final status.
  grpc::Status Close();

  grpc::ClientContext& context() { return context_; }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::PublishRequest, v1::PublishResponse>> stream_;
  bool closed_ = false;
};

// Publishes one batch on a fresh stream and returns its response.
v1::PublishResponse PublishOnce(v1::EventService::Stub& stub, const v1::PublishRequest& request);

// One open Subscribe stream.
class SubscribeStream {
 public:
  SubscribeStream(v1::EventService::Stub& stub, const v1::SubscribeRequest& request,
                  absl::Duration deadline = absl::Seconds(60));
  ~SubscribeStream();

  // Waits for the initial metadata and returns ringcast-start-sequence (-1 if absent/failed).
  int64_t WaitForStart();
  bool Read(v1::SubscribeResponse* response);
  // Reads until `count` events arrived (or the stream ended); appends them to `events`.
  bool ReadEvents(std::size_t count, std::vector<v1::Event>& events, uint64_t* skipped = nullptr);
  // Finish after the server ended the stream (Read returned false).
  grpc::Status Finish();
  void Cancel() { context_.TryCancel(); }
  grpc::ClientContext& context() { return context_; }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader_;
};

// A Subscribe stream on a connection of its own, so that when it stops reading, HTTP/2 flow control
// stalls it alone and not the other streams of the test.
class OwnConnectionSubscriber {
 public:
  OwnConnectionSubscriber(TestServer& server, const v1::SubscribeRequest& request,
                          absl::Duration deadline = absl::Seconds(60));
  SubscribeStream& stream() { return stream_; }

 private:
  std::unique_ptr<v1::EventService::Stub> stub_;
  SubscribeStream stream_;
};

v1::SubscribeRequest SubscribeFromLatest(const std::string& topic);
v1::SubscribeRequest SubscribeFromEarliest(const std::string& topic);
v1::SubscribeRequest SubscribeFrom(const std::string& topic, uint64_t sequence);

// Calls unary `method` ("/package.Service/Method") with raw request bytes; the raw response bytes
// land in `response`. For the health service (no generated C++ stub ships with Debian's gRPC) and
// for sending bytes no stub would produce.
grpc::Status RawUnaryCall(grpc::Channel& channel, const std::string& method,
                          const std::string& request, std::string* response = nullptr);

// grpc.health.v1 status of the whole server: 1 SERVING, 2 NOT_SERVING, -1 if the call failed.
int HealthStatus(grpc::Channel& channel);

// Polls `condition` every millisecond until it holds or `timeout` passes (for state the server
// exposes only through its API, e.g. Topic figures). Returns whether it held.
bool Eventually(const std::function<bool()>& condition, absl::Duration timeout = absl::Seconds(10));

}  // namespace ringcast::testing

#endif  // RINGCAST_TESTS_SERVER_SERVER_TEST_SUPPORT_H_
