#!/usr/bin/env bash
# The binaries given as arguments (the stress tests and the topic component's tests) must not link
# gRPC or protobuf: that is what lets them run under ThreadSanitizer. Fails naming the first
# binary that does.
set -euo pipefail
[[ $# -gt 0 ]] || { echo "usage: $0 BINARY..." >&2; exit 2; }
for binary in "$@"; do
  [[ -x "$binary" ]] || { echo "not an executable: $binary" >&2; exit 1; }
  if linked=$(ldd "$binary" | grep -E 'libgrpc|libgpr|libprotobuf'); then
    echo "$binary links gRPC/protobuf:" >&2
    echo "$linked" >&2
    exit 1
  fi
  echo "ok: $(basename "$binary") links no gRPC"
done
