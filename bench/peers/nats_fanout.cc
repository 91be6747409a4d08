// ringcast-nats-bench: ringcast-bench's end-to-end fan-out throughput measurement, run against a
// NATS server through the official NATS C client (libnats), so that "faster than NATS on the same
// machine" is measured, not quoted.
//
//   ringcast-nats-bench [throughput] [--target=HOST:PORT | --spawn_server] --subscribers
//                       --event_bytes --batch --events
//   ringcast-nats-bench latency [--target=HOST:PORT | --spawn_server] --subscribers --event_bytes
//                       --rate --duration --send_spin
//
// Latency mode is `ringcast-bench latency --batch=1` against NATS: one message per publish, open
// loop at --rate, each message carrying its intended send time (steady clock, same machine); each
// subscriber records receive time - intended time, so a late sender counts against NATS as it
// does against ringcast. The sender sleeps until --send_spin before each send is due and spins the
// rest, as ringcast-bench does. The publisher's connection sends each message at once
// (natsOptions_SetSendAsap) rather than waiting for the library's flusher, and every subscription
// has its own delivery thread (the library's default): NATS at its lowest latency.
//
// What it measures: one publisher connection publishes --events messages of --event_bytes each on
// one subject; --subscribers subscriber connections on that subject count the messages and the
// payload bytes they receive. Published events/s run from the first publish until the server has
// processed the last one (the last marker, below, came back); delivered events/s from the first
// publish until every subscriber has every message. The server's CPU seconds per million
// delivered messages are the change of its user + system time (/proc/<pid>/stat) over the same
// span. Every run is verified: each subscriber must receive exactly --events messages (--events
// rounded down to whole batches, at least one) of --event_bytes each, or the run fails.
// --spawn_server starts `nats-server -a 127.0.0.1 -p <free port>`, untuned (its defaults
// otherwise), and stops it at the end.
//
// How it is fair to NATS, compared with `ringcast-bench throughput` given the same flags:
//  * the same payloads (--event_bytes of 'x'), one subject for the one topic, the same number of
//    subscribers, each on its own TCP connection, over loopback on the same machine;
//  * the client NATS users run, with its own batching: natsConnection_Publish appends to the
//    connection's write buffer (sized here to hold a --batch of messages) and the library's
//    flusher thread writes it out, as ringcast-bench sends --batch events in one request;
//  * the server's CPU measured the same way, from /proc/<pid>/stat of the server process alone;
//  * a lean consumer: the subscriptions share the library's delivery pool (global message
//    delivery; one thread unless NATS_DEFAULT_LIB_MSG_DELIVERY settings raise it), whose
//    callbacks only count, as ringcast-bench's subscribers share gRPC's few
//    callback threads.
//
// Flow control. NATS has none end to end: the server queues what a subscriber has not read yet and
// cuts it off as a slow consumer once that exceeds a limit (64 MB by default) or a write to it
// stalls past a deadline. ringcast-bench's publisher keeps --window batches unanswered, and a
// ringcast topic holds the publisher back once a subscriber is a ring (65536 events by default)
// behind. This publisher keeps the same two bounds:
//  * window: after every --ping_every batches it publishes an empty marker message to a subject
//    its own connection subscribes to. The server handles one connection's input in order, so a
//    marker coming back proves that every message published before it was processed (matched and
//    queued to the subscribers), as the PONG to a PING does. The publisher waits while more than
//    --window / --ping_every markers are out, so at most --window batches are unprocessed;
//  * subscriber lag: at each marker it also waits while the slowest subscriber has received more
//    than --max_subscriber_lag messages fewer than have been published.
// Both waits block on a condition variable that the library's callback threads signal; nothing
// spins. A subscriber cut off all the same shows as its connection closing, and the run fails with
// that error.
//
// --format=json prints one object per run, with ringcast-bench's field names; table prints a line
// per run.
#include <unistd.h>

#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "bench/common/latency_histogram.h"
#include "bench/common/open_loop.h"
#include "bench/common/server_process.h"
#include "bench/core/report.h"
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
ABSL_FLAG(int, batch, 100, "messages per batch (the client's write buffer holds one)");
ABSL_FLAG(int64_t, events, 5'000'000, "messages published per run");
ABSL_FLAG(int, window, 32,
          "batches the server may not have processed yet (ringcast-bench's --window)");
