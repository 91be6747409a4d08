// ringcastd: the ringcast event server. Configuration comes from flags (or --flagfile); every flag
// has a production default, so `ringcastd` alone serves on 0.0.0.0:7470.
//
// Signals: SIGTERM or SIGINT starts a graceful shutdown (bounded by --shutdown_timeout) and the
// process exits 0 when it completes; a second signal during shutdown exits at once with 1. SIGHUP
// reloads --auth_file.
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "observability/log.h"
#include "ringcast/server/server.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:7470",
          "gRPC listening address (host:port; port 0 picks one)");
ABSL_FLAG(std::string, metrics_listen, "0.0.0.0:9470",
          "Prometheus /metrics listening address (host:port); empty disables it. /metrics is "
          "plain HTTP: with --tls_cert the default becomes 127.0.0.1:9470 (loopback only)");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain: the server speaks TLS only (with --tls_key); reloaded when the "
          "file changes");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA certificates: every client must present a certificate they signed (mTLS)");
ABSL_FLAG(absl::Duration, tls_reload_interval, absl::Seconds(10),
          "how often the TLS files are checked for changes");
ABSL_FLAG(std::string, auth_file, "",
          "JSON file of principals, their hashed tokens or certificate subjects, and their rights "
          "(docs/security-auth-file.md); reloaded on SIGHUP. Empty: anyone may do anything");
ABSL_FLAG(bool, insecure_plaintext_tokens, false,
          "development only: accept --auth_file without TLS (bearer tokens cross the network in "
          "the clear)");
ABSL_FLAG(uint32_t, default_ring_capacity, 65536,
          "ring slots (the retention window, in events) of a topic created without a capacity; "
          "a power of two");
ABSL_FLAG(uint32_t, max_ring_capacity, 1u << 20,
          "largest capacity CreateTopic accepts; a power of two (each slot holds one event)");
ABSL_FLAG(bool, auto_create_topics, true,
          "create an unknown topic on its first Publish or Subscribe; when false those get "
          "NOT_FOUND");
ABSL_FLAG(uint32_t, max_topics, 1024, "most topics the server holds (also bounds metric labels)");
ABSL_FLAG(absl::Duration, publish_timeout, absl::Seconds(5),
          "how long a batch waits for room on a full ring before RESOURCE_EXHAUSTED");
ABSL_FLAG(uint32_t, max_event_bytes, 1u << 20,
          "largest event: key + payload + header names and values, in bytes (INVALID_ARGUMENT "
          "above); a request may carry up to 4 such events' worth of bytes");
ABSL_FLAG(uint32_t, max_publish_streams, 4096,
          "most open Publish streams (RESOURCE_EXHAUSTED above)");
ABSL_FLAG(uint32_t, max_batch_events, 512,
          "events per SubscribeResponse when the subscriber does not ask for a batch size");
ABSL_FLAG(uint32_t, max_response_bytes, 1u << 20,
          "a SubscribeResponse is cut before it passes this many bytes (it always holds at least "
          "one event)");
ABSL_FLAG(uint64_t, subscriber_queue_bytes, 8u << 20,
          "bytes of responses queued per subscriber before it counts as slow");
ABSL_FLAG(uint32_t, max_subscribers_per_topic, 1024,
          "most live subscriptions per topic (RESOURCE_EXHAUSTED above)");
ABSL_FLAG(absl::Duration, slow_subscriber_timeout, absl::Seconds(10),
          "a RELIABLE subscriber that holds up a full ring this long is ended with "
          "RESOURCE_EXHAUSTED");
ABSL_FLAG(int, fanout_threads, 1,
          "stage threads running the topics' pipelines; topics are spread over them");
ABSL_FLAG(std::string, wait_strategy, "blocking",
          "how idle stage threads (the topics' pipelines) wait: blocking (~0% CPU idle), phased "
          "(spin, yield, then "
          "block), yielding or busy_spin (each keeps a core busy)");
ABSL_FLAG(bool, inline_fanout, true,
          "a quiet memory-only topic (no publish in the previous 500 us) runs its fan-out step on "
          "the publishing thread: one thread hand-off fewer between a publish and its delivery");
ABSL_FLAG(uint64_t, max_memory_bytes, 0,
          "memory budget of the whole server; a batch or topic that would exceed it is refused "
          "with RESOURCE_EXHAUSTED. 0: 3/4 of the cgroup limit or physical memory");
ABSL_FLAG(uint64_t, max_topic_bytes, uint64_t{256} << 20,
          "event bytes one topic's ring may hold (CreateTopic may set its own); publishers wait "
          "when it is full; the newest events up to half of it stay replayable");
