#!/usr/bin/env python3
"""Memory soak: a real ringcastd under a fixed memory budget, pressed by publishers, slow and idle
subscribers and topics that come and go, must stay under the budget and lose nothing it acked.

What runs for --duration seconds against one ringcastd started with --max_memory_bytes (384 MiB),
--max_topic_bytes, a small --max_event_bytes and short --slow_subscriber_timeout and
--publish_timeout:
  * publisher threads, each on its own connection, stream pipelined batches of events whose sizes
    run from 1 B to --max_event_bytes (half of them at least a quarter of the maximum, so that the
    budgets fill): one per stable topic, and some to any live topic;
  * every topic has RELIABLE subscribers from its first event (fast ones, and slow ones that pause
    between reads and, in waves, all stall at once, some past the slow-subscriber timeout, after
    which they resume where the server says), LOSSY subscribers that read and some that never do;
  * topics are created (some with CreateTopicRequest.max_bytes) and deleted while all that runs.

What is asserted:
  * the server's resident set (VmRSS sampled every 100 ms, and the kernel's VmHWM) stays under
    RSS_OVERHEAD_BYTES above the budget plus the idle baseline measured at start;
  * ListTopics, polled, never shows a topic holding more than its max_bytes, nor the topics
    together more than the budget less the transport's quota;
  * every acknowledged event reached every RELIABLE subscriber that stayed connected to the end,
    at its acknowledged sequence, with the bytes it was published with (each event's length and
    CRC-32 are compared), and no event reached anyone that was not acknowledged unless its batch's
    answer was lost with a broken stream; a subscriber cut off as too slow was sent exactly up to
    the sequence its status names; LOSSY subscribers see sequences in order and count every skip;
  * a batch is answered with an ack, RESOURCE_EXHAUSTED (the memory budget, or --publish_timeout),
    NOT_FOUND (only for a topic being deleted) or UNAVAILABLE, and nothing else; answers come in
    request order; subscribers of a deleted topic end with NOT_FOUND;
  * at the end ringcastd still runs and serves: topic calls, a publish and a subscribe, /metrics.
A one-line JSON summary (RSS figures, events and bytes acked, refusals by reason, subscribers cut
off) is printed on stdout, prefixed "soak summary: ".

Usage: memory_soak_test.py RINGCASTD [--duration=SECONDS] [--without-memory-flags]
                           [--seed=N] [--trace=FILE] [unittest arguments]
   or: RINGCASTD=path/to/ringcastd memory_soak_test.py [...]
  --duration defaults to $RINGCAST_SOAK_DURATION, else 50 (the short run of `make test`; the
  long soak is --duration=600). --seed ($RINGCAST_SOAK_SEED, default 1) seeds the load.
  --trace writes every RSS sample with the topics' bytes at that time, to plot.
  --without-memory-flags runs against a server that predates --max_memory_bytes: the memory flags
  and CreateTopicRequest.max_bytes are left out (rings are bounded by a small capacity instead)
  and the memory bounds are reported, not asserted.
Needs python3-grpcio, python3-protobuf and protoc (scripts/install-deps.sh).
"""

import argparse
import array
import collections
import json
import math
import os
import queue
import random
import re
import signal
import sys
import threading
import time
import unittest
import zlib

try:
    import grpc
    import google.protobuf  # noqa: F401  (the generated messages need it)
except ImportError as error:
    sys.exit(f"memory_soak_test: {error}: this interpreter ({sys.executable}) needs "
             "python3-grpcio and python3-protobuf (scripts/install-deps.sh)")

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "support"))
from ringcast_process import Messages, Server, status_bytes  # noqa: E402

MIB = 1 << 20

