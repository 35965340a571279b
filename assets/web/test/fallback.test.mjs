// The client's choice of transport (`transport: 'auto'`), against a fake WebSocket and a
// fake HTTP transport with mocked timers and an injected clock: a WebSocket that fails
// before it opens (or never opens) is replaced by HTTP at once, in the same attempt; one
// cut before its Welcome sends the next connection over HTTP; HTTP that worked is kept
// for `probeWebSocketAfterMs`, after which a reconnection probes the WebSocket again; a
// refusal both transports get does not stick; WebSockets cut soon after their Welcome
// (within `shortLivedWebSocketMs`) twice in a row send the next connection over HTTP too.
// The transport itself is in transport.test.mjs, the real server in
// server-fallback.test.mjs.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { decode } from '@msgpack/msgpack';
import { TickcastClient } from '../dist/tickcast.js';
import { encodeWelcome } from '../tools/encoder.mjs';
import { FakeSocket } from '../tools/fake-socket.mjs';

/** The HTTP transport's stand-in: the same fake, a list of its own. */
class FakeHttp extends FakeSocket {
  static made = [];
}

let clock = 0;
let closes = [];

function makeClient(options = {}, url = 'ws://game.test/ws') {
  const client = new TickcastClient(url, {
    name: 'ann',
    WebSocket: FakeSocket,
    HttpSocket: FakeHttp,
    now: () => clock,
    reconnectDelayMs: 100,
    ...options,
  });
  client.on('close', (event) => closes.push(event));
  client.connect();
  return client;
}

const RESUME = Uint8Array.from({ length: 44 }, (_, n) => n);

function welcome(socket, player = [0, 1]) {
  socket.open();
  socket.deliver(encodeWelcome({ clientId: 9, player, tick: 100, resume: RESUME }));
}

/** A WebSocket refused or blocked before the upgrade: an error, then close 1006. */
function refuse(socket) {
  socket.onerror?.({});
  socket.serverClose(1006);
}

const helloOf = (socket) => decode(socket.sent[0]).h;
const lastWs = () => FakeSocket.made.at(-1);
const lastHttp = () => FakeHttp.made.at(-1);

beforeEach(() => {
  FakeSocket.made = [];
  FakeHttp.made = [];
  clock = 1000;
  closes = [];
  mock.timers.enable({ apis: ['setTimeout'] });
});

afterEach(() => {
  mock.timers.reset();
});

test('a WebSocket refused before it opens: HTTP at once, same URL and token, no close event, not a reconnection', () => {
  const client = makeClient({ token: 'jwt.a.b' });
  assert.equal(FakeSocket.made.length, 1, 'the WebSocket first');
  assert.equal(FakeHttp.made.length, 0);
  refuse(FakeSocket.made[0]);
  assert.equal(FakeHttp.made.length, 1, 'then HTTP, in the same attempt');
  const http = FakeHttp.made[0];
  assert.equal(http.url, 'ws://game.test/ws');
  assert.deepEqual(http.protocols, ['tickcast', 'token.jwt.a.b']);
  assert.equal(http.binaryType, 'arraybuffer');
  assert.deepEqual(closes, [], 'the app sees no close');
  assert.equal(FakeSocket.made[0].onmessage, null, 'the WebSocket is let go');

  welcome(http);
  assert.deepEqual(helloOf(http), [5, 'ann'], 'the Hello goes over HTTP');
  const stats = client.stats();
  assert.equal(stats.connected, true);
  assert.equal(stats.transport, 'http');
  assert.equal(stats.fallbackReason, 'websocket-failed');
  assert.equal(stats.secure, false);
  assert.equal(stats.reconnects, 0);
  assert.equal(client.sendInput({ move_x: 1, move_y: 0, aim: 0, buttons: 0 }), 0);
  assert.equal(http.sent.length, 2);
  client.close();
  assert.equal(http.closedWith.code, 1000);
});

test('an error with no close event after it falls back the same way', () => {
  const client = makeClient();
  FakeSocket.made[0].onerror({});
  assert.equal(FakeHttp.made.length, 0, 'a close may still follow');
  mock.timers.tick(250);
  assert.equal(FakeHttp.made.length, 1);
  assert.deepEqual(closes, []);
  client.close();
});

test('a WebSocket that neither opens nor fails (a proxy holding the upgrade) gives way to HTTP after 5 s', () => {
  const client = makeClient();
  mock.timers.tick(4999);
  assert.equal(FakeHttp.made.length, 0);
  mock.timers.tick(1);
  assert.equal(FakeHttp.made.length, 1);
  assert.equal(FakeSocket.made[0].closedWith !== null, true, 'the held WebSocket is closed');
  welcome(FakeHttp.made[0]);
  assert.equal(client.stats().transport, 'http');
  // An open WebSocket has no such timer.
  client.close();
});

