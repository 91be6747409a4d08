#include "ringcast/client/subscriber.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "ringcast/grpc_status.h"
#include "ringcast/v1/ringcast.grpc.pb.h"

namespace ringcast::client {

// Threads: the consumer (Next, Run), the receiver thread (Receive), which owns the streams, and
// anyone (Close, accessors). Shared state is guarded by mu_.
class Subscriber::Impl {
 public:
  Impl(std::shared_ptr<grpc::Channel> channel, SubscriberOptions options)
      : events_(v1::EventService::NewStub(channel)),
        topics_(v1::TopicService::NewStub(channel)),
        options_(std::move(options)) {}

  ~Impl() { Close(); }

  // Starts receiving and waits for the first registration (or the end).
  absl::Status Start() {
    receiver_ = std::thread([this] { Receive(); });
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return registered_ || ended_; });
    return registered_ ? absl::OkStatus() : end_status_;
  }

  absl::StatusOr<Delivery> Next(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    const bool ready = cv_.wait_until(lock, absl::ToChronoTime(absl::Now() + timeout),
                                      [&] { return closed_ || !queue_.empty() || ended_; });
    if (closed_) return absl::CancelledError("subscriber closed");
    if (!ready) {
      return absl::DeadlineExceededError(
          absl::StrCat("no events within ", absl::FormatDuration(timeout)));
    }
    if (queue_.empty()) return end_status_;
    Delivery delivery = std::move(queue_.front());
    queue_.pop_front();
    cv_.notify_all();  // room for the receiver
    return delivery;
  }

  void Close() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
      queue_.clear();
      if (context_ != nullptr) context_->TryCancel();
      cv_.notify_all();
    }
    std::lock_guard<std::mutex> join(join_mu_);
    if (receiver_.joinable()) receiver_.join();
  }

  uint64_t start_sequence() const {
    std::lock_guard<std::mutex> lock(mu_);
    return start_sequence_;
  }
  uint64_t next_sequence() const {
    std::lock_guard<std::mutex> lock(mu_);
    return next_sequence_;
  }
  uint64_t reconnects() const {
    std::lock_guard<std::mutex> lock(mu_);
    return reconnects_;
  }

 private:
  enum class Resume { kAsAsked, kFromNext, kFromEarliest };

  v1::SubscribeRequest MakeRequest(Resume resume) const {
    v1::SubscribeRequest request;
    request.set_topic(options_.topic);
    request.set_mode(options_.lossy ? v1::DELIVERY_MODE_LOSSY : v1::DELIVERY_MODE_RELIABLE);
    request.set_max_batch_events(options_.max_batch_events);
    switch (resume) {
      case Resume::kFromNext:
        request.set_from_sequence(next_sequence_);
        break;
      case Resume::kFromEarliest:
        request.set_position(v1::START_POSITION_EARLIEST);
        break;
      case Resume::kAsAsked:
        switch (options_.start) {
          case SubscriberOptions::Start::kLatest:
            request.set_position(v1::START_POSITION_LATEST);
            break;
          case SubscriberOptions::Start::kEarliest:
            request.set_position(v1::START_POSITION_EARLIEST);
            break;
          case SubscriberOptions::Start::kSequence:
            request.set_from_sequence(options_.from_sequence);
            break;
          case SubscriberOptions::Start::kTime:
            request.set_from_time_unix_nanos(absl::ToUnixNanos(options_.from_time));
            break;
        }
        break;
    }
    return request;
  }

  void EndLocked(absl::Status status) {
    if (ended_) return;
    ended_ = true;
    end_status_ = std::move(status);
    cv_.notify_all();
  }

  // One stream: connect, register, read until it ends. Returns its final status.
  grpc::Status Stream(Resume resume) {
    grpc::ClientContext context;
    std::unique_lock<std::mutex> lock(mu_);
    if (closed_) return grpc::Status::CANCELLED;
    const v1::SubscribeRequest request = MakeRequest(resume);
    context_ = &context;
    lock.unlock();

    std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader =
        events_->Subscribe(&context, request);
    reader->WaitForInitialMetadata();
    const auto& metadata = context.GetServerInitialMetadata();
    const auto start = metadata.find("ringcast-start-sequence");
    uint64_t start_sequence = 0;
    if (start != metadata.end() &&
        absl::SimpleAtoi(absl::string_view(start->second.data(), start->second.size()),
                         &start_sequence)) {
      lock.lock();
      OnRegisteredLocked(start_sequence);
      lock.unlock();
      v1::SubscribeResponse response;
      while (reader->Read(&response)) {
        if (!Deliver(response)) break;
      }
    }
    const grpc::Status status = reader->Finish();
    lock.lock();
    context_ = nullptr;
    return status;
  }

  void OnRegisteredLocked(uint64_t start) {
    if (!registered_) {
      registered_ = true;
      start_sequence_ = start;
      next_sequence_ = start;
    } else if (start > next_sequence_) {
      // A LOSSY resume from the oldest retained event: what lies between was missed.
      pending_skipped_ += start - next_sequence_;
      next_sequence_ = start;
    }
    disconnected_since_ = absl::InfiniteFuture();
    backoff_ = options_.initial_backoff;
    cv_.notify_all();
  }

  // Queues one response; false once closed.
  bool Deliver(v1::SubscribeResponse& response) {
    Delivery delivery;
    delivery.events.assign(std::make_move_iterator(response.mutable_events()->begin()),
                           std::make_move_iterator(response.mutable_events()->end()));
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return closed_ || queue_.size() < options_.queue_deliveries; });
    if (closed_) return false;
    delivery.skipped = response.skipped() + std::exchange(pending_skipped_, 0);
    if (!delivery.events.empty()) next_sequence_ = delivery.events.back().sequence() + 1;
    queue_.push_back(std::move(delivery));
    cv_.notify_all();
    return true;
  }

  // After OUT_OF_RANGE on a resume: how to go on, or the status that ends the subscription.
  absl::StatusOr<Resume> OnResumeOutOfRange(const grpc::Status& status) {
    v1::GetTopicRequest request;
    request.set_name(options_.topic);
    v1::Topic topic;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    const grpc::Status got = topics_->GetTopic(&context, request, &topic);
    std::lock_guard<std::mutex> lock(mu_);
    if (got.ok() && topic.next_sequence() < next_sequence_) {
      return absl::DataLossError(
          absl::StrCat("topic \"", options_.topic, "\" now ends at sequence ",
                       topic.next_sequence(), " but this subscriber had received up to ",
                       next_sequence_ - 1, ": the server lost the topic's history (restarted?)"));
    }
    if (options_.lossy) return Resume::kFromEarliest;
    return absl::OutOfRangeError(
        absl::StrCat("gap: events from sequence ", next_sequence_,
                     " were not received and are no longer retained on the server (",
                     status.error_message(), ")"));
  }

  // The receiver thread.
  void Receive() {
    Resume resume = Resume::kAsAsked;
    for (;;) {
      const grpc::Status status = Stream(resume);
      std::unique_lock<std::mutex> lock(mu_);
      if (closed_) {
        EndLocked(absl::CancelledError("subscriber closed"));
        return;
      }
      if (status.error_code() == grpc::StatusCode::OUT_OF_RANGE && registered_) {
        lock.unlock();
        absl::StatusOr<Resume> next = OnResumeOutOfRange(status);
        lock.lock();
        if (!next.ok()) {
          EndLocked(next.status());
          return;
        }
        resume = *next;
        continue;
      }
      if (status.error_code() != grpc::StatusCode::UNAVAILABLE) {
        EndLocked(status.ok() ? absl::UnavailableError("the server ended the subscription")
                              : FromGrpcStatus(status));
        return;
      }
      // Disconnected: retry with backoff until reconnect_timeout.
      const absl::Time now = absl::Now();
      if (disconnected_since_ == absl::InfiniteFuture()) disconnected_since_ = now;
      if (now - disconnected_since_ >= options_.reconnect_timeout) {
        EndLocked(absl::UnavailableError(absl::StrCat(
            "could not reconnect for ", absl::FormatDuration(options_.reconnect_timeout),
            " (reconnect_timeout); last error: ", status.error_message())));
        return;
      }
      cv_.wait_for(lock, absl::ToChronoNanoseconds(backoff_), [&] { return closed_; });
      backoff_ = std::min(backoff_ * 2, options_.max_backoff);
      ++reconnects_;
      resume = registered_ ? Resume::kFromNext : Resume::kAsAsked;
    }
  }

  const std::unique_ptr<v1::EventService::Stub> events_;
  const std::unique_ptr<v1::TopicService::Stub> topics_;
  const SubscriberOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;  // queue changes, registration, end, close
  std::deque<Delivery> queue_;
  grpc::ClientContext* context_ = nullptr;  // the open stream's, for Close
  bool registered_ = false;                 // a stream has been registered once
  bool ended_ = false;
  bool closed_ = false;
  absl::Status end_status_;
  uint64_t start_sequence_ = 0;
  uint64_t next_sequence_ = 0;
  uint64_t pending_skipped_ = 0;  // missed across a LOSSY resume, for the next delivery
  uint64_t reconnects_ = 0;
  absl::Time disconnected_since_ = absl::InfiniteFuture();
  absl::Duration backoff_ = options_.initial_backoff;

  std::mutex join_mu_;
  std::thread receiver_;
};

