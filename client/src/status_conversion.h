// gRPC statuses as absl::Status: the codes are the same numbers.
#ifndef RINGCAST_CLIENT_SRC_STATUS_CONVERSION_H_
#define RINGCAST_CLIENT_SRC_STATUS_CONVERSION_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace ringcast::client {

inline absl::Status FromGrpcStatus(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

}  // namespace ringcast::client

#endif  // RINGCAST_CLIENT_SRC_STATUS_CONVERSION_H_
