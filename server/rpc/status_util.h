// absl::Status and grpc::Status share their codes (google.rpc.Code); this maps one onto the other.
#ifndef RINGCAST_SERVER_RPC_STATUS_UTIL_H_
#define RINGCAST_SERVER_RPC_STATUS_UTIL_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace ringcast::server {

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_RPC_STATUS_UTIL_H_
