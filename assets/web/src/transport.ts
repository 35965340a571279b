/**
 * The HTTP fallback transport, for networks whose proxies or firewalls block WebSocket
 * upgrades (or cut upgraded connections): {@link HttpSocket} carries the same binary
 * messages as the WebSocket, over plain requests on the same origin, behind the
 * WebSocket's own surface (`binaryType`, `readyState`, `onopen`/`onmessage`/`onclose`/
 * `onerror`, `send`, `close`), so that the client has one code path for both.
 *
 * The wire (docs/PROTOCOL.md, "HTTP fallback"):
 *
 * 1. `POST /http/connect` with the query of `GET /ws` (`seat=`, `room=`, `token=`) and,
 *    when there is a player token, `Authorization: Bearer <jwt>` → `200 {"session": id}`,
 *    or the refusal `/ws` would answer (401/403/404/503 with the reason as text).
 * 2. `GET /http/stream?session=id` → a streamed `application/octet-stream` body of frames
 *    `[kind: u8][length: u32 BE][payload]`: kind 1 one server message (the bytes of one
 *    WebSocket binary frame), kind 2 the close (`u16 BE` code, UTF-8 reason), the last
 *    frame. When the stream ends the session is over.
 * 3. `POST /http/send?session=id` with client messages as `[length: u32 BE][payload]…`
 *    → 204.
 *
 * Upstream, a message is sent at once when no `POST` is in flight; what is sent while one
 * is in flight waits for it and goes in the next one: one request per message when the
 * network is fast, natural batches when it is slow, and always in order.
 *
 * ```ts
 * const socket = new HttpSocket('ws://localhost:7777/ws', ['tickcast', 'token.' + jwt]);
 * socket.onmessage = (event) => console.log(new Uint8Array(event.data as ArrayBuffer));
 * ```
 */

import { DecodeError } from './errors.js';

/** Stream frame kind: one server message. */
export const STREAM_MESSAGE = 1;
/** Stream frame kind: the close (code and reason), the last frame. */
export const STREAM_CLOSE = 2;
/** A stream frame's header: the kind (u8) and the payload's length (u32 big-endian). */
export const STREAM_HEADER_BYTES = 5;
/**
 * Longest stream frame payload the reader takes (16 MiB, tungstenite's default largest
 * WebSocket frame): a length field beyond it is garbage, not a reason to allocate.
 */
export const MAX_STREAM_FRAME_BYTES = 16 * 1024 * 1024;
/** Longest close payload: a u16 code and 123 bytes of reason, as a WebSocket close frame. */
export const MAX_CLOSE_FRAME_BYTES = 125;
/** Largest `POST /http/send` body the server takes (it answers 413 beyond). */
export const MAX_SEND_BODY_BYTES = 64 * 1024;
/** A client message's length prefix in a `POST /http/send` body. */
const SEND_PREFIX_BYTES = 4;
/** How long a connection may take to get its session and stream (`openTimeoutMs`), by default. */
export const HTTP_OPEN_TIMEOUT_MS = 10_000;
/**
 * After a refused `POST /http/send`, how long the socket waits for the stream's close
 * frame (which says why, with the server's code) before it fails with 1006.
 */
const SEND_FAILURE_GRACE_MS = 1000;

/** One frame of the downstream stream. */
export type StreamFrame =
  | { readonly kind: 'message'; readonly payload: Uint8Array }
  | { readonly kind: 'close'; readonly code: number; readonly reason: string };

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Splits the downstream byte stream into {@link StreamFrame}s, whatever the chunking: a
 * header or a payload may straddle any number of chunks. Frames that lie within one chunk
 * are views into it (no copy); others are assembled in a buffer of exactly their size.
 * Garbage (an unknown kind, a length beyond {@link MAX_STREAM_FRAME_BYTES}, a malformed
 * close) throws a {@link DecodeError}, never more than the header's worth of allocation.
 * Bytes after the close frame are ignored: the session is over.
 */
export class StreamFrameReader {
  private readonly header = new Uint8Array(STREAM_HEADER_BYTES);
  private headerFill = 0;
  private kind = 0;
  private payload: Uint8Array | null = null;
  private payloadFill = 0;
  private closed = false;

