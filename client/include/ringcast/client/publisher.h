// Publisher: publishes events over one Publish stream, batched, with bounded memory, retried
// across disconnections.
//
// Batching. Events are grouped per topic into batches, each sent as one PublishRequest (so it is
// published atomically, with consecutive sequences). A batch is sent when it holds
// `max_batch_events` events or `max_batch_bytes` bytes, when its oldest event has waited `linger`,
// or on Flush/Close. Batches are sent in the order they were closed, and the server answers them in
// that order.
//
// Memory. Events count against `max_in_flight_bytes` from Publish until their batch is answered.
// When that is used up, Publish blocks (kBlock) or fails at once with RESOURCE_EXHAUSTED
// (kFailFast).
//
// Results. Each Publish resolves once, with the sequence the server assigned the event or with the
// error of its batch: the server's code and message (INVALID_ARGUMENT, NOT_FOUND,
// RESOURCE_EXHAUSTED when the topic's ring stayed full for the server's publish timeout, ...).
//
// Retries. When the stream breaks or the server answers UNAVAILABLE (shutdown, restart, network),
// the publisher reconnects with exponential backoff and sends again, in their original order, the
// batches that were not answered, before any later batch: a batch that was acknowledged is never
// sent again, and order is kept. A batch sent before the break but not answered may have been
// published, so after a reconnection it can be published twice (at-least-once). Batches that could
// not be sent for `retry_timeout` fail with UNAVAILABLE. Other stream-level errors fail the batches
// in flight at once.
//
// Thread safety: Publish, Flush and Close are safe from any thread. Callbacks run on the
// publisher's own thread, one at a time, in acknowledgement order, without locks held; they must
// not block, and must not call Flush or Close (which wait for that thread). A Publish made from a
// callback never blocks: if memory is used up it fails with RESOURCE_EXHAUSTED whatever the policy.
#ifndef RINGCAST_CLIENT_PUBLISHER_H_
#define RINGCAST_CLIENT_PUBLISHER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "ringcast/v1/ringcast.pb.h"

namespace ringcast::client {

struct PublisherOptions {
  // A batch is closed at this many events (at most the topic's ring capacity)...
  uint32_t max_batch_events = 512;
  // ... or at this many bytes of keys, payloads and headers ...
  std::size_t max_batch_bytes = std::size_t{1} << 20;
  // ... or when its first event has waited this long.
  absl::Duration linger = absl::Milliseconds(1);
  // Bytes of events published and not yet answered.
  std::size_t max_in_flight_bytes = std::size_t{64} << 20;
  enum class WhenFull { kBlock, kFailFast };
  WhenFull when_full = WhenFull::kBlock;
  // How long a batch may wait for a working stream before it fails with UNAVAILABLE.
  absl::Duration retry_timeout = absl::Seconds(30);
  absl::Duration initial_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(2);
};

class Publisher {
 public:
  // The sequence the server assigned the event, or the error of its batch.
  using Callback = std::function<void(absl::StatusOr<uint64_t>)>;

  // Starts the publisher's thread; the stream opens with the first batch. INVALID_ARGUMENT for
  // options out of range.
  static absl::StatusOr<std::unique_ptr<Publisher>> Create(std::shared_ptr<grpc::Channel> channel,
                                                           PublisherOptions options = {});
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;
  // Close(), then stops the thread.
  ~Publisher();

  // Queues `event` for `topic`; `done` runs once with the result. After Close, `done` runs at once
  // with FAILED_PRECONDITION.
  void Publish(absl::string_view topic, v1::EventInput event, Callback done);
  std::future<absl::StatusOr<uint64_t>> Publish(absl::string_view topic, v1::EventInput event);
  // An event with this payload and no key or headers.
  std::future<absl::StatusOr<uint64_t>> Publish(absl::string_view topic, std::string payload);

  // Sends every batch at once and waits until every event published before the call is answered.
  // DEADLINE_EXCEEDED if that takes longer than `timeout`. It does not report the events' own
  // results (their callbacks do).
  absl::Status Flush(absl::Duration timeout = absl::InfiniteDuration());
  // Stops accepting events, sends what is queued, waits for every answer and ends the stream. Safe
  // to call more than once.
  void Close();

  // Figures, for monitoring: events not yet answered and their bytes; reconnections so far.
  struct Stats {
    uint64_t events_pending = 0;
    uint64_t bytes_pending = 0;
    uint64_t reconnects = 0;
    uint64_t batches_sent = 0;  // including resends
  };
  [[nodiscard]] Stats stats() const;

 private:
  class Impl;
  explicit Publisher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringcast::client

#endif  // RINGCAST_CLIENT_PUBLISHER_H_