absl::StatusOr<std::unique_ptr<Subscriber>> Subscriber::Start(
    std::shared_ptr<grpc::Channel> channel, SubscriberOptions options) {
  if (channel == nullptr) return absl::InvalidArgumentError("no channel");
  if (options.topic.empty()) return absl::InvalidArgumentError("no topic");
  if (options.queue_deliveries == 0 || options.initial_backoff <= absl::ZeroDuration() ||
      options.max_backoff < options.initial_backoff) {
    return absl::InvalidArgumentError(
        "queue_deliveries must be positive and 0 < initial_backoff <= max_backoff");
  }
  auto impl = std::make_unique<Impl>(std::move(channel), std::move(options));
  if (absl::Status s = impl->Start(); !s.ok()) return s;
  return std::unique_ptr<Subscriber>(new Subscriber(std::move(impl)));
}

Subscriber::Subscriber(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Subscriber::~Subscriber() = default;

absl::StatusOr<Delivery> Subscriber::Next(absl::Duration timeout) { return impl_->Next(timeout); }

absl::Status Subscriber::Run(const std::function<bool(const Delivery&)>& on_delivery) {
  for (;;) {
    absl::StatusOr<Delivery> delivery = impl_->Next(absl::InfiniteDuration());
    if (!delivery.ok()) return delivery.status();
    if (!on_delivery(*delivery)) return absl::OkStatus();
  }
}

void Subscriber::Close() { impl_->Close(); }
uint64_t Subscriber::start_sequence() const { return impl_->start_sequence(); }
uint64_t Subscriber::next_sequence() const { return impl_->next_sequence(); }
uint64_t Subscriber::reconnects() const { return impl_->reconnects(); }

}  // namespace ringcast::client
