#include "rpc/publish_reactor.h"

#include <algorithm>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/support/time.h"
#include "ringcast/grpc_status.h"
#include "ringcast/v1/ringcast.pb.h"
#include "rpc/event_codec.h"

namespace ringcast::server {
namespace {

// A client that sends batches without reading the responses gets no more reads past this many
// unwritten responses: its requests then wait in HTTP/2 flow control, not in server memory.
constexpr std::size_t kMaxQueuedResponses = 64;

// The rejection reason for a failed topic lookup or auto-creation.
RejectReason ReasonForTopicError(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return RejectReason::kNotFound;
    case absl::StatusCode::kResourceExhausted:
      return RejectReason::kTopicLimit;
    case absl::StatusCode::kUnavailable:
      return RejectReason::kShutdown;
    default:
      return RejectReason::kInvalid;
  }
}

}  // namespace

// What a journal stage holds on to while this stream waits for it: the stream may end first, so
// the relay outlives it and forwards only while it is attached.
class PublishReactor::JournalRelay final : public JournalWaiter {
 public:
  explicit JournalRelay(PublishReactor* reactor) : reactor_(reactor) {}
  void OnJournaled() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (reactor_ != nullptr) reactor_->OnJournaled();
  }
  // After this returns no call reaches the reactor.
  void Detach() {
    std::lock_guard<std::mutex> lock(mu_);
    reactor_ = nullptr;
  }

 private:
  std::mutex mu_;
  PublishReactor* reactor_;  // guarded by mu_
};

PublishReactor* PublishReactor::Start(ServerState& state,
                                      absl::StatusOr<CallAuth::PrincipalPtr> principal) {
  return new PublishReactor(state, std::move(principal));
}

PublishReactor::PublishReactor(ServerState& state, absl::StatusOr<CallAuth::PrincipalPtr> principal)
    : state_(state),
      principal_(principal.ok() ? *principal : nullptr),
      counted_(principal.ok() && state.publish_streams.TryAdd(state.options.max_publish_streams)),
      relay_(std::make_shared<JournalRelay>(this)) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!principal.ok()) {
    state_.rejected_without_topic.Add(RejectReason::kUnauthenticated);
    finished_ = true;
    Finish(ToGrpcStatus(principal.status()));
    return;
  }
  if (!counted_) {
    finished_ = true;
    Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        absl::StrCat("the server already has ", state.options.max_publish_streams,
                                     " publish streams open (--max_publish_streams)")));
    return;
  }
  {
    std::lock_guard<std::mutex> publishers(state_.publishers_mu);
    state_.publishers.insert(this);
  }
  // Read after registering: either the shutdown sweep sees this stream, or this sees the flag.
  shutting_down_ = state_.shutting_down();
  if (shutting_down_) {
    finished_ = true;
    Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server is shutting down"));
    return;
  }
  MaybeReadLocked();
}

PublishReactor::~PublishReactor() {
  for (const auto& topic : joined_) topic->PublishStreamLeft();
}

void PublishReactor::OnReadDone(bool ok) {
  std::shared_ptr<Topic> fanout;
  {
    std::lock_guard<std::mutex> lock(mu_);
    reading_ = false;
    if (!ok) {
      read_closed_ = true;  // the client half-closed (or the stream broke)
    } else if (!finished_ && !cancelled_) {
      if (state_.publish_latency != nullptr) request_read_nanos_ = MonotonicNanos();
      HandleRequestLocked();
      MaybeReadLocked();
    }
    fanout = std::move(fanout_due_);
    MaybeFinishLocked();
  }
  // Outside the lock (the reactor may be gone once it is released; the topic is held here).
  if (fanout != nullptr) fanout->RunFanoutInline();
}

