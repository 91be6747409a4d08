// PublishReactor: one Publish stream (bidirectional, raw bytes parsed here so malformed requests
// get a per-batch INVALID_ARGUMENT instead of killing the stream).
//
// Per request: parse, validate, claim the batch's slots with one TryClaim, encode the events
// into them, publish them as one unit, and answer with one response, in request order. On a
// durable topic the acknowledgement waits until the topic's journal stage has passed the batch
// (Topic::WaitForJournal); later responses wait behind it, so the order holds. On a full
// ring the reactor stops reading (so HTTP/2 flow control pushes back on the client), parks on the
// topic, and retries when the fan-out stage frees room; after --publish_timeout it rejects the
// batch with RESOURCE_EXHAUSTED and reads on. No reaction ever blocks.
//
// Threads: reactions run on gRPC threads, possibly concurrently (a read and a write completing
// at once); the parked-publisher alarm on a gRPC executor thread; WakeForRoom on the fan-out
// thread; OnJournaled (through relay_) on a journal thread. All state is guarded by mu_, except
// what WakeForRoom touches (atomics).
//
// Lock order: mu_, then the topic's waiter locks. WakeForRoom is called under the waiter lock and
// so never takes mu_. The relay's lock comes before mu_: the journal stage calls the relay
// outside the topic's locks, and OnDone detaches the relay without holding mu_.
#ifndef RINGCAST_SERVER_RPC_PUBLISH_REACTOR_H_
#define RINGCAST_SERVER_RPC_PUBLISH_REACTOR_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/alarm.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/byte_buffer.h"
#include "observability/reject_reason.h"
#include "rpc/event_codec.h"
#include "rpc/server_state.h"
#include "topic/topic.h"

namespace ringcast::server {

class PublishReactor final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
                             public PublishWaiter {
  class JournalRelay;

 public:
  // Starts reading; the reactor deletes itself in OnDone.
  // `principal`: the stream's caller (null on an open server), or why it is refused (the stream
  // then ends with that status at once).
  static PublishReactor* Start(ServerState& state,
                               absl::StatusOr<CallAuth::PrincipalPtr> principal);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;
  void WakeForRoom() override;
  // A topic's journaled sequence moved (through relay_): writes the acknowledgements now due.
  void OnJournaled();

  // Shutdown: answer what was read, finish with UNAVAILABLE. From any thread.
  void BeginShutdown();

 private:
  PublishReactor(ServerState& state, absl::StatusOr<CallAuth::PrincipalPtr> principal);
  ~PublishReactor();

  // All of these require mu_ held.
  // The bytes of the message just read, contiguous; valid until the next read.
  absl::string_view RequestBytesLocked();
  void HandleRequestLocked();
  // Claims, encodes and publishes the parked batch, parks it, or rejects it.
  void TryPublishLocked();
  // Writes the parked batch into slots first..last (claimed, with its bytes reserved), publishes
  // and acknowledges it.
  void PublishClaimedLocked(int64_t first, int64_t last);
  // Leaves the parked state, counting the time spent parked.
  void EndParkLocked();
  void ParkLocked();
  void RespondLocked(uint64_t batch_id, const absl::Status& status, int64_t first, uint32_t count);
  // Queues the acknowledgement of first..first+count-1 on a durable topic, written once the
  // journal has them (or an error, if the journal fails or the topic goes first).
  void RespondWhenJournaledLocked(uint64_t batch_id, int64_t first, uint32_t count);
  // True if the front response may be written now; otherwise waits for the journal.
  bool FrontReadyLocked();
  static grpc::ByteBuffer SerializeResponse(uint64_t batch_id, const absl::Status& status,
                                            int64_t first, uint32_t count, bool& ok);
  // Counts the rejection (on the request's topic if it is live) and answers with `status`.
  void RejectLocked(uint64_t batch_id, RejectReason reason, const absl::Status& status);
  // Hands the front response to gRPC.
  void StartWriteLocked();
  void MaybeReadLocked();
  void MaybeFinishLocked();
  void JoinTopicLocked(const std::shared_ptr<Topic>& topic);

  void OnAlarm(bool fired);

  ServerState& state_;
  // The caller, with the rights it had when the stream started (null: an open server).
  const CallAuth::PrincipalPtr principal_;
  const bool counted_;  // took a --max_publish_streams slot

  std::mutex mu_;
  struct Response {
    grpc::ByteBuffer buffer;
    int64_t read_nanos;  // MonotonicNanos() when its request was read, or 0 without metrics
    // An acknowledgement waiting for the journal of `journal_topic` (null: `buffer` is ready).
    std::shared_ptr<Topic> journal_topic;
    uint64_t batch_id = 0;
    int64_t first = 0;
    uint32_t count = 0;
  };

  grpc::ByteBuffer read_buffer_;
  grpc::Slice request_slice_;       // the read message, when gRPC delivered it in one slice
  std::string request_copy_;        // the read message, when it came in several
  PublishRequestView request_;      // the batch being handled (or parked): views into one of those
  int64_t request_read_nanos_ = 0;  // when it was read (MonotonicNanos), or 0 without metrics
  std::shared_ptr<Topic> topic_;    // its topic
  uint64_t request_bytes_ = 0;      // the slot buffer bytes it reserves (EventSlot::BufferBytes)
  std::deque<Response> responses_;  // front is in flight when writing_
  bool reading_ = false;
  bool writing_ = false;
  bool read_closed_ = false;  // the client half-closed, or reading failed
  bool cancelled_ = false;
  bool shutting_down_ = false;
  bool finished_ = false;
  grpc::Status final_status_;

  // A batch parked on a full ring.
  bool parked_ = false;
  // Set by a publish whose fan-out step this reaction runs once it releases mu_
  // (Topic::PublishForInlineFanout).
  std::shared_ptr<Topic> fanout_due_;
  absl::Time park_started_;
  absl::Time park_deadline_;
  std::unique_ptr<grpc::Alarm> alarm_;
  // The armed alarm, for WakeForRoom. seq_cst with woken_: see ParkLocked.
  std::atomic<grpc::Alarm*> armed_alarm_{nullptr};
  std::atomic<bool> woken_{false};

  std::vector<std::shared_ptr<Topic>> joined_;  // topics this stream published to
  const std::shared_ptr<JournalRelay> relay_;   // how journal stages reach this stream
  bool waiting_for_journal_ = false;            // relay_ is added to the front's topic
};

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_RPC_PUBLISH_REACTOR_H_
