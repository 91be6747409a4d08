#include "ringcast/client/publisher.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "ringcast/grpc_status.h"
#include "ringcast/v1/ringcast.grpc.pb.h"

namespace ringcast::client {
namespace {

// True on the thread running a publisher's callbacks: Publish must not block there.
thread_local bool in_callback = false;

std::size_t EventBytes(const v1::EventInput& event) {
  std::size_t bytes = event.key().size() + event.payload().size();
  for (const auto& [name, value] : event.headers()) bytes += name.size() + value.size();
  return bytes;
}

void RunCallback(const Publisher::Callback& done, absl::StatusOr<uint64_t> result) {
  in_callback = true;
  done(std::move(result));
  in_callback = false;
}

}  // namespace

// Threads: callers (Publish, Flush, Close); the connection thread (Run), which opens streams,
// writes batches and handles stream ends; and, while a stream is open, its reader thread
// (ReadAnswers), which resolves answered batches. All shared state is guarded by mu_.
//
// A batch moves open_ (being filled) -> ready_ (sealed: numbered, waiting to be written) ->
// in_flight_ (written on the current stream, waiting for its answer) -> resolved. Numbers are given
// at sealing and batches are resolved strictly in number order, so "resolved through n" tells
// Flush everything it needs.
class Publisher::Impl {
 public:
  Impl(std::shared_ptr<grpc::Channel> channel, PublisherOptions options)
      : stub_(v1::EventService::NewStub(channel)), options_(options) {
    thread_ = std::thread([this] { Run(); });
  }

  ~Impl() {
    Close();
    thread_.join();
  }

  void Publish(absl::string_view topic, v1::EventInput event, Callback done) {
    const std::size_t bytes = EventBytes(event);
    std::unique_lock<std::mutex> lock(mu_);
    // One event is always admitted, however large, so nothing can wait forever.
    while (!closing_ && pending_bytes_ > 0 &&
           pending_bytes_ + bytes > options_.max_in_flight_bytes) {
      if (in_callback || options_.when_full == PublisherOptions::WhenFull::kFailFast) {
        lock.unlock();
        RunCallback(done, absl::ResourceExhaustedError(absl::StrCat(
                              "publisher is full: ", options_.max_in_flight_bytes,
                              " bytes (max_in_flight_bytes) are waiting for answers")));
        return;
      }
      space_cv_.wait(lock);
    }
    if (closing_) {
      lock.unlock();
      RunCallback(done, absl::FailedPreconditionError("publisher is closed"));
      return;
    }
    std::shared_ptr<Batch>& batch = open_[std::string(topic)];
    if (batch != nullptr && batch->bytes + bytes > options_.max_batch_bytes) SealLocked(batch);
    if (batch == nullptr) {
      batch = std::make_shared<Batch>();
      batch->request.set_topic(std::string(topic));
      batch->opened = absl::Now();
      work_cv_.notify_all();  // a new linger deadline
    }
    *batch->request.add_events() = std::move(event);
    batch->callbacks.push_back(std::move(done));
    batch->bytes += bytes;
    pending_bytes_ += bytes;
    ++pending_events_;
    if (batch->callbacks.size() >= options_.max_batch_events ||
        batch->bytes >= options_.max_batch_bytes) {
      SealLocked(batch);
    }
    if (batch == nullptr) open_.erase(topic);
  }

  absl::Status Flush(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    SealAllLocked();
    const uint64_t target = next_batch_number_ - 1;
    const bool done = resolved_cv_.wait_until(lock, absl::ToChronoTime(absl::Now() + timeout),
                                              [&] { return resolved_through_ >= target; });
    if (!done) {
      return absl::DeadlineExceededError(absl::StrCat("flush: ", pending_events_,
                                                      " events still unanswered after ",
                                                      absl::FormatDuration(timeout)));
    }
    return absl::OkStatus();
  }

  void Close() {
    std::unique_lock<std::mutex> lock(mu_);
    closing_ = true;
    SealAllLocked();
    work_cv_.notify_all();   // the connection thread may be waiting with nothing to seal
    space_cv_.notify_all();  // blocked publishers fail
    resolved_cv_.wait(lock, [&] { return finished_; });
  }

  Stats stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    return Stats{pending_events_, pending_bytes_, reconnects_, batches_sent_};
  }

 private:
  struct Batch {
    v1::PublishRequest request;  // batch_id set when sealed
    std::vector<Callback> callbacks;
    std::size_t bytes = 0;
    absl::Time opened;  // when its first event arrived: the linger clock
    absl::Time sealed;  // the retry clock
  };
  // shared_ptr: the connection thread keeps the batch it is writing while the reader may resolve
  // it.
  using Batches = std::deque<std::shared_ptr<Batch>>;

  // Requires mu_. Numbers `batch` and queues it for writing.
  void SealLocked(std::shared_ptr<Batch>& batch) {
    batch->request.set_batch_id(next_batch_number_++);
    batch->sealed = absl::Now();
    ready_.push_back(std::move(batch));
    work_cv_.notify_all();
  }

