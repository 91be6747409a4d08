"""Shared pieces of the deploy tests: a real ringcastd on free ports, /metrics parsing, and the
PromQL expressions of the shipped dashboard and alert rules."""

import json
import re
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import yaml

# A metric name as the dashboard and the rules use them; the look-behind keeps recording-rule and
# label names (a:b_c, foo_ringcast_x) out.
METRIC_NAME = re.compile(r"(?<![A-Za-z0-9_:])(?:ringcast|process)_[a-z0-9_]+")

# Grafana's variables, replaced the way Grafana would for "All" before a query reaches Prometheus.
GRAFANA_VARIABLES = {
    "$__rate_interval": "15s",
    "$job": ".*",
    "$instance": ".*",
    "$topic": ".*",
}


class Ringcastd:
    """ringcastd on 127.0.0.1 with free gRPC and metrics ports; stop() (or the with block) ends it."""

    def __init__(self, binary, *extra_args):
        self._log = tempfile.NamedTemporaryFile(prefix="ringcastd-", suffix=".log")
        # Durable topics in a directory of the test's own (after any flag file: the last value of
        # a flag wins), unless the test names one: nothing outlives the test.
        self._data = None
        if not any(arg.startswith("--data_dir") for arg in extra_args):
            self._data = tempfile.TemporaryDirectory(prefix="ringcastd-data-")
            extra_args = (*extra_args, f"--data_dir={self._data.name}")
        args = [binary, *extra_args, "--listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self._log)
        self.port = self.metrics_port = None
        self.first_line = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            serving = [l for l in self.log().split("\n") if '"msg":"ringcastd serving"' in l]
            line = serving[0] if serving else ""
            port = re.search(r'"port":(\d+)', line)
            if port:
                self.first_line = line
                self.port = int(port.group(1))
                metrics_port = re.search(r'"metrics_port":(\d+)', line)
                self.metrics_port = int(metrics_port.group(1)) if metrics_port else None
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        log = self.log()
        self.stop()
        raise RuntimeError(f"ringcastd did not start: {log}")

    def log(self):
        with open(self._log.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def metrics(self):
        return http_get(f"http://127.0.0.1:{self.metrics_port}/metrics")

    def terminate(self, timeout=40):
        """SIGTERM (a graceful shutdown), then the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()
        if self._data is not None:
            self._data.cleanup()
            self._data = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def ringcast(cli, server, *args, timeout=30):
    """Runs the ringcast tool against a server; raises with its output if it fails."""
    result = subprocess.run([cli, f"--server={server}", *args], capture_output=True, text=True,
                            timeout=timeout, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"ringcast {' '.join(args)} exited {result.returncode}: "
                           f"{result.stdout}{result.stderr}")
    return result.stdout


def http_get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read().decode("utf-8")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metric_families(exposition):
    """{family name: type} from the # TYPE lines of a Prometheus text exposition."""
    families = {}
    for line in exposition.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[0] == "#" and parts[1] == "TYPE":
            families[parts[2]] = parts[3]
    return families


def unknown_metric_names(names, families):
    """The names that are not series of the exposition: a counter or gauge family by its name, a
    histogram only through its _bucket, _sum and _count series (summaries: _sum, _count)."""
    unknown = []
    for name in sorted(set(names)):
        kind = families.get(name)
        if kind in ("counter", "gauge", "untyped"):
            continue
        base, _, suffix = name.rpartition("_")
        if families.get(base) == "histogram" and suffix in ("bucket", "sum", "count"):
            continue
        if families.get(base) == "summary" and suffix in ("sum", "count"):
            continue
        unknown.append(name)
    return unknown


def load_dashboard(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def dashboard_panels(dashboard):
    """Every panel that is not a row, including those nested in collapsed rows."""
    for panel in dashboard.get("panels", []):
        if panel.get("type") == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def dashboard_exprs(dashboard):
    """(where, PromQL) of every panel target and every query variable."""
    exprs = []
    for panel in dashboard_panels(dashboard):
        for target in panel.get("targets", []):
            if target.get("expr"):
                exprs.append((f"panel '{panel.get('title')}' {target.get('refId')}", target["expr"]))
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        if query:
            exprs.append((f"variable ${variable['name']}", query))
    return exprs


def with_grafana_variables(expr):
    for variable in sorted(GRAFANA_VARIABLES, key=len, reverse=True):
        expr = expr.replace(variable, GRAFANA_VARIABLES[variable])
    return expr


def load_rules(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def rule_exprs(rules):
    """(alert name, PromQL) of every rule of a Prometheus rules file."""
    return [(rule.get("alert") or rule.get("record"), rule["expr"])
            for group in rules["groups"] for rule in group["rules"]]


class Checks:
    """Collects failures, prints each check, and exits non-zero at the end if any failed."""

    def __init__(self):
        self.failures = 0

    def check(self, name, ok, detail=""):
        if ok:
            print(f"ok   {name}")
        else:
            self.failures += 1
            print(f"FAIL {name}{': ' + detail if detail else ''}")
        return ok

    def finish(self):
        if self.failures:
            print(f"{self.failures} checks failed")
            raise SystemExit(1)
        print("all checks passed")


def dockerfile_stages(path):
    """The stages of a Dockerfile: [{"from": image, "name": alias, "instructions": [(KEYWORD,
    arguments)]}], with continuation lines joined and comments dropped."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    logical, current = [], ""
    for line in lines:
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        logical.append(current + stripped)
        current = ""
    if current:
        logical.append(current)
    stages = []
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        keyword, arguments = keyword.upper(), " ".join(arguments.split())
        if keyword == "FROM":
            words = arguments.split()
            words = [w for w in words if not w.startswith("--platform")]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append({"from": words[0], "name": name, "instructions": []})
        elif stages:
            stages[-1]["instructions"].append((keyword, arguments))
    return stages


def apt_packages(run_arguments):
    """The packages of every `apt-get install` in a RUN instruction's shell command."""
    packages = []
    for command in re.split(r"&&|;|\|\|", run_arguments):
        words = command.split()
        if len(words) >= 2 and words[0] == "apt-get" and "install" in words:
            after = words[words.index("install") + 1:]
            packages += [w for w in after if not w.startswith("-")]
    return packages
