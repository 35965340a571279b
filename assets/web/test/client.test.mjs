// The connection, against a fake WebSocket and mocked timers: handshake, inputs and their
// acks, divergence and reconnection. The clock is injected, so nothing depends on time.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { decode } from '@msgpack/msgpack';
import {
  ArenaMap,
  arenaPredictionModel,
  CONNECT_FAILED_CLOSE_CODE,
  DIVERGENCE_CLOSE_CODE,
  encodeHello,
  PROTOCOL_CLOSE_CODE,
  SILENT_CLOSE_CODE,
  SpectatorInputError,
  TickcastClient,
} from '../dist/tickcast.js';
import { checksumOf, diff, encodeBody, encodeSnapshot, encodeWelcome, snapshotBetween } from '../tools/encoder.mjs';
import { FakeSocket } from '../tools/fake-socket.mjs';


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
    // The WebSocket alone: the HTTP fallback has tests of its own (fallback.test.mjs).
    transport: 'websocket',
    now: () => clock,
    prediction: arenaPredictionModel(new ArenaMap(game), tuning),
    ...options,
  });
  for (const type of ['welcome', 'snapshot', 'close', 'divergence']) client.on(type, (event) => events.push([type, event]));
  client.connect();
  return client;
}

const TOKEN_A = Uint8Array.from({ length: 44 }, (_, n) => n);
const TOKEN_B = Uint8Array.from({ length: 44 }, (_, n) => 100 + n);

function handshake(socket, { player = [0, 1], resume = new Uint8Array(0), tick = 100 } = {}) {
  socket.open();
  socket.deliver(encodeWelcome({ clientId: 9, player, tick, resume }));
}

/** The Hello a socket sent, decoded. */
const helloOf = (socket) => decode(socket.sent[0]).h;
/** The seqs of the inputs a socket sent. */
const seqsOf = (socket) => socket.sent.slice(1).map((bytes) => decode(bytes).i[0]);

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
  // Each input says the tick the page shows: the snapshot's 102 less the 100 ms
  // interpolation delay (6 ticks at 60 Hz).
  assert.equal(client.viewTick(), 96);
  assert.deepEqual(decode(socket.sent[1]), { i: [0, 96, 1, 0, 0, 0] });
  assert.deepEqual(decode(socket.sent[2]), { i: [1, 96, 1, 0, 0.5, 1] });
  // Predicted two ticks ahead: 10.00 -> 10.13 -> 10.26.
  assert.equal(Math.round(client.predictor.state.x * 100), 1026);

  // 40 ms after input 1 was sent, a snapshot acks it; the server moved the player the same way.
  clock += 40;
  socket.deliver(snapshotBetween(player(1000), player(1026), { tick: 2, ack: 1, ackAbsolute: true }));
  const stats = client.stats();
  assert.equal(stats.rttMs, 40);
  assert.equal(stats.predictionError, 0);
  assert.equal(stats.snapshots, 2);
  assert.equal(stats.transport, 'websocket');
  assert.equal(stats.secure, false);
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
  FakeSocket.made[1].serverClose(1002, 'protocol version 4 is not supported; this server speaks version 5');
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

