#!/usr/bin/env python3
"""Structural checks of the deploy files that no linter installed here can check: the compose file,
the Kubernetes manifests, the Grafana provisioning and dashboard. Each file must parse, hold the
expected keys, and agree with the others (ports, paths, names, timeouts, where the durable topics'
data directory is and what is mounted there).

Usage: manifests_test.py DEPLOY_DIR
"""

import glob
import json
import os
import re
import sys

sys.dont_write_bytecode = True

import yaml  # noqa: E402

from deploy_support import (Checks, dashboard_exprs, dashboard_panels,  # noqa: E402
                            dockerfile_stages)

GRPC_PORT = 7470
METRICS_PORT = 9470
DEFAULT_SHUTDOWN_TIMEOUT = 30.0  # ringcastd's default --shutdown_timeout, in seconds
DEFAULT_MIN_FREE_BYTES = 128 << 20  # ringcastd's default --min_free_bytes
DEFAULT_SEGMENT_BYTES = 64 << 20  # ringcastd's default --segment_bytes
DEFAULT_MAX_TOPICS = 1024  # ringcastd's default --max_topics


def seconds(text):
    """A duration as ringcastd's flags and compose write them (25s, 1m30s, 500ms, 2h)."""
    total, rest = 0.0, str(text).strip()
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", rest):
        total += float(number) * units[unit]
    if not re.fullmatch(r"((\d+(\.\d+)?)(ms|h|m|s))+", rest):
        raise ValueError(f"not a duration: {text!r}")
    return total


def flags_of(lines):
    """{flag: value} of --flag=value lines (comments and blank lines skipped)."""
    flags = {}
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.lstrip("-").partition("=")
            flags[name] = value
    return flags


def port_of(address):
    return int(address.rsplit(":", 1)[1])


def quantity(text):
    """A Kubernetes storage quantity (10Gi, 500M, 1073741824) in bytes."""
    match = re.fullmatch(r"(\d+)([KMGTPE]i?)?", str(text).strip())
    if not match:
        raise ValueError(f"not a quantity: {text!r}")
    number, suffix = int(match.group(1)), match.group(2) or ""
    power = " KMGTPE".index(suffix[:1]) if suffix else 0
    return number * (1024 if suffix.endswith("i") else 1000) ** power


