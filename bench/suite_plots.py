#!/usr/bin/env python3
"""Medians of the suite's JSON lines, as tables on stdout and PNG plots (gnuplot) in the folder.

Usage: bench/suite_plots.py OUT_DIR  (reads subscribers/topics/event_size/latency.jsonl there)
A point whose runs were not all verified is left out of the plots and marked in the table.
"""
import json
import os
import statistics
import subprocess
import sys


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def by_point(rows, key):
    points = {}
    for row in rows:
        points.setdefault(row[key], []).append(row)
    return sorted(points.items())


def throughput(out, name, key, label, logx):
    rows = load(os.path.join(out, name + ".jsonl"))
    dat = os.path.join(out, name + ".dat")
    print(f"\n{name}: delivered events/s (median, min-max) vs {label}")
    with open(dat, "w") as f:
        for x, runs in by_point(rows, key):
            ok = all(r["verified"] for r in runs)
            rates = [r["delivered_events_per_sec"] for r in runs]
            cpu = [r.get("server_cpu_sec_per_m_delivered") for r in runs]
            cpu = [c for c in cpu if c is not None]
            med = statistics.median(rates)
            cpu_text = f", server CPU {statistics.median(cpu):.3f} s per M delivered" if cpu else ""
            print(f"  {x:>7}: {med / 1e6:8.2f} M/s ({min(rates) / 1e6:.2f}-{max(rates) / 1e6:.2f})"
                  f"{cpu_text}{'' if ok else '  UNVERIFIED'}")
            if ok:
                f.write(f"{x} {med} {min(rates)} {max(rates)}\n")
    plot(out, name, dat, label, "delivered events/s", logx,
         "using 1:2:3:4 with yerrorlines title 'median (min-max)'")


def latency(out):
    rows = load(os.path.join(out, "latency.jsonl"))
    dat = os.path.join(out, "latency.dat")
    print("\nlatency: percentiles (us, median of runs) vs offered rate")
    with open(dat, "w") as f:
        for rate, runs in by_point(rows, "rate"):
            ok = all(r["verified"] for r in runs)
            p = {k: statistics.median(r[k] for r in runs)
                 for k in ("p50_us", "p90_us", "p99_us", "p999_us", "max_us")}
            print(f"  {rate:>8.0f}/s: p50 {p['p50_us']:.1f}  p90 {p['p90_us']:.1f}  "
                  f"p99 {p['p99_us']:.1f}  p99.9 {p['p999_us']:.1f}  max {p['max_us']:.1f}"
                  f"{'' if ok else '  UNVERIFIED'}")
            if ok:
                f.write(f"{rate} {p['p50_us']} {p['p90_us']} {p['p99_us']} {p['p999_us']}\n")
    plot(out, "latency", dat, "offered events/s", "latency (us)", True,
         "using 1:2 with linespoints title 'p50', '' using 1:3 with linespoints title 'p90', "
         "'' using 1:4 with linespoints title 'p99', '' using 1:5 with linespoints title 'p99.9'",
         logy=True)


def plot(out, name, dat, xlabel, ylabel, logx, using, logy=False):
    script = "\n".join([
        "set terminal pngcairo size 900,540" if has_cairo() else "set terminal png size 900,540",
        f"set output '{os.path.join(out, name + '.png')}'",
        f"set title 'ringcast: {name.replace('_', ' ')}'",
        f"set xlabel '{xlabel}'", f"set ylabel '{ylabel}'", "set grid", "set key left top",
        "set logscale x" if logx else "", "set logscale y" if logy else "",
        f"plot '{dat}' {using}",
    ])
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def has_cairo():
    terms = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True)
    return "pngcairo" in terms.stdout + terms.stderr


def main(out):
    throughput(out, "subscribers", "subscribers", "subscribers per topic", True)
    throughput(out, "topics", "topics", "topics", True)
    throughput(out, "event_size", "event_bytes", "event size (bytes)", True)
    latency(out)


if __name__ == "__main__":
    main(sys.argv[1])
