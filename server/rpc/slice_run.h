// SliceRun: an EventRun whose bytes are a gRPC slice, so a subscriber's response is a reference
// to part of the run (Slice::sub), never another copy, whatever the number of subscribers.
#ifndef RINGCAST_SERVER_RPC_SLICE_RUN_H_
#define RINGCAST_SERVER_RPC_SLICE_RUN_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "grpcpp/support/slice.h"
#include "topic/outbound_queue.h"

namespace ringcast::server {

namespace internal {
// Holds the slice ahead of EventRun in SliceRun's bases, so it is built first and never moves: a
// small slice keeps its bytes inside the grpc_slice itself, so the address EventRun records must
// be the one of the slice that stays.
struct SliceHolder {
  grpc::Slice slice;
};
}  // namespace internal

class SliceRun final : private internal::SliceHolder, public EventRun {
 public:
  explicit SliceRun(std::size_t bytes)
      : SliceHolder{grpc::Slice(bytes)},
        // A freshly allocated slice is ours alone until shared, so writing into it is fine.
        EventRun(reinterpret_cast<char*>(const_cast<uint8_t*>(slice.begin())), slice.size()) {}

  [[nodiscard]] const grpc::Slice& grpc_slice() const noexcept { return slice; }
};

// The EventRunFactory the server's topics use.
inline std::shared_ptr<EventRun> MakeSliceRun(std::size_t bytes) {
  return std::make_shared<SliceRun>(bytes);
}

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_RPC_SLICE_RUN_H_
