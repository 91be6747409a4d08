#!/usr/bin/env bash
# Every PromQL example of a document parses: each expression of its ```promql blocks becomes a
# recording rule and `promtool check rules` must accept the file.
# Usage: docs_promql_test.sh docs/metrics.md
set -euo pipefail
doc=$1
command -v promtool >/dev/null || { echo "promtool is missing (Debian package prometheus)" >&2; exit 1; }
rules=$(mktemp --suffix=.yml)
trap 'rm -f "$rules"' EXIT

# Expressions: non-comment lines of promql blocks; an indented line continues the one before.
awk '
  /^```promql/ { inside = 1; next }
  /^```/       { if (inside && expr != "") print expr; inside = 0; expr = ""; next }
  inside && /^[[:space:]]*(#|$)/ { if (expr != "") print expr; expr = ""; next }
  inside && /^[[:space:]]/ { expr = expr " " $0; next }
  inside { if (expr != "") print expr; expr = $0 }
' "$doc" > "$rules.exprs"
count=$(wc -l < "$rules.exprs")
[[ $count -ge 5 ]] || { echo "found only $count PromQL examples in $doc" >&2; exit 1; }

{
  echo "groups:"
  echo "  - name: doc_examples"
  echo "    rules:"
  n=0
  while IFS= read -r expr; do
    n=$((n + 1))
    echo "      - record: doc:example_$n"
    printf '        expr: %s\n' "$(printf '%s' "$expr" | sed "s/'/''/g; s/^/'/; s/\$/'/")"
  done < "$rules.exprs"
} > "$rules"
rm -f "$rules.exprs"
promtool check rules "$rules"
echo "$count PromQL examples parse"
