// ServerOptions: everything ringcastd can be configured with. main.cc fills it from flags; tests
// and embedders fill it directly. Every field has a production default.
#ifndef RINGCAST_SERVER_OPTIONS_H_
#define RINGCAST_SERVER_OPTIONS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/sync_mode.h"

namespace ringcast::server {

// How a stage thread (it runs the pipelines of its topics) waits when none of them has work: the
// core wait strategy its agent runner idles with.
enum class FanoutWaitStrategy {
  kBlocking,  // parks on a condition variable until woken: an idle server uses ~0% CPU
  kPhased,    // spins briefly, then yields, then parks: lower wake-up latency, still idles at ~0%
  kYielding,  // spins with sched_yield: low latency, one busy core per stage thread
  kBusySpin,  // spins: lowest latency, one core per stage thread, needs dedicated cores
};

absl::StatusOr<FanoutWaitStrategy> ParseFanoutWaitStrategy(absl::string_view name);
absl::string_view FanoutWaitStrategyName(FanoutWaitStrategy strategy);

struct ServerOptions {
  // gRPC listening address; port 0 picks a free port (see Server::port()).
  std::string listen = "0.0.0.0:7470";
  // Prometheus /metrics listening address; empty disables the endpoint.
  std::string metrics_listen = "0.0.0.0:9470";

  // Topics.
  uint32_t default_ring_capacity = 65536;  // slots of a topic created without a capacity
  uint32_t max_ring_capacity = 1u << 20;   // largest capacity CreateTopic accepts
  bool auto_create_topics = true;          // Publish and Subscribe create unknown topics
  uint32_t max_topics = 1024;

  // Publishing.
  absl::Duration publish_timeout = absl::Seconds(5);  // wait on a full ring before rejecting
  uint32_t max_event_bytes = 1u << 20;                // key + payload + headers of one event
  uint32_t max_publish_streams = 4096;

  // Subscribing and fan-out.
  uint32_t max_batch_events = 512;         // events per SubscribeResponse by default
  uint32_t max_response_bytes = 1u << 20;  // a response never exceeds this (but holds >= 1 event)
  uint64_t subscriber_queue_bytes = 8u << 20;  // outbound bytes queued per subscriber
  uint32_t max_subscribers_per_topic = 1024;
  absl::Duration slow_subscriber_timeout = absl::Seconds(10);
  int fanout_threads = 1;  // stage threads; topics are spread over them
  FanoutWaitStrategy wait_strategy = FanoutWaitStrategy::kBlocking;
  // A quiet memory-only topic (no publish in the previous 500 us) runs its fan-out step on the
  // publishing thread when no other thread is running it: the event reaches its subscribers'
  // streams with no thread hand-off. Busier topics stay on the stage threads, which then run
  // beside the publishers' gRPC threads.
  bool inline_fanout = true;

  // Connections.
  absl::Duration keepalive_time = absl::Seconds(30);
  absl::Duration keepalive_timeout = absl::Seconds(10);
  absl::Duration keepalive_min_ping_interval = absl::Seconds(10);  // fastest client pings allowed

  // Memory. A topic holds at most max_topic_bytes of event bytes in its ring (the newest events up
  // to half of it stay replayable; the rest is room for events on their way to subscribers).
  // max_memory_bytes bounds the whole server: a quarter of it (at least 64 MiB) is the gRPC
  // transport's quota for messages being received and sent, the rest is shared by the topics'
  // rings and the copies queued for subscribers. 0 derives it from the machine: 3/4 of the
  // cgroup's memory limit or of physical memory, whichever is smaller.
  uint64_t max_memory_bytes = 0;
  uint64_t max_topic_bytes = uint64_t{256} << 20;

  // Durability. With a data directory every topic is durable: its events are journaled to segment
  // files under data_dir/topics/ before subscribers see them and before their publisher is
  // acknowledged, and topics, their sequences and their events survive a restart. Empty: every
  // topic lives in memory only (ringcastd's --data_dir defaults to "ringcast-data").
  std::string data_dir;
  // always: an acknowledgement means fdatasynced (group commit); interval: written to the OS and
  // synced every journal_sync_interval; none: written to the OS. Written to the OS survives the
  // process being killed, not the machine losing power.
  storage::SyncMode journal_sync = storage::SyncMode::kAlways;
  absl::Duration journal_sync_interval = absl::Milliseconds(100);
  uint64_t segment_bytes = uint64_t{64} << 20;  // a segment file rolls at this size
  absl::Duration segment_age = absl::Hours(1);  // or when its first event is this old
  // A topic's journal keeps its newest retention_bytes (0: no limit) and drops what is older than
  // retention_age (zero: no limit), whole segments at a time; CreateTopicRequest may override both.
  uint64_t retention_bytes = 0;
  absl::Duration retention_age = absl::Hours(24 * 7);
  // Batches are refused (RESOURCE_EXHAUSTED) while the data directory's disk has less free.
  uint64_t min_free_bytes = uint64_t{128} << 20;
  int journal_threads = 1;  // threads that write and sync the journals; topics are spread over them

  // Security. With tls_cert_file and tls_key_file (PEM) the server speaks TLS only; the files are
  // watched and reloaded when they change (checked every tls_reload_interval) without dropping
  // established streams. tls_client_ca_file (PEM) requires every client to present a certificate
  // signed by it (mTLS). auth_file (JSON, docs/security-auth-file.md) names principals, their
  // hashed bearer tokens or certificate subjects, and their rights; without it the server is open
  // to anyone who can reach the port. Bearer tokens over plaintext are refused at start-up unless
  // insecure_plaintext_tokens (development only: tokens then cross the network in the clear).
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  absl::Duration tls_reload_interval = absl::Seconds(10);
  std::string auth_file;
  bool insecure_plaintext_tokens = false;
  [[nodiscard]] bool tls() const noexcept { return !tls_cert_file.empty(); }

  // Graceful shutdown: the longest SIGTERM may take before the remaining streams are cancelled.
  absl::Duration shutdown_timeout = absl::Seconds(30);

  // The largest gRPC message the server accepts: a PublishRequest may carry several events of up
  // to max_event_bytes each; 4 of them plus framing, never less than 4 MiB.
  [[nodiscard]] int MaxReceiveMessageBytes() const;

  // max_memory_bytes, or the machine-derived default when it is 0.
  [[nodiscard]] uint64_t MemoryBudgetBytes() const;
  // The gRPC transport's share of MemoryBudgetBytes(): a quarter, at least 64 MiB.
  [[nodiscard]] uint64_t TransportMemoryBytes() const;
  // What the topics share: MemoryBudgetBytes() less the transport's share.
  [[nodiscard]] uint64_t EventMemoryBytes() const;
  // A topic's byte budget: `requested` (0: max_topic_bytes), never above EventMemoryBytes().
  [[nodiscard]] uint64_t TopicMemoryBytes(uint64_t requested = 0) const;
};

// The memory this process may use as the machine sees it: the smaller of physical memory and the
// cgroup's memory limit (v2 memory.max or v1 memory.limit_in_bytes), in bytes.
uint64_t MachineMemoryBytes();

// INVALID_ARGUMENT naming the first option that is out of range.
absl::Status ValidateOptions(const ServerOptions& options);

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_OPTIONS_H_
