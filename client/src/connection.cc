#include "ringcast/client/connection.h"

#include <fstream>
#include <future>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/client_interceptor.h"
#include "ringcast/grpc_status.h"

namespace ringcast::client {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& path, const char* what) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return absl::InvalidArgumentError(absl::StrCat("cannot read ", what, " ", path));
  std::string contents((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (contents.find("-----BEGIN") == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(what, " ", path, " is not PEM"));
  }
  return contents;
}

// Adds the bearer token to every call's initial metadata, over TLS or plaintext alike (gRPC's call
// credentials would refuse a plaintext channel, where a development server may still check tokens).
class BearerToken final : public grpc::experimental::Interceptor {
 public:
  explicit BearerToken(const std::string& header) : header_(header) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace("authorization", header_);
    }
    methods->Proceed();
  }

 private:
  const std::string& header_;  // owned by the factory, which the channel keeps alive
};

class BearerTokenFactory final : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerTokenFactory(std::string token) : header_(absl::StrCat("Bearer ", token)) {}

  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* /*info*/) override {
    return new BearerToken(header_);
  }

 private:
  const std::string header_;
};

// A header value: printable ASCII, no leading or trailing space.
bool IsHeaderValue(const std::string& token) {
  if (token.empty() || token.front() == ' ' || token.back() == ' ') return false;
  for (const char c : token) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

std::shared_ptr<grpc::Channel> CreateChannel(
    const ConnectionOptions& options, const std::shared_ptr<grpc::ChannelCredentials>& credentials,
    const grpc::ChannelArguments& args) {
  if (options.token.empty()) return grpc::CreateCustomChannel(options.target, credentials, args);
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<BearerTokenFactory>(options.token));
  return grpc::experimental::CreateCustomChannelWithInterceptors(options.target, credentials, args,
                                                                 std::move(interceptors));
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(const ConnectionOptions& options) {
  if (options.target.empty()) return absl::InvalidArgumentError("no server address");
  if (!options.token.empty() && !IsHeaderValue(options.token)) {
    return absl::InvalidArgumentError(
        "the token must be printable ASCII without leading or trailing spaces");
  }
  grpc::ChannelArguments args;
  // Long-lived streams: keep the connection checked while idle.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
  // Events may be as large as the server allows; let responses carry them.
  args.SetMaxReceiveMessageSize(-1);
  if (!options.tls) {
    if (!options.tls_ca_file.empty() || !options.tls_cert_file.empty() ||
        !options.tls_key_file.empty()) {
      return absl::InvalidArgumentError("TLS files were given but TLS is off");
    }
    return CreateChannel(options, grpc::InsecureChannelCredentials(), args);
  }
  grpc::SslCredentialsOptions ssl;
  if (!options.tls_ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadPem(options.tls_ca_file, "CA certificate");
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *std::move(ca);
  }
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "a client certificate needs its key, and a key its certificate");
  }
  if (!options.tls_cert_file.empty()) {
    absl::StatusOr<std::string> cert = ReadPem(options.tls_cert_file, "client certificate");
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadPem(options.tls_key_file, "client key");
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *std::move(cert);
    ssl.pem_private_key = *std::move(key);
  }
  if (!options.tls_server_name.empty()) {
    args.SetSslTargetNameOverride(options.tls_server_name);
  }
  return CreateChannel(options, grpc::SslCredentials(ssl), args);
}

absl::StatusOr<bool> CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                 absl::Duration deadline) {
  // Debian's gRPC ships no generated health stub: the messages are small enough to write by hand.
  // HealthCheckRequest{service: ""} is empty; HealthCheckResponse{status} is tag 0x08, the enum.
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  const grpc::Slice nothing;
  const grpc::ByteBuffer request(&nothing, 1);  // a buffer without slices is no message at all
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status status) { done.set_value(std::move(status)); });
  const grpc::Status status = done.get_future().get();
  if (!status.ok()) return FromGrpcStatus(status);
  grpc::Slice bytes;
  if (!response.DumpToSingleSlice(&bytes).ok()) return absl::InternalError("unreadable answer");
  const std::string answer(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
  if (answer.size() == 2 && answer[0] == 0x08) return answer[1] == 1;  // 1 SERVING, 2 NOT_SERVING
  if (answer.empty()) return false;                                    // UNKNOWN
  return absl::InternalError("the health answer is not a grpc.health.v1.HealthCheckResponse");
}

}  // namespace ringcast::client
