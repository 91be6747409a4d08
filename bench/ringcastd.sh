# Sourced by the end-to-end benchmark scripts: start_ringcastd BIN LOG [FLAGS...] starts BIN/ringcastd
# on a free port of 127.0.0.1 with FLAGS, its log in LOG, stopped when the script exits; it sets
# `server` (the pid) and `port`, or exits 1 if the server did not come up.
# shellcheck shell=bash
start_ringcastd() {
  local bin=$1 log=$2
  shift 2
  # Memory-only topics unless FLAGS set --data_dir (the last value of a flag wins).
  "$bin/ringcastd" --listen=127.0.0.1:0 --metrics_listen= --data_dir= "$@" 2>"$log" &
  server=$!
  trap 'if kill -TERM "$server" 2>/dev/null; then wait "$server" 2>/dev/null || true; fi' EXIT
  port=""
  for _ in $(seq 100); do
    port=$(grep -o '"port":[0-9]*' "$log" | head -1 | cut -d: -f2 || true)
    [[ -n "$port" ]] && return 0
    sleep 0.1
  done
  echo "$(basename "$0"): ringcastd did not start" >&2
  cat "$log" >&2
  exit 1
}