ABSL_FLAG(int, ping_every, 8, "batches between markers; at most --window");
ABSL_FLAG(int64_t, max_subscriber_lag, 65536,
          "messages the slowest subscriber may be behind the publisher (a ringcast topic's ring)");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(30),
          "a run fails when the server is silent this long while it owes an answer");
ABSL_FLAG(int, runs, 1, "runs (each on fresh connections and a fresh subject)");
ABSL_FLAG(double, rate, 10000, "latency: messages per second, open loop");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "latency: how long to publish");
ABSL_FLAG(absl::Duration, send_spin, absl::Microseconds(80),
          "latency: the sender sleeps until this long before each message is due, then spins "
          "(at most half the period; 0: sleeps until due)");
ABSL_FLAG(std::string, format, "table", "table or json");

namespace ringcast::bench {
namespace {

using Clock = std::chrono::steady_clock;
using nats::Server;
using nats::StatusText;

int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

double SecondsBetween(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// What one run's threads share. libnats' threads write it from their callbacks (message delivery,
// connection closed, asynchronous errors); the publishing thread waits on it.
//
// Memory ordering: the counters are relaxed atomics, each written by one delivery thread. The
// publisher only throttles on them, and what it verifies it reads after the subscriptions are
// drained (natsSubscription_WaitForDrainCompletion synchronizes with the delivery thread). A
// waiter is woken through `mu_`: the writer changes the counter, then locks and unlocks `mu_`
// before notifying, so a waiter that checked its condition under `mu_` cannot miss the change.
class Run {
 public:
  // A subscriber's counts, written by the delivery thread of its subscription.
  struct Subscriber {
    Run* run = nullptr;
    int index = 0;  // 1-based, for messages
    natsConnection* connection = nullptr;
    natsSubscription* subscription = nullptr;
    std::atomic<int64_t> messages{0};
    std::atomic<int64_t> payload_bytes{0};
    std::atomic<int64_t> min_payload_bytes{std::numeric_limits<int64_t>::max()};
    std::atomic<int64_t> max_payload_bytes{0};
    // Latency mode: receive time - the message's intended send time, ns. Written by the
    // subscription's delivery thread only; read once its drain completed.
    LatencyHistogram latency;
  };

  Run(int subscribers, int64_t expected, int64_t wake_every)
      : subscribers_(static_cast<std::size_t>(subscribers)),
        expected_(expected),
        wake_every_(wake_every) {
    for (std::size_t i = 0; i < subscribers_.size(); ++i) {
      subscribers_[i].run = this;
      subscribers_[i].index = static_cast<int>(i) + 1;
    }
  }
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  std::vector<Subscriber>& subscribers() { return subscribers_; }
  int64_t expected() const { return expected_; }

  // natsMsgHandler of a subscription: counts the message.
  static void OnMessage(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    auto& s = *static_cast<Subscriber*>(closure);
    const int64_t bytes = natsMsg_GetDataLength(msg);
    natsMsg_Destroy(msg);
    // Relaxed loads and stores, not read-modify-writes: this thread is the only writer.
    constexpr auto kRelaxed = std::memory_order_relaxed;
    s.payload_bytes.store(s.payload_bytes.load(kRelaxed) + bytes, kRelaxed);
    if (bytes < s.min_payload_bytes.load(kRelaxed)) s.min_payload_bytes.store(bytes, kRelaxed);
    if (bytes > s.max_payload_bytes.load(kRelaxed)) s.max_payload_bytes.store(bytes, kRelaxed);
    const int64_t n = s.messages.load(kRelaxed) + 1;
    s.messages.store(n, kRelaxed);
    if (n % s.run->wake_every_ == 0 || n == s.run->expected_) s.run->Wake();
  }

  // natsMsgHandler of a latency-mode subscription: records the message's latency, then counts it.
  static void OnTimedMessage(natsConnection* connection, natsSubscription* subscription,
                             natsMsg* msg, void* closure) {
    const int64_t now = SteadyNanos();
    auto& s = *static_cast<Subscriber*>(closure);
    if (natsMsg_GetDataLength(msg) >= static_cast<int>(sizeof(int64_t))) {
      int64_t intended = 0;
      std::memcpy(&intended, natsMsg_GetData(msg), sizeof(intended));
      s.latency.Record(now - intended);
    }
    OnMessage(connection, subscription, msg, closure);
  }

  // natsMsgHandler of the publisher's marker subscription.
  static void OnMarker(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    natsMsg_Destroy(msg);
    auto& run = *static_cast<Run*>(closure);
    run.markers_back_.fetch_add(1, std::memory_order_relaxed);
    run.Wake();
  }

  // natsConnectionHandler for a connection closed: the server cut it off (a slow consumer), unless
  // the run is over. `closure` names the connection. The last call the library makes with it.
  static void OnClosed(natsConnection*, void* closure) {
    auto& who = *static_cast<std::pair<Run*, std::string>*>(closure);
    Run& run = *who.first;
    if (!run.over_.load(std::memory_order_relaxed)) {
      run.Fail(absl::StrCat(who.second,
                            ": the server closed the connection (nats-server cuts a slow consumer "
                            "off this way)"));
    }
    // Notified under the lock: once the waiter in AwaitClosed sees the count, this thread no
    // longer touches the run.
    std::lock_guard<std::mutex> lock(run.mu_);
    ++run.closed_;
    run.woken_.notify_all();
  }

  // natsErrHandler: an asynchronous error (an -ERR from the server, a slow consumer).
  static void OnError(natsConnection*, natsSubscription*, natsStatus status, void* closure) {
    auto& who = *static_cast<std::pair<Run*, std::string>*>(closure);
    who.first->Fail(absl::StrCat(who.second, ": ", StatusText(status)));
  }

  // Records the first error and wakes the publisher. Any thread.
  void Fail(std::string error) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (error_.empty()) error_ = std::move(error);
      failed_.store(true, std::memory_order_relaxed);
    }
    woken_.notify_all();
  }