  /** Whether the stream so far ends inside a frame (a cut stream, if it ends here). */
  get midFrame(): boolean {
    return !this.closed && (this.headerFill > 0 || this.payload !== null);
  }

  /** Whether the close frame was read. */
  get sawClose(): boolean {
    return this.closed;
  }

  /** Reads `chunk`; returns the frames it completes, in order. Throws a {@link DecodeError} on garbage. */
  push(chunk: Uint8Array): StreamFrame[] {
    const frames: StreamFrame[] = [];
    let at = 0;
    while (at < chunk.length && !this.closed) {
      if (this.payload === null) {
        let length: number;
        if (this.headerFill === 0 && chunk.length - at >= STREAM_HEADER_BYTES) {
          this.kind = chunk[at]!;
          length = readU32(chunk, at + 1);
          at += STREAM_HEADER_BYTES;
        } else {
          const take = Math.min(STREAM_HEADER_BYTES - this.headerFill, chunk.length - at);
          this.header.set(chunk.subarray(at, at + take), this.headerFill);
          this.headerFill += take;
          at += take;
          if (this.headerFill < STREAM_HEADER_BYTES) break;
          this.headerFill = 0;
          this.kind = this.header[0]!;
          length = readU32(this.header, 1);
        }
        checkHeader(this.kind, length);
        if (chunk.length - at >= length) {
          // The whole payload is in this chunk: a view, no copy.
          frames.push(this.frame(chunk.subarray(at, at + length)));
          at += length;
          continue;
        }
        this.payload = new Uint8Array(length);
        this.payloadFill = 0;
      }
      const payload = this.payload;
      const take = Math.min(payload.length - this.payloadFill, chunk.length - at);
      payload.set(chunk.subarray(at, at + take), this.payloadFill);
      this.payloadFill += take;
      at += take;
      if (this.payloadFill === payload.length) {
        this.payload = null;
        frames.push(this.frame(payload));
      }
    }
    return frames;
  }

  private frame(payload: Uint8Array): StreamFrame {
    if (this.kind === STREAM_MESSAGE) {
      return { kind: 'message', payload };
    }
    this.closed = true;
    return decodeClose(payload);
  }
}

function readU32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

function checkHeader(kind: number, length: number): void {
  if (kind !== STREAM_MESSAGE && kind !== STREAM_CLOSE) {
    throw new DecodeError('malformed', `unknown stream frame kind ${kind}`);
  }
  const limit = kind === STREAM_CLOSE ? MAX_CLOSE_FRAME_BYTES : MAX_STREAM_FRAME_BYTES;
  if (length > limit) {
    throw new DecodeError('overlong', `a stream frame of kind ${kind} claims ${length} bytes (at most ${limit})`);
  }
}

/** A close payload: empty (no code: 1005, as a WebSocket reports it) or a u16 code and a UTF-8 reason. */
function decodeClose(payload: Uint8Array): StreamFrame {
  if (payload.length === 0) {
    return { kind: 'close', code: 1005, reason: '' };
  }
  if (payload.length === 1) {
    throw new DecodeError('truncated', 'a close frame with one byte of code');
  }
  let reason: string;
  try {
    reason = strictUtf8.decode(payload.subarray(2));
  } catch {
    throw new DecodeError('malformed', 'a close reason that is not UTF-8');
  }
  return { kind: 'close', code: (payload[0]! << 8) | payload[1]!, reason };
}

/**
 * The URL of a fallback endpoint for a WebSocket URL: `ws(s)://` becomes `http(s)://`
 * (`http(s)://` stays), a final `/ws` path segment is replaced by `/http/<endpoint>` (any
 * path prefix before it is kept, for a server behind a reverse proxy), and the query is
 * kept only for `connect` (the stream and the send name their session instead). Throws a
 * `TypeError` for anything else.
 */
