// TopicRegistry: the server's topics by name, and their assignment to fan-out threads.
//
// Thread safety: every method is safe from any thread (one mutex; topics are looked up once per
// stream or per topic change, not per batch).
#ifndef RINGCAST_SERVER_SRC_TOPIC_REGISTRY_H_
#define RINGCAST_SERVER_SRC_TOPIC_REGISTRY_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fanout.h"
#include "ringcast/server/options.h"
#include "topic.h"

namespace ringcast::server {

class TopicRegistry {
 public:
  // Starts the fan-out threads.
  explicit TopicRegistry(const ServerOptions& options);
  TopicRegistry(const TopicRegistry&) = delete;
  TopicRegistry& operator=(const TopicRegistry&) = delete;
  // Stops the fan-out threads.
  ~TopicRegistry();

  // INVALID_ARGUMENT (name, capacity), ALREADY_EXISTS, RESOURCE_EXHAUSTED (--max_topics).
  // capacity 0 means --default_ring_capacity.
  absl::StatusOr<std::shared_ptr<Topic>> Create(absl::string_view name, uint32_t capacity);
  // INVALID_ARGUMENT (name), NOT_FOUND.
  absl::StatusOr<std::shared_ptr<Topic>> Get(absl::string_view name) const;
  // Get, creating the topic with the default capacity if auto-creation is on.
  absl::StatusOr<std::shared_ptr<Topic>> GetOrCreate(absl::string_view name);
  // INVALID_ARGUMENT (name), NOT_FOUND. Subscribers end with NOT_FOUND.
  absl::Status Delete(absl::string_view name);

  // Every topic, by name.
  std::vector<std::shared_ptr<Topic>> List() const;

  // Shutdown: every topic refuses new subscriptions and ends its subscribers once drained.
  void BeginDrainAll();
  // Stops the fan-out threads (after every stream has ended).
  void StopFanout();

 private:
  absl::StatusOr<std::shared_ptr<Topic>> CreateLocked(absl::string_view name, uint32_t capacity);

  const ServerOptions& options_;
  std::vector<std::unique_ptr<FanoutWorker>> workers_;

  mutable std::mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Topic>> topics_;  // guarded by mu_
  bool draining_ = false;                                            // guarded by mu_
};

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_SRC_TOPIC_REGISTRY_H_
