// ringcast-bench: the end-to-end load generator.
//
//   ringcast-bench throughput [--target=HOST:PORT | --embedded] --publishers --subscribers --topics
//                  --event_bytes --batch --events
//   ringcast-bench latency    [--target=HOST:PORT | --embedded] --rate --duration --subscribers
//   ringcast-bench crowd      [--target=HOST:PORT | --embedded] --subscribers
//
// throughput: P publisher streams write pre-encoded batches (a window of them unanswered per
// stream) round-robin over T topics; S RELIABLE subscribers per topic count what they receive. A
// run is verified: every subscriber must receive every event of its topic. Reports published and
// delivered events/s and bytes/s, and the server's CPU seconds per million delivered events (read
// from /proc/<pid>/stat of the server process: --server_pid, or found by the target's port when
// the server is on this machine; with --embedded the whole process's CPU, clients included, is
// reported instead).
//
// latency: one publisher sends at a fixed --rate for --duration (open loop). Each event carries its
// intended send time; subscribers record (receive time - intended send time), so a stall delays
// the events behind it and is counted in full instead of being hidden by the sender waiting
// (coordinated omission). HDR-style histogram; p50, p90, p99, p99.9, max. The publisher's acks are
// timed the same way (ack arrival - the batch's intended send time: ack_p50_us ...), so with
// --subscribers=0 the run measures publish -> ack alone.
//
// crowd: --subscribers subscriptions on one topic, 100 per connection; measures how long they take
// to register, the server's resident memory per idle subscription, and how long one batch takes
// to reach all of them (each must receive it).
//
// --format=json prints one object per run; table prints a line per run.
#include <malloc.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "bench/common/latency_histogram.h"
#include "bench/common/open_loop.h"
#include "bench/common/server_process.h"
#include "bench/core/report.h"
#include "bench/load/raw_client.h"
#include "grpcpp/grpcpp.h"
#include "observability/log.h"
#include "ringcast/server/server.h"
#include "ringcast/v1/ringcast.grpc.pb.h"

ABSL_FLAG(std::string, target, "", "host:port of a running ringcastd (default: --embedded)");
ABSL_FLAG(bool, embedded, false, "start a server in this process");
ABSL_FLAG(int, server_pid, 0,
          "pid of the target server, for its CPU time (default: found by port)");
ABSL_FLAG(int, publishers, 1, "publish streams");
ABSL_FLAG(int, subscribers, 4, "RELIABLE subscribers per topic");
ABSL_FLAG(int, topics, 1, "topics");
ABSL_FLAG(int, event_bytes, 64, "payload bytes per event");
ABSL_FLAG(int, batch, 100, "events per publish batch");
ABSL_FLAG(int64_t, events, 5'000'000, "throughput: events published per run, over all topics");
ABSL_FLAG(int, window, 32, "throughput: unanswered batches per publish stream");
ABSL_FLAG(int, topic_capacity, 65536, "ring capacity of the topics the run creates");
ABSL_FLAG(double, rate, 10000, "latency: events per second, open loop");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "latency: how long to publish");
ABSL_FLAG(absl::Duration, send_spin, absl::Microseconds(80),
          "latency: the sender sleeps until this long before each batch is due, then spins "
          "(at most half the period; 0: sleeps until due)");
ABSL_FLAG(int, runs, 1, "runs (each on fresh topics)");
ABSL_FLAG(std::string, format, "table", "table or json");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA of a TLS server's certificate: connect with TLS (--target must match its name)");
ABSL_FLAG(std::string, tls_cert, "", "PEM client certificate, for a server that requires mTLS");
ABSL_FLAG(std::string, tls_key, "", "PEM key of --tls_cert");
ABSL_FLAG(std::string, token, "", "bearer token sent on every call (needs --tls_ca)");
ABSL_FLAG(std::string, wait_strategy, "blocking",
          "--embedded: the server's fan-out wait strategy (blocking, phased, yielding, busy_spin)");