export function fallbackUrl(wsUrl: string, endpoint: 'connect' | 'stream' | 'send'): string {
  const url = new URL(wsUrl);
  const scheme = { 'ws:': 'http:', 'wss:': 'https:', 'http:': 'http:', 'https:': 'https:' }[url.protocol];
  if (scheme === undefined) {
    throw new TypeError(`not a ws(s) or http(s) URL: ${wsUrl}`);
  }
  // (Setting `protocol` across special schemes is allowed: ws and http are both special.)
  url.protocol = scheme;
  url.pathname = `${url.pathname.replace(/\/ws\/?$/, '').replace(/\/$/, '')}/http/${endpoint}`;
  if (endpoint !== 'connect') url.search = '';
  url.hash = '';
  return url.toString();
}

/** The `fetch` the HTTP transport uses (the global one by default). */
export type StreamingFetch = (input: string, init: RequestInit) => Promise<Response>;

/** Options of {@link HttpSocket}. */
export interface HttpSocketOptions {
  /** The `fetch` to use (default: the global one; it must stream response bodies). */
  readonly fetch?: StreamingFetch;
  /** Give up (close 1006) when the session and its stream are not there within this long (default 10 s). */
  readonly openTimeoutMs?: number;
}

type SocketEventHandler<E> = ((event: E) => void) | null;

/**
 * A tickcast connection over the HTTP fallback, shaped like a browser `WebSocket`: made
 * with the `/ws` URL (`ws(s)://host/ws?seat=…`) and the subprotocols a WebSocket would be
 * offered (a `token.<jwt>` one becomes `Authorization: Bearer <jwt>`), it opens once it
 * holds a session and its stream, delivers each server message as an `ArrayBuffer`, and
 * closes with the stream's close frame (code and reason), or with 1006 when the stream
 * fails, ends without one, or carries garbage, or when the connect is refused (`status`
 * then holds the HTTP status and the reason reads `401 a token is required`).
 */
