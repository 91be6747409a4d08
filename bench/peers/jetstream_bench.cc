// ringcast-jetstream-bench: the NATS JetStream peer of the durable-topic benchmarks, through the
// official NATS C client (libnats), so that "faster than JetStream on the same machine" is
// measured, not quoted.
//
//   ringcast-jetstream-bench ingest  [--nats_url=URL | --spawn_server] --events --event_bytes
//                                    --max_pending
//   ringcast-jetstream-bench latency [--nats_url=URL | --spawn_server] --rate --duration
//
// Every run creates a fresh stream (file storage, one replica, limits retention, one subject) and
// deletes it afterwards.
//
// ingest: one connection publishes --events messages of --event_bytes each with js_PublishAsync,
// at most --max_pending unacknowledged (the context's PublishAsync.MaxPending: the client blocks a
// publish while that many are in flight). events/s run from the first publish to the last ack. A
// run is verified: every ack arrived, none with an error, their sequences are 1..events, and the
// stream's state afterwards holds exactly --events messages with last sequence --events. The
// server's CPU seconds per million published messages come from /proc/<pid>/stat of the server
// process, as ringcast-bench reads ringcastd's.
//
// latency: synchronous js_Publish, one message at a time, each due at start + k / --rate (paced
// with sleep_until; when a publish takes longer than the period, the next one goes as soon as it
// returns, so the achieved rate is what sync publish allows). Recorded per message, in the same
// HDR-style histogram as ringcast-bench: publish -> ack (the call's duration), and due -> ack
// (from when it was due, so time spent waiting behind a slow publish is counted too), and how late
// each publish started. Verified: every publish acked without error, with sequence k + 1.
//
// --spawn_server starts `nats-server -a 127.0.0.1 -p <free port> -js -sd <temp dir>` (its
// defaults otherwise; --server_config adds `-c FILE`), waits for it, and at the end stops it and
// deletes the directory.
//
// Output: one JSON object per run on stdout, with ringcast-bench's field names where the figure is
// the same, and a human-readable line per run on stderr.
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
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
#include "bench/common/server_process.h"
#include "bench/core/report.h"
#include "bench/peers/nats_server.h"
#include "nats/nats.h"

ABSL_FLAG(std::string, mode, "",
          "ingest or latency (the same as the first positional argument; default ingest)");
ABSL_FLAG(std::string, nats_url, "", "URL of a running nats-server with JetStream enabled");
ABSL_FLAG(bool, spawn_server, false,
          "start nats-server -a 127.0.0.1 -p <free port> -js -sd <temp dir> for the runs, stop "
          "it and delete the directory at the end");
ABSL_FLAG(std::string, nats_server, "nats-server",
          "--spawn_server: the program (searched on PATH, then in /usr/sbin where Debian puts it)");
ABSL_FLAG(std::string, store_parent, "",
          "--spawn_server: where to make the store directory (default: $TMPDIR or /tmp)");
ABSL_FLAG(std::string, server_config, "", "--spawn_server: a configuration file (-c FILE)");
ABSL_FLAG(std::string, server_log, "",
          "--spawn_server: file for nats-server's log (default: none)");
ABSL_FLAG(int, server_pid, 0,
          "--nats_url: pid of the server, for its CPU time (default: found by port)");
ABSL_FLAG(int64_t, events, 5'000'000, "ingest: messages published per run");
ABSL_FLAG(int, event_bytes, 64, "payload bytes per message");
ABSL_FLAG(int, max_pending, 4096,
          "ingest: unacknowledged async publishes (PublishAsync.MaxPending)");
ABSL_FLAG(double, rate, 10000, "latency: messages per second the publishes are paced at");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "latency: how long to publish");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(30),
          "a JetStream request (stream admin, a publish's ack, the final acks) fails after this");
ABSL_FLAG(int, runs, 1, "runs (each on a fresh stream)");

