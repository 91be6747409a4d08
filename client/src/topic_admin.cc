#include "ringcast/client/topic_admin.h"

#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "ringcast/grpc_status.h"

namespace ringcast::client {
namespace {

// A context whose call ends after `deadline`.
void SetDeadline(grpc::ClientContext& context, absl::Duration deadline) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
}

}  // namespace

TopicAdmin::TopicAdmin(std::shared_ptr<grpc::Channel> channel, absl::Duration deadline)
    : stub_(v1::TopicService::NewStub(std::move(channel))), deadline_(deadline) {}

absl::StatusOr<v1::Topic> TopicAdmin::Create(absl::string_view name, uint32_t capacity,
                                             uint64_t max_bytes) {
  v1::CreateTopicRequest request;
  request.set_name(std::string(name));
  request.set_capacity(capacity);
  request.set_max_bytes(max_bytes);
  v1::Topic topic;
  grpc::ClientContext context;
  SetDeadline(context, deadline_);
  if (grpc::Status s = stub_->CreateTopic(&context, request, &topic); !s.ok()) {
    return FromGrpcStatus(s);
  }
  return topic;
}

absl::StatusOr<v1::Topic> TopicAdmin::Get(absl::string_view name) {
  v1::GetTopicRequest request;
  request.set_name(std::string(name));
  v1::Topic topic;
  grpc::ClientContext context;
  SetDeadline(context, deadline_);
  if (grpc::Status s = stub_->GetTopic(&context, request, &topic); !s.ok()) {
    return FromGrpcStatus(s);
  }
  return topic;
}

absl::StatusOr<std::vector<v1::Topic>> TopicAdmin::List() {
  v1::ListTopicsResponse response;
  grpc::ClientContext context;
  SetDeadline(context, deadline_);
  if (grpc::Status s = stub_->ListTopics(&context, v1::ListTopicsRequest(), &response); !s.ok()) {
    return FromGrpcStatus(s);
  }
  return std::vector<v1::Topic>(response.topics().begin(), response.topics().end());
}

absl::Status TopicAdmin::Delete(absl::string_view name) {
  v1::DeleteTopicRequest request;
  request.set_name(std::string(name));
  v1::DeleteTopicResponse response;
  grpc::ClientContext context;
  SetDeadline(context, deadline_);
  return FromGrpcStatus(stub_->DeleteTopic(&context, request, &response));
}

}  // namespace ringcast::client
