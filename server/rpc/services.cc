#include "rpc/services.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "ringcast/grpc_status.h"
#include "rpc/publish_reactor.h"
#include "rpc/subscribe_reactor.h"
#include "topic/topic.h"

namespace ringcast::server {
namespace {

// A subscriber may ask for batches up to this size (responses are also cut at
// --max_response_bytes).
constexpr uint32_t kMaxSubscribeBatchEvents = 65536;

// Parses a raw request; INVALID_ARGUMENT naming the message type if the bytes are not one.
template <class Message>
absl::Status Parse(const grpc::ByteBuffer& raw, Message& message) {
  grpc::ByteBuffer copy = raw;  // shares the slices; Deserialize consumes its argument
  if (!grpc::SerializationTraits<Message>::Deserialize(&copy, &message).ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed request: not a ", Message::descriptor()->full_name(),
                     " (bad protobuf encoding, or a string field that is not UTF-8)"));
  }
  return absl::OkStatus();
}

// Runs a unary method: authenticate, parse, refuse while shutting down, call `handler` with the
// request and the caller (null on an open server), encode its answer.
template <class Request, class Handler>
grpc::ServerUnaryReactor* Unary(ServerState& state, grpc::CallbackServerContext* context,
                                const grpc::ByteBuffer* raw_request, grpc::ByteBuffer* raw_response,
                                Handler handler) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<CallAuth::PrincipalPtr> principal = state.auth->Authenticate(*context);
  if (!principal.ok()) {
    reactor->Finish(ToGrpcStatus(principal.status()));
    return reactor;
  }
  Request request;
  if (absl::Status s = Parse(*raw_request, request); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  if (state.shutting_down()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server is shutting down"));
    return reactor;
  }
  auto response = handler(request, principal->get());
  if (!response.ok()) {
    reactor->Finish(ToGrpcStatus(response.status()));
    return reactor;
  }
  bool own_buffer = false;
  reactor->Finish(grpc::SerializationTraits<std::decay_t<decltype(*response)>>::Serialize(
      *response, raw_response, &own_buffer));
  return reactor;
}

v1::Topic ToProto(const TopicInfo& info) {
  v1::Topic topic;
  topic.set_name(info.name);
  topic.set_capacity(info.capacity);
  topic.set_next_sequence(static_cast<uint64_t>(info.next_sequence));
  topic.set_oldest_sequence(static_cast<uint64_t>(info.oldest_sequence));
  topic.set_subscribers(info.subscribers);
  topic.set_publish_streams(info.publish_streams);
  topic.set_backpressure_ratio(info.backpressure_ratio);
  topic.set_bytes(info.bytes);
  topic.set_max_bytes(info.max_bytes);
  topic.set_durable(info.durable);
  topic.set_journal_bytes(info.journal_bytes);
  topic.set_retention_bytes(info.retention_bytes);
  topic.set_retention_age_seconds(static_cast<uint64_t>(absl::ToInt64Seconds(info.retention_age)));
  return topic;
}

absl::StatusOr<StartPosition> ParseStart(const v1::SubscribeRequest& request) {
  switch (request.start_case()) {
    case v1::SubscribeRequest::kFromSequence:
      return StartPosition{.kind = StartPosition::Kind::kSequence,
                           .sequence = request.from_sequence()};
    case v1::SubscribeRequest::kFromTimeUnixNanos:
      return StartPosition{.kind = StartPosition::Kind::kTime,
                           .time_nanos = request.from_time_unix_nanos()};
    case v1::SubscribeRequest::kPosition:
      switch (request.position()) {
        case v1::START_POSITION_UNSPECIFIED:
        case v1::START_POSITION_LATEST:
          return StartPosition{.kind = StartPosition::Kind::kLatest};
        case v1::START_POSITION_EARLIEST:
          return StartPosition{.kind = StartPosition::Kind::kEarliest};
        default:
          return absl::InvalidArgumentError(
              absl::StrCat("unknown start position ", static_cast<int>(request.position())));
      }
    case v1::SubscribeRequest::START_NOT_SET:
      return StartPosition{.kind = StartPosition::Kind::kLatest};
  }
  return StartPosition{.kind = StartPosition::Kind::kLatest};
}

absl::StatusOr<bool> ParseReliable(const v1::SubscribeRequest& request) {
  switch (request.mode()) {
    case v1::DELIVERY_MODE_UNSPECIFIED:
    case v1::DELIVERY_MODE_RELIABLE:
      return true;
    case v1::DELIVERY_MODE_LOSSY:
      return false;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unknown delivery mode ", static_cast<int>(request.mode())));
  }
}

}  // namespace

