// Matchmaking without a server: `matchmake()` against a fake fetch (the request it makes,
// the seat it reads, every refusal mapped to a MatchmakeError), the URLs it builds, and
// the client's matchmaking mode against a fake fetch, a fake WebSocket and mocked timers:
// the first socket takes the seat, a drop goes back to the room with `?room=` and
// resumes, and a resume the room refuses (or a room that is gone) matchmakes afresh.
// The same against the real server is in server.test.mjs.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { decode } from '@msgpack/msgpack';
import {
  CONNECT_FAILED_CLOSE_CODE,
  matchmake,
  MatchmakeError,
  matchmakeUrl,
  roomUrl,
  seatUrl,
  TickcastClient,
  withQuery,
} from '../dist/tickcast.js';
import { encodeWelcome } from '../tools/encoder.mjs';
import { FakeSocket } from '../tools/fake-socket.mjs';

/** A fetch that answers from `answer(url, init)` (a `{status, body, headers}`) and records its calls. */
function fakeFetch(answer) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, init, body: JSON.parse(init.body) });
    const { status = 200, body = '', headers = {} } = await answer(url, init, calls.length);
    const lower = Object.fromEntries(Object.entries(headers).map(([key, value]) => [key.toLowerCase(), value]));
    return {
      ok: status >= 200 && status < 300,
      status,
      headers: { get: (name) => lower[name.toLowerCase()] ?? null },
      text: async () => (typeof body === 'string' ? body : JSON.stringify(body)),
    };
  };
  fetch.calls = calls;
  return fetch;
}

const SEAT_BODY = {
  room_id: 'arena-3',
  kind: 'arena',
  ws_url: 'ws://node.test:7777/ws',
  seat_token: 'c2VhdC0x',
  expires_in_ms: 15000,
};

/** A fetch handing out seats `seat-1`, `seat-2`… in `room` (arena-3 unless given). */
function seatFetch({ room = 'arena-3', wsUrl = SEAT_BODY.ws_url } = {}) {
  return fakeFetch((url, init, n) => ({ body: { ...SEAT_BODY, room_id: room, ws_url: wsUrl, seat_token: `seat-${n}` } }));
}