test('a WebSocket that cannot even be made (a page broke it): HTTP at once', () => {
  class Broken {
    constructor() {
      throw new Error('WebSocket is disabled');
    }
  }
  const client = makeClient({ WebSocket: Broken });
  assert.equal(FakeHttp.made.length, 1);
  welcome(FakeHttp.made[0]);
  assert.equal(client.stats().transport, 'http');
  assert.equal(client.stats().fallbackReason, 'websocket-unavailable');
  client.close();
});

test('no WebSocket here at all: HTTP from the start', () => {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'WebSocket');
  Object.defineProperty(globalThis, 'WebSocket', { value: undefined, configurable: true, writable: true });
  try {
    const client = makeClient({ WebSocket: undefined });
    assert.equal(FakeHttp.made.length, 1);
    assert.equal(FakeSocket.made.length, 0);
    client.close();
    // Forced onto the WebSocket, there is none: as before the fallback existed.
    assert.throws(() => makeClient({ WebSocket: undefined, transport: 'websocket' }), /no WebSocket implementation/);
  } finally {
    if (saved === undefined) delete globalThis.WebSocket;
    else Object.defineProperty(globalThis, 'WebSocket', saved);
  }
});

test('HTTP that worked is kept for probeWebSocketAfterMs; the first reconnection after it probes the WebSocket', () => {
  const client = makeClient({ probeWebSocketAfterMs: 60_000 });
  refuse(FakeSocket.made[0]);
  welcome(FakeHttp.made[0]);

  // A drop 30 s later: back over HTTP, resuming, with no WebSocket tried.
  clock += 30_000;
  FakeHttp.made[0].serverClose(1006);
  mock.timers.tick(closes[0].reconnectInMs);
  assert.equal(FakeSocket.made.length, 1, 'no WebSocket within the interval');
  assert.equal(FakeHttp.made.length, 2);
  welcome(FakeHttp.made[1]);
  assert.deepEqual(helloOf(FakeHttp.made[1]), [5, 'ann', RESUME], 'resumes like any reconnection');
  assert.equal(client.resumed, true);

  // A drop after the interval: the WebSocket is probed, and it fails: HTTP at once again.
  clock += 31_000;
  FakeHttp.made[1].serverClose(1006);
  mock.timers.tick(closes[1].reconnectInMs);
  assert.equal(FakeSocket.made.length, 2, 'probed');
  refuse(lastWs());
  assert.equal(FakeHttp.made.length, 3);
  welcome(lastHttp());
  assert.equal(closes.length, 2, 'the failed probe is not a close either');

  // The failed probe started the interval over: 59 s later, still HTTP.
  clock += 59_000;
  lastHttp().serverClose(1006);
  mock.timers.tick(closes[2].reconnectInMs);
  assert.equal(FakeSocket.made.length, 2);
  welcome(lastHttp());

  // After it, the probe gets through: the WebSocket is back, and stays.
  clock += 61_000;
  lastHttp().serverClose(1006);
  mock.timers.tick(closes[3].reconnectInMs);
  assert.equal(FakeSocket.made.length, 3);
  welcome(lastWs());
  assert.equal(client.stats().transport, 'websocket');
  assert.equal(client.resumed, true);
  clock += 1000;
  lastWs().serverClose(1006);
  mock.timers.tick(closes[4].reconnectInMs);
  assert.equal(FakeSocket.made.length, 4, 'a drop of a working WebSocket reconnects over the WebSocket');
  assert.equal(FakeHttp.made.length, 4);
  client.close();
});

test('a WebSocket that opens but is cut before its Welcome: a close, and the next connection goes over HTTP', () => {
  const client = makeClient();
  FakeSocket.made[0].open();
  FakeSocket.made[0].serverClose(1006);
  assert.equal(closes.length, 1, 'a connection that opened: the app hears of it');
  assert.equal(FakeHttp.made.length, 0);
  mock.timers.tick(closes[0].reconnectInMs);
  assert.equal(FakeHttp.made.length, 1);
  assert.equal(FakeSocket.made.length, 1);
  welcome(FakeHttp.made[0]);
  assert.equal(client.stats().transport, 'http');
  assert.equal(client.stats().fallbackReason, 'cut-before-welcome');
  assert.equal(client.stats().reconnects, 1);
  client.close();
});

test('a WebSocket that opens and carries nothing (no Welcome in time) sends the next connection over HTTP', () => {
  const client = makeClient({ welcomeTimeoutMs: 3000 });
  FakeSocket.made[0].open();
  mock.timers.tick(3000);
  assert.equal(closes[0].reason, 'no welcome in time');
  mock.timers.tick(closes[0].reconnectInMs);
  assert.equal(FakeHttp.made.length, 1);
  client.close();
});