namespace ringcast::bench {
namespace {

using Clock = std::chrono::steady_clock;

int64_t NanosBetween(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(to - from).count();
}

using nats::StatusText;

std::string JsError(const std::string& what, natsStatus s, jsErrCode code) {
  return absl::StrCat(what, ": ", StatusText(s),
                      code != 0 ? absl::StrCat(", JetStream error ", static_cast<int>(code)) : "");
}

// The connection and JetStream context of one run; everything is released when it goes.
class JetStream {
 public:
  JetStream() = default;
  JetStream(const JetStream&) = delete;
  JetStream& operator=(const JetStream&) = delete;
  ~JetStream() {
    if (js_ != nullptr) jsCtx_Destroy(js_);
    if (nc_ != nullptr) {
      natsConnection_Close(nc_);
      natsConnection_Destroy(nc_);
    }
  }

  // Connects to `url` and makes a JetStream context with `options`.
  std::string Open(const std::string& url, jsOptions& options) {
    natsOptions* opts = nullptr;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK) s = natsOptions_SetURL(opts, url.c_str());
    if (s == NATS_OK) s = natsOptions_SetName(opts, "ringcast-jetstream-bench");
    if (s == NATS_OK) {
      s = natsOptions_SetTimeout(opts, absl::ToInt64Milliseconds(absl::GetFlag(FLAGS_timeout)));
    }
    if (s == NATS_OK) s = natsConnection_Connect(&nc_, opts);
    natsOptions_Destroy(opts);
    if (s != NATS_OK) return absl::StrCat("connect to ", url, ": ", StatusText(s));
    s = natsConnection_JetStream(&js_, nc_, &options);
    if (s != NATS_OK) return absl::StrCat("JetStream context: ", StatusText(s));
    return {};
  }

  // A stream on `subject`, file storage, one replica, no limits.
  std::string AddStream(const std::string& name, const std::string& subject) {
    jsStreamConfig config;
    jsStreamConfig_Init(&config);
    const char* subjects[] = {subject.c_str()};
    config.Name = name.c_str();
    config.Subjects = subjects;
    config.SubjectsLen = 1;
    config.Storage = js_FileStorage;
    config.Retention = js_LimitsPolicy;
    config.Replicas = 1;
    jsStreamInfo* info = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    const natsStatus s = js_AddStream(&info, js_, &config, nullptr, &code);
    if (info != nullptr) jsStreamInfo_Destroy(info);
    return s == NATS_OK ? std::string() : JsError(absl::StrCat("add stream ", name), s, code);
  }

  // The stream's message count and last sequence.
  std::string StreamState(const std::string& name, uint64_t& messages, uint64_t& last_sequence) {
    jsStreamInfo* info = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    const natsStatus s = js_GetStreamInfo(&info, js_, name.c_str(), nullptr, &code);
    if (s != NATS_OK) return JsError(absl::StrCat("stream info ", name), s, code);
    messages = info->State.Msgs;
    last_sequence = info->State.LastSeq;
    jsStreamInfo_Destroy(info);
    return {};
  }

  std::string DeleteStream(const std::string& name) {
    jsErrCode code = static_cast<jsErrCode>(0);
    const natsStatus s = js_DeleteStream(js_, name.c_str(), nullptr, &code);
    return s == NATS_OK ? std::string() : JsError(absl::StrCat("delete stream ", name), s, code);
  }

  jsCtx* js() const { return js_; }

 private:
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
};

struct Names {
  std::string stream;
  std::string subject;
};

Names RunNames(int run) {
  return {absl::StrCat("RINGCAST_BENCH_", getpid(), "_", run),
          absl::StrCat("ringcast.bench.", getpid(), ".", run)};
}

jsOptions BaseOptions() {
  jsOptions options;
  jsOptions_Init(&options);
  options.Wait = absl::ToInt64Milliseconds(absl::GetFlag(FLAGS_timeout));
  return options;
}

// Server CPU seconds over a run, or -1 if unknown.
class CpuMeter {
 public:
  explicit CpuMeter(int pid) : pid_(pid), before_(pid != 0 ? ProcessCpuSeconds(pid) : -1) {}
  double Elapsed() const {
    if (before_ < 0) return -1;
    const double after = ProcessCpuSeconds(pid_);
    return after >= 0 ? after - before_ : -1;
  }

