#!/usr/bin/env python3
"""Checks of deploy/Dockerfile (no Dockerfile linter is installed here).

* Two stages, both on debian:bookworm; the final one on debian:bookworm-slim.
* The build stage installs only packages of scripts/install-deps.sh, copies only sources that
  Dockerfile.dockerignore lets into the context (and that exist), and builds Release with tests,
  benchmarks and examples off.
* The final stage copies exactly the two binaries from the build stage, runs as a non-root USER,
  exposes 7470 and 9470, has a HEALTHCHECK with `ringcast health` on 127.0.0.1:7470, stops with
  SIGTERM, and its entrypoint is ringcastd.
* Durable topics: the data directory ringcastd uses by default in the image (the entrypoint's
  --data_dir, else ringcastd's own default under the WORKDIR) is an absolute path that is a
  VOLUME, created before the VOLUME instruction and owned by the USER (so a new named volume is
  writable by it).

Usage: dockerfile_test.py DEPLOY_DIR SOURCE_DIR
"""

import fnmatch
import json
import os
import re
import sys

sys.dont_write_bytecode = True

from deploy_support import Checks, apt_packages, dockerfile_stages  # noqa: E402


def install_deps_packages(source):
    with open(os.path.join(source, "scripts", "install-deps.sh"), encoding="utf-8") as f:
        text = f.read()
    block = re.search(r"^packages=\((.*?)^\)", text, re.S | re.M)
    words = []
    for line in block.group(1).splitlines():
        words += line.split("#", 1)[0].split()
    return set(words)


def context_allows(ignore_file, path):
    """Whether a .dockerignore keeps `path` (relative to the context) in the build context: the
    last matching pattern wins, and a pattern matching a parent folder matches what is inside."""
    with open(ignore_file, encoding="utf-8") as f:
        patterns = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    parts = path.strip("/").split("/")
    kept = True
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        depth = len(pattern.split("/"))
        if len(parts) >= depth and fnmatch.fnmatchcase("/".join(parts[:depth]), pattern):
            kept = negate
    return kept


def main():
    deploy, source = sys.argv[1], sys.argv[2]
    checks = Checks()
    stages = dockerfile_stages(os.path.join(deploy, "Dockerfile"))
    if not checks.check("two stages", len(stages) == 2, str([s["from"] for s in stages])):
        checks.finish()
    build, final = stages
    checks.check("every stage is FROM debian:bookworm",
                 all(re.fullmatch(r"debian:bookworm(-slim)?", s["from"]) for s in stages))
    checks.check("the final stage is debian:bookworm-slim", final["from"] == "debian:bookworm-slim")
    checks.check("the build stage is named", bool(build["name"]))

    def instructions(stage, keyword):
        return [args for kw, args in stage["instructions"] if kw == keyword]

    # Build stage.
    allowed = install_deps_packages(source)
    build_packages = [p for run in instructions(build, "RUN") for p in apt_packages(run)]
    checks.check("the build stage installs packages", bool(build_packages))
    checks.check("the build stage's packages are all in scripts/install-deps.sh",
                 set(build_packages) <= allowed, str(set(build_packages) - allowed))
    ignore = os.path.join(deploy, "Dockerfile.dockerignore")
    for copy in instructions(build, "COPY"):
        for src in copy.split()[:-1]:
            checks.check(f"build COPY {src} exists", os.path.exists(os.path.join(source, src)))
            checks.check(f"build COPY {src} is in the build context",
                         context_allows(ignore, src))
    cmake = " ".join(r for r in instructions(build, "RUN") if "cmake -S" in r)
    for option in ("-DCMAKE_BUILD_TYPE=Release", "-DRINGCAST_BUILD_TESTS=OFF",
                   "-DRINGCAST_BUILD_BENCH=OFF", "-DRINGCAST_BUILD_EXAMPLES=OFF"):
        checks.check(f"the build configures {option}", option in cmake.split())
    checks.check("the build builds ringcastd and ringcast",
                 re.search(r"--target ringcastd ringcast\b", cmake) is not None)

    # Final stage.
    checks.check("no ADD in the final stage", not instructions(final, "ADD"))
    copied = []
    for copy in instructions(final, "COPY"):
        words = copy.split()
        checks.check(f"final COPY comes from the build stage ({copy})",
                     f"--from={build['name']}" in words)
        copied += [os.path.basename(w) for w in words[:-1] if not w.startswith("--")]
    checks.check("the final stage copies exactly ringcastd and ringcast",
                 sorted(copied) == ["ringcast", "ringcastd"], str(copied))
    users = instructions(final, "USER")
    user = users[-1].split(":")[0] if users else "root"
    checks.check("the final stage runs as a non-root USER", user not in ("root", "0"), user)
    exposed = set(" ".join(instructions(final, "EXPOSE")).split())
    checks.check("EXPOSE 7470 9470", {"7470", "9470"} <= exposed, str(exposed))
    health = instructions(final, "HEALTHCHECK")
    checks.check("a HEALTHCHECK runs `ringcast health` on 127.0.0.1:7470",
                 len(health) == 1 and re.search(r'"ringcast",\s*"health"', health[0]) is not None
                 and "--server=127.0.0.1:7470" in health[0], str(health))
    checks.check("STOPSIGNAL SIGTERM", instructions(final, "STOPSIGNAL") == ["SIGTERM"])
    entrypoint = instructions(final, "ENTRYPOINT")
    try:
        command = json.loads(entrypoint[0]) if len(entrypoint) == 1 else []
    except ValueError:
        command = []
    # Flags after the binary are defaults: the arguments of `docker run`, compose's command and
    # Kubernetes' args come after them, and ringcastd takes the last value of a flag.
    checks.check("ENTRYPOINT is ringcastd (exec form), with flags only",
                 command[:1] == ["ringcastd"] and all(a.startswith("--") for a in command[1:]),
                 str(entrypoint))
    check_data_volume(checks, final, command, user)
    checks.finish()


