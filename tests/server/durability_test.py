#!/usr/bin/env python3
"""Durable topics against the real ringcastd and real files: kill -9 under load, torn tails,
a damaged sealed segment, retention, a start at a time, a full disk.

Every test runs ringcastd with a data directory of its own (removed afterwards) and asserts on
what the server promises: every acknowledged event is there after a restart, exactly once, in
order and unaltered; the next publish continues the sequence.

Usage: durability_test.py RINGCASTD [unittest arguments]  (the ringcast tool beside it too)
   or: RINGCASTD=path/to/ringcastd durability_test.py [unittest arguments]
Needs python3-grpcio, python3-protobuf and protoc (scripts/install-deps.sh).
"""

import glob
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import grpc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "support"))
from ringcast_process import Client, Messages, Server, ringcastd_and_unittest_argv  # noqa: E402

DEADLINE = 60  # seconds: deadline of every call
RINGCASTD = None
RINGCAST_CLI = None  # the ringcast tool, beside ringcastd
messages = None
pb = None


def setUpModule():
    global messages, pb
    messages = Messages()
    pb = messages.pb


def tearDownModule():
    if messages:
        messages.close()


def payload_of(sequence_hint, size):
    """A payload that names its batch and index, padded to `size` bytes."""
    head = f"{sequence_hint}|".encode()
    return head + b"x" * max(0, size - len(head))