ABSL_FLAG(absl::Duration, keepalive_time, absl::Seconds(30),
          "interval of the server's HTTP/2 keepalive pings");
ABSL_FLAG(absl::Duration, keepalive_timeout, absl::Seconds(10),
          "a connection whose keepalive ping is not answered within this is closed");
ABSL_FLAG(absl::Duration, keepalive_min_ping_interval, absl::Seconds(10),
          "clients pinging more often than this are disconnected");
ABSL_FLAG(absl::Duration, shutdown_timeout, absl::Seconds(30),
          "longest graceful shutdown; what is still open afterwards is cancelled");
ABSL_FLAG(std::string, data_dir, "ringcast-data",
          "directory of the durable topics: their definitions and journals (created if missing; "
          "one server at a time). Empty: topics live in memory only and a restart loses them");
ABSL_FLAG(ringcast::server::storage::SyncMode, journal_sync,
          ringcast::server::storage::SyncMode::kAlways,
          "when a publish is acknowledged: always (the batch is fdatasynced; survives a power "
          "cut), interval (written to the OS, synced every --journal_sync_interval; survives "
          "the process being killed) or none (written to the OS)");
ABSL_FLAG(absl::Duration, journal_sync_interval, absl::Milliseconds(100),
          "how often --journal_sync=interval syncs");
ABSL_FLAG(uint64_t, segment_bytes, uint64_t{64} << 20, "size at which a journal segment rolls");
ABSL_FLAG(absl::Duration, segment_age, absl::Hours(1),
          "age (of its first event) at which a journal segment rolls");
ABSL_FLAG(uint64_t, retention_bytes, 0,
          "journal bytes a topic keeps; older segments are deleted (0: no limit; CreateTopic may "
          "set its own)");
ABSL_FLAG(absl::Duration, retention_age, absl::Hours(24 * 7),
          "age after which journal segments are deleted (0: no limit; CreateTopic may set its "
          "own)");
ABSL_FLAG(uint64_t, min_free_bytes, uint64_t{128} << 20,
          "batches are refused with RESOURCE_EXHAUSTED while the data directory's disk has less "
          "free space");
ABSL_FLAG(int, journal_threads, 1, "threads that write and sync the topics' journals");

