#!/usr/bin/env bash
# Which sync system calls each durable server makes while it acknowledges writes: the server runs
# under `strace -f -c` (every thread, a count per system call) for one ingest run and one 10 s
# latency run of durable_vs_jetstream.sh's workloads, then stops, and strace's counts go to
# jetstream_syncs.txt next to this script (OUT=dir to write elsewhere). strace slows the server
# down: only the counts are figures here, not the rates.
#
#   BIN_DIR=build/bin bench/results/durability/jetstream_syncs.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
bin_dir=${BIN_DIR:-build/bin}
out=${OUT:-bench/results/durability}
work=${WORK:-/tmp/ringcast-jetstream-syncs}
events=${EVENTS:-1000000}
calls=fsync,fdatasync,sync_file_range,syncfs,sync,msync,write,pwrite64,writev,pwritev,pwritev2
report=$out/jetstream_syncs.txt
mkdir -p "$out"
rm -rf "$work" && mkdir -p "$work"
: >"$report"

note() { echo "$*" | tee -a "$report" >&2; }

# Waits until something listens on 127.0.0.1:$1.
wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2
  return 1
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# JetStream: nats-server with its defaults, under strace.
port=$(free_port)
strace -f -c --seccomp-bpf -e trace="$calls" -o "$work/nats.strace" \
  nats-server -a 127.0.0.1 -p "$port" -js -sd "$work/js" >"$work/nats.log" 2>&1 &
tracer=$!
wait_port "$port"
nats_pid=$(pgrep -P "$tracer" nats-server)
url=nats://127.0.0.1:$port
"$bin_dir/ringcast-jetstream-bench" ingest --nats_url="$url" --server_pid="$nats_pid" \
  --events="$events" --max_pending=4096 | sed 's/^/jetstream ingest /' >>"$report"
"$bin_dir/ringcast-jetstream-bench" latency --nats_url="$url" --server_pid="$nats_pid" \
  --rate=10000 --duration=10s | sed 's/^/jetstream latency /' >>"$report"
kill -TERM "$nats_pid"
wait "$tracer" || true
note "== nats-server $(nats-server -v 2>&1 | head -1), -js, defaults: system calls during both runs and shutdown"
cat "$work/nats.strace" >>"$report"

# JetStream again, tracing only the sync calls (each with its time, the server otherwise at full
# speed: seccomp lets every other call through untraced), to place them against the runs.
port=$(free_port)
strace -f -tt --seccomp-bpf -e trace=fsync,fdatasync,sync_file_range,syncfs,sync,msync \
  -e signal=none -o "$work/nats-syncs.strace" \
  nats-server -a 127.0.0.1 -p "$port" -js -sd "$work/js2" >"$work/nats2.log" 2>&1 &
tracer=$!
wait_port "$port"
nats_pid=$(pgrep -P "$tracer" nats-server)
url=nats://127.0.0.1:$port
{
  echo "$(date +%T.%N) ingest starts"
  "$bin_dir/ringcast-jetstream-bench" ingest --nats_url="$url" --server_pid="$nats_pid" \
    --events="$events" --max_pending=4096 | sed 's/^/jetstream ingest /'
  echo "$(date +%T.%N) latency starts"
  "$bin_dir/ringcast-jetstream-bench" latency --nats_url="$url" --server_pid="$nats_pid" \
    --rate=10000 --duration=10s | sed 's/^/jetstream latency /'
  echo "$(date +%T.%N) runs done, stopping nats-server"
} >"$work/nats2.timeline"
kill -TERM "$nats_pid"
wait "$tracer" || true
note "== nats-server, -js, defaults, again: every sync call, timed, against the runs"
cat "$work/nats2.timeline" "$work/nats-syncs.strace" >>"$report"

# ringcastd under each journal sync mode, the same two runs.
for sync in always interval; do
  rm -rf "$work/data"
  strace -f -c --seccomp-bpf -e trace="$calls" -o "$work/ringcastd-$sync.strace" \
    "$bin_dir/ringcastd" --listen=127.0.0.1:0 --metrics_listen= --max_ring_capacity=4194304 \
    --data_dir="$work/data" --journal_sync="$sync" 2>"$work/ringcastd-$sync.log" &
  tracer=$!
  port=""
  for _ in $(seq 100); do
    port=$(grep -o '"port":[0-9]*' "$work/ringcastd-$sync.log" | head -1 | cut -d: -f2 || true)
    [[ -n "$port" ]] && break
    sleep 0.1
  done
  server=$(pgrep -P "$tracer" ringcastd)
  b() { "$bin_dir/ringcast-bench" "$@" --target="127.0.0.1:$port" --server_pid="$server" --format=json; }
  b throughput --publishers=1 --subscribers=0 --events="$events" --batch=100 --event_bytes=64 |
    sed "s/^/$sync ingest /" >>"$report"
  b latency --rate=10000 --duration=10s --subscribers=0 --batch=1 --event_bytes=64 |
    sed "s/^/$sync latency /" >>"$report"
  kill -TERM "$server"
  wait "$tracer" || true
  note "== ringcastd --journal_sync=$sync: system calls during both runs and shutdown"
  cat "$work/ringcastd-$sync.strace" >>"$report"
done
rm -rf "$work"