absl::string_view PublishReactor::RequestBytesLocked() {
  // Usually one slice, read in place; a message gRPC delivered in several is copied once.
  if (read_buffer_.TrySingleSlice(&request_slice_).ok()) {
    return absl::string_view(reinterpret_cast<const char*>(request_slice_.begin()),
                             request_slice_.size());
  }
  request_copy_.clear();
  std::vector<grpc::Slice> slices;
  if (read_buffer_.Dump(&slices).ok()) {
    for (const grpc::Slice& slice : slices) {
      request_copy_.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
  }
  return request_copy_;
}

void PublishReactor::HandleRequestLocked() {
  if (absl::Status parsed = ParsePublishRequest(RequestBytesLocked(), request_); !parsed.ok()) {
    // Nothing of it is to be trusted, not even its topic name or batch id.
    RejectLocked(0, RejectReason::kInvalid, parsed);
    return;
  }
  const uint64_t batch_id = request_.batch_id;
  if (shutting_down_) {
    RejectLocked(batch_id, RejectReason::kShutdown,
                 absl::UnavailableError("server is shutting down; batch not published"));
    return;
  }
  if (absl::Status s = ValidateTopicName(request_.topic); !s.ok()) {
    RejectLocked(batch_id, RejectReason::kInvalid, s);
    return;
  }
  // Before the topic is looked up (or created): a denied batch learns nothing of it.
  if (absl::Status s =
          state_.auth->Authorize(principal_.get(), security::Action::kPublish, request_.topic);
      !s.ok()) {
    RejectLocked(batch_id, RejectReason::kDenied, s);
    return;
  }
  if (request_.events.empty()) {
    RejectLocked(batch_id, RejectReason::kInvalid,
                 absl::InvalidArgumentError("batch has no events"));
    return;
  }
  request_bytes_ = 0;
  for (std::size_t i = 0; i < request_.events.size(); ++i) {
    const EventView& event = request_.events[i];
    const std::size_t bytes = EventContentBytes(event, request_.HeadersOf(event));
    request_bytes_ += EventSlot::BufferBytes(MaxFramedEventSize(event, request_.HeadersOf(event)));
    if (bytes > state_.options.max_event_bytes) {
      RejectLocked(batch_id, RejectReason::kTooLarge,
                   absl::InvalidArgumentError(
                       absl::StrCat("event ", i, " of the batch has ", bytes,
                                    " bytes of key, payload and headers; the limit is ",
                                    state_.options.max_event_bytes, " (--max_event_bytes)")));
      return;
    }
  }
  if (topic_ == nullptr || topic_->name() != request_.topic || topic_->deleted()) {
    absl::StatusOr<std::shared_ptr<Topic>> topic = state_.topics.GetOrCreate(request_.topic);
    if (!topic.ok()) {
      topic_ = nullptr;
      RejectLocked(batch_id, ReasonForTopicError(topic.status()), topic.status());
      return;
    }
    topic_ = *std::move(topic);
  }
  if (request_.events.size() > topic_->capacity()) {
    RejectLocked(batch_id, RejectReason::kTooLarge,
                 absl::InvalidArgumentError(absl::StrCat(
                     "batch of ", request_.events.size(), " events is larger than topic \"",
                     topic_->name(), "\"'s ring of ", topic_->capacity(), " slots")));
    return;
  }
  if (request_bytes_ > topic_->max_batch_bytes()) {
    RejectLocked(
        batch_id, RejectReason::kTooLarge,
        absl::InvalidArgumentError(absl::StrCat(
            "batch needs ", request_bytes_, " bytes of ring memory; topic \"", topic_->name(),
            "\" takes at most ", topic_->max_batch_bytes(), " per batch (half its budget of ",
            topic_->max_bytes(), " bytes): send smaller batches")));
    return;
  }
  JoinTopicLocked(topic_);
  TryPublishLocked();
}

void PublishReactor::TryPublishLocked() {
  const auto n = static_cast<int64_t>(request_.events.size());
  for (;;) {
    if (topic_->deleted()) {
      parked_ = false;
      RejectLocked(request_.batch_id, RejectReason::kNotFound,
                   absl::NotFoundError(absl::StrCat("topic \"", topic_->name(),
                                                    "\" was deleted; batch not published")));
      return;
    }
    if (topic_->failed()) {
      parked_ = false;
      RejectLocked(request_.batch_id, RejectReason::kInternal, topic_->failure());
      return;
    }
    if (topic_->refusing()) {
      EndParkLocked();
      RejectLocked(request_.batch_id, RejectReason::kJournal, topic_->PublishRefusal());
      return;
    }
    const ByteReservation reservation = topic_->ReserveBytes(request_bytes_);
    if (reservation == ByteReservation::kServerFull) {
      EndParkLocked();
      RejectLocked(
          request_.batch_id, RejectReason::kMemory,
          absl::ResourceExhaustedError(absl::StrCat(
              "the server's memory budget is spent (", state_.topics.memory().used(), " of ",
              state_.topics.memory().limit(),
              " bytes for events in use; --max_memory_bytes=", state_.options.MemoryBudgetBytes(),
              "): no room for the batch's ", request_bytes_, " bytes; batch not published")));
      return;
    }
    if (reservation == ByteReservation::kReserved) {
      const ClaimResult claim = topic_->TryClaim(n);
      if (claim.ok()) {
        PublishClaimedLocked(claim.sequence - n + 1, claim.sequence);
        return;
      }
      topic_->UnreserveBytes(request_bytes_);
    }
    const absl::Time now = absl::Now();
    if (!parked_) {
      parked_ = true;
      park_started_ = now;
      park_deadline_ = now + state_.options.publish_timeout;
    } else if (now >= park_deadline_) {
      parked_ = false;
      topic_->counters().publish_blocked_nanos.fetch_add(
          static_cast<uint64_t>(absl::ToInt64Nanoseconds(now - park_started_)),
          std::memory_order_relaxed);
      RejectLocked(request_.batch_id, RejectReason::kBackpressure,
                   absl::ResourceExhaustedError(absl::StrCat(
                       "topic \"", topic_->name(), "\" stayed full (of events or of its ",
                       topic_->max_bytes(), " bytes) for ",
                       absl::FormatDuration(state_.options.publish_timeout),
                       " (--publish_timeout): its subscribers are not keeping up; batch not "
                       "published")));
      return;
    }
    // Park, then look again: room that freed before the waiter was added wakes nobody.
    topic_->AddWaiter(this);
    if (!topic_->HasRoomFor(n, request_bytes_) && !topic_->deleted() && !topic_->failed()) {
      ParkLocked();
      return;
    }
    topic_->RemoveWaiter(this);
    woken_.store(false, std::memory_order_seq_cst);
  }
}

void PublishReactor::PublishClaimedLocked(int64_t first, int64_t last) {
  const int64_t publish_time = absl::GetCurrentTimeNanos();
  const int64_t accepted = MonotonicNanos();
  uint64_t grown = 0;
  try {
    for (int64_t s = first; s <= last; ++s) {
      EventSlot& slot = topic_->slot(s);
      const EventView& event = request_.events[static_cast<std::size_t>(s - first)];
      const auto headers = request_.HeadersOf(event);
      const auto sequence = static_cast<uint64_t>(s);
      char* out = slot.Resize(FramedEventSize(event, headers, sequence, publish_time), grown);
      WriteFramedEvent(event, headers, sequence, publish_time, out);
      slot.accepted_nanos = accepted;
    }
  } catch (const std::bad_alloc&) {
    // Claimed slots must be published; the topic cannot deliver them whole, so it fails (its
    // subscribers end with INTERNAL) rather than deliver a gap.
    topic_->SettleBytes(request_bytes_, std::min(grown, request_bytes_), first, last);
    topic_->AbandonClaim(
        first, last,
        absl::InternalError(absl::StrCat("topic \"", topic_->name(),
                                         "\" could not allocate memory for a batch; delete and "
                                         "re-create it")));
    EndParkLocked();
    RejectLocked(request_.batch_id, RejectReason::kInternal, topic_->failure());
    return;
  }
  topic_->SettleBytes(request_bytes_, grown, first, last);
  // The fan-out step, if this thread is to run it, waits until the reaction releases mu_.
  if (topic_->PublishForInlineFanout(first, last)) fanout_due_ = topic_;
  const auto n = static_cast<uint64_t>(last - first + 1);
  TopicCounters& counters = topic_->counters();
  counters.events_published.fetch_add(n, std::memory_order_relaxed);
  counters.batches_published.fetch_add(1, std::memory_order_relaxed);
  EndParkLocked();
  if (topic_->journal_stage() != nullptr) {
    RespondWhenJournaledLocked(request_.batch_id, first, static_cast<uint32_t>(n));
  } else {
    RespondLocked(request_.batch_id, absl::OkStatus(), first, static_cast<uint32_t>(n));
  }
}

void PublishReactor::EndParkLocked() {
  if (!parked_) return;
  parked_ = false;
  topic_->counters().publish_blocked_nanos.fetch_add(
      static_cast<uint64_t>(absl::ToInt64Nanoseconds(absl::Now() - park_started_)),
      std::memory_order_relaxed);
}

void PublishReactor::ParkLocked() {
  alarm_ = std::make_unique<grpc::Alarm>();
  alarm_->Set(absl::ToChronoTime(park_deadline_), [this](bool fired) { OnAlarm(fired); });
  // seq_cst store then load, against WakeForRoom's seq_cst store of woken_ then load of the
  // alarm: either it sees the alarm and cancels it, or this sees woken_ and cancels it here.
  armed_alarm_.store(alarm_.get(), std::memory_order_seq_cst);
  if (woken_.load(std::memory_order_seq_cst)) alarm_->Cancel();
}

void PublishReactor::WakeForRoom() {
  woken_.store(true, std::memory_order_seq_cst);
  // The alarm cannot be destroyed meanwhile: OnAlarm first removes this waiter, which waits for
  // the topic's waiter lock that our caller holds.
  if (grpc::Alarm* alarm = armed_alarm_.load(std::memory_order_seq_cst)) alarm->Cancel();
}

void PublishReactor::OnAlarm(bool /*fired*/) {
  // Runs on a gRPC executor thread, whether the deadline passed or the alarm was cancelled.
  std::shared_ptr<Topic> fanout;
  {
    std::lock_guard<std::mutex> lock(mu_);
    topic_->RemoveWaiter(this);
    armed_alarm_.store(nullptr, std::memory_order_seq_cst);
    alarm_.reset();  // safe inside its own callback: gRPC keeps the alarm's state until we return
    woken_.store(false, std::memory_order_seq_cst);
    if (cancelled_) {
      parked_ = false;  // the client is gone: the batch is neither published nor answered
    } else {
      TryPublishLocked();
      MaybeReadLocked();
    }
    fanout = std::move(fanout_due_);
    MaybeFinishLocked();
  }
  if (fanout != nullptr) fanout->RunFanoutInline();  // as in OnReadDone
}

grpc::ByteBuffer PublishReactor::SerializeResponse(uint64_t batch_id, const absl::Status& status,
                                                   int64_t first, uint32_t count, bool& ok) {
  v1::PublishResponse response;
  response.set_batch_id(batch_id);
  if (status.ok()) {
    response.mutable_ack()->set_first_sequence(static_cast<uint64_t>(first));
    response.mutable_ack()->set_count(count);
  } else {
    response.mutable_error()->set_code(static_cast<int32_t>(status.code()));
    response.mutable_error()->set_message(std::string(status.message()));
  }
  grpc::ByteBuffer buffer;
  bool own_buffer = false;
  ok = grpc::SerializationTraits<v1::PublishResponse>::Serialize(response, &buffer, &own_buffer)
           .ok();
  return buffer;
}

void PublishReactor::RespondLocked(uint64_t batch_id, const absl::Status& status, int64_t first,
                                   uint32_t count) {
  bool ok = false;
  grpc::ByteBuffer buffer = SerializeResponse(batch_id, status, first, count, ok);
  if (!ok) {
    // Cannot happen for a well-formed message; end the stream rather than break the ordering.
    cancelled_ = true;
    final_status_ = grpc::Status(grpc::StatusCode::INTERNAL, "could not encode a response");
    return;
  }
  responses_.push_back(Response{.buffer = std::move(buffer), .read_nanos = request_read_nanos_});
  if (!writing_ && !finished_) StartWriteLocked();
}

void PublishReactor::RespondWhenJournaledLocked(uint64_t batch_id, int64_t first, uint32_t count) {
  responses_.push_back(Response{.read_nanos = request_read_nanos_,
                                .journal_topic = topic_,
                                .batch_id = batch_id,
                                .first = first,
                                .count = count});
  if (!writing_ && !finished_) StartWriteLocked();
}

bool PublishReactor::FrontReadyLocked() {
  Response& front = responses_.front();
  if (front.journal_topic == nullptr) return true;
  const Topic& topic = *front.journal_topic;
  const int64_t last = front.first + front.count - 1;
  absl::Status outcome;
  for (int attempt = 0;; ++attempt) {
    if (topic.JournaledSequence() >= last) {
      outcome = absl::OkStatus();
      break;
    }
    if (topic.deleted()) {
      outcome = absl::NotFoundError(absl::StrCat(
          "topic \"", topic.name(), "\" was deleted before the batch was journaled; it is gone"));
      break;
    }
    if (absl::Status refusal = topic.PublishRefusal();
        absl::IsUnavailable(refusal) || absl::IsInternal(refusal)) {
      // A failed sync: whether the batch survives a restart is unknown.
      outcome = absl::UnavailableError(
          absl::StrCat(refusal.message(),
                       "; the batch was accepted but not journaled: it may or may not be "
                       "there after the restart"));
      break;
    }
    if (attempt == 1) return false;  // the relay is added: OnJournaled comes
    if (!waiting_for_journal_) {
      waiting_for_journal_ = true;
      front.journal_topic->WaitForJournal(relay_);
    }
    // Look again: a move before the relay was added wakes nobody.
  }
  bool ok = false;
  front.buffer = SerializeResponse(front.batch_id, outcome, outcome.ok() ? front.first : 0,
                                   outcome.ok() ? front.count : 0, ok);
  front.journal_topic = nullptr;
  if (!ok) {
    // Cannot happen for a well-formed message; end the stream rather than break the ordering.
    cancelled_ = true;
    final_status_ = grpc::Status(grpc::StatusCode::INTERNAL, "could not encode a response");
  }
  return ok;
}

void PublishReactor::OnJournaled() {
  std::lock_guard<std::mutex> lock(mu_);
  waiting_for_journal_ = false;
  if (!writing_ && !finished_ && !responses_.empty()) StartWriteLocked();
  MaybeReadLocked();
  MaybeFinishLocked();
}

void PublishReactor::RejectLocked(uint64_t batch_id, RejectReason reason,
                                  const absl::Status& status) {
  std::shared_ptr<Topic> topic = topic_;
  if (topic == nullptr || topic->name() != request_.topic) {
    absl::StatusOr<std::shared_ptr<Topic>> found = state_.topics.Get(request_.topic);
    topic = found.ok() ? *std::move(found) : nullptr;
  }
  RejectCounters& counters = topic != nullptr && !topic->deleted() ? topic->counters().rejected
                                                                   : state_.rejected_without_topic;
  counters.Add(reason);
  RespondLocked(batch_id, status, 0, 0);
}

void PublishReactor::StartWriteLocked() {
  if (!FrontReadyLocked()) return;  // OnJournaled starts it
  writing_ = true;
  Response& response = responses_.front();
  if (state_.publish_latency != nullptr) {
    state_.publish_latency->Observe(MonotonicNanos() - response.read_nanos);
  }
  StartWrite(&response.buffer);
}

void PublishReactor::OnWriteDone(bool ok) {
  std::lock_guard<std::mutex> lock(mu_);
  writing_ = false;
  responses_.pop_front();
  if (!ok) {
    // The client is gone; nothing more can be answered.
    responses_.clear();
    cancelled_ = true;
    read_closed_ = true;
    if (parked_ && alarm_ != nullptr) alarm_->Cancel();
  } else if (!responses_.empty() && !finished_) {
    StartWriteLocked();
  }
  MaybeReadLocked();
  MaybeFinishLocked();
}

void PublishReactor::OnCancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
  read_closed_ = true;
  if (parked_ && alarm_ != nullptr) alarm_->Cancel();  // OnAlarm then finishes
  MaybeFinishLocked();
}

