#include "bench/load/raw_client.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/impl/codegen/proto_utils.h"

namespace ringcast::bench {
namespace {

constexpr char kPublish[] = "/ringcast.v1.EventService/Publish";
constexpr char kSubscribe[] = "/ringcast.v1.EventService/Subscribe";

}  // namespace

grpc::ByteBuffer Encode(const google::protobuf::Message& message) {
  grpc::ByteBuffer buffer;
  bool own = false;
  static_cast<void>(grpc::GenericSerialize<grpc::ProtoBufferWriter, google::protobuf::Message>(
      message, &buffer, &own));
  return buffer;
}

int64_t CountEvents(const grpc::ByteBuffer& response) {
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return -1;
  // Walks the slices as they arrived (no copy into one buffer): a varint may straddle two.
  std::size_t slice = 0;
  const uint8_t* p = nullptr;
  const uint8_t* end = nullptr;
  const auto next_slice = [&] {
    while (p == end && slice < slices.size()) {
      p = slices[slice].begin();
      end = slices[slice].end();
      ++slice;
    }
    return p != end;
  };
  const auto varint = [&](uint64_t& value) {
    value = 0;
    for (int shift = 0; shift < 64 && next_slice(); shift += 7) {
      const uint8_t byte = *p++;
      value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;
  };
  int64_t events = 0;
  while (next_slice()) {
    uint64_t tag = 0;
    uint64_t value = 0;
    if (!varint(tag) || !varint(value)) return -1;
    if ((tag & 7) == 2) {  // length-delimited: skip the contents, across slices
      while (value > 0) {
        if (!next_slice()) return -1;
        const auto step = std::min<uint64_t>(value, static_cast<uint64_t>(end - p));
        p += step;
        value -= step;
      }
    }
    if (tag >> 3 == 1) ++events;
  }
  return events;
}

void Completion::Set(grpc::Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  status_ = std::move(status);
  done_ = true;
  cv_.notify_all();
}

grpc::Status Completion::Wait() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return done_; });
  return status_;
}

bool Completion::done() const {
  std::lock_guard<std::mutex> lock(mu_);
  return done_;
}

RawPublisher::RawPublisher(grpc::GenericStub& stub, BatchSource next_batch, int window)
    : next_batch_(std::move(next_batch)), window_(window) {
  stub.PrepareBidiStreamingCall(&context_, kPublish, grpc::StubOptions(), this);
  StartRead(&response_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    MaybeWriteLocked();
  }
  StartCall();
}

void RawPublisher::MaybeWriteLocked() {
  if (writing_ || no_more_) return;
  if (written_ - acked_.load(std::memory_order_relaxed) >= window_) return;
  const grpc::ByteBuffer* batch = next_batch_(written_);
  if (batch == nullptr) {
    no_more_ = true;
    StartWritesDone();
    return;
  }
  ++written_;
  writing_ = true;
  StartWrite(batch);
}

void RawPublisher::OnWriteDone(bool ok) {
  std::lock_guard<std::mutex> lock(mu_);
  writing_ = false;
  if (ok) MaybeWriteLocked();
}

void RawPublisher::OnReadDone(bool ok) {
  if (!ok) return;  // the stream ended; OnDone follows
  if (!grpc::GenericDeserialize<grpc::ProtoBufferReader, v1::PublishResponse>(&response_, &parsed_)
           .ok() ||
      !parsed_.has_ack()) {
    if (error_.empty()) error_ = absl::StrCat("batch rejected: ", parsed_.error().message());
    context_.TryCancel();
    return;
  }
  events_.fetch_add(parsed_.ack().count(), std::memory_order_relaxed);
  acked_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(mu_);
    MaybeWriteLocked();
  }
  StartRead(&response_);
}

void RawPublisher::OnDone(const grpc::Status& status) { done_.Set(status); }

RawSubscriber::RawSubscriber(grpc::GenericStub& stub, const v1::SubscribeRequest& request,
                             int64_t stop_after, ResponseHook on_response)
    : request_(Encode(request)), stop_after_(stop_after), on_response_(std::move(on_response)) {
  stub.PrepareBidiStreamingCall(&context_, kSubscribe, grpc::StubOptions(), this);
  // Initial metadata is read without asking: OnReadInitialMetadataDone runs when it arrives.
  StartWrite(&request_);
  StartWritesDone();
  StartRead(&response_);
  StartCall();
}

void RawSubscriber::WaitStarted() { started_.Wait(); }

void RawSubscriber::OnReadInitialMetadataDone(bool ok) {
  started_.Set(ok ? grpc::Status::OK : grpc::Status(grpc::StatusCode::UNAVAILABLE, "no metadata"));
}

void RawSubscriber::OnReadDone(bool ok) {
  if (!ok) return;
  const int64_t n = CountEvents(response_);
  if (n < 0) {
    context_.TryCancel();
    return;
  }
  if (on_response_) on_response_(response_);
  const int64_t total = events_.fetch_add(n, std::memory_order_relaxed) + n;
  if (total >= stop_after_) {
    context_.TryCancel();  // enough: end the stream (it finishes CANCELLED)
    return;
  }
  StartRead(&response_);
}

void RawSubscriber::OnDone(const grpc::Status& status) {
  if (!started_.done()) started_.Set(status);
  done_.Set(status);
}

}  // namespace ringcast::bench
