// ringcast-nats-bench: ringcast-bench's end-to-end fan-out throughput measurement, run against a
// NATS server, so that "faster than NATS on the same machine" is measured, not quoted.
//
//   ringcast-nats-bench [throughput] [--target=HOST:PORT | --spawn_server] --subscribers
//                       --event_bytes --batch --events
//
// What it measures: one publisher connection publishes --events messages of --event_bytes each on
// one subject; --subscribers subscriber connections on that subject count the messages and the
// payload bytes they receive. Published events/s run from the first PUB to the PONG proving that
// the server processed the last one; delivered events/s from the first PUB until every subscriber
// has every message. The server's CPU seconds per million delivered messages are the change of its
// user + system time (/proc/<pid>/stat) over the same span. Every run is verified: each subscriber
// must receive exactly --events messages (--events rounded down to whole batches, at least one) of
// --event_bytes each, or the run fails. --spawn_server starts `nats-server -a 127.0.0.1 -p <free
// port>`, untuned (its defaults otherwise), and stops it at the end.
//
// How it is fair to NATS, compared with `ringcast-bench throughput` given the same flags:
//  * the same payloads (--event_bytes of 'x'), one subject for the one topic, the same number of
//    subscribers, each on its own TCP connection, over loopback on the same machine;
//  * the same batching: --batch PUB commands go out in one write, as ringcast-bench sends --batch
//    events in one request (and as NATS clients buffer PUBs until they flush);
//  * the server's CPU measured the same way, from /proc/<pid>/stat of the server process alone;
//  * a lean client: the batch is encoded once and written as is, and subscribers count MSG lines
//    and pass over the payloads without copying them. One thread reads every subscriber connection
//    (epoll) rather than a thread each, leaving as much of the CPUs as it can to the server, as
//    ringcast-bench's subscribers share gRPC's few callback threads.
//
// Flow control. NATS has none end to end: the server queues what a subscriber has not read yet and
// cuts it off as a slow consumer once that exceeds a limit (64 MB by default) or a write to it
// stalls past a deadline. ringcast-bench's publisher keeps --window batches unanswered, and a
// ringcast topic holds the publisher back once a subscriber is a ring (65536 events by default)
// behind. This publisher keeps the same two bounds:
//  * window: after every --ping_every batches it sends PING in the same write. The server answers
//    PONG only once it has processed everything before, so by waiting while more than
//    --window / --ping_every PINGs are unanswered, at most --window batches are unprocessed;
//  * subscriber lag: at each PING it also waits, sleeping 100 us at a time so as not to take CPU
//    from the server, while the slowest subscriber has received more than --max_subscriber_lag
//    messages fewer than have been published.
// A subscriber cut off all the same shows as an -ERR or as the server closing its connection, and
// the run fails with that error.
//
// --format=json prints one object per run, with ringcast-bench's field names; table prints a line
// per run.
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "bench/common/server_process.h"
#include "bench/core/report.h"
#include "bench/peers/nats_connection.h"
#include "bench/peers/nats_server.h"

ABSL_FLAG(std::string, target, "", "host:port of a running nats-server");
ABSL_FLAG(bool, spawn_server, false,
          "start nats-server -a 127.0.0.1 -p <free port> for the runs and stop it at the end");
ABSL_FLAG(std::string, nats_server, "nats-server",
          "--spawn_server: the program (searched on PATH, then in /usr/sbin where Debian puts it)");
ABSL_FLAG(std::string, server_log, "",
          "--spawn_server: file for nats-server's log (default: none)");
ABSL_FLAG(int, server_pid, 0,
          "--target: pid of the server, for its CPU time (default: found by port)");
ABSL_FLAG(int, subscribers, 4, "subscriber connections on the subject");
ABSL_FLAG(int, event_bytes, 64, "payload bytes per message");
ABSL_FLAG(int, batch, 100, "PUB commands per write");
ABSL_FLAG(int64_t, events, 5'000'000, "messages published per run");
ABSL_FLAG(int, window, 32,
          "batches the server may not have processed yet (ringcast-bench's --window)");
ABSL_FLAG(int, ping_every, 8, "batches between PINGs; at most --window");
ABSL_FLAG(int64_t, max_subscriber_lag, 65536,
          "messages the slowest subscriber may be behind the publisher (a ringcast topic's ring)");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(30),
          "a run fails when the server is silent this long while it owes an answer");
