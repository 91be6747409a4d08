#!/usr/bin/env python3
"""A message that declares far more bytes than ringcastd accepts: its memory stays bounded, the
stream ends with RESOURCE_EXHAUSTED and the server goes on serving.

gRPC 1.51 (Debian 12) buffers an incoming message in full before it checks the receive limit, and
keeps granting flow-control window for as many bytes as the message's 5-byte prefix declares.
ringcastd bounds that with a resource quota on the transport: a quarter of --max_memory_bytes, at
least 64 MiB (ServerOptions::TransportMemoryBytes()).

For EventService.Publish and Subscribe, TopicService.CreateTopic and grpc.health.v1.Health.Check in
turn, on one server, a raw HTTP/2 client (the h2 library, cleartext with prior knowledge) sends a
request whose prefix declares 2 GiB, then 1 MiB of DATA at a time as fast as the window allows, up
to 512 MiB. Meanwhile the server's resident memory is sampled from /proc/PID/status (VmRSS). The
test checks that the server ends each stream the way a gRPC client reads as RESOURCE_EXHAUSTED,
that each stream got about the quota's worth in before that (so what earlier floods buffered was
given back to the quota), that the RSS peak stays within the quota plus the process's baseline and
some slack, that RSS stays within about that once the connection is closed (glibc keeps freed
buffers for reuse, so it does not come back to the baseline), and that a normal publish is then
acknowledged. A grpcio client then publishes a batch of exactly the receive limit (acknowledged)
and one a byte larger (the stream ends with RESOURCE_EXHAUSTED).

Usage: oversized_message_test.py RINGCASTD [unittest arguments]
   or: RINGCASTD=path/to/ringcastd oversized_message_test.py [unittest arguments]
RINGCASTD_WITHOUT_MEMORY_FLAG=1 starts a server that predates --max_memory_bytes without that flag;
the bounds stay those of the 512 MiB budget, so such a server is expected to fail them.
Needs python3-h2, python3-grpcio, python3-protobuf and protoc (scripts/install-deps.sh).
"""

import dataclasses
import os
import select
import socket
import sys
import threading
import time
import unittest

try:
    import grpc
    import h2.config
    import h2.connection
    import h2.errors
    import h2.events
except ImportError as error:
    sys.exit(f"oversized_message_test: {error}: this interpreter ({sys.executable}) needs "
             "python3-h2, python3-grpcio and python3-protobuf (scripts/install-deps.sh)")

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "support"))
from ringcast_process import Messages, Server, rss_bytes  # noqa: E402

MiB = 1 << 20
WAIT = 10  # seconds: the longest any one step may take (a response, a window that stays shut)

MEMORY_BUDGET = 512 * MiB  # --max_memory_bytes
TRANSPORT_QUOTA = max(64 * MiB, MEMORY_BUDGET // 4)  # ServerOptions::TransportMemoryBytes()
RECEIVE_LIMIT = 4 * MiB + 64 * 1024  # ServerOptions::MaxReceiveMessageBytes(), default flags

DECLARED_BYTES = 2 << 30
PREFIX = b"\x00" + DECLARED_BYTES.to_bytes(4, "big")  # not compressed, 2 GiB
CHUNK = MiB
MAX_SENT = 512 * MiB

# What each flood gets in before the reset: gRPC counts a stream's buffers against the quota until
# they are freed (eight floods at once got 16-128 MiB each), so a flood that followed one whose
# buffers were still held would be reset almost at once. This, not RSS, is what shows that a
# closed connection gives its memory back. Measured: 114-182 MiB over sixty floods in a row.
MIN_SENT = TRANSPORT_QUOTA // 2

# Bounds on the server's RSS above its baseline (its RSS after one normal publish, ~17 MiB), during
# and after four floods in a row on one server (2 GiB declared and 4 x ~130 MiB sent in all).
# Measured on 2 cores, idle and with a parallel C++ build running beside the test (load average
# 9-11), over sixty floods.
#
# The peak: gRPC resets a stream once the transport's buffers reach the quota. What is resident
# besides is allocator overhead, the freed buffers of earlier floods that the next one does not
# reuse, and, on a busy machine, what arrives before gRPC gets round to the reset. Measured:
# 114-198 MiB above the baseline. A server without the quota reaches ~515 MiB above it (512 MiB
# sent) and keeps granting window.
PEAK_ABOVE_BASELINE = TRANSPORT_QUOTA + 96 * MiB
# After the connection is closed: gRPC frees every buffer, but glibc keeps most of them in the
# arenas of the threads that read them, for reuse. Measured: 15-172 MiB above the baseline,
# levelling off rather than growing from one flood to the next. With
# GLIBC_TUNABLES=glibc.malloc.mmap_threshold=16384 (allocations of 16 KiB or more mapped each on
# its own) it is 1-4 MiB on an idle machine: what stays is the allocator's cache.
AFTER_CLOSE_ABOVE_BASELINE = TRANSPORT_QUOTA + 64 * MiB
SETTLE_SECONDS = 5  # the longest RSS may take to come back down

# How a gRPC client reads the end of the stream as RESOURCE_EXHAUSTED: gRPC's transport resets a
# stream it has no memory for with ENHANCE_YOUR_CALM; a server that answers sends grpc-status 8.
RESOURCE_EXHAUSTED_ENDINGS = ("RST_STREAM ENHANCE_YOUR_CALM", "grpc-status 8")

FLOODED_METHODS = (
    "/ringcast.v1.EventService/Publish",
    "/ringcast.v1.EventService/Subscribe",
    "/ringcast.v1.TopicService/CreateTopic",
    "/grpc.health.v1.Health/Check",
)

RINGCASTD = None  # the server binary, from argv[1] or $RINGCASTD
messages = None
pb = None  # the module protoc generates from ringcast.proto


def setUpModule():
    global messages, pb
    messages = Messages()
    pb = messages.pb


def tearDownModule():
    if messages:
        messages.close()


class PeakSampler:
    """Samples the RSS of process `pid` every 5 ms on a thread, from entering the `with` block to
    leaving it, and keeps the largest value."""

    def __init__(self, pid):
        self.pid = pid
        self.peak = rss_bytes(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_bytes(self.pid))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=WAIT)
        self.peak = max(self.peak, rss_bytes(self.pid))


