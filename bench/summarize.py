#!/usr/bin/env python3
"""Turns ringcast-core-bench JSON lines into the Markdown tables of bench/RESULTS.md.

Usage: bench/summarize.py RESULTS.jsonl [...]
Per scenario and implementation: the median of the runs, the min-max spread and the ratio of the
median to ringcast's median in the same run (ping_pong reports latency percentiles instead).
"""
import collections
import json
import statistics
import sys


def main(paths):
    runs = collections.defaultdict(list)
    order = []
    for path in paths:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line.startswith("{"):
                    continue
                r = json.loads(line)
                key = (r["scenario"], r["wait"], r["impl"])
                if key not in runs:
                    order.append(key)
                runs[key].append(r)
    by_scenario = collections.OrderedDict()
    for key in order:
        by_scenario.setdefault(key[:2], []).append(key[2])
    for (scenario, wait), impls in by_scenario.items():
        rs = runs[(scenario, wait, impls[0])]
        print(f"\n#### {scenario} (wait {wait}, {rs[0]['threads']} threads, "
              f"{rs[0]['events']} events, {len(rs)} runs)\n")
        if scenario == "ping_pong":
            print("| impl | p50 ns (min-max) | p99 ns (min-max) | p99.9 ns (min-max) |")
            print("|---|---|---|---|")
            for impl in impls:
                cells = []
                for field in ("p50_ns", "p99_ns", "p999_ns"):
                    v = [r[field] for r in runs[(scenario, wait, impl)]]
                    cells.append(f"{statistics.median(v):.0f} ({min(v):.0f}-{max(v):.0f})")
                print(f"| {impl} | " + " | ".join(cells) + " |")
            continue
        base = statistics.median(r["events_per_sec"] for r in runs[(scenario, wait, "ringcast")]) \
            if (scenario, wait, "ringcast") in runs else None
        print("| impl | M events/s median | min-max | vs ringcast |")
        print("|---|---|---|---|")
        for impl in impls:
            v = [r["events_per_sec"] / 1e6 for r in runs[(scenario, wait, impl)]]
            med = statistics.median(v)
            ratio = f"{med * 1e6 / base:.2f}x" if base else "-"
            print(f"| {impl} | {med:.1f} | {min(v):.1f}-{max(v):.1f} | {ratio} |")


if __name__ == "__main__":
    main(sys.argv[1:])
