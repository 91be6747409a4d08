// The generated code carries the public names and field numbers of the wire contract; a change
// here breaks every client written against the .proto, so the contract is pinned down.
#include <gtest/gtest.h>

#include <string>

#include "ringcast/v1/ringcast.grpc.pb.h"
#include "ringcast/v1/ringcast.pb.h"

namespace ringcast::v1 {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;

const ServiceDescriptor* Service(const std::string& name) {
  return PublishRequest::descriptor()->file()->FindServiceByName(name);
}

void ExpectField(const Descriptor* message, const std::string& name, int number,
                 FieldDescriptor::Type type, bool repeated = false) {
  const FieldDescriptor* field = message->FindFieldByName(name);
  ASSERT_NE(field, nullptr) << message->full_name() << "." << name;
  EXPECT_EQ(field->number(), number) << message->full_name() << "." << name;
  EXPECT_EQ(field->type(), type) << message->full_name() << "." << name;
  EXPECT_EQ(field->is_repeated(), repeated) << message->full_name() << "." << name;
}

void ExpectMethod(const ServiceDescriptor* service, const std::string& name,
                  const std::string& input, const std::string& output, bool client_streaming,
                  bool server_streaming) {
  const MethodDescriptor* method = service->FindMethodByName(name);
  ASSERT_NE(method, nullptr) << service->full_name() << "." << name;
  EXPECT_EQ(method->input_type()->full_name(), input);
  EXPECT_EQ(method->output_type()->full_name(), output);
  EXPECT_EQ(method->client_streaming(), client_streaming) << name;
  EXPECT_EQ(method->server_streaming(), server_streaming) << name;
}

TEST(WireContract, EventServiceHasItsStreamingMethods) {
  const ServiceDescriptor* service = Service("EventService");
  ASSERT_NE(service, nullptr);
  EXPECT_EQ(service->full_name(), "ringcast.v1.EventService");
  EXPECT_EQ(service->method_count(), 2);
  ExpectMethod(service, "Publish", "ringcast.v1.PublishRequest", "ringcast.v1.PublishResponse",
               true, true);
  ExpectMethod(service, "Subscribe", "ringcast.v1.SubscribeRequest",
               "ringcast.v1.SubscribeResponse", false, true);
}

TEST(WireContract, TopicServiceHasItsUnaryMethods) {
  const ServiceDescriptor* service = Service("TopicService");
  ASSERT_NE(service, nullptr);
  EXPECT_EQ(service->full_name(), "ringcast.v1.TopicService");
  EXPECT_EQ(service->method_count(), 4);
  ExpectMethod(service, "CreateTopic", "ringcast.v1.CreateTopicRequest", "ringcast.v1.Topic", false,
               false);
  ExpectMethod(service, "GetTopic", "ringcast.v1.GetTopicRequest", "ringcast.v1.Topic", false,
               false);
  ExpectMethod(service, "ListTopics", "ringcast.v1.ListTopicsRequest",
               "ringcast.v1.ListTopicsResponse", false, false);
  ExpectMethod(service, "DeleteTopic", "ringcast.v1.DeleteTopicRequest",
               "ringcast.v1.DeleteTopicResponse", false, false);
}

TEST(WireContract, EventMessagesKeepTheirFieldNumbers) {
  ExpectField(EventInput::descriptor(), "key", 1, FieldDescriptor::TYPE_STRING);
  ExpectField(EventInput::descriptor(), "payload", 2, FieldDescriptor::TYPE_BYTES);
  ExpectField(EventInput::descriptor(), "headers", 3, FieldDescriptor::TYPE_MESSAGE, true);
  ExpectField(Event::descriptor(), "sequence", 1, FieldDescriptor::TYPE_UINT64);
  ExpectField(Event::descriptor(), "publish_time_unix_nanos", 2, FieldDescriptor::TYPE_INT64);
  ExpectField(Event::descriptor(), "key", 3, FieldDescriptor::TYPE_STRING);
  ExpectField(Event::descriptor(), "payload", 4, FieldDescriptor::TYPE_BYTES);
  ExpectField(Event::descriptor(), "headers", 5, FieldDescriptor::TYPE_MESSAGE, true);
}

TEST(WireContract, PublishMessagesKeepTheirFieldNumbers) {
  ExpectField(PublishRequest::descriptor(), "topic", 1, FieldDescriptor::TYPE_STRING);
  ExpectField(PublishRequest::descriptor(), "events", 2, FieldDescriptor::TYPE_MESSAGE, true);
  ExpectField(PublishRequest::descriptor(), "batch_id", 3, FieldDescriptor::TYPE_UINT64);
  ExpectField(PublishResponse::descriptor(), "batch_id", 1, FieldDescriptor::TYPE_UINT64);
  ExpectField(PublishResponse::descriptor(), "ack", 2, FieldDescriptor::TYPE_MESSAGE);
  ExpectField(PublishResponse::descriptor(), "error", 3, FieldDescriptor::TYPE_MESSAGE);
  EXPECT_EQ(PublishResponse::descriptor()->FindFieldByName("ack")->containing_oneof()->name(),
            "result");
  ExpectField(PublishAck::descriptor(), "first_sequence", 1, FieldDescriptor::TYPE_UINT64);
  ExpectField(PublishAck::descriptor(), "count", 2, FieldDescriptor::TYPE_UINT32);
  ExpectField(PublishError::descriptor(), "code", 1, FieldDescriptor::TYPE_INT32);
  ExpectField(PublishError::descriptor(), "message", 2, FieldDescriptor::TYPE_STRING);
}

TEST(WireContract, SubscribeMessagesKeepTheirFieldNumbers) {
  const Descriptor* request = SubscribeRequest::descriptor();
  ExpectField(request, "topic", 1, FieldDescriptor::TYPE_STRING);
  ExpectField(request, "position", 2, FieldDescriptor::TYPE_ENUM);
  ExpectField(request, "from_sequence", 3, FieldDescriptor::TYPE_UINT64);
  EXPECT_EQ(request->FindFieldByName("position")->containing_oneof()->name(), "start");
  EXPECT_EQ(request->FindFieldByName("from_sequence")->containing_oneof()->name(), "start");
  ExpectField(request, "mode", 4, FieldDescriptor::TYPE_ENUM);
  ExpectField(request, "max_batch_events", 5, FieldDescriptor::TYPE_UINT32);
  ExpectField(SubscribeResponse::descriptor(), "events", 1, FieldDescriptor::TYPE_MESSAGE, true);
  ExpectField(SubscribeResponse::descriptor(), "skipped", 2, FieldDescriptor::TYPE_UINT64);
}

TEST(WireContract, TopicMessagesKeepTheirFieldNumbers) {
  const Descriptor* topic = Topic::descriptor();
  ExpectField(topic, "name", 1, FieldDescriptor::TYPE_STRING);
  ExpectField(topic, "capacity", 2, FieldDescriptor::TYPE_UINT32);
  ExpectField(topic, "next_sequence", 3, FieldDescriptor::TYPE_UINT64);
  ExpectField(topic, "oldest_sequence", 4, FieldDescriptor::TYPE_UINT64);
  ExpectField(topic, "subscribers", 5, FieldDescriptor::TYPE_UINT32);
  ExpectField(topic, "publish_streams", 6, FieldDescriptor::TYPE_UINT32);
  ExpectField(topic, "backpressure_ratio", 7, FieldDescriptor::TYPE_DOUBLE);
  ExpectField(CreateTopicRequest::descriptor(), "name", 1, FieldDescriptor::TYPE_STRING);
  ExpectField(CreateTopicRequest::descriptor(), "capacity", 2, FieldDescriptor::TYPE_UINT32);
  ExpectField(GetTopicRequest::descriptor(), "name", 1, FieldDescriptor::TYPE_STRING);
  ExpectField(DeleteTopicRequest::descriptor(), "name", 1, FieldDescriptor::TYPE_STRING);
  ExpectField(ListTopicsResponse::descriptor(), "topics", 1, FieldDescriptor::TYPE_MESSAGE, true);
}

TEST(WireContract, EnumsKeepTheirValues) {
  EXPECT_EQ(START_POSITION_UNSPECIFIED, 0);
  EXPECT_EQ(START_POSITION_LATEST, 1);
  EXPECT_EQ(START_POSITION_EARLIEST, 2);
  EXPECT_EQ(DELIVERY_MODE_UNSPECIFIED, 0);
  EXPECT_EQ(DELIVERY_MODE_RELIABLE, 1);
  EXPECT_EQ(DELIVERY_MODE_LOSSY, 2);
}

TEST(WireContract, APublishRequestRoundTripsThroughTheWireFormat) {
  PublishRequest request;
  request.set_topic("orders.eu");
  request.set_batch_id(42);
  EventInput* event = request.add_events();
  event->set_key("k");
  event->set_payload(std::string("\0\1binary", 8));
  (*event->mutable_headers())["trace"] = "abc";
  const std::string wire = request.SerializeAsString();
  PublishRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire));
  EXPECT_EQ(parsed.topic(), "orders.eu");
  EXPECT_EQ(parsed.batch_id(), 42u);
  ASSERT_EQ(parsed.events_size(), 1);
  EXPECT_EQ(parsed.events(0).payload(), std::string("\0\1binary", 8));
  EXPECT_EQ(parsed.events(0).headers().at("trace"), "abc");
}

}  // namespace
}  // namespace ringcast::v1