absl::Status TopicServiceImpl::AuthorizeAdmin(const security::Principal* caller,
                                              const std::string& name) {
  // A name that is no topic's is refused as such first: the check below assumes a valid name.
  if (caller == nullptr) return absl::OkStatus();
  if (absl::Status s = ValidateTopicName(name); !s.ok()) return s;
  return state_.auth->Authorize(caller, security::Action::kAdmin, name);
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* EventServiceImpl::Publish(
    grpc::CallbackServerContext* context) {
  return PublishReactor::Start(state_, state_.auth->Authenticate(*context));
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* EventServiceImpl::Subscribe(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* raw_request) {
  const ServerOptions& options = state_.options;
  auto reject = [&](const absl::Status& status) {
    auto subscription = SubscribeReactor::Create(context, 0, nullptr, state_.subscriptions,
                                                 /*delivery_latency=*/nullptr);
    subscription->Reject(ToGrpcStatus(status));
    return subscription.get();
  };
  absl::StatusOr<CallAuth::PrincipalPtr> principal = state_.auth->Authenticate(*context);
  if (!principal.ok()) return reject(principal.status());
  v1::SubscribeRequest request;
  if (absl::Status s = Parse(*raw_request, request); !s.ok()) return reject(s);
  if (state_.shutting_down()) return reject(absl::UnavailableError("server is shutting down"));
  if (absl::Status s = ValidateTopicName(request.topic()); !s.ok()) return reject(s);
  if (absl::Status s =
          state_.auth->Authorize(principal->get(), security::Action::kSubscribe, request.topic());
      !s.ok()) {
    return reject(s);
  }
  absl::StatusOr<StartPosition> start = ParseStart(request);
  if (!start.ok()) return reject(start.status());
  absl::StatusOr<bool> reliable = ParseReliable(request);
  if (!reliable.ok()) return reject(reliable.status());
  absl::StatusOr<std::shared_ptr<Topic>> topic = state_.topics.GetOrCreate(request.topic());
  if (!topic.ok()) return reject(topic.status());

  const uint32_t max_batch = request.max_batch_events() == 0
                                 ? options.max_batch_events
                                 : std::min(request.max_batch_events(), kMaxSubscribeBatchEvents);
  const SubscriberSettings settings{.reliable = *reliable,
                                    .max_batch_events = max_batch,
                                    .max_response_bytes = options.max_response_bytes};
  auto subscription =
      SubscribeReactor::Create(context, options.subscriber_queue_bytes, &(*topic)->doorbell(),
                               state_.subscriptions, (*topic)->delivery_latency());
  absl::StatusOr<int64_t> first = state_.topics.Subscribe(*topic, subscription, settings, *start,
                                                          options.max_subscribers_per_topic);
  if (!first.ok()) {
    subscription->Reject(ToGrpcStatus(first.status()));
  } else {
    subscription->Start(*first);
  }
  return subscription.get();
}

grpc::ServerUnaryReactor* TopicServiceImpl::CreateTopic(grpc::CallbackServerContext* context,
                                                        const grpc::ByteBuffer* request,
                                                        grpc::ByteBuffer* response) {
  return Unary<v1::CreateTopicRequest>(
      state_, context, request, response,
      [&](const v1::CreateTopicRequest& r,
          const security::Principal* caller) -> absl::StatusOr<v1::Topic> {
        if (absl::Status s = AuthorizeAdmin(caller, r.name()); !s.ok()) return s;
        absl::StatusOr<std::shared_ptr<Topic>> topic = state_.topics.Create(
            r.name(), r.capacity(), r.max_bytes(), r.retention_bytes(),
            absl::Seconds(
                static_cast<int64_t>(std::min<uint64_t>(r.retention_age_seconds(), INT64_MAX))));
        if (!topic.ok()) return topic.status();
        return ToProto((*topic)->Describe());
      });
}

grpc::ServerUnaryReactor* TopicServiceImpl::GetTopic(grpc::CallbackServerContext* context,
                                                     const grpc::ByteBuffer* request,
                                                     grpc::ByteBuffer* response) {
  return Unary<v1::GetTopicRequest>(
      state_, context, request, response,
      [&](const v1::GetTopicRequest& r,
          const security::Principal* caller) -> absl::StatusOr<v1::Topic> {
        if (absl::Status s = AuthorizeAdmin(caller, r.name()); !s.ok()) return s;
        absl::StatusOr<std::shared_ptr<Topic>> topic = state_.topics.Get(r.name());
        if (!topic.ok()) return topic.status();
        return ToProto((*topic)->Describe());
      });
}

grpc::ServerUnaryReactor* TopicServiceImpl::ListTopics(grpc::CallbackServerContext* context,
                                                       const grpc::ByteBuffer* request,
                                                       grpc::ByteBuffer* response) {
  return Unary<v1::ListTopicsRequest>(
      state_, context, request, response,
      [&](const v1::ListTopicsRequest&,
          const security::Principal* caller) -> absl::StatusOr<v1::ListTopicsResponse> {
        // Only the topics the caller could describe; none of the others' names.
        if (caller != nullptr && !caller->MayListTopics()) {
          return state_.auth->Authorize(caller, security::Action::kAdmin, "");
        }
        v1::ListTopicsResponse list;
        for (const auto& topic : state_.topics.List()) {
          if (caller == nullptr || caller->Allowed(security::Action::kAdmin, topic->name())) {
            *list.add_topics() = ToProto(topic->Describe());
          }
        }
        return list;
      });
}

grpc::ServerUnaryReactor* TopicServiceImpl::DeleteTopic(grpc::CallbackServerContext* context,
                                                        const grpc::ByteBuffer* request,
                                                        grpc::ByteBuffer* response) {
  return Unary<v1::DeleteTopicRequest>(
      state_, context, request, response,
      [&](const v1::DeleteTopicRequest& r,
          const security::Principal* caller) -> absl::StatusOr<v1::DeleteTopicResponse> {
        if (absl::Status s = AuthorizeAdmin(caller, r.name()); !s.ok()) return s;
        if (absl::Status s = state_.topics.Delete(r.name()); !s.ok()) return s;
        return v1::DeleteTopicResponse();
      });
}

}  // namespace ringcast::server
