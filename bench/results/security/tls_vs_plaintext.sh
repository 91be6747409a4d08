#!/usr/bin/env bash
# TLS against plaintext, and the permission check: three servers alternated, a fresh one per run,
# three rounds. plaintext: no TLS, no auth file. mtls: TLS with client certificates required.
# mtls+auth: the same with an auth file; ringcast-bench sends a bearer token on every call and each
# publish batch is checked against the principal's rights (`orders.*`-style pattern and a deny).
# Output: one JSON line per run, prefixed with the configuration and the figure.
set -euo pipefail
cd "$(dirname "$0")/../../.."
bin=${BIN_DIR:-build/bin}
out=${OUT:-bench/results/security/tls_vs_plaintext.txt}
work=$(mktemp -d /tmp/ringcast-tls-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
bash tests/support/make_test_certs.sh "$work/certs"
token=bench-token-7f3a9c1e5d2b8f4a
hash=$(printf '%s' "$token" | sha256sum | cut -d' ' -f1)
cat > "$work/auth.json" <<JSON
{"principals": [{"name": "bench", "tokens_sha256": ["$hash"],
  "allow": {"publish": ["*"], "subscribe": ["*"], "admin": ["*"]},
  "deny": {"publish": ["audit.*"]}}]}
JSON
: > "$out"
tls_server=(--tls_cert="$work/certs/server.pem" --tls_key="$work/certs/server.key"
            --tls_client_ca="$work/certs/ca.pem")
tls_client=(--tls_ca="$work/certs/ca.pem" --tls_cert="$work/certs/client.pem"
            --tls_key="$work/certs/client.key")
for round in 1 2 3; do
  for config in plaintext mtls mtls+auth; do
    server_flags=() client_flags=()
    case $config in
      mtls) server_flags=("${tls_server[@]}") client_flags=("${tls_client[@]}") ;;
      mtls+auth) server_flags=("${tls_server[@]}" --auth_file="$work/auth.json")
                 client_flags=("${tls_client[@]}" --token="$token") ;;
    esac
    (
      # shellcheck source=bench/ringcastd.sh
      source bench/ringcastd.sh
      start_ringcastd "$bin" "$work/server.log" --max_ring_capacity=4194304 "${server_flags[@]}"
      # shellcheck disable=SC2154  # port and server are set by start_ringcastd
      b() { "$bin/ringcast-bench" "$@" --target="localhost:$port" --server_pid="$server" \
              --format=json --runs=1 "${client_flags[@]}"; }
      b throughput --publishers=1 --subscribers=0 --events=5000000 | sed "s/^/$config ingest /"
      b throughput --publishers=1 --subscribers=4 --events=5000000 | sed "s/^/$config fanout /"
      b latency --rate=10000 --duration=5s --subscribers=4 --batch=1 | sed "s/^/$config latency /"
    ) >> "$out"
    echo "round $round $config done" >&2
  done
done
