#!/usr/bin/env python3
"""ringcastd lives within the kernel sandbox deploy/systemd/ringcastd.service puts it in.

systemd cannot start the unit here, so the sandbox is checked from the other side: ringcastd runs
under strace with the unit's flag file (listen addresses moved to free local ports) through a
whole life (start, topic creation, publishing, a live subscriber, a metrics scrape, the topic
calls, health, and the graceful shutdown on SIGTERM), and everything it asked of the kernel must be
allowed by the unit:

* every system call is in the unit's SystemCallFilter (its groups expanded by
  `systemd-analyze syscall-filter`, `~` lines removed);
* every socket family is in RestrictAddressFamilies;
* no memory is mapped writable and executable at once (MemoryDenyWriteExecute=yes).

Usage: systemd_sandbox_test.py RINGCASTD RINGCAST DEPLOY_DIR
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True

from deploy_support import Checks, Ringcastd, ringcast  # noqa: E402


def unit_settings(path):
    settings = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith(("#", ";", "[")) and "=" in line:
                key, value = line.split("=", 1)
                settings.setdefault(key, []).append(value)
    return settings


def syscall_groups():
    """{@group: [members]} as this systemd defines them."""
    out = subprocess.run(["systemd-analyze", "syscall-filter"], capture_output=True, text=True,
                         check=True).stdout
    groups, current = {}, None
    for line in out.splitlines():
        if line.startswith("@"):
            current = line.strip()
            groups[current] = []
        elif current and line.strip() and not line.strip().startswith("#"):
            groups[current].append(line.strip())
    return groups


def expand(names, groups, seen=None):
    seen = set() if seen is None else seen
    result = set()
    for name in names:
        if name.startswith("@"):
            if name not in seen:
                seen.add(name)
                result |= expand(groups.get(name, []), groups, seen)
        else:
            result.add(name)
    return result


def allowed_syscalls(filters, groups):
    """The allow list of SystemCallFilter= lines: allowed names, minus those of `~` lines."""
    allowed, denied = set(), set()
    for value in filters:
        deny = value.startswith("~")
        names = value.lstrip("~").split()
        (denied if deny else allowed).update(expand(names, groups))
    return allowed - denied


def children(pid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return found


def main():
    binary, cli, deploy = sys.argv[1:4]
    checks = Checks()
    if shutil.which("strace") is None:
        print("strace is missing (Debian package strace)")
        sys.exit(1)
    # Some containers forbid ptrace altogether; then nothing here can be traced: skip, saying why.
    probe = subprocess.run(["strace", "-f", "-qq", "-o", os.devnull, "--", "true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        print(f"SKIPPED: this machine does not allow tracing processes: {probe.stderr.strip()}")
        sys.exit(77)
    unit = unit_settings(os.path.join(deploy, "systemd", "ringcastd.service"))
    allowed = allowed_syscalls(unit.get("SystemCallFilter", []), syscall_groups())
    families = set(" ".join(unit.get("RestrictAddressFamilies", [])).split())
    checks.check("the unit has a SystemCallFilter allow list", len(allowed) > 100)

    with tempfile.TemporaryDirectory() as work:
        trace = os.path.join(work, "strace.out")
        strace = ["strace", "-f", "-qq", "-o", trace, "--", binary]
        flagfile = os.path.join(deploy, "systemd", "ringcastd.flags")
        server = Ringcastd(strace[0], *strace[1:], f"--flagfile={flagfile}")
        with server:
            tracee = children(server.proc.pid)
            checks.check("ringcastd runs under strace", len(tracee) == 1, str(tracee))
            ringcast(cli, server.address, "topics", "create", "orders", "--capacity=1024")
            subscriber = subprocess.Popen([cli, f"--server={server.address}", "subscribe",
                                           "orders", "--count=500"], stdout=subprocess.DEVNULL)
            time.sleep(0.5)
            ringcast(cli, server.address, "publish", "orders", "--count=500", "--size=64")
            subscriber.wait(timeout=30)
            server.metrics()
            ringcast(cli, server.address, "stats")
            ringcast(cli, server.address, "topics", "delete", "orders")
            ringcast(cli, server.address, "health")
            # SIGTERM goes to ringcastd itself: strace would only detach.
            os.kill(tracee[0], 15)
            status = server.proc.wait(timeout=40)
            checks.check("ringcastd shuts down with status 0", status == 0, f"{status}")
        with open(trace, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()

    used = set()
    socket_families = set()
    wx_mappings = []
    for line in lines:
        match = re.match(r"\d+\s+(?:<\.\.\. )?([a-z_0-9]+)(?:\(| resumed>)", line)
        if match:
            used.add(match.group(1))
        family = re.search(r"\bsocket(?:pair)?\((AF_[A-Z0-9]+)", line)
        if family:
            socket_families.add(family.group(1))
        if re.search(r"\b(mmap|mprotect|pkey_mprotect)\(", line) and "PROT_WRITE" in line \
                and "PROT_EXEC" in line:
            wx_mappings.append(line)
    checks.check("the trace saw the server's system calls", len(used) >= 30, str(sorted(used)))
    checks.check(f"every system call is allowed by SystemCallFilter ({len(used)} used)",
                 used <= allowed, str(sorted(used - allowed)))
    checks.check("every socket family is in RestrictAddressFamilies",
                 bool(socket_families) and socket_families <= families,
                 f"used {sorted(socket_families)}, allowed {sorted(families)}")
    if unit.get("MemoryDenyWriteExecute", ["no"])[-1] == "yes":
        checks.check("no writable and executable mapping (MemoryDenyWriteExecute=yes)",
                     not wx_mappings, "\n".join(wx_mappings[:5]))
    checks.finish()


if __name__ == "__main__":
    main()
