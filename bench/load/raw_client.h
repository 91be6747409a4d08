// Lean gRPC clients for load generation: Publish and Subscribe streams driven by the callback API
// (no thread per stream, so thousands of subscribers fit on two cores), moving raw bytes. The
// publisher writes pre-encoded batches and keeps a window of them unanswered; the subscriber counts
// events in the raw responses without parsing them, or hands each response to a callback.
//
// Thread safety: each stream's reactions run on gRPC threads, one at a time per stream; the
// figures they expose are atomics readable from any thread.
#ifndef RINGCAST_BENCH_LOAD_RAW_CLIENT_H_
#define RINGCAST_BENCH_LOAD_RAW_CLIENT_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/byte_buffer.h"
#include "ringcast/v1/ringcast.pb.h"

namespace ringcast::bench {

// `message` serialized into a byte buffer.
grpc::ByteBuffer Encode(const google::protobuf::Message& message);

// The number of events in a raw SubscribeResponse (its top-level field-1 entries), or -1 if the
// bytes are not a well-formed message.
int64_t CountEvents(const grpc::ByteBuffer& response);

// A stream's end, waitable.
class Completion {
 public:
  void Set(grpc::Status status);
  // The final status, once the stream has ended.
  grpc::Status Wait();
  [[nodiscard]] bool done() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  grpc::Status status_;
};

// One Publish stream. `next_batch(i)` gives the i-th request to write (or null when there are no
// more); at most `window` requests are unanswered at a time. Every answer must be an ack.
class RawPublisher final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  using BatchSource = std::function<const grpc::ByteBuffer*(int64_t index)>;

  RawPublisher(grpc::GenericStub& stub, BatchSource next_batch, int window);
  grpc::Status Wait() { return done_.Wait(); }
  [[nodiscard]] int64_t batches_acked() const { return acked_.load(std::memory_order_relaxed); }
  [[nodiscard]] int64_t events_acked() const { return events_.load(std::memory_order_relaxed); }
  [[nodiscard]] const std::string& error() const { return error_; }  // after Wait

  void OnWriteDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnWritesDoneDone(bool /*ok*/) override {}
  void OnDone(const grpc::Status& status) override;

 private:
  // Requires mu_ held.
  void MaybeWriteLocked();

  grpc::ClientContext context_;
  BatchSource next_batch_;
  const int window_;
  grpc::ByteBuffer response_;
  v1::PublishResponse parsed_;
  std::mutex mu_;
  int64_t written_ = 0;  // guarded by mu_
  bool writing_ = false;
  bool no_more_ = false;
  std::atomic<int64_t> acked_{0};   // relaxed: a figure
  std::atomic<int64_t> events_{0};  // relaxed: a figure
  std::string error_;               // set before done_ (which publishes it)
  Completion done_;
};

// One Subscribe stream. Counts events; `on_response`, if given, also sees each raw response.
class RawSubscriber final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  using ResponseHook = std::function<void(const grpc::ByteBuffer&)>;

  // Subscribes to `request`; the stream ends once `stop_after` events arrived (or it breaks).
  RawSubscriber(grpc::GenericStub& stub, const v1::SubscribeRequest& request, int64_t stop_after,
                ResponseHook on_response = nullptr);
  // Waits until the server registered the subscription (its initial metadata arrived).
  void WaitStarted();
  grpc::Status Wait() { return done_.Wait(); }
  [[nodiscard]] int64_t events() const { return events_.load(std::memory_order_relaxed); }

  void OnReadInitialMetadataDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnWriteDone(bool /*ok*/) override {}
  void OnWritesDoneDone(bool /*ok*/) override {}
  void OnDone(const grpc::Status& status) override;

 private:
  grpc::ClientContext context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  const int64_t stop_after_;
  ResponseHook on_response_;
  std::atomic<int64_t> events_{0};  // relaxed: a figure; final once done_ is set
  Completion started_;
  Completion done_;
};

}  // namespace ringcast::bench

#endif  // RINGCAST_BENCH_LOAD_RAW_CLIENT_H_