  void SealAllLocked() {
    for (auto& [topic, batch] : open_) SealLocked(batch);
    open_.clear();
  }

  // Requires mu_. Seals batches whose linger has passed; returns the next linger deadline.
  absl::Time SealLingeringLocked(absl::Time now) {
    absl::Time next = absl::InfiniteFuture();
    for (auto it = open_.begin(); it != open_.end();) {
      const absl::Time due = it->second->opened + options_.linger;
      if (due <= now) {
        SealLocked(it->second);
        open_.erase(it++);
      } else {
        next = std::min(next, due);
        ++it;
      }
    }
    return next;
  }

  [[nodiscard]] bool IdleLocked() const {
    return open_.empty() && ready_.empty() && in_flight_.empty();
  }

  // Resolves the front batch of `from` (the oldest unresolved batch) with `status`, or with its
  // sequences when `first_sequence` is set. Takes mu_ itself; runs the callbacks without it.
  void Resolve(std::unique_lock<std::mutex>& lock, Batches& from, const absl::Status& status,
               int64_t first_sequence = -1) {
    std::shared_ptr<Batch> batch = std::move(from.front());
    from.pop_front();
    resolved_through_ = batch->request.batch_id();
    pending_bytes_ -= batch->bytes;
    pending_events_ -= batch->callbacks.size();
    space_cv_.notify_all();
    resolved_cv_.notify_all();
    lock.unlock();
    for (std::size_t i = 0; i < batch->callbacks.size(); ++i) {
      if (first_sequence >= 0) {
        RunCallback(batch->callbacks[i], static_cast<uint64_t>(first_sequence) + i);
      } else {
        RunCallback(batch->callbacks[i], status);
      }
    }
    lock.lock();
  }