export class HttpSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;

  /** Messages are delivered as `ArrayBuffer`s whatever this says (the client sets `arraybuffer`). */
  binaryType = 'arraybuffer';
  onopen: SocketEventHandler<unknown> = null;
  /** `data` is an `ArrayBuffer`. */
  onmessage: SocketEventHandler<{ data: unknown }> = null;
  onclose: SocketEventHandler<{ code: number; reason: string; wasClean?: boolean }> = null;
  onerror: SocketEventHandler<unknown> = null;
  /** The WebSocket URL it was made with. */
  readonly url: string;
  /** The session id, once `POST /http/connect` gave one. */
  session: string | null = null;
  /** The HTTP status of a refused connect or stream (0: none, or no answer at all). */
  status = 0;
  /** Requests made to `/http/send` (for figures: batching shows as fewer requests than messages). */
  sendRequests = 0;

  private state = HttpSocket.CONNECTING;
  private readonly fetch: StreamingFetch;
  private readonly authorization: string | null;
  private readonly abort = new AbortController();
  private readonly queue: Uint8Array[] = [];
  private sending = false;
  private flushQueued = false;
  private sendFailed = false;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(url: string, protocols?: string | string[], options: HttpSocketOptions = {}) {
    const fetch = options.fetch ?? (globalThis as { fetch?: StreamingFetch }).fetch?.bind(globalThis);
    if (fetch === undefined) {
      throw new TypeError('no fetch implementation for the HTTP transport');
    }
    this.fetch = fetch;
    this.url = url;
    // Throws now for a URL that is none, as the WebSocket constructor does.
    const connectUrl = fallbackUrl(url, 'connect');
    const offered = protocols === undefined ? [] : typeof protocols === 'string' ? [protocols] : protocols;
    const token = offered.find((protocol) => protocol.startsWith('token.'))?.slice('token.'.length);
    // fetch can set headers, unlike a WebSocket: the token stays out of the URL (and the logs).
    this.authorization = token === undefined ? null : `Bearer ${token}`;
    const timeout = options.openTimeoutMs ?? HTTP_OPEN_TIMEOUT_MS;
    if (timeout > 0 && Number.isFinite(timeout)) {
      this.later(timeout, () => {
        if (this.state === HttpSocket.CONNECTING) this.fail(`no session within ${timeout} ms`);
      });
    }
    void this.run(connectUrl);
  }

  /** 0 connecting, 1 open, 2 closing, 3 closed, as a WebSocket's. */
  get readyState(): number {
    return this.state;
  }

  /**
   * Queues one client message (copied) and sends it at once if no request is in flight.
   * Throws before the socket is open, as a WebSocket does; after it closed, drops it.
   */
  send(data: Uint8Array): void {
    if (this.state === HttpSocket.CONNECTING) {
      throw new Error('the HTTP transport is not open yet');
    }
    if (this.state !== HttpSocket.OPEN || this.sendFailed) {
      return;
    }
    if (data.length + SEND_PREFIX_BYTES > MAX_SEND_BODY_BYTES) {
      // The server would answer 413; a WebSocket server closes with 1009 for the same.
      this.fail(`a message of ${data.length} bytes is too big for one request`, 1009);
      return;
    }
    this.queue.push(data.slice());
    if (!this.sending && !this.flushQueued) {
      // After the current task: messages sent together (a Hello and an input, inputs
      // made up after a late timer) share one request, at no cost in latency.
      this.flushQueued = true;
      queueMicrotask(() => {
        this.flushQueued = false;
        this.flush();
      });
    }
  }

  /**
   * Closes the session: the stream is cancelled, which the server takes for the end of
   * the session (as a WebSocket's close), and a close event follows with `code` (1005
   * when none) and `reason`.
   */
  close(code?: number, reason?: string): void {
    if (this.state === HttpSocket.CLOSING || this.state === HttpSocket.CLOSED) {
      return;
    }
    this.state = HttpSocket.CLOSING;
    this.stop();
    queueMicrotask(() => {
      this.state = HttpSocket.CLOSED;
      this.dispatch(this.onclose, { code: code ?? 1005, reason: reason ?? '', wasClean: true });
    });
  }

  private async run(connectUrl: string): Promise<void> {
    try {
      const headers: Record<string, string> = {};
      if (this.authorization !== null) headers['Authorization'] = this.authorization;
      const connected = await this.fetch(connectUrl, { method: 'POST', headers, cache: 'no-store', signal: this.abort.signal });
      if (!connected.ok) {
        await this.refused(connected);
        return;
      }
      const session = sessionOf(await connected.text());
      if (session === null) {
        this.fail('the connect answer names no session');
        return;
      }
      this.session = session;
      // The stream presents the token too (the server checks it is the same player's);
      // the sends do not: the session id and the address are enough, and a JWT on every
      // input would cost more than the input.
      const stream = await this.fetch(this.endpoint('stream'), { method: 'GET', headers, cache: 'no-store', signal: this.abort.signal });
      if (!stream.ok || stream.body === null) {
        await this.refused(stream);
        return;
      }
      if (this.state !== HttpSocket.CONNECTING) {
        return;
      }
      this.state = HttpSocket.OPEN;
      this.dispatch(this.onopen, {});
      await this.read(stream.body.getReader());
    } catch (error) {
      // A network failure, or the abort of close(): only the former is news.
      this.fail(`the HTTP transport failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private async read(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    const frames = new StreamFrameReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      let complete: StreamFrame[];
      try {
        complete = frames.push(value);
      } catch (error) {
        this.fail(`a malformed stream: ${(error as Error).message}`);
        return;
      }
      for (const frame of complete) {
        if (this.state !== HttpSocket.OPEN) return;
        if (frame.kind === 'message') {
          this.dispatch(this.onmessage, { data: ownBuffer(frame.payload) });
        } else {
          this.ended(frame.code, frame.reason);
          return;
        }
      }
    }
    this.fail(frames.midFrame ? 'the stream ended inside a frame' : 'the stream ended without a close');
  }

  /** A connect or stream answered something other than 2xx: the reason is the body's text. */
  private async refused(response: Response): Promise<void> {
    this.status = response.status;
    const text = await response.text().catch(() => '');
    this.fail(`${response.status} ${text.trim()}`.trim());
  }

  private endpoint(name: 'stream' | 'send'): string {
    return `${fallbackUrl(this.url, name)}?session=${encodeURIComponent(this.session!)}`;
  }

  /** Sends what is queued in one request (up to the body limit), if none is in flight. */
  private flush(): void {
    if (this.sending || this.state !== HttpSocket.OPEN || this.sendFailed || this.queue.length === 0) {
      return;
    }
    let size = 0;
    let count = 0;
    while (count < this.queue.length && size + SEND_PREFIX_BYTES + this.queue[count]!.length <= MAX_SEND_BODY_BYTES) {
      size += SEND_PREFIX_BYTES + this.queue[count]!.length;
      count += 1;
    }
    const body = new Uint8Array(size);
    const view = new DataView(body.buffer);
    let at = 0;
    for (const message of this.queue.splice(0, count)) {
      view.setUint32(at, message.length);
      body.set(message, at + SEND_PREFIX_BYTES);
      at += SEND_PREFIX_BYTES + message.length;
    }
    this.sending = true;
    this.sendRequests += 1;
    this.fetch(this.endpoint('send'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream' },
      body,
      cache: 'no-store',
      signal: this.abort.signal,
    }).then(
      async (response) => {
        this.sending = false;
        if (response.ok) {
          this.flush();
        } else {
          const text = await response.text().catch(() => '');
          this.sendRefused(`${response.status} ${text.trim()}`.trim());
        }
      },
      (error: unknown) => {
        this.sending = false;
        this.sendRefused(error instanceof Error ? error.message : String(error));
      },
    );
  }

  /**
   * A send was refused or failed: nothing more is sent (later messages would arrive out
   * of order). The server closes a session it refuses input from, and its close frame on
   * the stream says why; if none comes soon, the socket fails with 1006.
   */
  private sendRefused(why: string): void {
    if (this.state !== HttpSocket.OPEN) return;
    this.sendFailed = true;
    this.queue.length = 0;
    this.later(SEND_FAILURE_GRACE_MS, () => this.fail(`POST /http/send failed: ${why}`));
  }

  /** The stream's close frame: a clean close with the server's code and reason. */
  private ended(code: number, reason: string): void {
    this.state = HttpSocket.CLOSED;
    this.stop();
    this.dispatch(this.onclose, { code, reason, wasClean: true });
  }

  /** Fails the connection as a WebSocket does: an error event, then a close with `code` (1006 by default). */
  private fail(reason: string, code = 1006): void {
    if (this.state === HttpSocket.CLOSING || this.state === HttpSocket.CLOSED) {
      return;
    }
    this.state = HttpSocket.CLOSED;
    this.stop();
    this.dispatch(this.onerror, {});
    this.dispatch(this.onclose, { code, reason, wasClean: false });
  }

  /** Cancels every request (the server ends the session when its stream goes) and timer. */
  private stop(): void {
    this.queue.length = 0;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.abort.abort();
  }

  private later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, ms);
    this.timers.add(timer);
  }

  /**
   * Calls a handler the way a WebSocket's event dispatch does: what it throws is reported
   * (rethrown in a microtask: the page's error handlers, Node's uncaught exception) and
   * does not break the transport's own bookkeeping.
   */
  private dispatch<E>(handler: SocketEventHandler<E>, event: E): void {
    if (handler === null) return;
    try {
      handler.call(this, event);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}

/** The `session` of a connect answer (`{"session": "<id>"}`), or null. */
function sessionOf(text: string): string | null {
  try {
    const answer: unknown = JSON.parse(text);
    const session = (answer as { session?: unknown } | null)?.session;
    return typeof session === 'string' && session !== '' ? session : null;
  } catch {
    return null;
  }
}

/** The bytes as an ArrayBuffer of their own (the view itself when it spans its whole buffer). */
function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) {
    return bytes.buffer;
  }
  return bytes.slice().buffer;
}

/**
 * An {@link HttpSocket} class with `options` bound, for the client's `HttpSocket` option
 * (made as `new Factory(url, protocols)`, like a WebSocket): a `fetch` of your own, say.
 */
export function httpSocketFactory(options: HttpSocketOptions): new (url: string, protocols?: string | string[]) => HttpSocket {
  return class extends HttpSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, options);
    }
  };
}
