// Bad input from clients: every malformed or out-of-limit request gets the status code the wire
// contract names, with a message saying what was wrong. A rejected batch leaves its publish stream
// open, takes no sequence, and nothing that was acknowledged is lost.
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "server_test_support.h"

namespace ringcast::testing {
namespace {

using grpc::StatusCode;

// Every call here completes in milliseconds; the deadlines only bound a failing test.
constexpr absl::Duration kStreamDeadline = absl::Seconds(5);
constexpr absl::Duration kRawCallDeadline = absl::Seconds(5);
constexpr absl::Duration kEventuallyTimeout = absl::Seconds(3);

// Publishes `bad` on `stream` and checks that it is rejected with `code`, its batch_id echoed and
// a message given. Returns the error.
v1::PublishError ExpectRejected(PublishStream& stream, const v1::PublishRequest& bad,
                                StatusCode code) {
  const v1::PublishResponse response = stream.Send(bad);
  EXPECT_EQ(response.batch_id(), bad.batch_id());
  EXPECT_TRUE(response.has_error()) << "accepted at sequence " << response.ack().first_sequence();
  EXPECT_EQ(response.error().code(), static_cast<int>(code)) << response.error().message();
  EXPECT_FALSE(response.error().message().empty());
  return response.error();
}

// Publishes one event to `topic` on `stream` and checks that it is acked at `expected_sequence`:
// the stream survived whatever was sent before, and nothing rejected took a sequence.
void ExpectAcked(PublishStream& stream, const std::string& topic, uint64_t expected_sequence) {
  const uint64_t batch_id = 1'000'000 + expected_sequence;
  const v1::PublishResponse response = stream.Send(MakeBatch(topic, batch_id, 1));
  ASSERT_TRUE(response.has_ack()) << response.error().message();
  EXPECT_EQ(response.batch_id(), batch_id);
  EXPECT_EQ(response.ack().first_sequence(), expected_sequence);
  EXPECT_EQ(response.ack().count(), 1u);
}

std::vector<std::string> TopicNames(TestServer& server) {
  grpc::ClientContext context;
  v1::ListTopicsResponse list;
  const grpc::Status status = server.topics().ListTopics(&context, {}, &list);
  EXPECT_TRUE(status.ok()) << status.error_message();
  std::vector<std::string> names;
  for (const v1::Topic& topic : list.topics()) names.push_back(topic.name());
  return names;
}

// The final status of a subscription that the server is expected to refuse; OK (naming the start)
// if the server accepted it instead.
grpc::Status SubscribeStatus(TestServer& server, const v1::SubscribeRequest& request) {
  SubscribeStream subscriber(server.events(), request, kStreamDeadline);
  if (const int64_t start = subscriber.WaitForStart(); start >= 0) {
    subscriber.Cancel();
    subscriber.Finish().IgnoreError();
    return grpc::Status(StatusCode::OK, absl::StrCat("subscription accepted, starting at ", start));
  }
  return subscriber.Finish();
}

// Topic names the contract ([A-Za-z0-9._-]{1,249}) does not allow.
std::vector<std::string> InvalidTopicNames() {
  return {"", std::string(250, 'a'), "a/b", "a b", "caf\xc3\xa9", "tab\tname", "a:b", "a*"};
}

// A 249-byte name using every kind of character the contract allows.
std::string LongestValidTopicName() {
  const std::string alphabet = "ABCXYZabcxyz0189._-";
  std::string name;
  while (name.size() < 249) name += alphabet;
  name.resize(249);
  return name;
}

// --- Raw bytes on the wire (grpc::GenericStub) ---

grpc::ByteBuffer ToByteBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string ToBytes(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (!buffer.Dump(&slices).ok()) return bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return bytes;
}

// A streaming call by method name carrying raw bytes, driven one operation at a time on its own
// completion queue. Works for server-streaming methods too (write one request, then WritesDone).
class RawStream {
 public:
  RawStream(const std::shared_ptr<grpc::Channel>& channel, const std::string& method) {
    context_.set_deadline(absl::ToChronoTime(absl::Now() + kRawCallDeadline));
    grpc::GenericStub stub(channel);
    call_ = stub.PrepareCall(&context_, method, &cq_);
    call_->StartCall(this);
    started_ = Await();
  }

  ~RawStream() {
    if (!finished_) {
      context_.TryCancel();
      grpc::Status ignored;
      call_->Finish(&ignored, this);
      Await();
    }
    cq_.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (cq_.Next(&tag, &ok)) {
    }
  }

  [[nodiscard]] bool started() const { return started_; }

