// The HTTP fallback transport on its own: the stream's frame reader (frames split at every
// byte, garbage ending in a typed error), the endpoint URLs, and HttpSocket against a fake
// of the server's endpoints on a real socket (tools/fake-fallback.mjs): the connect with
// the query and the token, messages delivered in order across chunk boundaries, sends
// batched while one is in flight, the close frame, a cut or garbage stream as 1006, a
// refused connect with its status, close() ending the stream. The client's choice of
// transport is in fallback.test.mjs, the real server in server-fallback.test.mjs.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { DecodeError, fallbackUrl, HttpSocket, StreamFrameReader } from '../dist/tickcast.js';
import { closeFrame, startFakeFallback, streamFrame } from '../tools/fake-fallback.mjs';
import { rng } from '../tools/encoder.mjs';

const bytes = (...values) => Uint8Array.from(values);
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/** Polls `probe` every 5 ms until it is truthy; fails after `ms`. */
async function until(what, probe, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Every frame read from `chunks`, as plain objects. */
function readAll(chunks) {
  const reader = new StreamFrameReader();
  const frames = [];
  for (const chunk of chunks) {
    for (const frame of reader.push(chunk)) {
      frames.push(frame.kind === 'message' ? { kind: 'message', payload: [...frame.payload] } : { ...frame });
    }
  }
  return { frames, reader };
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

describe('StreamFrameReader', () => {
  const stream = concat([
    streamFrame(1, bytes(0x93, 1, 2, 3)),
    streamFrame(1, new Uint8Array(0)),
    streamFrame(1, Uint8Array.from({ length: 300 }, (_, n) => n & 0xff)),
    closeFrame(1008, 'spectators send no inputs'),
  ]);
  const expected = [
    { kind: 'message', payload: [0x93, 1, 2, 3] },
    { kind: 'message', payload: [] },
    { kind: 'message', payload: Array.from({ length: 300 }, (_, n) => n & 0xff) },
    { kind: 'close', code: 1008, reason: 'spectators send no inputs' },
  ];

  test('whole, one byte at a time, and split at every pair of places: the same frames', () => {
    assert.deepEqual(readAll([stream]).frames, expected);
    assert.deepEqual(readAll([...stream].map((byte) => bytes(byte))).frames, expected);
    for (let first = 0; first <= stream.length; first += 3) {
      for (let second = first; second <= stream.length; second += 7) {
        const { frames, reader } = readAll([stream.subarray(0, first), stream.subarray(first, second), stream.subarray(second)]);
        assert.deepEqual(frames, expected, `split at ${first} and ${second}`);
        assert.equal(reader.sawClose, true);
        assert.equal(reader.midFrame, false);
      }
    }
  });

  test('a frame within one chunk is a view into it; one across chunks is assembled', () => {
    const chunk = concat([streamFrame(1, bytes(7, 8, 9)), streamFrame(1, bytes(4))]);
    const reader = new StreamFrameReader();
    const [first, second] = reader.push(chunk);
    assert.equal(first.payload.buffer, chunk.buffer, 'no copy');
    assert.deepEqual([...second.payload], [4]);
    const split = streamFrame(1, bytes(1, 2, 3, 4, 5, 6));
    assert.deepEqual(reader.push(split.subarray(0, 7)), []);
    assert.equal(reader.midFrame, true);
    const [joined] = reader.push(split.subarray(7));
    assert.deepEqual([...joined.payload], [1, 2, 3, 4, 5, 6]);
    assert.equal(reader.midFrame, false);
  });

  test('a header split inside itself; an empty close is 1005; bytes after the close are ignored', () => {
    const reader = new StreamFrameReader();
    const frame = streamFrame(1, bytes(42));
    assert.deepEqual(reader.push(frame.subarray(0, 2)), []);
    assert.equal(reader.midFrame, true, 'a partial header');
    assert.deepEqual(reader.push(frame.subarray(2, 4)), []);
    assert.deepEqual([...reader.push(frame.subarray(4))[0].payload], [42]);
    assert.deepEqual(reader.push(concat([streamFrame(2, new Uint8Array(0)), bytes(0xff, 0xff, 0xff)])), [
      { kind: 'close', code: 1005, reason: '' },
    ]);
    assert.deepEqual(reader.push(streamFrame(1, bytes(1))), [], 'the session is over');
  });

  test('garbage is a DecodeError: an unknown kind, a length beyond the limits, a bad close', () => {
    const fails = (chunk, kind, pattern) =>
      assert.throws(() => new StreamFrameReader().push(chunk), (error) => error instanceof DecodeError && error.kind === kind && pattern.test(error.message));
    fails(bytes(0, 0, 0, 0, 1, 9), 'malformed', /unknown stream frame kind 0/);
    fails(bytes(3, 0, 0, 0, 0), 'malformed', /kind 3/);
    fails(bytes(0x47, 0x45, 0x54, 0x20, 0x2f), 'malformed', /kind 71/);
    // 4 GiB claimed: refused from the header, nothing allocated.
    fails(bytes(1, 0xff, 0xff, 0xff, 0xff), 'overlong', /claims 4294967295 bytes/);
    fails(bytes(1, 0x01, 0x00, 0x00, 0x01), 'overlong', /at most 16777216/);
    fails(streamFrame(2, new Uint8Array(126)), 'overlong', /at most 125/);
    fails(streamFrame(2, bytes(3)), 'truncated', /one byte/);
    fails(streamFrame(2, bytes(3, 0xe8, 0xc3, 0x28)), 'malformed', /not UTF-8/);
  });

  test('random bytes and mutated streams: frames or a DecodeError, nothing else', () => {
    const random = rng(16);
    for (let round = 0; round < 2000; round++) {
      const source = round % 2 === 0 ? Uint8Array.from({ length: random.int(0, 64) }, () => random.int(0, 256)) : stream.slice();
      if (round % 2 === 1) {
        for (let flips = random.int(1, 4); flips > 0; flips--) source[random.int(0, source.length)] = random.int(0, 256);
      }
      const reader = new StreamFrameReader();
      try {
        let at = 0;
        while (at < source.length) {
          const next = Math.min(source.length, at + random.int(1, 40));
          for (const frame of reader.push(source.subarray(at, next))) {
            assert.ok(frame.kind === 'message' || frame.kind === 'close');
          }
          at = next;
        }
      } catch (error) {
        assert.ok(error instanceof DecodeError, `round ${round}: ${error}`);
      }
    }
  });
});

test('the endpoint URLs: http(s) for ws(s), /ws replaced, a path prefix kept, the query only on connect', () => {
  assert.equal(fallbackUrl('ws://127.0.0.1:7777/ws', 'connect'), 'http://127.0.0.1:7777/http/connect');
  assert.equal(fallbackUrl('wss://game.example/ws?seat=abc&token=x.y', 'connect'), 'https://game.example/http/connect?seat=abc&token=x.y');
  assert.equal(fallbackUrl('wss://game.example/ws?seat=abc', 'stream'), 'https://game.example/http/stream');
  assert.equal(fallbackUrl('ws://h/play/ws/', 'send'), 'http://h/play/http/send');
  assert.equal(fallbackUrl('http://h:1', 'connect'), 'http://h:1/http/connect');
  assert.equal(fallbackUrl('https://h/game/', 'connect'), 'https://h/game/http/connect');
  assert.throws(() => fallbackUrl('ftp://h/ws', 'connect'), TypeError);
  assert.throws(() => fallbackUrl('/ws', 'connect'), TypeError);
});

describe('HttpSocket against a fake of the endpoints', () => {
  const fakes = [];
  after(() => Promise.all(fakes.map((fake) => fake.close())));
  const fake = async (options) => {
    const made = await startFakeFallback(options);
    fakes.push(made);
    return made;
  };

  /** A socket that records its events. */
  function socketTo(url, protocols) {
    const socket = new HttpSocket(url, protocols);
    const events = [];
    socket.onopen = () => events.push(['open']);
    socket.onmessage = (event) => events.push(['message', [...new Uint8Array(event.data)], event.data instanceof ArrayBuffer]);
    socket.onerror = () => events.push(['error']);
    socket.onclose = (event) => events.push(['close', event.code, event.reason]);
    return { socket, events, closed: () => events.some(([type]) => type === 'close') };
  }

  test('connect with the query and the token as a header; messages in order across chunks; the close frame', async () => {
    const server = await fake();
    const { socket, events, closed } = socketTo(`${server.ws}?seat=abc`, ['tickcast', 'token.a.b.c']);
    assert.equal(socket.readyState, HttpSocket.CONNECTING);
    assert.throws(() => socket.send(bytes(1)), /not open yet/);
    const stream = await server.stream(0);
    await until('open', () => socket.readyState === HttpSocket.OPEN);
    assert.equal(server.connects[0].url, '/http/connect?seat=abc');
    assert.equal(server.connects[0].headers.authorization, 'Bearer a.b.c');
    assert.equal(stream.session, 's1');
    assert.equal(stream.headers.authorization, 'Bearer a.b.c', 'the stream is the same player');
    assert.equal(socket.session, 's1');

    // Two frames in one write, then one split over three writes.
    stream.raw(concat([streamFrame(1, bytes(1, 2)), streamFrame(1, bytes(3))]));
    const split = streamFrame(1, bytes(4, 5, 6, 7));
    stream.raw(split.subarray(0, 3));
    await sleep(20);
    stream.raw(split.subarray(3, 6));
    await sleep(20);
    stream.raw(split.subarray(6));
    stream.close(1001, 'server shutting down');
    await until('the close', closed);
    assert.deepEqual(events, [
      ['open'],
      ['message', [1, 2], true],
      ['message', [3], true],
      ['message', [4, 5, 6, 7], true],
      ['close', 1001, 'server shutting down'],
    ]);
    assert.equal(socket.readyState, HttpSocket.CLOSED);
  });

  test('sends: one request at once, what comes while it is in flight batched into the next, in order', async () => {
    const server = await fake({ holdSends: true });
    const { socket } = socketTo(server.ws);
    await server.stream(0);
    await until('open', () => socket.readyState === HttpSocket.OPEN);
    socket.send(bytes(0xa1));
    await until('the first send', () => server.sends.length === 1);
    // In flight: these wait, and go together.
    socket.send(bytes(0xb1, 0xb2));
    socket.send(bytes(0xc1));
    socket.send(new Uint8Array(0));
    await sleep(50);
    assert.equal(server.sends.length, 1, 'one request in flight at a time');
    server.releaseSend();
    await until('the second send', () => server.sends.length === 2);
    assert.deepEqual(server.sends.map((sent) => sent.messages.map((message) => [...message])), [[[0xa1]], [[0xb1, 0xb2], [0xc1], []]]);
    assert.equal(server.sends[1].session, 's1');
    assert.equal(server.sends[1].headers['content-type'], 'application/octet-stream');
    assert.equal(server.sends[1].headers.authorization, undefined, 'no token on every input');
    server.releaseSend();
    // Messages sent in one task share a request even when none is in flight.
    socket.send(bytes(1));
    socket.send(bytes(2));
    await until('the third send', () => server.sends.length === 3);
    assert.deepEqual(server.sends[2].messages.map((message) => [...message]), [[1], [2]]);
    assert.equal(socket.sendRequests, 3);
    server.releaseSend();
    // A buffer changed after send() does not change what is sent.
    const reused = bytes(9);
    socket.send(reused);
    reused[0] = 0;
    await until('the fourth send', () => server.sends.length === 4);
    assert.deepEqual([...server.sends[3].messages[0]], [9]);
    server.releaseSend();
    socket.close();
  });

  test('a body never passes 64 KiB: a big backlog goes in several requests, in order', async () => {
    const server = await fake({ holdSends: true });
    const { socket } = socketTo(server.ws);
    await server.stream(0);
    await until('open', () => socket.readyState === HttpSocket.OPEN);
    socket.send(bytes(0));
    await until('the first send', () => server.sends.length === 1);
    for (let n = 1; n <= 40; n++) socket.send(new Uint8Array(4000).fill(n));
    for (let request = 2; request <= 4; request++) {
      server.releaseSend();
      await until(`send ${request}`, () => server.sends.length === request);
    }
    const sizes = server.sends.slice(1).map((sent) => sent.messages.reduce((sum, message) => sum + 4 + message.length, 0));
    assert.ok(sizes.every((size) => size <= 64 * 1024), String(sizes));
    const order = server.sends.slice(1).flatMap((sent) => sent.messages.map((message) => message[0]));
    assert.deepEqual(order, Array.from({ length: 40 }, (_, n) => n + 1));
    server.releaseSend();
    // One message that cannot fit a request fails the socket, as a WebSocket server's 1009.
    const events = [];
    socket.onclose = (event) => events.push(event.code);
    socket.send(new Uint8Array(64 * 1024));
    assert.deepEqual(events, [1009]);
  });

  test('a refused connect: error, then close 1006 with the status and the reason; status kept', async () => {
    const server = await fake({ refuse: () => ({ status: 401, body: 'a token is required' }) });
    const { socket, events, closed } = socketTo(server.ws);
    await until('the close', closed);
    assert.deepEqual(events, [['error'], ['close', 1006, '401 a token is required']]);
    assert.equal(socket.status, 401);
    assert.equal(server.streams.length, 0);
  });

  test('a stream cut, or ended without a close, or garbage: 1006 with what happened', async () => {
    const server = await fake();
    const cut = socketTo(server.ws);
    (await server.stream(0)).raw(streamFrame(1, bytes(1, 2, 3)).subarray(0, 6));
    await sleep(20);
    (await server.stream(0)).destroy();
    await until('the close', cut.closed);
    assert.equal(cut.events.at(-1)[1], 1006);

    const ended = socketTo(server.ws);
    const stream = await server.stream(1);
    stream.message(bytes(5));
    stream.end();
    await until('the close', ended.closed);
    assert.deepEqual(ended.events.slice(1), [['message', [5], true], ['error'], ['close', 1006, 'the stream ended without a close']]);

    const garbage = socketTo(server.ws);
    const third = await server.stream(2);
    third.raw(bytes(9, 0, 0, 0, 0));
    await until('the close', garbage.closed);
    assert.deepEqual(garbage.events.at(-1), ['close', 1006, 'a malformed stream: unknown stream frame kind 9']);
    assert.equal(await third.aborted, true, 'the socket hung up on the garbage');
  });

  test('close() ends the stream (the server sees it go) and reports the close; later sends are dropped', async () => {
    const server = await fake();
    const { socket, events, closed } = socketTo(server.ws);
    const stream = await server.stream(0);
    await until('open', () => socket.readyState === HttpSocket.OPEN);
    socket.close(4000, 'diverged');
    assert.equal(socket.readyState, HttpSocket.CLOSING);
    socket.send(bytes(1));
    await until('the close', closed);
    assert.deepEqual(events, [['open'], ['close', 4000, 'diverged']]);
    assert.equal(await stream.aborted, true);
    await sleep(20);
    assert.equal(server.sends.length, 0);
  });

  test('a refused send: the stream close says why if it comes; otherwise 1006 after a moment', async () => {
    const server = await fake({ sendStatus: () => 404 });
    const told = socketTo(server.ws);
    const stream = await server.stream(0);
    await until('open', () => told.socket.readyState === HttpSocket.OPEN);
    told.socket.send(bytes(1));
    await until('the send', () => server.sends.length === 1);
    stream.close(1008, 'input flood');
    await until('the close', told.closed);
    assert.deepEqual(told.events.at(-1), ['close', 1008, 'input flood']);

    const untold = socketTo(server.ws);
    await server.stream(1);
    await until('open', () => untold.socket.readyState === HttpSocket.OPEN);
    untold.socket.send(bytes(1));
    await until('the close', untold.closed, 3000);
    assert.deepEqual(untold.events.at(-1), ['close', 1006, 'POST /http/send failed: 404 refused']);
  });

  test('nothing listening: error and 1006', async () => {
    const server = await fake();
    const url = server.ws;
    await server.close();
    const { events, closed } = socketTo(url);
    await until('the close', closed);
    assert.equal(events[0][0], 'error');
    assert.equal(events[1][1], 1006);
    assert.match(events[1][2], /the HTTP transport failed/);
  });
});
