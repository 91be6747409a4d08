// Publish a few events to ringcastd and read them back, from proto/ alone.
// Usage: node ringcast_example.js [HOST:PORT] (default localhost:7470), after `npm ci`.
// Exits 0 only when every event published was received, in order.
'use strict';

const crypto = require('crypto');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTO_DIR = path.join(__dirname, '..', '..', 'proto');
const PAYLOADS = ['hello', 'fan-out', 'world', 'from', 'node'];

// Messages and services from the .proto at run time: field names as the .proto spells them,
// 64-bit integers as strings, zero values present (proto3 does not send them: sequence 0 would
// be undefined), a oneof's case in the field named after it.
const definition = protoLoader.loadSync('ringcast/v1/ringcast.proto', {
  includeDirs: [PROTO_DIR], keepCase: true, longs: String, enums: String, defaults: true,
  oneofs: true,
});
const ringcast = grpc.loadPackageDefinition(definition).ringcast.v1;

async function main() {
  const target = process.argv[2] || 'localhost:7470';
  const topic = `example.node.${crypto.randomBytes(4).toString('hex')}`;  // created on first use
  const events = new ringcast.EventService(target, grpc.credentials.createInsecure());
  const deadline = () => Date.now() + 30000;

  // Subscribe first, from the next event on. The server sends the header ringcast-start-sequence
  // once the subscription is registered: from then on, nothing published is missed.
  const subscription = events.Subscribe({topic}, {deadline: deadline()});
  const received = [];
  const allReceived = new Promise((resolve, reject) => {
    subscription.on('data', (response) => {
      for (const event of response.events) {
        console.log(`received ${event.sequence} ${event.payload.toString()}`);
        received.push(`${event.sequence} ${event.payload.toString()}`);
      }
      if (received.length >= PAYLOADS.length) resolve();
    });
    subscription.on('error', reject);
    subscription.on('end', () => reject(new Error(`stream ended after ${received.length} events`)));
  });
  const start = await new Promise((resolve, reject) => {
    subscription.once('metadata', (metadata) => {
      resolve(BigInt(metadata.get('ringcast-start-sequence')[0]));
    });
    subscription.once('error', reject);
  });

  // Two batches on one Publish stream; each batch gets one response, in order.
  const batches = [PAYLOADS.slice(0, 2), PAYLOADS.slice(2)];
  const publish = events.Publish({deadline: deadline()});
  const acknowledged = new Promise((resolve, reject) => {
    let answered = 0;
    publish.on('data', (response) => {
      if (response.result !== 'ack') {
        const {code, message} = response.error;
        reject(new Error(`batch ${response.batch_id}: error ${code}: ${message}`));
        return;
      }
      const first = BigInt(response.ack.first_sequence);
      const last = first + BigInt(response.ack.count) - 1n;
      console.log(`published batch ${response.batch_id}: sequences ${first}..${last}`);
      if (++answered === batches.length) resolve();
    });
    publish.on('error', reject);
  });
  batches.forEach((batch, index) => publish.write({
    topic,
    batch_id: index + 1,
    events: batch.map((payload) => ({key: 'greeting', payload: Buffer.from(payload)})),
  }));
  publish.end();  // half-close: the server still answers every batch sent
  await acknowledged;
  await allReceived;

  subscription.removeAllListeners('error');
  subscription.on('error', () => {});  // the cancellation below ends the stream with CANCELLED
  subscription.cancel();
  events.close();

  const expected = PAYLOADS.map((payload, index) => `${start + BigInt(index)} ${payload}`);
  if (JSON.stringify(received) !== JSON.stringify(expected)) {
    throw new Error(`expected ${JSON.stringify(expected)}, received ${JSON.stringify(received)}`);
  }
  console.log(`all ${PAYLOADS.length} events received in order`);
}

main().then(() => process.exit(0), (error) => {
  console.error(`ringcast_example: ${error.details || error.message}`);
  process.exit(1);
});