  bool Write(const std::string& bytes) {
    const grpc::ByteBuffer buffer = ToByteBuffer(bytes);
    call_->Write(buffer, this);
    return Await();
  }

  bool WritesDone() {
    call_->WritesDone(this);
    return Await();
  }

  bool Read(std::string* bytes) {
    grpc::ByteBuffer buffer;
    call_->Read(&buffer, this);
    if (!Await()) return false;
    *bytes = ToBytes(buffer);
    return true;
  }

  grpc::Status Finish() {
    grpc::Status status;
    call_->Finish(&status, this);
    Await();
    finished_ = true;
    return status;
  }

 private:
  // Waits for the one operation in flight.
  bool Await() {
    void* tag = nullptr;
    bool ok = false;
    return cq_.Next(&tag, &ok) && ok;
  }

  grpc::CompletionQueue cq_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call_;
  bool started_ = false;
  bool finished_ = false;
};

// Byte strings that are not a valid encoding of the request messages.
struct Garbage {
  std::string what;
  std::string bytes;
  bool needs_string_field_1 = false;  // malformed only for messages whose field 1 is a string
};

std::vector<Garbage> MalformedRequests() {
  return {
      {"all-ones bytes: an unterminated tag varint", std::string("\xff\xff\xff\xff", 4)},
      {"a truncated varint value (field 3)", std::string("\x18\x80", 2)},
      {"a length prefix longer than the message", std::string("\x12\x05\x0a\x01", 4)},
      {"field 1 (a string) holding invalid UTF-8", std::string("\x0a\x02\xc3\x28", 4), true},
      {"a group end tag without its start", std::string("\x0c", 1)},
  };
}

const std::string kPublishMethod = "/ringcast.v1.EventService/Publish";
const std::string kSubscribeMethod = "/ringcast.v1.EventService/Subscribe";

// --- Publish: per-batch errors ---

TEST(BadInputPublishTest, RejectsInvalidTopicNamesPerBatchAndKeepsTheStreamOpen) {
  TestServer server;
  PublishStream stream(server.events(), kStreamDeadline);
  uint64_t next = 0;
  uint64_t batch_id = 10;
  for (const std::string& name : InvalidTopicNames()) {
    SCOPED_TRACE(absl::StrCat("topic name \"", absl::CHexEscape(name), "\""));
    v1::PublishRequest bad = MakeBatch(name, batch_id++, 2);
    const v1::PublishError error = ExpectRejected(stream, bad, StatusCode::INVALID_ARGUMENT);
    if (name.size() > 249) {
      EXPECT_TRUE(Mentions(error.message(), "249"));
    } else if (!name.empty()) {
      EXPECT_TRUE(Mentions(error.message(), "A-Za-z0-9._-"));
    }
    ExpectAcked(stream, "good", next++);
  }
  EXPECT_EQ(TopicNames(server), std::vector<std::string>{"good"});
  EXPECT_TRUE(stream.Close().ok());
}

TEST(BadInputPublishTest, AcceptsATopicNameOf249AllowedCharacters) {
  TestServer server;
  const std::string name = LongestValidTopicName();
  SubscribeStream subscriber(server.events(), SubscribeFromLatest(name), kStreamDeadline);
  ASSERT_EQ(subscriber.WaitForStart(), 0);
  PublishStream stream(server.events(), kStreamDeadline);
  const v1::PublishResponse response = stream.Send(MakeBatch(name, 3, 2));
  ASSERT_TRUE(response.has_ack()) << response.error().message();
  EXPECT_EQ(response.ack().first_sequence(), 0u);
  EXPECT_EQ(response.ack().count(), 2u);
  std::vector<v1::Event> events;
  ASSERT_TRUE(subscriber.ReadEvents(2, events));
  EXPECT_EQ(events[0].payload(), "e0");
  EXPECT_EQ(events[1].payload(), "e1");
  v1::Topic topic;
  ASSERT_TRUE(server.GetTopic(name, &topic).ok());
  EXPECT_EQ(topic.name(), name);
  EXPECT_TRUE(stream.Close().ok());
}

TEST(BadInputPublishTest, RejectsAnEmptyBatch) {
  TestServer server;
  PublishStream stream(server.events(), kStreamDeadline);
  ExpectAcked(stream, "t", 0);
  ExpectRejected(stream, MakeBatch("t", 5, 0), StatusCode::INVALID_ARGUMENT);
  ExpectAcked(stream, "t", 1);
  ExpectRejected(stream, MakeBatch("t", 6, 0), StatusCode::INVALID_ARGUMENT);
  ExpectAcked(stream, "t", 2);
  EXPECT_TRUE(stream.Close().ok());
}

TEST(BadInputPublishTest, RejectsEventsAboveMaxEventBytesCountingKeyPayloadAndHeaders) {
  server::ServerOptions options = TestOptions();
  options.max_event_bytes = 1024;
  TestServer server(options);
  const std::string p1000(1000, 'p');
  const std::string s = "s";  // one byte more
  const std::vector<v1::EventInput> at_limit = {
      MakeEvent(std::string(1024, 'p')),
      MakeEvent(p1000, std::string(24, 'k')),
      MakeEvent(p1000, "", {{"h-name", std::string(18, 'v')}}),
      MakeEvent(p1000, "key", {{"a", std::string(10, 'v')}, {"bb", std::string(8, 'v')}}),
      MakeEvent("", std::string(1024, 'k')),
      MakeEvent("", "", {{std::string(1024, 'n'), ""}}),
  };
  const std::vector<v1::EventInput> over_limit = {
      MakeEvent(std::string(1025, 'p')),
      MakeEvent(p1000, std::string(25, 'k')),
      MakeEvent(p1000, "", {{"h-name", std::string(19, 'v')}}),
      MakeEvent(p1000, "key", {{"a", std::string(10, 'v')}, {"bb", std::string(9, 'v')}}),
      MakeEvent("", std::string(1025, 'k')),
      MakeEvent("", "", {{std::string(1025, 'n'), ""}}),
  };
  PublishStream stream(server.events(), kStreamDeadline);
  uint64_t next = 0;
  uint64_t batch_id = 1;
  for (std::size_t i = 0; i < at_limit.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("event at the limit #", i));
    v1::PublishRequest request;
    request.set_topic("t");
    request.set_batch_id(batch_id++);
    *request.add_events() = at_limit[i];
    const v1::PublishResponse response = stream.Send(request);
    ASSERT_TRUE(response.has_ack()) << response.error().message();
    EXPECT_EQ(response.ack().first_sequence(), next++);
  }
  for (std::size_t i = 0; i < over_limit.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("event over the limit #", i));
    v1::PublishRequest request;
    request.set_topic("t");
    request.set_batch_id(batch_id++);
    *request.add_events() = over_limit[i];
    const v1::PublishError error = ExpectRejected(stream, request, StatusCode::INVALID_ARGUMENT);
    EXPECT_TRUE(Mentions(error.message(), "1024"));
    ExpectAcked(stream, "t", next++);
  }
  // One oversized event rejects its whole batch: none of its events is published.
  v1::PublishRequest mixed;
  mixed.set_topic("t");
  mixed.set_batch_id(batch_id++);
  *mixed.add_events() = MakeEvent("small");
  *mixed.add_events() = at_limit[0];
  *mixed.add_events() = over_limit[2];
  ExpectRejected(stream, mixed, StatusCode::INVALID_ARGUMENT);
  ExpectAcked(stream, "t", next++);
  EXPECT_TRUE(stream.Close().ok());