# The server under test.
MEMORY_BUDGET_BYTES = 384 * MIB  # --max_memory_bytes
# gRPC's share of the budget (a quarter, at least 64 MiB); the topics share the rest.
TRANSPORT_BYTES = max(MEMORY_BUDGET_BYTES // 4, 64 * MIB)
EVENT_SHARE_BYTES = MEMORY_BUDGET_BYTES - TRANSPORT_BYTES
TOPIC_BYTES = 48 * MIB  # --max_topic_bytes
MAX_EVENT_BYTES = 256 << 10  # --max_event_bytes
RING_CAPACITY = 4096  # --default_ring_capacity: ~4096 x 90 KiB, far more than the byte budgets
LEGACY_RING_CAPACITY = 128  # without the memory flags the capacity is the only bound
PUBLISH_TIMEOUT_S = 1
SLOW_SUBSCRIBER_TIMEOUT_S = 3
SERVER_FLAGS = [
    f"--max_event_bytes={MAX_EVENT_BYTES}",
    f"--publish_timeout={PUBLISH_TIMEOUT_S}s",
    f"--slow_subscriber_timeout={SLOW_SUBSCRIBER_TIMEOUT_S}s",
    "--auto_create_topics=false",  # a deleted topic stays deleted: NOT_FOUND, never re-created
    "--shutdown_timeout=5s",
]
MEMORY_FLAGS = [f"--max_memory_bytes={MEMORY_BUDGET_BYTES}", f"--max_topic_bytes={TOPIC_BYTES}"]

# The bound on the server's resident set: the budget, plus the idle baseline measured at start
# (code, gRPC's threads and their stacks, the allocator's arenas before any traffic), plus what
# the budget does not count by design: ring slot arrays (RING_CAPACITY x 2 slots of a few dozen
# bytes per topic), per-stream reactor state, protobuf objects of requests being parsed, and
# allocator slack (freed chunks not yet returned to the kernel). 64 MiB for all of that.
RSS_OVERHEAD_BYTES = 64 * MIB

# The load.
# One publisher per stable topic, so that a full ring parks only its own stream (a batch waiting
# on a full ring holds up the stream behind it), plus some that roam over every live topic.
ROAMING_PUBLISHERS = 2
PUBLISH_WINDOW = 4  # batches in flight per publish stream
MAX_BATCH_EVENTS = 8
MAX_BATCH_BYTES = 1 * MIB
# Topics present from the start: (name, CreateTopicRequest.max_bytes (0: --max_topic_bytes),
# subscribers). Their budgets add up to more than the topics' share, so that together, when slow
# subscribers stall them, they run into the server's budget.
STABLE_TOPICS = [
    ("soak.a", 0, ["fast", "slow", "lossy", "idle"]),
    ("soak.b", 96 * MIB, ["fast", "slow", "lossy", "idle"]),
    ("soak.c", 24 * MIB, ["fast", "slow", "idle", "idle"]),  # fills first: slow ones cut off
    ("soak.d", 0, ["fast", "fast", "slow"]),
    ("soak.e", 128 * MIB, ["fast", "slow", "idle"]),
]
CHURN_SUBSCRIBERS = ["fast", "lossy"]
CHURN_MAX_BYTES = [0, 16 * MIB, 32 * MIB, 96 * MIB]
CHURN_CAPACITIES = [1024, 4096, 16384]
CHURN_LIFETIME_S = (3.0, 8.0)
CHURN_RETRY_S = 0.25  # after a creation refused for the budget (it is often nearly spent)
SLOW_PAUSE_S = 0.02  # a slow subscriber's pause after each response
# Every slow subscriber stalls at once, in waves, so that several rings fill together and the
# topics run into the server's budget. Some stalls outlast --slow_subscriber_timeout, some do not.
STALL_WAVE_EVERY_S = (6.0, 10.0)
SLOW_STALL_S = (1.0, 6.0)

RSS_SAMPLE_S = 0.1
TOPICS_SAMPLE_S = 0.5
WAIT = 10  # seconds: the longest one step may take (a start, a call, an exit)
DRAIN_WAIT = 90  # seconds: for the subscribers to catch up once publishing stopped
START_SEQUENCE_HEADER = "ringcast-start-sequence"
BUDGET_FLAG = "--max_memory_bytes"  # a refusal for the budget names it

# google.rpc.Code numbering, as PublishError.code carries it.
NOT_FOUND = 5
RESOURCE_EXHAUSTED = 8
UNAVAILABLE = 14

OPTIONS = None  # parsed command line: binary, duration, memory_flags, seed
messages = None
pb = None  # the module protoc generates from ringcast.proto


def setUpModule():
    global messages, pb
    messages = Messages()
    pb = messages.pb


def tearDownModule():
    if messages:
        messages.close()


def serialize(message):
    return message.SerializeToString()


def fingerprint(key_bytes, payload):
    """An event's identity as both ends can compute it: its length and the CRC-32 of its key and
    payload. Never 0 (the length is at least 1), which marks an unknown sequence."""
    return (len(key_bytes) + len(payload)) << 32 | zlib.crc32(payload, zlib.crc32(key_bytes))


def mib(n):
    return round(n / MIB, 1)


def connect(address):
    """A channel on its own connection, ready to use."""
    channel = grpc.insecure_channel(address, options=[
        ("grpc.use_local_subchannel_pool", 1),
        ("grpc.max_receive_message_length", 16 * MIB),
        ("grpc.max_send_message_length", 16 * MIB),
    ])
    grpc.channel_ready_future(channel).result(timeout=WAIT)
    return channel


def topic_call(channel, method, request, response_type):
    call = channel.unary_unary(f"/ringcast.v1.TopicService/{method}",
                               request_serializer=serialize,
                               response_deserializer=response_type.FromString)
    return call(request, timeout=WAIT)


class Ledger:
    """What was acknowledged, per topic, and every refusal, shared by all publishers."""

    def __init__(self):
        self._lock = threading.Lock()
        self._acks = collections.defaultdict(list)  # topic -> [(first_sequence, fingerprints)]
        self.events = 0
        self.bytes = 0
        self.batches = 0
        self.refusals = collections.Counter()  # reason -> batches (or topic creations)
        self.unanswered_batches = 0  # in flight on a stream that broke: published or not
        self.stream_breaks = collections.Counter()  # status code name -> publish streams
        self.failures = []

    def stream_broke(self, code, unanswered):
        with self._lock:
            self.stream_breaks[code.name] += 1
            self.unanswered_batches += unanswered

    def ack(self, topic, first_sequence, fingerprints, size):
        with self._lock:
            self._acks[topic].append((first_sequence, fingerprints))
            self.events += len(fingerprints)
            self.bytes += size
            self.batches += 1

    def refuse(self, reason):
        with self._lock:
            self.refusals[reason] += 1

    def fail(self, message):
        with self._lock:
            if len(self.failures) < 200:
                self.failures.append(message)

    def acked(self, topic):
        """(end, fingerprints): sequences [0, end) with the fingerprint of every acknowledged one
        (0 where none was acknowledged), and checks that no two acks overlap."""
        with self._lock:
            acks = sorted(self._acks.get(topic, ()), key=lambda ack: ack[0])
        end = max((first + len(fingerprints) for first, fingerprints in acks), default=0)
        table = array.array("Q", bytes(8 * end))
        previous_end = 0
        for first, fingerprints in acks:
            if first < previous_end:
                self.fail(f"{topic}: ack of sequences {first}..{first + len(fingerprints) - 1} "
                          f"overlaps the one before (which ended at {previous_end - 1})")
            table[first:first + len(fingerprints)] = fingerprints
            previous_end = first + len(fingerprints)
        return end, table


class Topics:
    """The topics publishers may use, and those being or already deleted."""

    def __init__(self):
        self._lock = threading.Lock()
        self._live = []
        self._deleted = set()

    def add(self, name):
        with self._lock:
            self._live.append(name)

    def mark_deleted(self, name):
        """Called before DeleteTopic: from then on NOT_FOUND is a valid answer for it."""
        with self._lock:
            self._live.remove(name)
            self._deleted.add(name)

    def choose(self, rng):
        """Any live topic, or None."""
        with self._lock:
            return rng.choice(self._live) if self._live else None

    def pinned(self, name):
        """A chooser that always picks `name` while it is live."""
        def choose(rng):
            del rng
            with self._lock:
                return name if name in self._live else None
        return choose

    def deleted(self, name):
        with self._lock:
            return name in self._deleted


class EventSource:
    """Random events: sizes skewed towards the large end, payloads cut from one random block."""

    def __init__(self, rng, max_event_bytes):
        self._rng = rng
        self._max = max_event_bytes
        self._block = rng.randbytes(8 * MIB)

    def size(self):
        """1 B .. max: 10% at the maximum, 40% in its top three quarters, 25% from 1 KiB to a
        quarter of it (log-uniform), 25% from 1 B to 1 KiB (log-uniform)."""
        rng, top = self._rng, self._max
        draw = rng.random()
        if draw < 0.10:
            return top
        if draw < 0.50:
            return rng.randint(top // 4, top)
        if draw < 0.75:
            return int(math.exp(rng.uniform(math.log(1024), math.log(top // 4))))
        return max(1, int(math.exp(rng.uniform(0, math.log(1024)))))

    def event(self, key):
        """An EventInput of size() bytes (key + payload) and its fingerprint."""
        size = self.size()
        key_bytes = key.encode() if size > 2 * len(key) else b""  # small events carry no key
        length = size - len(key_bytes)
        offset = self._rng.randrange(0, len(self._block) - length)
        payload = self._block[offset:offset + length]
        return (pb.EventInput(key=key_bytes.decode(), payload=payload),
                fingerprint(key_bytes, payload), size)


class Publisher:
    """One thread publishing pipelined batches on one Publish stream (PUBLISH_WINDOW in flight),
    one thread reading the answers. A stream that breaks is replaced by a new one."""

    _HALF_CLOSE = object()

    def __init__(self, index, address, topics, choose, ledger, stopping, seed, deadline_s):
        self.index = index
        self._topics = topics
        self._choose = choose  # rng -> the topic of the next batch, or None
        self._ledger = ledger
        self._stopping = stopping
        self._rng = random.Random(seed)
        self._events = EventSource(self._rng, MAX_EVENT_BYTES)
        self._deadline_s = deadline_s
        self._next_batch_id = 1
        self.channel = connect(address)
        self._thread = threading.Thread(target=self._run, name=f"publisher-{index}", daemon=True)
        self._thread.start()

    def _run(self):
        try:
            while not self._stopping.is_set():
                if not self._stream():
                    return
        except Exception as error:  # noqa: BLE001  (any surprise is a test failure, not a hang)
            self._ledger.fail(f"publisher {self.index}: {type(error).__name__}: {error}")

    def _stream(self):
        """Publishes on one stream until stopping or the stream breaks; False if it must not be
        replaced."""
        requests = queue.Queue()
        window = threading.Semaphore(PUBLISH_WINDOW)
        pending = collections.deque()  # (batch_id, topic, fingerprints, size), in request order
        pending_lock = threading.Lock()

        def request_iterator():
            while True:
                request = requests.get()
                if request is self._HALF_CLOSE:
                    return
                yield request

        publish = self.channel.stream_stream(
            "/ringcast.v1.EventService/Publish", request_serializer=serialize,
            response_deserializer=pb.PublishResponse.FromString)
        call = publish(request_iterator(), timeout=self._deadline_s)
        outcome = {}
        reader = threading.Thread(
            target=self._read_answers, args=(call, pending, pending_lock, window, outcome),
            name=f"publisher-{self.index}-answers", daemon=True)
        reader.start()

        while not self._stopping.is_set() and reader.is_alive():
            if not window.acquire(timeout=0.2):
                continue
            topic = self._choose(self._rng)
            if topic is None:
                window.release()
                time.sleep(0.05)
                continue
            batch_id = self._next_batch_id
            self._next_batch_id += 1
            events, fingerprints, size = [], array.array("Q"), 0
            count = self._rng.randint(1, MAX_BATCH_EVENTS)
            while len(events) < count:
                event, event_fingerprint, event_size = self._events.event(
                    f"p{self.index}.{batch_id}.{len(events)}")
                if events and size + event_size > MAX_BATCH_BYTES:
                    break
                events.append(event)
                fingerprints.append(event_fingerprint)
                size += event_size
            with pending_lock:
                pending.append((batch_id, topic, fingerprints, size))
            requests.put(pb.PublishRequest(topic=topic, batch_id=batch_id, events=events))

        # Stopping: every batch sent gets its answer, then the stream half-closes.
        deadline = time.monotonic() + PUBLISH_TIMEOUT_S + 60
        while reader.is_alive() and time.monotonic() < deadline:
            with pending_lock:
                if not pending:
                    break
            time.sleep(0.05)
        requests.put(self._HALF_CLOSE)
        reader.join(timeout=max(1.0, deadline - time.monotonic()))
        if reader.is_alive():
            with pending_lock:
                waiting = len(pending)
            self._ledger.fail(f"publisher {self.index}: {waiting} batches still unanswered "
                              f"{PUBLISH_TIMEOUT_S + 60} s after publishing stopped")
            call.cancel()
            reader.join(timeout=WAIT)
            return False
        code, details = outcome["status"]
        if code == grpc.StatusCode.OK:
            return False  # the half-close ended it: publishing stopped
        with pending_lock:
            unanswered = len(pending)
        self._ledger.stream_broke(code, unanswered)
        # UNAVAILABLE, or RESOURCE_EXHAUSTED from the transport's quota (gRPC resets the largest
        # streams when its buffers reach it): a client reconnects. Anything else is a failure.
        if code not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED):
            self._ledger.fail(f"publisher {self.index}: stream ended with {code.name}: "
                              f"{details} ({unanswered} batches unanswered)")
            return False
        return True

    def _read_answers(self, call, pending, pending_lock, window, outcome):
        try:
            for response in call:
                with pending_lock:
                    if not pending:
                        self._ledger.fail(f"publisher {self.index}: answer to batch "
                                          f"{response.batch_id}, which was not sent")
                        continue
                    batch_id, topic, fingerprints, size = pending.popleft()
                window.release()
                if response.batch_id != batch_id:
                    self._ledger.fail(f"publisher {self.index}: answer to batch "
                                      f"{response.batch_id} where {batch_id}'s was due")
                self._answer(response, topic, fingerprints, size)
            outcome["status"] = (call.code(), call.details())
        except grpc.RpcError as error:
            outcome["status"] = (error.code(), error.details())

    def _answer(self, response, topic, fingerprints, size):
        if response.WhichOneof("result") == "ack":
            ack = response.ack
            if ack.count != len(fingerprints):
                self._ledger.fail(f"{topic}: batch {response.batch_id} of {len(fingerprints)} "
                                  f"events acked with count {ack.count}")
            self._ledger.ack(topic, ack.first_sequence, fingerprints, size)
            return
        code, message = response.error.code, response.error.message
        if code == RESOURCE_EXHAUSTED and "--publish_timeout" in message:
            self._ledger.refuse("publish_timeout")
        elif code == RESOURCE_EXHAUSTED and BUDGET_FLAG in message:
            self._ledger.refuse("memory")
        elif code == NOT_FOUND and self._topics.deleted(topic):
            self._ledger.refuse("not_found")
        elif code == UNAVAILABLE:
            self._ledger.refuse("unavailable")
        else:
            self._ledger.refuse(f"unexpected_{code}")
            self._ledger.fail(f"{topic}: batch {response.batch_id} refused with code {code}: "
                              f"{message}")

    def join(self, timeout):
        self._thread.join(timeout=timeout)
        return not self._thread.is_alive()

    def close(self):
        self.channel.close()


class Subscriber:
    """One Subscribe call and the thread reading it.

    kind: "fast" (RELIABLE, reads at once), "slow" (RELIABLE, pauses after each response and
    stalls now and then), "lossy" (LOSSY, reads at once) or "idle" (LOSSY, never reads).
    RELIABLE readers keep the fingerprint of every event from their start sequence on; LOSSY
    readers keep (sequence, fingerprint) pairs. Fingerprints are compared with the ledger at the
    end, when every answer is in.
    """

    def __init__(self, harness, topic, kind, start, resumed=False):
        self.topic = topic
        self.kind = kind
        self.resumed = resumed
        self.reliable = kind in ("fast", "slow")
        self._harness = harness
        self._rng = random.Random(harness.rng.random())
        mode = pb.DELIVERY_MODE_RELIABLE if self.reliable else pb.DELIVERY_MODE_LOSSY
        request = pb.SubscribeRequest(topic=topic, mode=mode, **start)
        self.channel = connect(harness.server.address)
        subscribe = self.channel.unary_stream(
            "/ringcast.v1.EventService/Subscribe", request_serializer=serialize,
            response_deserializer=pb.SubscribeResponse.FromString)
        self.call = subscribe(request, timeout=harness.stream_deadline_s)
        self.start = None
        self.next_sequence = None  # the sequence the next event must have
        self.fingerprints = array.array("Q")  # RELIABLE: from self.start on
        self.lossy_sequences = array.array("Q")  # LOSSY: what arrived
        self.lossy_fingerprints = array.array("Q")
        self.skipped = 0
        self.status = None  # (code, details) once the stream ended
        self.failures = []
        self.ended = threading.Event()
        self.draining = threading.Event()  # set when publishing stopped: no more pauses
        self._thread = None
        metadata = dict(self.call.initial_metadata() or ())
        if START_SEQUENCE_HEADER not in metadata:
            self.ended.set()
            self.status = (self.call.code(), self.call.details())
            return
        self.start = int(metadata[START_SEQUENCE_HEADER])
        self.next_sequence = self.start
        if kind != "idle":
            self._thread = threading.Thread(target=self._read, name=f"{kind}-{topic}",
                                            daemon=True)
            self._thread.start()

    def _read(self):
        wave = self._harness.stall_wave
        try:
            for response in self.call:
                self._take(response)
                if self.kind == "slow" and not self.draining.is_set():
                    time.sleep(SLOW_PAUSE_S)
                    if self._harness.stall_wave != wave:
                        wave = self._harness.stall_wave
                        self.draining.wait(self._rng.uniform(*SLOW_STALL_S))
            self.status = (self.call.code(), self.call.details())
        except grpc.RpcError as error:
            self.status = (error.code(), error.details())
        except Exception as error:  # noqa: BLE001  (reported with the rest)
            self.failures.append(f"{type(error).__name__}: {error}")
            self.status = (None, str(error))
        self.ended.set()
        self._harness.subscriber_ended(self)

    def _take(self, response):
        events = response.events
        if not events:
            self.failures.append("empty response")
            return
        if self.reliable:
            if response.skipped:
                self.failures.append(f"RELIABLE response skips {response.skipped}")
            for event in events:
                if event.sequence != self.next_sequence:
                    self.failures.append(f"sequence {event.sequence} where "
                                         f"{self.next_sequence} was due")
                    self.next_sequence = event.sequence
                self.fingerprints.append(fingerprint(event.key.encode(), event.payload))
                self.next_sequence += 1
            return
        if events[0].sequence != self.next_sequence + response.skipped:
            self.failures.append(f"LOSSY: first sequence {events[0].sequence} after "
                                 f"{self.next_sequence - 1} with skipped={response.skipped}")
        self.skipped += response.skipped
        expected = events[0].sequence
        for event in events:
            if event.sequence != expected:
                self.failures.append(f"LOSSY: sequence {event.sequence} where {expected} was "
                                     "due within one response")
            self.lossy_sequences.append(event.sequence)
            self.lossy_fingerprints.append(fingerprint(event.key.encode(), event.payload))
            expected = event.sequence + 1
        self.next_sequence = expected

    def cut_off(self):
        """True if the server ended it as too slow (or its transport reset it)."""
        return self.status is not None and self.status[0] == grpc.StatusCode.RESOURCE_EXHAUSTED

    def resume_from(self):
        """The sequence a cut-off status says to resume from, or None."""
        found = re.search(r"resume from (\d+)", self.status[1] or "") if self.status else None
        return int(found.group(1)) if found else None

    def close(self):
        self.draining.set()
        self.call.cancel()
        if self._thread is not None:
            self._thread.join(timeout=WAIT)
        self.channel.close()


class Monitor:
    """Samples the server's VmRSS every RSS_SAMPLE_S and checks ListTopics every
    TOPICS_SAMPLE_S: no topic above its max_bytes, all of them within the topics' share."""

    def __init__(self, server, check_bytes, ledger, trace_path=None):
        self._server = server
        self._check_bytes = check_bytes
        self._ledger = ledger
        self._stop = threading.Event()
        self.peak_rss = 0
        self.samples = 0
        self.longest_gap_s = 0.0
        self.peak_topic_bytes = 0  # the most the topics held together in one ListTopics
        self.topic_samples = 0
        self.topic_bytes = 0  # the latest ListTopics total
        self.rss_at_peak_topic_bytes = 0
        self.server_gone = False
        self._trace = open(trace_path, "w", encoding="ascii") if trace_path else None
        if self._trace:
            self._trace.write("seconds rss_mib topic_mib\n")
        self._channel = connect(server.address)
        self._thread = threading.Thread(target=self._run, name="monitor", daemon=True)
        self._thread.start()

    def _run(self):
        began = last_sample = time.monotonic()
        next_topics = last_sample
        while not self._stop.is_set():
            rss = status_bytes(self._server.pid, "VmRSS")  # None once the server is gone
            now = time.monotonic()
            if rss is None:
                self.server_gone = True
                return
            self.peak_rss = max(self.peak_rss, rss)
            self.samples += 1
            self.longest_gap_s = max(self.longest_gap_s, now - last_sample)
            last_sample = now
            if now >= next_topics:
                next_topics = now + TOPICS_SAMPLE_S
                self._check_topics(rss)
            if self._trace:
                self._trace.write(f"{now - began:.2f} {mib(rss)} {mib(self.topic_bytes)}\n")
            self._stop.wait(RSS_SAMPLE_S)

    def _check_topics(self, rss):
        try:
            listed = topic_call(self._channel, "ListTopics", pb.ListTopicsRequest(),
                                pb.ListTopicsResponse)
        except grpc.RpcError as error:
            self._ledger.fail(f"ListTopics: {error.code().name}: {error.details()}")
            return
        self.topic_samples += 1
        total = sum(topic.bytes for topic in listed.topics)
        self.topic_bytes = total
        if total >= self.peak_topic_bytes:
            self.peak_topic_bytes = total
            self.rss_at_peak_topic_bytes = rss
        if not self._check_bytes:
            return
        for topic in listed.topics:
            if topic.max_bytes == 0 or topic.bytes > topic.max_bytes:
                self._ledger.fail(f"ListTopics: {topic.name} holds {topic.bytes} bytes, "
                                  f"max_bytes {topic.max_bytes}")
        if total > EVENT_SHARE_BYTES:
            self._ledger.fail(f"ListTopics: the topics hold {total} bytes together, more than "
                              f"the budget less the transport's quota ({EVENT_SHARE_BYTES})")

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=WAIT)
        self._channel.close()
        if self._trace:
            self._trace.close()


class MemorySoakTest(unittest.TestCase):

    def setUp(self):
        self.rng = random.Random(OPTIONS.seed)
        self.memory_flags = OPTIONS.memory_flags
        flags = list(SERVER_FLAGS)
        if self.memory_flags:
            flags += MEMORY_FLAGS + [f"--default_ring_capacity={RING_CAPACITY}"]
        else:
            flags += [f"--default_ring_capacity={LEGACY_RING_CAPACITY}"]
        # SIGTERM at the end: the server shuts down as it would in production. A long run logs
        # a lot; the last lines are kept, and the last 40 shown.
        self.server = Server(OPTIONS.binary, "--metrics_listen=127.0.0.1:0", *flags,
                             stop_signal=signal.SIGTERM, log_lines=2000)
        self.addCleanup(self.server.stop, tail=40)  # registered first: runs after the others
        self.stream_deadline_s = OPTIONS.duration + 300
        self.ledger = Ledger()
        self.topics = Topics()
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.subscribers = []
        self.cut_off = collections.Counter()  # kind -> subscribers cut off as too slow
        self.churn = {"created": 0, "deleted": 0, "refused": 0}
        self.stall_wave = 0  # bumped by _stall_waves; slow subscribers stall when it changes
        self.admin = connect(self.server.address)
        self.addCleanup(self.admin.close)

    # Subscribers.

    def subscribe(self, topic, kind, start, resumed=False):
        subscriber = Subscriber(self, topic, kind, start, resumed)
        with self._lock:
            self.subscribers.append(subscriber)
        if self.stopping.is_set():
            subscriber.draining.set()
        return subscriber

    def subscriber_ended(self, subscriber):
        """A reader's stream ended: a slow one cut off resumes where the server says, as a client
        would, while publishing goes on."""
        if not subscriber.cut_off():
            return
        with self._lock:
            self.cut_off[subscriber.kind] += 1
        resume = subscriber.resume_from()
        if resume is None or self.stopping.is_set() or self.topics.deleted(subscriber.topic):
            return
        try:
            self.subscribe(subscriber.topic, subscriber.kind, {"from_sequence": resume},
                           resumed=True)
        except Exception as error:  # noqa: BLE001
            self.ledger.fail(f"{subscriber.topic}: resuming from {resume}: {error}")

    def create_topic(self, name, max_bytes, capacity=0, kinds=()):
        """Creates the topic, subscribes `kinds` from its first event, then lets publishers at it.
        False if the server refused it for its budget."""
        request = pb.CreateTopicRequest(name=name, capacity=capacity)
        if self.memory_flags:
            request.max_bytes = max_bytes
        try:
            created = topic_call(self.admin, "CreateTopic", request, pb.Topic)
        except grpc.RpcError as error:
            if (error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                    and BUDGET_FLAG in (error.details() or "")):
                self.ledger.refuse("create_memory")
                return False
            raise
        if self.memory_flags:
            expected = max_bytes or TOPIC_BYTES
            if created.max_bytes != expected:
                self.ledger.fail(f"CreateTopic {name}: max_bytes {created.max_bytes}, "
                                 f"expected {expected}")
        for kind in kinds:
            subscriber = self.subscribe(name, kind, {"position": pb.START_POSITION_EARLIEST})
            if subscriber.start != 0:
                self.ledger.fail(f"{name}: {kind} subscriber of a fresh topic starts at "
                                 f"{subscriber.start} ({subscriber.status})")
        self.topics.add(name)
        return True

    # Topic churn.

    def _churn(self):
        number = 0
        try:
            while not self.stopping.is_set():
                number += 1
                name = f"soak.churn.{number}"
                capacity = self.rng.choice(CHURN_CAPACITIES if self.memory_flags
                                           else [LEGACY_RING_CAPACITY])
                if not self.create_topic(name, self.rng.choice(CHURN_MAX_BYTES), capacity,
                                         CHURN_SUBSCRIBERS):
                    self.churn["refused"] += 1
                    self.stopping.wait(CHURN_RETRY_S)
                    continue
                self.churn["created"] += 1
                if self.stopping.wait(self.rng.uniform(*CHURN_LIFETIME_S)):
                    return  # still live at the end: checked like the others
                self.topics.mark_deleted(name)
                topic_call(self.admin, "DeleteTopic", pb.DeleteTopicRequest(name=name),
                           pb.DeleteTopicResponse)
                self.churn["deleted"] += 1
                self.stopping.wait(self.rng.uniform(0.5, 1.5))
        except Exception as error:  # noqa: BLE001
            self.ledger.fail(f"topic churn: {type(error).__name__}: {error}")

    def _stall_waves(self):
        while not self.stopping.wait(self.rng.uniform(*STALL_WAVE_EVERY_S)):
            self.stall_wave += 1

    # The run.

    def test_memory_stays_bounded_and_acked_events_reach_reliable_subscribers(self):
        server = self.server
        # Idle baseline: the most VmRSS reads over a second before any topic exists.
        baseline = 0
        for _ in range(10):
            baseline = max(baseline, server.rss())
            time.sleep(0.1)
        bound = MEMORY_BUDGET_BYTES + baseline + RSS_OVERHEAD_BYTES

        monitor = Monitor(server, self.memory_flags, self.ledger, OPTIONS.trace)
        self.addCleanup(monitor.stop)
        self.addCleanup(self._close_subscribers)
        for name, max_bytes, kinds in STABLE_TOPICS:
            self.assertTrue(self.create_topic(name, max_bytes, kinds=kinds),
                            f"CreateTopic {name} refused on an idle server")

        started = time.monotonic()
        choosers = [self.topics.pinned(name) for name, _, _ in STABLE_TOPICS]
        choosers += [self.topics.choose] * ROAMING_PUBLISHERS
        publishers = [Publisher(index, server.address, self.topics, choose, self.ledger,
                                self.stopping, self.rng.random(), self.stream_deadline_s)
                      for index, choose in enumerate(choosers)]
        for publisher in publishers:
            self.addCleanup(publisher.close)
        churn = threading.Thread(target=self._churn, name="churn", daemon=True)
        churn.start()
        waves = threading.Thread(target=self._stall_waves, name="stall-waves", daemon=True)
        waves.start()

        while time.monotonic() - started < OPTIONS.duration:
            if not server.alive() or monitor.server_gone:
                break
            time.sleep(0.25)
        self.stopping.set()
        with self._lock:
            subscribers = list(self.subscribers)
        for subscriber in subscribers:
            subscriber.draining.set()
        churn.join(timeout=WAIT)
        waves.join(timeout=WAIT)
        for publisher in publishers:
            if not publisher.join(timeout=PUBLISH_TIMEOUT_S + 90):
                self.ledger.fail(f"publisher {publisher.index} did not stop")
        publishing_s = time.monotonic() - started
        self.assertTrue(server.alive(), f"ringcastd exited with status {server.proc.returncode} "
                                        f"during the run:\n{server.log()}")

        drained_s, undrained = self._drain()
        self._check_subscribers(undrained)
        self._check_still_serving()
        metrics = self._scrape_metrics()
        monitor.stop()

        peak_hwm = server.peak_rss()
        peak = max(monitor.peak_rss, peak_hwm)
        with self._lock:
            cut_off = dict(self.cut_off)
        summary = {
            "duration_s": round(publishing_s, 1),
            "drain_s": round(drained_s, 1),
            "memory_flags": self.memory_flags,
            "budget_mib": mib(MEMORY_BUDGET_BYTES),
            "baseline_rss_mib": mib(baseline),
            "peak_rss_sampled_mib": mib(monitor.peak_rss),
            "peak_rss_hwm_mib": mib(peak_hwm),
            "rss_bound_mib": mib(bound),
            "rss_samples": monitor.samples,
            "longest_sample_gap_s": round(monitor.longest_gap_s, 2),
            "peak_topic_bytes_mib": mib(monitor.peak_topic_bytes),
            "rss_at_peak_topic_bytes_mib": mib(monitor.rss_at_peak_topic_bytes),
            "events_acked": self.ledger.events,
            "bytes_acked_mib": mib(self.ledger.bytes),
            "batches_acked": self.ledger.batches,
            "acked_mib_per_s": round(self.ledger.bytes / MIB / max(publishing_s, 1e-9), 1),
            "refusals": dict(self.ledger.refusals),
            "server_rejected_batches": metrics["rejected"],
            "publish_stream_breaks": dict(self.ledger.stream_breaks),
            "unanswered_batches": self.ledger.unanswered_batches,
            "subscribers_cut_off": cut_off,
            "server_slow_subscriber_disconnects": metrics["slow_disconnects"],
            "subscribers": len(subscribers),
            "stall_waves": self.stall_wave,
            "churn_topics": dict(self.churn),
            "verified": self._verified,
        }
        print("soak summary: " + json.dumps(summary, sort_keys=True), flush=True)

        self.assertFalse(self.ledger.failures,
                         f"{len(self.ledger.failures)} failures, the first ones:\n"
                         + "\n".join(self.ledger.failures[:30]))
        self.assertGreater(self.ledger.events, 0, "nothing was acknowledged")
        if self.memory_flags:
            self.assertLess(peak, bound,
                            f"ringcastd's resident set peaked at {mib(peak)} MiB (VmHWM "
                            f"{mib(peak_hwm)}, sampled {mib(monitor.peak_rss)}), over the "
                            f"{mib(bound)} MiB bound (budget {mib(MEMORY_BUDGET_BYTES)} + idle "
                            f"baseline {mib(baseline)} + {mib(RSS_OVERHEAD_BYTES)})")
            self.assertIn("ringcast_topic_bytes", metrics["text"], "no ringcast_topic_bytes")

    def _drain(self):
        """Waits until every RELIABLE reader of a live topic that is still connected has
        received everything acknowledged on it. Returns (seconds, [readers that did not])."""
        began = time.monotonic()
        with self._lock:
            subscribers = list(self.subscribers)
        ends = {}
        waiting = []
        ending = []  # readers of deleted topics, which must end (NOT_FOUND)
        for subscriber in subscribers:
            if subscriber.kind == "idle" or subscriber.start is None:
                continue
            if self.topics.deleted(subscriber.topic):
                ending.append(subscriber)
                continue
            if not subscriber.reliable:
                continue
            if subscriber.topic not in ends:
                ends[subscriber.topic] = self.ledger.acked(subscriber.topic)
            waiting.append(subscriber)
        self._acked = ends
        deadline = began + DRAIN_WAIT
        while time.monotonic() < deadline:
            waiting = [s for s in waiting
                       if not s.ended.is_set() and s.next_sequence < ends[s.topic][0]]
            ending = [s for s in ending if not s.ended.is_set()]
            if not waiting and not ending:
                break
            time.sleep(0.1)
        return time.monotonic() - began, waiting

    def _check_subscribers(self, undrained):
        fail = self.ledger.fail
        for subscriber in undrained:
            fail(f"{subscriber.topic}: {subscriber.kind} subscriber reached only sequence "
                 f"{subscriber.next_sequence} of {self._acked[subscriber.topic][0]} acked, "
                 f"{DRAIN_WAIT} s after publishing stopped")
        with self._lock:
            subscribers = list(self.subscribers)
        tables = dict(self._acked)
        verified = collections.Counter()
        unconfirmed = 0
        for subscriber in subscribers:
            where = f"{subscriber.topic}: {subscriber.kind} subscriber from {subscriber.start}"
            for failure in subscriber.failures[:5]:
                fail(f"{where}: {failure}")
            deleted = self.topics.deleted(subscriber.topic)
            if subscriber.start is None:  # never registered
                code = subscriber.status[0]
                if not (subscriber.resumed and code == grpc.StatusCode.OUT_OF_RANGE) and not (
                        deleted and code == grpc.StatusCode.NOT_FOUND):
                    fail(f"{where}: not registered: {subscriber.status}")
                continue
            if subscriber.topic not in tables:
                tables[subscriber.topic] = self.ledger.acked(subscriber.topic)
            end, table = tables[subscriber.topic]
            ended = subscriber.ended.is_set()
            code, details = subscriber.status or (None, None)
            if ended and deleted:
                if code not in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.RESOURCE_EXHAUSTED):
                    fail(f"{where}: a deleted topic's subscriber ended with {code}: {details}")
            elif deleted and subscriber.kind != "idle":
                fail(f"{where}: still open after its topic was deleted")
            elif ended and code != grpc.StatusCode.RESOURCE_EXHAUSTED:
                fail(f"{where}: ended with {code}: {details}")

            if subscriber.reliable:
                received = len(subscriber.fingerprints)
                if subscriber.cut_off():
                    resume = subscriber.resume_from()
                    if resume is not None and resume != subscriber.start + received:
                        fail(f"{where}: cut off with \"resume from {resume}\" but received up "
                             f"to {subscriber.start + received - 1}")
                for offset in range(received):
                    sequence = subscriber.start + offset
                    expected = table[sequence] if sequence < end else 0
                    if expected == 0:
                        unconfirmed += 1
                    elif expected != subscriber.fingerprints[offset]:
                        fail(f"{where}: event {sequence} differs from the one acknowledged "
                             f"(length/CRC {subscriber.fingerprints[offset]:#x}, acked "
                             f"{expected:#x})")
                        break
                if not ended and not deleted:
                    # Connected to the end: every acknowledged event from its start on.
                    if subscriber.start + received < end:
                        fail(f"{where}: received up to {subscriber.start + received - 1}, "
                             f"acked up to {end - 1}")
                    else:
                        verified["reliable_to_the_end"] += 1
                        verified["events_checked"] += end - subscriber.start
            elif subscriber.kind == "lossy":
                for sequence, seen in zip(subscriber.lossy_sequences,
                                          subscriber.lossy_fingerprints):
                    expected = table[sequence] if sequence < end else 0
                    if expected == 0:
                        unconfirmed += 1
                    elif expected != seen:
                        fail(f"{where}: LOSSY event {sequence} differs from the one acked")
                        break
                verified["lossy_events_checked"] += len(subscriber.lossy_sequences)
        if unconfirmed and not self.ledger.unanswered_batches:
            fail(f"{unconfirmed} events delivered that were never acknowledged, and no publish "
                 "answer was lost")
        verified["events_delivered_unacked"] = unconfirmed
        for name, _, _ in STABLE_TOPICS:
            connected = [s for s in subscribers if s.topic == name and s.reliable
                         and s.start is not None and not s.ended.is_set()]
            if not connected:
                fail(f"{name}: no RELIABLE subscriber stayed connected to the end")
        self._verified = dict(verified)

    def _check_still_serving(self):
        self.assertTrue(self.server.alive(), "ringcastd exited")
        topic_call(self.admin, "ListTopics", pb.ListTopicsRequest(), pb.ListTopicsResponse)
        # A fresh topic takes a publish and delivers it: the server has room again.
        name = "soak.after"
        self.assertTrue(self.create_topic(name, 1 * MIB), "CreateTopic refused after the run")
        subscriber = self.subscribe(name, "fast", {"position": pb.START_POSITION_EARLIEST})
        publish = self.admin.stream_stream("/ringcast.v1.EventService/Publish",
                                           request_serializer=serialize,
                                           response_deserializer=pb.PublishResponse.FromString)
        request = pb.PublishRequest(topic=name, batch_id=1,
                                    events=[pb.EventInput(key="k", payload=b"after")])
        responses = list(publish(iter([request]), timeout=WAIT))
        self.assertEqual(len(responses), 1)
        self.assertEqual(responses[0].WhichOneof("result"), "ack", responses[0])
        deadline = time.monotonic() + WAIT
        while subscriber.next_sequence < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(subscriber.next_sequence, 1, "the event published after the run never "
                                                      "arrived")

    def _scrape_metrics(self):
        text = self.server.metrics()
        rejected = collections.Counter()
        slow = 0
        for line in text.splitlines():
            found = re.match(r'ringcast_publish_rejected_total\{([^}]*)\} (\S+)', line)
            if found:
                reason = re.search(r'reason="([^"]*)"', found.group(1))
                rejected[reason.group(1) if reason else ""] += int(float(found.group(2)))
            found = re.match(r'ringcast_slow_subscriber_disconnects_total\{[^}]*\} (\S+)', line)
            if found:
                slow += int(float(found.group(1)))
        return {"text": text, "rejected": {k: v for k, v in rejected.items() if v},
                "slow_disconnects": slow}

    def _close_subscribers(self):
        self.stopping.set()
        with self._lock:
            subscribers = list(self.subscribers)
        for subscriber in subscribers:
            subscriber.close()


def main():
    global OPTIONS
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0], add_help=False)
    parser.add_argument("binary", nargs="?", default=os.environ.get("RINGCASTD"))
    parser.add_argument("--duration", type=float,
                        default=float(os.environ.get("RINGCAST_SOAK_DURATION", "50")))
    parser.add_argument("--without-memory-flags", dest="memory_flags", action="store_false")
    parser.add_argument("--trace", help="write every RSS sample (seconds, RSS and topic bytes "
                        "in MiB) to this file")
    parser.add_argument("--seed", type=int, default=int(os.environ.get("RINGCAST_SOAK_SEED", "1")))
    OPTIONS, rest = parser.parse_known_args()
    if not OPTIONS.binary or not os.access(OPTIONS.binary, os.X_OK):
        sys.exit(f"memory_soak_test: no ringcastd binary (argv[1] or $RINGCASTD): "
                 f"{OPTIONS.binary}")
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)


if __name__ == "__main__":
    main()
