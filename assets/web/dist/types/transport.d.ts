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
/** Stream frame kind: one server message. */
export declare const STREAM_MESSAGE = 1;
/** Stream frame kind: the close (code and reason), the last frame. */
export declare const STREAM_CLOSE = 2;
/** A stream frame's header: the kind (u8) and the payload's length (u32 big-endian). */
export declare const STREAM_HEADER_BYTES = 5;
/**
 * Longest stream frame payload the reader takes (16 MiB, tungstenite's default largest
 * WebSocket frame): a length field beyond it is garbage, not a reason to allocate.
 */
export declare const MAX_STREAM_FRAME_BYTES: number;
/** Longest close payload: a u16 code and 123 bytes of reason, as a WebSocket close frame. */
export declare const MAX_CLOSE_FRAME_BYTES = 125;
/** Largest `POST /http/send` body the server takes (it answers 413 beyond). */
export declare const MAX_SEND_BODY_BYTES: number;
/** How long a connection may take to get its session and stream (`openTimeoutMs`), by default. */
export declare const HTTP_OPEN_TIMEOUT_MS = 10000;
/** One frame of the downstream stream. */
export type StreamFrame = {
    readonly kind: 'message';
    readonly payload: Uint8Array;
} | {
    readonly kind: 'close';
    readonly code: number;
    readonly reason: string;
};
/**
 * Splits the downstream byte stream into {@link StreamFrame}s, whatever the chunking: a
 * header or a payload may straddle any number of chunks. Frames that lie within one chunk
 * are views into it (no copy); others are assembled in a buffer of exactly their size.
 * Garbage (an unknown kind, a length beyond {@link MAX_STREAM_FRAME_BYTES}, a malformed
 * close) throws a {@link DecodeError}, never more than the header's worth of allocation.
 * Bytes after the close frame are ignored: the session is over.
 */
export declare class StreamFrameReader {
    private readonly header;
    private headerFill;
    private kind;
    private payload;
    private payloadFill;
    private closed;
    /** Whether the stream so far ends inside a frame (a cut stream, if it ends here). */
    get midFrame(): boolean;
    /** Whether the close frame was read. */
    get sawClose(): boolean;
    /** Reads `chunk`; returns the frames it completes, in order. Throws a {@link DecodeError} on garbage. */
    push(chunk: Uint8Array): StreamFrame[];
    private frame;
}
/**
 * The URL of a fallback endpoint for a WebSocket URL: `ws(s)://` becomes `http(s)://`
 * (`http(s)://` stays), a final `/ws` path segment is replaced by `/http/<endpoint>` (any
 * path prefix before it is kept, for a server behind a reverse proxy), and the query is
 * kept only for `connect` (the stream and the send name their session instead). Throws a
 * `TypeError` for anything else.
 */
export declare function fallbackUrl(wsUrl: string, endpoint: 'connect' | 'stream' | 'send'): string;
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
export declare class HttpSocket {
    static readonly CONNECTING = 0;
    static readonly OPEN = 1;
    static readonly CLOSING = 2;
    static readonly CLOSED = 3;
    /** Messages are delivered as `ArrayBuffer`s whatever this says (the client sets `arraybuffer`). */
    binaryType: string;
    onopen: SocketEventHandler<unknown>;
    /** `data` is an `ArrayBuffer`. */
    onmessage: SocketEventHandler<{
        data: unknown;
    }>;
    onclose: SocketEventHandler<{
        code: number;
        reason: string;
        wasClean?: boolean;
    }>;
    onerror: SocketEventHandler<unknown>;
    /** The WebSocket URL it was made with. */
    readonly url: string;
    /** The session id, once `POST /http/connect` gave one. */
    session: string | null;
    /** The HTTP status of a refused connect or stream (0: none, or no answer at all). */
    status: number;
    /** Requests made to `/http/send` (for figures: batching shows as fewer requests than messages). */
    sendRequests: number;
    private state;
    private readonly fetch;
    private readonly authorization;
    private readonly abort;
    private readonly queue;
    private sending;
    private flushQueued;
    private sendFailed;
    private readonly timers;
    constructor(url: string, protocols?: string | string[], options?: HttpSocketOptions);
    /** 0 connecting, 1 open, 2 closing, 3 closed, as a WebSocket's. */
    get readyState(): number;
    /**
     * Queues one client message (copied) and sends it at once if no request is in flight.
     * Throws before the socket is open, as a WebSocket does; after it closed, drops it.
     */
    send(data: Uint8Array): void;
    /**
     * Closes the session: the stream is cancelled, which the server takes for the end of
     * the session (as a WebSocket's close), and a close event follows with `code` (1005
     * when none) and `reason`.
     */
    close(code?: number, reason?: string): void;
    private run;
    private read;
    /** A connect or stream answered something other than 2xx: the reason is the body's text. */
    private refused;
    private endpoint;
    /** Sends what is queued in one request (up to the body limit), if none is in flight. */
    private flush;
    /**
     * A send was refused or failed: nothing more is sent (later messages would arrive out
     * of order). The server closes a session it refuses input from, and its close frame on
     * the stream says why; if none comes soon, the socket fails with 1006.
     */
    private sendRefused;
    /** The stream's close frame: a clean close with the server's code and reason. */
    private ended;
    /** Fails the connection as a WebSocket does: an error event, then a close with `code` (1006 by default). */
    private fail;
    /** Cancels every request (the server ends the session when its stream goes) and timer. */
    private stop;
    private later;
    /**
     * Calls a handler the way a WebSocket's event dispatch does: what it throws is reported
     * (rethrown in a microtask: the page's error handlers, Node's uncaught exception) and
     * does not break the transport's own bookkeeping.
     */
    private dispatch;
}
/**
 * An {@link HttpSocket} class with `options` bound, for the client's `HttpSocket` option
 * (made as `new Factory(url, protocols)`, like a WebSocket): a `fetch` of your own, say.
 */
export declare function httpSocketFactory(options: HttpSocketOptions): new (url: string, protocols?: string | string[]) => HttpSocket;
export {};
