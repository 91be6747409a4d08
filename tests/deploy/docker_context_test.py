#!/usr/bin/env python3
"""The build stage of deploy/Dockerfile configures: the sources its COPY lines take (and nothing
else of the repository) are copied into an empty folder, and the stage's own `cmake -S . -B build
...` command is run there. A build that comes to need another top-level folder, or an option the
project no longer has, fails here instead of in `docker build`. (Configuring only: compiling the
same targets is what the rest of the tests do.)

Usage: docker_context_test.py DEPLOY_DIR SOURCE_DIR
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True

from deploy_support import Checks, dockerfile_stages  # noqa: E402


def main():
    deploy, source = sys.argv[1], sys.argv[2]
    checks = Checks()
    build = dockerfile_stages(os.path.join(deploy, "Dockerfile"))[0]
    with tempfile.TemporaryDirectory() as work:
        workdir = work
        configure = None
        for keyword, arguments in build["instructions"]:
            if keyword == "WORKDIR":
                workdir = os.path.join(work, arguments.lstrip("/"))
                os.makedirs(workdir, exist_ok=True)
            elif keyword == "COPY":
                # COPY SRC... DEST: a folder's contents go into DEST; a file goes into DEST when
                # DEST ends with "/" (or is "."), else becomes DEST.
                *sources, destination = arguments.split()
                target = os.path.normpath(os.path.join(workdir, destination))
                into = destination.endswith("/") or destination in (".", "./")
                for src in sources:
                    origin = os.path.join(source, src)
                    if os.path.isdir(origin):
                        shutil.copytree(origin, target, dirs_exist_ok=True)
                    else:
                        os.makedirs(target if into else os.path.dirname(target), exist_ok=True)
                        shutil.copy(origin, target)
            elif keyword == "RUN" and "cmake -S" in arguments:
                configure = re.search(r"(cmake -S .*?)(?:&&|$)", arguments).group(1)
        if not checks.check("the build stage configures with cmake -S", configure is not None):
            checks.finish()
        print(f"in {workdir}: {configure}")
        result = subprocess.run(shlex.split(configure), cwd=workdir, capture_output=True,
                                text=True, check=False)
        if not checks.check("cmake configures the copied sources", result.returncode == 0,
                            result.stdout[-2000:] + result.stderr[-4000:]):
            checks.finish()
        build_dir = os.path.join(workdir, shlex.split(configure)[shlex.split(configure).index("-B") + 1])
        targets = subprocess.run(["cmake", "--build", build_dir, "--target", "help"],
                                 capture_output=True, text=True, check=False).stdout
        for target in ("ringcastd", "ringcast"):
            checks.check(f"the configured build has target {target}",
                         re.search(rf"^\.\.\. {re.escape(target)}$", targets, re.M) is not None)
        checks.check("no test targets (RINGCAST_BUILD_TESTS=OFF)",
                     "ringcast_server_test" not in targets)
    checks.finish()


if __name__ == "__main__":
    main()
