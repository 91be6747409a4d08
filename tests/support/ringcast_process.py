"""What the Python tests share: the wire messages generated from the .proto, a real ringcastd
process, and its resident memory read from /proc.

Tests import it with `sys.path.insert(0, <tests/support>)`; it needs protoc and, for the
messages, python3-protobuf (scripts/install-deps.sh).
"""

import importlib.util
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTO_ROOT = os.path.join(REPO, "proto")
PROTO_FILE = "ringcast/v1/ringcast.proto"

WAIT = 10  # seconds: the longest a start or a stop may take


class Messages:
    """The module protoc generates from ringcast.proto, in a temporary folder removed by close()."""

    def __init__(self):
        self._dir = tempfile.mkdtemp(prefix="ringcast-messages-")
        subprocess.run(["protoc", f"--proto_path={PROTO_ROOT}", f"--python_out={self._dir}",
                        PROTO_FILE], check=True, timeout=60)
        path = os.path.join(self._dir, "ringcast", "v1", "ringcast_pb2.py")
        spec = importlib.util.spec_from_file_location("ringcast_pb2", path)
        self.pb = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.pb)

    def close(self):
        shutil.rmtree(self._dir, ignore_errors=True)


def rss_bytes(pid):
    """Resident set size of process `pid` (VmRSS in /proc/PID/status), in bytes."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS in /proc/{pid}/status")


class Server:
    """A ringcastd process on 127.0.0.1:<ephemeral port>, started with `flags`.

    Its stderr (one JSON object a line) is read on a thread: the "ringcastd serving" line gives
    the port, and every line is kept to be shown when the process is stopped. Metrics are off
    unless a --metrics_listen flag is passed.
    """

    def __init__(self, binary, *flags):
        self.lines = []
        self._port = queue.Queue()
        if not any(flag.startswith("--metrics_listen") for flag in flags):
            flags = ("--metrics_listen=", *flags)
        self.proc = subprocess.Popen(
            [binary, "--listen=127.0.0.1:0", *flags],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        try:
            port = self._port.get(timeout=WAIT)
        except queue.Empty:
            port = None
        if port is None:
            self.stop()
            raise AssertionError(f"ringcastd did not log \"ringcastd serving\" within {WAIT} s "
                                 f"(exit status {self.proc.returncode}):\n{self.log()}")
        self.port = port
        self.address = f"127.0.0.1:{port}"

    @property
    def pid(self):
        return self.proc.pid

    def rss(self):
        """The server's resident set size now, in bytes."""
        return rss_bytes(self.proc.pid)

    def _read_stderr(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            self.lines.append(line)
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("msg") == "ringcastd serving":
                self._port.put(int(record["port"]))
        self._port.put(None)  # stderr closed: the process is gone

    def log(self):
        return "\n".join(self.lines)

    def stop(self, show_log=True):
        """Kills the process if it still runs, and prints its log (shown when a test fails)."""
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            pass
        self._reader.join(timeout=WAIT)
        if not self._reader.is_alive():
            self.proc.stderr.close()
        if show_log:
            print(f"--- ringcastd (exit status {self.proc.returncode}) ---\n{self.log()}",
                  file=sys.stderr)