describe('matchmake()', () => {
  test('the URL: the base with /matchmake, a path prefix kept, ws(s) taken for http(s), the query kept', () => {
    assert.equal(matchmakeUrl('http://127.0.0.1:7777'), 'http://127.0.0.1:7777/matchmake');
    assert.equal(matchmakeUrl('http://127.0.0.1:7777/'), 'http://127.0.0.1:7777/matchmake');
    assert.equal(matchmakeUrl('https://game.example/play/'), 'https://game.example/play/matchmake');
    assert.equal(matchmakeUrl('ws://127.0.0.1:7777'), 'http://127.0.0.1:7777/matchmake');
    assert.equal(matchmakeUrl('wss://game.example'), 'https://game.example/matchmake');
    assert.equal(matchmakeUrl('https://game.example/?token=a.b'), 'https://game.example/matchmake?token=a.b');
    assert.throws(() => matchmakeUrl('ftp://game.example'), TypeError);
    assert.throws(() => matchmakeUrl('/relative'), TypeError);
  });

  test('seat and room URLs: ? or & as the query needs, what is there kept byte for byte', () => {
    const seat = { roomId: 'arena-3', kind: 'arena', wsUrl: 'ws://h:1/ws', seatToken: 'abc-_09', expiresInMs: 1 };
    assert.equal(seatUrl(seat), 'ws://h:1/ws?seat=abc-_09');
    assert.equal(seatUrl({ ...seat, wsUrl: 'wss://h/ws?token=x.y+z%20' }), 'wss://h/ws?token=x.y+z%20&seat=abc-_09');
    assert.equal(roomUrl('ws://h:1/ws', 'arena-3'), 'ws://h:1/ws?room=arena-3');
    assert.equal(roomUrl('ws://h:1/ws?token=t', 'arena 3/x'), 'ws://h:1/ws?token=t&room=arena%203%2Fx');
    assert.equal(withQuery('ws://h/ws?', 'room', 'r'), 'ws://h/ws?room=r');
    assert.equal(withQuery('ws://h/ws?a=1&', 'room', 'r'), 'ws://h/ws?a=1&room=r');
    assert.equal(withQuery('ws://h/ws#f', 'room', 'r'), 'ws://h/ws?room=r#f');
  });

  test('the request: POST, JSON, kind and room_id only when asked, the token as a Bearer header', async () => {
    const fetch = seatFetch();
    await matchmake('http://node.test:7777', { fetch });
    await matchmake('http://node.test:7777', { fetch, kind: 'arena' });
    await matchmake('http://node.test:7777', { fetch, kind: 'arena', roomId: 'arena-3', token: 'jwt.a.b' });
    await matchmake('http://node.test:7777', { fetch, token: async () => 'jwt.c.d' });
    const [plain, kind, both, fromFunction] = fetch.calls;
    assert.equal(plain.url, 'http://node.test:7777/matchmake');
    assert.equal(plain.init.method, 'POST');
    assert.equal(plain.init.headers['content-type'], 'application/json');
    assert.equal(plain.init.body, '{}', 'kind omitted: the node\'s default game');
    assert.equal(plain.init.headers.authorization, undefined, 'no token, no Authorization');
    assert.deepEqual(kind.body, { kind: 'arena' });
    assert.deepEqual(both.body, { kind: 'arena', room_id: 'arena-3' });
    assert.equal(both.init.headers.authorization, 'Bearer jwt.a.b');
    assert.equal(fromFunction.init.headers.authorization, 'Bearer jwt.c.d');
    await assert.rejects(matchmake('http://node.test:7777', { fetch, token: '' }), TypeError);
  });

  test('the answer: a seat, with ws_url as given (a relative one resolved against the node)', async () => {
    const seat = await matchmake('http://node.test:7777', { fetch: seatFetch({ wsUrl: 'wss://node-2.test/ws?token=t' }) });
    assert.deepEqual(seat, {
      roomId: 'arena-3',
      kind: 'arena',
      wsUrl: 'wss://node-2.test/ws?token=t',
      seatToken: 'seat-1',
      expiresInMs: 15000,
    });
    assert.equal((await matchmake('http://node.test:7777', { fetch: seatFetch({ wsUrl: '/ws' }) })).wsUrl, 'ws://node.test:7777/ws');
    assert.equal((await matchmake('https://node.test', { fetch: seatFetch({ wsUrl: '/ws' }) })).wsUrl, 'wss://node.test/ws');
  });

  /** What `matchmake` rejects with when the node answers `answer`. */
  async function refusal(answer) {
    const error = await matchmake('http://node.test:7777', { fetch: fakeFetch(() => answer) }).then(
      () => assert.fail('a seat'),
      (error) => error,
    );
    assert.ok(error instanceof MatchmakeError, `a MatchmakeError: ${error}`);
    assert.ok(error instanceof Error);
    assert.equal(error.name, 'MatchmakeError');
    return error;
  }

  test('refusals: the status and the JSON error as they came, Retry-After in ms', async () => {
    for (const [status, reason] of [
      [400, 'malformed request'],
      [401, 'missing token'],
      [404, 'unknown room kind'],
      [404, 'unknown room'],
      [409, 'room full'],
    ]) {
      const error = await refusal({ status, body: { error: reason } });
      assert.equal(error.status, status);
      assert.equal(error.reason, reason);
      assert.equal(error.retryAfterMs, null);
      assert.equal(error.message, `matchmaking refused (${status}): ${reason}`);
    }
    const draining = await refusal({ status: 503, body: { error: 'draining' }, headers: { 'Retry-After': '3' } });
    assert.deepEqual([draining.status, draining.reason, draining.retryAfterMs], [503, 'draining', 3000]);
    const dated = await refusal({ status: 503, body: { error: 'draining' }, headers: { 'Retry-After': new Date(Date.now() + 60_000).toUTCString() } });
    assert.ok(dated.retryAfterMs > 55_000 && dated.retryAfterMs <= 60_000, `an HTTP date: ${dated.retryAfterMs}`);
    // No JSON error: the text (a proxy's page), or the bare status.
    assert.equal((await refusal({ status: 502, body: 'Bad Gateway\n' })).reason, 'Bad Gateway');
    assert.equal((await refusal({ status: 500, body: '' })).reason, 'http 500');
    assert.equal((await refusal({ status: 404, body: { message: 'no' } })).reason, '{"message":"no"}');
  });

  test('retryable: no answer, 5xx, 401, 408, 409, 429 and a 2xx that was no seat; not any other 4xx', () => {
    for (const status of [0, 200, 401, 408, 409, 429, 500, 502, 503]) assert.equal(new MatchmakeError(status, 'x').retryable, true, `${status}`);
    for (const status of [400, 403, 404, 405, 413, 422]) assert.equal(new MatchmakeError(status, 'x').retryable, false, `${status}`);
  });

  test('no answer is status 0; a 2xx that is not a seat keeps its status', async () => {
    const down = await matchmake('http://node.test:7777', {
      fetch: async () => {
        throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:7777') });
      },
    }).catch((error) => error);
    assert.ok(down instanceof MatchmakeError);
    assert.equal(down.status, 0);
    assert.match(down.reason, /no answer from http:\/\/node\.test:7777\/matchmake: fetch failed \(connect ECONNREFUSED/);
    assert.match(down.message, /^matchmaking failed: /);

    const silent = await matchmake('http://node.test:7777', {
      timeoutMs: 20,
      fetch: (url, init) =>
        new Promise((_, reject) => init.signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')))),
    }).catch((error) => error);
    assert.equal(silent.status, 0);
    assert.match(silent.reason, /in 20 ms$/);

    for (const [body, why] of [
      ['not json', 'not JSON'],
      [[], 'not an object'],
      [{ ...SEAT_BODY, room_id: 3 }, 'no room_id'],
      [{ ...SEAT_BODY, ws_url: undefined }, 'no ws_url'],
      [{ ...SEAT_BODY, seat_token: '' }, 'no seat_token'],
      [{ ...SEAT_BODY, expires_in_ms: '15000' }, 'no expires_in_ms'],
    ]) {
      const error = await refusal({ status: 200, body });
      assert.equal(error.status, 200);
      assert.equal(error.reason, `malformed answer: ${why}`);
    }
  });
});

// The client's matchmaking mode.


const BASE = 'http://node.test:7777';
const RESUME_A = Uint8Array.from({ length: 44 }, (_, n) => n);
const RESUME_B = Uint8Array.from({ length: 44 }, (_, n) => 100 + n);
let clock = 0;
let closes = [];

/** Lets the fake fetch's promises (and the client's `then`s on them) settle. */
const settle = () => new Promise((done) => setImmediate(done));

function matchClient(options = {}) {
  // The WebSocket alone: the HTTP fallback has tests of its own (fallback.test.mjs).
  const client = new TickcastClient(BASE, { name: 'ann', WebSocket: FakeSocket, transport: 'websocket', now: () => clock, ...options });
  client.on('close', (event) => closes.push(event));
  client.connect();
  return client;
}

function welcome(socket, { player = [0, 1], resume = RESUME_A } = {}) {
  socket.open();
  socket.deliver(encodeWelcome({ clientId: 9, player, tick: 100, resume }));
}

const helloOf = (socket) => decode(socket.sent[0]).h;
const last = () => FakeSocket.made.at(-1);

describe('TickcastClient with matchmake', () => {
  beforeEach(() => {
    FakeSocket.made = [];
    clock = 1000;
    closes = [];
    mock.timers.enable({ apis: ['setTimeout'] });
  });

  afterEach(() => {
    mock.timers.reset();
  });

  test('the first socket takes the seat with no token; a drop goes back with ?room= and the token, and resumes', async () => {
    const fetch = seatFetch();
    const client = matchClient({ matchmake: { kind: 'arena', fetch }, token: 'jwt.a.b', reconnectDelayMs: 100 });
    assert.equal(FakeSocket.made.length, 0, 'no socket before the seat');
    assert.equal(client.roomId, null);
    await settle();
    assert.equal(fetch.calls.length, 1);
    assert.deepEqual(fetch.calls[0].body, { kind: 'arena' });
    assert.equal(fetch.calls[0].init.headers.authorization, 'Bearer jwt.a.b');
    const first = FakeSocket.made[0];
    assert.equal(first.url, 'ws://node.test:7777/ws?seat=seat-1');
    assert.equal(first.protocols, undefined, 'the seat is bound to the token: no subprotocol');
    assert.equal(client.roomId, 'arena-3');
    assert.deepEqual(client.room, { roomId: 'arena-3', kind: 'arena', wsUrl: 'ws://node.test:7777/ws' });
    assert.equal(client.url, BASE, 'url stays the base it was given');

    welcome(first);
    assert.deepEqual(helloOf(first), [5, 'ann'], 'a seat is a new player: no resume token');
    const stats = client.stats();
    assert.equal(stats.roomId, 'arena-3');
    assert.equal(stats.transport, 'websocket');
    assert.equal(stats.secure, false);
    assert.equal(stats.connected, true);

    first.serverClose(1006);
    assert.ok(closes[0].reconnectInMs !== null);
    assert.equal('error' in closes[0], false, 'a plain close has no error');
    mock.timers.tick(closes[0].reconnectInMs);
    await settle();
    assert.equal(fetch.calls.length, 1, 'no second matchmaking: the session resumes in its room');
    const second = last();
    assert.equal(second.url, 'ws://node.test:7777/ws?room=arena-3');
    assert.deepEqual(second.protocols, ['tickcast', 'token.jwt.a.b']);
    second.open();
    assert.deepEqual(helloOf(second), [5, 'ann', RESUME_A]);
    second.deliver(encodeWelcome({ clientId: 10, player: [0, 1], tick: 200, resume: RESUME_B }));
    assert.equal(client.resumed, true);
    assert.equal(client.stats().resumes, 1);
    assert.equal(client.stats().roomId, 'arena-3');
    client.close();
  });

  test('a ws_url with a query gets &seat= and &room=; wss is the transport whatever the base', async () => {
    const fetch = seatFetch({ wsUrl: 'wss://node-2.test/ws?token=abc' });
    const client = matchClient({ matchmake: { fetch }, reconnectDelayMs: 100 });
    await settle();
    assert.equal(FakeSocket.made[0].url, 'wss://node-2.test/ws?token=abc&seat=seat-1');
    assert.deepEqual(fetch.calls[0].body, {}, 'kind omitted');
    welcome(FakeSocket.made[0]);
    assert.equal(client.stats().transport, 'websocket');
    assert.equal(client.stats().secure, true);
    FakeSocket.made[0].serverClose(1001, 'going away');
    mock.timers.tick(closes[0].reconnectInMs);
    await settle();
    assert.equal(last().url, 'wss://node-2.test/ws?token=abc&room=arena-3');
    assert.equal(last().protocols, undefined, 'no player token: a plain socket');
    client.close();
  });

  for (const reason of ['joining a room needs a seat from /matchmake', 'invalid resume token']) {
    test(`a resume refused with 1008 "${reason}" matchmakes afresh`, async () => {
      let room = 'arena-3';
      const fetch = fakeFetch((url, init, n) => ({ body: { ...SEAT_BODY, room_id: room, seat_token: `seat-${n}` } }));
      const client = matchClient({ matchmake: { fetch }, reconnectDelayMs: 100 });
      await settle();
      welcome(FakeSocket.made[0]);
      FakeSocket.made[0].serverClose(1006);
      mock.timers.tick(closes[0].reconnectInMs);
      await settle();
      const back = last();
      assert.equal(back.url, 'ws://node.test:7777/ws?room=arena-3');
      back.open();
      back.serverClose(1008, reason);
      assert.ok(closes[1].reconnectInMs !== null, 'it goes on');
      room = 'arena-4';
      mock.timers.tick(closes[1].reconnectInMs);
      await settle();
      assert.equal(fetch.calls.length, 2, 'a second matchmaking');
      const fresh = last();
      assert.equal(fresh.url, 'ws://node.test:7777/ws?seat=seat-2');
      assert.equal(client.roomId, 'arena-4');
      welcome(fresh, { player: [1, 1], resume: RESUME_B });
      assert.deepEqual(helloOf(fresh), [5, 'ann'], 'no resume token with the new seat');
      assert.equal(client.resumed, false);
      assert.equal(client.stats().resumes, 0);
      client.close();
    });
  }

  test('a room that is gone (two ?room= connections fail before a Welcome) matchmakes afresh; one failure does not', async () => {
    const fetch = seatFetch();
    const client = matchClient({ matchmake: { fetch }, reconnectDelayMs: 100 });
    await settle();
    welcome(FakeSocket.made[0]);
    FakeSocket.made[0].serverClose(1006);
    for (let n = 0; n < 2; n++) {
      mock.timers.tick(closes.at(-1).reconnectInMs);
      await settle();
      assert.equal(last().url, 'ws://node.test:7777/ws?room=arena-3', `try ${n + 1} goes back to the room`);
      // A 404 before the upgrade: the WebSocket sees a 1006 and never opens.
      last().serverClose(1006);
    }
    mock.timers.tick(closes.at(-1).reconnectInMs);
    await settle();
    assert.equal(fetch.calls.length, 2);
    assert.equal(last().url, 'ws://node.test:7777/ws?seat=seat-2');

    // A Welcome between two failed tries starts the count over.
    welcome(last());
    const reconnect = async () => {
      mock.timers.tick(closes.at(-1).reconnectInMs);
      await settle();
      assert.equal(last().url, 'ws://node.test:7777/ws?room=arena-3');
    };
    last().serverClose(1006);
    await reconnect();
    last().serverClose(1006); // failed try 1
    await reconnect();
    welcome(last(), { resume: RESUME_B });
    last().serverClose(1006);
    await reconnect();
    last().serverClose(1006); // failed try 1 again, not 2
    await reconnect();
    assert.equal(fetch.calls.length, 2, 'never two failures in a row: no matchmaking');
    // A room that takes the socket and never welcomes it counts too (the client gives up
    // on it after welcomeTimeoutMs): the next failure is the second in a row.
    last().open();
    mock.timers.tick(10_000);
    assert.equal(closes.at(-1).reason, 'no welcome in time');
    mock.timers.tick(closes.at(-1).reconnectInMs);
    await settle();
    assert.equal(fetch.calls.length, 3);
    assert.equal(last().url, 'ws://node.test:7777/ws?seat=seat-3');
    client.close();
  });

  test('refusals: 400, 403 and 404 end the client; 409 and 503 retry (no sooner than Retry-After); each a close with the MatchmakeError', async () => {
    for (const [status, reason] of [[404, 'unknown room kind'], [400, 'malformed request'], [403, 'token not for this room']]) {
      closes = [];
      const fetch = fakeFetch(() => ({ status, body: { error: reason } }));
      const client = matchClient({ matchmake: { kind: 'nope', fetch } });
      await settle();
      assert.equal(closes.length, 1);
      const [close] = closes;
      assert.equal(close.code, CONNECT_FAILED_CLOSE_CODE);
      assert.equal(close.reconnectInMs, null, `${status}: no retry`);
      assert.ok(close.error instanceof MatchmakeError);
      assert.deepEqual([close.error.status, close.error.reason], [status, reason]);
      assert.equal(close.reason, `matchmaking refused (${status}): ${reason}`);
      assert.equal(FakeSocket.made.length, 0, 'no socket');
      assert.equal(client.stats().connected, false);
    }

    closes = [];
    const answers = [
      { status: 503, body: { error: 'draining' }, headers: { 'retry-after': '5' } },
      { status: 409, body: { error: 'room full' } },
      { body: SEAT_BODY },
    ];
    const fetch = fakeFetch((url, init, n) => answers[n - 1]);
    const client = matchClient({ matchmake: { roomId: 'arena-3', fetch }, reconnectDelayMs: 100 });
    await settle();
    assert.equal(closes[0].error.status, 503);
    assert.equal(closes[0].reconnectInMs, 5000, 'Retry-After, not the 100 ms backoff');
    mock.timers.tick(4999);
    await settle();
    assert.equal(fetch.calls.length, 1, 'not before Retry-After');
    mock.timers.tick(1);
    await settle();
    assert.equal(fetch.calls.length, 2);
    assert.equal(closes[1].error.status, 409);
    assert.ok(closes[1].reconnectInMs !== null && closes[1].reconnectInMs <= 200, 'a full room: the backoff');
    mock.timers.tick(closes[1].reconnectInMs);
    await settle();
    assert.deepEqual(fetch.calls.map((call) => call.body.room_id), ['arena-3', 'arena-3', 'arena-3']);
    assert.equal(last().url, 'ws://node.test:7777/ws?seat=c2VhdC0x');
    welcome(last());
    assert.equal(client.connected, true);
    client.close();
  });

  test('no answer from the node (status 0) retries; close() while matchmaking drops the late seat', async () => {
    let release;
    const fetch = fakeFetch(async (url, init, n) => {
      if (n === 1) throw new TypeError('fetch failed');
      await new Promise((done) => (release = done));
      return { body: SEAT_BODY };
    });
    const client = matchClient({ matchmake: { fetch }, reconnectDelayMs: 100 });
    await settle();
    assert.equal(closes[0].error.status, 0);
    assert.ok(closes[0].reconnectInMs !== null);
    mock.timers.tick(closes[0].reconnectInMs);
    await settle();
    assert.equal(fetch.calls.length, 2);
    client.connect();
    await settle();
    assert.equal(fetch.calls.length, 2, 'connect() while matchmaking is a no-op');
    client.close();
    release();
    await settle();
    assert.equal(FakeSocket.made.length, 0, 'the seat that came after close() is not used');
    assert.equal(closes.length, 1);
  });

  test('TickcastClient.matchmake resolves with a client on its seat, or rejects with the MatchmakeError', async () => {
    mock.timers.reset();
    const refused = await TickcastClient.matchmake(BASE, {
      roomId: 'arena-9',
      WebSocket: FakeSocket,
      fetch: fakeFetch(() => ({ status: 409, body: { error: 'room full' } })),
    }).catch((error) => error);
    assert.ok(refused instanceof MatchmakeError);
    assert.deepEqual([refused.status, refused.reason], [409, 'room full']);
    assert.equal(FakeSocket.made.length, 0);

    const fetch = seatFetch();
    const client = await TickcastClient.matchmake(BASE, { kind: 'arena', name: 'bo', token: () => 'jwt.x', WebSocket: FakeSocket, fetch });
    assert.deepEqual(fetch.calls[0].body, { kind: 'arena' });
    assert.equal(fetch.calls[0].init.headers.authorization, 'Bearer jwt.x');
    assert.equal(client.roomId, 'arena-3');
    assert.equal(FakeSocket.made.length, 1);
    assert.equal(FakeSocket.made[0].url, 'ws://node.test:7777/ws?seat=seat-1');
    welcome(FakeSocket.made[0]);
    assert.deepEqual(helloOf(FakeSocket.made[0]), [5, 'bo']);
    assert.equal(client.connected, true);
    assert.deepEqual(client.options.matchmake, { kind: 'arena', fetch }, 'a matchmaking client from then on');
    client.close();
  });

  test('a seat given in the options is used first, once; a spectator matchmakes on every connection', async () => {
    const fetch = seatFetch();
    const seat = { roomId: 'arena-7', kind: 'arena', wsUrl: 'ws://node.test:7777/ws', seatToken: 'given', expiresInMs: 15000 };
    const client = matchClient({ matchmake: { fetch, seat }, reconnectDelayMs: 100 });
    assert.equal(client.roomId, 'arena-7');
    assert.equal(FakeSocket.made[0].url, 'ws://node.test:7777/ws?seat=given', 'at once: no matchmaking');
    // Closed before a Welcome: there is no session, so the next connection asks for a seat.
    FakeSocket.made[0].serverClose(1006);
    mock.timers.tick(closes[0].reconnectInMs);
    await settle();
    assert.equal(fetch.calls.length, 1);
    assert.equal(last().url, 'ws://node.test:7777/ws?seat=seat-1');
    client.close();

    const spectator = matchClient({ matchmake: { roomId: 'arena-3', fetch }, spectate: true, reconnectDelayMs: 100 });
    await settle();
    const socket = last();
    welcome(socket, { player: null, resume: new Uint8Array(0) });
    assert.deepEqual(helloOf(socket), [5, 'ann', null, []]);
    socket.serverClose(1006);
    mock.timers.tick(closes.at(-1).reconnectInMs);
    await settle();
    assert.equal(fetch.calls.length, 3, 'no session to resume: a new seat');
    assert.deepEqual(fetch.calls[2].body, { room_id: 'arena-3' });
    assert.match(last().url, /\?seat=seat-3$/);
    spectator.close();
  });

  test('checked at once: a matchmaking base that is no URL; a plain client has no room', () => {
    assert.throws(() => new TickcastClient('not a url', { matchmake: true }), TypeError);
    const plain = new TickcastClient('ws://game.test/ws', { WebSocket: FakeSocket });
    assert.equal(plain.roomId, null);
    assert.equal(plain.stats().roomId, null);
    assert.equal(plain.stats().transport, 'websocket');
  });
});
