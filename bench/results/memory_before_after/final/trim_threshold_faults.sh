#!/usr/bin/env bash
cd /work/main
out=/tmp/ab/out2; mkdir -p $out; : > $out/all.txt
for i in 1 2 3 4 5; do
  for which in old new; do
    bin=build/bin; [[ $which == old ]] && bin=/tmp/oldbin
    if [[ $which == newtrim ]]; then export GLIBC_TUNABLES=glibc.malloc.trim_threshold=67108864; else unset GLIBC_TUNABLES; fi
    ( source bench/ringcastd.sh
      start_ringcastd "$bin" "$out/$which.log" --max_ring_capacity=4194304 --max_subscribers_per_topic=20000
      unset GLIBC_TUNABLES
      f0=$(awk '{print $10}' /proc/$server/stat)
      r=$(build/bin/ringcast-bench throughput --publishers=1 --subscribers=4 --events=5000000 --runs=1 --target="127.0.0.1:$port" --server_pid="$server" --format=json)
      f1=$(awk '{print $10}' /proc/$server/stat)
      echo "$which $((f1-f0)) $r" >> $out/all.txt
    )
  done
done
echo done >> $out/all.txt