namespace ringcast::bench {
namespace {

using Clock = std::chrono::steady_clock;

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

double OwnCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto s = [](const timeval& t) { return t.tv_sec + t.tv_usec * 1e-6; };
  return s(usage.ru_utime) + s(usage.ru_stime);
}

struct Setup {
  std::unique_ptr<server::Server> embedded;
  std::string target;
  int server_pid = 0;  // 0: CPU is this process's (embedded)
};

absl::StatusOr<Setup> Connect() {
  Setup setup;
  setup.target = absl::GetFlag(FLAGS_target);
  if (setup.target.empty() || absl::GetFlag(FLAGS_embedded)) {
    server::SetLogEnabled(false);
    server::ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.metrics_listen = "";
    options.max_ring_capacity = 1u << 22;
    absl::StatusOr<server::FanoutWaitStrategy> strategy =
        server::ParseFanoutWaitStrategy(absl::GetFlag(FLAGS_wait_strategy));
    if (!strategy.ok()) return strategy.status();
    options.wait_strategy = *strategy;
    auto server = server::Server::Start(options);
    if (!server.ok()) return server.status();
    setup.target = absl::StrCat("127.0.0.1:", (*server)->port());
    setup.embedded = *std::move(server);
    return setup;
  }
  setup.server_pid = absl::GetFlag(FLAGS_server_pid);
  if (setup.server_pid == 0) {
    const std::vector<std::string> parts = absl::StrSplit(setup.target, ':');
    int port = 0;
    if (parts.size() >= 2 && absl::SimpleAtoi(parts.back(), &port)) {
      setup.server_pid = FindListeningPid(port);
    }
  }
  return setup;
}

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    std::fprintf(stderr, "ringcast-bench: cannot read %s\n", path.c_str());
    std::exit(2);
  }
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

// Plaintext, or TLS (--tls_ca, with --tls_cert/--tls_key for mTLS) and a bearer token (--token)
// on every call: the same connection a secured deployment's clients make.
std::shared_ptr<grpc::ChannelCredentials> Credentials() {
  if (absl::GetFlag(FLAGS_tls_ca).empty()) return grpc::InsecureChannelCredentials();
  static const std::shared_ptr<grpc::ChannelCredentials> credentials = [] {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadFileOrDie(absl::GetFlag(FLAGS_tls_ca));
    if (!absl::GetFlag(FLAGS_tls_cert).empty()) {
      ssl.pem_cert_chain = ReadFileOrDie(absl::GetFlag(FLAGS_tls_cert));
      ssl.pem_private_key = ReadFileOrDie(absl::GetFlag(FLAGS_tls_key));
    }
    std::shared_ptr<grpc::ChannelCredentials> channel = grpc::SslCredentials(ssl);
    if (absl::GetFlag(FLAGS_token).empty()) return channel;
    return grpc::CompositeChannelCredentials(
        channel, grpc::AccessTokenCredentials(absl::GetFlag(FLAGS_token)));
  }();
  return credentials;
}

std::shared_ptr<grpc::Channel> NewChannel(const std::string& target) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
  args.SetMaxReceiveMessageSize(-1);
  return grpc::CreateCustomChannel(target, Credentials(), args);
}

absl::Status CreateTopic(grpc::Channel& channel, const std::string& name, int capacity) {
  auto stub = v1::TopicService::NewStub(std::shared_ptr<grpc::Channel>(&channel, [](auto*) {}));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  v1::CreateTopicRequest request;
  request.set_name(name);
  request.set_capacity(static_cast<uint32_t>(capacity));
  v1::Topic topic;
  const grpc::Status s = stub->CreateTopic(&context, request, &topic);
  if (!s.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                        absl::StrCat("create topic ", name, ": ", s.error_message()));
  }
  return absl::OkStatus();
}

// Deletes the topics a run created, so that runs against one server do not pile them up.
void DeleteTopics(grpc::Channel& channel, const std::vector<std::string>& names) {
  auto stub = v1::TopicService::NewStub(std::shared_ptr<grpc::Channel>(&channel, [](auto*) {}));
  for (const std::string& name : names) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::DeleteTopicRequest request;
    request.set_name(name);
    v1::DeleteTopicResponse response;
    static_cast<void>(stub->DeleteTopic(&context, request, &response));
  }
}

// A PublishRequest to `topic` of `events` payloads of --event_bytes each, encoded once.
grpc::ByteBuffer EncodedBatch(const std::string& topic, int events) {
  v1::PublishRequest request;
  request.set_topic(topic);
  for (int i = 0; i < events; ++i) {
    request.add_events()->set_payload(
        std::string(static_cast<std::size_t>(absl::GetFlag(FLAGS_event_bytes)), 'x'));
  }
  return Encode(request);
}

std::string RunPrefix(int run) {
  return absl::StrCat("bench-", getpid(), "-", NowNanos() % 1000000, "-", run);
}

struct Throughput {
  double seconds = 0;
  double publish_seconds = 0;
  int64_t published = 0;
  int64_t delivered = 0;
  double cpu_seconds = -1;
  bool server_cpu = false;
  std::string error;
};

