// The fan-out stage: a small pool of threads, each the only consumer of the rings of the topics
// assigned to it. A round over a topic
//   1. drops finished subscriptions and serves subscribers that are behind the live position
//      (catch-up) from the retained slots;
//   2. copies the next run of published events into one refcounted buffer and offers every live
//      subscriber its slice of it, cut to its batch and byte limits: the run is serialized once
//      whatever the number of subscribers;
//   3. moves the live position to what every RELIABLE subscriber accepted, raises the producers'
//      gate and wakes parked publishers;
//   4. cuts off RELIABLE subscribers that hold up a full ring longer than the timeout.
//
// Thread safety: Create, AddTopic and Stop from any thread; everything else runs on the worker's
// own thread.
#ifndef RINGCAST_SERVER_SRC_FANOUT_H_
#define RINGCAST_SERVER_SRC_FANOUT_H_

#include <cstdint>
#include <memory>

#include "absl/time/time.h"
#include "doorbell.h"
#include "ringcast/server/options.h"

namespace ringcast::server {

class Topic;

struct FanoutSettings {
  absl::Duration slow_subscriber_timeout = absl::Seconds(10);
};

// One round over one topic (steps 1-4 above). Fan-out thread only. True if it made progress.
bool ServiceTopic(Topic& topic, const FanoutSettings& settings, absl::Time now);

class FanoutWorker {
 public:
  // A worker that idles with `strategy`; its thread starts at once.
  static std::unique_ptr<FanoutWorker> Create(FanoutWaitStrategy strategy, FanoutSettings settings,
                                              int index);
  virtual ~FanoutWorker() = default;

  [[nodiscard]] virtual Doorbell& doorbell() = 0;
  // Hands `topic` to this worker; it stays until the worker has ended its deleted topic's streams.
  virtual void AddTopic(std::shared_ptr<Topic> topic) = 0;
  [[nodiscard]] virtual std::size_t TopicCount() const = 0;
  // Stops and joins the thread. Idempotent.
  virtual void Stop() = 0;
};

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_SRC_FANOUT_H_