def image_data_dir(deploy):
    """The --data_dir the image's ENTRYPOINT passes (None if it passes none)."""
    final = dockerfile_stages(os.path.join(deploy, "Dockerfile"))[-1]
    entrypoints = [args for keyword, args in final["instructions"] if keyword == "ENTRYPOINT"]
    if not entrypoints:
        return None
    try:
        entrypoint = json.loads(entrypoints[-1])
    except ValueError:
        return None
    return flags_of(a for a in entrypoint if a.startswith("--")).get("data_dir")


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def check_compose(checks, deploy):
    path = os.path.join(deploy, "docker-compose.yml")
    compose = load_yaml(path)
    services = compose.get("services", {})
    for name in ("ringcastd", "prometheus", "grafana"):
        checks.check(f"compose: service {name}", name in services)
    if not all(name in services for name in ("ringcastd", "prometheus", "grafana")):
        return

    ringcastd = services["ringcastd"]
    build = ringcastd.get("build", {})
    dockerfile = os.path.normpath(os.path.join(deploy, build.get("context", "."),
                                               build.get("dockerfile", "Dockerfile")))
    checks.check("compose: ringcastd builds deploy/Dockerfile from the repository root",
                 dockerfile == os.path.normpath(os.path.join(deploy, "Dockerfile"))
                 and os.path.normpath(os.path.join(deploy, build.get("context", "")))
                 == os.path.dirname(os.path.normpath(deploy)), str(build))
    ports = {str(p) for p in ringcastd.get("ports", [])}
    checks.check("compose: ringcastd publishes 7470 and 9470",
                 f"{GRPC_PORT}:{GRPC_PORT}" in ports and f"{METRICS_PORT}:{METRICS_PORT}" in ports,
                 str(ports))
    flags = flags_of(ringcastd.get("command", []))
    shutdown = seconds(flags.get("shutdown_timeout", f"{DEFAULT_SHUTDOWN_TIMEOUT}s"))
    grace = seconds(ringcastd.get("stop_grace_period", "10s"))
    checks.check("compose: stop_grace_period exceeds --shutdown_timeout", grace > shutdown,
                 f"{grace} <= {shutdown}")
    # Durable topics: the data directory (the command's --data_dir, else the image's) is a named
    # volume, since the container's root file system is read-only.
    data_dir = flags.get("data_dir", image_data_dir(deploy))
    checks.check("compose: ringcastd runs with a read-only root file system",
                 ringcastd.get("read_only") is True)
    checks.check("compose: ringcastd's --data_dir is an absolute path",
                 bool(data_dir) and data_dir.startswith("/"), str(data_dir))
    named = compose.get("volumes") or {}
    data_mounts = [str(v).split(":") for v in ringcastd.get("volumes", [])
                   if str(v).split(":")[1:2] == [data_dir]]
    checks.check(f"compose: a named volume is mounted read-write at --data_dir ({data_dir})",
                 len(data_mounts) == 1 and data_mounts[0][0] in named
                 and "ro" not in data_mounts[0][2:], str(ringcastd.get("volumes")))
    # TLS: /metrics stays reachable for Prometheus, and the health check and the other ringcast
    # services speak TLS (the image's own check is plaintext).
    if flags.get("tls_cert"):
        metrics = flags.get("metrics_listen", "127.0.0.1:9470")
        checks.check("compose: with TLS, --metrics_listen is set off loopback",
                     not metrics.startswith("127.") and port_of(metrics) == METRICS_PORT, metrics)
        health = ringcastd.get("healthcheck", {}).get("test", [])
        checks.check("compose: ringcastd's health check runs `ringcast health --tls`",
                     "ringcast" in health and "health" in health and "--tls" in health, str(health))
        for name, service in services.items():
            line = " ".join(str(a) for key in ("entrypoint", "command")
                            for a in (service.get(key) or []))
            if "--server=ringcastd:" in line:
                checks.check(f"compose: {name} connects to ringcastd with TLS",
                             "--tls " in line + " " and (not flags.get("tls_client_ca")
                                                         or "--tls_cert=" in line), line)
    for name, service in services.items():
        if name != "ringcastd" and service.get("image") == ringcastd.get("image"):
            checks.check(f"compose: {name} builds the ringcast image too (never pulled)",
                         service.get("build") == build)

    # Bind mounts exist.
    mounts = {}
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source, target = str(volume).split(":")[:2]
            if source.startswith("."):
                local = os.path.normpath(os.path.join(deploy, source))
                checks.check(f"compose: {name} mount {source} exists", os.path.exists(local))
                mounts[(name, target)] = local

    def local_path(service, container_path):
        """The deploy file or folder a container path of a service is mounted from."""
        for (name, target), local in mounts.items():
            if name != service:
                continue
            if container_path == target:
                return local
            if container_path.startswith(target.rstrip("/") + "/"):
                return os.path.join(local, os.path.relpath(container_path, target))
        return None

    dashboard = os.path.join(deploy, "grafana", "ringcast.json")

    # Prometheus runs the compose configuration, which scrapes the ringcastd service.
    prometheus = services["prometheus"]
    checks.check("compose: prometheus is the official image",
                 str(prometheus.get("image", "")).startswith("prom/prometheus:"))
    config_flag = [a for a in prometheus.get("command", []) if a.startswith("--config.file=")]
    config = local_path("prometheus", config_flag[0].split("=", 1)[1]) if config_flag else None
    if checks.check("compose: prometheus --config.file is a mounted deploy file",
                    config is not None and os.path.isfile(config), str(config_flag)):
        targets = [t for job in load_yaml(config)["scrape_configs"] if job["job_name"] == "ringcast"
                   for sc in job.get("static_configs", []) for t in sc["targets"]]
        checks.check("compose: prometheus scrapes ringcastd:9470 as job ringcast",
                     targets == [f"ringcastd:{METRICS_PORT}"], str(targets))

    # Grafana: provisioning mounted, its dashboard provider path holds the dashboard, its data
    # source is the compose Prometheus.
    grafana = services["grafana"]
    checks.check("compose: grafana is the official image",
                 str(grafana.get("image", "")).startswith("grafana/grafana:"))
    for kind in ("datasources", "dashboards"):
        provisioning = local_path("grafana", f"/etc/grafana/provisioning/{kind}")
        checks.check(f"compose: grafana {kind} provisioning is deploy/grafana/provisioning/{kind}",
                     provisioning is not None and os.path.isdir(provisioning)
                     and os.path.samefile(provisioning,
                                          os.path.join(deploy, "grafana", "provisioning", kind)))
    for provider_file in glob.glob(os.path.join(deploy, "grafana/provisioning/dashboards/*.yml")):
        for provider in load_yaml(provider_file).get("providers", []):
            folder = provider["options"]["path"].rstrip("/")
            loaded = [local for (name, target), local in mounts.items()
                      if name == "grafana" and os.path.dirname(target) == folder
                      and os.path.isfile(local) and os.path.samefile(local, dashboard)]
            checks.check(f"compose: dashboard provider {provider['name']} loads ringcast.json",
                         len(loaded) == 1, folder)
    home = grafana.get("environment", {}).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home:
        local = local_path("grafana", home)
        checks.check("compose: grafana home dashboard is ringcast.json",
                     local is not None and os.path.isfile(local)
                     and os.path.samefile(local, dashboard), home)