test('a reconnection resumes the session: the Hello carries the token, the seq goes on, acked inputs are dropped', () => {
  const client = makeClient({ reconnectDelayMs: 100 });
  const first = FakeSocket.made[0];
  assert.equal(first.arguments, 1, 'no token: no subprotocols offered');
  handshake(first, { resume: TOKEN_A });
  assert.deepEqual(helloOf(first), [5, 'ann'], 'the first Hello has no token');
  assert.deepEqual(client.welcome.resume, TOKEN_A);
  first.deliver(snapshotBetween([], player(1000), { full: true, tick: 102 }));
  for (let n = 0; n < 5; n++) client.sendInput({ move_x: 1, move_y: 0, aim: 0, buttons: 0 });
  assert.deepEqual(seqsOf(first), [0, 1, 2, 3, 4]);
  first.deliver(snapshotBetween(player(1000), player(1026), { tick: 2, ack: 1, ackAbsolute: true }));
  assert.equal(client.predictor.unacknowledged, 3);

  // The connection drops (no close handshake: 1006).
  first.serverClose(1006);
  assert.equal(client.connected, false);
  const close = events.findLast(([type]) => type === 'close')[1];
  mock.timers.tick(close.reconnectInMs);
  const second = FakeSocket.made[1];
  second.open();
  assert.deepEqual(helloOf(second), [5, 'ann', TOKEN_A], 'the Hello carries the last Welcome\'s token');
  assert.deepEqual(second.sent[0], encodeHello('ann', TOKEN_A));
  // The same player back, with a new token.
  second.deliver(encodeWelcome({ clientId: 9, player: [0, 1], tick: 300, resume: TOKEN_B }));
  assert.equal(client.resumed, true);
  assert.equal(client.stats().resumes, 1);
  assert.equal(client.stats().reconnects, 1);
  assert.equal(client.predictor.unacknowledged, 0, 'inputs of the dropped connection are not replayed');
  // The seq goes on from where it was.
  assert.equal(client.sendInput({ move_x: 0, move_y: 1, aim: 0, buttons: 0 }), 5);
  // The first snapshot is full and its ack absolute: the room applied up to 3, then 5.
  clock += 30;
  second.deliver(snapshotBetween([], player(1039), { full: true, tick: 300, ack: 3, ackAbsolute: true }));
  assert.equal(client.mirror.ack, 3);
  // Input 3 was sent 30 ms ago on the old connection: no round trip is measured across
  // connections (the 0 ms one of input 1 is still in the window).
  assert.equal(client.stats().rttMs, 0, 'no round trip across connections');
  assert.equal(client.predictor.unacknowledged, 1);
  second.deliver(snapshotBetween(player(1039), player(1039), { tick: 2, ack: 2 }));
  assert.equal(client.mirror.ack, 5);
  assert.equal(client.predictor.unacknowledged, 0);
  assert.equal(client.stats().rttMs, 15, 'input 5: 30 ms, with input 1\'s 0 ms');

  // The next drop resumes with the newest token.
  second.serverClose(1006);
  mock.timers.tick(events.findLast(([type]) => type === 'close')[1].reconnectInMs);
  FakeSocket.made[2].open();
  assert.deepEqual(helloOf(FakeSocket.made[2]), [5, 'ann', TOKEN_B]);
  client.close();
});

test('a Welcome naming another player is a fresh session: the seq starts over', () => {
  const client = makeClient({ reconnectDelayMs: 100 });
  handshake(FakeSocket.made[0], { resume: TOKEN_A });
  FakeSocket.made[0].deliver(snapshotBetween([], player(1000), { full: true, tick: 102 }));
  for (let n = 0; n < 3; n++) client.sendInput({ move_x: 1, move_y: 0, aim: 0, buttons: 0 });
  FakeSocket.made[0].serverClose(1006);
  mock.timers.tick(events.findLast(([type]) => type === 'close')[1].reconnectInMs);
  // The grace period was over: the server joined a new player.
  handshake(FakeSocket.made[1], { player: [5, 1], resume: TOKEN_B });
  assert.deepEqual(helloOf(FakeSocket.made[1]), [5, 'ann', TOKEN_A]);
  assert.equal(client.resumed, false);
  assert.equal(client.stats().resumes, 0);
  assert.equal(client.sendInput({ move_x: 1, move_y: 0, aim: 0, buttons: 0 }), 0);
  client.close();
  // close() ends the session: a later connect() sends no token.
  client.connect();
  FakeSocket.made[2].open();
  assert.deepEqual(helloOf(FakeSocket.made[2]), [5, 'ann']);
  client.close();
});

