#!/usr/bin/env python3
"""Interop: a Python publisher and subscriber against the real ringcastd.

The clients know nothing but proto/ringcast/v1/ringcast.proto: the message classes are generated
at test time with `protoc --python_out`, and the methods are called by their full names through
grpcio's generic channel API (no generated service stubs), as any other gRPC implementation would.
They connect as a production client does: over mTLS (certificates made at test time by
tests/support/make_test_certs.sh) with a bearer token the server's --auth_file knows.

Usage: python_client_test.py RINGCASTD [unittest arguments]
   or: RINGCASTD=path/to/ringcastd python_client_test.py [unittest arguments]
Needs python3-grpcio, python3-protobuf and protoc (scripts/install-deps.sh).
"""

import hashlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

try:
    import grpc
    import google.protobuf  # noqa: F401  (the generated messages need it)
except ImportError as error:
    sys.exit(f"python_client_test: {error}: this interpreter ({sys.executable}) needs "
             "python3-grpcio and python3-protobuf (scripts/install-deps.sh)")

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "support"))
from ringcast_process import Messages, Server, make_test_certs  # noqa: E402

WAIT = 10  # seconds: the longest any one step may take (a start, a response, an exit)
STREAM_DEADLINE = 60  # seconds: deadline of every stream, so that none outlives its test
START_SEQUENCE_HEADER = "ringcast-start-sequence"
INVALID_ARGUMENT = 3  # google.rpc.Code, as PublishError.code carries it

RINGCASTD = None  # the server binary, from argv[1] or $RINGCASTD
messages = None
pb = None  # the module protoc generates from ringcast.proto
SECRETS = None  # certificates and the auth file
secret = None  # a certificate's bytes, by file name
TOKEN = "interop-token-4f1c2a9e7b3d"


def setUpModule():
    global messages, pb, SECRETS, secret
    messages = Messages()
    pb = messages.pb
    SECRETS = tempfile.mkdtemp(prefix="ringcast-interop-")
    secret = make_test_certs(SECRETS)
    with open(os.path.join(SECRETS, "auth.json"), "w") as f:
        json.dump({"principals": [{
            "name": "interop", "tokens_sha256": [hashlib.sha256(TOKEN.encode()).hexdigest()],
            "allow": {"publish": ["*"], "subscribe": ["*"], "admin": ["*"]}}]}, f)


def tearDownModule():
    if messages:
        messages.close()
    if SECRETS:
        shutil.rmtree(SECRETS, True)


def serialize(message):
    return message.SerializeToString()


def status_of(call):
    """(code, details) of a finished call."""
    return call.code(), call.details()


class Subscriber:
    """One EventService.Subscribe call, read on a thread.

    The thread queues the initial metadata first, then every response, then the final status, so
    the test reads them in the order the client saw them, each wait bounded by a timeout.
    """

    def __init__(self, channel, request):
        subscribe = channel.unary_stream("/ringcast.v1.EventService/Subscribe",
                                         request_serializer=serialize,
                                         response_deserializer=pb.SubscribeResponse.FromString)
        self.call = subscribe(request, timeout=STREAM_DEADLINE)
        self._items = queue.Queue()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        try:
            self._items.put(("metadata", self.call.initial_metadata()))
            for response in self.call:
                self._items.put(("response", response))
            self._items.put(("status", status_of(self.call)))
        except grpc.RpcError as error:
            self._items.put(("status", (error.code(), error.details())))

    def _next(self, what):
        try:
            return self._items.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError(f"subscriber: no {what} within {WAIT} s") from None

    def metadata(self):
        """The initial metadata as a dict; it must come before anything else."""
        kind, value = self._next("initial metadata")
        assert kind == "metadata", f"subscriber: got {kind} {value!r} before initial metadata"
        return dict(value or ())

    def start_sequence(self):
        metadata = self.metadata()
        assert START_SEQUENCE_HEADER in metadata, f"no {START_SEQUENCE_HEADER} in {metadata}"
        return int(metadata[START_SEQUENCE_HEADER])

    def events(self, count):
        """The next `count` events; fails if the stream ends first or a response skips."""
        events = []
        while len(events) < count:
            kind, value = self._next(f"event {len(events) + 1} of {count}")
            assert kind == "response", f"subscriber: stream ended after {len(events)} of " \
                                       f"{count} events with {value}"
            assert value.skipped == 0, f"subscriber: response skips {value.skipped} events"
            events.extend(value.events)
        assert len(events) == count, f"subscriber: {len(events)} events, expected {count}"
        return events

    def status(self):
        """(code, details) the stream ends with; fails if any event comes before it."""
        kind, value = self._next("end of stream")
        while kind == "metadata":
            kind, value = self._next("end of stream")
        assert kind == "status", f"subscriber: got {value} instead of the end of the stream"
        return value

    def close(self):
        self.call.cancel()
        self._thread.join(timeout=WAIT)