 private:
  int pid_;
  double before_;
};

// ---- ingest ----

// What the ack handler sees: written on the client library's thread, read after the acks are
// complete (js_PublishAsyncComplete synchronizes with the handler's last call).
struct AckCounts {
  std::atomic<int64_t> acked{0};
  std::atomic<int64_t> failed{0};
  std::atomic<uint64_t> max_sequence{0};
  std::atomic<uint64_t> sequence_sum{0};  // modulo 2^64, compared with the sum of 1..events
  std::atomic<int64_t> last_ack_ticks{
      0};  // steady clock ticks (not 0), when the acked count reached `expected`
  int64_t expected = 0;
  std::mutex mu;
  std::string first_error;  // guarded by mu
};

void OnAck(jsCtx*, natsMsg* msg, jsPubAck* ack, jsPubAckErr* error, void* closure) {
  auto& counts = *static_cast<AckCounts*>(closure);
  if (ack != nullptr) {
    counts.sequence_sum.fetch_add(ack->Sequence, std::memory_order_relaxed);
    uint64_t seen = counts.max_sequence.load(std::memory_order_relaxed);
    while (ack->Sequence > seen && !counts.max_sequence.compare_exchange_weak(
                                       seen, ack->Sequence, std::memory_order_relaxed)) {
    }
    if (counts.acked.fetch_add(1, std::memory_order_relaxed) + 1 == counts.expected) {
      counts.last_ack_ticks.store(Clock::now().time_since_epoch().count(),
                                  std::memory_order_relaxed);
    }
  } else {
    counts.failed.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(counts.mu);
    if (counts.first_error.empty() && error != nullptr) {
      counts.first_error = absl::StrCat(
          StatusText(error->Err), ", JetStream error ", static_cast<int>(error->ErrCode),
          error->ErrText != nullptr ? absl::StrCat(": ", error->ErrText) : std::string());
    }
  }
  natsMsg_Destroy(msg);
}

struct Ingest {
  int64_t events = 0;
  int64_t acked = 0;
  double seconds = 0;
  double cpu_seconds = -1;
  uint64_t stream_messages = 0;
  uint64_t stream_last_sequence = 0;
  std::string error;
};

Ingest RunIngest(const std::string& url, int server_pid, int run) {
  Ingest r;
  r.events = absl::GetFlag(FLAGS_events);
  const int event_bytes = absl::GetFlag(FLAGS_event_bytes);
  const Names names = RunNames(run);
  AckCounts counts;
  counts.expected = r.events;
  jsOptions options = BaseOptions();
  options.PublishAsync.MaxPending = absl::GetFlag(FLAGS_max_pending);
  options.PublishAsync.AckHandler = OnAck;
  options.PublishAsync.AckHandlerClosure = &counts;
  // A publish that finds MaxPending in flight waits for an ack this long before failing.
  options.PublishAsync.StallWait = absl::ToInt64Milliseconds(absl::GetFlag(FLAGS_timeout));
  JetStream js;
  if (r.error = js.Open(url, options); !r.error.empty()) return r;
  if (r.error = js.AddStream(names.stream, names.subject); !r.error.empty()) return r;

  const std::string payload(static_cast<std::size_t>(event_bytes), 'x');
  const CpuMeter cpu(server_pid);
  const Clock::time_point start = Clock::now();
  for (int64_t i = 0; i < r.events; ++i) {
    const natsStatus s =
        js_PublishAsync(js.js(), names.subject.c_str(), payload.data(), event_bytes, nullptr);
    if (s != NATS_OK) {
      r.error = absl::StrCat("publish ", i + 1, " of ", r.events, ": ", StatusText(s));
      break;
    }
  }
  jsPubOptions complete;
  jsPubOptions_Init(&complete);
  complete.MaxWait = absl::ToInt64Milliseconds(absl::GetFlag(FLAGS_timeout));
  const natsStatus s = js_PublishAsyncComplete(js.js(), &complete);
  const Clock::time_point done = Clock::now();
  r.cpu_seconds = cpu.Elapsed();
  const int64_t last_ack = counts.last_ack_ticks.load(std::memory_order_relaxed);
  r.seconds = std::chrono::duration<double>(
                  (last_ack != 0 ? Clock::time_point(Clock::duration(last_ack)) : done) - start)
                  .count();
  r.acked = counts.acked.load(std::memory_order_relaxed);
  if (r.error.empty() && s != NATS_OK) {
    r.error = absl::StrCat("waiting for the acks: ", StatusText(s), "; ", r.acked, " of ", r.events,
                           " acked");
  }
  if (r.error.empty() && counts.failed.load(std::memory_order_relaxed) > 0) {
    std::lock_guard<std::mutex> lock(counts.mu);
    r.error = absl::StrCat(counts.failed.load(std::memory_order_relaxed),
                           " publishes failed, the first with ", counts.first_error);
  }
  const auto n = static_cast<uint64_t>(r.events);
  if (r.error.empty() &&
      (r.acked != r.events || counts.max_sequence.load(std::memory_order_relaxed) != n ||
       counts.sequence_sum.load(std::memory_order_relaxed) != n * (n + 1) / 2)) {
    r.error = absl::StrCat(r.acked, " acks of ", r.events, ", highest sequence ",
                           counts.max_sequence.load(std::memory_order_relaxed),
                           ": not the sequences 1..", r.events);
  }
  if (r.error.empty()) {
    r.error = js.StreamState(names.stream, r.stream_messages, r.stream_last_sequence);
  }
  if (r.error.empty() && (r.stream_messages != n || r.stream_last_sequence != n)) {
    r.error = absl::StrCat("the stream holds ", r.stream_messages, " messages, last sequence ",
                           r.stream_last_sequence, "; expected ", r.events);
  }
  if (std::string deleted = js.DeleteStream(names.stream); r.error.empty()) r.error = deleted;
  return r;
}

// ---- latency ----

struct Latency {
  int64_t events = 0;
  double achieved_rate = 0;
  LatencyHistogram publish_to_ack;
  LatencyHistogram due_to_ack;
  LatencyHistogram send_lag;
  std::string error;
};

Latency RunLatency(const std::string& url, int run) {
  Latency r;
  const double rate = absl::GetFlag(FLAGS_rate);
  const int event_bytes = absl::GetFlag(FLAGS_event_bytes);
  r.events = std::max<int64_t>(
      1, static_cast<int64_t>(rate * absl::ToDoubleSeconds(absl::GetFlag(FLAGS_duration))));
  const Names names = RunNames(run);
  jsOptions options = BaseOptions();
  JetStream js;
  if (r.error = js.Open(url, options); !r.error.empty()) return r;
  if (r.error = js.AddStream(names.stream, names.subject); !r.error.empty()) return r;

  jsPubOptions publish_options;
  jsPubOptions_Init(&publish_options);
  publish_options.MaxWait = absl::ToInt64Milliseconds(absl::GetFlag(FLAGS_timeout));
  const std::string payload(static_cast<std::size_t>(event_bytes), 'x');
  // As ringcast-bench's sender: no timer slack, so the pacing's own lateness stays small.
  prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  const Clock::time_point start = Clock::now() + std::chrono::milliseconds(10);
  const double period_nanos = 1e9 / rate;
  Clock::time_point last_ack = start;
  int64_t k = 0;
  for (; k < r.events; ++k) {
    const Clock::time_point due =
        start +
        std::chrono::nanoseconds(static_cast<int64_t>(period_nanos * static_cast<double>(k)));
    std::this_thread::sleep_until(due);
    const Clock::time_point sent = Clock::now();
    jsPubAck* ack = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    const natsStatus s = js_Publish(&ack, js.js(), names.subject.c_str(), payload.data(),
                                    event_bytes, &publish_options, &code);
    last_ack = Clock::now();
    const uint64_t sequence = ack != nullptr ? ack->Sequence : 0;
    if (ack != nullptr) jsPubAck_Destroy(ack);
    if (s != NATS_OK) {
      r.error = JsError(absl::StrCat("publish ", k + 1, " of ", r.events), s, code);
      break;
    }
    if (sequence != static_cast<uint64_t>(k + 1)) {
      r.error = absl::StrCat("publish ", k + 1, " acked with sequence ", sequence);
      break;
    }
    r.send_lag.Record(NanosBetween(due, sent));
    r.publish_to_ack.Record(NanosBetween(sent, last_ack));
    r.due_to_ack.Record(NanosBetween(due, last_ack));
  }
  r.achieved_rate = static_cast<double>(k) /
                    std::max(1e-9, std::chrono::duration<double>(last_ack - start).count());
  uint64_t messages = 0;
  uint64_t last_sequence = 0;
  if (r.error.empty()) r.error = js.StreamState(names.stream, messages, last_sequence);
  const auto n = static_cast<uint64_t>(r.events);
  if (r.error.empty() && (messages != n || last_sequence != n)) {
    r.error = absl::StrCat("the stream holds ", messages, " messages, last sequence ",
                           last_sequence, "; expected ", r.events);
  }
  if (std::string deleted = js.DeleteStream(names.stream); r.error.empty()) r.error = deleted;
  return r;
}

// ---- output ----

struct Target {
  nats::Server server;
  std::string url;
  std::string store_dir;  // --spawn_server: deleted at the end
};

// The fields every line of JSON starts with.
Json CommonJson(const Target& target, const char* mode) {
  return {{"mode", mode},
          {"peer", "jetstream"},
          {"storage", "file"},
          {"sync", "server default"},
          {"nats_version", target.server.version},
          {"client", absl::StrCat("libnats ", nats_GetVersion())},
          {"publishers", 1},
          {"subscribers", 0},
          {"topics", 1},
          {"event_bytes", absl::GetFlag(FLAGS_event_bytes)},
          {"batch", 1}};
}

// Ends a line of JSON with the server's fields, verified and the error if any; prints it.
void PrintJsonLine(Json line, const Target& target, const Machine& machine,
                   const std::string& error) {
  line["nproc"] = machine.cpus.size();
  line["server"] = "external";
  line["spawned"] = target.server.child != nullptr;
  line["server_pid"] = target.server.pid;
  line["verified"] = error.empty();
  if (!error.empty()) line["error"] = error;
  absl::PrintF("%s\n", JsonText(line));
  std::fflush(stdout);
}

void PrintIngest(const Target& target, const Machine& machine, int run, const Ingest& r) {
  const double rate = static_cast<double>(r.acked) / std::max(r.seconds, 1e-9);
  const double cpu_per_m =
      r.cpu_seconds >= 0 && r.acked > 0 ? r.cpu_seconds / (static_cast<double>(r.acked) / 1e6) : -1;
  Json line = CommonJson(target, "ingest");
  line["publish"] = "async";
  line["max_pending"] = absl::GetFlag(FLAGS_max_pending);
  line["run"] = run;
  line["events"] = r.acked;
  line["seconds"] = Rounded(r.seconds, 4);
  line["published_events_per_sec"] = Rounded(rate, 0);
  line["published_bytes_per_sec"] = Rounded(rate * absl::GetFlag(FLAGS_event_bytes), 0);
  line["server_cpu_sec_per_m_published"] = cpu_per_m >= 0 ? Rounded(cpu_per_m, 4) : Json();
  line["stream_messages"] = r.stream_messages;
  line["stream_last_seq"] = r.stream_last_sequence;
  PrintJsonLine(std::move(line), target, machine, r.error);
  absl::FPrintF(stderr,
                "jetstream ingest run %d: %d events of %d B acked in %.3f s: %.0f events/s, server "
                "CPU %s s per M%s\n",
                run, r.acked, absl::GetFlag(FLAGS_event_bytes), r.seconds, rate,
                cpu_per_m >= 0 ? absl::StrFormat("%.3f", cpu_per_m) : "unknown",
                r.error.empty() ? "" : absl::StrCat("  FAILED: ", r.error));
}

void PrintLatency(const Target& target, const Machine& machine, int run, const Latency& r) {
  const auto us = [](const LatencyHistogram& h, double q) { return h.Percentile(q) / 1e3; };
  const LatencyHistogram& h = r.publish_to_ack;
  const auto tenth = [](double v) { return Rounded(v, 1); };
  Json line = CommonJson(target, "latency");
  line["publish"] = "sync";
  line["run"] = run;
  line["rate"] = Rounded(absl::GetFlag(FLAGS_rate), 0);
  line["achieved_rate"] = Rounded(r.achieved_rate, 0);
  line["events"] = r.events;
  line["samples"] = h.count();
  line["p50_us"] = tenth(us(h, 0.5));
  line["p90_us"] = tenth(us(h, 0.9));
  line["p99_us"] = tenth(us(h, 0.99));
  line["p999_us"] = tenth(us(h, 0.999));
  line["max_us"] = tenth(h.max() / 1e3);
  line["due_p50_us"] = tenth(us(r.due_to_ack, 0.5));
  line["due_p99_us"] = tenth(us(r.due_to_ack, 0.99));
  line["due_p999_us"] = tenth(us(r.due_to_ack, 0.999));
  line["due_max_us"] = tenth(r.due_to_ack.max() / 1e3);
  line["send_lag_p50_us"] = tenth(us(r.send_lag, 0.5));
  line["send_lag_p99_us"] = tenth(us(r.send_lag, 0.99));
  PrintJsonLine(std::move(line), target, machine, r.error);
  absl::FPrintF(stderr,
                "jetstream latency run %d: sync publish paced at %.0f/s, achieved %.0f/s, %d "
                "samples: publish->ack p50 %.1f us, p90 %.1f, p99 %.1f, p99.9 %.1f, max %.1f; "
                "due->ack p50 %.1f, p99 %.1f%s\n",
                run, absl::GetFlag(FLAGS_rate), r.achieved_rate, h.count(), us(h, 0.5), us(h, 0.9),
                us(h, 0.99), us(h, 0.999), h.max() / 1e3, us(r.due_to_ack, 0.5),
                us(r.due_to_ack, 0.99), r.error.empty() ? "" : absl::StrCat("  FAILED: ", r.error));
}

// ---- setup ----

absl::Status Spawn(Target& target) {
  std::string parent = absl::GetFlag(FLAGS_store_parent);
  if (parent.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    parent = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  }
  std::string pattern = absl::StrCat(parent, "/ringcast-jetstream-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp ", pattern, ": ", std::strerror(errno)));
  }
  target.store_dir = pattern;
  std::vector<std::string> args = {"-js", "-sd", target.store_dir};
  if (const std::string config = absl::GetFlag(FLAGS_server_config); !config.empty()) {
    args.insert(args.end(), {"-c", config});
  }
  if (absl::Status s =
          nats::SpawnServer(absl::GetFlag(FLAGS_nats_server), args, absl::GetFlag(FLAGS_server_log),
                            absl::Seconds(10), target.server);
      !s.ok()) {
    return s;
  }
  target.url = absl::StrCat("nats://", target.server.host, ":", target.server.port);
  return absl::OkStatus();
}

