#include "server_test_support.h"

#include <future>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"

namespace ringcast::testing {

server::ServerOptions TestOptions() {
  server::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.metrics_listen = "";
  options.default_ring_capacity = 1024;
  options.publish_timeout = absl::Seconds(2);
  options.slow_subscriber_timeout = absl::Seconds(2);
  options.shutdown_timeout = absl::Seconds(10);
  return options;
}

TestServer::TestServer(server::ServerOptions options) {
  auto server = server::Server::Start(std::move(options));
  if (!server.ok()) {
    ADD_FAILURE() << "server did not start: " << server.status();
    std::abort();
  }
  server_ = *std::move(server);
  channel_ = NewChannel();
  events_ = v1::EventService::NewStub(channel_);
  topics_ = v1::TopicService::NewStub(channel_);
}

TestServer::~TestServer() { server_->Shutdown(); }

std::string TestServer::address() const { return absl::StrCat("127.0.0.1:", port()); }

std::shared_ptr<grpc::Channel> TestServer::NewChannel() const {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  // A separate connection per channel, so tests can model independent clients.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address(), grpc::InsecureChannelCredentials(), args);
}

v1::Topic TestServer::CreateTopic(const std::string& name, uint32_t capacity) {
  grpc::ClientContext context;
  v1::CreateTopicRequest request;
  request.set_name(name);
  request.set_capacity(capacity);
  v1::Topic topic;
  const grpc::Status status = topics_->CreateTopic(&context, request, &topic);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return topic;
}

grpc::Status TestServer::GetTopic(const std::string& name, v1::Topic* topic) {
  grpc::ClientContext context;
  v1::GetTopicRequest request;
  request.set_name(name);
  return topics_->GetTopic(&context, request, topic);
}

grpc::Status TryCreateTopic(TestServer& server, const std::string& name, uint32_t capacity,
                            v1::Topic* topic) {
  grpc::ClientContext context;
  v1::CreateTopicRequest request;
  request.set_name(name);
  request.set_capacity(capacity);
  v1::Topic ignored;
  return server.topics().CreateTopic(&context, request, topic != nullptr ? topic : &ignored);
}

grpc::Status DeleteTopicStatus(TestServer& server, const std::string& name) {
  grpc::ClientContext context;
  v1::DeleteTopicRequest request;
  request.set_name(name);
  v1::DeleteTopicResponse response;
  return server.topics().DeleteTopic(&context, request, &response);
}

::testing::AssertionResult HasCode(const grpc::Status& status, grpc::StatusCode code) {
  if (status.error_code() == code) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "status " << status.error_code() << " (\""
                                       << status.error_message() << "\"), expected " << code;
}

::testing::AssertionResult Mentions(const std::string& message, const std::string& part) {
  if (message.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "message \"" << message << "\" does not mention \"" << part << "\"";
}

v1::EventInput MakeEvent(const std::string& payload, const std::string& key,
                         std::vector<std::pair<std::string, std::string>> headers) {
  v1::EventInput event;
  event.set_payload(payload);
  event.set_key(key);
  for (auto& [name, value] : headers) (*event.mutable_headers())[name] = value;
  return event;
}

v1::PublishRequest MakeBatch(const std::string& topic, uint64_t batch_id, int count,
                             const std::string& prefix) {
  v1::PublishRequest request;
  request.set_topic(topic);
  request.set_batch_id(batch_id);
  for (int i = 0; i < count; ++i) *request.add_events() = MakeEvent(absl::StrCat(prefix, i));
  return request;
}

PublishStream::PublishStream(v1::EventService::Stub& stub, absl::Duration deadline) {
  context_.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  stream_ = stub.Publish(&context_);
}

PublishStream::~PublishStream() {
  if (!closed_) {
    context_.TryCancel();
    stream_->Finish().IgnoreError();
  }
}

bool PublishStream::Write(const v1::PublishRequest& request) { return stream_->Write(request); }

bool PublishStream::Read(v1::PublishResponse* response) { return stream_->Read(response); }

v1::PublishResponse PublishStream::Send(const v1::PublishRequest& request) {
  v1::PublishResponse response;
  EXPECT_TRUE(stream_->Write(request)) << "publish stream broke on write";
  EXPECT_TRUE(stream_->Read(&response)) << "publish stream broke on read";
  return response;
}

grpc::Status PublishStream::Close() {
  stream_->WritesDone();
  v1::PublishResponse ignored;
  while (stream_->Read(&ignored)) {
  }
  closed_ = true;
  return stream_->Finish();
}

v1::PublishResponse PublishOnce(v1::EventService::Stub& stub, const v1::PublishRequest& request) {
  PublishStream stream(stub);
  v1::PublishResponse response = stream.Send(request);
  EXPECT_TRUE(stream.Close().ok());
  return response;
}

SubscribeStream::SubscribeStream(v1::EventService::Stub& stub, const v1::SubscribeRequest& request,
                                 absl::Duration deadline) {
  context_.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  reader_ = stub.Subscribe(&context_, request);
}

SubscribeStream::~SubscribeStream() {
  if (reader_ != nullptr) {
    context_.TryCancel();
    v1::SubscribeResponse ignored;
    while (reader_->Read(&ignored)) {
    }
    reader_->Finish().IgnoreError();
  }
}

int64_t SubscribeStream::WaitForStart() {
  reader_->WaitForInitialMetadata();
  const auto& metadata = context_.GetServerInitialMetadata();
  const auto it = metadata.find("ringcast-start-sequence");
  if (it == metadata.end()) return -1;
  int64_t start = -1;
  if (!absl::SimpleAtoi(absl::string_view(it->second.data(), it->second.size()), &start)) {
    return -1;
  }
  return start;
}

bool SubscribeStream::Read(v1::SubscribeResponse* response) { return reader_->Read(response); }

bool SubscribeStream::ReadEvents(std::size_t count, std::vector<v1::Event>& events,
                                 uint64_t* skipped) {
  const std::size_t target = events.size() + count;
  v1::SubscribeResponse response;
  while (events.size() < target) {
    if (!reader_->Read(&response)) return false;
    if (skipped != nullptr) *skipped += response.skipped();
    for (auto& event : *response.mutable_events()) events.push_back(std::move(event));
  }
  return true;
}

grpc::Status SubscribeStream::Finish() {
  v1::SubscribeResponse ignored;
  while (reader_->Read(&ignored)) {
  }
  grpc::Status status = reader_->Finish();
  reader_.reset();
  return status;
}

v1::PublishRequest BigBatch(const std::string& topic, uint64_t batch_id, int count) {
  v1::PublishRequest request;
  request.set_topic(topic);
  request.set_batch_id(batch_id);
  for (int i = 0; i < count; ++i) {
    *request.add_events() = MakeEvent(std::string(
        kBigEventBytes, static_cast<char>('a' + (batch_id + static_cast<uint64_t>(i)) % 26)));
  }
  return request;
}

server::ServerOptions SmallRingOptions(server::ServerOptions base) {
  base.default_ring_capacity = 64;
  base.subscriber_queue_bytes = 64 << 10;
  return base;
}

OwnConnectionSubscriber::OwnConnectionSubscriber(TestServer& server,
                                                 const v1::SubscribeRequest& request,
                                                 absl::Duration deadline)
    : stub_(v1::EventService::NewStub(server.NewChannel())), stream_(*stub_, request, deadline) {}

v1::SubscribeRequest SubscribeFromLatest(const std::string& topic) {
  v1::SubscribeRequest request;
  request.set_topic(topic);
  request.set_position(v1::START_POSITION_LATEST);
  return request;
}

v1::SubscribeRequest SubscribeFromEarliest(const std::string& topic) {
  v1::SubscribeRequest request;
  request.set_topic(topic);
  request.set_position(v1::START_POSITION_EARLIEST);
  return request;
}

v1::SubscribeRequest SubscribeFrom(const std::string& topic, uint64_t sequence) {
  v1::SubscribeRequest request;
  request.set_topic(topic);
  request.set_from_sequence(sequence);
  return request;
}

grpc::Status RawUnaryCall(grpc::Channel& channel, const std::string& method,
                          const std::string& request, std::string* response) {
  grpc::GenericStub stub(std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  const grpc::Slice request_slice(request);
  const grpc::ByteBuffer request_buffer(&request_slice, 1);
  grpc::ByteBuffer response_buffer;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &request_buffer, &response_buffer,
                 [&](grpc::Status status) { done.set_value(std::move(status)); });
  grpc::Status status = done.get_future().get();
  if (status.ok() && response != nullptr) {
    grpc::Slice joined;
    if (response_buffer.TrySingleSlice(&joined).ok() ||
        response_buffer.DumpToSingleSlice(&joined).ok()) {
      response->assign(reinterpret_cast<const char*>(joined.begin()), joined.size());
    }
  }
  return status;
}

int HealthStatus(grpc::Channel& channel) {
  std::string response;
  // HealthCheckRequest{service: ""} encodes to nothing.
  if (!RawUnaryCall(channel, "/grpc.health.v1.Health/Check", "", &response).ok()) return -1;
  // HealthCheckResponse{status = 1}: tag 0x08 then the enum value (absent means 0, UNKNOWN).
  if (response.empty()) return 0;
  if (response.size() != 2 || response[0] != 0x08) return -1;
  return response[1];
}

bool Eventually(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace ringcast::testing