  // Every accepted event is there, in order, with its content.
  SubscribeStream subscriber(server.events(), SubscribeFromEarliest("t"), kStreamDeadline);
  ASSERT_EQ(subscriber.WaitForStart(), 0);
  std::vector<v1::Event> events;
  ASSERT_TRUE(subscriber.ReadEvents(next, events));
  ASSERT_EQ(events.size(), next);
  for (uint64_t i = 0; i < next; ++i) EXPECT_EQ(events[i].sequence(), i);
  for (std::size_t i = 0; i < at_limit.size(); ++i) {
    EXPECT_EQ(events[i].key(), at_limit[i].key());
    EXPECT_EQ(events[i].payload(), at_limit[i].payload());
    EXPECT_EQ(events[i].headers().size(), at_limit[i].headers().size());
  }
}

TEST(BadInputPublishTest, RejectsABatchLargerThanTheRing) {
  TestServer server;
  server.CreateTopic("small", 8);
  PublishStream stream(server.events(), kStreamDeadline);
  ExpectRejected(stream, MakeBatch("small", 1, 9), StatusCode::INVALID_ARGUMENT);
  const v1::PublishResponse whole_ring = stream.Send(MakeBatch("small", 2, 8));
  ASSERT_TRUE(whole_ring.has_ack()) << whole_ring.error().message();
  EXPECT_EQ(whole_ring.ack().first_sequence(), 0u);
  EXPECT_EQ(whole_ring.ack().count(), 8u);
  ExpectRejected(stream, MakeBatch("small", 3, 100), StatusCode::INVALID_ARGUMENT);
  ExpectAcked(stream, "small", 8);
  // An auto-created topic gets the default capacity (1024 in tests).
  ExpectRejected(stream, MakeBatch("auto", 4, 1025), StatusCode::INVALID_ARGUMENT);
  const v1::PublishResponse default_ring = stream.Send(MakeBatch("auto", 5, 1024));
  ASSERT_TRUE(default_ring.has_ack()) << default_ring.error().message();
  EXPECT_EQ(default_ring.ack().first_sequence(), 0u);
  EXPECT_EQ(default_ring.ack().count(), 1024u);
  v1::Topic small;
  ASSERT_TRUE(server.GetTopic("small", &small).ok());
  EXPECT_EQ(small.next_sequence(), 9u);
  EXPECT_TRUE(stream.Close().ok());
}

