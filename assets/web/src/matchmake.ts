/**
 * Matchmaking: `POST /matchmake` on a tickcast node, which places the player in a room
 * and answers with a **seat**: the room, the WebSocket URL of the node that hosts it
 * (maybe another node, `wss://` when that node has TLS) and a single-use seat token.
 *
 * ```ts
 * const seat = await matchmake('https://game.example', { kind: 'arena' });
 * // seat.wsUrl + '?seat=' + seat.seatToken, then the Hello as on any connection
 * ```
 *
 * {@link TickcastClient} does this itself with its `matchmake` option (or
 * `TickcastClient.matchmake`), and goes back to the room with `?room=` to resume after a
 * drop. A refusal is a {@link MatchmakeError} carrying the HTTP status and the server's
 * lowercase reason, so a page can tell "room full" (409) from "draining" (503).
 */

import type { TokenSource } from './client.js';

/** What to ask the matchmaker for. */
export interface MatchRequest {
  /** The room kind (a game, e.g. `arena`); omitted: the node's default game. */
  readonly kind?: string;
  /** One room by id, e.g. one a friend is in: 404 if the node has no such room, 409 if it is full. */
  readonly roomId?: string;
}

/** The part of a `fetch` response {@link matchmake} reads. */
export interface FetchResponseLike {
  readonly ok: boolean;
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}

/** The part of `fetch` {@link matchmake} uses (the global one by default; a fake in tests). */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string; signal?: AbortSignal },
) => Promise<FetchResponseLike>;

/** Options of {@link matchmake}. */
export interface MatchmakeOptions extends MatchRequest {
  /**
   * The player token (an HS256 JWT, docs/AUTH.md), or a function returning it or a
   * promise of it. Sent as `Authorization: Bearer <jwt>`; the seat is bound to it, and the
   * WebSocket with the seat needs no token of its own.
   */
  readonly token?: TokenSource;
  /** The `fetch` to use (default: the global one). */
  readonly fetch?: FetchLike;
  /** Give up on a node that has not answered in this long (default 10 s); 0: never. */
  readonly timeoutMs?: number;
}

/** A place in a room, from `POST /matchmake`. */
export interface Seat {
  /** The room, e.g. `arena-3`: reconnections go back to it with `?room=`. */
  readonly roomId: string;
  /** The room's kind (its game). */
  readonly kind: string;
  /** The WebSocket URL of the node that hosts the room, as the server gave it (it may carry a query). */
  readonly wsUrl: string;
  /** Single-use: the first WebSocket that shows it takes the seat. */
  readonly seatToken: string;
  /** How long the seat waits for its WebSocket, from when the server answered. */
  readonly expiresInMs: number;
}

/**
 * `POST /matchmake` answered something other than a seat. `status` is the HTTP status (0:
 * no answer at all: the network failed, or nothing came within `timeoutMs`), `reason` the
 * server's `{"error": …}` (or what went wrong, when there is no such body).
 *
 * | status | reason (examples) | meaning |
 * |---|---|---|
 * | 400 | malformed request | the body was not what the server takes |
 * | 401, 403 | missing or bad token, a token for another room | only on a server with an auth secret |
 * | 404 | unknown room kind, unknown room | no such kind, or no such room on the node |
 * | 409 | room full | the `roomId` asked for is full |
 * | 503 | draining, directory unreachable | try again after `retryAfterMs` |
 */
export class MatchmakeError extends Error {
  override readonly name = 'MatchmakeError';