  // Blocks until `ready()` holds or the run failed (true) or `timeout` passes (false).
  template <class Ready>
  bool Await(Ready ready, absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return woken_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                           [&] { return failed_.load(std::memory_order_relaxed) || ready(); });
  }

  bool failed() const { return failed_.load(std::memory_order_relaxed); }
  std::string error() {
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
  }
  int64_t markers_back() const { return markers_back_.load(std::memory_order_relaxed); }
  int64_t Slowest() const {
    int64_t slowest = expected_;
    for (const Subscriber& s : subscribers_) {
      slowest = std::min(slowest, s.messages.load(std::memory_order_relaxed));
    }
    return slowest;
  }
  // From now on connections close because the run closes them.
  void End() { over_.store(true, std::memory_order_relaxed); }

  // Blocks until OnClosed has run for `connections` connections (the library calls it from its
  // own thread after natsConnection_Close returns), at most `timeout`.
  void AwaitClosed(int connections, absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    woken_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                    [&] { return closed_ >= connections; });
  }

 private:
  void Wake() {
    { std::lock_guard<std::mutex> lock(mu_); }  // see "Memory ordering" above
    woken_.notify_all();
  }

  std::vector<Subscriber> subscribers_;
  const int64_t expected_;
  const int64_t wake_every_;  // a subscriber wakes the publisher every this many messages
  std::atomic<int64_t> markers_back_{0};
  std::atomic<bool> failed_{false};
  std::atomic<bool> over_{false};
  std::mutex mu_;
  std::condition_variable woken_;
  std::string error_;  // guarded by mu_
  int closed_ = 0;     // guarded by mu_: connections whose OnClosed has run
};