Throughput RunThroughput(const Setup& setup, int run) {
  Throughput r;
  const int publishers = absl::GetFlag(FLAGS_publishers);
  const int subscribers = absl::GetFlag(FLAGS_subscribers);
  const int topics = absl::GetFlag(FLAGS_topics);
  const int batch = absl::GetFlag(FLAGS_batch);
  // At least one batch per topic, so that every subscriber has something to wait for.
  const int64_t batches = std::max<int64_t>(absl::GetFlag(FLAGS_events) / batch, topics);
  const int window = absl::GetFlag(FLAGS_window);

  // Connections: subscribers share a few channels (many streams per HTTP/2 connection, as real
  // consumers of many topics would), publishers have one each.
  auto admin = NewChannel(setup.target);
  const std::string prefix = RunPrefix(run);
  std::vector<std::string> names;
  std::vector<grpc::ByteBuffer> encoded;
  for (int t = 0; t < topics; ++t) {
    names.push_back(absl::StrCat(prefix, "-", t));
    if (absl::Status s = CreateTopic(*admin, names.back(), absl::GetFlag(FLAGS_topic_capacity));
        !s.ok()) {
      r.error = std::string(s.message());
      return r;
    }
    encoded.push_back(EncodedBatch(names.back(), batch));
  }
  // Batch i goes to topic i % topics; topic t gets this many events:
  const auto events_of_topic = [&](int t) {
    return (batches / topics + (t < batches % topics ? 1 : 0)) * batch;
  };

  const int subscriber_channels = std::min(8, std::max(1, subscribers * topics / 64));
  std::vector<std::unique_ptr<grpc::GenericStub>> subscriber_stubs;
  for (int c = 0; c < subscriber_channels; ++c) {
    subscriber_stubs.push_back(std::make_unique<grpc::GenericStub>(NewChannel(setup.target)));
  }
  std::vector<std::unique_ptr<RawSubscriber>> subs;
  for (int t = 0; t < topics; ++t) {
    for (int s = 0; s < subscribers; ++s) {
      v1::SubscribeRequest request;
      request.set_topic(names[static_cast<std::size_t>(t)]);
      request.set_max_batch_events(4096);
      auto& stub = *subscriber_stubs[subs.size() % subscriber_stubs.size()];
      subs.push_back(std::make_unique<RawSubscriber>(stub, request, events_of_topic(t)));
    }
  }
  for (auto& s : subs) s->WaitStarted();

  std::vector<std::unique_ptr<grpc::GenericStub>> publisher_stubs;
  for (int p = 0; p < publishers; ++p) {
    publisher_stubs.push_back(std::make_unique<grpc::GenericStub>(NewChannel(setup.target)));
  }
  const double cpu_before =
      setup.server_pid != 0 ? ProcessCpuSeconds(setup.server_pid) : OwnCpuSeconds();
  const Clock::time_point start = Clock::now();
  std::vector<std::unique_ptr<RawPublisher>> pubs;
  for (int p = 0; p < publishers; ++p) {
    // Publisher p writes batches p, p + P, p + 2P, ...
    pubs.push_back(std::make_unique<RawPublisher>(
        *publisher_stubs[static_cast<std::size_t>(p)],
        [&, p](int64_t index) -> const grpc::ByteBuffer* {
          const int64_t global = p + index * publishers;
          if (global >= batches) return nullptr;
          return &encoded[static_cast<std::size_t>(global % topics)];
        },
        window));
  }
  for (auto& p : pubs) {
    const grpc::Status s = p->Wait();
    if (!s.ok() && r.error.empty())
      r.error = absl::StrCat("publish: ", s.error_message(), p->error());
    r.published += p->events_acked();
  }
  r.publish_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& s : subs) {
    s->Wait();  // ends CANCELLED once it has everything, or with the server's error
    r.delivered += s->events();
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu_after =
      setup.server_pid != 0 ? ProcessCpuSeconds(setup.server_pid) : OwnCpuSeconds();
  r.cpu_seconds = cpu_before >= 0 && cpu_after >= 0 ? cpu_after - cpu_before : -1;
  r.server_cpu = setup.server_pid != 0;
  int64_t expected = 0;
  for (int t = 0; t < topics; ++t) expected += events_of_topic(t) * subscribers;
  if (r.error.empty() && r.delivered != expected) {
    r.error = absl::StrCat("delivered ", r.delivered, " events, expected ", expected);
  }
  DeleteTopics(*admin, names);
  return r;
}

