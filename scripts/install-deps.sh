#!/usr/bin/env bash
# Installs the Debian packages ringcast needs, only those that are missing. Idempotent: a second run
# with everything present does nothing and needs no network. Works as root, uses sudo otherwise.
set -euo pipefail

packages=(
  build-essential cmake make pkg-config
  libabsl-dev
  libisal-dev  # CRC32C (crc32_iscsi) of the journal's records and index files
  # JSON (the auth file, log lines, the tool's and the benchmarks' output), SHA-256 of bearer
  # tokens (libcrypto), and the openssl tool that makes the test certificates
  # (tests/support/make_test_certs.sh)
  nlohmann-json3-dev libssl-dev openssl
  # the ringcast tool's command line (subcommands, flags before or after them)
  libcli11-dev
  # the wire contract: protobuf messages and gRPC services
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  # the /metrics endpoint, and promtool (package prometheus) to check what it serves
  prometheus-cpp-dev prometheus
  # the deployment checks: YAML parsing, shell lint, the systemd sandbox's syscall trace
  python3-yaml shellcheck strace
  libgtest-dev libgmock-dev libbenchmark-dev
  # peers of the core benchmark
  libboost-dev libconcurrentqueue-dev libreaderwriterqueue-dev
  # the Python peer of the interop test: grpcio and protobuf from the .proto alone; grpc-tools
  # generates the Python example's stubs (examples/python)
  python3-grpcio python3-protobuf python3-grpc-tools
  # the raw HTTP/2 client of the oversized-message test (a request no gRPC client would send)
  python3-h2
)
# `install-deps.sh --bench` adds what only the benchmark suite needs: gnuplot for its plots,
# nats-server, the peer of the NATS benchmarks, and libnats-dev, the NATS C client through which
# ringcast-nats-bench (fan-out) and ringcast-jetstream-bench (JetStream) measure it.
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(gnuplot-nox nats-server libnats-dev)
fi

# The Node example (examples/node) needs node and npm; its own packages come from npm at test time.
# A node installed otherwise (with its npm) is used as it is.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
