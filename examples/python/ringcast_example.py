#!/usr/bin/env python3
"""Publish a few events to ringcastd and read them back, from proto/ alone.

Usage: ringcast_example.py [HOST:PORT] (default localhost:7470)
Needs Debian's python3-grpcio and python3-grpc-tools. Exits 0 only when every event published
was received, in order.
"""

import importlib
import os
import sys
import tempfile
import uuid

import grpc
from grpc_tools import protoc

PROTO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "proto")
PAYLOADS = [b"hello", b"fan-out", b"world", b"from", b"python"]


def generate_stubs(out_dir):
    """Messages and service stubs from the .proto, generated into out_dir and imported."""
    args = ["protoc", f"-I{PROTO_DIR}", f"--python_out={out_dir}", f"--grpc_python_out={out_dir}",
            os.path.join(PROTO_DIR, "ringcast", "v1", "ringcast.proto")]
    if protoc.main(args) != 0:
        sys.exit(f"protoc failed on {PROTO_DIR}")
    sys.path.insert(0, out_dir)
    return (importlib.import_module("ringcast.v1.ringcast_pb2"),
            importlib.import_module("ringcast.v1.ringcast_pb2_grpc"))


def main():
    target = sys.argv[1] if len(sys.argv) > 1 else "localhost:7470"
    topic = f"example.python.{uuid.uuid4().hex[:8]}"  # created on first use
    with tempfile.TemporaryDirectory() as out_dir, grpc.insecure_channel(target) as channel:
        pb, services = generate_stubs(out_dir)
        events = services.EventServiceStub(channel)

        # Subscribe first, from the next event on. The server sends the header
        # ringcast-start-sequence once the subscription is registered: from then on, nothing
        # published is missed.
        subscription = events.Subscribe(pb.SubscribeRequest(topic=topic), timeout=30)
        metadata = dict(subscription.initial_metadata())
        if "ringcast-start-sequence" not in metadata:  # the call failed before it was registered
            sys.exit(f"subscribe: {subscription.code().name}: {subscription.details()}")
        start = int(metadata["ringcast-start-sequence"])

        # Two batches on one Publish stream; each batch gets one response, in order.
        batches = [PAYLOADS[:2], PAYLOADS[2:]]
        requests = (pb.PublishRequest(topic=topic, batch_id=number,
                                      events=[pb.EventInput(key="greeting", payload=payload)
                                              for payload in batch])
                    for number, batch in enumerate(batches, start=1))
        for response in events.Publish(requests, timeout=30):
            if response.WhichOneof("result") != "ack":
                sys.exit(f"batch {response.batch_id}: error {response.error.code}: "
                         f"{response.error.message}")
            print(f"published batch {response.batch_id}: sequences {response.ack.first_sequence}"
                  f"..{response.ack.first_sequence + response.ack.count - 1}")

        received = []
        for response in subscription:
            for event in response.events:
                print(f"received {event.sequence} {event.payload.decode()}")
                received.append((event.sequence, event.payload))
            if len(received) >= len(PAYLOADS):
                break
        subscription.cancel()

    expected = [(start + i, payload) for i, payload in enumerate(PAYLOADS)]
    if received != expected:
        sys.exit(f"expected {expected}, received {received}")
    print(f"all {len(PAYLOADS)} events received in order")


if __name__ == "__main__":
    try:
        main()
    except grpc.RpcError as error:
        sys.exit(f"{error.code().name}: {error.details()}")
