#!/usr/bin/env bash
# The standard end-to-end suite: a real ringcastd started here (its own process, so its CPU time is
# measured apart from the load generator's), ringcast-bench against it, JSON lines per run and PNG
# plots of the medians:
#   delivered events/s vs subscribers (1, 4, 16, 64), vs topics (1, 10, 100, 1000), vs event size
#   (16 B .. 64 KiB), and latency percentiles vs offered rate.
# Usage: bench/run_suite.sh [OUT_DIR] (default bench/out/suite); BIN_DIR overrides build/bin, RUNS
# the runs per point (default 3), QUICK=1 shrinks every run (a check that the suite works).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench/out/suite}
bin=${BIN_DIR:-build/bin}
runs=${RUNS:-3}
quick=${QUICK:-0}
mkdir -p "$out"
command -v gnuplot >/dev/null || { echo "run_suite: gnuplot is missing (scripts/install-deps.sh --bench)" >&2; exit 1; }

# shellcheck source=bench/ringcastd.sh
source bench/ringcastd.sh
start_ringcastd "$bin" "$out/ringcastd.log" --max_topics=2000 --max_ring_capacity=4194304 \
  --max_subscribers_per_topic=256

scale() { if [[ $quick == 1 ]]; then echo $(( $1 / 50 > 1000 ? $1 / 50 : 1000 )); else echo "$1"; fi; }
bench() { "$bin/ringcast-bench" "$@" --target="127.0.0.1:$port" --server_pid="$server" \
            --runs="$runs" --format=json; }

echo "run_suite: ringcastd pid $server on port $port; $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

: > "$out/subscribers.jsonl"
for s in 1 4 16 64; do
  bench throughput --subscribers="$s" --events="$(scale 4000000)" --batch=100 >> "$out/subscribers.jsonl"
done

: > "$out/topics.jsonl"
for t in 1 10 100 1000; do
  capacity=$(( t >= 100 ? 8192 : 65536 ))
  bench throughput --topics="$t" --subscribers=1 --topic_capacity="$capacity" \
    --events="$(scale 4000000)" --batch=100 --publishers=2 >> "$out/topics.jsonl"
done

: > "$out/event_size.jsonl"
for size in 16 64 256 1024 4096 16384 65536; do
  batch=$(( 1048576 / size < 100 ? 1048576 / size : 100 ))
  events=$(( 1073741824 / size < 4000000 ? 1073741824 / size : 4000000 ))  # at most 1 GiB a run
  bench throughput --subscribers=4 --event_bytes="$size" --batch="$batch" \
    --events="$(scale "$events")" >> "$out/event_size.jsonl"
done

: > "$out/latency.jsonl"
duration=$([[ $quick == 1 ]] && echo 1s || echo 10s)
for rate in 1000 10000 50000 100000 200000; do
  batch=$(( rate >= 50000 ? 10 : 1 ))
  bench latency --rate="$rate" --duration="$duration" --subscribers=4 --batch="$batch" \
    >> "$out/latency.jsonl"
done

python3 bench/suite_plots.py "$out"
echo "run_suite: results and plots in $out"