// Connects to the server for one run: no reconnection (a connection the server closes stays
// closed and fails the run), `who` reported with closes and asynchronous errors.
absl::StatusOr<natsConnection*> Connect(const Server& server, std::pair<Run*, std::string>& who,
                                        bool shared_delivery, int io_buffer_bytes,
                                        bool send_asap = false) {
  natsOptions* options = nullptr;
  natsStatus s = natsOptions_Create(&options);
  const std::string url = absl::StrCat("nats://", server.host, ":", server.port);
  const std::string name = absl::StrCat("ringcast-nats-bench ", who.second);
  const auto timeout_ms = absl::ToInt64Milliseconds(absl::GetFlag(FLAGS_timeout));
  if (s == NATS_OK) s = natsOptions_SetURL(options, url.c_str());
  if (s == NATS_OK) s = natsOptions_SetName(options, name.c_str());
  if (s == NATS_OK) s = natsOptions_SetTimeout(options, timeout_ms);
  if (s == NATS_OK) s = natsOptions_SetAllowReconnect(options, false);
  if (s == NATS_OK) s = natsOptions_SetClosedCB(options, &Run::OnClosed, &who);
  if (s == NATS_OK) s = natsOptions_SetErrorHandler(options, &Run::OnError, &who);
  if (s == NATS_OK) s = natsOptions_UseGlobalMessageDelivery(options, shared_delivery);
  if (s == NATS_OK && io_buffer_bytes > 0) s = natsOptions_SetIOBufSize(options, io_buffer_bytes);
  if (s == NATS_OK && send_asap) s = natsOptions_SetSendAsap(options, true);
  natsConnection* connection = nullptr;
  if (s == NATS_OK) s = natsConnection_Connect(&connection, options);
  natsOptions_Destroy(options);
  if (s != NATS_OK) {
    return absl::UnavailableError(
        absl::StrCat(who.second, ": connect to ", url, ": ", StatusText(s)));
  }
  return connection;
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

// The connections and subscriptions of one run, closed and destroyed when it goes.
class Connections {
 public:
  explicit Connections(Run& run) : run_(run) {}
  Connections(const Connections&) = delete;
  Connections& operator=(const Connections&) = delete;
  // Closes every connection, waits until the library has called back for each (its callbacks
  // refer to the run and the names), then destroys them.
  ~Connections() {
    run_.End();
    std::vector<natsConnection*> connections;
    for (Run::Subscriber& s : run_.subscribers()) {
      if (s.connection != nullptr) connections.push_back(s.connection);
    }
    if (publisher != nullptr) connections.push_back(publisher);
    for (natsConnection* c : connections) natsConnection_Close(c);
    run_.AwaitClosed(static_cast<int>(connections.size()), absl::Seconds(10));
    for (Run::Subscriber& s : run_.subscribers()) {
      if (s.subscription != nullptr) natsSubscription_Destroy(s.subscription);
    }
    if (marker_subscription != nullptr) natsSubscription_Destroy(marker_subscription);
    for (natsConnection* c : connections) natsConnection_Destroy(c);
  }

  Run& run() { return run_; }
  // A name for the callbacks of one connection, stable in memory while the run lasts.
  std::pair<Run*, std::string>* Name(std::string who) {
    names_.push_back(std::make_unique<std::pair<Run*, std::string>>(&run_, std::move(who)));
    return names_.back().get();
  }

  natsConnection* publisher = nullptr;
  natsSubscription* marker_subscription = nullptr;

 private:
  Run& run_;
  std::vector<std::unique_ptr<std::pair<Run*, std::string>>> names_;
};

// Connects each of the run's subscribers and subscribes it to `subject` with `handler`, with no
// pending limit in the client; returns once the server has registered every subscription (the
// PONG to a flush came back), or the first error.
std::string Subscribe(const Server& server, Connections& connections, const std::string& subject,
                      natsMsgHandler handler, bool shared_delivery) {
  const int64_t timeout_ms = absl::ToInt64Milliseconds(absl::GetFlag(FLAGS_timeout));
  for (Run::Subscriber& s : connections.run().subscribers()) {
    auto* who = connections.Name(absl::StrCat("subscriber ", s.index));
    absl::StatusOr<natsConnection*> connection =
        Connect(server, *who, shared_delivery, /*io_buffer_bytes=*/0);
    if (!connection.ok()) return std::string(connection.status().message());
    s.connection = *connection;
    natsStatus st =
        natsConnection_Subscribe(&s.subscription, s.connection, subject.c_str(), handler, &s);
    if (st == NATS_OK) st = natsSubscription_SetPendingLimits(s.subscription, -1, -1);
    if (st == NATS_OK) st = natsConnection_FlushTimeout(s.connection, timeout_ms);
    if (st != NATS_OK) return absl::StrCat(who->second, ": subscribe: ", StatusText(st));
  }
  return {};
}

// Publishes the run's batches within the window and the subscriber lag (see the top of the file).
// Returns once the server has processed every batch, or the first error.
std::string Publish(natsConnection* publisher, const std::string& subject,
                    const std::string& marker_subject, int64_t batches, Run& run) {
  const int batch = absl::GetFlag(FLAGS_batch);
  const int ping_every = absl::GetFlag(FLAGS_ping_every);
  const int64_t max_markers_out = std::max(1, absl::GetFlag(FLAGS_window) / ping_every);
  const int64_t max_lag = absl::GetFlag(FLAGS_max_subscriber_lag);
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  const std::string payload(static_cast<std::size_t>(absl::GetFlag(FLAGS_event_bytes)), 'x');
  int64_t markers_sent = 0;
  for (int64_t b = 1; b <= batches; ++b) {
    for (int i = 0; i < batch; ++i) {
      const natsStatus s = natsConnection_Publish(publisher, subject.c_str(), payload.data(),
                                                  static_cast<int>(payload.size()));
      if (s != NATS_OK) return absl::StrCat("publish: ", StatusText(s));
    }
    const bool last = b == batches;
    if (b % ping_every != 0 && !last) continue;
    if (const natsStatus s = natsConnection_Publish(publisher, marker_subject.c_str(), nullptr, 0);
        s != NATS_OK) {
      return absl::StrCat("publish a marker: ", StatusText(s));
    }
    ++markers_sent;
    const int64_t published = b * batch;
    const int64_t markers_allowed = last ? 0 : max_markers_out;
    const bool caught_up = run.Await(
        [&] {
          return markers_sent - run.markers_back() <= markers_allowed &&
                 published - run.Slowest() <= max_lag;
        },
        timeout);
    if (run.failed()) return {};  // the run's error says why
    if (!caught_up) {
      return absl::StrCat("nothing moved for ", absl::FormatDuration(timeout), ": ",
                          markers_sent - run.markers_back(),
                          " markers out, the slowest subscriber ", "at ", run.Slowest(), " of ",
                          published, " messages");
    }
  }
  return {};
}

Throughput RunThroughput(const Server& server, int run_index) {
  Throughput r;
  const int subscribers = absl::GetFlag(FLAGS_subscribers);
  const int event_bytes = absl::GetFlag(FLAGS_event_bytes);
  const int batch = absl::GetFlag(FLAGS_batch);
  const int64_t batches = std::max<int64_t>(1, absl::GetFlag(FLAGS_events) / batch);
  const int64_t expected = batches * batch;
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  const int64_t timeout_ms = absl::ToInt64Milliseconds(timeout);
  const std::string subject = absl::StrCat("ringcast.bench.", getpid(), ".", run_index);
  const std::string marker_subject = absl::StrCat(subject, ".marker");
  // Wakes the publisher often enough that a lag bound of max_subscriber_lag is seen in time.
  const int64_t wake_every =
      std::clamp<int64_t>(absl::GetFlag(FLAGS_max_subscriber_lag) / 8, 1, 1024);

  Run run(subscribers, expected, wake_every);
  Connections connections(run);
  // No limit in the client's pending buffers: the lag bound above keeps them in check.
  if (std::string error = Subscribe(server, connections, subject, &Run::OnMessage,
                                    /*shared_delivery=*/true);
      !error.empty()) {
    r.error = std::move(error);
    return r;
  }
  // The write buffer holds a batch: PUB line, payload and CRLFs per message.
  const int batch_bytes = batch * (event_bytes + static_cast<int>(subject.size()) + 32);
  auto* publisher_name = connections.Name("publisher");
  absl::StatusOr<natsConnection*> publisher =
      Connect(server, *publisher_name, /*shared_delivery=*/false, std::max(batch_bytes, 32 * 1024));
  if (!publisher.ok()) {
    r.error = std::string(publisher.status().message());
    return r;
  }
  connections.publisher = *publisher;
  if (event_bytes > natsConnection_GetMaxPayload(connections.publisher)) {
    r.error = absl::StrCat("--event_bytes exceeds the server's max_payload of ",
                           natsConnection_GetMaxPayload(connections.publisher));
    return r;
  }
  natsStatus st = natsConnection_Subscribe(&connections.marker_subscription, connections.publisher,
                                           marker_subject.c_str(), &Run::OnMarker, &run);
  if (st == NATS_OK) st = natsConnection_FlushTimeout(connections.publisher, timeout_ms);
  if (st != NATS_OK) {
    r.error = absl::StrCat("publisher: subscribe to its markers: ", StatusText(st));
    return r;
  }

  const double cpu_before = server.pid != 0 ? ProcessCpuSeconds(server.pid) : -1;
  const Clock::time_point start = Clock::now();
  std::string publish_error = Publish(connections.publisher, subject, marker_subject, batches, run);
  const Clock::time_point publish_end = Clock::now();
  if (publish_error.empty() && !run.failed() &&
      !run.Await([&] { return run.Slowest() >= expected; }, timeout)) {
    publish_error =
        absl::StrCat("no subscriber received anything for ", absl::FormatDuration(timeout),
                     "; the slowest had ", run.Slowest(), " of ", expected, " messages");
  }
  const Clock::time_point finished = Clock::now();
  const double cpu_after = server.pid != 0 ? ProcessCpuSeconds(server.pid) : -1;

  r.published = std::min(run.markers_back() * absl::GetFlag(FLAGS_ping_every), batches) * batch;
  r.publish_seconds = SecondsBetween(start, publish_end);
  r.seconds = SecondsBetween(start, finished);
  r.cpu_seconds = cpu_before >= 0 && cpu_after >= 0 ? cpu_after - cpu_before : -1;
  // The cause first: a subscriber cut off, else the publisher's own failure.
  r.error = run.failed() ? run.error() : publish_error;
  if (r.error.empty()) {
    // Exactly `expected` each: draining unsubscribes, waits for the PONG that follows everything
    // the server queued for the subscriber before, and delivers all of it; a message too many
    // would have been counted by then.
    for (Run::Subscriber& s : run.subscribers()) {
      st = natsSubscription_Drain(s.subscription);
      if (st == NATS_OK) st = natsSubscription_WaitForDrainCompletion(s.subscription, timeout_ms);
      if (st != NATS_OK && r.error.empty()) {
        r.error = absl::StrCat("subscriber ", s.index, ": drain: ", StatusText(st));
      }
    }
  }
  for (const Run::Subscriber& s : run.subscribers()) {
    r.delivered += s.messages.load(std::memory_order_relaxed);
    r.delivered_bytes += s.payload_bytes.load(std::memory_order_relaxed);
  }
  for (const Run::Subscriber& s : run.subscribers()) {
    if (!r.error.empty()) break;
    const int64_t messages = s.messages.load(std::memory_order_relaxed);
    const int64_t min_bytes = s.min_payload_bytes.load(std::memory_order_relaxed);
    const int64_t max_bytes = s.max_payload_bytes.load(std::memory_order_relaxed);
    if (messages != expected) {
      r.error = absl::StrCat("subscriber ", s.index, " received ", messages, " messages, expected ",
                             expected);
    } else if (min_bytes != event_bytes || max_bytes != event_bytes) {
      r.error = absl::StrCat("subscriber ", s.index, " received payloads of ", min_bytes, " to ",
                             max_bytes, " bytes, expected ", event_bytes);
    }
  }
  return r;
}

struct Latency {
  int64_t events = 0;
  double achieved_rate = 0;
  LatencyHistogram recorder;  // every subscriber's samples
  LatencyHistogram send_lag;  // how late the sender handed each message to the library
  std::string error;
};

// Latency mode (see the top of the file): --rate messages per second for --duration to
// --subscribers subscribers, each message timed from its intended send time to its delivery.
Latency RunLatency(const Server& server, int run_index) {
  Latency r;
  const int subscribers = absl::GetFlag(FLAGS_subscribers);
  const int event_bytes = std::max<int>(absl::GetFlag(FLAGS_event_bytes), sizeof(int64_t));
  const double rate = absl::GetFlag(FLAGS_rate);
  const int64_t total = std::max<int64_t>(
      1, static_cast<int64_t>(rate * absl::ToDoubleSeconds(absl::GetFlag(FLAGS_duration))));
  r.events = total;
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  const int64_t timeout_ms = absl::ToInt64Milliseconds(timeout);
  const std::string subject = absl::StrCat("ringcast.latency.", getpid(), ".", run_index);

  Run run(subscribers, total, /*wake_every=*/1024);
  Connections connections(run);
  if (std::string error = Subscribe(server, connections, subject, &Run::OnTimedMessage,
                                    /*shared_delivery=*/false);
      !error.empty()) {
    r.error = std::move(error);
    return r;
  }
  auto* publisher_name = connections.Name("publisher");
  absl::StatusOr<natsConnection*> publisher =
      Connect(server, *publisher_name, /*shared_delivery=*/false, /*io_buffer_bytes=*/0,
              /*send_asap=*/true);
  if (!publisher.ok()) {
    r.error = std::string(publisher.status().message());
    return r;
  }
  connections.publisher = *publisher;

  std::string payload(static_cast<std::size_t>(event_bytes), 'x');
  const OpenLoopSchedule schedule(
      rate, std::chrono::nanoseconds(absl::ToInt64Nanoseconds(absl::GetFlag(FLAGS_send_spin))));
  for (int64_t k = 0; k < total && !run.failed(); ++k) {
    schedule.WaitFor(k);
    const int64_t intended = schedule.DueNanos(k);
    std::memcpy(payload.data(), &intended, sizeof(intended));
    r.send_lag.Record(SteadyNanos() - intended);
    const natsStatus st =
        natsConnection_Publish(connections.publisher, subject.c_str(), payload.data(), event_bytes);
    if (st != NATS_OK) {
      run.Fail(absl::StrCat("publisher: publish: ", StatusText(st)));
      break;
    }
  }
  const double sent_seconds = SecondsBetween(schedule.start(), Clock::now());
  r.achieved_rate = static_cast<double>(total) / std::max(sent_seconds, 1e-9);
  if (!run.failed() && !run.Await([&] { return run.Slowest() >= total; }, timeout)) {
    run.Fail(absl::StrCat("the slowest subscriber had ", run.Slowest(), " of ", total,
                          " messages after ", absl::FormatDuration(timeout)));
  }
  r.error = run.error();
  for (Run::Subscriber& s : run.subscribers()) {
    // The drain's completion orders the delivery thread's histogram writes before the reads below.
    natsStatus st = natsSubscription_Drain(s.subscription);
    if (st == NATS_OK) st = natsSubscription_WaitForDrainCompletion(s.subscription, timeout_ms);
    if (st != NATS_OK && r.error.empty()) {
      r.error = absl::StrCat("subscriber ", s.index, ": drain: ", StatusText(st));
    }
    const int64_t messages = s.messages.load(std::memory_order_relaxed);
    if (r.error.empty() && messages != total) {
      r.error = absl::StrCat("subscriber ", s.index, " received ", messages, " messages, expected ",
                             total);
    }
    r.recorder.Add(s.latency);
  }
  return r;
}

// The fields every JSON line of this program carries first: what ran, against what, where.
Json CommonJson(const char* mode, const Server& server, const Machine& machine, int batch) {
  return Json{{"mode", mode},
              {"peer", "nats"},
              {"nats_version", server.version},
              {"publishers", 1},
              {"subscribers", absl::GetFlag(FLAGS_subscribers)},
              {"topics", 1},
              {"event_bytes", absl::GetFlag(FLAGS_event_bytes)},
              {"batch", batch},
              {"nproc", machine.cpus.size()},
              {"server", "external"},
              {"spawned", server.child != nullptr}};
}

void PrintLatency(const Server& server, const Machine& machine, int run, const Latency& r,
                  bool json) {
  const auto us = [&](double q) { return r.recorder.Percentile(q) / 1e3; };
  const auto lag_us = [&](double q) { return r.send_lag.Percentile(q) / 1e3; };
  if (json) {
    const auto tenth = [](double v) { return Rounded(v, 1); };
    Json line = CommonJson("latency", server, machine, /*batch=*/1);
    line["run"] = run;
    line["rate"] = Rounded(absl::GetFlag(FLAGS_rate), 0);
    line["achieved_rate"] = Rounded(r.achieved_rate, 0);
    line["events"] = r.events;
    line["samples"] = r.recorder.count();
    AddLatencyFields(line, "", r.recorder);
    line["send_lag_p50_us"] = tenth(lag_us(0.5));
    line["send_lag_p99_us"] = tenth(lag_us(0.99));
    line["verified"] = r.error.empty();
    if (!r.error.empty()) line["error"] = r.error;
    absl::PrintF("%s\n", JsonText(line));
  } else {
    absl::PrintF(
        "run %d: %.0f messages/s offered, %d samples: p50 %.1f us, p90 %.1f, p99 %.1f, p99.9 %.1f, "
        "max %.1f (sender late by p50 %.1f us, p99 %.1f)%s\n",
        run, absl::GetFlag(FLAGS_rate), r.recorder.count(), us(0.5), us(0.9), us(0.99), us(0.999),
        r.recorder.max() / 1e3, lag_us(0.5), lag_us(0.99),
        r.error.empty() ? "" : absl::StrCat("  FAILED: ", r.error));
  }
  std::fflush(stdout);
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
    Json line = CommonJson("throughput", server, machine, absl::GetFlag(FLAGS_batch));
    line["run"] = run;
    line["events"] = r.published;
    line["seconds"] = Rounded(r.seconds, 4);
    line["published_events_per_sec"] = Rounded(published, 0);
    line["delivered_events_per_sec"] = Rounded(delivered, 0);
    line["published_bytes_per_sec"] = Rounded(published * bytes, 0);
    line["delivered_bytes_per_sec"] = Rounded(delivered_bytes, 0);
    line["server_cpu_sec_per_m_delivered"] = cpu_per_m >= 0 ? Rounded(cpu_per_m, 4) : Json();
    line["server_pid"] = server.pid;
    line["window"] = absl::GetFlag(FLAGS_window);
    line["ping_every"] = absl::GetFlag(FLAGS_ping_every);
    line["max_subscriber_lag"] = absl::GetFlag(FLAGS_max_subscriber_lag);
    line["verified"] = r.error.empty();
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
  if (!(absl::GetFlag(FLAGS_rate) > 0) || absl::GetFlag(FLAGS_duration) <= absl::ZeroDuration() ||
      absl::GetFlag(FLAGS_send_spin) < absl::ZeroDuration()) {
    return "--rate and --duration above 0, --send_spin at least 0";
  }
  const std::string format = absl::GetFlag(FLAGS_format);
  if (format != "table" && format != "json") return "--format is table or json";
  return {};
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "ringcast-nats-bench [throughput|latency] --target=HOST:PORT|--spawn_server [flags]: "
      "ringcast-bench's fan-out throughput and latency runs against a NATS server (see --help)");
  const std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  const std::string mode = positional.size() > 1 ? positional[1] : "throughput";
  if (mode != "throughput" && mode != "latency") {
    std::fprintf(stderr, "ringcast-nats-bench: unknown mode '%s' (throughput or latency)\n",
                 mode.c_str());
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
                              absl::Seconds(10), server)
          : nats::ConnectToServer(absl::GetFlag(FLAGS_target), absl::GetFlag(FLAGS_server_pid),
                                  absl::GetFlag(FLAGS_timeout), server);
  if (!connected.ok()) {
    std::fprintf(stderr, "ringcast-nats-bench: %s\n", connected.ToString().c_str());
    return 1;
  }
  const bool json = absl::GetFlag(FLAGS_format) == "json";
  const Machine machine = DescribeMachine(AllowedCpus());
  if (!json) {
    absl::PrintF("# %s: %s, %d CPUs, nats-server %s at %s:%d (%s)\n", mode, machine.cpu_model,
                 machine.cpus.size(), server.version, server.host, server.port,
                 server.pid != 0
                     ? absl::StrCat("pid ", server.pid, server.child != nullptr ? ", spawned" : "")
                     : "pid unknown: no server CPU figure");
  }
  bool ok = true;
  for (int run = 1; run <= absl::GetFlag(FLAGS_runs); ++run) {
    if (mode == "latency") {
      const Latency r = RunLatency(server, run);
      ok &= r.error.empty();
      PrintLatency(server, machine, run, r, json);
    } else {
      const Throughput r = RunThroughput(server, run);
      ok &= r.error.empty();
      PrintRun(server, machine, run, r, json);
    }
  }
  if (server.child != nullptr) server.child->Stop();
  // Lets the library's threads and memory go (after every connection is destroyed).
  nats_Close();
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace ringcast::bench

int main(int argc, char** argv) { return ringcast::bench::Main(argc, argv); }
