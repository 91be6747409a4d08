// Subscriber: one subscription to a topic that survives disconnections.
//
// It receives on its own thread into a bounded queue (so a slow consumer slows its own stream, and
// the server's flow control, not the process's memory). Take deliveries with Next (pull), or hand
// Run a callback (push).
//
// Reconnection. When the stream breaks or the server ends it with UNAVAILABLE (a restart, a
// shutdown, the network), the subscriber reconnects with exponential backoff and resumes from the
// sequence after the last one it received, so while those events are still retained nothing is
// lost and nothing is delivered twice. If they are no longer retained, a RELIABLE subscription ends
// with OUT_OF_RANGE naming the gap; a LOSSY one resumes at the oldest retained event and reports
// what it missed in `skipped`. If the topic's sequences went backwards (the server restarted and
// lost its rings), the subscription ends with DATA_LOSS. Any other error ends the subscription with
// the server's code and message (NOT_FOUND when the topic is deleted, RESOURCE_EXHAUSTED when a
// RELIABLE subscriber was too slow, ...).
//
// Thread safety: Next and Run from one consumer thread at a time; Close and the accessors from any
// thread.
#ifndef RINGCAST_CLIENT_SUBSCRIBER_H_
#define RINGCAST_CLIENT_SUBSCRIBER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "ringcast/v1/ringcast.pb.h"

namespace ringcast::client {

struct SubscriberOptions {
  std::string topic;
  // Where to start: the next event published (kLatest), the oldest retained (kEarliest),
  // `from_sequence` (kSequence), which must be retained or be the next to be published, or the
  // first retained event published at or after `from_time` (kTime).
  enum class Start { kLatest, kEarliest, kSequence, kTime };
  Start start = Start::kLatest;
  uint64_t from_sequence = 0;
  absl::Time from_time;
  bool lossy = false;
  // Most events per delivery; 0 lets the server choose.
  uint32_t max_batch_events = 0;
  // Deliveries received and not yet taken before the subscriber stops reading.
  std::size_t queue_deliveries = 64;
  // How long to keep trying to reconnect before the subscription ends with UNAVAILABLE.
  absl::Duration reconnect_timeout = absl::Seconds(30);
  absl::Duration initial_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(2);
};

// One response: consecutive events, after `skipped` events that were missed (LOSSY only).
struct Delivery {
  std::vector<v1::Event> events;
  uint64_t skipped = 0;
};

class Subscriber {
 public:
  // Subscribes and waits until the server has registered the subscription (so events published
  // after Start returns are delivered to a kLatest subscriber). Fails with the server's status
  // (NOT_FOUND, OUT_OF_RANGE, INVALID_ARGUMENT, ...), or UNAVAILABLE if it cannot connect within
  // `reconnect_timeout`.
  static absl::StatusOr<std::unique_ptr<Subscriber>> Start(std::shared_ptr<grpc::Channel> channel,
                                                           SubscriberOptions options);
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;
  ~Subscriber();  // Close()

  // The next delivery. DEADLINE_EXCEEDED if none arrives within `timeout`; once the subscription
  // has ended, its final status (CANCELLED after Close) every time.
  absl::StatusOr<Delivery> Next(absl::Duration timeout = absl::InfiniteDuration());

  // Calls `on_delivery` for each delivery until it returns false (then OK), the subscription ends
  // (its status) or Close is called (CANCELLED).
  absl::Status Run(const std::function<bool(const Delivery&)>& on_delivery);

  // Ends the subscription: from then on Next and Run return CANCELLED (what was queued is dropped).
  // Safe to call more than once, from any thread, a Run callback included.
  void Close();

  // The sequence the subscription started at (the server's ringcast-start-sequence).
  [[nodiscard]] uint64_t start_sequence() const;
  // The sequence the next delivered event will carry (one past the last received).
  [[nodiscard]] uint64_t next_sequence() const;
  // Reconnections so far.
  [[nodiscard]] uint64_t reconnects() const;

 private:
  class Impl;
  explicit Subscriber(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringcast::client

#endif  // RINGCAST_CLIENT_SUBSCRIBER_H_