def check_data_volume(checks, final, command, user):
    """The image's default data directory is a VOLUME the USER owns."""
    data_dirs = [a.split("=", 1)[1] for a in command[1:] if a.startswith("--data_dir=")]
    workdirs = [args for keyword, args in final["instructions"] if keyword == "WORKDIR"]
    # Without the flag, ringcastd's default is ringcast-data under the working directory.
    data_dir = data_dirs[-1] if data_dirs else os.path.join(
        workdirs[-1] if workdirs else "/", "ringcast-data")
    if not os.path.isabs(data_dir) and workdirs:
        data_dir = os.path.join(workdirs[-1], data_dir)
    data_dir = os.path.normpath(data_dir)
    checks.check("the default data directory is an absolute path (not memory-only)",
                 data_dir.startswith("/") and data_dir != "/", data_dir)

    positions = {}
    volumes = []
    for index, (keyword, args) in enumerate(final["instructions"]):
        if keyword == "VOLUME":
            try:
                paths = json.loads(args) if args.startswith("[") else args.split()
            except ValueError:
                paths = []
            if isinstance(paths, str):
                paths = [paths]
            for path in paths:
                volumes.append(os.path.normpath(path))
                positions.setdefault(os.path.normpath(path), index)
    checks.check(f"the data directory {data_dir} is a VOLUME", data_dir in volumes, str(volumes))

    # Created and handed to the USER's uid (install -d -o UID, or chown UID) before the VOLUME.
    uid = user.split(":")[0]
    owned_at = None
    for index, (keyword, args) in enumerate(final["instructions"]):
        if keyword != "RUN":
            continue
        for command_line in re.split(r"&&|;", args):
            words = command_line.split()
            if not words or data_dir not in [os.path.normpath(w) for w in words]:
                continue
            if words[0] == "install" and "-d" in words and "-o" in words \
                    and words[words.index("-o") + 1] in (uid, "ringcast"):
                owned_at = index
            if words[0] == "chown" and re.match(rf"^(?:{re.escape(uid)}|ringcast)(?::|$)",
                                                next((w for w in words[1:]
                                                      if not w.startswith("-")), "")):
                owned_at = index
    checks.check(f"a RUN creates {data_dir} owned by the USER ({uid})", owned_at is not None)
    checks.check("... before the VOLUME instruction (later build changes to a volume are dropped)",
                 owned_at is not None and data_dir in positions and owned_at < positions[data_dir])


if __name__ == "__main__":
    main()