  constructor(
    /** The HTTP status; 0 when no answer came. */
    readonly status: number,
    /** The server's lowercase reason (its JSON `error`), or what went wrong. */
    readonly reason: string,
    /** From `Retry-After` (a 503's), in ms; null without one. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(status === 0 ? `matchmaking failed: ${reason}` : `matchmaking refused (${status}): ${reason}`);
  }

  /**
   * Whether asking again may get a seat. A 4xx says the request itself is wrong (a
   * malformed body, a token for another room, an unknown kind or room), and it will be
   * the same next time, except 401 (a fresh token may pass), 408 and 429 (asked too
   * slowly or too often) and 409 (a full room frees up). No answer, a 5xx, or a 2xx that
   * was no seat may all pass later.
   */
  get retryable(): boolean {
    return this.status < 400 || this.status >= 500 || [401, 408, 409, 429].includes(this.status);
  }
}

/** How long {@link matchmake} waits for an answer by default. */
export const MATCHMAKE_TIMEOUT_MS = 10_000;

/**
 * The `POST /matchmake` URL of a node: `baseUrl` is where the node serves HTTP,
 * `http(s)://host:port`, with a path prefix if the node sits behind one (a `ws(s)://`
 * base is taken for its `http(s)://` twin). The base's query is kept (a `?token=`, say).
 * Throws a `TypeError` for a URL that is not absolute http(s) or ws(s).
 */
export function matchmakeUrl(baseUrl: string): string {
  const url = new URL(baseUrl);
  const scheme = { 'http:': 'http:', 'https:': 'https:', 'ws:': 'http:', 'wss:': 'https:' }[url.protocol];
  if (scheme === undefined) {
    throw new TypeError(`not an http(s) or ws(s) URL: ${baseUrl}`);
  }
  // `protocol` cannot be set across special schemes in every engine: rebuild instead.
  const path = url.pathname.replace(/\/+$/, '');
  return `${scheme}//${url.host}${path}/matchmake${url.search}`;
}

/**
 * `url` with `key=value` appended to its query: after `?` if it has none yet, after `&`
 * otherwise (a `ws_url` may already carry, say, a `token=`). The rest of the URL is kept
 * byte for byte: rebuilding it through `URLSearchParams` would re-encode what is there.
 */
export function withQuery(url: string, key: string, value: string): string {
  const hash = url.indexOf('#');
  const head = hash < 0 ? url : url.slice(0, hash);
  const tail = hash < 0 ? '' : url.slice(hash);
  const separator = !head.includes('?') ? '?' : head.endsWith('?') || head.endsWith('&') ? '' : '&';
  return `${head}${separator}${encodeURIComponent(key)}=${encodeURIComponent(value)}${tail}`;
}

/** The URL that takes `seat`: its room's WebSocket URL with `seat=<token>`. */
export function seatUrl(seat: Seat): string {
  return withQuery(seat.wsUrl, 'seat', seat.seatToken);
}

/** The URL that goes back to a room to resume a session there: `ws_url` with `room=<id>`. */
export function roomUrl(wsUrl: string, roomId: string): string {
  return withQuery(wsUrl, 'room', roomId);
}

/**
 * Asks the node at `baseUrl` (see {@link matchmakeUrl}) for a seat. Resolves with the
 * {@link Seat}; rejects with a {@link MatchmakeError} when the node refuses (non-2xx),
 * does not answer, or answers 2xx with something that is not a seat (status kept, reason
 * `malformed answer: …`). A failing token function rejects with its own error.
 */
export async function matchmake(baseUrl: string, options: MatchmakeOptions = {}): Promise<Seat> {
  const endpoint = matchmakeUrl(baseUrl);
  // Called as a plain function: the browser's fetch refuses to run as a method of
  // anything but the window.
  const fetchImpl = options.fetch ?? (globalThis as { fetch?: FetchLike }).fetch;
  if (fetchImpl === undefined) {
    throw new Error('no fetch implementation: pass options.fetch');
  }
  const body: Record<string, string> = {};
  if (options.kind !== undefined) body['kind'] = options.kind;
  if (options.roomId !== undefined) body['room_id'] = options.roomId;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const token = typeof options.token === 'function' ? await options.token() : options.token;
  if (token !== undefined) {
    if (typeof token !== 'string' || token === '') {
      throw new TypeError('the player token is not a non-empty string');
    }
    headers['authorization'] = `Bearer ${token}`;
  }

  const timeoutMs = options.timeoutMs ?? MATCHMAKE_TIMEOUT_MS;
  const abort = typeof AbortController === 'function' && timeoutMs > 0 ? new AbortController() : null;
  let timedOut = false;
  const timer =
    abort === null
      ? null
      : setTimeout(() => {
          timedOut = true;
          abort.abort();
        }, timeoutMs);
  let response: FetchResponseLike;
  let text: string;
  try {
    const init: Parameters<FetchLike>[1] = { method: 'POST', headers, body: JSON.stringify(body) };
    if (abort !== null) init.signal = abort.signal;
    response = await fetchImpl(endpoint, init);
    text = await response.text();
  } catch (error) {
    // fetch rejects (a TypeError) only when no HTTP answer came: refused, reset, DNS, CORS.
    const why = timedOut ? `no answer from ${endpoint} in ${timeoutMs} ms` : `no answer from ${endpoint}: ${describe(error)}`;
    throw new MatchmakeError(0, why);
  } finally {
    if (timer !== null) clearTimeout(timer);
  }

  if (!response.ok) {
    throw new MatchmakeError(response.status, refusalReason(response.status, text), retryAfterMs(response.headers.get('retry-after')));
  }
  return parseSeat(response.status, text, endpoint);
}

/** The `error` of a refusal's JSON body; failing that, its text, or the bare status. */
function refusalReason(status: number, text: string): string {
  try {
    const parsed: unknown = JSON.parse(text);
    if (isRecord(parsed) && typeof parsed['error'] === 'string') {
      return parsed['error'];
    }
  } catch {
    // Not JSON: a proxy's page, say.
  }
  const trimmed = text.trim();
  return trimmed === '' ? `http ${status}` : trimmed.slice(0, 200);
}

/** `Retry-After` in ms: delay-seconds, or an HTTP date. */
function retryAfterMs(header: string | null): number | null {
  if (header === null) return null;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

function parseSeat(status: number, text: string, endpoint: string): Seat {
  const malformed = (why: string) => new MatchmakeError(status, `malformed answer: ${why}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw malformed('not JSON');
  }
  if (!isRecord(parsed)) throw malformed('not an object');
  const { room_id: roomId, kind, ws_url: wsUrl, seat_token: seatToken, expires_in_ms: expiresInMs } = parsed;
  if (typeof roomId !== 'string' || roomId === '') throw malformed('no room_id');
  if (typeof kind !== 'string') throw malformed('no kind');
  if (typeof wsUrl !== 'string' || wsUrl === '') throw malformed('no ws_url');
  if (typeof seatToken !== 'string' || seatToken === '') throw malformed('no seat_token');
  if (typeof expiresInMs !== 'number' || !Number.isFinite(expiresInMs)) throw malformed('no expires_in_ms');
  return { roomId, kind, wsUrl: socketUrl(wsUrl, endpoint), seatToken, expiresInMs };
}

/**
 * An absolute `ws(s)://` URL kept as given; an `http(s)://` one turned into its twin; a
 * relative one resolved against the node that answered (with the ws scheme to match).
 */
function socketUrl(wsUrl: string, endpoint: string): string {
  if (/^wss?:\/\//i.test(wsUrl)) return wsUrl;
  if (/^https?:\/\//i.test(wsUrl)) return wsUrl.replace(/^http/i, 'ws');
  return new URL(wsUrl, endpoint).toString().replace(/^http/, 'ws');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    // undici puts the socket's error in `cause` ("fetch failed" says nothing).
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}