def check_grafana_provisioning(checks, deploy):
    datasources = []
    for path in glob.glob(os.path.join(deploy, "grafana/provisioning/datasources/*.yml")):
        doc = load_yaml(path)
        checks.check(f"grafana: {os.path.basename(path)} apiVersion 1", doc.get("apiVersion") == 1)
        datasources += doc.get("datasources", [])
    prometheus = [d for d in datasources if d.get("type") == "prometheus"]
    if checks.check("grafana: one Prometheus data source, the default",
                    len(prometheus) == 1 and prometheus[0].get("isDefault") is True):
        checks.check("grafana: data source URL is the compose prometheus service",
                     prometheus[0].get("url") == "http://prometheus:9090", prometheus[0].get("url"))
        checks.check("grafana: data source has a fixed uid", bool(prometheus[0].get("uid")))
    providers = []
    for path in glob.glob(os.path.join(deploy, "grafana/provisioning/dashboards/*.yml")):
        doc = load_yaml(path)
        checks.check(f"grafana: {os.path.basename(path)} apiVersion 1", doc.get("apiVersion") == 1)
        providers += doc.get("providers", [])
    checks.check("grafana: a file dashboard provider",
                 any(p.get("type") == "file" and p.get("options", {}).get("path") for p in providers))


def check_dashboard(checks, deploy):
    with open(os.path.join(deploy, "grafana", "ringcast.json"), encoding="utf-8") as f:
        dashboard = json.load(f)
    checks.check("dashboard: uid and title", dashboard.get("uid") == "ringcast"
                 and dashboard.get("title") == "ringcast")
    variables = {v["name"]: v for v in dashboard.get("templating", {}).get("list", [])}
    checks.check("dashboard: data source variable",
                 variables.get("datasource", {}).get("type") == "datasource"
                 and variables["datasource"].get("query") == "prometheus")
    topic = variables.get("topic", {})
    topic_query = topic.get("query", {})
    topic_query = topic_query.get("query") if isinstance(topic_query, dict) else topic_query
    checks.check("dashboard: topic variable over label topic",
                 topic.get("type") == "query" and topic.get("multi") and topic.get("includeAll")
                 and str(topic_query).startswith("label_values(") and "topic)" in str(topic_query),
                 str(topic_query))

    panels = list(dashboard_panels(dashboard))
    checks.check("dashboard: at least 20 panels", len(panels) >= 20, f"{len(panels)}")
    ids = [p.get("id") for p in dashboard["panels"]]
    ids += [n.get("id") for p in dashboard["panels"] if p.get("type") == "row" for n in p["panels"]]
    checks.check("dashboard: panel ids are set and unique",
                 None not in ids and len(ids) == len(set(ids)))
    for panel in panels:
        title = panel.get("title", "?")
        targets = panel.get("targets", [])
        checks.check(f"dashboard: panel '{title}' has a target with an expr",
                     bool(targets) and all(str(t.get("expr", "")).strip() for t in targets))
        checks.check(f"dashboard: panel '{title}' uses the data source variable",
                     panel.get("datasource", {}).get("uid") == "${datasource}"
                     and all(t.get("datasource", {}).get("uid") == "${datasource}" for t in targets))
        refs = [t.get("refId") for t in targets]
        checks.check(f"dashboard: panel '{title}' refIds unique", len(refs) == len(set(refs)))
    # No two panels overlap on the 24-column grid.
    boxes = [(p.get("title"), p["gridPos"]) for p in dashboard["panels"]]
    overlaps = [(a, b) for i, (a, ga) in enumerate(boxes) for (b, gb) in boxes[i + 1:]
                if ga["x"] < gb["x"] + gb["w"] and gb["x"] < ga["x"] + ga["w"]
                and ga["y"] < gb["y"] + gb["h"] and gb["y"] < ga["y"] + ga["h"]]
    checks.check("dashboard: panels do not overlap", not overlaps, str(overlaps))
    checks.check("dashboard: panels fit 24 columns",
                 all(g["x"] + g["w"] <= 24 for _, g in boxes))

    # What operators need on it.
    exprs = " ".join(expr for _, expr in dashboard_exprs(dashboard))
    for needed in ("ringcast_events_published_total", "ringcast_events_delivered_total",
                   "ringcast_publish_rejected_total", "ringcast_ring_occupancy",
                   "ringcast_backpressure_ratio", "ringcast_subscriber_lag_max",
                   "ringcast_subscribers", "ringcast_publish_streams", "process_cpu_seconds_total",
                   "process_resident_memory_bytes", "ringcast_journal_bytes",
                   "ringcast_disk_free_bytes", "ringcast_events_replayed_from_disk_total",
                   "ringcast_journal_refusing"):
        checks.check(f"dashboard: shows {needed}", needed in exprs)
    checks.check("dashboard: rejections by reason", re.search(
        r"by \([^)]*reason[^)]*\) \(rate\(ringcast_publish_rejected_total", exprs) is not None)
    for histogram in ("ringcast_delivery_latency_seconds", "ringcast_publish_latency_seconds",
                      "ringcast_journal_sync_seconds"):
        checks.check(f"dashboard: percentiles of {histogram}", re.search(
            r"histogram_quantile\(0\.99, sum by \([^)]*\ble\b[^)]*\) \(rate\(" + histogram
            + r"_bucket", exprs) is not None)
    checks.check("dashboard: fsync p50 too", re.search(
        r"histogram_quantile\(0\.5, sum by \([^)]*\ble\b[^)]*\) \(rate\("
        r"ringcast_journal_sync_seconds_bucket", exprs) is not None)

    # The durability panels sit together under a row of their own (the panels below a row, down
    # to the next one).
    rows = sorted((p["gridPos"]["y"], p.get("title")) for p in dashboard["panels"]
                  if p.get("type") == "row")
    under = {}
    for panel in dashboard["panels"]:
        if panel.get("type") == "row":
            continue
        above = [title for y, title in rows if y <= panel["gridPos"]["y"]]
        under.setdefault(above[-1] if above else None, []).append(panel)
    for row in dashboard["panels"]:
        if row.get("type") == "row" and row.get("collapsed"):
            under.setdefault(row.get("title"), []).extend(row.get("panels", []))
    durability = " ".join(t.get("expr", "") for p in under.get("Durability", [])
                          for t in p.get("targets", []))
    checks.check("dashboard: a row Durability", "Durability" in under, str([t for _, t in rows]))
    for needed in ("ringcast_journal_bytes", "ringcast_journal_sync_seconds_bucket",
                   "ringcast_disk_free_bytes", "ringcast_events_replayed_from_disk_total",
                   "ringcast_journal_refusing"):
        checks.check(f"dashboard: row Durability shows {needed}", needed in durability)


