// The connection, against a fake WebSocket and mocked timers: handshake, inputs and their
// acks, divergence and reconnection. The clock is injected, so nothing depends on time.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { decode } from '@msgpack/msgpack';
import { ArenaMap, arenaPredictionModel, DIVERGENCE_CLOSE_CODE, encodeHello, TickcastClient } from '../dist/tickcast.js';
import { checksumOf, diff, encodeBody, encodeSnapshot, encodeWelcome, snapshotBetween } from '../tools/encoder.mjs';

class FakeSocket {
  static made = [];
  sent = [];
  closedWith = null;
  binaryType = 'blob';
  readyState = 0;
  onopen = null;
  onmessage = null;
  onclose = null;
  onerror = null;

  constructor(url) {
    this.url = url;
    FakeSocket.made.push(this);
  }

  send(bytes) {
    this.sent.push(Uint8Array.from(bytes));
  }

  close(code, reason) {
    this.closedWith = { code, reason };
  }

  // The server's side.
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }

  deliver(bytes) {
    this.onmessage?.({ data: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) });
  }

  serverClose(code, reason = '') {
    this.onclose?.({ code, reason });
  }
}

const player = (x) => [{ index: 0, generation: 1, components: [[0, [x, 2000, 0]], [1, [10]], [2, [0]], [3, [0, 0]]] }];
const game = {
  bounds: { min: [0, 0], max: [100, 60] },
  walls: [],
  spawns: [[8, 8]],
  name: 'open',
};
const tuning = { player_speed: 8, player_radius: 0.6, drone_radius: 0.5, projectile_radius: 0.15 };

let clock = 0;
let events = [];

function makeClient(options = {}) {
  const client = new TickcastClient('ws://game.test/ws', {
    name: 'ann',
    WebSocket: FakeSocket,
    now: () => clock,
    prediction: arenaPredictionModel(new ArenaMap(game), tuning),
    ...options,
  });
  for (const type of ['welcome', 'snapshot', 'close', 'divergence']) client.on(type, (event) => events.push([type, event]));
  client.connect();
  return client;
}

function handshake(socket) {
  socket.open();
  socket.deliver(encodeWelcome({ clientId: 9, player: [0, 1], tick: 100 }));
}

beforeEach(() => {
  FakeSocket.made = [];
  clock = 1000;
  events = [];
  mock.timers.enable({ apis: ['setTimeout'] });
});

afterEach(() => {
  mock.timers.reset();
});

test('hello, welcome, inputs with seq, acks give the round trip and the prediction', () => {
  const client = makeClient();
  const socket = FakeSocket.made[0];
  assert.equal(socket.binaryType, 'arraybuffer');
  socket.open();
  assert.deepEqual(socket.sent[0], encodeHello('ann'));
  assert.equal(client.connected, false);
  socket.deliver(encodeWelcome({ clientId: 9, player: [0, 1], tick: 100 }));
  assert.equal(client.connected, true);
  assert.equal(client.welcome.schema.game, 'arena');

  socket.deliver(snapshotBetween([], player(1000), { full: true, tick: 102, ack: null }));
  assert.equal(client.stats().entities, 1);
  assert.deepEqual(client.predictor.state, { x: Math.fround(1000 * Math.fround(0.01)), y: Math.fround(2000 * Math.fround(0.01)), angle: 0 });

  assert.equal(client.sendInput({ move_x: 1, move_y: 0, aim: 0, buttons: 0 }), 0);
  clock += 10;
  assert.equal(client.sendInput({ move_x: 1, move_y: 0, aim: 0.5, buttons: 1 }), 1);
  assert.deepEqual(decode(socket.sent[1]), { i: [0, 1, 0, 0, 0] });
  assert.deepEqual(decode(socket.sent[2]), { i: [1, 1, 0, 0.5, 1] });
  // Predicted two ticks ahead: 10.00 -> 10.13 -> 10.26.
  assert.equal(Math.round(client.predictor.state.x * 100), 1026);

  // 40 ms after input 1 was sent, a snapshot acks it; the server moved the player the same way.
  clock += 40;
  socket.deliver(snapshotBetween(player(1000), player(1026), { tick: 2, ack: 1, ackAbsolute: true }));
  const stats = client.stats();
  assert.equal(stats.rttMs, 40);
  assert.equal(stats.predictionError, 0);
  assert.equal(stats.snapshots, 2);
  assert.equal(stats.transport, 'ws');
  assert.ok(stats.downKbps > 0 && stats.upKbps > 0);
  assert.deepEqual(events.map(([type]) => type), ['welcome', 'snapshot', 'snapshot']);
});