@dataclasses.dataclass
class Flood:
    """What one declared-size flood did."""
    sent: int = 0  # message bytes sent after the prefix
    ended_by: str = ""  # how the server ended the stream or the connection; empty if it did not
    seconds: float = 0.0


def error_name(code):
    return code.name if isinstance(code, h2.errors.ErrorCodes) else str(code)


class DeclaredSizeFlood:
    """One HTTP/2 connection carrying one gRPC request to `path` whose message prefix declares
    DECLARED_BYTES, followed by CHUNK bytes at a time whenever the stream's window allows, until
    MAX_SENT bytes are sent, the server ends the stream or the connection, or the window stays
    shut for WAIT seconds."""

    def __init__(self, port, path):
        self.port = port
        self.path = path
        self.result = Flood()
        self._sock = None
        self._conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self._stream = None

    def run(self):
        started = time.monotonic()
        self._sock = socket.create_connection(("127.0.0.1", self.port), timeout=WAIT)
        try:
            self._open_stream()
            self._send_until_ended()
        except (ConnectionResetError, BrokenPipeError) as error:
            self.result.ended_by = self.result.ended_by or f"connection closed ({error})"
        finally:
            self._sock.close()
        self.result.seconds = time.monotonic() - started
        return self.result

    def _open_stream(self):
        self._conn.initiate_connection()
        self._stream = self._conn.get_next_available_stream_id()
        self._conn.send_headers(self._stream, [
            (":method", "POST"), (":scheme", "http"), (":path", self.path),
            (":authority", f"127.0.0.1:{self.port}"), ("content-type", "application/grpc"),
            ("te", "trailers")])
        self._conn.send_data(self._stream, PREFIX)
        self._flush()

    def _send_until_ended(self):
        chunk = bytes(CHUNK)
        while not self.result.ended_by and self.result.sent < MAX_SENT:
            window = min(self._conn.local_flow_control_window(self._stream), CHUNK,
                         MAX_SENT - self.result.sent)
            if window > 0:
                frame = self._conn.max_outbound_frame_size
                for offset in range(0, window, frame):
                    self._conn.send_data(self._stream, chunk[offset:min(window, offset + frame)])
                self._flush()
                self.result.sent += window
            readable, _, _ = select.select([self._sock], [], [], 0 if window > 0 else WAIT)
            if readable:
                self._receive()
            elif window == 0:
                return  # the window stayed shut and the stream open: not ended by the server

    def _receive(self):
        data = self._sock.recv(1 << 16)
        if not data:
            self.result.ended_by = "connection closed"
            return
        for event in self._conn.receive_data(data):
            self._on_event(event)
        self._flush()

    def _on_event(self, event):
        if isinstance(event, h2.events.DataReceived):
            self._conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamReset) and event.stream_id == self._stream:
            self.result.ended_by = f"RST_STREAM {error_name(event.error_code)}"
        elif isinstance(event, (h2.events.ResponseReceived, h2.events.TrailersReceived)):
            headers = dict(event.headers)
            if "grpc-status" in headers:  # trailers, or a trailers-only response
                self.result.ended_by = (f"grpc-status {headers['grpc-status']} "
                                        f"({headers.get('grpc-message', '')})")
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.result.ended_by = f"GOAWAY {error_name(event.error_code)}"

    def _flush(self):
        data = self._conn.data_to_send()
        if data:
            self._sock.sendall(data)


def batch_of_size(topic, size):
    """A PublishRequest whose encoding is exactly `size` bytes: events of at most 1 MiB (the
    default --max_event_bytes), the last one padded."""
    request = pb.PublishRequest(topic=topic, batch_id=1)
    while request.ByteSize() + MiB + 16 < size:
        request.events.add(key="full", payload=bytes(MiB - 4))  # key + payload = 1 MiB
    last = request.events.add(key="last")
    for _ in range(4):  # a length prefix may grow by a byte as the payload does: converge
        missing = size - request.ByteSize()
        if missing == 0:
            break
        last.payload = bytes(len(last.payload) + missing)
    assert request.ByteSize() == size, f"cannot encode a batch of exactly {size} bytes"
    return request


