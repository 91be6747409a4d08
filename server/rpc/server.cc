#include "ringcast/server/server.h"

#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/resource_quota.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "observability/log.h"
#include "observability/metrics.h"
#include "rpc/publish_reactor.h"
#include "rpc/server_state.h"
#include "rpc/services.h"

namespace ringcast::server {

class ServerImpl {
 public:
  explicit ServerImpl(ServerOptions options)
      : state_(std::move(options)), events_(state_), topics_(state_) {}

  absl::Status Start() {
    const ServerOptions& o = state_.options;
    // Every durable topic is back, its journal recovered, before anything is served.
    absl::StatusOr<std::unique_ptr<CallAuth>> auth = CallAuth::Create(o.auth_file);
    if (!auth.ok()) return absl::InvalidArgumentError(auth.status().message());
    state_.auth = *std::move(auth);
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials = Credentials();
    if (!credentials.ok()) return credentials.status();
    if (absl::Status s = state_.topics.OpenDataDirectory(); !s.ok()) return s;
    if (absl::Status s = StartMetrics(); !s.ok()) return s;
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    grpc::ServerBuilder builder;
    builder.AddListeningPort(o.listen, *credentials, &port_);
    builder.RegisterService(&events_);
    builder.RegisterService(&topics_);
    builder.SetMaxReceiveMessageSize(o.MaxReceiveMessageBytes());
    // gRPC 1.51 buffers an incoming message in full before it checks the size above, and grants
    // flow-control window for whatever length the message's prefix declares (up to 4 GiB). The
    // quota is what bounds that: once the transport's buffers reach it, gRPC resets streams
    // (RST_STREAM ENHANCE_YOUR_CALM: the client sees RESOURCE_EXHAUSTED) and frees their memory.
    // No channel argument does it earlier (measured: max_concurrent_streams, lookahead_bytes,
    // bdp_probe, max_frame_size and the TCP read chunk sizes all let 512 MiB in). It caps what all
    // connections have in flight together, so honest streams are reset too when together they pass
    // it (four streams of 32 unanswered 1 MiB batches against 128 MiB). The builder and the server
    // hold their own references to the quota.
    grpc::ResourceQuota quota("ringcast.transport");
    quota.Resize(static_cast<size_t>(o.TransportMemoryBytes()));
    builder.SetResourceQuota(quota);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, Millis(o.keepalive_time));
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, Millis(o.keepalive_timeout));
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                               Millis(o.keepalive_min_ping_interval));
    server_ = builder.BuildAndStart();
    if (server_ == nullptr || port_ == 0) {
      return absl::UnavailableError(absl::StrCat("cannot listen on ", o.listen));
    }
    server_->GetHealthCheckService()->SetServingStatus(true);
    // Before "ringcastd serving": whoever waits for that line has seen this one.
    if (!o.tls() || !state_.auth->enabled()) {
      Log(LogLevel::kWarning,
          "ringcastd is not secured: anyone who reaches the port can publish, read and delete "
          "topics",
          {{"tls", o.tls()},
           {"auth_file", !o.auth_file.empty()},
           {"fix",
            "--tls_cert, --tls_key, --tls_client_ca and --auth_file (docs/operations.md, "
            "Security)"}});
    }
    Log(LogLevel::kInfo, "ringcastd serving",
        {{"listen", o.listen},
         {"port", port_},
         {"fanout_threads", o.fanout_threads},
         {"wait_strategy", FanoutWaitStrategyName(o.wait_strategy)},
         {"default_ring_capacity", o.default_ring_capacity},
         {"auto_create_topics", o.auto_create_topics},
         {"data_dir", o.data_dir},
         {"journal_sync", o.data_dir.empty() ? "off" : storage::SyncModeName(o.journal_sync)},
         {"metrics_listen", o.metrics_listen},
         {"metrics_port", metrics_port()},
         {"tls", !o.tls()                       ? "off"
                 : o.tls_client_ca_file.empty() ? "on"
                                                : "mtls"},
         {"auth_file", o.auth_file}});
    return absl::OkStatus();
  }

  absl::Status ReloadAuth() { return state_.auth->Reload(); }

  int port() const { return port_; }

  int metrics_port() const { return metrics_ == nullptr ? 0 : metrics_->port(); }

  void Shutdown() {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (shutdown_started_) {
        cv_.wait(lock, [&] { return shutdown_done_; });
        return;
      }
      shutdown_started_ = true;
    }
    const absl::Time deadline = absl::Now() + state_.options.shutdown_timeout;
    Log(LogLevel::kInfo, "shutdown started",
        {{"timeout", absl::FormatDuration(state_.options.shutdown_timeout)},
         {"publish_streams", static_cast<uint64_t>(state_.publish_streams.count())},
         {"subscriptions", static_cast<uint64_t>(state_.subscriptions.count())}});
    server_->GetHealthCheckService()->SetServingStatus(false);
    state_.shutting_down_flag.store(true, std::memory_order_release);  // see shutting_down()
    {
      std::lock_guard<std::mutex> lock(state_.publishers_mu);
      for (PublishReactor* publisher : state_.publishers) publisher->BeginShutdown();
    }
    const bool publishes_done = state_.publish_streams.WaitForZero(deadline);
    // Publishing has stopped: every subscriber can now be sent everything there is.
    state_.topics.BeginDrainAll();
    const bool drained = state_.subscriptions.WaitForZero(deadline);
    // Cancels whatever is left once the deadline passes.
    server_->Shutdown(absl::ToChronoTime(deadline));
    server_->Wait();
    state_.topics.StopStages();
    Log(LogLevel::kInfo, "shutdown complete",
        {{"publishes_finished", publishes_done}, {"subscribers_drained", drained}});
    {
      std::lock_guard<std::mutex> lock(mu_);
      shutdown_done_ = true;
    }
    cv_.notify_all();
  }

  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return shutdown_done_; });
  }

 private:
  // Serves /metrics on --metrics_listen, unless it is empty.
  // Plaintext, or TLS from files that gRPC watches and reloads when they change (new connections
  // get the new certificate; established ones keep theirs).
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials() const {
    const ServerOptions& o = state_.options;
    if (!o.tls()) return grpc::InsecureServerCredentials();
    for (const std::string* file : {&o.tls_cert_file, &o.tls_key_file, &o.tls_client_ca_file}) {
      if (!file->empty() && access(file->c_str(), R_OK) != 0) {
        return absl::InvalidArgumentError(absl::StrCat("cannot read ", *file));
      }
    }
    auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        o.tls_key_file, o.tls_cert_file, o.tls_client_ca_file,
        static_cast<unsigned int>(absl::ToInt64Seconds(o.tls_reload_interval)));
    grpc::experimental::TlsServerCredentialsOptions tls(provider);
    tls.watch_identity_key_cert_pairs();
    if (o.tls_client_ca_file.empty()) {
      tls.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    } else {
      tls.watch_root_certs();
      tls.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    }
    std::shared_ptr<grpc::ServerCredentials> credentials =
        grpc::experimental::TlsServerCredentials(tls);
    if (credentials == nullptr) return absl::InvalidArgumentError("TLS credentials refused");
    return credentials;
  }

  absl::Status StartMetrics() {
    if (state_.options.metrics_listen.empty()) return absl::OkStatus();
    absl::StatusOr<std::unique_ptr<MetricsEndpoint>> metrics = MetricsEndpoint::Start(
        state_.options.metrics_listen,
        MetricsSources{
            .topics = state_.topics,
            .publish_streams = state_.publish_streams,
            .rejected_without_topic = state_.rejected_without_topic,
            .publish_latency = state_.publish_latency.get(),
            .transport_memory_bytes = state_.options.TransportMemoryBytes(),
            .authentication_failures = [this] { return state_.auth->authentication_failures(); },
            .denials = [this] { return state_.auth->denials(); }});
    if (!metrics.ok()) return metrics.status();
    metrics_ = *std::move(metrics);
    return absl::OkStatus();
  }

  static int Millis(absl::Duration d) {
    return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(d), INT32_MAX));
  }

  ServerState state_;
  EventServiceImpl events_;
  TopicServiceImpl topics_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  // Declared after state_, so it stops serving before what it reads is destroyed.
  std::unique_ptr<MetricsEndpoint> metrics_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool shutdown_started_ = false;  // guarded by mu_
  bool shutdown_done_ = false;     // guarded by mu_
};

absl::StatusOr<std::unique_ptr<Server>> Server::Start(ServerOptions options) {
  if (absl::Status s = ValidateOptions(options); !s.ok()) return s;
  auto impl = std::make_unique<ServerImpl>(std::move(options));
  if (absl::Status s = impl->Start(); !s.ok()) return s;
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<ServerImpl> impl) : impl_(std::move(impl)) {}

Server::~Server() { impl_->Shutdown(); }

int Server::port() const { return impl_->port(); }
int Server::metrics_port() const { return impl_->metrics_port(); }

void Server::Shutdown() { impl_->Shutdown(); }

void Server::Wait() { impl_->Wait(); }

absl::Status Server::ReloadAuth() { return impl_->ReloadAuth(); }

}  // namespace ringcast::server
