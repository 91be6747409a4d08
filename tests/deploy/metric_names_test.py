#!/usr/bin/env python3
"""Every metric name the Grafana dashboard and the alert rules use is served by a real ringcastd.

Starts ringcastd, creates a topic and publishes to it (so the per-topic series exist), reads
/metrics, and checks each ringcast_* / process_* name found in the dashboard's queries and the
rules' expressions against the exposition's families (histograms only through their _bucket, _sum
and _count series).

Usage: metric_names_test.py RINGCASTD RINGCAST DASHBOARD_JSON ALERTS_YML
"""

import sys

sys.dont_write_bytecode = True

from deploy_support import (METRIC_NAME, Checks, Ringcastd, dashboard_exprs,  # noqa: E402
                            load_dashboard, load_rules, metric_families, ringcast, rule_exprs,
                            unknown_metric_names)


def names_in(exprs):
    found = {}
    for where, expr in exprs:
        for name in METRIC_NAME.findall(expr):
            found.setdefault(name, where)
    return found


def main():
    ringcastd, cli, dashboard_path, alerts_path = sys.argv[1:5]
    checks = Checks()

    with Ringcastd(ringcastd) as server:
        ringcast(cli, server.address, "topics", "create", "orders", "--capacity=1024")
        ringcast(cli, server.address, "publish", "orders", "--count=10", "--size=16")
        exposition = server.metrics()
    families = metric_families(exposition)
    checks.check("the exposition has ringcast families", len(families) >= 20, f"{sorted(families)}")

    sources = {
        "dashboard": names_in(dashboard_exprs(load_dashboard(dashboard_path))),
        "alert rules": names_in(rule_exprs(load_rules(alerts_path))),
    }
    # Both files must actually use metrics, or the check below proves nothing.
    checks.check("the dashboard uses at least 15 metric names", len(sources["dashboard"]) >= 15,
                 f"found {sorted(sources['dashboard'])}")
    checks.check("the alert rules use at least 4 metric names", len(sources["alert rules"]) >= 4,
                 f"found {sorted(sources['alert rules'])}")
    for source, names in sources.items():
        unknown = unknown_metric_names(names, families)
        checks.check(f"every metric name of the {source} is served ({len(names)} names)",
                     not unknown,
                     "; ".join(f"{name} (in {names[name]})" for name in unknown))
    checks.finish()


if __name__ == "__main__":
    main()