TEST(BadInputPublishTest, UnknownTopicIsNotFoundPerBatchWhenAutoCreationIsOff) {
  server::ServerOptions options = TestOptions();
  options.auto_create_topics = false;
  TestServer server(options);
  server.CreateTopic("known");
  PublishStream stream(server.events(), kStreamDeadline);
  const v1::PublishError error =
      ExpectRejected(stream, MakeBatch("missing", 21, 1), StatusCode::NOT_FOUND);
  EXPECT_TRUE(Mentions(error.message(), "missing"));
  ExpectAcked(stream, "known", 0);
  ExpectRejected(stream, MakeBatch("missing", 22, 3), StatusCode::NOT_FOUND);
  ExpectAcked(stream, "known", 1);
  EXPECT_EQ(TopicNames(server), std::vector<std::string>{"known"});
  // Once the topic exists, the same stream publishes to it.
  server.CreateTopic("missing");
  ExpectAcked(stream, "missing", 0);
  EXPECT_TRUE(stream.Close().ok());
}

TEST(BadInputPublishTest, PipelinedBatchesGetOneResponseEachInRequestOrderWithTheirBatchIds) {
  server::ServerOptions options = TestOptions();
  options.max_event_bytes = 64;
  TestServer server(options);
  server.CreateTopic("ring", 4);
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  struct Case {
    v1::PublishRequest request;
    bool accepted;
  };
  v1::PublishRequest oversized = MakeBatch("t", 77, 1);
  *oversized.add_events() = MakeEvent(std::string(65, 'x'));
  const std::vector<Case> cases = {
      {MakeBatch("t", kMax, 2), true},
      {MakeBatch("", 0, 1), false},
      {MakeBatch("t", 0, 1), true},
      {MakeBatch("t", 12, 0), false},
      {oversized, false},
      {MakeBatch("ring", kMax - 1, 5), false},
      {MakeBatch("a/b", kMax, 1), false},
      {MakeBatch("t", uint64_t{1} << 40, 3), true},
      {MakeBatch("ring", uint64_t{1} << 20, 4), true},
  };
  PublishStream stream(server.events(), kStreamDeadline);
  for (const Case& c : cases) ASSERT_TRUE(stream.Write(c.request));
  uint64_t next_t = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("request #", i));
    v1::PublishResponse response;
    ASSERT_TRUE(stream.Read(&response));
    EXPECT_EQ(response.batch_id(), cases[i].request.batch_id());
    ASSERT_EQ(response.has_ack(), cases[i].accepted) << response.error().message();
    if (!cases[i].accepted) {
      EXPECT_EQ(response.error().code(), static_cast<int>(StatusCode::INVALID_ARGUMENT));
    } else if (cases[i].request.topic() == "t") {
      EXPECT_EQ(response.ack().first_sequence(), next_t);
      next_t += cases[i].request.events_size();
    }
  }
  EXPECT_TRUE(stream.Close().ok());
}

TEST(BadInputPublishTest, AcceptsAMessageOfFourEventsOfMaxEventBytes) {
  server::ServerOptions options = TestOptions();
  options.max_event_bytes = 2 << 20;  // so the receive limit (8 MiB and framing) is above 4 MiB
  TestServer server(options);
  v1::PublishRequest request;
  request.set_topic("big");
  request.set_batch_id(4);
  const std::size_t header_bytes = 6 + 10;
  for (int i = 0; i < 4; ++i) {
    *request.add_events() = MakeEvent(
        std::string(options.max_event_bytes - 1024 - header_bytes, static_cast<char>('a' + i)),
        std::string(1024, 'k'), {{"header", std::string(10, 'v')}});
  }
  ASSERT_GT(request.ByteSizeLong(), 4u * options.max_event_bytes);
  PublishStream stream(server.events(), kStreamDeadline);
  const v1::PublishResponse response = stream.Send(request);
  ASSERT_TRUE(response.has_ack()) << response.error().message();
  EXPECT_EQ(response.ack().first_sequence(), 0u);
  EXPECT_EQ(response.ack().count(), 4u);
  EXPECT_TRUE(stream.Close().ok());
}

