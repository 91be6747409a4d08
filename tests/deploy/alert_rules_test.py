#!/usr/bin/env python3
"""The alert rules behave and are complete.

* `promtool test rules` on alerts_test.yml (run against ALERTS_YML): every case passes.
* Every alert of ALERTS_YML has a case where it fires and a case where it stays quiet.
* Every alert has a `for:`, a severity of critical or warning, and summary and description
  annotations; alerts over ringcastd's per-topic series name the topic in both (those over
  server-wide series, such as the memory pools, the instance).
* The alerts operators need are there: target down, backpressure, slow-subscriber cut-offs,
  publish rejections by reason, delivery p99, a journal refusing batches, the data disk nearly
  full, slow journal syncs, calls refused for their credentials.

Usage: alert_rules_test.py ALERTS_YML ALERTS_TEST_YML
"""

import os
import re
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True

import yaml  # noqa: E402

from deploy_support import METRIC_NAME, Checks, load_rules  # noqa: E402

# ringcastd's series without a `topic` label.
SERVER_WIDE = re.compile(r"ringcast_(?:memory_\w+|topics|publish_streams|publish_latency_\w+|"
                         r"build_info|disk_free_bytes|journal_sync_seconds_\w+|"
                         r"journal_recovery_seconds|journal_truncated_bytes_total|"
                         r"auth_failures_total)$")

REQUIRED = {
    "RingcastTargetDown": "up{",
    "RingcastBackpressureHigh": "ringcast_backpressure_ratio",
    "RingcastSlowSubscriberDisconnects": "ringcast_slow_subscriber_disconnects_total",
    "RingcastPublishRejections": "ringcast_publish_rejected_total",
    "RingcastDeliveryLatencyHigh": "ringcast_delivery_latency_seconds_bucket",
    "RingcastJournalRefusing": "ringcast_journal_refusing",
    "RingcastDiskNearlyFull": "ringcast_disk_free_bytes",
    "RingcastJournalSyncSlow": "ringcast_journal_sync_seconds_bucket",
    "RingcastAuthFailures": "ringcast_auth_failures_total",
}


def main():
    alerts_path, tests_path = (os.path.abspath(p) for p in sys.argv[1:3])
    checks = Checks()
    rules = [rule for group in load_rules(alerts_path)["groups"] for rule in group["rules"]]
    alerts = {rule["alert"]: rule for rule in rules if "alert" in rule}

    # promtool, with the unit tests pointed at ALERTS_YML.
    with open(tests_path, encoding="utf-8") as f:
        unit_tests = yaml.safe_load(f)
    with tempfile.TemporaryDirectory() as work:
        unit_tests["rule_files"] = [alerts_path]
        copy = os.path.join(work, "alerts_test.yml")
        with open(copy, "w", encoding="utf-8") as f:
            yaml.safe_dump(unit_tests, f)
        result = subprocess.run(["promtool", "test", "rules", copy], capture_output=True,
                                text=True, check=False)
    print(result.stdout + result.stderr)
    checks.check("promtool test rules passes", result.returncode == 0)

    # Coverage: fires somewhere, stays quiet somewhere.
    fires, quiet = set(), set()
    for case in unit_tests["tests"]:
        for expectation in case.get("alert_rule_test", []):
            (fires if expectation.get("exp_alerts") else quiet).add(expectation["alertname"])
    for name in alerts:
        checks.check(f"{name} has a firing case", name in fires)
        checks.check(f"{name} has a quiet case", name in quiet)
    for name in (fires | quiet) - set(alerts):
        checks.check(f"unit tests name only existing alerts ({name})", False)

    # Shape of each alert.
    for name, rule in alerts.items():
        annotations = rule.get("annotations", {})
        checks.check(f"{name} has for:", bool(rule.get("for")))
        checks.check(f"{name} severity is critical or warning",
                     rule.get("labels", {}).get("severity") in ("critical", "warning"),
                     str(rule.get("labels")))
        checks.check(f"{name} has summary and description",
                     bool(annotations.get("summary")) and bool(annotations.get("description")))
        metrics = METRIC_NAME.findall(rule["expr"])
        if metrics and not all(SERVER_WIDE.match(m) for m in metrics):
            checks.check(f"{name} names the topic in summary and description",
                         all("$labels.topic" in annotations.get(key, "")
                             for key in ("summary", "description")))
        elif metrics:
            checks.check(f"{name} names the instance in summary and description",
                         all("$labels.instance" in annotations.get(key, "")
                             for key in ("summary", "description")))

    for name, metric in REQUIRED.items():
        checks.check(f"{name} exists and uses {metric}",
                     name in alerts and metric in alerts[name]["expr"])
    checks.finish()


if __name__ == "__main__":
    main()
