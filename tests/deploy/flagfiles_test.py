#!/usr/bin/env python3
"""The ringcastd flags each deploy option ships are accepted by a real ringcastd and take effect.

For the Kubernetes ConfigMap's flagfile, the systemd flagfile (alone, and with the TLS drop-in's
flags) and the compose command: each names
an absolute --data_dir (durable topics; the deployment mounts or creates it there, which
manifests_test.py and systemd_unit_test.sh check). Starts ringcastd with them (listen addresses
overridden to free local ports, the data directory to a temporary one), checks its start-up line
reports the configured ring capacity and journal sync mode, publishes to a topic so the journal
is written, then stops it with SIGTERM and expects a clean exit 0. ringcastd refuses unknown flags
and bad values, so a typo in any of them fails here. The TLS files and auth file they name are
replaced by development ones (deploy/dev-certs.sh, deploy/auth.example.json), and the publish goes
over TLS with a client certificate and the development token where the flags ask for them.

Usage: flagfiles_test.py RINGCASTD DEPLOY_DIR [RINGCAST]
"""

import json
import os
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True

import yaml  # noqa: E402

from deploy_support import Checks, Ringcastd, ringcast  # noqa: E402


DEV_TOKEN = "ringcast-development-token-not-a-secret"  # deploy/auth.example.json's token


def flag_sets(deploy):
    """(name, flagfile text) of every deploy option (the systemd one twice: plain, and with the
    flags of the ringcastd-tls.conf drop-in's ExecStart after it)."""
    with open(os.path.join(deploy, "k8s", "configmap.yaml"), encoding="utf-8") as f:
        configmap = yaml.safe_load(f)
    for key, text in configmap["data"].items():
        yield f"k8s ConfigMap {key}", text
    with open(os.path.join(deploy, "systemd", "ringcastd.flags"), encoding="utf-8") as f:
        systemd_flags = f.read()
    yield "systemd ringcastd.flags", systemd_flags
    with open(os.path.join(deploy, "systemd", "ringcastd-tls.conf"), encoding="utf-8") as f:
        exec_start = [line.split("=", 1)[1].split() for line in f
                      if line.startswith("ExecStart=") and line.strip() != "ExecStart="]
    extra = [a for a in exec_start[-1][1:] if not a.startswith("--flagfile=")] if exec_start else []
    yield "systemd ringcastd.flags + ringcastd-tls.conf", systemd_flags + "\n".join(extra) + "\n"
    with open(os.path.join(deploy, "docker-compose.yml"), encoding="utf-8") as f:
        compose = yaml.safe_load(f)
    yield "compose ringcastd command", "\n".join(compose["services"]["ringcastd"]["command"]) + "\n"


def with_dev_files(text, certs, auth_file):
    """The flag set with its TLS files and auth file replaced by deploy/dev-certs.sh's files (by
    their base names: tls.crt, tls.key, ca.crt; %d/ of systemd too) and auth.example.json."""
    lines = []
    for line in text.splitlines():
        name, _, value = line.strip().partition("=")
        if name in ("--tls_cert", "--tls_key", "--tls_client_ca"):
            line = f"{name}={os.path.join(certs, os.path.basename(value))}"
        elif name == "--auth_file":
            line = f"{name}={auth_file}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def main():
    binary, deploy = sys.argv[1], sys.argv[2]
    cli = sys.argv[3] if len(sys.argv) > 3 else None
    checks = Checks()
    sets = list(flag_sets(deploy))
    checks.check("four flag sets", len(sets) == 4, str([name for name, _ in sets]))
    work = tempfile.TemporaryDirectory(prefix="ringcast-dev-certs-")
    certs = os.path.join(work.name, "certs")
    made = subprocess.run(["bash", os.path.join(deploy, "dev-certs.sh"), certs],
                          capture_output=True, text=True, check=False)
    checks.check("deploy/dev-certs.sh makes the development certificates", made.returncode == 0,
                 made.stdout + made.stderr)
    for name, text in sets:
        flags = dict(line.strip().lstrip("-").split("=", 1) for line in text.splitlines()
                     if line.strip() and not line.strip().startswith("#"))
        secured = bool(flags.get("tls_cert")) and bool(flags.get("auth_file"))
        text = with_dev_files(text, certs, os.path.join(deploy, "auth.example.json"))
        # A TLS server: the tool checks it with the development CA, under a name its certificate
        # carries, presents the development client certificate, and the development token (the
        # principal with every right).
        client = []
        if flags.get("tls_cert"):
            client += ["--tls", f"--tls_ca={certs}/ca.crt", "--tls_server_name=localhost"]
        if flags.get("tls_client_ca"):
            client += [f"--tls_cert={certs}/client.crt", f"--tls_key={certs}/client.key"]
        if flags.get("auth_file"):
            client += [f"--token={DEV_TOKEN}"]
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
                if secured:
                    checks.check(f"{name}: TLS, mTLS and the auth file take effect",
                                 started.get("tls") == ("mtls" if flags.get("tls_client_ca")
                                                        else "on")
                                 and bool(started.get("auth_file")), server.first_line)
                    checks.check(f"{name}: no \"not secured\" warning",
                                 "ringcastd is not secured" not in server.log(), server.log())
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
                        ringcast(cli, server.address, "publish", "deploy", "--count=100",
                                 *client)
                        published = True
                    except RuntimeError as error:
                        published = str(error)
                    checks.check(f"{name}: a publish is journaled and acknowledged",
                                 published is True, str(published))
                status = server.terminate(timeout=40)
                checks.check(f"{name}: SIGTERM ends it with status 0", status == 0,
                             f"status {status}: {server.log()}")
    work.cleanup()
    checks.finish()


if __name__ == "__main__":
    main()
