#!/usr/bin/env bash
# Durable (journal, --journal_sync=always) against memory-only, alternating, fresh server each run.
cd /work/main
out=${OUT:-/tmp/ab/durable}; mkdir -p $out; : > $out/all.txt
for i in 1 2 3; do
  for which in durable memory; do
    rm -rf /tmp/ab/data
    flags=(--max_ring_capacity=4194304 --max_subscribers_per_topic=20000)
    [[ $which == durable ]] && flags+=(--data_dir=/tmp/ab/data --journal_sync=always)
    ( source bench/ringcastd.sh
      start_ringcastd build/bin "$out/$which.log" "${flags[@]}"
      b() { build/bin/ringcast-bench "$@" --target="127.0.0.1:$port" --server_pid="$server" --format=json; }
      b throughput --publishers=1 --subscribers=0 --events=5000000 --runs=1 | sed "s/^/$which ingest /" >> $out/all.txt
      b throughput --publishers=1 --subscribers=4 --events=5000000 --runs=1 | sed "s/^/$which fanout /" >> $out/all.txt
      b latency --rate=10000 --duration=10s --subscribers=4 --batch=1 --runs=1 | sed "s/^/$which latency /" >> $out/all.txt
    )
  done
done
rm -rf /tmp/ab/data
echo done >> $out/all.txt
