#!/usr/bin/env python3
"""The ringcastd flags each deploy option ships are accepted by a real ringcastd and take effect.

For the Kubernetes ConfigMap's flagfile, the systemd flagfile and the compose command: each names
an absolute --data_dir (durable topics; the deployment mounts or creates it there, which
manifests_test.py and systemd_unit_test.sh check). Starts ringcastd with them (listen addresses
overridden to free local ports, the data directory to a temporary one), checks its start-up line
reports the configured ring capacity and journal sync mode, publishes to a topic so the journal
is written, then stops it with SIGTERM and expects a clean exit 0. ringcastd refuses unknown flags
and bad values, so a typo in any of them fails here.

Usage: flagfiles_test.py RINGCASTD DEPLOY_DIR [RINGCAST]
"""

import json
import os
import sys
import tempfile

sys.dont_write_bytecode = True

import yaml  # noqa: E402

from deploy_support import Checks, Ringcastd, ringcast  # noqa: E402


def flag_sets(deploy):
    """(name, flagfile text) of every deploy option."""
    with open(os.path.join(deploy, "k8s", "configmap.yaml"), encoding="utf-8") as f:
        configmap = yaml.safe_load(f)
    for key, text in configmap["data"].items():
        yield f"k8s ConfigMap {key}", text
    with open(os.path.join(deploy, "systemd", "ringcastd.flags"), encoding="utf-8") as f:
        yield "systemd ringcastd.flags", f.read()
    with open(os.path.join(deploy, "docker-compose.yml"), encoding="utf-8") as f:
        compose = yaml.safe_load(f)
    yield "compose ringcastd command", "\n".join(compose["services"]["ringcastd"]["command"]) + "\n"


def main():
    binary, deploy = sys.argv[1], sys.argv[2]
    cli = sys.argv[3] if len(sys.argv) > 3 else None
    checks = Checks()
    sets = list(flag_sets(deploy))
    checks.check("three flag sets", len(sets) == 3, str([name for name, _ in sets]))
    for name, text in sets:
        flags = dict(line.strip().lstrip("-").split("=", 1) for line in text.splitlines()
                     if line.strip() and not line.strip().startswith("#"))
        checks.check(f"{name}: names an absolute --data_dir (durable topics)",
                     flags.get("data_dir", "").startswith("/"), flags.get("data_dir"))
        with tempfile.NamedTemporaryFile("w", suffix=".flags") as flagfile:
            flagfile.write(text)
            flagfile.flush()
            try:
                server = Ringcastd(binary, f"--flagfile={flagfile.name}")
            except RuntimeError as error:
                checks.check(f"{name}: ringcastd starts with it", False, str(error))
                continue
            with server:
                checks.check(f"{name}: ringcastd starts with it", True)
                started = json.loads(server.first_line)
                if "default_ring_capacity" in flags:
                    checks.check(f"{name}: --default_ring_capacity takes effect",
                                 str(started.get("default_ring_capacity"))
                                 == flags["default_ring_capacity"], server.first_line)
                if "journal_sync" in flags:
                    checks.check(f"{name}: --journal_sync takes effect",
                                 started.get("journal_sync") == flags["journal_sync"],
                                 server.first_line)
                if cli:
                    try:
                        ringcast(cli, server.address, "publish", "deploy", "--count=100")
                        published = True
                    except RuntimeError as error:
                        published = str(error)
                    checks.check(f"{name}: a publish is journaled and acknowledged",
                                 published is True, str(published))
                status = server.terminate(timeout=40)
                checks.check(f"{name}: SIGTERM ends it with status 0", status == 0,
                             f"status {status}: {server.log()}")
    checks.finish()


if __name__ == "__main__":
    main()
