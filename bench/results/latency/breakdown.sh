#!/usr/bin/env bash
# Where one event's latency goes: a latency run (1 -> 4, one 64 B event per request) against a
# fresh memory-only ringcastd with metrics on, its /metrics scraped just before the run ends (the
# bench deletes its topic, and the topic's series with it), the server's own histograms set beside
# the client's end-to-end figures:
#   ringcast_publish_latency_seconds   request read -> its acknowledgement handed to gRPC
#   ringcast_delivery_latency_seconds  event accepted -> the write carrying it handed to gRPC
# Quantiles interpolated within the histograms' buckets. Output: breakdown.txt next to this script.
#
#   BIN_DIR=build/bin bench/results/latency/breakdown.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
bin_dir=${BIN_DIR:-build/bin}
out=${OUT:-bench/results/latency}
metrics_port=${METRICS_PORT:-9479}
work=$(mktemp -d /tmp/ringcast-breakdown.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD) nproc=$(nproc) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" >"$out/breakdown.txt"
for rate in ${RATES:-1000 10000}; do
  (
    # shellcheck source=bench/ringcastd.sh
    source bench/ringcastd.sh
    start_ringcastd "$bin_dir" "$work/ringcastd.log" --metrics_listen="127.0.0.1:$metrics_port"
    (sleep 7.8 && curl -s "http://127.0.0.1:$metrics_port/metrics" >"$work/metrics.txt") &
    scrape=$!
    # shellcheck disable=SC2154  # port and server are set by start_ringcastd
    "$bin_dir/ringcast-bench" latency --target="127.0.0.1:$port" --server_pid="$server" \
      --rate="$rate" --duration=8s --subscribers=4 --batch=1 --format=json | grep '^{' >"$work/client.json"
    wait "$scrape"
  )
  python3 - "$rate" "$work/client.json" "$work/metrics.txt" >>"$out/breakdown.txt" <<'PY'
import json, re, sys
rate, client, metrics = sys.argv[1], sys.argv[2], sys.argv[3]
d = json.loads(open(client).read().splitlines()[-1])
def quantile(name, q):
    buckets = {}
    for line in open(metrics):
        if line.startswith(name + "_bucket"):
            le = re.search(r'le="([^"]+)"', line).group(1)
            bound = float("inf") if le == "+Inf" else float(le)
            buckets[bound] = buckets.get(bound, 0) + float(line.split()[-1])
    items = sorted(buckets.items())
    if not items or items[-1][1] == 0:
        return float("nan")
    target, previous_bound, previous = q * items[-1][1], 0.0, 0.0
    for bound, count in items:
        if count >= target:
            if bound == float("inf"):
                return previous_bound * 1e6
            return (previous_bound + (bound - previous_bound) * (target - previous) / max(count - previous, 1e-9)) * 1e6
        previous_bound, previous = bound, count
print(f"rate {rate}/s: client end to end p50 {d['p50_us']} us, p99 {d['p99_us']}; publish -> ack p50 "
      f"{d['ack_p50_us']}, p99 {d['ack_p99_us']}; sender late by p50 {d['send_lag_p50_us']}")
for name in ("ringcast_publish_latency_seconds", "ringcast_delivery_latency_seconds"):
    print(f"  {name}: p50 {quantile(name, 0.5):.1f} us, p90 {quantile(name, 0.9):.1f}, "
          f"p99 {quantile(name, 0.99):.1f}")
PY
done
cat "$out/breakdown.txt"
