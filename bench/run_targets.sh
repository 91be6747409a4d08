#!/usr/bin/env bash
# The performance targets, measured end to end against a real ringcastd started here (its own
# process, so its CPU time is measured apart from the load generator's), with NATS as the peer of
# the fan-out figure in the same run:
#   fan-out   1 publisher, batches of 100 x 64 B, 1 topic, 4 RELIABLE subscribers; each run is
#             followed by the same run against nats-server (when installed), alternating;
#   ingest    the same publisher, no subscribers;
#   cost      server CPU per delivered event at 1 and at 16 subscribers;
#   latency   1 k, 10 k and 100 k events/s open loop, one event per request, 4 subscribers; each
#             run followed by the same run against nats-server (when installed), alternating;
#   crowd     10 000 subscribers on one topic: all served, server memory per idle subscriber;
#   idle      the server's CPU over 10 s with nothing to do.
# JSON lines per run in OUT_DIR (default bench/out/targets). Usage: bench/run_targets.sh [OUT_DIR];
# BIN_DIR overrides build/bin, RUNS the runs per figure (default 5).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench/out/targets}
bin=${BIN_DIR:-build/bin}
runs=${RUNS:-5}
mkdir -p "$out"

# shellcheck source=bench/ringcastd.sh
source bench/ringcastd.sh
start_ringcastd "$bin" "$out/ringcastd.log" --max_ring_capacity=4194304 \
  --max_subscribers_per_topic=20000

bench() { "$bin/ringcast-bench" "$@" --target="127.0.0.1:$port" --server_pid="$server" \
            --format=json; }
nats_server=$(command -v nats-server || ls /usr/sbin/nats-server 2>/dev/null || true)

echo "run_targets: ringcastd pid $server on port $port; $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

: > "$out/fanout.jsonl"
: > "$out/fanout_nats.jsonl"
for _ in $(seq "$runs"); do
  bench throughput --publishers=1 --subscribers=4 --events=10000000 --runs=1 >> "$out/fanout.jsonl"
  if [[ -n "$nats_server" ]]; then
    "$bin/ringcast-nats-bench" --spawn_server --nats_server="$nats_server" --subscribers=4 \
      --event_bytes=64 --batch=100 --events=10000000 --runs=1 --format=json >> "$out/fanout_nats.jsonl"
  fi
done
[[ -n "$nats_server" ]] || echo "run_targets: nats-server not installed: no peer figure (scripts/install-deps.sh --bench)" >&2

bench throughput --publishers=1 --subscribers=0 --events=10000000 --runs="$runs" > "$out/ingest.jsonl"
bench throughput --publishers=1 --subscribers=1 --events=5000000 --runs="$runs" > "$out/cost_1.jsonl"
bench throughput --publishers=1 --subscribers=16 --events=2000000 --runs="$runs" > "$out/cost_16.jsonl"
for rate in 1000 10000 100000; do
  : > "$out/latency_$rate.jsonl"
  : > "$out/latency_nats_$rate.jsonl"
  for _ in $(seq "$runs"); do
    bench latency --rate="$rate" --duration=5s --subscribers=4 --batch=1 --runs=1 \
      >> "$out/latency_$rate.jsonl"
    if [[ -n "$nats_server" ]]; then
      "$bin/ringcast-nats-bench" latency --spawn_server --nats_server="$nats_server" \
        --subscribers=4 --event_bytes=64 --rate="$rate" --duration=5s --runs=1 --format=json \
        >> "$out/latency_nats_$rate.jsonl"
    fi
  done
done
bench crowd --subscribers=10000 --batch=10 --runs=3 > "$out/crowd.jsonl"

# Idle: the server's user + system clock ticks over 10 s with no streams open.
ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
before=$(ticks)
sleep 10
after=$(ticks)
hz=$(getconf CLK_TCK)
echo "{\"mode\":\"idle\",\"seconds\":10,\"cpu_ticks\":$((after - before)),\"clk_tck\":$hz,\"core_share\":$(awk -v t=$((after - before)) -v hz="$hz" 'BEGIN{printf "%.4f", t / hz / 10}')}" > "$out/idle.jsonl"

python3 - "$out" <<'PY'
import json, statistics, sys, pathlib
out = pathlib.Path(sys.argv[1])
def rows(name):
    p = out / name
    return [json.loads(l) for l in p.read_text().splitlines() if l.strip()] if p.exists() else []
def summary(values, fmt):
    values = sorted(values)
    return f"{fmt(statistics.median(values))} ({fmt(values[0])}-{fmt(values[-1])})" if values else "-"
M = lambda v: f"{v / 1e6:.2f} M"
S = lambda v: f"{v:.3f}"
U = lambda v: f"{v:.0f}"
for name, label in [("fanout.jsonl", "ringcast fan-out, 4 subscribers"),
                    ("fanout_nats.jsonl", "nats-server fan-out, 4 subscribers")]:
    r = rows(name)
    if r:
        print(f"{label}: delivered {summary([x['delivered_events_per_sec'] for x in r], M)}/s, "
              f"published {summary([x['published_events_per_sec'] for x in r], M)}/s, server CPU "
              f"{summary([x['server_cpu_sec_per_m_delivered'] for x in r], S)} s per M delivered")
r = rows("ingest.jsonl")
print(f"ingest: {summary([x['published_events_per_sec'] for x in r], M)}/s, server CPU "
      f"{summary([x['server_cpu_sec_per_m_published'] for x in r], S)} s per M published")
for n in (1, 16):
    r = rows(f"cost_{n}.jsonl")
    print(f"{n} subscriber(s): delivered {summary([x['delivered_events_per_sec'] for x in r], M)}/s, "
          f"server CPU {summary([x['server_cpu_sec_per_m_delivered'] for x in r], S)} s per M delivered")
for rate in (1000, 10000, 100000):
    mine, nats = rows(f"latency_{rate}.jsonl"), rows(f"latency_nats_{rate}.jsonl")
    for label, r in (("ringcast", mine), ("nats-server", nats)):
        if r:
            print(f"latency {rate // 1000} k/s, 4 subscribers, {label} (us): " + ", ".join(
                f"{k[:-3]} {summary([x[k] for x in r], U)}"
                for k in ("p50_us", "p90_us", "p99_us", "p999_us", "max_us", "send_lag_p50_us")))
    if mine and nats:
        print(f"latency {rate // 1000} k/s, ringcast / nats-server (medians): " + ", ".join(
            f"{k[:-3]} {statistics.median(x[k] for x in mine) / max(statistics.median(x[k] for x in nats), 1e-9):.2f}x"
            for k in ("p50_us", "p99_us")))
r = rows("crowd.jsonl")
print(f"crowd: {[x.get('subscribers') for x in r]} subscribers, bytes per idle subscriber "
      f"{[round(x['server_rss_bytes_per_subscriber']) for x in r if 'server_rss_bytes_per_subscriber' in x]}, verified "
      f"{[x['verified'] for x in r]}")
print("idle: " + (out / "idle.jsonl").read_text().strip())
PY