ABSL_FLAG(int, runs, 1, "runs (each on fresh connections and a fresh subject)");
ABSL_FLAG(std::string, format, "table", "table or json");

namespace ringcast::bench {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsBetween(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

using nats::Server;

// `batch` PUB commands of `event_bytes` each on `subject`: one write of the publisher.
std::string EncodeBatch(const std::string& subject, int batch, int event_bytes) {
  const std::string one =
      absl::StrCat("PUB ", subject, " ", event_bytes, "\r\n",
                   std::string(static_cast<std::size_t>(event_bytes), 'x'), "\r\n");
  std::string all;
  all.reserve(one.size() * static_cast<std::size_t>(batch));
  for (int i = 0; i < batch; ++i) all += one;
  return all;
}

// How far the subscribers are: written by the reader thread, read by the publisher.
struct SubscriberProgress {
  // The fewest messages any subscriber has received. Relaxed: the publisher only throttles on it;
  // the counts that are verified are read from the connections after the reader thread is joined.
  std::atomic<int64_t> slowest{0};
  // Relaxed for the same reason: it only stops the publisher early.
  std::atomic<bool> failed{false};
};

// What the reader thread leaves behind; read after it is joined.
struct ReaderResult {
  Clock::time_point finished;  // when the last subscriber had every message, or it failed
  std::string error;
};

// Reads every subscriber connection, on the calling thread, until each has `expected` messages,
// one fails, or none receives anything for `timeout`.
ReaderResult ReadSubscribers(std::span<const std::unique_ptr<nats::Connection>> subscribers,
                             int64_t expected, absl::Duration timeout,
                             SubscriberProgress& progress) {
  ReaderResult result;
  const int epoll = epoll_create1(EPOLL_CLOEXEC);
  if (epoll < 0) result.error = absl::StrCat("epoll_create1: ", std::strerror(errno));
  for (std::size_t i = 0; i < subscribers.size() && result.error.empty(); ++i) {
    epoll_event interest{};
    interest.events = EPOLLIN;
    interest.data.u64 = i;
    if (epoll_ctl(epoll, EPOLL_CTL_ADD, subscribers[i]->fd(), &interest) != 0) {
      result.error = absl::StrCat("epoll_ctl: ", std::strerror(errno));
    }
  }
  std::vector<epoll_event> ready(std::max<std::size_t>(1, subscribers.size()));
  const auto timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(timeout));
  std::size_t active = subscribers.size();
  while (active > 0 && result.error.empty()) {
    const int n = epoll_wait(epoll, ready.data(), static_cast<int>(ready.size()), timeout_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      result.error = n == 0 ? absl::StrCat("no subscriber received anything for ",
                                           absl::FormatDuration(timeout), "; the slowest had ",
                                           progress.slowest.load(std::memory_order_relaxed), " of ",
                                           expected, " messages")
                            : absl::StrCat("epoll_wait: ", std::strerror(errno));
      break;
    }
    for (int k = 0; k < n && result.error.empty(); ++k) {
      const std::size_t i = ready[static_cast<std::size_t>(k)].data.u64;
      nats::Connection& connection = *subscribers[i];
      if (absl::Status s = connection.ReadSome(); !s.ok()) {
        result.error = absl::StrCat(
            "subscriber ", i + 1, " after ", connection.counts().messages, " of ", expected,
            " messages: ", s.message(),
            connection.closed() ? " (nats-server cuts a slow consumer off this way)" : "");
      } else if (connection.counts().messages >= expected) {
        epoll_ctl(epoll, EPOLL_CTL_DEL, connection.fd(), nullptr);
        --active;
      }
    }
    int64_t slowest = expected;
    for (const auto& s : subscribers) slowest = std::min(slowest, s->counts().messages);
    progress.slowest.store(slowest, std::memory_order_relaxed);
  }
  if (epoll >= 0) close(epoll);
  if (result.error.empty()) {
    progress.slowest.store(expected, std::memory_order_relaxed);  // also with no subscribers
  } else {
    progress.failed.store(true, std::memory_order_relaxed);
  }
  result.finished = Clock::now();
  return result;
}

struct PublishPlan {
  int64_t batches = 0;
  int batch = 0;
  int ping_every = 0;
  int64_t max_unanswered_pings = 0;
  int64_t max_subscriber_lag = 0;
};

// Writes `batch_bytes` plan.batches times within the window and the subscriber lag (see the top of
// the file). Returns once the server has processed every batch, or Aborted if a subscriber failed.
absl::Status Publish(nats::Connection& publisher, std::string_view batch_bytes,
                     const PublishPlan& plan, const SubscriberProgress& progress) {
  for (int64_t b = 1; b <= plan.batches; ++b) {
    const bool ping = b % plan.ping_every == 0 || b == plan.batches;
    if (absl::Status s = publisher.Write(batch_bytes, ping); !s.ok()) return s;
    if (!ping) continue;
    while (publisher.pings_outstanding() > plan.max_unanswered_pings) {
      if (absl::Status s = publisher.ReadSome(); !s.ok()) return s;
    }
    const int64_t published = b * plan.batch;
    while (published - progress.slowest.load(std::memory_order_relaxed) > plan.max_subscriber_lag) {
      if (progress.failed.load(std::memory_order_relaxed)) {
        return absl::AbortedError("a subscriber failed");
      }
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }
  while (publisher.pings_outstanding() > 0) {
    if (absl::Status s = publisher.ReadSome(); !s.ok()) return s;
  }
  return absl::OkStatus();
}

struct Throughput {
  int64_t published = 0;  // processed by the server
  double publish_seconds = 0;
  double seconds = 0;
  int64_t delivered = 0;
  int64_t delivered_bytes = 0;
  double cpu_seconds = -1;  // the server's, over the run; -1 if unknown
  std::string error;
};

// Connects a subscriber to `subject` and returns once the server has registered it.
absl::StatusOr<std::unique_ptr<nats::Connection>> Subscribe(const Server& server,
                                                            const std::string& subject, int index,
                                                            absl::Duration timeout) {
  auto connection = nats::Connection::Dial(
      server.host, server.port, absl::StrCat("ringcast-nats-bench-sub-", index), timeout);
  if (!connection.ok()) return connection.status();
  if (absl::Status s = (*connection)->Write(absl::StrCat("SUB ", subject, " 1\r\n")); !s.ok()) {
    return s;
  }
  if (absl::Status s = (*connection)->Flush(); !s.ok()) return s;
  return connection;
}

Throughput RunThroughput(const Server& server, int run) {
  Throughput r;
  const int subscribers = absl::GetFlag(FLAGS_subscribers);
  const int event_bytes = absl::GetFlag(FLAGS_event_bytes);
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  PublishPlan plan;
  plan.batch = absl::GetFlag(FLAGS_batch);
  plan.batches = std::max<int64_t>(1, absl::GetFlag(FLAGS_events) / plan.batch);
  plan.ping_every = absl::GetFlag(FLAGS_ping_every);
  plan.max_unanswered_pings = std::max(1, absl::GetFlag(FLAGS_window) / plan.ping_every);
  plan.max_subscriber_lag = absl::GetFlag(FLAGS_max_subscriber_lag);
  const int64_t expected = plan.batches * plan.batch;
  const std::string subject = absl::StrCat("ringcast.bench.", getpid(), ".", run);

  std::vector<std::unique_ptr<nats::Connection>> subs;
  for (int s = 1; s <= subscribers; ++s) {
    auto connection = Subscribe(server, subject, s, timeout);
    if (!connection.ok()) {
      r.error = absl::StrCat("subscriber ", s, ": ", connection.status().message());
      return r;
    }
    subs.push_back(*std::move(connection));
  }
  auto publisher =
      nats::Connection::Dial(server.host, server.port, "ringcast-nats-bench-pub", timeout);
  if (!publisher.ok()) {
    r.error = absl::StrCat("publisher: ", publisher.status().message());
    return r;
  }
  if (event_bytes > (*publisher)->max_payload()) {
    r.error = absl::StrCat("--event_bytes exceeds the server's max_payload of ",
                           (*publisher)->max_payload());
    return r;
  }
  const std::string batch_bytes = EncodeBatch(subject, plan.batch, event_bytes);

  SubscriberProgress progress;
  ReaderResult reader_result;
  std::thread reader([&] { reader_result = ReadSubscribers(subs, expected, timeout, progress); });
  const int64_t pongs_before = (*publisher)->counts().pongs;  // the handshake's
  const double cpu_before = server.pid != 0 ? ProcessCpuSeconds(server.pid) : -1;
  const Clock::time_point start = Clock::now();
  const absl::Status published = Publish(**publisher, batch_bytes, plan, progress);
  const Clock::time_point publish_end = Clock::now();
  if (!published.ok()) {
    for (auto& s : subs) s->Shutdown();  // the reader would wait for messages that never come
  }
  reader.join();
  const double cpu_after = server.pid != 0 ? ProcessCpuSeconds(server.pid) : -1;

  r.published = published.ok()
                    ? expected
                    : std::min(((*publisher)->counts().pongs - pongs_before) * plan.ping_every,
                               plan.batches) *
                          plan.batch;
  r.publish_seconds = SecondsBetween(start, publish_end);
  r.seconds = SecondsBetween(start, std::max(publish_end, reader_result.finished));
  r.cpu_seconds = cpu_before >= 0 && cpu_after >= 0 ? cpu_after - cpu_before : -1;
  for (const auto& s : subs) {
    r.delivered += s->counts().messages;
    r.delivered_bytes += s->counts().payload_bytes;
  }
  if (!published.ok() && !absl::IsAborted(published)) {
    // The cause: the subscribers' errors then only say that the run was called off.
    r.error = absl::StrCat("publisher: ", published.message());
  } else if (!reader_result.error.empty()) {
    r.error = reader_result.error;
  }
  if (!r.error.empty()) return r;

  // Exactly `expected` each: the server had processed every PUB before its last PONG to the
  // publisher, so every message for a subscriber is queued ahead of the PONG to a PING it sends
  // now, and a message too many would have arrived by then.
  for (std::size_t i = 0; i < subs.size() && r.error.empty(); ++i) {
    nats::Connection& s = *subs[i];
    if (absl::Status flushed = s.Flush(); !flushed.ok()) {
      r.error = absl::StrCat("subscriber ", i + 1, ": ", flushed.message());
    } else if (s.counts().messages != expected) {
      r.error = absl::StrCat("subscriber ", i + 1, " received ", s.counts().messages,
                             " messages, expected ", expected);
    } else if (s.counts().min_payload_bytes != event_bytes ||
               s.counts().max_payload_bytes != event_bytes) {
      r.error =
          absl::StrCat("subscriber ", i + 1, " received payloads of ", s.counts().min_payload_bytes,
                       " to ", s.counts().max_payload_bytes, " bytes, expected ", event_bytes);
    }
  }
  return r;
}

void PrintRun(const Server& server, const Machine& machine, int run, const Throughput& r,
              bool json) {
  const double bytes = absl::GetFlag(FLAGS_event_bytes);
  const double published = static_cast<double>(r.published) / std::max(r.publish_seconds, 1e-9);
  const double delivered = static_cast<double>(r.delivered) / std::max(r.seconds, 1e-9);
  const double delivered_bytes = static_cast<double>(r.delivered_bytes) / std::max(r.seconds, 1e-9);
  const double cpu_per_m = r.cpu_seconds >= 0 && r.delivered > 0
                               ? r.cpu_seconds / (static_cast<double>(r.delivered) / 1e6)
                               : -1;
  if (json) {
    Json line = {
        {"mode", "throughput"},
        {"peer", "nats"},
        {"nats_version", server.version},
        {"publishers", 1},
        {"subscribers", absl::GetFlag(FLAGS_subscribers)},
        {"topics", 1},
        {"event_bytes", absl::GetFlag(FLAGS_event_bytes)},
        {"batch", absl::GetFlag(FLAGS_batch)},
        {"run", run},
        {"events", r.published},
        {"seconds", Rounded(r.seconds, 4)},
        {"published_events_per_sec", Rounded(published, 0)},
        {"delivered_events_per_sec", Rounded(delivered, 0)},
        {"published_bytes_per_sec", Rounded(published * bytes, 0)},
        {"delivered_bytes_per_sec", Rounded(delivered_bytes, 0)},
        {"server_cpu_sec_per_m_delivered", cpu_per_m >= 0 ? Rounded(cpu_per_m, 4) : Json()},
        {"nproc", machine.cpus.size()},
        {"server", "external"},
        {"spawned", server.child != nullptr},
        {"server_pid", server.pid},
        {"window", absl::GetFlag(FLAGS_window)},
        {"ping_every", absl::GetFlag(FLAGS_ping_every)},
        {"max_subscriber_lag", absl::GetFlag(FLAGS_max_subscriber_lag)},
        {"verified", r.error.empty()}};
    if (!r.error.empty()) line["error"] = r.error;
    absl::PrintF("%s\n", JsonText(line));
  } else {
    absl::PrintF(
        "run %d: published %.0f events/s, delivered %.0f events/s (%.1f MB/s), server CPU %s s "
        "per M delivered%s\n",
        run, published, delivered, delivered_bytes / 1e6,
        cpu_per_m >= 0 ? absl::StrFormat("%.3f", cpu_per_m) : "unknown",
        r.error.empty() ? "" : absl::StrCat("  FAILED: ", r.error));
  }
  std::fflush(stdout);
}

// Why the flags cannot make a run, or empty.
std::string CheckFlags() {
  if (absl::GetFlag(FLAGS_target).empty() == !absl::GetFlag(FLAGS_spawn_server)) {
    return "give either --target=HOST:PORT of a running nats-server or --spawn_server";
  }
  if (absl::GetFlag(FLAGS_subscribers) < 0 || absl::GetFlag(FLAGS_event_bytes) < 0 ||
      absl::GetFlag(FLAGS_batch) < 1 || absl::GetFlag(FLAGS_events) < 1 ||
      absl::GetFlag(FLAGS_window) < 1 || absl::GetFlag(FLAGS_ping_every) < 1 ||
      absl::GetFlag(FLAGS_ping_every) > absl::GetFlag(FLAGS_window) ||
      absl::GetFlag(FLAGS_max_subscriber_lag) < 0 || absl::GetFlag(FLAGS_runs) < 1) {
    return "subscribers, event_bytes, max_subscriber_lag >= 0; batch, events, window, runs >= 1; "
           "1 <= ping_every <= window";
  }
  if (absl::GetFlag(FLAGS_timeout) < absl::Milliseconds(1)) return "--timeout of at least 1ms";
  const std::string format = absl::GetFlag(FLAGS_format);
  if (format != "table" && format != "json") return "--format is table or json";
  return {};
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "ringcast-nats-bench [throughput] --target=HOST:PORT|--spawn_server [flags]: "
      "ringcast-bench's "
      "fan-out throughput run against a NATS server (see --help)");
  const std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1 && std::string_view(positional[1]) != "throughput") {
    std::fprintf(stderr, "ringcast-nats-bench: unknown mode '%s' (only throughput)\n",
                 positional[1]);
    return 2;
  }
  if (const std::string problem = CheckFlags(); !problem.empty()) {
    std::fprintf(stderr, "ringcast-nats-bench: %s\n", problem.c_str());
    return 2;
  }
  Server server;
  const absl::Status connected =
      absl::GetFlag(FLAGS_spawn_server)
          ? nats::SpawnServer(absl::GetFlag(FLAGS_nats_server), {}, absl::GetFlag(FLAGS_server_log),
                              "ringcast-nats-bench-probe", absl::Seconds(10), server)
          : nats::ConnectToServer(absl::GetFlag(FLAGS_target), absl::GetFlag(FLAGS_server_pid),
                                  "ringcast-nats-bench-probe", absl::GetFlag(FLAGS_timeout),
                                  server);
  if (!connected.ok()) {
    std::fprintf(stderr, "ringcast-nats-bench: %s\n", connected.ToString().c_str());
    return 1;
  }
  const bool json = absl::GetFlag(FLAGS_format) == "json";
  const Machine machine = DescribeMachine(AllowedCpus());
  if (!json) {
    absl::PrintF("# throughput: %s, %d CPUs, nats-server %s at %s:%d (%s)\n", machine.cpu_model,
                 machine.cpus.size(), server.version, server.host, server.port,
                 server.pid != 0
                     ? absl::StrCat("pid ", server.pid, server.child != nullptr ? ", spawned" : "")
                     : "pid unknown: no server CPU figure");
  }
  bool ok = true;
  for (int run = 1; run <= absl::GetFlag(FLAGS_runs); ++run) {
    const Throughput r = RunThroughput(server, run);
    ok &= r.error.empty();
    PrintRun(server, machine, run, r, json);
  }
  if (server.child != nullptr) server.child->Stop();
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace ringcast::bench

int main(int argc, char** argv) { return ringcast::bench::Main(argc, argv); }
