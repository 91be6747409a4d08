"""What the Python tests share: the wire messages generated from the .proto, a real ringcastd
process (its gRPC and metrics ports, its log, how it is stopped), and its memory read from
/proc/PID/status.

Tests import it with `sys.path.insert(0, <tests/support>)`; it needs protoc and, for the
messages, python3-protobuf (scripts/install-deps.sh).
"""

import collections
import importlib.util
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTO_ROOT = os.path.join(REPO, "proto")
PROTO_FILE = "ringcast/v1/ringcast.proto"

WAIT = 10  # seconds: the longest a start, a stop or a scrape may take


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


def ringcastd_and_unittest_argv(test_name):
    """The ringcastd binary (argv[1], else $RINGCASTD) and the argv left for unittest.main; exits
    with a message naming `test_name` when there is none."""
    args = sys.argv[1:]
    binary = args.pop(0) if args and not args[0].startswith("-") else os.environ.get("RINGCASTD")
    if not binary or not os.path.exists(binary):
        sys.exit(f"{test_name}: no ringcastd binary (argv[1] or $RINGCASTD): {binary}")
    return binary, [sys.argv[0], *args]


def make_test_certs(directory):
    """The test CA and certificates of make_test_certs.sh (beside this file) in `directory`;
    returns a function reading one of them by name."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "make_test_certs.sh")
    subprocess.run(["bash", script, directory], check=True)

    def read(name):
        with open(os.path.join(directory, name), "rb") as f:
            return f.read()
    return read


def status_bytes(pid, field):
    """A `field:  N kB` line of /proc/PID/status (VmRSS, VmHWM, ...), in bytes; None once the
    process is gone (a zombie's status has no memory lines)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def _required_status_bytes(pid, field):
    value = status_bytes(pid, field)
    if value is None:
        raise AssertionError(f"no {field} in /proc/{pid}/status: the process is gone")
    return value


def rss_bytes(pid):
    """Resident set size of process `pid` (VmRSS in /proc/PID/status), in bytes."""
    return _required_status_bytes(pid, "VmRSS")


class Server:
    """A ringcastd process on 127.0.0.1:<ephemeral port>, started with `flags`.

    Its stderr (one JSON object a line) is read on a thread: the "ringcastd serving" line gives
    the port and the metrics port, and every line is kept (the last `log_lines` if given) to be
    shown when the process is stopped. Metrics are off unless a --metrics_listen flag is passed
    (--metrics_listen=127.0.0.1:0 gives a free port), and topics live in memory unless a
    --data_dir flag is passed. stop() sends `stop_signal`, then SIGKILL if
    the process is still there WAIT seconds later: the default kills at once, SIGTERM lets it
    shut down gracefully first.
    """

    def __init__(self, binary, *flags, stop_signal=signal.SIGKILL, log_lines=None):
        self.lines = collections.deque(maxlen=log_lines)
        self._ports = queue.Queue()
        self._stop_signal = stop_signal
        if not any(flag.startswith("--metrics_listen") for flag in flags):
            flags = ("--metrics_listen=", *flags)
        # Memory-only unless the test gives a data directory: nothing outlives the test.
        if not any(flag.startswith("--data_dir") for flag in flags):
            flags = ("--data_dir=", *flags)
        self.proc = subprocess.Popen(
            [binary, "--listen=127.0.0.1:0", *flags],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        try:
            ports = self._ports.get(timeout=WAIT)
        except queue.Empty:
            ports = None
        if ports is None:
            self.stop()
            raise AssertionError(f"ringcastd did not log \"ringcastd serving\" within {WAIT} s "
                                 f"(exit status {self.proc.returncode}):\n{self.log()}")
        self.port, self.metrics_port = ports
        self.address = f"127.0.0.1:{self.port}"

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def rss(self):
        """The server's resident set size now (VmRSS), in bytes."""
        return rss_bytes(self.proc.pid)

    def peak_rss(self):
        """The largest the server's resident set has been so far (VmHWM), in bytes."""
        return _required_status_bytes(self.proc.pid, "VmHWM")

    def metrics(self):
        """The text GET /metrics returns; needs --metrics_listen."""
        if not self.metrics_port:
            raise AssertionError("ringcastd serves no metrics: start it with --metrics_listen")
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=WAIT) as response:
            return response.read().decode("utf-8")

    def _read_stderr(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            self.lines.append(line)
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("msg") == "ringcastd serving":
                # metrics_port is 0 when metrics are off.
                self._ports.put((int(record["port"]), int(record.get("metrics_port") or 0)))
        self._ports.put(None)  # stderr closed: the process is gone

    def log(self):
        return "\n".join(self.lines)

    def stop(self, show_log=True, tail=None):
        """Ends the process if it still runs (see the class comment), and prints its log, or its
        last `tail` lines (shown when a test fails)."""
        if self.proc.poll() is None:
            self.proc.send_signal(self._stop_signal)
            if self._stop_signal != signal.SIGKILL:
                try:
                    self.proc.wait(timeout=WAIT)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
        try:
            self.proc.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            pass
        self._reader.join(timeout=WAIT)
        if not self._reader.is_alive():
            self.proc.stderr.close()
        if show_log:
            if tail is None:
                heading, shown = "", self.log()
            else:
                heading, shown = ", last lines", "\n".join(list(self.lines)[-tail:])
            print(f"--- ringcastd (exit status {self.proc.returncode}){heading} ---\n{shown}",
                  file=sys.stderr)


def _serialize(message):
    return message.SerializeToString()


class Client:
    """Generic calls by method name, as any gRPC implementation would make them: `pb` is the
    module Messages generates, `deadline` the deadline of every call, in seconds."""

    def __init__(self, address, pb, deadline=60):
        import grpc  # python3-grpcio: only the tests that make calls need it
        self._grpc = grpc
        self.pb = pb
        self.deadline = deadline
        self.address = address
        # A subchannel pool of its own: a client of a server restarted on the same port must not
        # inherit another channel's connection to the killed process.
        self.channel = self._grpc.insecure_channel(address, options=[
            ("grpc.max_send_message_length", 64 << 20),
            ("grpc.max_receive_message_length", 64 << 20),
            ("grpc.use_local_subchannel_pool", 1)])
        self._publish = self.channel.stream_stream(
            "/ringcast.v1.EventService/Publish", request_serializer=_serialize,
            response_deserializer=self.pb.PublishResponse.FromString)
        self._subscribe = self.channel.unary_stream(
            "/ringcast.v1.EventService/Subscribe", request_serializer=_serialize,
            response_deserializer=self.pb.SubscribeResponse.FromString)
        self._create = self.channel.unary_unary(
            "/ringcast.v1.TopicService/CreateTopic", request_serializer=_serialize,
            response_deserializer=self.pb.Topic.FromString)
        self._get = self.channel.unary_unary(
            "/ringcast.v1.TopicService/GetTopic", request_serializer=_serialize,
            response_deserializer=self.pb.Topic.FromString)
        self._delete = self.channel.unary_unary(
            "/ringcast.v1.TopicService/DeleteTopic", request_serializer=_serialize,
            response_deserializer=self.pb.DeleteTopicResponse.FromString)

    def close(self):
        self.channel.close()

    def create(self, name, capacity=0, max_bytes=0, **fields):
        return self._create(self.pb.CreateTopicRequest(name=name, capacity=capacity,
                                                       max_bytes=max_bytes, **fields),
                            timeout=self.deadline)

    def get(self, name):
        return self._get(self.pb.GetTopicRequest(name=name), timeout=self.deadline)

    def delete(self, name):
        return self._delete(self.pb.DeleteTopicRequest(name=name), timeout=self.deadline)

    def publish(self, batches, on_response=None):
        """Streams `batches` (lists of payloads, each a batch to `topic`) on one Publish stream;
        returns the responses in order. `batches` may be a generator of (topic, payloads)."""
        def requests():
            for batch_id, (topic, payloads) in enumerate(batches, start=1):
                yield self.pb.PublishRequest(topic=topic, batch_id=batch_id,
                                        events=[self.pb.EventInput(payload=p) for p in payloads])
        responses = []
        for response in self._publish(requests(), timeout=self.deadline):
            responses.append(response)
            if on_response:
                on_response(response)
        return responses

    def open_slow_reader(self, topic):
        """A RELIABLE subscription on a channel of its own that never reads: without BDP probing
        its HTTP/2 window stays at 64 KiB, so what it is not sent stays in the server."""
        channel = self._grpc.insecure_channel(self.address, options=[("grpc.http2.bdp_probe", 0)])
        subscribe = channel.unary_stream(
            "/ringcast.v1.EventService/Subscribe", request_serializer=_serialize,
            response_deserializer=self.pb.SubscribeResponse.FromString)
        call = subscribe(self.pb.SubscribeRequest(topic=topic, mode=self.pb.DELIVERY_MODE_RELIABLE),
                         timeout=self.deadline)
        return channel, call

    def subscribe(self, topic, reliable=True, **start):
        """A subscription; `start` is one of position=, from_sequence=, from_time_unix_nanos=."""
        mode = self.pb.DELIVERY_MODE_RELIABLE if reliable else self.pb.DELIVERY_MODE_LOSSY
        return self._subscribe(self.pb.SubscribeRequest(topic=topic, mode=mode, **start),
                               timeout=self.deadline)