TEST(BadInputPublishTest, MessageAboveTheReceiveLimitEndsTheStreamWithResourceExhausted) {
  server::ServerOptions options = TestOptions();
  TestServer server(options);
  {
    PublishStream stream(server.events(), kStreamDeadline);
    ExpectAcked(stream, "t", 0);
    v1::PublishRequest huge;
    huge.set_topic("t");
    huge.set_batch_id(2);
    *huge.add_events() = MakeEvent(std::string(options.MaxReceiveMessageBytes(), 'x'));
    ASSERT_GT(huge.ByteSizeLong(), static_cast<std::size_t>(options.MaxReceiveMessageBytes()));
    stream.Write(huge);  // may or may not report the failure yet
    v1::PublishResponse response;
    EXPECT_FALSE(stream.Read(&response)) << "got a response for batch " << response.batch_id();
    EXPECT_TRUE(HasCode(stream.Close(), StatusCode::RESOURCE_EXHAUSTED));
  }
  // The server goes on serving, on the same connection and on new ones, and kept what it acked.
  {
    PublishStream stream(server.events(), kStreamDeadline);
    ExpectAcked(stream, "t", 1);
    EXPECT_TRUE(stream.Close().ok());
  }
  auto other = v1::EventService::NewStub(server.NewChannel());
  {
    PublishStream stream(*other, kStreamDeadline);
    ExpectAcked(stream, "t", 2);
    EXPECT_TRUE(stream.Close().ok());
  }
  SubscribeStream subscriber(*other, SubscribeFromEarliest("t"), kStreamDeadline);
  ASSERT_EQ(subscriber.WaitForStart(), 0);
  std::vector<v1::Event> events;
  ASSERT_TRUE(subscriber.ReadEvents(3, events));
  for (uint64_t i = 0; i < 3; ++i) EXPECT_EQ(events[i].sequence(), i);
}

// --- Malformed bytes on the wire ---

TEST(BadInputWireTest, MalformedPublishRequestsAreRejectedPerMessageAndTheStreamStaysOpen) {
  TestServer server;
  RawStream call(server.NewChannel(), kPublishMethod);
  ASSERT_TRUE(call.started());
  uint64_t next = 0;
  const auto expect_good_batch_acked = [&] {
    const uint64_t batch_id = 500 + next;
    ASSERT_TRUE(call.Write(MakeBatch("t", batch_id, 1).SerializeAsString()));
    std::string bytes;
    ASSERT_TRUE(call.Read(&bytes)) << "the stream ended";
    v1::PublishResponse response;
    ASSERT_TRUE(response.ParseFromString(bytes));
    ASSERT_TRUE(response.has_ack()) << response.error().message();
    EXPECT_EQ(response.batch_id(), batch_id);
    EXPECT_EQ(response.ack().first_sequence(), next++);
  };
  expect_good_batch_acked();
  for (const Garbage& garbage : MalformedRequests()) {
    SCOPED_TRACE(garbage.what);
    ASSERT_TRUE(call.Write(garbage.bytes));
    std::string bytes;
    ASSERT_TRUE(call.Read(&bytes)) << "the stream ended";
    v1::PublishResponse response;
    ASSERT_TRUE(response.ParseFromString(bytes));
    ASSERT_TRUE(response.has_error()) << "accepted at " << response.ack().first_sequence();
    EXPECT_EQ(response.batch_id(), 0u);
    EXPECT_EQ(response.error().code(), static_cast<int>(StatusCode::INVALID_ARGUMENT));
    EXPECT_FALSE(response.error().message().empty());
    expect_good_batch_acked();
  }
  ASSERT_TRUE(call.WritesDone());
  std::string ignored;
  EXPECT_FALSE(call.Read(&ignored));
  EXPECT_TRUE(call.Finish().ok());
  v1::Topic topic;
  ASSERT_TRUE(server.GetTopic("t", &topic).ok());
  EXPECT_EQ(topic.next_sequence(), next);
}

