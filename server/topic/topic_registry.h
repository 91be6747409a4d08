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
#include "topic/data_directory.h"
#include "topic/disk_replay.h"
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

  // With --data_dir: opens the data directory (taking its lock) and brings back every topic it
  // holds, each journal recovered, before the server serves anything. A topic whose journal
  // cannot be opened is logged and left out; the others are served. Errors: the directory
  // cannot be used at all (unwritable, locked by another process). Call once; without a data
  // directory it does nothing.
  absl::Status OpenDataDirectory();

  // INVALID_ARGUMENT (name, capacity, max_bytes), ALREADY_EXISTS, RESOURCE_EXHAUSTED
  // (--max_topics, or the memory budget is spent), UNAVAILABLE (its directory or journal could
  // not be created). capacity 0 means --default_ring_capacity, max_bytes 0 --max_topic_bytes,
  // retention fields 0 the server's --retention_bytes / --retention_age.
  absl::StatusOr<std::shared_ptr<Topic>> Create(
      absl::string_view name, uint32_t capacity, uint64_t max_bytes = 0,
      uint64_t retention_bytes = 0, absl::Duration retention_age = absl::ZeroDuration());
  // INVALID_ARGUMENT (name), NOT_FOUND.
  absl::StatusOr<std::shared_ptr<Topic>> Get(absl::string_view name) const;
  // Get, creating the topic with the default capacity if auto-creation is on.
  absl::StatusOr<std::shared_ptr<Topic>> GetOrCreate(absl::string_view name);
  // INVALID_ARGUMENT (name), NOT_FOUND. Subscribers end with NOT_FOUND.
  absl::Status Delete(absl::string_view name);

  // Subscribes `queue` to `topic` from `start` and returns the first sequence it will be sent.
  // The ring serves what it holds (Topic::Register); a durable topic serves older events, from
  // EARLIEST (the oldest its journal retains) or a sequence or time the journal holds, from disk
  // on the replay pool, then hands the subscriber to the ring (DiskReplay). Errors as Register's;
  // OUT_OF_RANGE names the range the journal and the ring retain.
  absl::StatusOr<int64_t> Subscribe(const std::shared_ptr<Topic>& topic,
                                    std::shared_ptr<OutboundQueue> queue,
                                    const SubscriberSettings& settings, StartPosition start,
                                    uint32_t max_subscribers);

  // Every topic, by name.
  std::vector<std::shared_ptr<Topic>> List() const;

  // Shutdown: every topic refuses new subscriptions and ends its subscribers once drained.
  void BeginDrainAll();
  // Stops the stage threads (after every stream has ended).
  void StopStages();

  // What the topics share of the server's memory budget (ServerOptions::EventMemoryBytes):
  // their slot buffers and slot pages, and the runs their subscribers are sent.
  [[nodiscard]] const MemoryBudget& memory() const noexcept { return memory_; }

  // Durability figures: whether topics are journaled, how long OpenDataDirectory took, and the
  // bytes its recovery cut from torn journal tails.
  [[nodiscard]] bool durable() const noexcept { return !options_.data_dir.empty(); }
  [[nodiscard]] double recovery_seconds() const;
  [[nodiscard]] uint64_t journal_truncated_bytes() const;
  // fdatasync durations of every topic's journal.
  [[nodiscard]] const LatencyHistogram& journal_sync_latency() const noexcept {
    return journal_sync_latency_;
  }
  // Free bytes on the data directory's disk (for the unprivileged), 0 without a data directory.
  [[nodiscard]] uint64_t DiskFreeBytes() const;

 private:
  absl::StatusOr<std::shared_ptr<Topic>> CreateLocked(TopicDefinition definition, bool recovering);
  // The journal of a topic being created or recovered.
  absl::StatusOr<std::unique_ptr<storage::Journal>> OpenJournal(const TopicDefinition& definition,
                                                                bool recovering);

  const ServerOptions& options_;
  MemoryBudget memory_;                    // before the topics and runs charged to it
  LatencyHistogram journal_sync_latency_;  // before the topics that feed it
  const EventRunFactory run_factory_;
  HeapTrimmer trimmer_;  // gives back what freed slots and runs leave in the allocator
  StagePool stages_;
  JournalPool journals_;  // no threads without a data directory
  ReplayPool replays_;    // no threads without a data directory

  mutable std::mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Topic>> topics_;  // guarded by mu_
  bool draining_ = false;                                            // guarded by mu_
  std::unique_ptr<DataDirectory> data_;   // null: memory-only topics; set once, under mu_
  double recovery_seconds_ = 0;           // guarded by mu_
  uint64_t journal_truncated_bytes_ = 0;  // guarded by mu_
};

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_TOPIC_TOPIC_REGISTRY_H_
