#!/usr/bin/env bash
# Compares two ringcast-core-bench binaries (say, before and after a change) fairly on a busy or
# small machine: runs them ALTERNATELY, one run at a time, ROUNDS times, so that load from other
# work falls on both alike, and prints each (binary, scenario, impl)'s median, min and max.
#
#   bench/core/alternate.sh OLD_BINARY NEW_BINARY ROUNDS [ringcast-core-bench flags...]
#   bench/core/alternate.sh /tmp/old/ringcast-core-bench build/bin/ringcast-core-bench 15 \
#       --scenario=one_to_one,three_to_one --impl=ringcast,ringcast_sharded
#
# The JSON lines of every run go to ${OUT:-alternate.jsonl}.
set -euo pipefail
if [[ $# -lt 3 ]]; then
  sed -n '2,10p' "$0"
  exit 2
fi
old=$1 new=$2 rounds=$3
shift 3
out=${OUT:-alternate.jsonl}
: > "$out"
for ((round = 1; round <= rounds; ++round)); do
  # Which binary goes first alternates too, so neither always runs on a warmer machine.
  if ((round % 2)); then order=("old:$old" "new:$new"); else order=("new:$new" "old:$old"); fi
  for entry in "${order[@]}"; do
    label=${entry%%:*} binary=${entry#*:}
    "$binary" --runs=1 --format=json "$@" | sed "s/^{/{\"binary\":\"$label\",\"round\":$round,/" >> "$out"
  done
done
python3 - "$out" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    rows.setdefault((r["scenario"], r["impl"], r["wait"], r["binary"]), []).append(r["events_per_sec"] / 1e6)
print(f"{'scenario':<20} {'impl':<26} {'wait':<10} {'bin':<4} {'runs':>4} {'median':>8} {'min':>8} {'max':>8}  (M events/s)")
for (scenario, impl, wait, binary), v in sorted(rows.items()):
    print(f"{scenario:<20} {impl:<26} {wait:<10} {binary:<4} {len(v):>4} {statistics.median(v):>8.1f} {min(v):>8.1f} {max(v):>8.1f}")
PY