test('a checksum mismatch is a divergence: the client closes and reconnects with backoff', () => {
  const client = makeClient({ reconnectDelayMs: 100 });
  handshake(FakeSocket.made[0]);
  FakeSocket.made[0].deliver(snapshotBetween([], player(1000), { full: true, tick: 102 }));
  const wrong = encodeBody((checksumOf(player(1010)) + 1) >>> 0, diff(player(1000), player(1010)));
  FakeSocket.made[0].deliver(encodeSnapshot({ full: false, tick: 2, body: wrong }));

  const divergence = events.find(([type]) => type === 'divergence')[1];
  assert.match(divergence.reason, /checksum mismatch at tick 104/);
  assert.equal(FakeSocket.made[0].closedWith.code, DIVERGENCE_CLOSE_CODE);
  const close = events.find(([type]) => type === 'close')[1];
  assert.ok(close.reconnectInMs >= 75 && close.reconnectInMs <= 100, String(close.reconnectInMs));
  assert.equal(client.stats().mismatches, 1);
  assert.equal(client.connected, false);

  mock.timers.tick(close.reconnectInMs);
  assert.equal(FakeSocket.made.length, 2, 'reconnected');
  // The next failure waits about twice as long.
  FakeSocket.made[1].serverClose(1006);
  const second = events.filter(([type]) => type === 'close')[1][1];
  assert.ok(second.reconnectInMs >= 150 && second.reconnectInMs <= 200, String(second.reconnectInMs));
  mock.timers.tick(second.reconnectInMs);
  assert.equal(FakeSocket.made.length, 3);

  // The new connection starts over from its full snapshot.
  handshake(FakeSocket.made[2]);
  FakeSocket.made[2].deliver(snapshotBetween([], player(3000), { full: true, tick: 500 }));
  assert.equal(client.mirror.tick, 500);
  assert.equal(client.stats().reconnects, 2);
  client.close();
});

test('reconnect: false, a version refusal and close() do not reconnect', () => {
  const quiet = makeClient({ reconnect: false });
  handshake(FakeSocket.made[0]);
  FakeSocket.made[0].serverClose(1001, 'server shutting down');
  assert.deepEqual(events.at(-1), ['close', { code: 1001, reason: 'server shutting down', reconnectInMs: null }]);

  makeClient();
  FakeSocket.made[1].open();
  FakeSocket.made[1].serverClose(1002, 'protocol version 3 is not supported');
  assert.equal(events.at(-1)[1].reconnectInMs, null);

  const closing = makeClient();
  handshake(FakeSocket.made[2]);
  closing.close();
  assert.equal(FakeSocket.made[2].closedWith.code, 1000);
  mock.timers.tick(60_000);
  assert.equal(FakeSocket.made.length, 3);
  assert.equal(quiet.connected, false);
});

test('the input loop sends one input per tick at the Welcome\'s rate, only while connected', () => {
  const client = makeClient();
  let calls = 0;
  const stop = client.startInputLoop(() => {
    calls++;
    return { move_x: 0, move_y: 1, aim: 0, buttons: 0 };
  });
  const advance = (ms) => {
    for (let i = 0; i < ms; i++) {
      clock += 1;
      mock.timers.tick(1);
    }
  };
  advance(100);
  assert.equal(calls, 0, 'nothing before the welcome');
  handshake(FakeSocket.made[0]);
  advance(1000);
  // 60 ticks a second: 60 or 61 depending on where the first lands.
  assert.ok(calls >= 60 && calls <= 61, String(calls));
  const seqs = FakeSocket.made[0].sent.slice(1).map((bytes) => decode(bytes).i[0]);
  assert.deepEqual(seqs, Array.from({ length: calls }, (_, n) => n));
  stop();
  advance(100);
  assert.equal(FakeSocket.made[0].sent.length, calls + 1);
  client.close();
});