test('a WebSocket cut after its Welcome is a drop like any other: it reconnects over the WebSocket', () => {
  const client = makeClient();
  welcome(FakeSocket.made[0]);
  FakeSocket.made[0].serverClose(1006);
  mock.timers.tick(closes[0].reconnectInMs);
  assert.equal(FakeSocket.made.length, 2);
  assert.equal(FakeHttp.made.length, 0);
  // And a clean close before the Welcome (the server's own) is no reason either.
  FakeSocket.made[1].open();
  FakeSocket.made[1].serverClose(1013, 'server is full');
  mock.timers.tick(closes[1].reconnectInMs);
  assert.equal(FakeSocket.made.length, 3);
  assert.equal(FakeHttp.made.length, 0);
  client.close();
});

test('refused over both (the server said no, or is down): a close with what HTTP learnt, and the WebSocket first again', () => {
  const client = makeClient();
  refuse(FakeSocket.made[0]);
  FakeHttp.made[0].onerror({});
  FakeHttp.made[0].serverClose(1006, '401 a token is required');
  assert.deepEqual(
    closes.map(({ code, reason }) => [code, reason]),
    [[1006, '401 a token is required']],
    'the reason a WebSocket cannot see',
  );
  mock.timers.tick(closes[0].reconnectInMs);
  assert.equal(FakeSocket.made.length, 2, 'HTTP did not work either: nothing to prefer');
  assert.equal(FakeHttp.made.length, 1);
  assert.equal(client.stats().reconnects, 1);
  client.close();
});

test("transport: 'websocket' never uses HTTP; 'http' never uses the WebSocket", () => {
  const websocket = makeClient({ transport: 'websocket' });
  refuse(FakeSocket.made[0]);
  mock.timers.tick(10_000);
  assert.equal(FakeHttp.made.length, 0);
  assert.equal(FakeSocket.made.length, 2, 'it retried over the WebSocket');
  websocket.close();

  const http = makeClient({ transport: 'http' });
  assert.equal(FakeSocket.made.length, 2);
  assert.equal(FakeHttp.made.length, 1);
  welcome(FakeHttp.made[0]);
  assert.equal(http.stats().fallbackReason, null, 'forced, not fallen back');
  FakeHttp.made[0].serverClose(1006);
  mock.timers.tick(closes.at(-1).reconnectInMs);
  assert.equal(FakeHttp.made.length, 2);
  assert.equal(FakeSocket.made.length, 2);
  http.close();
});

test('matchmaking: the seat goes over HTTP when the WebSocket fails, and the room after a drop', async () => {
  const seat = { roomId: 'arena-3', kind: 'arena', wsUrl: 'wss://node.test/ws', seatToken: 'seat-1', expiresInMs: 15_000 };
  const client = makeClient({ matchmake: { seat }, token: 'jwt.x' }, 'https://node.test');
  assert.equal(lastWs().url, 'wss://node.test/ws?seat=seat-1');
  refuse(lastWs());
  assert.equal(lastHttp().url, 'wss://node.test/ws?seat=seat-1', 'the same seat: the server never saw the upgrade');
  assert.equal(lastHttp().protocols, undefined, 'a seat needs no token');
  welcome(lastHttp());
  assert.equal(client.stats().transport, 'http');
  assert.equal(client.stats().secure, true);
  lastHttp().serverClose(1006);
  mock.timers.tick(closes[0].reconnectInMs);
  assert.equal(lastHttp().url, 'wss://node.test/ws?room=arena-3');
  assert.deepEqual(lastHttp().protocols, ['tickcast', 'token.jwt.x']);
  client.close();
});

/** Welcomes `socket`, lets it live `ms` (the injected clock), then ends it with `code`. */
function lives(socket, ms, code = 1006, reason = '') {
  welcome(socket);
  clock += ms;
  socket.serverClose(code, reason);
}

/** Waits out the reconnection the last close event announced. */
function reconnect() {
  mock.timers.tick(closes.at(-1).reconnectInMs);
}