// Replay: a topic filled first (publishers, no subscribers), then read from EARLIEST by
// --subscribers readers. Against a durable server whose topics hold fewer slots than --events, most
// of the replay comes from the journal: this is the server's disk -> ring -> live catch-up rate.
struct Replay {
  double publish_seconds = 0;
  double seconds = 0;  // from the first Subscribe to the last reader's last event
  int64_t published = 0;
  int64_t delivered = 0;
  double cpu_seconds = -1;
  bool server_cpu = false;
  double client_cpu_seconds = -1;  // this process, over the replay
  std::string error;
};

Replay RunReplay(const Setup& setup, int run) {
  Replay r;
  const int batch = absl::GetFlag(FLAGS_batch);
  const int64_t batches = std::max<int64_t>(absl::GetFlag(FLAGS_events) / batch, 1);
  const int readers = std::max(1, absl::GetFlag(FLAGS_subscribers));
  auto admin = NewChannel(setup.target);
  const std::string name = absl::StrCat(RunPrefix(run), "-replay");
  if (absl::Status s = CreateTopic(*admin, name, absl::GetFlag(FLAGS_topic_capacity)); !s.ok()) {
    r.error = std::string(s.message());
    return r;
  }
  const grpc::ByteBuffer encoded = EncodedBatch(name, batch);
  {
    grpc::GenericStub stub(NewChannel(setup.target));
    const Clock::time_point start = Clock::now();
    RawPublisher publisher(
        stub,
        [&](int64_t index) -> const grpc::ByteBuffer* {
          return index < batches ? &encoded : nullptr;
        },
        absl::GetFlag(FLAGS_window));
    if (const grpc::Status s = publisher.Wait(); !s.ok()) {
      r.error = absl::StrCat("publish: ", s.error_message(), publisher.error());
    }
    r.published = publisher.events_acked();
    r.publish_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  }
  if (!r.error.empty()) {
    DeleteTopics(*admin, {name});
    return r;
  }
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs;
  std::vector<std::unique_ptr<RawSubscriber>> subs;
  const double cpu_before =
      setup.server_pid != 0 ? ProcessCpuSeconds(setup.server_pid) : OwnCpuSeconds();
  const double own_cpu_before = OwnCpuSeconds();
  const Clock::time_point start = Clock::now();
  for (int s = 0; s < readers; ++s) {
    v1::SubscribeRequest subscribe;
    subscribe.set_topic(name);
    subscribe.set_position(v1::START_POSITION_EARLIEST);
    subscribe.set_max_batch_events(4096);
    stubs.push_back(std::make_unique<grpc::GenericStub>(NewChannel(setup.target)));
    subs.push_back(std::make_unique<RawSubscriber>(*stubs.back(), subscribe, r.published));
  }
  for (auto& s : subs) {
    s->Wait();  // ends CANCELLED once it has everything, or with the server's error
    r.delivered += s->events();
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu_after =
      setup.server_pid != 0 ? ProcessCpuSeconds(setup.server_pid) : OwnCpuSeconds();
  r.cpu_seconds = cpu_before >= 0 && cpu_after >= 0 ? cpu_after - cpu_before : -1;
  r.server_cpu = setup.server_pid != 0;
  if (r.server_cpu) r.client_cpu_seconds = OwnCpuSeconds() - own_cpu_before;
  if (r.delivered != r.published * readers) {
    r.error = absl::StrCat("replayed ", r.delivered, " events, expected ", r.published * readers,
                           " (a memory-only server keeps only the ring)");
  }
  DeleteTopics(*admin, {name});
  return r;
}

struct Latency {
  int64_t events = 0;
  double achieved_rate = 0;
  LatencyHistogram recorder;
  // How late the sender handed each batch to gRPC (actual - intended send time): the part of the
  // latency the generator itself adds, reported so it can be told apart from the server's.
  LatencyHistogram send_lag;
  // Per batch, its acknowledgement's arrival - its intended send time: publish -> ack, which on a
  // durable topic under --journal_sync=always includes the fdatasync.
  LatencyHistogram ack;
  std::string error;
};

Latency RunLatency(const Setup& setup, int run) {
  Latency r;
  const double rate = absl::GetFlag(FLAGS_rate);
  const int subscribers = absl::GetFlag(FLAGS_subscribers);
  const int batch = absl::GetFlag(FLAGS_batch);
  const int event_bytes = std::max(8, absl::GetFlag(FLAGS_event_bytes));
  const auto total =
      static_cast<int64_t>(rate * absl::ToDoubleSeconds(absl::GetFlag(FLAGS_duration)));
  const int64_t batches = std::max<int64_t>(1, total / batch);
  r.events = batches * batch;

  auto channel = NewChannel(setup.target);
  const std::string topic = RunPrefix(run);
  if (absl::Status s = CreateTopic(*channel, topic, absl::GetFlag(FLAGS_topic_capacity)); !s.ok()) {
    r.error = std::string(s.message());
    return r;
  }
  grpc::GenericStub subscriber_stub(NewChannel(setup.target));
  std::vector<LatencyHistogram> recorders(static_cast<std::size_t>(subscribers));
  std::vector<std::unique_ptr<RawSubscriber>> subs;
  for (int s = 0; s < subscribers; ++s) {
    v1::SubscribeRequest request;
    request.set_topic(topic);
    LatencyHistogram* recorder = &recorders[static_cast<std::size_t>(s)];
    auto response = std::make_shared<v1::SubscribeResponse>();
    subs.push_back(std::make_unique<RawSubscriber>(
        subscriber_stub, request, r.events, [recorder, response](const grpc::ByteBuffer& bytes) {
          const int64_t now = NowNanos();
          grpc::ByteBuffer copy(bytes);
          if (!grpc::GenericDeserialize<grpc::ProtoBufferReader, v1::SubscribeResponse>(
                   &copy, response.get())
                   .ok()) {
            return;
          }
          for (const v1::Event& e : response->events()) {
            int64_t intended = 0;
            std::memcpy(&intended, e.payload().data(), sizeof(intended));
            recorder->Record(now - intended);
          }
        }));
  }
  for (auto& s : subs) s->WaitStarted();

  // The open-loop sender: batch k is due at start + k * batch / rate, whenever it actually goes.
  auto stub = v1::EventService::NewStub(NewChannel(setup.target));
  grpc::ClientContext context;
  auto stream = stub->Publish(&context);
  // The kernel may fire a sleeper's timer up to its slack late (50 us by default): the sender asks
  // for none, so its own lateness stays small next to what it measures.
  prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  const OpenLoopSchedule schedule(
      rate / batch,
      std::chrono::nanoseconds(absl::ToInt64Nanoseconds(absl::GetFlag(FLAGS_send_spin))));
  std::string rejected;  // written by the ack reader, read after it is joined
  int64_t acked = 0;     // batches; likewise
  std::thread acks([&] {
    v1::PublishResponse response;
    while (stream->Read(&response)) {
      const int64_t now = NowNanos();
      if (!response.has_ack()) {
        if (rejected.empty()) rejected = response.error().message();
        continue;
      }
      ++acked;
      r.ack.Record(now - schedule.DueNanos(static_cast<int64_t>(response.batch_id())));
    }
  });
  v1::PublishRequest request;
  request.set_topic(topic);
  for (int i = 0; i < batch; ++i) {
    request.add_events()->set_payload(std::string(static_cast<std::size_t>(event_bytes), 'x'));
  }
  for (int64_t k = 0; k < batches; ++k) {
    schedule.WaitFor(k);
    const int64_t intended = schedule.DueNanos(k);
    for (int i = 0; i < batch; ++i) {
      std::memcpy(request.mutable_events(i)->mutable_payload()->data(), &intended,
                  sizeof(intended));
    }
    request.set_batch_id(static_cast<uint64_t>(k));
    r.send_lag.Record(NowNanos() - intended);
    if (!stream->Write(request)) {
      r.error = "publish stream broke";
      break;
    }
  }
  const double sent_seconds =
      std::chrono::duration<double>(Clock::now() - schedule.start()).count();
  r.achieved_rate = static_cast<double>(r.events) / std::max(sent_seconds, 1e-9);
  stream->WritesDone();
  acks.join();
  static_cast<void>(stream->Finish());
  if (r.error.empty() && !rejected.empty()) r.error = absl::StrCat("batch rejected: ", rejected);
  if (r.error.empty() && acked != batches) {
    r.error = absl::StrCat("acked ", acked, " of ", batches, " batches");
  }
  for (auto& s : subs) s->Wait();
  for (const LatencyHistogram& rec : recorders) r.recorder.Add(rec);
  DeleteTopics(*channel, {topic});
  if (r.error.empty() && r.recorder.count() != r.events * subscribers) {
    r.error =
        absl::StrCat("received ", r.recorder.count(), " of ", r.events * subscribers, " events");
  }
  return r;
}

// Resident memory of process `pid` in bytes (VmRSS), or -1.
double ResidentBytes(int pid) {
  std::ifstream file(absl::StrCat("/proc/", pid, "/status"));
  for (std::string line; std::getline(file, line);) {
    if (absl::StartsWith(line, "VmRSS:")) {
      std::istringstream fields(line.substr(6));
      double kib = 0;
      fields >> kib;
      return kib * 1024;
    }
  }
  return -1;
}

struct Crowd {
  int subscribers = 0;
  double connect_seconds = 0;      // until every subscription was registered
  double rss_per_subscriber = -1;  // server bytes per idle subscription
  double fanout_seconds = 0;       // one batch published until every subscriber had it
  int64_t delivered = 0;
  std::string error;
};

// N subscribers on one topic: registered, idle (the server's memory is measured), then one batch
// must reach every one of them.
Crowd RunCrowd(const Setup& setup, int run) {
  Crowd r;
  r.subscribers = absl::GetFlag(FLAGS_subscribers);
  const int batch = absl::GetFlag(FLAGS_batch);
  auto admin = NewChannel(setup.target);
  const std::string topic = RunPrefix(run);
  if (absl::Status s = CreateTopic(*admin, topic, absl::GetFlag(FLAGS_topic_capacity)); !s.ok()) {
    r.error = std::string(s.message());
    return r;
  }
  const int pid = setup.server_pid != 0 ? setup.server_pid : getpid();
  const double rss_before = ResidentBytes(pid);
  // 100 subscribers per connection, as many consumers sharing a few hosts would.
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs;
  for (int c = 0; c < (r.subscribers + 99) / 100; ++c) {
    stubs.push_back(std::make_unique<grpc::GenericStub>(NewChannel(setup.target)));
  }
  const Clock::time_point start = Clock::now();
  std::vector<std::unique_ptr<RawSubscriber>> subs;
  v1::SubscribeRequest request;
  request.set_topic(topic);
  for (int s = 0; s < r.subscribers; ++s) {
    subs.push_back(
        std::make_unique<RawSubscriber>(*stubs[static_cast<std::size_t>(s) / 100], request, batch));
  }
  for (auto& s : subs) s->WaitStarted();
  r.connect_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  absl::SleepFor(absl::Seconds(1));  // let allocations settle
  const double rss_idle = ResidentBytes(pid);
  if (rss_before > 0 && rss_idle > 0)
    r.rss_per_subscriber = (rss_idle - rss_before) / r.subscribers;

  const grpc::ByteBuffer encoded = EncodedBatch(topic, batch);
  grpc::GenericStub publisher_stub(NewChannel(setup.target));
  const Clock::time_point published = Clock::now();
  RawPublisher publisher(
      publisher_stub,
      [&](int64_t index) -> const grpc::ByteBuffer* { return index == 0 ? &encoded : nullptr; }, 1);
  if (const grpc::Status s = publisher.Wait(); !s.ok()) r.error = s.error_message();
  for (auto& s : subs) {
    s->Wait();
    r.delivered += s->events();
  }
  r.fanout_seconds = std::chrono::duration<double>(Clock::now() - published).count();
  DeleteTopics(*admin, {topic});
  if (r.error.empty() && r.delivered != static_cast<int64_t>(r.subscribers) * batch) {
    r.error = absl::StrCat("delivered ", r.delivered, " of ", int64_t{r.subscribers} * batch);
  }
  return r;
}

// The fields every line of JSON starts with.
Json CommonJson(const char* mode) {
  return {{"mode", mode},
          {"publishers", absl::GetFlag(FLAGS_publishers)},
          {"subscribers", absl::GetFlag(FLAGS_subscribers)},
          {"topics", absl::GetFlag(FLAGS_topics)},
          {"event_bytes", absl::GetFlag(FLAGS_event_bytes)},
          {"batch", absl::GetFlag(FLAGS_batch)}};
}

// Ends a line of JSON: verified, and the error if any; prints it.
void PrintJsonLine(Json line, const std::string& error) {
  line["verified"] = error.empty();
  if (!error.empty()) line["error"] = error;
  absl::PrintF("%s\n", JsonText(line));
}

int Main(int argc, char** argv) {
  // The readers' receive buffers (hundreds of KiB per response) come from the heap and are reused:
  // above glibc's default mmap threshold each got a fresh mapping, and the kernel's copy into it
  // faulted every page in (a fifth of a replay reader's CPU). ringcastd sets the same for its runs.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  absl::SetProgramUsageMessage(
      "ringcast-bench throughput|latency|crowd|replay [flags]: the end-to-end load generator (see "
      "--help)");
  const std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  const std::string mode = positional.size() > 1 ? positional[1] : "throughput";
  if (mode != "throughput" && mode != "latency" && mode != "crowd" && mode != "replay") {
    std::fprintf(stderr,
                 "ringcast-bench: unknown mode '%s' (throughput, latency, crowd or replay)\n",
                 mode.c_str());
    return 2;
  }
  const bool json = absl::GetFlag(FLAGS_format) == "json";
  if (absl::GetFlag(FLAGS_publishers) < 1 || absl::GetFlag(FLAGS_subscribers) < 0 ||
      absl::GetFlag(FLAGS_topics) < 1 || absl::GetFlag(FLAGS_batch) < 1 ||
      absl::GetFlag(FLAGS_window) < 1 || absl::GetFlag(FLAGS_rate) <= 0) {
    std::fprintf(stderr, "ringcast-bench: publishers, topics, batch, window >= 1; rate > 0\n");
    return 2;
  }
  absl::StatusOr<Setup> setup = Connect();
  if (!setup.ok()) {
    std::fprintf(stderr, "ringcast-bench: %s\n", setup.status().ToString().c_str());
    return 1;
  }
  const Machine machine = DescribeMachine(AllowedCpus());
  if (!json) {
    absl::PrintF("# %s: %s, %d CPUs, server %s%s\n", mode, machine.cpu_model, machine.cpus.size(),
                 setup->embedded ? "embedded" : setup->target,
                 setup->server_pid != 0 ? absl::StrCat(" (pid ", setup->server_pid, ")") : "");
  }
  bool ok = true;
  for (int run = 1; run <= absl::GetFlag(FLAGS_runs); ++run) {
    if (mode == "throughput") {
      const Throughput r = RunThroughput(*setup, run);
      ok &= r.error.empty();
      const double bytes = absl::GetFlag(FLAGS_event_bytes);
      const double published = r.published / std::max(r.publish_seconds, 1e-9);
      const double delivered = r.delivered / std::max(r.seconds, 1e-9);
      // CPU seconds per million events, or -1 where there is nothing to divide by.
      const auto cpu_per_million = [&](int64_t events) {
        return r.cpu_seconds >= 0 && events > 0
                   ? r.cpu_seconds / (static_cast<double>(events) / 1e6)
                   : -1;
      };
      const double cpu_per_m = cpu_per_million(r.delivered);
      const double cpu_per_m_published = cpu_per_million(r.published);
      // -1 (nothing to divide by) prints as null.
      const auto json_number = [](double v) { return v >= 0 ? Rounded(v, 4) : Json(); };
      if (json) {
        const std::string cpu = r.server_cpu ? "server" : "process";
        Json line = CommonJson("throughput");
        line["run"] = run;
        line["events"] = r.published;
        line["seconds"] = Rounded(r.seconds, 4);
        line["published_events_per_sec"] = Rounded(published, 0);
        line["delivered_events_per_sec"] = Rounded(delivered, 0);
        line["published_bytes_per_sec"] = Rounded(published * bytes, 0);
        line["delivered_bytes_per_sec"] = Rounded(delivered * bytes, 0);
        line[cpu + "_cpu_sec_per_m_delivered"] = json_number(cpu_per_m);
        line[cpu + "_cpu_sec_per_m_published"] = json_number(cpu_per_m_published);
        line["nproc"] = machine.cpus.size();
        line["server"] = setup->embedded ? "embedded" : "external";
        PrintJsonLine(std::move(line), r.error);
      } else {
        absl::PrintF(
            "run %d: published %.0f events/s, delivered %.0f events/s (%.1f MB/s), %s CPU %.3f "
            "s per M delivered, %.3f per M published%s\n",
            run, published, delivered, delivered * bytes / 1e6, r.server_cpu ? "server" : "process",
            cpu_per_m, cpu_per_m_published,
            r.error.empty() ? "" : absl::StrCat("  FAILED: ", r.error));
      }
    } else if (mode == "replay") {
      const Replay r = RunReplay(*setup, run);
      ok &= r.error.empty();
      const double rate = r.delivered / std::max(r.seconds, 1e-9);
      const double cpu_per_m =
          r.cpu_seconds >= 0 && r.delivered > 0 ? r.cpu_seconds / (r.delivered / 1e6) : -1;
      if (json) {
        const double client_cpu_per_m = r.client_cpu_seconds >= 0 && r.delivered > 0
                                            ? r.client_cpu_seconds / (r.delivered / 1e6)
                                            : -1;
        Json line = CommonJson("replay");
        line["run"] = run;
        line["events"] = r.published;
        line["publish_seconds"] = Rounded(r.publish_seconds, 4);
        line["seconds"] = Rounded(r.seconds, 4);
        line["replayed_events_per_sec"] = Rounded(rate, 0);
        line["replayed_bytes_per_sec"] = Rounded(rate * absl::GetFlag(FLAGS_event_bytes), 0);
        line[absl::StrCat(r.server_cpu ? "server" : "process", "_cpu_sec_per_m_replayed")] =
            cpu_per_m >= 0 ? Rounded(cpu_per_m, 4) : Json();
        line["client_cpu_sec_per_m_replayed"] =
            client_cpu_per_m >= 0 ? Rounded(client_cpu_per_m, 4) : Json();
        line["topic_capacity"] = absl::GetFlag(FLAGS_topic_capacity);
        line["nproc"] = machine.cpus.size();
        line["server"] = setup->embedded ? "embedded" : "external";
        PrintJsonLine(std::move(line), r.error);
      } else {
        absl::PrintF(
            "run %d: %d events published in %.2f s, replayed from EARLIEST to %d reader(s) at "
            "%.0f events/s, %s CPU %.3f s per M replayed%s\n",
            run, r.published, r.publish_seconds, std::max(1, absl::GetFlag(FLAGS_subscribers)),
            rate, r.server_cpu ? "server" : "process", cpu_per_m,
            r.error.empty() ? "" : absl::StrCat("  FAILED: ", r.error));
      }
    } else if (mode == "crowd") {
      const Crowd r = RunCrowd(*setup, run);
      ok &= r.error.empty();
      if (json) {
        Json line = CommonJson("crowd");
        line["run"] = run;
        line["connect_seconds"] = Rounded(r.connect_seconds, 3);
        line["server_rss_bytes_per_subscriber"] = Rounded(r.rss_per_subscriber, 0);
        line["fanout_seconds"] = Rounded(r.fanout_seconds, 4);
        line["delivered"] = r.delivered;
        line["nproc"] = machine.cpus.size();
        line["server"] = setup->embedded ? "embedded" : "external";
        PrintJsonLine(std::move(line), r.error);
      } else {
        absl::PrintF(
            "run %d: %d subscribers registered in %.3f s; %.0f server bytes per idle subscriber; "
            "one batch reached all in %.4f s%s\n",
            run, r.subscribers, r.connect_seconds, r.rss_per_subscriber, r.fanout_seconds,
            r.error.empty() ? "" : absl::StrCat("  FAILED: ", r.error));
      }
    } else {
      const Latency r = RunLatency(*setup, run);
      ok &= r.error.empty();
      const auto us = [&](double q) { return r.recorder.Percentile(q) / 1e3; };
      const auto lag_us = [&](double q) { return r.send_lag.Percentile(q) / 1e3; };
      const auto ack_us = [&](double q) { return r.ack.Percentile(q) / 1e3; };
      if (json) {
        const auto tenth = [](double v) { return Rounded(v, 1); };
        Json line = CommonJson("latency");
        line["run"] = run;
        line["rate"] = Rounded(absl::GetFlag(FLAGS_rate), 0);
        line["achieved_rate"] = Rounded(r.achieved_rate, 0);
        line["events"] = r.events;
        line["samples"] = r.recorder.count();
        AddLatencyFields(line, "", r.recorder);
        line["send_lag_p50_us"] = tenth(lag_us(0.5));
        line["send_lag_p99_us"] = tenth(lag_us(0.99));
        AddLatencyFields(line, "ack_", r.ack);
        line["nproc"] = machine.cpus.size();
        line["server"] = setup->embedded ? "embedded" : "external";
        PrintJsonLine(std::move(line), r.error);
      } else {
        absl::PrintF(
            "run %d: %.0f events/s offered, %d samples: p50 %.1f us, p90 %.1f, p99 %.1f, p99.9 "
            "%.1f, max %.1f (sender late by p50 %.1f us, p99 %.1f); publish -> ack p50 %.1f us, "
            "p99 %.1f%s\n",
            run, absl::GetFlag(FLAGS_rate), r.recorder.count(), us(0.5), us(0.9), us(0.99),
            us(0.999), r.recorder.max() / 1e3, lag_us(0.5), lag_us(0.99), ack_us(0.5), ack_us(0.99),
            r.error.empty() ? "" : absl::StrCat("  FAILED: ", r.error));
      }
    }
    std::fflush(stdout);
  }
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace ringcast::bench

int main(int argc, char** argv) { return ringcast::bench::Main(argc, argv); }