test('a refused resume token (1008 invalid resume token) is dropped: the next Hello has none', () => {
  const client = makeClient({ reconnectDelayMs: 100 });
  handshake(FakeSocket.made[0], { resume: TOKEN_A });
  FakeSocket.made[0].serverClose(1006);
  mock.timers.tick(events.findLast(([type]) => type === 'close')[1].reconnectInMs);
  FakeSocket.made[1].open();
  assert.deepEqual(helloOf(FakeSocket.made[1]), [5, 'ann', TOKEN_A]);
  FakeSocket.made[1].serverClose(1008, 'invalid resume token');
  const close = events.findLast(([type]) => type === 'close')[1];
  assert.equal(close.code, 1008);
  assert.ok(close.reconnectInMs !== null, 'it reconnects');
  mock.timers.tick(close.reconnectInMs);
  FakeSocket.made[2].open();
  assert.deepEqual(helloOf(FakeSocket.made[2]), [5, 'ann'], 'without a token');
  handshake(FakeSocket.made[2], { player: [0, 1], resume: TOKEN_B });
  assert.equal(client.resumed, false, 'a fresh session even with the same slot');
  // Another 1008 (a flood, say) keeps the token.
  FakeSocket.made[2].serverClose(1008, 'input flood');
  mock.timers.tick(events.findLast(([type]) => type === 'close')[1].reconnectInMs);
  FakeSocket.made[3].open();
  assert.deepEqual(helloOf(FakeSocket.made[3]), [5, 'ann', TOKEN_B]);
  client.close();
});

test('a connection silent for deadAfterMs is closed and reconnected with the resume token', () => {
  const client = makeClient({ reconnectDelayMs: 100, deadAfterMs: 2000 });
  const first = FakeSocket.made[0];
  handshake(first, { resume: TOKEN_A });
  const advance = (ms, step = 10) => {
    for (let t = 0; t < ms; t += step) {
      clock += step;
      mock.timers.tick(step);
    }
  };
  // Snapshots every 100 ms keep it alive well past 2 s.
  let world = player(1000);
  first.deliver(snapshotBetween([], world, { full: true, tick: 102 }));
  for (let n = 0; n < 40; n++) {
    advance(100);
    first.deliver(snapshotBetween(world, world, { tick: 6 }));
  }
  assert.equal(client.connected, true);
  assert.equal(first.closedWith, null);
  // Then nothing: closed 2 s after the last message.
  advance(1990);
  assert.equal(client.connected, true);
  advance(20);
  assert.equal(client.connected, false);
  assert.equal(first.closedWith.code, SILENT_CLOSE_CODE);
  const close = events.findLast(([type]) => type === 'close')[1];
  assert.equal(close.code, SILENT_CLOSE_CODE);
  assert.match(close.reason, /nothing from the server in 20\d\d ms/);
  advance(close.reconnectInMs + 10);
  FakeSocket.made[1].open();
  assert.deepEqual(helloOf(FakeSocket.made[1]), [5, 'ann', TOKEN_A]);
  // Before the Welcome the welcome timeout applies, not this one.
  advance(3000);
  assert.equal(FakeSocket.made[1].closedWith, null);
  client.close();

  // deadAfterMs: 0 turns the check off.
  const patient = makeClient({ deadAfterMs: 0 });
  handshake(FakeSocket.made[2]);
  advance(20_000, 100);
  assert.equal(patient.connected, true);
  patient.close();
});

