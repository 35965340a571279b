// A fake of the server's HTTP fallback endpoints (POST /http/connect, GET /http/stream,
// POST /http/send), on a real socket on 127.0.0.1, for the SDK's transport tests: it
// records what the HttpSocket asks and sends, and lets a test play the server's side of
// the stream byte by byte (frames, raw chunks, a close, a cut). The real server's side is
// server/src/net/fallback.rs; the wire is in docs/PROTOCOL.md ("HTTP fallback").
import http from 'node:http';

/** `[kind][length u32 BE][payload]`: one frame of the downstream stream. */
export function streamFrame(kind, payload) {
  const frame = new Uint8Array(5 + payload.length);
  frame[0] = kind;
  new DataView(frame.buffer).setUint32(1, payload.length);
  frame.set(payload, 5);
  return frame;
}

/** A kind 2 frame: the u16 BE code and the UTF-8 reason. */
export function closeFrame(code, reason = '') {
  const text = new TextEncoder().encode(reason);
  const payload = new Uint8Array(2 + text.length);
  new DataView(payload.buffer).setUint16(0, code);
  payload.set(text, 2);
  return streamFrame(2, payload);
}

/** Splits a `POST /http/send` body into its messages (`[length u32 BE][payload]…`); null if malformed. */
export function splitBatch(body) {
  const messages = [];
  let at = 0;
  while (at < body.length) {
    if (body.length - at < 4) return null;
    const length = new DataView(body.buffer, body.byteOffset + at).getUint32(0);
    if (body.length - at - 4 < length) return null;
    messages.push(body.slice(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return messages;
}

async function bodyOf(request) {
  const chunks = [];
  for await (const chunk of request) chunks.push(chunk);
  return new Uint8Array(Buffer.concat(chunks));
}

/**
 * Starts the fake. `refuse(request)` may return `{status, body}` to refuse a connect;
 * `sendStatus(n)` the status of the nth send (204 by default); with `holdSends`, each send
 * is answered only when the test calls `releaseSend()`.
 */
export async function startFakeFallback({ refuse = () => null, sendStatus = () => 204, holdSends = false } = {}) {
  const connects = [];
  const sends = [];
  const streams = [];
  const held = [];
  const waiting = [];
  let sessions = 0;
  const server = http.createServer(async (request, response) => {
    const url = new URL(request.url, 'http://fake');
    if (request.method === 'POST' && url.pathname.endsWith('/http/connect')) {
      connects.push({ url: request.url, headers: request.headers });
      const refusal = refuse(request);
      if (refusal) {
        response.writeHead(refusal.status, { 'content-type': 'text/plain' }).end(refusal.body ?? '');
        return;
      }
      sessions += 1;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ session: `s${sessions}` }));
      return;
    }
    if (request.method === 'GET' && url.pathname.endsWith('/http/stream')) {
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'no-store' });
      response.flushHeaders();
      let abortedBy;
      const aborted = new Promise((done) => (abortedBy = done));
      response.on('close', () => abortedBy(!response.writableEnded));
      const stream = {
        session: url.searchParams.get('session'),
        headers: request.headers,
        /** Resolves with true when the client went away before the stream ended. */
        aborted,
        raw: (bytes) => response.write(bytes),
        message: (bytes) => response.write(streamFrame(1, bytes)),
        close: (code, reason) => response.end(closeFrame(code, reason)),
        end: () => response.end(),
        destroy: () => response.destroy(),
      };
      streams.push(stream);
      for (const wait of waiting.filter((wait) => wait.index === streams.length - 1)) wait.done(stream);
      return;
    }
    if (request.method === 'POST' && url.pathname.endsWith('/http/send')) {
      const body = await bodyOf(request);
      const sent = { session: url.searchParams.get('session'), headers: request.headers, messages: splitBatch(body), at: Date.now() };
      sends.push(sent);
      const answer = () => response.writeHead(sendStatus(sends.length), { 'content-type': 'text/plain' }).end(sendStatus(sends.length) === 204 ? undefined : 'refused');
      if (holdSends) held.push(answer);
      else answer();
      return;
    }
    response.writeHead(404).end('no such endpoint');
  });
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address();
  return {
    base: `http://127.0.0.1:${port}`,
    ws: `ws://127.0.0.1:${port}/ws`,
    connects,
    sends,
    streams,
    /** The `index`th stream (from 0), once it is attached. */
    stream: (index) => (streams[index] ? Promise.resolve(streams[index]) : new Promise((done) => waiting.push({ index, done }))),
    /** Answers the oldest held send. */
    releaseSend: () => held.shift()?.(),
    get heldSends() {
      return held.length;
    },
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(done);
      }),
  };
}