class Publisher:
    """One EventService.Publish stream: requests go to grpcio through a queue, responses are read
    on a thread and queued, the final status last."""

    _HALF_CLOSE = object()

    def __init__(self, channel):
        publish = channel.stream_stream("/ringcast.v1.EventService/Publish",
                                        request_serializer=serialize,
                                        response_deserializer=pb.PublishResponse.FromString)
        self._requests = queue.Queue()
        self._responses = queue.Queue()
        self.call = publish(self._request_iterator(), timeout=STREAM_DEADLINE)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _request_iterator(self):
        while True:
            request = self._requests.get()
            if request is self._HALF_CLOSE:
                return
            yield request

    def _read(self):
        try:
            for response in self.call:
                self._responses.put(("response", response))
            self._responses.put(("status", status_of(self.call)))
        except grpc.RpcError as error:
            self._responses.put(("status", (error.code(), error.details())))

    def _next(self, what):
        try:
            return self._responses.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError(f"publisher: no {what} within {WAIT} s") from None

    def send(self, request):
        self._requests.put(request)

    def response(self):
        kind, value = self._next("response")
        assert kind == "response", f"publisher: stream ended with {value} instead of a response"
        return value

    def publish(self, request):
        self.send(request)
        return self.response()

    def half_close(self):
        self._requests.put(self._HALF_CLOSE)

    def status(self):
        kind, value = self._next("end of stream")
        assert kind == "status", f"publisher: got {value} instead of the end of the stream"
        return value

    def close(self):
        self.half_close()  # ends the request iterator, whatever state the test left it in
        self.call.cancel()
        self._thread.join(timeout=WAIT)


def event_input(key, payload, **headers):
    return pb.EventInput(key=key, payload=payload, headers=headers)


# Three batches of 2, 3 and 1 events: sequences 0-1, 2-4 and 5. Payloads are arbitrary bytes
# (NULs, every byte value, invalid UTF-8, empty, 64 KiB); keys and headers are UTF-8 strings.
def standard_batches():
    return [
        (101, [
            event_input("order-1", b"\x00\x01\x02\xff\xfe\x00", **{
                "content-type": "application/octet-stream"}),
            event_input("order-2", bytes(range(256)), trace="a1b2", **{"ünïcode": "välue ✓"}),
        ]),
        (102, [
            event_input("", b""),
            event_input("clé-3", b"\x80" * 1000, empty=""),
            event_input("order-5", b'{"qty": 3}', **{"x-a": "1", "x-b": "2", "x-c": "3"}),
        ]),
        (103, [
            event_input("order-6", bytes((i * 7 + 3) & 0xFF for i in range(64 << 10))),
        ]),
    ]


