#!/usr/bin/env bash
# The `ringcast` tool as a user runs it, against a real ringcastd: topics, publishing from a file
# and from stdin, generated load, subscribing as text and JSON, and exit codes on bad input.
# With a third argument, also runs the client quick start example against the same server.
# Usage: cli_test.sh RINGCASTD RINGCAST [CLIENT_QUICKSTART]
set -uo pipefail
ringcastd=$1
ringcast=$2
quickstart=${3:-}
work=$(mktemp -d)
failures=0
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$work"' EXIT

"$ringcastd" --listen=127.0.0.1:0 --metrics_listen= --data_dir= --default_ring_capacity=1024 2>"$work/server.log" &
server=$!
for _ in $(seq 100); do
  port=$(grep -o '"port":[0-9]*' "$work/server.log" | head -1 | cut -d: -f2)
  [[ -n "$port" ]] && break
  sleep 0.1
done
[[ -n "${port:-}" ]] || { echo "ringcastd did not start"; cat "$work/server.log"; exit 1; }
rc() { "$ringcast" --server="127.0.0.1:$port" "$@"; }

check() {  # check NAME EXPECTED ACTUAL
  if [[ "$2" == "$3" ]]; then echo "ok   $1"; else echo "FAIL $1: expected [$2], got [$3]"; failures=$((failures + 1)); fi
}
code() { "$@" >/dev/null 2>&1; echo $?; }

# Topics.
check "create exits 0" 0 "$(code rc topics create orders --capacity=4096)"
check "create again: ALREADY_EXISTS, exit 1" 1 "$(code rc topics create orders)"
rc topics create orders 2>"$work/err" >/dev/null
check "the error names the code" 1 "$(grep -c 'ALREADY_EXISTS' "$work/err")"
check "bad capacity: exit 1 (server says INVALID_ARGUMENT)" 1 "$(code rc topics create other --capacity=1000)"
check "get shows the capacity" 4096 "$(rc topics get orders --format=json | grep -o '"capacity":[0-9]*' | cut -d: -f2)"
check "create with a byte budget exits 0" 0 "$(code rc topics create sized --max_bytes=16777216)"
check "get shows the byte budget" 16777216 "$(rc topics get sized --format=json | grep -o '"max_bytes":[0-9]*' | cut -d: -f2)"
check "a budget too small: exit 1 (server says INVALID_ARGUMENT)" 1 "$(code rc topics create tiny --max_bytes=1000)"
check "delete the sized topic exits 0" 0 "$(code rc topics delete sized)"
check "get unknown: exit 1" 1 "$(code rc topics get nosuch)"

# Publish from a file and from stdin, subscribe as text from the start.
printf 'first\nsecond\nthird\n' > "$work/events.txt"
check "publish --file exits 0" 0 "$(code rc publish orders --file="$work/events.txt")"
check "publish stdin exits 0" 0 "$(printf 'fourth\nfifth\n' | rc publish orders >/dev/null 2>&1; echo $?)"
check "subscribe text" "first second third fourth fifth" \
  "$(rc subscribe orders --from=earliest --count=5 | tr '\n' ' ' | sed 's/ $//')"
check "subscribe from a sequence" "fourth fifth" \
  "$(rc subscribe orders --from=3 --count=2 | tr '\n' ' ' | sed 's/ $//')"

# JSON lines carry sequence, key and payload; a key given on publish arrives.
printf 'keyed\n' | rc publish orders --key=k1 >/dev/null 2>&1
line=$(rc subscribe orders --from=5 --count=1 --format=json)
check "json sequence" 5 "$(echo "$line" | grep -o '"sequence":[0-9]*' | cut -d: -f2)"
check "json key" '"key":"k1"' "$(echo "$line" | grep -o '"key":"k1"')"
check "json payload" '"payload":"keyed"' "$(echo "$line" | grep -o '"payload":"keyed"')"

# Generated load, then a live subscriber sees it all.
rc subscribe load --count=2000 --format=json > "$work/live.jsonl" 2>"$work/live.err" &
subscriber=$!
for _ in $(seq 100); do
  [[ $(rc topics get load --format=json 2>/dev/null | grep -o '"subscribers":[0-9]*' | cut -d: -f2) == 1 ]] && break
  sleep 0.1
done
summary=$(rc publish load --count=2000 --size=32 --format=json)
check "generated publish count" 2000 "$(echo "$summary" | grep -o '"published":[0-9]*' | cut -d: -f2)"
wait "$subscriber"
check "live subscriber got every event" 2000 "$(wc -l < "$work/live.jsonl" | tr -d ' ')"
check "in order, the last is 1999" 1999 "$(tail -1 "$work/live.jsonl" | grep -o '"sequence":[0-9]*' | cut -d: -f2)"

# Stats lists the topics.
check "stats lists 2 topics" 1 "$(rc stats | grep -c '^2 topics')"

# Health: SERVING while up.
check "health" SERVING "$(rc health)"
check "health exit code" 0 "$(code rc health)"

# Usage errors exit 2; failures exit 1.
check "no command" 2 "$(code "$ringcast")"
check "unknown command" 2 "$(code rc frobnicate)"
check "unknown flag" 2 "$(code rc publish orders --frob)"
check "missing topic" 2 "$(code rc subscribe)"
check "bad --from" 2 "$(code rc subscribe orders --from=yesterday)"
check "bad --mode" 2 "$(code rc subscribe orders --mode=maybe)"
check "count and file together" 2 "$(code rc publish orders --count=3 --file="$work/events.txt")"
check "unreadable file" 2 "$(code rc publish orders --file="$work/missing.txt")"
check "bad topic name: exit 1" 1 "$(printf 'x\n' | rc publish 'bad name' >/dev/null 2>&1; echo $?)"
check "subscribe out of range: exit 1" 1 "$(code rc subscribe orders --from=999999 --count=1)"
check "no server: exit 1" 1 "$(code "$ringcast" --server=127.0.0.1:1 --timeout=2s topics list)"
check "health without a server: exit 1" 1 "$(code "$ringcast" --server=127.0.0.1:1 --timeout=2s health)"
check "help exits 0" 0 "$(code "$ringcast" help)"
for cmd in "topics create" "topics get" "topics list" "topics delete" publish subscribe stats health; do
  # shellcheck disable=SC2086
  check "help for $cmd" 1 "$("$ringcast" $cmd --help | grep -c '^usage: ringcast')"
done

# The C++ quick start of docs/client.md, against the same server.
if [[ -n "$quickstart" ]]; then
  check "client quick start" "0 hello 1 fan-out 2 world" \
    "$("$quickstart" "127.0.0.1:$port" | tr '\n' ' ' | sed 's/ $//')"
fi

# Delete, then it is gone.
check "delete exits 0" 0 "$(code rc topics delete orders)"
check "delete again: exit 1" 1 "$(code rc topics delete orders)"

if [[ $failures -ne 0 ]]; then echo "$failures checks failed"; exit 1; fi
echo "all checks passed"
