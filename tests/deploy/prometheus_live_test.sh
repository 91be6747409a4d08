#!/usr/bin/env bash
# A real Prometheus, configured from the shipped deploy/prometheus/prometheus.yml (its alert rules
# included, scraping every second), scrapes a real ringcastd while the ringcast tool publishes and
# subscribes. Checks: the published counter reaches Prometheus, the target is up, every alert rule
# evaluates cleanly on the real series, and every dashboard query runs and returns series.
# Usage: prometheus_live_test.sh RINGCASTD RINGCAST DEPLOY_DIR PYTHON
set -euo pipefail
ringcastd=$1
ringcast=$2
deploy=$3
python=$4
here=$(cd "$(dirname "$0")" && pwd)
command -v prometheus >/dev/null || { echo "prometheus is missing (Debian package prometheus)" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

live() { "$python" "$here/prometheus_live.py" "$@"; }

# ringcastd on free ports; its first log line names them.
"$ringcastd" --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 --data_dir="$work/data" 2>"$work/ringcastd.log" &
pids+=($!)
port='' metrics_port=''
for _ in $(seq 100); do
  port=$(grep -o '"port":[0-9]*' "$work/ringcastd.log" | head -1 | cut -d: -f2 || true)
  metrics_port=$(grep -o '"metrics_port":[0-9]*' "$work/ringcastd.log" | head -1 | cut -d: -f2 || true)
  [[ -n "$port" && -n "$metrics_port" ]] && break
  sleep 0.1
done
[[ -n "$port" && -n "$metrics_port" ]] || { echo "ringcastd did not start"; cat "$work/ringcastd.log"; exit 1; }
echo "ringcastd: gRPC $port, metrics $metrics_port"

# Prometheus on a free port with its own storage; a port taken meanwhile means another try.
mkdir -p "$work/prometheus"
live config "$deploy/prometheus/prometheus.yml" "$work/prometheus" "127.0.0.1:$metrics_port"
prometheus_address=''
for _ in 1 2 3; do
  candidate="127.0.0.1:$(live free-port)"
  prometheus --config.file="$work/prometheus/prometheus.yml" --storage.tsdb.path="$work/prometheus/data" \
    --web.listen-address="$candidate" --log.level=warn 2>"$work/prometheus.log" &
  prometheus_pid=$!
  pids+=("$prometheus_pid")
  for _ in $(seq 100); do
    if ! kill -0 "$prometheus_pid" 2>/dev/null; then break; fi
    if live ready "$candidate"; then
      prometheus_address=$candidate
      break
    fi
    sleep 0.2
  done
  [[ -n "$prometheus_address" ]] && break
  kill "$prometheus_pid" 2>/dev/null || true
  wait "$prometheus_pid" 2>/dev/null || true
done
[[ -n "$prometheus_address" ]] || { echo "prometheus did not start"; cat "$work/prometheus.log"; exit 1; }
echo "prometheus: $prometheus_address"

# Traffic for every panel: a topic, a live subscriber, a steady publisher, one rejected batch.
# (The tool runs directly in the background, not through a function, so that $! is its own pid.)
server="--server=127.0.0.1:$port"
"$ringcast" "$server" topics create orders --capacity=1024 >/dev/null
"$ringcast" "$server" subscribe orders >/dev/null 2>"$work/subscribe.log" &
pids+=($!)
"$ringcast" "$server" publish orders --count=100000 --size=64 --rate=200 >/dev/null 2>"$work/publish.log" &
pids+=($!)
if printf 'x\n' | "$ringcast" "$server" publish 'bad name' >/dev/null 2>&1; then
  echo "a batch for an invalid topic name was accepted"; exit 1
fi

live wait-positive "$prometheus_address" 'ringcast_events_published_total' 30
live wait-positive "$prometheus_address" 'up{job="ringcast"}' 10
live wait-positive "$prometheus_address" 'sum(rate(ringcast_events_delivered_total[15s]))' 20
live rules "$prometheus_address" 20
live dashboard "$prometheus_address" "$deploy/grafana/ringcast.json"
echo "all checks passed"
