#!/usr/bin/env bash
# alternate old/new servers, same bench client
cd /work/main
out=/tmp/ab/out3; mkdir -p $out
for i in 1 2 3 4 5; do
  for which in old new; do
    if [[ $which == old ]]; then bin=/tmp/oldbin; else bin=build/bin; fi
    ( source bench/ringcastd.sh
      start_ringcastd "$bin" "$out/$which.log" --max_ring_capacity=4194304 --max_subscribers_per_topic=20000
      b() { build/bin/ringcast-bench "$@" --target="127.0.0.1:$port" --server_pid="$server" --format=json; }
      b throughput --publishers=1 --subscribers=0 --events=10000000 --runs=1 | sed "s/^/$which ingest /" >> $out/all.txt
      b throughput --publishers=1 --subscribers=4 --events=5000000 --runs=1 | sed "s/^/$which fanout /" >> $out/all.txt
    )
  done
done
echo done >> $out/all.txt
