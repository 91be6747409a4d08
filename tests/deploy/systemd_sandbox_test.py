#!/usr/bin/env python3
"""ringcastd lives within the kernel sandbox deploy/systemd/ringcastd.service puts it in.

systemd cannot start the unit here, so the sandbox is checked from the other side: ringcastd runs
under strace with the unit's flag file (listen addresses moved to free local ports, --data_dir to
a temporary stand-in for the unit's StateDirectory) through two whole lives on one data directory,
and everything it asked of the kernel must be allowed by the unit:

1. start, topic creation, publishing with a live subscriber, enough events to roll journal
   segments and have retention delete the oldest (segment and retention sizes shrunk for that), a
   metrics scrape, the topic calls, a topic deleted with its journal, health, and the graceful
   shutdown on SIGTERM;
2. after the last segment's tail is torn (as a crash mid-write leaves it): start-up recovery
   cutting it, a subscriber replaying from the journal (events older than the ring), more
   publishing, and the graceful shutdown again.

Checks on the traces (strace -y, so that descriptors show their paths):

* every system call is in the unit's SystemCallFilter (its groups expanded by
  `systemd-analyze syscall-filter`, `~` lines removed);
* every socket family is in RestrictAddressFamilies;
* no memory is mapped writable and executable at once (MemoryDenyWriteExecute=yes);
* every path ringcastd creates, opens for writing, renames, links, truncates or deletes is inside
  its data directory (or /dev): under ProtectSystem=strict the unit's StateDirectory is the only
  writable place, and the flag file's --data_dir must be that StateDirectory.

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


# Small journal sizes, so that a few seconds of publishing roll segments and retention deletes
# some: a segment must hold 4 of the largest events plus 1 MiB.
JOURNAL_FLAGS = ("--max_event_bytes=4096", "--segment_bytes=1114112", "--retention_bytes=2228224")

# System calls that change the file system, and how to find the paths they change in strace -y's
# output: the path arguments (a quoted string, after a directory descriptor for the *at calls) and,
# for the calls on a descriptor, the descriptor's path.
PATH_CALLS = {"creat", "mkdir", "mkdirat", "rename", "renameat", "renameat2", "link", "linkat",
              "symlink", "symlinkat", "unlink", "unlinkat", "rmdir", "truncate", "mknod",
              "mknodat", "chmod", "fchmodat", "chown", "lchown", "fchownat", "utimensat"}
FD_CALLS = {"ftruncate", "fallocate", "fchmod", "fchown"}
OPEN_CALLS = {"open", "openat", "openat2"}
WRITE_FLAGS = re.compile(r"\bO_(?:WRONLY|RDWR|CREAT|TRUNC|APPEND)\b")
CALL = re.compile(r"^\d+\s+([a-z_0-9]+)\((.*)$")
# An optional directory descriptor (AT_FDCWD</cwd> or 12</dir>), then a quoted path.
PATH_ARG = re.compile(r'(?:(?:AT_FDCWD|-?\d+)<([^>]*)>,\s*)?"((?:[^"\\]|\\.)*)"')
FD_ARG = re.compile(r"^-?\d+<([^>]*)>")


def written_paths(line, cwd):
    """The paths a traced call changes (empty for calls that change none)."""
    match = CALL.match(line)
    if not match:
        return []
    name, args = match.groups()
    if name in FD_CALLS:
        fd = FD_ARG.match(args)
        return [fd.group(1)] if fd else [f"<{name} on an unknown descriptor>"]
    if name in OPEN_CALLS and not WRITE_FLAGS.search(args.split("=", 1)[0]):
        return []
    if name not in PATH_CALLS and name not in OPEN_CALLS:
        return []
    paths = []
    for directory, path in PATH_ARG.findall(args.split(") = ", 1)[0]):
        if name in OPEN_CALLS and paths:
            break  # only the first string of an open is a path
        paths.append(os.path.normpath(os.path.join(directory or cwd, path)))
    return paths


def inside(path, folder):
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def metric(exposition, name):
    """The sum of a metric's samples in a /metrics exposition (0 if absent)."""
    total = 0.0
    for line in exposition.splitlines():
        if line.startswith(name) and line[len(name):len(name) + 1] in ("{", " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def wait_for(condition, timeout, poll=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if poll:
            poll()
        time.sleep(0.2)
    return condition()


def traced(binary, trace, flagfile, data_dir):
    strace = ["strace", "-f", "-qq", "-y", "-o", trace, "--", binary]
    return Ringcastd(strace[0], *strace[1:], f"--flagfile={flagfile}", f"--data_dir={data_dir}",
                     *JOURNAL_FLAGS)


def stop(checks, server, life):
    """SIGTERM to ringcastd itself (strace would only detach), then its exit status."""
    tracee = children(server.proc.pid)
    if tracee:
        os.kill(tracee[0], 15)
    status = server.proc.wait(timeout=40)
    checks.check(f"{life}: ringcastd shuts down with status 0", status == 0, f"{status}")


def first_life(checks, binary, cli, trace, flagfile, data_dir):
    server = traced(binary, trace, flagfile, data_dir)
    with server:
        tracee = children(server.proc.pid)
        checks.check("ringcastd runs under strace", len(tracee) == 1, str(tracee))
        ringcast(cli, server.address, "topics", "create", "orders", "--capacity=1024")
        subscriber = subprocess.Popen([cli, f"--server={server.address}", "subscribe",
                                       "orders", "--count=500"], stdout=subprocess.DEVNULL)
        time.sleep(0.5)
        ringcast(cli, server.address, "publish", "orders", "--count=500", "--size=64")
        subscriber.wait(timeout=30)
        # About 6 MB: segments roll; retention (looked at every second, when the topic is
        # written) then deletes the oldest.
        ringcast(cli, server.address, "publish", "orders", "--count=50000", "--size=100")
        # Judged by the segment files, not by a count of them: retention may already have run.
        checks.check("first life: journal segments rolled",
                     any(not f.startswith("00000000000000000000") for f in segment_files(data_dir)),
                     str(segment_files(data_dir)))
        checks.check("first life: retention deleted the first segment", wait_for(
            lambda: "00000000000000000000.log" not in segment_files(data_dir), 10,
            poll=lambda: ringcast(cli, server.address, "publish", "orders", "--count=1")),
            str(segment_files(data_dir)))
        ringcast(cli, server.address, "stats")
        ringcast(cli, server.address, "topics", "create", "scratch")
        ringcast(cli, server.address, "publish", "scratch", "--count=10")
        ringcast(cli, server.address, "topics", "delete", "scratch")
        ringcast(cli, server.address, "health")
        stop(checks, server, "first life")


def segment_files(data_dir, topic="orders"):
    """The names of a topic's journal segment files, oldest first."""
    folder = os.path.join(data_dir, "topics", f"t_{topic}")
    return sorted(f for f in os.listdir(folder) if f.endswith(".log")) \
        if os.path.isdir(folder) else []


def tear_last_segment(checks, data_dir):
    folder = os.path.join(data_dir, "topics", "t_orders")
    segments = segment_files(data_dir)
    if not checks.check("the topic's journal has segment files", bool(segments), str(segments)):
        return
    last = os.path.join(folder, segments[-1])
    with open(last, "r+b") as f:
        f.truncate(os.path.getsize(last) - 7)  # mid-record


def second_life(checks, binary, cli, trace, flagfile, data_dir):
    server = traced(binary, trace, flagfile, data_dir)
    with server:
        exposition = server.metrics()
        checks.check("second life: recovery cut the torn tail",
                     metric(exposition, "ringcast_journal_truncated_bytes_total") > 0)
        # From the oldest retained event: thousands more than the ring's 1024 slots.
        ringcast(cli, server.address, "subscribe", "orders", "--from=earliest", "--count=5000")
        checks.check("second life: events were replayed from disk", wait_for(
            lambda: metric(server.metrics(), "ringcast_events_replayed_from_disk_total") > 0, 5))
        ringcast(cli, server.address, "publish", "orders", "--count=500", "--size=64")
        ringcast(cli, server.address, "health")
        stop(checks, server, "second life")


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

    # The data directory the flag file names is the unit's StateDirectory (under
    # ProtectSystem=strict nothing else is writable); the traced runs use a stand-in for it.
    flagfile = os.path.join(deploy, "systemd", "ringcastd.flags")
    with open(flagfile, encoding="utf-8") as f:
        data_dirs = [line.strip().split("=", 1)[1] for line in f
                     if line.strip().startswith("--data_dir=")]
    state = unit.get("StateDirectory", [""])[-1].split()
    checks.check("the flag file's --data_dir is the unit's StateDirectory",
                 bool(data_dirs) and bool(state) and data_dirs[-1] == f"/var/lib/{state[0]}",
                 f"--data_dir {data_dirs}, StateDirectory {state}")

    lines = []
    with tempfile.TemporaryDirectory() as work:
        data_dir = os.path.join(work, "state")
        traces = [os.path.join(work, "first.strace"), os.path.join(work, "second.strace")]
        first_life(checks, binary, cli, traces[0], flagfile, data_dir)
        tear_last_segment(checks, data_dir)
        second_life(checks, binary, cli, traces[1], flagfile, data_dir)
        for trace in traces:
            with open(trace, encoding="utf-8", errors="replace") as f:
                lines += f.read().splitlines()

        used = set()
        socket_families = set()
        wx_mappings = []
        outside, written = set(), set()
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
            for path in written_paths(line, os.getcwd()):
                written.add(path)
                if not (inside(path, data_dir) or inside(path, "/dev")):
                    outside.add(path)
        # Or the check below would prove nothing.
        checks.check("the trace saw ringcastd write its data directory (LOCK, segments, indexes)",
                     {"LOCK", "topic.meta"} <= {os.path.basename(p) for p in written}
                     and any(p.endswith(".log") for p in written)
                     and any(p.endswith(".idx") for p in written), str(sorted(written)[:20]))
        journal_calls = {"flock", "fdatasync", "rename", "ftruncate", "unlinkat", "statfs"}
        checks.check("the trace saw the journal's system calls", journal_calls <= used,
                     str(sorted(journal_calls - used)))

    checks.check("the trace saw the server's system calls", len(used) >= 30, str(sorted(used)))
    checks.check(f"every system call is allowed by SystemCallFilter ({len(used)} used)",
                 used <= allowed, str(sorted(used - allowed)))
    checks.check("every socket family is in RestrictAddressFamilies",
                 bool(socket_families) and socket_families <= families,
                 f"used {sorted(socket_families)}, allowed {sorted(families)}")
    if unit.get("MemoryDenyWriteExecute", ["no"])[-1] == "yes":
        checks.check("no writable and executable mapping (MemoryDenyWriteExecute=yes)",
                     not wx_mappings, "\n".join(wx_mappings[:5]))
    checks.check("every path ringcastd writes is in its data directory (or /dev)",
                 not outside, str(sorted(outside)[:10]))
    checks.finish()


if __name__ == "__main__":
    main()