TEST(BadInputWireTest, InvalidUtf8InAnEventKeyRejectsTheBatch) {
  TestServer server;
  RawStream call(server.NewChannel(), kPublishMethod);
  ASSERT_TRUE(call.started());
  v1::PublishRequest request = MakeBatch("t", 9, 1);
  request.mutable_events(0)->set_key("valid");
  std::string bytes = request.SerializeAsString();
  const std::size_t at = bytes.find("valid");
  ASSERT_NE(at, std::string::npos);
  bytes[at] = '\xff';
  ASSERT_TRUE(call.Write(bytes));
  std::string reply;
  ASSERT_TRUE(call.Read(&reply));
  v1::PublishResponse response;
  ASSERT_TRUE(response.ParseFromString(reply));
  ASSERT_TRUE(response.has_error());
  EXPECT_EQ(response.error().code(), static_cast<int>(StatusCode::INVALID_ARGUMENT));
  ASSERT_TRUE(call.Write(MakeBatch("t", 10, 1).SerializeAsString()));
  ASSERT_TRUE(call.Read(&reply));
  ASSERT_TRUE(response.ParseFromString(reply));
  ASSERT_TRUE(response.has_ack()) << response.error().message();
  EXPECT_EQ(response.batch_id(), 10u);
  EXPECT_EQ(response.ack().first_sequence(), 0u);
  ASSERT_TRUE(call.WritesDone());
  EXPECT_FALSE(call.Read(&reply));
  EXPECT_TRUE(call.Finish().ok());
}

TEST(BadInputWireTest, MalformedSubscribeRequestEndsTheStreamWithInvalidArgument) {
  TestServer server;
  server.CreateTopic("t");
  for (const Garbage& garbage : MalformedRequests()) {
    SCOPED_TRACE(garbage.what);
    RawStream call(server.NewChannel(), kSubscribeMethod);
    ASSERT_TRUE(call.started());
    call.Write(garbage.bytes);
    call.WritesDone();
    std::string bytes;
    EXPECT_FALSE(call.Read(&bytes)) << "got a response";
    const grpc::Status status = call.Finish();
    EXPECT_TRUE(HasCode(status, StatusCode::INVALID_ARGUMENT));
    EXPECT_FALSE(status.error_message().empty());
  }
  EXPECT_EQ(TopicNames(server), std::vector<std::string>{"t"});
  // A well-formed request on the same path works.
  RawStream call(server.NewChannel(), kSubscribeMethod);
  ASSERT_TRUE(call.started());
  ASSERT_TRUE(call.Write(SubscribeFromEarliest("t").SerializeAsString()));
  ASSERT_TRUE(call.WritesDone());
  PublishOnce(server.events(), MakeBatch("t", 1, 1));
  std::string bytes;
  ASSERT_TRUE(call.Read(&bytes));
  v1::SubscribeResponse response;
  ASSERT_TRUE(response.ParseFromString(bytes));
  ASSERT_EQ(response.events_size(), 1);
  EXPECT_EQ(response.events(0).sequence(), 0u);
}

TEST(BadInputWireTest, MalformedTopicServiceRequestsAreInvalidArgument) {
  TestServer server;
  const std::vector<std::string> methods = {
      "/ringcast.v1.TopicService/CreateTopic", "/ringcast.v1.TopicService/GetTopic",
      "/ringcast.v1.TopicService/ListTopics", "/ringcast.v1.TopicService/DeleteTopic"};
  const std::shared_ptr<grpc::Channel> channel = server.NewChannel();
  for (const std::string& method : methods) {
    for (const Garbage& garbage : MalformedRequests()) {
      SCOPED_TRACE(absl::StrCat(method, ": ", garbage.what));
      // ListTopicsRequest has no fields: bytes in field 1 are an unknown field there, not an error.
      if (method.ends_with("ListTopics") && garbage.needs_string_field_1) continue;
      const grpc::Status status = RawUnaryCall(*channel, method, garbage.bytes);
      EXPECT_TRUE(HasCode(status, StatusCode::INVALID_ARGUMENT));
      EXPECT_FALSE(status.error_message().empty());
    }
  }
  EXPECT_TRUE(TopicNames(server).empty());
  // Well-formed raw requests still work.
  v1::CreateTopicRequest create;
  create.set_name("t");
  create.set_capacity(16);
  std::string bytes;
  ASSERT_TRUE(RawUnaryCall(*channel, methods[0], create.SerializeAsString(), &bytes).ok());
  v1::Topic topic;
  ASSERT_TRUE(topic.ParseFromString(bytes));
  EXPECT_EQ(topic.name(), "t");
  EXPECT_EQ(topic.capacity(), 16u);
}

// --- Subscribe ---

TEST(BadInputSubscribeTest, RejectsInvalidTopicNames) {
  TestServer server;
  for (const std::string& name : InvalidTopicNames()) {
    SCOPED_TRACE(absl::StrCat("topic name \"", absl::CHexEscape(name), "\""));
    const grpc::Status status = SubscribeStatus(server, SubscribeFromLatest(name));
    EXPECT_TRUE(HasCode(status, StatusCode::INVALID_ARGUMENT));
    EXPECT_FALSE(status.error_message().empty());
  }
  EXPECT_TRUE(TopicNames(server).empty());
}