absl::Status Reach(Target& target) {
  target.url = absl::GetFlag(FLAGS_nats_url);
  std::string host_port = target.url;
  if (const std::size_t scheme = host_port.find("://"); scheme != std::string::npos) {
    host_port = host_port.substr(scheme + 3);
  }
  return nats::ConnectToServer(host_port, absl::GetFlag(FLAGS_server_pid),
                               absl::GetFlag(FLAGS_timeout), target.server);
}

// Why the flags cannot make a run, or empty.
std::string CheckFlags(const std::string& mode) {
  if (mode != "ingest" && mode != "latency") return "the mode is ingest or latency";
  if (absl::GetFlag(FLAGS_nats_url).empty() == !absl::GetFlag(FLAGS_spawn_server)) {
    return "give either --nats_url=nats://HOST:PORT of a running nats-server -js or "
           "--spawn_server";
  }
  if (absl::GetFlag(FLAGS_events) < 1 || absl::GetFlag(FLAGS_event_bytes) < 0 ||
      absl::GetFlag(FLAGS_max_pending) < 1 || absl::GetFlag(FLAGS_runs) < 1) {
    return "events, max_pending, runs >= 1; event_bytes >= 0";
  }
  if (!(absl::GetFlag(FLAGS_rate) > 0) || absl::GetFlag(FLAGS_duration) <= absl::ZeroDuration()) {
    return "--rate and --duration must be positive";
  }
  if (absl::GetFlag(FLAGS_timeout) < absl::Milliseconds(1)) return "--timeout of at least 1ms";
  return {};
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "ringcast-jetstream-bench ingest|latency --nats_url=URL|--spawn_server [flags]: the NATS "
      "JetStream peer of the durable-topic benchmarks (see --help)");
  const std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  std::string mode = absl::GetFlag(FLAGS_mode);
  if (positional.size() > 2 || (positional.size() == 2 && !mode.empty() && mode != positional[1])) {
    std::fprintf(stderr, "ringcast-jetstream-bench: one mode, positional or --mode\n");
    return 2;
  }
  if (positional.size() == 2) mode = positional[1];
  if (mode.empty()) mode = "ingest";
  if (const std::string problem = CheckFlags(mode); !problem.empty()) {
    std::fprintf(stderr, "ringcast-jetstream-bench: %s\n", problem.c_str());
    return 2;
  }
  Target target;
  const absl::Status reached = absl::GetFlag(FLAGS_spawn_server) ? Spawn(target) : Reach(target);
  bool ok = reached.ok();
  if (!ok) {
    std::fprintf(stderr, "ringcast-jetstream-bench: %s\n", reached.ToString().c_str());
  } else {
    const Machine machine = DescribeMachine(AllowedCpus());
    absl::FPrintF(stderr, "# %s: %s, %d CPUs, nats-server %s at %s (%s), libnats %s\n", mode,
                  machine.cpu_model, machine.cpus.size(), target.server.version, target.url,
                  target.server.pid != 0
                      ? absl::StrCat("pid ", target.server.pid,
                                     target.server.child != nullptr ? ", spawned" : "")
                      : "pid unknown: no server CPU figure",
                  nats_GetVersion());
    for (int run = 1; run <= absl::GetFlag(FLAGS_runs); ++run) {
      if (mode == "ingest") {
        const Ingest r = RunIngest(target.url, target.server.pid, run);
        ok &= r.error.empty();
        PrintIngest(target, machine, run, r);
      } else {
        const Latency r = RunLatency(target.url, run);
        ok &= r.error.empty();
        PrintLatency(target, machine, run, r);
      }
    }
  }
  if (target.server.child != nullptr) target.server.child->Stop();
  if (!target.store_dir.empty()) {
    std::error_code error;
    std::filesystem::remove_all(target.store_dir, error);
    if (error) {
      std::fprintf(stderr, "ringcast-jetstream-bench: removing %s: %s\n", target.store_dir.c_str(),
                   error.message().c_str());
    }
  }
  // Lets the library's threads and memory go (after every connection is destroyed).
  nats_Close();
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace ringcast::bench

int main(int argc, char** argv) { return ringcast::bench::Main(argc, argv); }