test('a token is offered as the subprotocol token.<jwt> next to tickcast; a function is called per connection', async () => {
  const withString = makeClient({ token: 'aaa.bbb.ccc' });
  assert.deepEqual(FakeSocket.made[0].protocols, ['tickcast', 'token.aaa.bbb.ccc']);
  withString.close();

  let calls = 0;
  const withFunction = makeClient({ token: () => `t${++calls}`, reconnectDelayMs: 100 });
  assert.deepEqual(FakeSocket.made[1].protocols, ['tickcast', 'token.t1']);
  FakeSocket.made[1].serverClose(1006);
  mock.timers.tick(events.findLast(([type]) => type === 'close')[1].reconnectInMs);
  assert.deepEqual(FakeSocket.made[2].protocols, ['tickcast', 'token.t2'], 'a fresh token per connection');
  withFunction.close();

  // A promise: the socket opens once it resolves; a failure is a close and a retry.
  let fail = true;
  const withPromise = makeClient({ token: async () => (fail ? Promise.reject(new Error('backend down')) : 'fresh'), reconnectDelayMs: 100 });
  assert.equal(FakeSocket.made.length, 3, 'no socket before the token');
  withPromise.connect(); // a no-op while waiting
  await new Promise((done) => setImmediate(done));
  assert.equal(FakeSocket.made.length, 3);
  const failed = events.findLast(([type]) => type === 'close')[1];
  assert.equal(failed.code, CONNECT_FAILED_CLOSE_CODE);
  assert.match(failed.reason, /backend down/);
  assert.ok(failed.reconnectInMs !== null);
  fail = false;
  mock.timers.tick(failed.reconnectInMs);
  await new Promise((done) => setImmediate(done));
  assert.equal(FakeSocket.made.length, 4);
  assert.deepEqual(FakeSocket.made[3].protocols, ['tickcast', 'token.fresh']);
  handshake(FakeSocket.made[3]);
  assert.equal(withPromise.connected, true);
  withPromise.close();

  // close() while the token is on its way: no socket is opened.
  let resolve;
  const slow = makeClient({ token: () => new Promise((done) => (resolve = done)) });
  slow.close();
  resolve('late');
  await new Promise((done) => setImmediate(done));
  assert.equal(FakeSocket.made.length, 4);
});

test('an error with no close event after it (Node 20\'s WebSocket on a refused upgrade) counts as a 1006 close', () => {
  const client = makeClient({ reconnectDelayMs: 100 });
  const socket = FakeSocket.made[0];
  socket.onerror({});
  socket.onerror({});
  mock.timers.tick(249);
  assert.equal(events.length, 0, 'the close event gets a moment to come');
  mock.timers.tick(1);
  const close = events.findLast(([type]) => type === 'close')[1];
  assert.equal(close.code, 1006);
  assert.ok(close.reconnectInMs !== null);
  mock.timers.tick(close.reconnectInMs);
  assert.equal(FakeSocket.made.length, 2, 'and reconnects');

  // When the close does follow the error, it is reported once, with its own code.
  FakeSocket.made[1].onerror({});
  FakeSocket.made[1].serverClose(1006, '');
  mock.timers.tick(1000);
  assert.equal(events.filter(([type]) => type === 'close').length, 2);
  client.close();
});

/** Two drones and two players, none of them the client's. */
const crowd = (x) => [
  { index: 0, generation: 1, components: [[0, [x, 2000, 0]], [1, [10]], [2, [0]], [3, [0, 0]]] },
  { index: 1, generation: 1, components: [[0, [5000, x, 0]], [1, [10]], [2, [0]], [3, [1, 0]]] },
  { index: 2, generation: 3, components: [[0, [x + 500, 900, 1024]], [1, [3]], [2, [1]]] },
  { index: 5, generation: 1, components: [[0, [7000, 4000, 2048]], [1, [3]], [2, [1]]] },
];