void PublishReactor::BeginShutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  shutting_down_ = true;
  MaybeFinishLocked();
}

void PublishReactor::MaybeReadLocked() {
  if (reading_ || read_closed_ || finished_ || parked_ || shutting_down_ || cancelled_) return;
  if (responses_.size() >= kMaxQueuedResponses) return;  // resumed by OnWriteDone
  reading_ = true;
  StartRead(&read_buffer_);
}

void PublishReactor::MaybeFinishLocked() {
  if (finished_ || parked_) return;
  if (cancelled_) {
    if (writing_) return;  // wait for the write to come back before finishing
    finished_ = true;
    Finish(final_status_.ok() ? grpc::Status(grpc::StatusCode::CANCELLED, "publish stream ended")
                              : final_status_);
    return;
  }
  if (!(read_closed_ || shutting_down_) || !responses_.empty()) return;
  finished_ = true;
  Finish(shutting_down_ ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "server is shutting down")
                        : grpc::Status::OK);
}

void PublishReactor::JoinTopicLocked(const std::shared_ptr<Topic>& topic) {
  if (std::find(joined_.begin(), joined_.end(), topic) != joined_.end()) return;
  // Let go of deleted topics (and their rings) the stream no longer uses.
  joined_.erase(std::remove_if(joined_.begin(), joined_.end(),
                               [](const auto& t) {
                                 if (!t->deleted()) return false;
                                 t->PublishStreamLeft();
                                 return true;
                               }),
                joined_.end());
  topic->PublishStreamJoined();
  joined_.push_back(topic);
}

void PublishReactor::OnDone() {
  {
    // Wait out any reaction still holding the lock after it called Finish.
    std::lock_guard<std::mutex> lock(mu_);
  }
  relay_->Detach();  // no journal stage calls in from here on
  if (counted_) {
    {
      std::lock_guard<std::mutex> publishers(state_.publishers_mu);
      state_.publishers.erase(this);
    }
    state_.publish_streams.Remove();
  }
  delete this;
}

}  // namespace ringcast::server
