#!/usr/bin/env bash
# Durable ringcast topics against NATS JetStream, in one run: three rounds, each alternating
#   always     ringcastd --data_dir --journal_sync=always   (an ack means fdatasync'd)
#   interval   ringcastd --data_dir --journal_sync=interval (written to the OS, synced every 100 ms)
#   jetstream  nats-server -js, a file-storage stream, its defaults (no sync per message)
# each for ingest (64 B events; ringcast in batches of 100, JetStream by async publish with 4096
# acks pending) and for publish -> ack latency (10 k/s for 10 s; ringcast one event per request,
# JetStream synchronous publish one at a time). A fresh server and data directory for every run.
# Raw JSON lines, each prefixed by "<server> <figure>", to durable_vs_jetstream.txt next to this
# script (OUT=dir to write elsewhere).
#
#   BIN_DIR=build/bin bench/results/durability/durable_vs_jetstream.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
bin_dir=${BIN_DIR:-build/bin}
out=${OUT:-bench/results/durability}
work=${WORK:-/tmp/ringcast-durable-vs-jetstream}
rounds=${ROUNDS:-3}
events=${EVENTS:-5000000}        # ringcast ingest
js_events=${JS_EVENTS:-$events}  # JetStream ingest (about 50 s per run for 5 M on 2 cores)
raw=$out/durable_vs_jetstream.txt
mkdir -p "$out" "$work"
: >"$raw"
echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD) nproc=$(nproc) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" >>"$raw"

ringcast() {  # ringcast SYNC FIGURE: one run against a fresh ringcastd and data directory
  local sync=$1 figure=$2
  rm -rf "$work/data"
  (
    # shellcheck source=bench/ringcastd.sh
    source bench/ringcastd.sh
    start_ringcastd "$bin_dir" "$work/ringcastd.log" --max_ring_capacity=4194304 \
      --data_dir="$work/data" --journal_sync="$sync"
    b() { "$bin_dir/ringcast-bench" "$@" --target="127.0.0.1:$port" --server_pid="$server" --format=json; }
    if [[ $figure == ingest ]]; then
      b throughput --publishers=1 --subscribers=0 --events="$events" --batch=100 --event_bytes=64
    else
      b latency --rate=10000 --duration=10s --subscribers=0 --batch=1 --event_bytes=64
    fi | sed "s/^/$sync $figure /" >>"$raw"
  )
  rm -rf "$work/data"
}

jetstream() {  # jetstream FIGURE: one run against a fresh nats-server and store directory
  local figure=$1
  local flags=(--spawn_server --store_parent="$work" --event_bytes=64)
  if [[ $figure == ingest ]]; then
    "$bin_dir/ringcast-jetstream-bench" ingest "${flags[@]}" --events="$js_events" --max_pending=4096
  else
    "$bin_dir/ringcast-jetstream-bench" latency "${flags[@]}" --rate=10000 --duration=10s
  fi | sed "s/^/jetstream $figure /" >>"$raw"
}

for round in $(seq "$rounds"); do
  for figure in ingest latency; do
    ringcast always "$figure"
    ringcast interval "$figure"
    jetstream "$figure"
  done
  echo "round $round done" >&2
done
echo "# done $(date -u +%FT%TZ)" >>"$raw"