namespace {

using ringcast::server::Log;
using ringcast::server::LogLevel;

absl::StatusOr<ringcast::server::ServerOptions> OptionsFromFlags() {
  ringcast::server::ServerOptions o;
  o.listen = absl::GetFlag(FLAGS_listen);
  o.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  o.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  o.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  o.tls_client_ca_file = absl::GetFlag(FLAGS_tls_client_ca);
  o.tls_reload_interval = absl::GetFlag(FLAGS_tls_reload_interval);
  o.auth_file = absl::GetFlag(FLAGS_auth_file);
  o.insecure_plaintext_tokens = absl::GetFlag(FLAGS_insecure_plaintext_tokens);
  // /metrics has no TLS of its own: a TLS server keeps it on loopback unless told otherwise.
  if (o.tls() && o.metrics_listen == "0.0.0.0:9470") o.metrics_listen = "127.0.0.1:9470";
  o.default_ring_capacity = absl::GetFlag(FLAGS_default_ring_capacity);
  o.max_ring_capacity = absl::GetFlag(FLAGS_max_ring_capacity);
  o.auto_create_topics = absl::GetFlag(FLAGS_auto_create_topics);
  o.max_topics = absl::GetFlag(FLAGS_max_topics);
  o.publish_timeout = absl::GetFlag(FLAGS_publish_timeout);
  o.max_event_bytes = absl::GetFlag(FLAGS_max_event_bytes);
  o.max_publish_streams = absl::GetFlag(FLAGS_max_publish_streams);
  o.max_batch_events = absl::GetFlag(FLAGS_max_batch_events);
  o.max_response_bytes = absl::GetFlag(FLAGS_max_response_bytes);
  o.subscriber_queue_bytes = absl::GetFlag(FLAGS_subscriber_queue_bytes);
  o.max_subscribers_per_topic = absl::GetFlag(FLAGS_max_subscribers_per_topic);
  o.slow_subscriber_timeout = absl::GetFlag(FLAGS_slow_subscriber_timeout);
  o.fanout_threads = absl::GetFlag(FLAGS_fanout_threads);
  o.inline_fanout = absl::GetFlag(FLAGS_inline_fanout);
  auto strategy = ringcast::server::ParseFanoutWaitStrategy(absl::GetFlag(FLAGS_wait_strategy));
  if (!strategy.ok()) return strategy.status();
  o.wait_strategy = *strategy;
  o.max_memory_bytes = absl::GetFlag(FLAGS_max_memory_bytes);
  o.max_topic_bytes = absl::GetFlag(FLAGS_max_topic_bytes);
  o.keepalive_time = absl::GetFlag(FLAGS_keepalive_time);
  o.keepalive_timeout = absl::GetFlag(FLAGS_keepalive_timeout);
  o.keepalive_min_ping_interval = absl::GetFlag(FLAGS_keepalive_min_ping_interval);
  o.shutdown_timeout = absl::GetFlag(FLAGS_shutdown_timeout);
  o.data_dir = absl::GetFlag(FLAGS_data_dir);
  o.journal_sync = absl::GetFlag(FLAGS_journal_sync);
  o.journal_sync_interval = absl::GetFlag(FLAGS_journal_sync_interval);
  o.segment_bytes = absl::GetFlag(FLAGS_segment_bytes);
  o.segment_age = absl::GetFlag(FLAGS_segment_age);
  o.retention_bytes = absl::GetFlag(FLAGS_retention_bytes);
  o.retention_age = absl::GetFlag(FLAGS_retention_age);
  o.min_free_bytes = absl::GetFlag(FLAGS_min_free_bytes);
  o.journal_threads = absl::GetFlag(FLAGS_journal_threads);
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  // Buffers of 512 KiB and more (large events' slots) get mappings of their own, so freeing one
  // gives its memory back to the system. glibc would otherwise raise this threshold as such
  // buffers are freed and serve later ones from its heaps, which keep what they grew to (measured:
  // 40 MB stayed resident after large events gave way to small ones). Below it, the fan-out's
  // runs (usually a few hundred KiB) stay on the heap: a mapping per run cost page faults.
  mallopt(M_MMAP_THRESHOLD, 512 << 10);
  // Fixing the mmap threshold also stops glibc from raising the trim threshold (128 KiB), and a
  // heap whose free top passes it shrinks at once: every run freed at the top of the stage
  // thread's heap then gave its pages back and faulted them in again for the next (measured: 2.5x
  // the page faults, 27% more server CPU per delivered event). At 2 MiB the faults are back to
  // what they were, and the free tops of gRPC threads' heaps, which malloc_trim leaves alone, do
  // not keep tens of MiB resident after a burst (measured: 54 MiB above the baseline at 64 MiB,
  // up to 35 MiB at 8 MiB). The heap trimmer returns the rest once a second
  // (topic/heap_trimmer.h).
  mallopt(M_TRIM_THRESHOLD, 2 << 20);
  absl::FlagsUsageConfig usage;
  // --help lists the server's own flags (defined here), not the libraries'.
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "server/main.cc");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  usage.version_string = [] { return std::string("ringcastd " RINGCAST_VERSION "\n"); };
  absl::SetFlagsUsageConfig(usage);
  absl::SetProgramUsageMessage(
      "ringcast event server.\n\nUsage: ringcastd [--flag=value ...] [--flagfile=FILE]\n\n"
      "Publishes and fans out events over gRPC (ringcast.v1.EventService, TopicService).");
  absl::ParseCommandLine(argc, argv);

  absl::StatusOr<ringcast::server::ServerOptions> options = OptionsFromFlags();
  if (!options.ok()) {
    std::fprintf(stderr, "ringcastd: %s\n", std::string(options.status().message()).c_str());
    return 2;
  }

  // Signals are taken by sigwait below, never by a handler: block them before any thread starts
  // so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = ringcast::server::Server::Start(*std::move(options));
  if (!server.ok()) {
    Log(LogLevel::kError, "ringcastd failed to start",
        {{"error", std::string(server.status().message())}});
    return absl::IsInvalidArgument(server.status()) ? 2 : 1;
  }

  int signal_number = 0;
  for (;;) {
    sigwait(&signals, &signal_number);
    if (signal_number != SIGHUP) break;
    // SIGHUP: the auth file again (TLS files are watched by themselves).
    if (absl::Status s = (*server)->ReloadAuth(); s.ok()) {
      Log(LogLevel::kInfo, "auth file reloaded", {{"auth_file", absl::GetFlag(FLAGS_auth_file)}});
    } else {
      Log(LogLevel::kError, "auth file reload failed: the previous rights stay in force",
          {{"error", std::string(s.message())}});
    }
  }
  Log(LogLevel::kInfo, "signal received", {{"signal", strsignal(signal_number)}});
  std::thread shutdown([&] { (*server)->Shutdown(); });
  std::thread second_signal([&] {
    int again = SIGHUP;
    while (again == SIGHUP) sigwait(&signals, &again);
    Log(LogLevel::kWarning, "second signal during shutdown: exiting now",
        {{"signal", strsignal(again)}});
    _exit(1);
  });
  second_signal.detach();
  shutdown.join();
  server->reset();
  return 0;
}
