#!/usr/bin/env bash
# Latency against NATS in the same run: 1 publisher -> 4 subscribers, one 64 B event per request,
# open loop at each rate, ringcast (a fresh memory-only ringcastd per run) and nats-server 2.9.10
# through libnats (a fresh server per run) alternating, RUNS rounds (default 3), 5 s per run.
# Raw JSON lines, each prefixed by "<system> <rate>", to vs_nats.txt next to this script (OUT=dir
# to write elsewhere).
#
#   BIN_DIR=build/bin bench/results/latency/vs_nats.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
bin_dir=${BIN_DIR:-build/bin}
out=${OUT:-bench/results/latency}
rounds=${RUNS:-3}
raw=$out/vs_nats.txt
mkdir -p "$out"
echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD) nproc=$(nproc) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" >"$raw"
for rate in ${RATES:-1000 10000}; do
  for _ in $(seq "$rounds"); do
    (
      # shellcheck source=bench/ringcastd.sh
      source bench/ringcastd.sh
      start_ringcastd "$bin_dir" "$out/vs_nats_ringcastd.log"
      # shellcheck disable=SC2154  # port and server are set by start_ringcastd
      "$bin_dir/ringcast-bench" latency --target="127.0.0.1:$port" --server_pid="$server" \
        --rate="$rate" --duration=5s --subscribers=4 --batch=1 --event_bytes=64 --format=json |
        sed "s/^/ringcast $rate /" >>"$raw"
    )
    "$bin_dir/ringcast-nats-bench" latency --spawn_server --rate="$rate" --duration=5s \
      --subscribers=4 --event_bytes=64 --format=json | grep '^{' | sed "s/^/nats $rate /" >>"$raw"
  done
done
rm -f "$out/vs_nats_ringcastd.log"
echo "# done $(date -u +%FT%TZ)" >>"$raw"
