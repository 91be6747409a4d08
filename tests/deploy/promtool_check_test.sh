#!/usr/bin/env bash
# The shipped Prometheus files load: `promtool check config` on both configurations (which also
# checks the rule files they name, resolved next to them) and `promtool check rules` on alerts.yml.
# Usage: promtool_check_test.sh DEPLOY_DIR
set -euo pipefail
deploy=$1
command -v promtool >/dev/null || { echo "promtool is missing (Debian package prometheus)" >&2; exit 1; }

for config in prometheus.yml prometheus.compose.yml; do
  out=$(promtool check config "$deploy/prometheus/$config" 2>&1) || { echo "$out"; echo "FAIL $config"; exit 1; }
  echo "$out"
  # Each configuration must load the alert rules, not just parse.
  grep -q 'SUCCESS: 1 rule files found' <<<"$out" || { echo "FAIL $config loads no rule file"; exit 1; }
done
promtool check rules "$deploy/prometheus/alerts.yml"
echo "all checks passed"