TEST(BadInputSubscribeTest, UnknownTopicIsNotFoundWhenAutoCreationIsOff) {
  server::ServerOptions options = TestOptions();
  options.auto_create_topics = false;
  TestServer server(options);
  const grpc::Status status = SubscribeStatus(server, SubscribeFromLatest("missing"));
  EXPECT_TRUE(HasCode(status, StatusCode::NOT_FOUND));
  EXPECT_TRUE(Mentions(status.error_message(), "missing"));
  EXPECT_TRUE(TopicNames(server).empty());
}

TEST(BadInputSubscribeTest, FromSequenceBeyondTheNextIsOutOfRangeNamingTheRetainedRange) {
  TestServer server;
  server.CreateTopic("t", 8);
  PublishStream publisher(server.events(), kStreamDeadline);
  for (int b = 0; b < 5; ++b) ASSERT_TRUE(publisher.Send(MakeBatch("t", b, 4)).has_ack());
  // 20 published, 8 retained: 12..19; 20 is the next.
  for (const uint64_t from : {uint64_t{21}, uint64_t{1000}, std::numeric_limits<uint64_t>::max()}) {
    SCOPED_TRACE(absl::StrCat("from_sequence ", from));
    const grpc::Status status = SubscribeStatus(server, SubscribeFrom("t", from));
    EXPECT_TRUE(HasCode(status, StatusCode::OUT_OF_RANGE));
    EXPECT_TRUE(Mentions(status.error_message(), "12"));
    EXPECT_TRUE(Mentions(status.error_message(), "20"));
  }
  SubscribeStream subscriber(server.events(), SubscribeFrom("t", 20), kStreamDeadline);
  EXPECT_EQ(subscriber.WaitForStart(), 20);
}

TEST(BadInputSubscribeTest, FromAnOverwrittenSequenceIsOutOfRangeNamingTheRetainedRange) {
  TestServer server;
  server.CreateTopic("t", 8);
  PublishStream publisher(server.events(), kStreamDeadline);
  for (int b = 0; b < 5; ++b) ASSERT_TRUE(publisher.Send(MakeBatch("t", b, 4)).has_ack());
  for (const uint64_t from : {uint64_t{0}, uint64_t{3}, uint64_t{11}}) {
    SCOPED_TRACE(absl::StrCat("from_sequence ", from));
    const grpc::Status status = SubscribeStatus(server, SubscribeFrom("t", from));
    EXPECT_TRUE(HasCode(status, StatusCode::OUT_OF_RANGE));
    EXPECT_TRUE(Mentions(status.error_message(), "12"));
    EXPECT_TRUE(Mentions(status.error_message(), "20"));
  }
  // The oldest retained sequence is still readable, with its own payload.
  SubscribeStream subscriber(server.events(), SubscribeFrom("t", 12), kStreamDeadline);
  ASSERT_EQ(subscriber.WaitForStart(), 12);
  std::vector<v1::Event> events;
  ASSERT_TRUE(subscriber.ReadEvents(8, events));
  for (uint64_t i = 0; i < 8; ++i) {
    EXPECT_EQ(events[i].sequence(), 12 + i);
    EXPECT_EQ(events[i].payload(), absl::StrCat("e", i % 4));
  }
}

TEST(BadInputSubscribeTest, RejectsUnknownStartPositionAndDeliveryMode) {
  TestServer server;
  server.CreateTopic("t");
  for (const int value : {3, 7, 1000, -1}) {
    SCOPED_TRACE(absl::StrCat("value ", value));
    v1::SubscribeRequest position = SubscribeFromLatest("t");
    position.set_position(static_cast<v1::StartPosition>(value));
    const grpc::Status position_status = SubscribeStatus(server, position);
    EXPECT_TRUE(HasCode(position_status, StatusCode::INVALID_ARGUMENT));
    EXPECT_FALSE(position_status.error_message().empty());

    v1::SubscribeRequest mode = SubscribeFromLatest("t");
    mode.set_mode(static_cast<v1::DeliveryMode>(value));
    const grpc::Status mode_status = SubscribeStatus(server, mode);
    EXPECT_TRUE(HasCode(mode_status, StatusCode::INVALID_ARGUMENT));
    EXPECT_FALSE(mode_status.error_message().empty());
  }
  v1::Topic topic;
  ASSERT_TRUE(server.GetTopic("t", &topic).ok());
  EXPECT_EQ(topic.subscribers(), 0u);
}

