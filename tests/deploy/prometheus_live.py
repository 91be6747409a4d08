#!/usr/bin/env python3
"""Helper of prometheus_live_test.sh: the Prometheus side of the live test.

  prometheus_live.py free-port
      Prints a TCP port free on 127.0.0.1.
  prometheus_live.py ready PROMETHEUS
      Exits 0 if Prometheus answers /-/ready.
  prometheus_live.py config SHIPPED_YML OUT_DIR TARGET
      Writes OUT_DIR/prometheus.yml: the shipped configuration with its "ringcast" job pointed at
      TARGET, scraped and evaluated every second, and copies its rule files next to it.
  prometheus_live.py wait-positive PROMETHEUS QUERY TIMEOUT_S
      Polls the query API until QUERY returns a sample above 0.
  prometheus_live.py rules PROMETHEUS TIMEOUT_S
      Waits until every loaded rule has been evaluated, then checks that each evaluated cleanly.
  prometheus_live.py dashboard PROMETHEUS DASHBOARD_JSON
      Runs every query of the dashboard (Grafana variables set as for "All") and checks that each
      succeeds and returns series (a query ending in a "> 0" filter may return none).
"""

import json
import os
import re
import shutil
import sys
import time
import urllib.error
import urllib.parse

sys.dont_write_bytecode = True

import yaml  # noqa: E402

from deploy_support import (Checks, dashboard_exprs, free_port, http_get,  # noqa: E402
                            load_dashboard, with_grafana_variables)


def api(prometheus, path, **params):
    """The API's JSON answer, errors included (a bad query is a 400 with a JSON body)."""
    url = f"http://{prometheus}/api/v1/{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    try:
        return json.loads(http_get(url))
    except urllib.error.HTTPError as error:
        return json.loads(error.read().decode("utf-8"))


def make_config(shipped, out_dir, target):
    with open(shipped, encoding="utf-8") as f:
        config = yaml.safe_load(f)
    config.setdefault("global", {}).update(
        {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"})
    jobs = [job for job in config["scrape_configs"] if job["job_name"] == "ringcast"]
    if len(jobs) != 1:
        raise SystemExit(f"{shipped}: expected one scrape job named ringcast, found {len(jobs)}")
    job = jobs[0]
    for key in ("scrape_interval", "scrape_timeout"):
        job.pop(key, None)
    job["static_configs"] = [{"targets": [target]}]
    config["scrape_configs"] = [job]
    rule_files = []
    for rule_file in config.get("rule_files", []):
        source = os.path.join(os.path.dirname(os.path.abspath(shipped)), rule_file)
        shutil.copy(source, os.path.join(out_dir, os.path.basename(rule_file)))
        rule_files.append(os.path.basename(rule_file))
    config["rule_files"] = rule_files
    with open(os.path.join(out_dir, "prometheus.yml"), "w", encoding="utf-8") as f:
        yaml.safe_dump(config, f)
    print(f"config: job ringcast -> {target}, rule files {rule_files}")


def wait_positive(prometheus, query, timeout):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = api(prometheus, "query", query=query)
            values = [float(sample["value"][1]) for sample in last["data"]["result"]]
            if any(value > 0 for value in values):
                print(f"ok   {query} = {values}")
                return
        except OSError as error:
            last = error
        time.sleep(0.5)
    raise SystemExit(f"FAIL {query} returned no value above 0 within {timeout}s; last answer: {last}")


def check_rules(prometheus, timeout):
    checks = Checks()
    deadline = time.monotonic() + timeout
    while True:
        groups = api(prometheus, "rules")["data"]["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        pending = [rule["name"] for rule in rules
                   if rule.get("lastEvaluation", "").startswith("0001-")]
        if rules and not pending:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"FAIL rules not all evaluated within {timeout}s: {pending or 'none loaded'}")
        time.sleep(0.5)
    checks.check("alert rules loaded", len(rules) >= 5, f"{len(rules)} rules")
    for rule in rules:
        checks.check(f"rule {rule['name']} evaluates cleanly", rule["health"] == "ok",
                     rule.get("lastError", rule["health"]))
    checks.finish()


def check_dashboard(prometheus, dashboard_path):
    checks = Checks()
    exprs = dashboard_exprs(load_dashboard(dashboard_path))
    checks.check("the dashboard has queries", len(exprs) >= 20, f"{len(exprs)} queries")
    for where, expr in exprs:
        query = with_grafana_variables(expr)
        if query.startswith("label_values("):
            # A Grafana variable: the series behind it must exist, and carry the label.
            match = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", query)
            if not checks.check(f"{where} is label_values(SELECTOR, LABEL)", match is not None, query):
                continue
            answer = api(prometheus, "series", **{"match[]": match.group(1)})
            values = {series.get(match.group(2)) for series in answer["data"]} - {None}
            checks.check(f"{where} has values", answer["status"] == "success" and values,
                         f"{answer}")
            continue
        answer = api(prometheus, "query", query=query)
        if not checks.check(f"{where} runs", answer.get("status") == "success", f"{answer}"):
            continue
        if re.search(r">\s*0\s*$", expr):
            continue  # a "> 0" filter: no series is a valid answer
        checks.check(f"{where} returns series", answer["data"]["result"], f"no series for {query}")
    checks.finish()


def main():
    command, args = sys.argv[1], sys.argv[2:]
    if command == "free-port":
        print(free_port())
    elif command == "ready":
        try:
            http_get(f"http://{args[0]}/-/ready", timeout=1)
        except OSError:
            sys.exit(1)
    elif command == "config":
        make_config(*args)
    elif command == "wait-positive":
        wait_positive(args[0], args[1], float(args[2]))
    elif command == "rules":
        check_rules(args[0], float(args[1]))
    elif command == "dashboard":
        check_dashboard(args[0], args[1])
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
