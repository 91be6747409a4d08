// TopicAdmin: create, describe, list and delete topics (the TopicService).
//
// Thread safety: every method is safe from any thread. Each call is one unary RPC with the
// deadline given at construction; errors carry the server's code and message.
#ifndef RINGCAST_CLIENT_TOPIC_ADMIN_H_
#define RINGCAST_CLIENT_TOPIC_ADMIN_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "ringcast/v1/ringcast.grpc.pb.h"

namespace ringcast::client {

class TopicAdmin {
 public:
  explicit TopicAdmin(std::shared_ptr<grpc::Channel> channel,
                      absl::Duration deadline = absl::Seconds(10));

  // capacity 0 means the server's default, max_bytes (the topic's byte budget) 0 likewise.
  // ALREADY_EXISTS, INVALID_ARGUMENT, RESOURCE_EXHAUSTED.
  absl::StatusOr<v1::Topic> Create(absl::string_view name, uint32_t capacity = 0,
                                   uint64_t max_bytes = 0);
  // NOT_FOUND if there is no such topic.
  absl::StatusOr<v1::Topic> Get(absl::string_view name);
  absl::StatusOr<std::vector<v1::Topic>> List();
  // NOT_FOUND if there is no such topic. Its subscribers end with NOT_FOUND.
  absl::Status Delete(absl::string_view name);

 private:
  std::unique_ptr<v1::TopicService::Stub> stub_;
  const absl::Duration deadline_;
};

}  // namespace ringcast::client

#endif  // RINGCAST_CLIENT_TOPIC_ADMIN_H_