def check_kubernetes(checks, deploy):
    docs = {}
    kustomization = load_yaml(os.path.join(deploy, "k8s", "kustomization.yaml"))
    checks.check("k8s: kustomization.yaml is a Kustomization",
                 kustomization.get("kind") == "Kustomization")
    for resource in kustomization.get("resources", []):
        checks.check(f"k8s: kustomization resource {resource} exists",
                     os.path.isfile(os.path.join(deploy, "k8s", resource)))
    for path in sorted(glob.glob(os.path.join(deploy, "k8s", "*.yaml"))):
        name = os.path.basename(path)
        if name == "kustomization.yaml":
            continue
        with open(path, encoding="utf-8") as f:
            for doc in yaml.safe_load_all(f):
                ok = checks.check(f"k8s: {name} has apiVersion, kind, metadata.name",
                                  bool(doc.get("apiVersion") and doc.get("kind")
                                       and doc.get("metadata", {}).get("name")))
                if ok:
                    docs[(doc["kind"], doc["metadata"]["name"])] = (name, doc)

    def one(kind):
        found = [doc for (k, _), (_, doc) in docs.items() if k == kind]
        checks.check(f"k8s: exactly one {kind}", len(found) == 1, f"{len(found)}")
        return found[0] if len(found) == 1 else None

    workload, configmap, service = one("StatefulSet"), one("ConfigMap"), one("Service")
    checks.check("k8s: no Deployment (ringcastd keeps its volume as a StatefulSet)",
                 not any(kind == "Deployment" for kind, _ in docs))
    monitor, rule = one("ServiceMonitor"), one("PrometheusRule")
    namespaces = {doc["metadata"].get("namespace") for (kind, _), (_, doc) in docs.items()
                  if kind != "Namespace"}
    declared = {name for (kind, name) in docs if kind == "Namespace"}
    checks.check("k8s: every object in the namespace namespace.yaml creates",
                 len(namespaces) == 1 and namespaces == declared, f"{namespaces} vs {declared}")
    if not (workload and configmap and service):
        return

    spec = workload["spec"]
    pod = spec["template"]["spec"]
    pod_labels = spec["template"]["metadata"]["labels"]
    # A StatefulSet never runs two pods of one ordinal, so with one replica an update stops the old
    # pod before starting the new one, as a topic's publishers and subscribers need.
    update = spec.get("updateStrategy", {}).get("type", "RollingUpdate")
    checks.check("k8s: one replica, updated one pod at a time (RollingUpdate or OnDelete)",
                 spec.get("replicas") == 1 and update in ("RollingUpdate", "OnDelete"),
                 f"replicas {spec.get('replicas')}, {update}")
    checks.check("k8s: the StatefulSet's serviceName is the Service",
                 spec.get("serviceName") == service["metadata"]["name"],
                 str(spec.get("serviceName")))
    retention = spec.get("persistentVolumeClaimRetentionPolicy", {})
    checks.check("k8s: deleting or scaling the StatefulSet keeps the data (Retain)",
                 retention.get("whenDeleted", "Retain") == "Retain"
                 and retention.get("whenScaled", "Retain") == "Retain", str(retention))
    checks.check("k8s: selector matches the pod labels",
                 spec["selector"]["matchLabels"].items() <= pod_labels.items())
    containers = pod["containers"]
    if not checks.check("k8s: one container", len(containers) == 1):
        return
    container = containers[0]
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    checks.check("k8s: container ports grpc 7470 and metrics 9470",
                 ports == {"grpc": GRPC_PORT, "metrics": METRICS_PORT}, str(ports))
    resources = container.get("resources", {})
    checks.check("k8s: cpu and memory requests and limits",
                 all(resources.get(kind, {}).get(r) for kind in ("requests", "limits")
                     for r in ("cpu", "memory")), str(resources))
    pod_security = pod.get("securityContext", {})
    container_security = container.get("securityContext", {})
    checks.check("k8s: runs as a non-root user",
                 pod_security.get("runAsNonRoot") is True
                 and pod_security.get("runAsUser", 0) != 0, str(pod_security))
    checks.check("k8s: no privilege escalation, read-only root, no capabilities",
                 container_security.get("allowPrivilegeEscalation") is False
                 and container_security.get("readOnlyRootFilesystem") is True
                 and container_security.get("capabilities", {}).get("drop") == ["ALL"])
    run_as = container_security.get("runAsGroup", pod_security.get("runAsGroup"))
    checks.check("k8s: fsGroup is the user's group, so that it can write the data volume",
                 pod_security.get("fsGroup") is not None and pod_security.get("fsGroup") == run_as,
                 str(pod_security))

    # --flagfile names the mounted ConfigMap key.
    flagfile_args = [a for a in container.get("args", []) if a.startswith("--flagfile=")]
    flagfile = flagfile_args[0].split("=", 1)[1] if flagfile_args else ""
    mounts = {m["name"]: m["mountPath"] for m in container.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mounted_key = None
    for name, path in mounts.items():
        source = volumes.get(name, {}).get("configMap", {})
        if source.get("name") == configmap["metadata"]["name"] \
                and os.path.dirname(flagfile) == path.rstrip("/"):
            mounted_key = os.path.basename(flagfile)
    checks.check("k8s: --flagfile reads a key of the ConfigMap mounted from it",
                 mounted_key is not None and mounted_key in configmap.get("data", {}),
                 f"{flagfile}, mounts {mounts}")
    if mounted_key in configmap.get("data", {}):
        flags = flags_of(configmap["data"][mounted_key].splitlines())
        checks.check("k8s: flags listen on the container ports",
                     port_of(flags.get("listen", f"0.0.0.0:{GRPC_PORT}")) == GRPC_PORT
                     and port_of(flags.get("metrics_listen", f"0.0.0.0:{METRICS_PORT}"))
                     == METRICS_PORT)
        shutdown = seconds(flags.get("shutdown_timeout", f"{DEFAULT_SHUTDOWN_TIMEOUT}s"))
        pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
        delay = float(pre_stop[1]) if pre_stop[:1] == ["sleep"] else 0.0
        grace = pod.get("terminationGracePeriodSeconds", 30)
        checks.check("k8s: terminationGracePeriodSeconds exceeds preStop delay + --shutdown_timeout",
                     grace > delay + shutdown, f"{grace} <= {delay} + {shutdown}")
        check_data_volume(checks, flags, container, spec)
        check_probes(checks, flags, container)
        check_secret(checks, flags, container, pod, docs)

    # The Service exposes both ports by name and selects the pods.
    service_ports = {p.get("name"): (p.get("port"), p.get("targetPort"))
                     for p in service["spec"]["ports"]}
    checks.check("k8s: Service ports grpc 7470 and metrics 9470, by name",
                 service_ports == {"grpc": (GRPC_PORT, "grpc"),
                                   "metrics": (METRICS_PORT, "metrics")}, str(service_ports))
    checks.check("k8s: Service selects the pods",
                 service["spec"]["selector"].items() <= pod_labels.items())

    if monitor:
        checks.check("k8s: ServiceMonitor selects the Service",
                     monitor["spec"]["selector"]["matchLabels"].items()
                     <= service["metadata"]["labels"].items())
        checks.check("k8s: ServiceMonitor scrapes the Service's metrics port",
                     [e.get("port") for e in monitor["spec"]["endpoints"]] == ["metrics"])
        checks.check("k8s: Service name is the job the alerts expect",
                     service["metadata"]["name"] == "ringcast")
    if rule:
        checks.check("k8s: PrometheusRule holds exactly deploy/prometheus/alerts.yml",
                     rule.get("spec") == load_yaml(os.path.join(deploy, "prometheus", "alerts.yml")))


def health_command_flags(command):
    """{flag: value} of a `ringcast health` command line, or None if it is not one."""
    if command[:2] != ["ringcast", "health"]:
        return None
    return {a.lstrip("-").partition("=")[0]: a.partition("=")[2] for a in command[2:]
            if a.startswith("--")}


def check_probes(checks, flags, container):
    """Health probes on the gRPC port: the kubelet's gRPC probe for a plaintext server; for a TLS
    one (which the kubelet's probe cannot speak) `ringcast health` with TLS in the container,
    presenting a client certificate when the server requires one."""
    tls = bool(flags.get("tls_cert"))
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        spec = container.get(probe, {})
        if not tls:
            checks.check(f"k8s: {probe} is a gRPC probe on {GRPC_PORT}",
                         spec.get("grpc", {}).get("port") == GRPC_PORT, str(spec))
            continue
        health = health_command_flags(spec.get("exec", {}).get("command", []))
        ok = health is not None and health.get("server") == f"127.0.0.1:{GRPC_PORT}" \
            and "tls" in health and health.get("tls_ca") and health.get("tls_server_name")
        if flags.get("tls_client_ca"):
            ok = ok and health.get("tls_cert") and health.get("tls_key")
        checks.check(f"k8s: {probe} runs `ringcast health` with TLS on 127.0.0.1:{GRPC_PORT} "
                     "(the server speaks TLS)", bool(ok), str(spec))
        timeout = seconds(health.get("timeout", "10s")) if health else 0
        checks.check(f"k8s: {probe}'s --timeout is under its timeoutSeconds",
                     health is not None and timeout < spec.get("timeoutSeconds", 1),
                     f"{timeout} vs {spec.get('timeoutSeconds')}")


def check_secret(checks, flags, container, pod, docs):
    """The TLS files and the auth file the flag file names come from a Secret mounted read-only as
    a whole volume (a subPath mount would not see the Secret change), whose keys they are; the
    Secret in the repository holds placeholders, never a key. /metrics, which TLS would move to
    loopback, stays reachable for the ServiceMonitor."""
    files = {name: flags[name] for name in ("tls_cert", "tls_key", "tls_client_ca", "auth_file")
             if flags.get(name)}
    checks.check("k8s: the flag file sets TLS, mTLS and the auth file",
                 set(files) == {"tls_cert", "tls_key", "tls_client_ca", "auth_file"}, str(files))
    if flags.get("tls_cert"):
        metrics = flags.get("metrics_listen", "127.0.0.1:9470")
        checks.check("k8s: with TLS, --metrics_listen is set off loopback (the ServiceMonitor "
                     "scrapes the pod's address)", not metrics.startswith("127.")
                     and port_of(metrics) == METRICS_PORT, metrics)
    secrets = {name: doc for (kind, name), (_, doc) in docs.items() if kind == "Secret"}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for flag, path in files.items():
        mounts = [m for m in container.get("volumeMounts", [])
                  if os.path.dirname(path) == m.get("mountPath", "").rstrip("/")]
        volume = volumes.get(mounts[0]["name"], {}) if len(mounts) == 1 else {}
        secret = secrets.get(volume.get("secret", {}).get("secretName"))
        checks.check(f"k8s: --{flag} is a key of a Secret of secret.yaml mounted read-only "
                     "(no subPath)",
                     secret is not None and mounts[0].get("readOnly") is True
                     and not mounts[0].get("subPath")
                     and os.path.basename(path) in {**secret.get("data", {}),
                                                    **secret.get("stringData", {})},
                     f"{path}: mounts {mounts}, volume {volume}")
    for name, secret in secrets.items():
        values = {**secret.get("stringData", {}), **secret.get("data", {})}
        checks.check(f"k8s: Secret {name} holds placeholders, not keys or certificates",
                     not any("-----BEGIN" in str(v) for v in values.values())
                     and all("PLACEHOLDER" in str(v) for v in values.values()), str(values))


def check_data_volume(checks, flags, container, spec):
    """The flag file's --data_dir is a volumeClaimTemplate mounted read-write, and big enough for
    what the flags let the journals keep."""
    data_dir = flags.get("data_dir", "")
    checks.check("k8s: the flag file names an absolute --data_dir (the root file system is "
                 "read-only)", data_dir.startswith("/"), data_dir)
    claims = {c["metadata"]["name"]: c for c in spec.get("volumeClaimTemplates", [])}
    mounts = [m for m in container.get("volumeMounts", [])
              if m.get("mountPath", "").rstrip("/") == data_dir.rstrip("/")]
    mounted = mounts[0]["name"] if len(mounts) == 1 else None
    if not checks.check("k8s: a volumeClaimTemplate is mounted read-write at --data_dir",
                        mounted in claims and not mounts[0].get("readOnly")
                        and not mounts[0].get("subPath"),
                        f"claims {sorted(claims)}, mounts at {data_dir}: {mounts}"):
        return
    claim = claims[mounted]["spec"]
    checks.check("k8s: the data claim is ReadWriteOnce (one pod writes it)",
                 claim.get("accessModes") in (["ReadWriteOnce"], ["ReadWriteOncePod"]),
                 str(claim.get("accessModes")))
    storage = claim.get("resources", {}).get("requests", {}).get("storage")
    if not checks.check("k8s: the data claim requests storage", storage is not None):
        return
    # Retention deletes whole old segments, never the one being written: a topic keeps at most
    # about --retention_bytes plus a segment. Every topic at that, plus the free-space guard, fits.
    retention = int(flags.get("retention_bytes", "0"))
    if checks.check("k8s: --retention_bytes bounds the journals (the volume is fixed)",
                    retention > 0):
        topics = int(flags.get("max_topics", DEFAULT_MAX_TOPICS))
        segment = int(flags.get("segment_bytes", DEFAULT_SEGMENT_BYTES))
        guard = int(flags.get("min_free_bytes", DEFAULT_MIN_FREE_BYTES))
        need = topics * (retention + segment) + guard
        checks.check("k8s: the claim holds --max_topics x (--retention_bytes + --segment_bytes) + "
                     "--min_free_bytes", quantity(storage) >= need,
                     f"{storage} = {quantity(storage)} < {need}")


def main():
    deploy = os.path.abspath(sys.argv[1])
    checks = Checks()
    check_compose(checks, deploy)
    check_grafana_provisioning(checks, deploy)
    check_dashboard(checks, deploy)
    check_kubernetes(checks, deploy)
    checks.finish()


if __name__ == "__main__":
    main()