class OversizedMessageTest(unittest.TestCase):
    maxDiff = 2000

    def start_server(self):
        """A ringcastd with the 512 MiB budget."""
        flags = ["--default_ring_capacity=1024"]
        if os.environ.get("RINGCASTD_WITHOUT_MEMORY_FLAG") != "1":
            flags.append(f"--max_memory_bytes={MEMORY_BUDGET}")
        self.server = Server(RINGCASTD, *flags)
        self.addCleanup(self.server.stop)  # registered first, so it runs after every other cleanup

    def publish(self, request):
        """The one response to `request`, sent alone on a Publish stream of a new connection."""
        with grpc.insecure_channel(self.server.address,
                                   options=[("grpc.use_local_subchannel_pool", 1)]) as channel:
            publish = channel.stream_stream("/ringcast.v1.EventService/Publish",
                                            request_serializer=pb.PublishRequest.SerializeToString,
                                            response_deserializer=pb.PublishResponse.FromString)
            return next(publish(iter([request]), timeout=WAIT))

    def assert_publish_acknowledged(self, request):
        response = self.publish(request)
        self.assertEqual(response.WhichOneof("result"), "ack", response)
        self.assertEqual(response.ack.count, len(request.events), response)

    def assert_still_serving(self):
        self.assert_publish_acknowledged(pb.PublishRequest(
            topic="oversized.after", batch_id=1,
            events=[pb.EventInput(key="k", payload=b"still serving")]))

    def settled_rss(self, bound):
        """The server's RSS once it is at most `bound`, or after SETTLE_SECONDS."""
        deadline = time.monotonic() + SETTLE_SECONDS
        rss = self.server.rss()
        while rss > bound and time.monotonic() < deadline:
            time.sleep(0.1)
            rss = self.server.rss()
        return rss

    def assert_every_flood_is_bounded(self):
        """Floods each of FLOODED_METHODS in turn on the one server: each stream is ended with
        RESOURCE_EXHAUSTED after at least MIN_SENT, the RSS peak stays within PEAK_ABOVE_BASELINE
        and RSS within AFTER_CLOSE_ABOVE_BASELINE once the connection is closed, and a publish is
        then acknowledged."""
        self.assert_still_serving()  # the topic and a connection's worth of state exist
        baseline = self.server.rss()
        for path in FLOODED_METHODS:
            with self.subTest(path=path):
                with PeakSampler(self.server.pid) as sampler:
                    flood = DeclaredSizeFlood(self.server.port, path).run()
                after = self.settled_rss(baseline + AFTER_CLOSE_ABOVE_BASELINE)
                print(f"\n  {path}: sent {flood.sent // MiB} MiB in {flood.seconds:.1f} s, ended "
                      f"by {flood.ended_by or 'nothing'}; RSS baseline {baseline // MiB} MiB, "
                      f"peak {sampler.peak // MiB} MiB, {after // MiB} MiB after the connection "
                      "closed", file=sys.stderr)

                self.assertTrue(flood.ended_by, f"the server did not end the stream: {flood}")
                self.assertTrue(flood.ended_by.startswith(RESOURCE_EXHAUSTED_ENDINGS), flood)
                self.assertGreaterEqual(flood.sent, MIN_SENT, f"reset early: {flood}")
                self.assertLessEqual(sampler.peak, baseline + PEAK_ABOVE_BASELINE,
                                     f"RSS peak {sampler.peak // MiB} MiB, baseline "
                                     f"{baseline // MiB} MiB")
                self.assertLessEqual(after, baseline + AFTER_CLOSE_ABOVE_BASELINE,
                                     f"RSS {after // MiB} MiB {SETTLE_SECONDS} s after the "
                                     f"connection closed, baseline {baseline // MiB} MiB")
                self.assert_still_serving()

    def test_declared_2_gib_is_reset_within_the_quota_on_every_method(self):
        self.start_server()
        self.assert_every_flood_is_bounded()

    def test_batch_one_byte_above_the_receive_limit_is_resource_exhausted(self):
        self.start_server()
        self.assert_publish_acknowledged(batch_of_size("oversized.limit", RECEIVE_LIMIT))

        with self.assertRaises(grpc.RpcError) as raised:
            self.publish(batch_of_size("oversized.limit", RECEIVE_LIMIT + 1))
        self.assertEqual(raised.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED,
                         raised.exception.details())


def main():
    global RINGCASTD
    args = sys.argv[1:]
    if args and not args[0].startswith("-"):
        RINGCASTD = args.pop(0)
    else:
        RINGCASTD = os.environ.get("RINGCASTD")
    if not RINGCASTD or not os.access(RINGCASTD, os.X_OK):
        sys.exit(f"oversized_message_test: no ringcastd binary (argv[1] or $RINGCASTD): "
                 f"{RINGCASTD}")
    unittest.main(argv=[sys.argv[0], *args], verbosity=2)


if __name__ == "__main__":
    main()
