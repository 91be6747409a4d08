#!/usr/bin/env bash
# Replay from disk: a durable server, a topic of 65 536 slots filled with 5 M events of 64 B, read
# from EARLIEST by one reader (ringcast-bench replay): the events older than the ring come from the
# journal (in the page cache: just written). Three runs, each on a fresh topic.
set -euo pipefail
cd "$(dirname "$0")/../../.."
data=$(mktemp -d /tmp/ringcast-replay.XXXXXX)
# shellcheck source=bench/ringcastd.sh
source bench/ringcastd.sh
start_ringcastd "${BIN_DIR:-build/bin}" "$data/ringcastd.log" --data_dir="$data/data"
# start_ringcastd's exit trap stops the server; this one also removes the data directory.
trap 'if kill -TERM "$server" 2>/dev/null; then wait "$server" 2>/dev/null || true; fi; rm -rf "$data"' EXIT
# shellcheck disable=SC2154  # port and server are set by start_ringcastd
"${BIN_DIR:-build/bin}/ringcast-bench" replay --target="127.0.0.1:$port" --server_pid="$server" \
  --events=5000000 --subscribers=1 --runs=3 --format=json