  // The reader thread of one stream: answers arrive in the order the batches were written.
  void ReadAnswers(grpc::ClientReaderWriter<v1::PublishRequest, v1::PublishResponse>& stream,
                   grpc::ClientContext& context) {
    v1::PublishResponse response;
    while (stream.Read(&response)) {
      std::unique_lock<std::mutex> lock(mu_);
      if (in_flight_.empty() || in_flight_.front()->request.batch_id() != response.batch_id()) {
        protocol_error_ = absl::InternalError(
            absl::StrCat("the server answered batch ", response.batch_id(), " out of order"));
        context.TryCancel();
        break;
      }
      answered_on_stream_ = true;
      if (response.has_ack()) {
        Resolve(lock, in_flight_, absl::OkStatus(),
                static_cast<int64_t>(response.ack().first_sequence()));
      } else {
        Resolve(lock, in_flight_,
                absl::Status(static_cast<absl::StatusCode>(response.error().code()),
                             response.error().message()));
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    reading_done_ = true;
    work_cv_.notify_all();
  }

  // Writes the stream's batches until it breaks, or until the publisher is closed and idle.
  void WriteBatches(grpc::ClientReaderWriter<v1::PublishRequest, v1::PublishResponse>& stream) {
    std::unique_lock<std::mutex> lock(mu_);
    // First what was written on a stream that broke before its answer came, in order. Answers
    // to these may arrive (and resolve them) while later ones are written, so go by number.
    uint64_t resent_through = 0;
    while (!reading_done_) {
      const auto next = std::find_if(in_flight_.begin(), in_flight_.end(), [&](const auto& b) {
        return b->request.batch_id() > resent_through;
      });
      if (next == in_flight_.end()) break;
      const std::shared_ptr<Batch> batch = *next;
      resent_through = batch->request.batch_id();
      ++batches_sent_;
      lock.unlock();
      const bool written = stream.Write(batch->request);
      lock.lock();
      if (!written) return;
    }
    for (;;) {
      const absl::Time linger_due = SealLingeringLocked(absl::Now());
      if (reading_done_) return;
      if (!ready_.empty()) {
        const std::shared_ptr<Batch> batch = ready_.front();
        ready_.pop_front();
        in_flight_.push_back(batch);
        ++batches_sent_;
        lock.unlock();
        const bool written = stream.Write(batch->request);
        lock.lock();
        if (!written) return;
        continue;
      }
      if (closing_ && open_.empty()) {
        lock.unlock();
        stream.WritesDone();  // the server ends the stream once it has answered everything
        return;
      }
      work_cv_.wait_until(lock, absl::ToChronoTime(linger_due));
    }
  }

  // Fails every unresolved batch that has waited longer than the retry timeout, oldest first.
  void FailExpiredLocked(std::unique_lock<std::mutex>& lock, const absl::Status& last) {
    const absl::Time now = absl::Now();
    const absl::Status gave_up = absl::UnavailableError(
        absl::StrCat("gave up after ", absl::FormatDuration(options_.retry_timeout),
                     " (retry_timeout) without a working stream; last error: ", last.ToString()));
    while (!in_flight_.empty() && in_flight_.front()->sealed + options_.retry_timeout <= now) {
      Resolve(lock, in_flight_, gave_up);
    }
    if (!in_flight_.empty()) return;  // keep number order: nothing newer may fail first
    while (!ready_.empty() && ready_.front()->sealed + options_.retry_timeout <= now) {
      Resolve(lock, ready_, gave_up);
    }
  }

  void FailAllInFlightLocked(std::unique_lock<std::mutex>& lock, const absl::Status& status) {
    while (!in_flight_.empty()) Resolve(lock, in_flight_, status);
  }

  // The connection thread.
  void Run() {
    absl::Duration backoff = options_.initial_backoff;
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      // Wait for something to send.
      while (!(closing_ && IdleLocked()) && ready_.empty() && in_flight_.empty()) {
        const absl::Time due = SealLingeringLocked(absl::Now());
        if (!ready_.empty()) break;
        work_cv_.wait_until(lock, absl::ToChronoTime(due));
      }
      if (closing_ && IdleLocked()) break;

      reading_done_ = false;
      answered_on_stream_ = false;
      protocol_error_ = absl::OkStatus();
      lock.unlock();
      grpc::ClientContext context;
      auto stream = stub_->Publish(&context);
      std::thread reader([&] { ReadAnswers(*stream, context); });
      WriteBatches(*stream);
      reader.join();
      grpc::Status finished = stream->Finish();
      lock.lock();

      absl::Status status = protocol_error_.ok() ? FromGrpcStatus(finished) : protocol_error_;
      if (answered_on_stream_) backoff = options_.initial_backoff;
      if (status.ok() && in_flight_.empty()) continue;  // closed cleanly (or nothing was lost)
      if (status.ok()) status = absl::UnavailableError("the server ended the stream early");
      if (status.code() != absl::StatusCode::kUnavailable) {
        FailAllInFlightLocked(lock, status);
        continue;
      }
      FailExpiredLocked(lock, status);
      if (IdleLocked()) continue;
      // Back off, then reconnect and send the unanswered batches again.
      ++reconnects_;
      work_cv_.wait_for(lock, absl::ToChronoNanoseconds(backoff));
      backoff = std::min(backoff * 2, options_.max_backoff);
    }
    finished_ = true;
    resolved_cv_.notify_all();
  }

  const std::unique_ptr<v1::EventService::Stub> stub_;
  const PublisherOptions options_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;      // the connection thread: something to send, a stream end
  std::condition_variable space_cv_;     // Publish: memory freed, or closing
  std::condition_variable resolved_cv_;  // Flush and Close: batches resolved, thread finished
  absl::flat_hash_map<std::string, std::shared_ptr<Batch>> open_;
  Batches ready_;
  Batches in_flight_;
  uint64_t next_batch_number_ = 1;
  uint64_t resolved_through_ = 0;
  uint64_t pending_bytes_ = 0;
  uint64_t pending_events_ = 0;
  uint64_t reconnects_ = 0;
  uint64_t batches_sent_ = 0;
  bool closing_ = false;
  bool finished_ = false;  // the connection thread has ended
  // The current stream.
  bool reading_done_ = false;
  bool answered_on_stream_ = false;
  absl::Status protocol_error_;

  std::thread thread_;  // last: started once everything above exists
};

absl::StatusOr<std::unique_ptr<Publisher>> Publisher::Create(std::shared_ptr<grpc::Channel> channel,
                                                             PublisherOptions options) {
  if (channel == nullptr) return absl::InvalidArgumentError("no channel");
  if (options.max_batch_events == 0 || options.max_batch_bytes == 0 ||
      options.max_in_flight_bytes == 0) {
    return absl::InvalidArgumentError(
        "max_batch_events, max_batch_bytes and max_in_flight_bytes must be positive");
  }
  if (options.linger < absl::ZeroDuration() || options.retry_timeout < absl::ZeroDuration() ||
      options.initial_backoff <= absl::ZeroDuration() ||
      options.max_backoff < options.initial_backoff) {
    return absl::InvalidArgumentError(
        "linger and retry_timeout must not be negative, and 0 < initial_backoff <= max_backoff");
  }
  return std::unique_ptr<Publisher>(
      new Publisher(std::make_unique<Impl>(std::move(channel), options)));
}

Publisher::Publisher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Publisher::~Publisher() = default;

void Publisher::Publish(absl::string_view topic, v1::EventInput event, Callback done) {
  impl_->Publish(topic, std::move(event), std::move(done));
}

std::future<absl::StatusOr<uint64_t>> Publisher::Publish(absl::string_view topic,
                                                         v1::EventInput event) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<uint64_t>>>();
  std::future<absl::StatusOr<uint64_t>> result = promise->get_future();
  impl_->Publish(topic, std::move(event),
                 [promise](absl::StatusOr<uint64_t> r) { promise->set_value(std::move(r)); });
  return result;
}

std::future<absl::StatusOr<uint64_t>> Publisher::Publish(absl::string_view topic,
                                                         std::string payload) {
  v1::EventInput event;
  event.set_payload(std::move(payload));
  return Publish(topic, std::move(event));
}

absl::Status Publisher::Flush(absl::Duration timeout) { return impl_->Flush(timeout); }
void Publisher::Close() { impl_->Close(); }
Publisher::Stats Publisher::stats() const { return impl_->stats(); }

}  // namespace ringcast::client
