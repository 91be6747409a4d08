// TopicRegistry: the server's topics by name, and the pool of stage threads that runs them.
//
// Thread safety: every method is safe from any thread (one mutex; topics are looked up once per
// stream or per topic change, not per batch).
#ifndef RINGCAST_SERVER_TOPIC_TOPIC_REGISTRY_H_
#define RINGCAST_SERVER_TOPIC_TOPIC_REGISTRY_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ringcast/server/options.h"
#include "topic/heap_trimmer.h"
#include "topic/memory_budget.h"
#include "topic/outbound_queue.h"
#include "topic/stage_pool.h"
#include "topic/topic.h"

namespace ringcast::server {

// OK if `name` matches [A-Za-z0-9._-]{1,249}; INVALID_ARGUMENT saying why otherwise.
absl::Status ValidateTopicName(absl::string_view name);

class TopicRegistry {
 public:
  // Starts the stage threads. Topics copy their runs with `run_factory`; the runs, like the
  // topics' slots, are charged to memory() while they live.
  explicit TopicRegistry(const ServerOptions& options,
                         EventRunFactory run_factory = MakeHeapEventRun);
  TopicRegistry(const TopicRegistry&) = delete;
  TopicRegistry& operator=(const TopicRegistry&) = delete;
  // Stops the stage threads.
  ~TopicRegistry();

  // INVALID_ARGUMENT (name, capacity, max_bytes), ALREADY_EXISTS, RESOURCE_EXHAUSTED
  // (--max_topics, or the memory budget is spent). capacity 0 means --default_ring_capacity,
  // max_bytes 0 --max_topic_bytes.
  absl::StatusOr<std::shared_ptr<Topic>> Create(absl::string_view name, uint32_t capacity,
                                                uint64_t max_bytes = 0);
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
  // Stops the stage threads (after every stream has ended).
  void StopStages();

  // What the topics share of the server's memory budget (ServerOptions::EventMemoryBytes):
  // their slot buffers and slot pages, and the runs their subscribers are sent.
  [[nodiscard]] const MemoryBudget& memory() const noexcept { return memory_; }

 private:
  absl::StatusOr<std::shared_ptr<Topic>> CreateLocked(absl::string_view name, uint32_t capacity,
                                                      uint64_t max_bytes);

  const ServerOptions& options_;
  MemoryBudget memory_;  // before the topics and runs charged to it
  const EventRunFactory run_factory_;
  HeapTrimmer trimmer_;  // gives back what freed slots and runs leave in the allocator
  StagePool stages_;

  mutable std::mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Topic>> topics_;  // guarded by mu_
  bool draining_ = false;                                            // guarded by mu_
};

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_TOPIC_TOPIC_REGISTRY_H_