class Durability(unittest.TestCase):
    def setUp(self):
        self.data = tempfile.mkdtemp(prefix="ringcast-durability-")
        self.addCleanup(shutil.rmtree, self.data, True)

    def start(self, *flags):
        server = Server(RINGCASTD, f"--data_dir={self.data}", *flags)
        self.addCleanup(server.stop)
        client = Client(server.address, pb, DEADLINE)
        self.addCleanup(client.close)
        return server, client

    def read_all(self, client, topic, count, **start):
        """`count` events from `start` (EARLIEST by default), in order."""
        if not start:
            start = {"position": pb.START_POSITION_EARLIEST}
        events = []
        call = client.subscribe(topic, **start)
        for response in call:
            events.extend(response.events)
            if len(events) >= count:
                call.cancel()
                break
        return events[:count]

    def segments(self, topic):
        return sorted(glob.glob(os.path.join(self.data, "topics", f"t_{topic}", "*.log")))

    def test_kill_9_under_load_loses_no_acknowledged_event(self):
        self.kill_9_rounds(3, "--journal_sync=always")

    def test_kill_9_loses_nothing_acknowledged_under_interval_sync(self):
        """An ack under `interval` means written to the OS: a killed process loses none of it."""
        self.kill_9_rounds(2, "--journal_sync=interval", "--journal_sync_interval=50ms")

    def test_kill_9_loses_nothing_acknowledged_without_sync(self):
        self.kill_9_rounds(2, "--journal_sync=none")

    def kill_9_rounds(self, rounds, *flags):
        acked = {}  # sequence -> payload, for every acknowledged event
        rng = random.Random(7)
        flags = ("--default_ring_capacity=1024", *flags)
        for round_number in range(rounds):
            server, client = self.start(*flags)
            stop = threading.Event()
            batches_acked = [0]

            def requests():
                batch_id = 0
                while not stop.is_set():
                    batch_id += 1
                    size = rng.randint(1, 100)
                    payloads = [payload_of(f"r{round_number}b{batch_id}i{i}", rng.randint(1, 300))
                                for i in range(size)]
                    pending[batch_id] = payloads
                    yield pb.PublishRequest(topic="orders", batch_id=batch_id,
                                            events=[pb.EventInput(payload=p) for p in payloads])

            pending = {}

            def publish():
                try:
                    for response in client._publish(requests(), timeout=DEADLINE):
                        self.assertTrue(response.HasField("ack"), response)
                        payloads = pending.pop(response.batch_id)
                        self.assertEqual(response.ack.count, len(payloads))
                        for i, payload in enumerate(payloads):
                            acked[response.ack.first_sequence + i] = payload
                        batches_acked[0] += 1
                except grpc.RpcError:
                    pass  # the server was killed

            publisher = threading.Thread(target=publish)
            publisher.start()
            time.sleep(1.5)
            server.proc.kill()  # kill -9 under load
            server.proc.wait()
            stop.set()
            publisher.join(timeout=30)
            self.assertGreater(batches_acked[0], 10, "the load was too light to prove anything")
            server.stop(show_log=False)

            server, client = self.start(*flags)
            topic = client.get("orders")
            self.assertGreaterEqual(topic.next_sequence, max(acked) + 1)
            self.assertEqual(topic.oldest_sequence, 0)
            events = self.read_all(client, "orders", topic.next_sequence)
            self.assertEqual([e.sequence for e in events], list(range(topic.next_sequence)),
                             "every sequence exactly once, in order")
            for event in events:
                if event.sequence in acked:
                    self.assertEqual(event.payload, acked[event.sequence], event.sequence)
            # The next publish continues the sequence.
            [response] = client.publish([("orders", [b"after-restart"])])
            self.assertEqual(response.ack.first_sequence, topic.next_sequence)
            acked[response.ack.first_sequence] = b"after-restart"
            server.stop(show_log=False)
        self.assertGreater(len(acked), 1000)

    def test_a_torn_tail_is_cut_and_the_rest_served(self):
        server, client = self.start()
        responses = client.publish(("t", [payload_of(f"{b}.{i}", 50) for i in range(10)])
                                   for b in range(100))
        self.assertTrue(all(r.HasField("ack") for r in responses))
        server.proc.kill()
        server.proc.wait()
        server.stop(show_log=False)
        [segment] = self.segments("t")
        size = os.path.getsize(segment)
        with open(segment, "r+b") as f:
            f.truncate(size - 7)  # mid-record: the last event is torn
        server, client = self.start()
        topic = client.get("t")
        self.assertEqual(topic.next_sequence, 999)
        events = self.read_all(client, "t", 999)
        self.assertEqual([e.sequence for e in events], list(range(999)))
        self.assertEqual(events[998].payload, payload_of("99.8", 50))
        [response] = client.publish([("t", [b"next"])])
        self.assertEqual(response.ack.first_sequence, 999)
        server.stop(show_log=False)

        # A flipped byte in the last record: cut as well.
        server.proc.wait()
        [segment] = self.segments("t")
        with open(segment, "r+b") as f:
            f.seek(-2, os.SEEK_END)
            last = f.read(1)
            f.seek(-2, os.SEEK_END)
            f.write(bytes([last[0] ^ 0xFF]))
        server, client = self.start()
        self.assertEqual(client.get("t").next_sequence, 999)
        self.assertRegex(server.log(), r'"msg":"topic recovered".*"truncated_bytes":[1-9]')

    def test_damage_inside_a_sealed_segment_is_data_loss_for_that_topic_only(self):
        flags = ("--max_event_bytes=65536", "--segment_bytes=1572864")
        server, client = self.start(*flags)
        body = b"d" * 1000
        for topic in ("damaged", "healthy"):
            responses = client.publish((topic, [body] * 100) for _ in range(40))  # ~4 MB
            self.assertTrue(all(r.HasField("ack") for r in responses))
        server.proc.kill()
        server.proc.wait()
        server.stop(show_log=False)
        segments = self.segments("damaged")
        self.assertGreaterEqual(len(segments), 3)
        with open(segments[0], "r+b") as f:  # sealed: not the last
            f.seek(os.path.getsize(segments[0]) // 2)
            byte = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([byte[0] ^ 0x01]))
        server, client = self.start(*flags)
        self.assertEqual(client.get("damaged").next_sequence, 4000)
        with self.assertRaises(grpc.RpcError) as caught:
            self.read_all(client, "damaged", 4000)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.DATA_LOSS)
        self.assertIn("damaged", caught.exception.details())
        # Past the damage, and the other topic, are served; publishing goes on.
        tail = self.read_all(client, "damaged", 10, from_sequence=3990)
        self.assertEqual([e.sequence for e in tail], list(range(3990, 4000)))
        self.assertEqual(len(self.read_all(client, "healthy", 4000)), 4000)
        [response] = client.publish([("damaged", [b"more"])])
        self.assertEqual(response.ack.first_sequence, 4000)

    def test_retention_deletes_whole_old_segments(self):
        server, client = self.start("--max_event_bytes=65536", "--segment_bytes=1572864",
                                    "--retention_bytes=3145728", "--default_ring_capacity=1024")
        for _ in range(10):
            responses = client.publish(("r", [b"r" * 1000] * 100) for _ in range(10))
            self.assertTrue(all(r.HasField("ack") for r in responses))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and client.get("r").oldest_sequence == 0:
            time.sleep(0.1)  # retention runs once a second
        topic = client.get("r")
        self.assertGreater(topic.oldest_sequence, 0)
        self.assertLessEqual(topic.journal_bytes, 3145728 + 1572864)
        self.assertEqual(topic.next_sequence, 10000)
        first = self.read_all(client, "r", 1)
        self.assertEqual(first[0].sequence, topic.oldest_sequence)
        with self.assertRaises(grpc.RpcError) as caught:
            self.read_all(client, "r", 1, from_sequence=0)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.OUT_OF_RANGE)

    def test_a_subscriber_starts_at_a_time_from_disk(self):
        server, client = self.start("--default_ring_capacity=1024")
        client.publish(("timed", [b"early"] * 100) for _ in range(30))
        time.sleep(0.05)
        boundary = time.time_ns()
        time.sleep(0.05)
        [response] = client.publish([("timed", [b"late"] * 10)])
        server.stop(show_log=False)  # a restart: the ring is empty, the journal serves
        server, client = self.start("--default_ring_capacity=1024")
        events = self.read_all(client, "timed", 10, from_time_unix_nanos=boundary)
        self.assertEqual(events[0].sequence, response.ack.first_sequence)
        self.assertEqual({e.payload for e in events}, {b"late"})

    def test_a_resuming_subscriber_continues_across_a_restart(self):
        """The client library's Subscriber (through the ringcast tool) reconnects to the restarted
        server and resumes after the last event it received: no gap, no duplicate, no DATA_LOSS."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        listen = f"--listen=127.0.0.1:{port}"
        server, client = self.start(listen, "--default_ring_capacity=64")
        client.publish(("resume", [f"e{b * 10 + i}".encode() for i in range(10)])
                       for b in range(50))
        # The tool flushes its output after each delivery, so lines come as the events do.
        cli = subprocess.Popen([RINGCAST_CLI, f"--server=127.0.0.1:{port}",
                                "subscribe", "resume",
                                "--from=earliest", "--count=1000"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(cli.kill)
        lines = []
        while len(lines) < 500:
            line = cli.stdout.readline()
            if not line:
                self.fail(f"the subscriber ended early: {cli.stderr.read()}")
            lines.append(line.rstrip("\n"))
        server.proc.kill()  # kill -9 while the subscriber is connected
        server.proc.wait()
        server.stop(show_log=False)
        server, client = self.start(listen, "--default_ring_capacity=64")
        client.publish(("resume", [f"e{b * 10 + i}".encode() for i in range(10)])
                       for b in range(50, 100))
        rest, errors = cli.communicate(timeout=60)
        self.assertEqual(cli.returncode, 0, errors)
        lines.extend(rest.splitlines())
        self.assertEqual(lines, [f"e{n}" for n in range(1000)])

    def test_a_full_disk_refuses_publishes_and_subscribers_keep_reading(self):
        """On a small tmpfs (where this machine allows mounting one) the disk really fills up to
        the --min_free_bytes guard; elsewhere a guard above the disk's size stands in for it."""
        mount = os.path.join(self.data, "small")
        os.mkdir(mount)
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mount],
                                 capture_output=True, text=True).returncode == 0
        flags = ("--max_event_bytes=65536", "--segment_bytes=1572864")
        if mounted:
            self.addCleanup(subprocess.run, ["umount", "-l", mount])
            server, client = self.start(f"--data_dir={mount}", *flags, "--min_free_bytes=2097152")
        else:
            server, client = self.start(*flags)
            client.publish(("full", [b"f" * 1000] * 50) for _ in range(20))
            server.stop(show_log=False)
            server, client = self.start(*flags, "--min_free_bytes=1152921504606846976")
        acked = client.get("full").next_sequence if not mounted else 0
        refusal = None
        for _ in range(400):
            [response] = client.publish([("full", [b"f" * 1000] * 50)])
            if response.HasField("error"):
                refusal = response.error
                break
            acked += 50
        self.assertIsNotNone(refusal, "the disk never filled")
        self.assertEqual(refusal.code, grpc.StatusCode.RESOURCE_EXHAUSTED.value[0], refusal)
        self.assertIn("min_free_bytes", refusal.message)
        self.assertGreater(acked, 0)
        # Reads go on: every acknowledged event is served.
        events = self.read_all(client, "full", acked)
        self.assertEqual([e.sequence for e in events], list(range(acked)))
        # And publishes are still refused, not lost.
        [again] = client.publish([("full", [b"g"])])
        self.assertTrue(again.HasField("error"), again)
        self.assertEqual(client.get("full").next_sequence, acked)

    def test_a_disk_that_really_fills_refuses_publishes_then_recovers_without_loss(self):
        """No guard (--min_free_bytes=0): the journal's writes fail with ENOSPC on a small tmpfs.
        Publishes are refused with RESOURCE_EXHAUSTED, reads go on, and once space is freed
        publishing resumes where the sequence stopped; a restart finds every acknowledged event."""
        mount = os.path.join(self.data, "tiny")
        os.mkdir(mount)
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", mount],
                                 capture_output=True, text=True)
        if mounted.returncode != 0:
            self.skipTest(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
        self.addCleanup(subprocess.run, ["umount", "-l", mount])
        filler = os.path.join(mount, "filler")
        with open(filler, "wb") as f:
            f.write(b"\0" * (2 << 20))
        flags = (f"--data_dir={mount}/data", "--max_event_bytes=65536",
                 "--segment_bytes=1572864", "--min_free_bytes=0")
        server, client = self.start(*flags)
        # The batch in flight when a write fails stays in the ring and is acknowledged once the
        # journal writes it: its ack waits for space. Later batches are refused at once.
        impatient = Client(server.address, pb, deadline=3)
        self.addCleanup(impatient.close)
        payloads = {}  # sequence -> payload, acknowledged
        waiting = []  # payloads of batches whose ack was still waiting for space
        refusal = None
        for batch in range(600):
            batch_payloads = [payload_of(f"b{batch}i{i}", 1000) for i in range(20)]
            try:
                [response] = impatient.publish([("full", batch_payloads)])
            except grpc.RpcError as e:
                self.assertEqual(e.code(), grpc.StatusCode.DEADLINE_EXCEEDED, e)
                waiting.append(batch_payloads)
                continue
            if response.HasField("error"):
                refusal = response.error
                break
            self.assertEqual(waiting, [], "a batch was acknowledged after a later one waited")
            for i, payload in enumerate(batch_payloads):
                payloads[response.ack.first_sequence + i] = payload
        self.assertIsNotNone(refusal, "the tmpfs never filled")
        self.assertEqual(refusal.code, grpc.StatusCode.RESOURCE_EXHAUSTED.value[0], refusal)
        self.assertIn("disk is full", refusal.message)
        self.assertLessEqual(len(waiting), 1, "refusal came only after several waiting batches")
        acked = len(payloads)
        self.assertGreater(acked, 1000)
        self.assertEqual(sorted(payloads), list(range(acked)))
        # Reads go on while the disk is full.
        events = self.read_all(client, "full", acked)
        self.assertEqual([(e.sequence, e.payload) for e in events], sorted(payloads.items()))
        # Space comes back: publishing resumes, the sequence continues.
        os.remove(filler)
        resumed = None
        for _ in range(100):
            [response] = client.publish([("full", [b"after-space"])])
            if response.HasField("ack"):
                resumed = response.ack
                break
            time.sleep(0.1)
        self.assertIsNotNone(resumed, "publishing never resumed after space was freed")
        # The batch that waited was written once space returned, right after the acked ones.
        for batch_payloads in waiting:
            for payload in batch_payloads:
                payloads[len(payloads)] = payload
        self.assertEqual(resumed.first_sequence, len(payloads))
        payloads[resumed.first_sequence] = b"after-space"
        # Whatever the journal accepted before the disk filled, and after, survives a restart.
        server.stop(show_log=False)
        server, client = self.start(*flags)
        topic = client.get("full")
        self.assertEqual(topic.next_sequence, resumed.first_sequence + 1)
        events = self.read_all(client, "full", topic.next_sequence)
        self.assertEqual([e.sequence for e in events], list(range(topic.next_sequence)))
        for event in events:
            if event.sequence in payloads:
                self.assertEqual(event.payload, payloads[event.sequence], event.sequence)


if __name__ == "__main__":
    RINGCASTD, argv = ringcastd_and_unittest_argv("durability_test")
    RINGCAST_CLI = os.path.join(os.path.dirname(RINGCASTD), "ringcast")
    unittest.main(argv=argv, verbosity=2)
