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
    readonly headers: {
        get(name: string): string | null;
    };
    text(): Promise<string>;
}
/** The part of `fetch` {@link matchmake} uses (the global one by default; a fake in tests). */
export type FetchLike = (url: string, init: {
    method: string;
    headers: Record<string, string>;
    body: string;
    signal?: AbortSignal;
}) => Promise<FetchResponseLike>;
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
export declare class MatchmakeError extends Error {
    /** The HTTP status; 0 when no answer came. */
    readonly status: number;
    /** The server's lowercase reason (its JSON `error`), or what went wrong. */
    readonly reason: string;
    /** From `Retry-After` (a 503's), in ms; null without one. */
    readonly retryAfterMs: number | null;
    readonly name = "MatchmakeError";
    constructor(
    /** The HTTP status; 0 when no answer came. */
    status: number, 
    /** The server's lowercase reason (its JSON `error`), or what went wrong. */
    reason: string, 
    /** From `Retry-After` (a 503's), in ms; null without one. */
    retryAfterMs?: number | null);
    /**
     * Whether asking again may get a seat. A 4xx says the request itself is wrong (a
     * malformed body, a token for another room, an unknown kind or room), and it will be
     * the same next time, except 401 (a fresh token may pass), 408 and 429 (asked too
     * slowly or too often) and 409 (a full room frees up). No answer, a 5xx, or a 2xx that
     * was no seat may all pass later.
     */
    get retryable(): boolean;
}
/** How long {@link matchmake} waits for an answer by default. */
export declare const MATCHMAKE_TIMEOUT_MS = 10000;
/**
 * The `POST /matchmake` URL of a node: `baseUrl` is where the node serves HTTP,
 * `http(s)://host:port`, with a path prefix if the node sits behind one (a `ws(s)://`
 * base is taken for its `http(s)://` twin). The base's query is kept (a `?token=`, say).
 * Throws a `TypeError` for a URL that is not absolute http(s) or ws(s).
 */
export declare function matchmakeUrl(baseUrl: string): string;
/**
 * `url` with `key=value` appended to its query: after `?` if it has none yet, after `&`
 * otherwise (a `ws_url` may already carry, say, a `token=`). The rest of the URL is kept
 * byte for byte: rebuilding it through `URLSearchParams` would re-encode what is there.
 */
export declare function withQuery(url: string, key: string, value: string): string;
/** The URL that takes `seat`: its room's WebSocket URL with `seat=<token>`. */
export declare function seatUrl(seat: Seat): string;
/** The URL that goes back to a room to resume a session there: `ws_url` with `room=<id>`. */
export declare function roomUrl(wsUrl: string, roomId: string): string;
/**
 * Asks the node at `baseUrl` (see {@link matchmakeUrl}) for a seat. Resolves with the
 * {@link Seat}; rejects with a {@link MatchmakeError} when the node refuses (non-2xx),
 * does not answer, or answers 2xx with something that is not a seat (status kept, reason
 * `malformed answer: …`). A failing token function rejects with its own error.
 */
export declare function matchmake(baseUrl: string, options?: MatchmakeOptions): Promise<Seat>;
