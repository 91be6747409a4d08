#!/usr/bin/env python3
"""Runs an example client against a real ringcastd: the server on 127.0.0.1 at a free port with a
temporary data directory, the example given its address, then a graceful stop. Passes when the
example exits 0 (the examples check themselves: everything published received, in order) and the
server shuts down cleanly.

Usage: run_example.py RINGCASTD COMMAND [ARG...]; an ARG "{target}" becomes 127.0.0.1:PORT.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ringcast_process import Server  # noqa: E402

EXAMPLE_TIMEOUT = 60  # seconds


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: run_example.py RINGCASTD COMMAND [ARG...]")
    ringcastd, command = sys.argv[1], sys.argv[2:]
    data_dir = tempfile.mkdtemp(prefix="ringcast-example-")
    server = None
    try:
        server = Server(ringcastd, f"--data_dir={data_dir}", stop_signal=signal.SIGTERM)
        command = [arg.replace("{target}", server.address) for arg in command]
        print("$ " + " ".join(command), flush=True)
        try:
            example = subprocess.run(command, timeout=EXAMPLE_TIMEOUT, check=False)
        except FileNotFoundError as error:
            sys.exit(f"run_example: cannot run {command[0]}: {error}")
        except subprocess.TimeoutExpired:
            sys.exit(f"run_example: the example did not finish within {EXAMPLE_TIMEOUT} s")
        if example.returncode != 0:
            sys.exit(f"run_example: the example exited with status {example.returncode}")
        server.stop(show_log=False)
        if server.proc.returncode != 0:
            server.stop()  # prints the log
            sys.exit(f"run_example: ringcastd exited with status {server.proc.returncode}")
        server = None
        print("run_example: the example passed and ringcastd stopped cleanly")
    finally:
        if server:
            server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