test('a spectator: its Hello asks to spectate, its Welcome names no player, it mirrors and interpolates everything and predicts nothing', () => {
  // A prediction model is given, and ignored: there is no player to predict.
  const client = makeClient({ spectate: true });
  assert.equal(client.spectating, true);
  const socket = FakeSocket.made[0];
  socket.open();
  assert.deepEqual(helloOf(socket), [5, 'ann', null, []]);
  assert.deepEqual(socket.sent[0], encodeHello('ann', null, true));
  socket.deliver(encodeWelcome({ clientId: 9, player: null, tick: 100 }));
  assert.equal(client.connected, true);
  assert.equal(client.welcome.player, null);
  assert.equal(client.predictor, null);
  assert.equal(client.player(), undefined);

  clock += 10;
  socket.deliver(snapshotBetween([], crowd(1000), { full: true, tick: 102, ack: null }));
  clock += 33;
  socket.deliver(snapshotBetween(crowd(1000), crowd(1020), { tick: 2, ack: null }));
  clock += 33;
  socket.deliver(snapshotBetween(crowd(1020), crowd(1040), { tick: 2, ack: null }));
  const stats = client.stats();
  assert.deepEqual([stats.entities, stats.snapshots, stats.mismatches, stats.divergences], [4, 3, 0, 0]);
  assert.deepEqual([stats.ack, stats.rttMs, stats.predictionError], [null, null, null]);
  assert.equal(events.filter(([type, event]) => type === 'snapshot' && event.applied.checksumVerified).length, 3);
  // Every entity is interpolated, halfway between the last two snapshots.
  const sampled = client.interpolator.sample(clock + 100 - 16.5);
  assert.deepEqual(sampled.map((entity) => entity.id.index).sort(), [0, 1, 2, 5]);
  const first = sampled.find((entity) => entity.id.index === 0);
  assert.ok(first.components.Transform2.x > 10.2 && first.components.Transform2.x < 10.4, String(first.components.Transform2.x));
  assert.equal(client.worldEntities().length, 4);

  // No inputs: both input calls throw, and nothing is sent.
  assert.throws(() => client.sendInput({ move_x: 1, move_y: 0, aim: 0, buttons: 0 }), SpectatorInputError);
  assert.throws(() => client.startInputLoop(() => ({})), /a spectating client sends no inputs/);
  mock.timers.tick(1000);
  assert.equal(socket.sent.length, 1, 'the Hello only');
  client.close();
});

test('a spectator at a point sends [x, y]; it reconnects as a spectator, with no resume token', () => {
  const client = makeClient({ spectate: { x: 50, y: 30.5 }, reconnectDelayMs: 100 });
  const first = FakeSocket.made[0];
  // A Welcome with a token anyway (the server sends an empty one): a spectator never resumes.
  handshake(first, { player: null, resume: TOKEN_A });
  assert.deepEqual(helloOf(first), [5, 'ann', null, [50, 30.5]]);
  first.deliver(snapshotBetween([], crowd(1000), { full: true, tick: 102 }));
  first.serverClose(1006);
  assert.equal(client.connected, false);
  mock.timers.tick(events.findLast(([type]) => type === 'close')[1].reconnectInMs);
  const second = FakeSocket.made[1];
  handshake(second, { player: null, tick: 400 });
  assert.deepEqual(helloOf(second), [5, 'ann', null, [50, 30.5]], 'spectates again, no token');
  assert.equal(client.resumed, false);
  second.deliver(snapshotBetween([], crowd(1500), { full: true, tick: 402 }));
  const stats = client.stats();
  assert.deepEqual([stats.reconnects, stats.resumes, stats.entities, stats.mismatches], [1, 0, 4, 0]);
  client.close();
});

test('spectate is checked by the constructor; a Welcome of the wrong kind is a protocol error (4001)', () => {
  assert.throws(() => new TickcastClient('ws://game.test/ws', { spectate: { x: Number.NaN, y: 0 } }), RangeError);
  assert.throws(() => new TickcastClient('ws://game.test/ws', { spectate: 'yes' }), TypeError);

  // A spectator welcomed as a player.
  const spectator = makeClient({ spectate: true, reconnectDelayMs: 100 });
  handshake(FakeSocket.made[0], { player: [0, 1] });
  assert.equal(spectator.connected, false);
  assert.deepEqual(FakeSocket.made[0].closedWith, { code: PROTOCOL_CLOSE_CODE, reason: 'the welcome of a spectator names a player' });
  assert.equal(events.some(([type]) => type === 'welcome' || type === 'divergence'), false);
  assert.ok(events.findLast(([type]) => type === 'close')[1].reconnectInMs !== null);
  spectator.close();

  // A player welcomed as a spectator.
  const player = makeClient();
  handshake(FakeSocket.made[1], { player: null });
  assert.equal(player.connected, false);
  assert.deepEqual(FakeSocket.made[1].closedWith, { code: PROTOCOL_CLOSE_CODE, reason: 'the welcome names no player' });
  assert.equal(player.sendInput({ move_x: 1 }), null, 'a player not connected sends nothing, as before');
  player.close();
});