class RingcastdInteropTest(unittest.TestCase):
    maxDiff = 2000

    def setUp(self):
        server = Server(RINGCASTD, "--default_ring_capacity=256",
                        f"--tls_cert={SECRETS}/server.pem", f"--tls_key={SECRETS}/server.key",
                        f"--tls_client_ca={SECRETS}/ca.pem", f"--auth_file={SECRETS}/auth.json")
        self.server = server
        self.addCleanup(server.stop)  # registered first, so it runs after every other cleanup

    def connect(self):
        """A channel on its own connection, ready to use: mTLS, and the token on every call."""
        credentials = grpc.composite_channel_credentials(
            grpc.ssl_channel_credentials(root_certificates=secret("ca.pem"),
                                         private_key=secret("client.key"),
                                         certificate_chain=secret("client.pem")),
            grpc.access_token_call_credentials(TOKEN))
        channel = grpc.secure_channel(f"localhost:{self.server.port}", credentials,
                                      options=[("grpc.use_local_subchannel_pool", 1)])
        self.addCleanup(channel.close)
        grpc.channel_ready_future(channel).result(timeout=WAIT)
        return channel

    def subscribe(self, channel, topic, **start):
        subscriber = Subscriber(channel, pb.SubscribeRequest(topic=topic, **start))
        self.addCleanup(subscriber.close)
        return subscriber

    def publisher(self, channel):
        publisher = Publisher(channel)
        self.addCleanup(publisher.close)
        return publisher

    def topic_call(self, channel, method, request, response_type):
        call = channel.unary_unary(f"/ringcast.v1.TopicService/{method}",
                                   request_serializer=serialize,
                                   response_deserializer=response_type.FromString)
        return call(request, timeout=WAIT)

    def assert_rpc_error(self, code, function, *args):
        with self.assertRaises(grpc.RpcError) as raised:
            function(*args)
        self.assertEqual(raised.exception.code(), code, raised.exception.details())
        return raised.exception.details()

    def publish_batches(self, publisher, topic, batches, first_sequence=0):
        """Sends every batch before reading any ack (pipelined), then checks the acks: one per
        batch, in order, with consecutive sequences. Returns the wall-clock window around it."""
        before = time.time_ns()
        for batch_id, events in batches:
            publisher.send(pb.PublishRequest(topic=topic, batch_id=batch_id, events=events))
        expected = first_sequence
        for batch_id, events in batches:
            response = publisher.response()
            self.assertEqual(response.batch_id, batch_id)
            self.assertEqual(response.WhichOneof("result"), "ack", response)
            self.assertEqual(response.ack.first_sequence, expected, response)
            self.assertEqual(response.ack.count, len(events), response)
            expected += len(events)
        return before, time.time_ns()

    def assert_events_match(self, received, batches, window, first_sequence=0):
        """`received` are exactly the events of `batches`, in order, from `first_sequence`."""
        expected = [(batch_id, event) for batch_id, events in batches for event in events]
        self.assertEqual(len(received), len(expected))
        batch_times = {}
        slack = 5 * 10**9  # the server's clock is this machine's: allow for scheduling only
        for offset, (event, (batch_id, sent)) in enumerate(zip(received, expected)):
            with self.subTest(sequence=first_sequence + offset):
                self.assertEqual(event.sequence, first_sequence + offset)
                self.assertEqual(event.key, sent.key)
                self.assertEqual(event.payload, sent.payload)
                self.assertEqual(dict(event.headers), dict(sent.headers))
                self.assertGreater(event.publish_time_unix_nanos, 0)
                self.assertGreaterEqual(event.publish_time_unix_nanos, window[0] - slack)
                self.assertLessEqual(event.publish_time_unix_nanos, window[1] + slack)
                # "when the server accepted the batch": one time for all events of a batch
                batch_time = batch_times.setdefault(batch_id, event.publish_time_unix_nanos)
                self.assertEqual(event.publish_time_unix_nanos, batch_time)

    # (a)
    def test_create_get_and_list_topics(self):
        channel = self.connect()
        created = self.topic_call(channel, "CreateTopic",
                                  pb.CreateTopicRequest(name="py.topics", capacity=1024), pb.Topic)
        self.assertEqual(created.name, "py.topics")
        self.assertEqual(created.capacity, 1024)
        self.assertEqual(created.next_sequence, 0)
        self.assertEqual(created.oldest_sequence, 0)
        self.assertEqual(created.subscribers, 0)
        self.assertEqual(created.publish_streams, 0)
        self.assertEqual(created.backpressure_ratio, 0.0)

        default = self.topic_call(channel, "CreateTopic",
                                  pb.CreateTopicRequest(name="py.default"), pb.Topic)
        self.assertEqual(default.name, "py.default")
        self.assertEqual(default.capacity, 256)  # capacity 0: --default_ring_capacity

        got = self.topic_call(channel, "GetTopic", pb.GetTopicRequest(name="py.topics"), pb.Topic)
        self.assertEqual(got, created)

        listed = self.topic_call(channel, "ListTopics", pb.ListTopicsRequest(),
                                 pb.ListTopicsResponse)
        self.assertEqual(sorted((t.name, t.capacity) for t in listed.topics),
                         [("py.default", 256), ("py.topics", 1024)])

        self.assert_rpc_error(grpc.StatusCode.ALREADY_EXISTS, self.topic_call, channel,
                              "CreateTopic", pb.CreateTopicRequest(name="py.topics"), pb.Topic)
        self.assert_rpc_error(grpc.StatusCode.INVALID_ARGUMENT, self.topic_call, channel,
                              "CreateTopic", pb.CreateTopicRequest(name="py.odd", capacity=1000),
                              pb.Topic)
        self.assert_rpc_error(grpc.StatusCode.NOT_FOUND, self.topic_call, channel, "GetTopic",
                              pb.GetTopicRequest(name="py.missing"), pb.Topic)

    # (b)
    def test_subscriber_from_latest_receives_every_published_event(self):
        subscriber = self.subscribe(self.connect(), "py.orders",
                                    position=pb.START_POSITION_LATEST)
        self.assertEqual(subscriber.start_sequence(), 0)

        channel = self.connect()
        batches = standard_batches()
        window = self.publish_batches(self.publisher(channel), "py.orders", batches)
        self.assert_events_match(subscriber.events(6), batches, window)

        topic = self.topic_call(channel, "GetTopic", pb.GetTopicRequest(name="py.orders"),
                                pb.Topic)
        self.assertEqual(topic.next_sequence, 6)
        self.assertEqual(topic.oldest_sequence, 0)
        self.assertEqual(topic.subscribers, 1)

    # (c)
    def test_earliest_replays_the_same_events_and_joins_the_live_stream(self):
        live = self.subscribe(self.connect(), "py.replay")
        self.assertEqual(live.start_sequence(), 0)
        publisher = self.publisher(self.connect())
        batches = standard_batches()
        window = self.publish_batches(publisher, "py.replay", batches)
        live_events = live.events(6)
        self.assert_events_match(live_events, batches, window)

        earliest = self.subscribe(self.connect(), "py.replay",
                                  position=pb.START_POSITION_EARLIEST)
        self.assertEqual(earliest.start_sequence(), 0)
        self.assertEqual(earliest.events(6), live_events)

        middle = self.subscribe(self.connect(), "py.replay", from_sequence=2)
        self.assertEqual(middle.start_sequence(), 2)
        self.assertEqual(middle.events(4), live_events[2:])

        # All three are live now: the next event reaches each once, with no gap.
        self.publish_batches(publisher, "py.replay", [(104, [event_input("k", b"live")])],
                             first_sequence=6)
        for subscriber in (live, earliest, middle):
            (event,) = subscriber.events(1)
            self.assertEqual((event.sequence, event.key, event.payload), (6, "k", b"live"))

    # (d)
    def test_bad_batches_get_an_error_each_and_the_stream_stays_usable(self):
        channel = self.connect()
        publisher = self.publisher(channel)
        good = [event_input("k", b"v")]

        response = publisher.publish(pb.PublishRequest(topic="py.bad", batch_id=1, events=good))
        self.assertEqual(response.WhichOneof("result"), "ack", response)
        self.assertEqual((response.batch_id, response.ack.first_sequence), (1, 0))

        response = publisher.publish(pb.PublishRequest(topic="py.bad", batch_id=2))
        self.assertEqual(response.batch_id, 2)
        self.assertEqual(response.WhichOneof("result"), "error", response)
        self.assertEqual(response.error.code, INVALID_ARGUMENT, response)
        self.assertTrue(response.error.message)

        response = publisher.publish(pb.PublishRequest(topic="no spaces!", batch_id=3,
                                                       events=good))
        self.assertEqual(response.batch_id, 3)
        self.assertEqual(response.WhichOneof("result"), "error", response)
        self.assertEqual(response.error.code, INVALID_ARGUMENT, response)

        # No sequence went to the rejected batches.
        response = publisher.publish(pb.PublishRequest(topic="py.bad", batch_id=4,
                                                       events=good * 2))
        self.assertEqual(response.WhichOneof("result"), "ack", response)
        self.assertEqual((response.batch_id, response.ack.first_sequence, response.ack.count),
                         (4, 1, 2))

        publisher.half_close()
        self.assertEqual(publisher.status()[0], grpc.StatusCode.OK)
        topic = self.topic_call(channel, "GetTopic", pb.GetTopicRequest(name="py.bad"), pb.Topic)
        self.assertEqual(topic.next_sequence, 3)

    # (e)
    def test_from_sequence_beyond_the_next_is_out_of_range(self):
        channel = self.connect()
        publisher = self.publisher(channel)
        self.publish_batches(publisher, "py.range",
                             [(1, [event_input("a", b"1"), event_input("b", b"2"),
                                   event_input("c", b"3")])])

        beyond = self.subscribe(channel, "py.range", from_sequence=1_000_000)
        self.assertNotIn(START_SEQUENCE_HEADER, beyond.metadata())  # never registered
        code, details = beyond.status()
        self.assertEqual(code, grpc.StatusCode.OUT_OF_RANGE, details)
        # The message names the retained range, [0, 3).
        self.assertRegex(details, r"\b0\b")
        self.assertRegex(details, r"\b3\b")

        # The next sequence itself may be asked for.
        at_next = self.subscribe(channel, "py.range", from_sequence=3)
        self.assertEqual(at_next.start_sequence(), 3)
        self.publish_batches(publisher, "py.range", [(2, [event_input("d", b"4")])],
                             first_sequence=3)
        (event,) = at_next.events(1)
        self.assertEqual((event.sequence, event.key), (3, "d"))

    # (f)
    def test_sigterm_ends_open_streams_with_unavailable_and_exits_zero(self):
        subscriber = self.subscribe(self.connect(), "py.shutdown")
        self.assertEqual(subscriber.start_sequence(), 0)
        publisher = self.publisher(self.connect())
        batches = standard_batches()
        window = self.publish_batches(publisher, "py.shutdown", batches)
        self.assert_events_match(subscriber.events(6), batches, window)

        signalled = time.monotonic()
        self.server.proc.send_signal(signal.SIGTERM)

        code, details = subscriber.status()  # fails on any event after the six
        self.assertEqual(code, grpc.StatusCode.UNAVAILABLE, details)
        self.assertIn("resume from 6", details)  # sent by the server, not a broken connection
        code, details = publisher.status()
        self.assertEqual(code, grpc.StatusCode.UNAVAILABLE, details)

        try:
            exit_status = self.server.proc.wait(timeout=max(0.0, signalled + WAIT
                                                            - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.fail(f"ringcastd still runs {WAIT} s after SIGTERM")
        self.assertEqual(exit_status, 0)


def main():
    global RINGCASTD
    args = sys.argv[1:]
    if args and not args[0].startswith("-"):
        RINGCASTD = args.pop(0)
    else:
        RINGCASTD = os.environ.get("RINGCASTD")
    if not RINGCASTD or not os.access(RINGCASTD, os.X_OK):
        sys.exit(f"python_client_test: no ringcastd binary (argv[1] or $RINGCASTD): {RINGCASTD}")
    unittest.main(argv=[sys.argv[0], *args], verbosity=2)


if __name__ == "__main__":
    main()