test('two WebSockets in a row cut soon after their Welcome: the next connection goes over HTTP, kept, then probed', () => {
  const client = makeClient({ shortLivedWebSocketMs: 30_000, probeWebSocketAfterMs: 60_000 });
  lives(lastWs(), 29_999);
  assert.equal(closes[0].code, 1006, 'a drop, as any');
  reconnect();
  assert.equal(FakeSocket.made.length, 2, 'one short-lived WebSocket is a blip: the WebSocket again');
  assert.equal(FakeHttp.made.length, 0);
  welcome(lastWs());
  assert.equal(client.resumed, true, 'it resumed');
  clock += 300;
  lastWs().serverClose(1006);
  reconnect();
  assert.equal(FakeSocket.made.length, 2, 'the second in a row: HTTP');
  assert.equal(FakeHttp.made.length, 1);
  assert.equal(lastHttp().url, 'ws://game.test/ws');
  welcome(lastHttp());
  assert.deepEqual(helloOf(lastHttp()), [5, 'ann', RESUME], 'resuming the session');
  assert.equal(client.resumed, true);
  let stats = client.stats();
  assert.equal(stats.transport, 'http');
  assert.equal(stats.fallbackReason, 'short-lived');
  assert.equal(stats.reconnects, 2);

  // HTTP is kept for probeWebSocketAfterMs, as after an early failure.
  clock += 30_000;
  lastHttp().serverClose(1006);
  reconnect();
  assert.equal(FakeSocket.made.length, 2, 'no WebSocket within the interval');
  welcome(lastHttp());
  assert.equal(client.stats().fallbackReason, 'short-lived', 'the reason stays while HTTP is kept');

  // The probe after it is cut as soon: straight back to HTTP (the count was not reset).
  clock += 31_000;
  lastHttp().serverClose(1006);
  reconnect();
  assert.equal(FakeSocket.made.length, 3, 'probed');
  assert.equal(client.stats().fallbackReason, null, 'on a WebSocket, no reason');
  lives(lastWs(), 1000);
  reconnect();
  assert.equal(FakeSocket.made.length, 3);
  assert.equal(FakeHttp.made.length, 3, 'back over HTTP after one short-lived probe');
  welcome(lastHttp());

  // A probe that lives past shortLivedWebSocketMs starts the count over: one cut after
  // that is a blip again.
  clock += 61_000;
  lastHttp().serverClose(1006);
  reconnect();
  assert.equal(FakeSocket.made.length, 4);
  lives(lastWs(), 30_000);
  reconnect();
  lives(lastWs(), 500);
  reconnect();
  assert.equal(FakeSocket.made.length, 6, 'the WebSocket stays');
  assert.equal(FakeHttp.made.length, 3);
  welcome(lastWs());
  stats = client.stats();
  assert.equal(stats.transport, 'websocket');
  assert.equal(stats.fallbackReason, null);
  client.close();
});

test('a short cut, then a WebSocket that lives long, then a short cut: the WebSocket stays', () => {
  const client = makeClient();
  lives(lastWs(), 5000);
  reconnect();
  lives(lastWs(), 30_001, 1006);
  reconnect();
  lives(lastWs(), 5000);
  reconnect();
  assert.equal(FakeSocket.made.length, 4);
  assert.equal(FakeHttp.made.length, 0);
  welcome(lastWs());
  assert.equal(client.stats().transport, 'websocket');
  client.close();
});

test("the server's own close (1001, 1008, 4xxx) soon after the Welcome is not a cut: it neither counts nor breaks the row", () => {
  const client = makeClient();
  lives(lastWs(), 1000);
  reconnect();
  lives(lastWs(), 1000, 1001, 'server shutting down');
  reconnect();
  lives(lastWs(), 1000, 1008, 'input rate limit exceeded');
  reconnect();
  lives(lastWs(), 1000, 4100, 'kicked');
  reconnect();
  assert.equal(FakeSocket.made.length, 5, 'one cut and three closes: the WebSocket still');
  assert.equal(FakeHttp.made.length, 0);
  // A close the client makes when the user asks is none either.
  welcome(lastWs());
  clock += 1000;
  client.close();
  client.connect();
  assert.equal(FakeSocket.made.length, 6);
  lives(lastWs(), 1000);
  reconnect();
  assert.equal(FakeHttp.made.length, 1, 'the second cut');
  welcome(lastHttp());
  assert.equal(client.stats().fallbackReason, 'short-lived');
  client.close();
});

test('a WebSocket gone silent soon after its Welcome (closed for deadAfterMs) counts as a cut', () => {
  const client = makeClient({ deadAfterMs: 5000 });
  welcome(lastWs());
  clock += 5000;
  mock.timers.tick(5000);
  assert.equal(closes[0].code, 4002, 'dropped for silence');
  reconnect();
  lives(lastWs(), 2000);
  reconnect();
  assert.equal(FakeHttp.made.length, 1);
  assert.equal(FakeSocket.made.length, 2);
  client.close();
});

test("shortLivedWebSocketMs: 0 turns the check off, and transport: 'websocket' never switches", () => {
  for (const options of [{ shortLivedWebSocketMs: 0 }, { transport: 'websocket' }]) {
    FakeSocket.made = [];
    FakeHttp.made = [];
    closes = [];
    const client = makeClient(options);
    for (let n = 0; n < 4; n += 1) {
      lives(lastWs(), 300);
      reconnect();
    }
    assert.equal(FakeSocket.made.length, 5, `${JSON.stringify(options)}: always the WebSocket`);
    assert.equal(FakeHttp.made.length, 0);
    welcome(lastWs());
    assert.equal(client.stats().transport, 'websocket');
    assert.equal(client.stats().fallbackReason, null);
    client.close();
  }
});
