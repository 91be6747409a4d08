// The gRPC services of the wire contract, registered as raw (byte buffer) methods so the server
// parses requests itself (a malformed request gets INVALID_ARGUMENT, not INTERNAL) and writes
// pre-encoded subscriber responses without re-serializing them.
#ifndef RINGCAST_SERVER_RPC_SERVICES_H_
#define RINGCAST_SERVER_RPC_SERVICES_H_

#include "grpcpp/grpcpp.h"
#include "ringcast/v1/ringcast.grpc.pb.h"
#include "rpc/server_state.h"

namespace ringcast::server {

using EventServiceBase = v1::EventService::WithRawCallbackMethod_Publish<
    v1::EventService::WithRawCallbackMethod_Subscribe<v1::EventService::Service>>;

class EventServiceImpl final : public EventServiceBase {
 public:
  explicit EventServiceImpl(ServerState& state) : state_(state) {}

  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Publish(
      grpc::CallbackServerContext* context) override;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* Subscribe(grpc::CallbackServerContext* context,
                                                        const grpc::ByteBuffer* request) override;

 private:
  ServerState& state_;
};

using TopicServiceBase = v1::TopicService::WithRawCallbackMethod_CreateTopic<
    v1::TopicService::WithRawCallbackMethod_GetTopic<
        v1::TopicService::WithRawCallbackMethod_ListTopics<
            v1::TopicService::WithRawCallbackMethod_DeleteTopic<v1::TopicService::Service>>>>;

class TopicServiceImpl final : public TopicServiceBase {
 public:
  explicit TopicServiceImpl(ServerState& state) : state_(state) {}

  grpc::ServerUnaryReactor* CreateTopic(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* request,
                                        grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* GetTopic(grpc::CallbackServerContext* context,
                                     const grpc::ByteBuffer* request,
                                     grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ListTopics(grpc::CallbackServerContext* context,
                                       const grpc::ByteBuffer* request,
                                       grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* DeleteTopic(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* request,
                                        grpc::ByteBuffer* response) override;

 private:
  // OK if `caller` (null: an open server) has the admin right on topic `name`.
  absl::Status AuthorizeAdmin(const security::Principal* caller, const std::string& name);

  ServerState& state_;
};

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_RPC_SERVICES_H_