TEST(BadInputSubscribeTest, SubscribersBeyondThePerTopicLimitAreResourceExhausted) {
  server::ServerOptions options = TestOptions();
  options.max_subscribers_per_topic = 2;
  TestServer server(options);
  auto first =
      std::make_unique<SubscribeStream>(server.events(), SubscribeFromLatest("t"), kStreamDeadline);
  SubscribeStream second(server.events(), SubscribeFromLatest("t"), kStreamDeadline);
  ASSERT_EQ(first->WaitForStart(), 0);
  ASSERT_EQ(second.WaitForStart(), 0);
  const grpc::Status third = SubscribeStatus(server, SubscribeFromLatest("t"));
  EXPECT_TRUE(HasCode(third, StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_FALSE(third.error_message().empty());
  // The limit is per topic.
  SubscribeStream elsewhere(server.events(), SubscribeFromLatest("other"), kStreamDeadline);
  EXPECT_EQ(elsewhere.WaitForStart(), 0);
  // Once a subscriber leaves, there is room again.
  first.reset();
  ASSERT_TRUE(Eventually(
      [&] {
        v1::Topic topic;
        return server.GetTopic("t", &topic).ok() && topic.subscribers() == 1;
      },
      kEventuallyTimeout));
  SubscribeStream replacement(server.events(), SubscribeFromLatest("t"), kStreamDeadline);
  EXPECT_EQ(replacement.WaitForStart(), 0);
}

// --- Server-wide limits ---

TEST(BadInputLimitsTest, CreateTopicBeyondMaxTopicsIsResourceExhausted) {
  server::ServerOptions options = TestOptions();
  options.max_topics = 2;
  TestServer server(options);
  ASSERT_TRUE(TryCreateTopic(server, "a").ok());
  ASSERT_TRUE(TryCreateTopic(server, "b").ok());
  const grpc::Status status = TryCreateTopic(server, "c");
  EXPECT_TRUE(HasCode(status, StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_FALSE(status.error_message().empty());
  EXPECT_EQ(TopicNames(server), (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(DeleteTopicStatus(server, "a").ok());
  EXPECT_TRUE(TryCreateTopic(server, "c").ok());
}

TEST(BadInputLimitsTest, AutoCreationBeyondMaxTopicsIsResourceExhausted) {
  server::ServerOptions options = TestOptions();
  options.max_topics = 1;
  TestServer server(options);
  PublishStream stream(server.events(), kStreamDeadline);
  ExpectAcked(stream, "a", 0);
  ExpectRejected(stream, MakeBatch("b", 31, 2), StatusCode::RESOURCE_EXHAUSTED);
  ExpectAcked(stream, "a", 1);
  ExpectRejected(stream, MakeBatch("c", 32, 1), StatusCode::RESOURCE_EXHAUSTED);
  ExpectAcked(stream, "a", 2);
  const grpc::Status subscribe = SubscribeStatus(server, SubscribeFromLatest("d"));
  EXPECT_TRUE(HasCode(subscribe, StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_EQ(TopicNames(server), std::vector<std::string>{"a"});
  EXPECT_TRUE(stream.Close().ok());
}

TEST(BadInputLimitsTest, PublishStreamsBeyondMaxPublishStreamsAreResourceExhausted) {
  server::ServerOptions options = TestOptions();
  options.max_publish_streams = 2;
  TestServer server(options);
  auto first = std::make_unique<PublishStream>(server.events(), kStreamDeadline);
  PublishStream second(server.events(), kStreamDeadline);
  ExpectAcked(*first, "t", 0);
  ExpectAcked(second, "t", 1);
  {
    PublishStream third(server.events(), kStreamDeadline);
    third.Write(MakeBatch("t", 3, 1));  // may or may not report the failure yet
    v1::PublishResponse response;
    EXPECT_FALSE(third.Read(&response)) << "batch " << response.batch_id() << " was answered";
    const grpc::Status status = third.Close();
    EXPECT_TRUE(HasCode(status, StatusCode::RESOURCE_EXHAUSTED));
    EXPECT_FALSE(status.error_message().empty());
  }
  // The open streams are unaffected; once one closes, a new stream is accepted.
  ExpectAcked(second, "t", 2);
  EXPECT_TRUE(first->Close().ok());
  first.reset();
  ASSERT_TRUE(Eventually(
      [&] {
        v1::Topic topic;
        return server.GetTopic("t", &topic).ok() && topic.publish_streams() == 1;
      },
      kEventuallyTimeout));
  PublishStream replacement(server.events(), kStreamDeadline);
  ExpectAcked(replacement, "t", 3);
  EXPECT_TRUE(replacement.Close().ok());
  EXPECT_TRUE(second.Close().ok());
}

}  // namespace
}  // namespace ringcast::testing
