#!/usr/bin/env python3
"""The final stage of deploy/Dockerfile installs every Debian package whose shared libraries the
built ringcastd and ringcast load, and no package that owns none of them.

`ldd` lists the libraries, `dpkg -S` names their packages (the path as ldd resolved it, its real
path, and the same with or without /usr, since bookworm merges /lib into /usr/lib). The image is
bookworm, so this runs on a Debian 12 host (as `make test` does); elsewhere it reports a skip.

Usage: docker_runtime_libs_test.py DEPLOY_DIR RINGCASTD RINGCAST
"""

import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True

from deploy_support import Checks, apt_packages, dockerfile_stages  # noqa: E402

SKIP = 77


def host_is_bookworm():
    try:
        with open("/etc/os-release", encoding="utf-8") as f:
            return re.search(r"^VERSION_CODENAME=bookworm$", f.read(), re.M) is not None
    except OSError:
        return False


def libraries(binary):
    """(soname, path) of every shared library ldd resolves; a missing one has path None."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        match = re.match(r"\s*(\S+) => (not found|(/\S+))", line)
        if match:
            found.append((match.group(1), match.group(3)))
        elif re.match(r"\s*(/\S+) \(0x", line):
            path = line.split()[0]
            found.append((os.path.basename(path), path))
    return found


def candidates(path):
    """The path as ldd resolved it, its real path, and each with or without /usr."""
    paths = [path, os.path.realpath(path)]
    for candidate in list(paths):
        paths.append(candidate[len("/usr"):] if candidate.startswith("/usr/") else "/usr" + candidate)
    return paths


def owners(paths):
    """{path: package} for the paths dpkg knows, from a single `dpkg -S` run."""
    result = subprocess.run(["dpkg", "-S", *sorted(set(paths))], capture_output=True, text=True,
                            check=False)
    found = {}
    for line in result.stdout.splitlines():
        # "libfoo1:amd64: /usr/lib/x86_64-linux-gnu/libfoo.so.1"
        packages, _, path = line.rpartition(": ")
        found[path.strip()] = packages.split(",")[0].split(":")[0].strip()
    return found


def main():
    deploy, binaries = sys.argv[1], sys.argv[2:4]
    if not host_is_bookworm():
        print("skipped: the image is Debian 12 (bookworm); package names are checked on a "
              "bookworm host only")
        sys.exit(SKIP)
    checks = Checks()
    loaded = {}
    for binary in binaries:
        for soname, path in libraries(binary):
            if checks.check(f"{os.path.basename(binary)}: {soname} resolves", path is not None):
                loaded[soname] = path
    known = owners(p for path in loaded.values() for p in candidates(path))
    needed = {}
    for soname, path in sorted(loaded.items()):
        package = next((known[p] for p in candidates(path) if p in known), None)
        if checks.check(f"{soname} belongs to a Debian package", package is not None, path):
            needed.setdefault(package, set()).add(soname)
    checks.check("the binaries load libraries of several packages", len(needed) >= 5,
                 str(sorted(needed)))

    final = dockerfile_stages(os.path.join(deploy, "Dockerfile"))[-1]
    installed = {p for kw, args in final["instructions"] if kw == "RUN" for p in apt_packages(args)}
    for package, sonames in sorted(needed.items()):
        names = sorted(sonames)
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        checks.check(f"the image installs {package} ({shown})", package in installed)
    for package in sorted(installed - set(needed)):
        checks.check(f"the image installs {package} for a library the binaries load", False)
    checks.finish()


if __name__ == "__main__":
    main()
