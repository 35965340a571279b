/**
 * The connection: a WebSocket to a tickcast server, the Hello/Welcome handshake, the
 * snapshot mirror, input sending with sequence numbers, interpolation and prediction, and
 * reconnection.
 *
 * ```ts
 * const client = TickcastClient.connect('ws://localhost:7777/ws', { name: 'ann' });
 * client.on('welcome', (welcome) => console.log(welcome.schema.game));
 * client.startInputLoop(() => ({ move_x: 1, move_y: 0, aim: 0, buttons: 0 }));
 * ```
 *
 * Every snapshot is applied to the {@link Mirror} and, by default, its checksum verified.
 * A checksum mismatch or a body that does not fit the mirror is a divergence: the client
 * drops the connection and reconnects (with exponential backoff), since only a full
 * snapshot on a new connection brings it back in step. Dropped connections reconnect the
 * same way unless `reconnect: false`, and so do connections on which nothing arrives for
 * `deadAfterMs` (a server or network gone silent without closing).
 *
 * Reconnections resume the session: the Hello carries the resume token of the last
 * Welcome, and a server that still holds the player (within its grace period) gives it
 * back, with its position, health and score, and input acks that continue; the client
 * then goes on with its input `seq`. A Welcome naming another player is a fresh session.
 *
 * With `spectate`, the client joins as a spectator: its Welcome names no player, it sends
 * no inputs (`sendInput` and `startInputLoop` throw), predicts nothing, and every
 * connection, reconnections included, spectates afresh (a spectator has no session to
 * resume). Snapshots, checksums, interpolation and stats are the same as a player's.
 *
 * ```ts
 * const watcher = TickcastClient.connect('ws://localhost:7777/ws', { spectate: true });
 * ```
 *
 * With `matchmake`, the client joins through `POST /matchmake` instead of the node's
 * default room: `url` is then the node's HTTP base, the first socket takes the seat
 * (`ws_url?seat=…`), reconnections go back to the room (`ws_url?room=…`) and resume there,
 * and a resume the room refuses (or a room that is gone) matchmakes afresh.
 *
 * ```ts
 * const client = await TickcastClient.matchmake('http://localhost:7777', { kind: 'arena' });
 * console.log(client.roomId);
 * ```
 *
 * The transport is chosen by the client (`transport: 'auto'`, the default): a WebSocket
 * first, and the HTTP fallback ({@link HttpSocket}: a streamed response down, `POST`s up,
 * same messages) when the WebSocket cannot get through: it fails before it opens (the
 * connection goes over HTTP at once, with the same URL, seat and token, and no close
 * event) or it opens and is cut abnormally before its Welcome (the next connection goes
 * over HTTP), or it is cut soon after its Welcome (within `shortLivedWebSocketMs`) twice
 * in a row, as proxies that cut long-lived connections do (the next connection goes over
 * HTTP). Once HTTP has worked where the WebSocket did not, connections use it until
 * `probeWebSocketAfterMs` has passed, and the next one tries the WebSocket again.
 * `stats().fallbackReason` says why a connection is on HTTP.
 */
import type { HeldEntity } from './body.js';
import { Emitter } from './emitter.js';
import { Interpolator } from './interpolation.js';
import { type FetchLike, type MatchRequest, type Seat } from './matchmake.js';
import { type Applied, Mirror } from './mirror.js';
import { Predictor, type PredictionModel } from './prediction.js';
import { type Spectate, type Welcome } from './protocol.js';
import { type InputValues, SchemaDecoder, type WorldEntity } from './schema.js';
/** The WebSocket surface the client uses (the browser's, or a compatible one). */
export interface WebSocketLike {
    binaryType: string;
    readonly readyState: number;
    onopen: ((event: unknown) => void) | null;
    onmessage: ((event: {
        data: unknown;
    }) => void) | null;
    onclose: ((event: {
        code: number;
        reason: string;
    }) => void) | null;
    onerror: ((event: unknown) => void) | null;
    send(data: Uint8Array): void;
    close(code?: number, reason?: string): void;
}
/**
 * Something that makes {@link WebSocketLike}s. `protocols` (the subprotocols offered) is
 * passed only when the client has a player token.
 */
export type WebSocketFactory = new (url: string, protocols?: string | string[]) => WebSocketLike;
/**
 * A player token (an HS256 JWT minted by the game's backend), or a function that returns
 * one, or a promise of one, called before every connection (so a reconnection can fetch
 * a fresh token).
 */
export type TokenSource = string | (() => string | PromiseLike<string>);
/** Options of {@link TickcastClient}; `S` is the predicted player's state. */
export interface ClientOptions<S = unknown> {
    /** Display name sent in the Hello (the server keeps 32 bytes). */
    readonly name?: string;
    /** Verify every snapshot's checksum (default true). */
    readonly verifyChecksums?: boolean;
    /** How far behind the newest snapshot remote entities are drawn (default 100 ms). */
    readonly interpolationDelayMs?: number;
    /** Reconnect after a drop or a divergence (default true). */
    readonly reconnect?: boolean;
    /** First reconnection delay (default 250 ms); doubles per failed attempt. */
    readonly reconnectDelayMs?: number;
    /** Longest reconnection delay (default 10 s). */
    readonly maxReconnectDelayMs?: number;
    /** How long to wait for the Welcome after opening (default 10 s). */
    readonly welcomeTimeoutMs?: number;
    /**
     * After the Welcome, a connection on which nothing at all arrives for this long is
     * taken for dead: the client closes it and reconnects, resuming the session (default
     * 5000 ms; snapshots arrive at the snapshot rate; 0 turns the check off).
     */
    readonly deadAfterMs?: number;
    /**
     * The player token the server checks (see docs/AUTH.md), or a function returning it (or
     * a promise of it), called before every connection. It is offered as the subprotocol
     * `token.<jwt>` next to `tickcast`: `new WebSocket(url, ['tickcast', 'token.' + jwt])`.
     */
    readonly token?: TokenSource;
    /**
     * Join as a spectator, with no player: `true` watches the whole world (the room's
     * interest radius does not apply), `{x, y}` the room's area of interest around that
     * point (world units). A spectator sends no inputs (`sendInput` and `startInputLoop`
     * throw a {@link SpectatorInputError}), predicts nothing and never resumes: each
     * reconnection spectates afresh. Checked by the constructor (a `TypeError` or
     * `RangeError` if it is neither).
     */
    readonly spectate?: Spectate;
    /**
     * The game's prediction model for the local player, or a function that picks one from
     * the Welcome (null: do not predict). Unused when spectating.
     */
    readonly prediction?: PredictionModel<S> | ((welcome: Welcome) => PredictionModel<S> | null);
    /**
     * Join through matchmaking rather than the node's default room: `url` is then the
     * node's HTTP base (`http(s)://host:port`, see {@link matchmakeUrl}), `true` asks for the
     * default game, an object for a `kind` or a `roomId`. The token, if any, goes with the
     * `POST /matchmake` (the seat is bound to it) and with every reconnection to the room.
     * A refusal is a `close` event with code {@link CONNECT_FAILED_CLOSE_CODE} and the
     * {@link MatchmakeError} as its `error`. One that asking again cannot change (400, 403,
     * 404: see {@link MatchmakeError.retryable}) ends the client; anything else is tried
     * again with backoff, no sooner than a 503's `Retry-After`.
     */
    readonly matchmake?: boolean | ClientMatchmaking;
    /**
     * How to reach the server: `'websocket'` only, `'http'` only (the fallback: a streamed
     * response down, `POST`s up; see {@link HttpSocket}), or `'auto'` (the default): a
     * WebSocket, and the HTTP fallback when the WebSocket fails before it opens (at once,
     * in the same connection attempt), does not open within 5 s, opens and is cut
     * abnormally before its Welcome, or is cut within `shortLivedWebSocketMs` of its Welcome
     * twice in a row (from the next connection on). `stats().transport` says which one the
     * connection uses, and `stats().fallbackReason` why it is HTTP.
     */
    readonly transport?: ClientTransport;
    /**
     * With `transport: 'auto'`, after HTTP worked where the WebSocket did not, connections
     * go over HTTP for this long; the first one after it tries the WebSocket again
     * (default 60 s). A healthy HTTP connection is kept: the probe happens on a reconnection.
     */
    readonly probeWebSocketAfterMs?: number;
    /**
     * With `transport: 'auto'`, a WebSocket cut within this long of its Welcome is
     * short-lived (default 30 s; 0 turns the check off). Some proxies and carriers let the
     * upgrade through and then cut the connection after a fixed time or a few seconds they
     * take for idle, which would cost a resume and a full snapshot each time: after two
     * short-lived WebSockets in a row, the next connection goes over HTTP, as after an
     * early failure (and `probeWebSocketAfterMs` applies). A cut is an end without the
     * server's close frame: 1006, or the client's own close when nothing arrived for
     * `deadAfterMs` (a connection gone silent). A close the server sent (1001 a restart,
     * 1008, 4xxx) or a divergence does not count; a WebSocket that lives longer than this
     * starts the count over. The count is not reset by the switch: a probe after
     * `probeWebSocketAfterMs` that is cut as soon again goes back to HTTP at once.
     */
    readonly shortLivedWebSocketMs?: number;
    /** The WebSocket implementation (default: the global `WebSocket`). */
    readonly WebSocket?: WebSocketFactory;
    /**
     * The HTTP fallback's implementation (default: {@link HttpSocket} with the global
     * `fetch`; `httpSocketFactory({fetch})` binds another `fetch`).
     */
    readonly HttpSocket?: WebSocketFactory;
    /** The clock in milliseconds (default `performance.now`). */
    readonly now?: () => number;
}
/** Which transports the client may use: see {@link ClientOptions.transport}. */
export type ClientTransport = 'auto' | 'websocket' | 'http';
/** The `matchmake` option of {@link ClientOptions}: what to ask for, and how. */
export interface ClientMatchmaking extends MatchRequest {
    /** The `fetch` for `POST /matchmake` (default: the global one). */
    readonly fetch?: FetchLike;
    /**
     * A seat already obtained with {@link matchmake} (a lobby page's, say): the first
     * connection takes it instead of asking for one. Seats are single-use and expire
     * (`expiresInMs`): connect soon after getting it.
     */
    readonly seat?: Seat;
}
/** The room a matchmaking client was placed in (its last seat's). */
export interface MatchedRoom {
    readonly roomId: string;
    readonly kind: string;
    /** The WebSocket URL of the node hosting it, as the matchmaker gave it. */
    readonly wsUrl: string;
}
/** A snapshot was applied. */
export interface SnapshotEvent {
    readonly applied: Applied;
    /** Local time it arrived (ms, the client's clock). */
    readonly receivedAt: number;
    /** Its size on the wire in bytes. */
    readonly bytes: number;
}
/** The connection closed. */
export interface CloseEvent {
    readonly code: number;
    readonly reason: string;
    /** In how many ms the client reconnects, or null if it will not. */
    readonly reconnectInMs: number | null;
    /**
     * Why no connection could be made, when the client knows more than the code says: the
     * {@link MatchmakeError} of a refused matchmaking (code {@link CONNECT_FAILED_CLOSE_CODE}).
     */
    readonly error?: Error;
}
/** The mirror diverged from the server (checksum mismatch or a delta that did not fit). */
export interface DivergenceEvent {
    readonly reason: string;
    readonly error: Error;
    /** The mirror's tick when it happened, if any. */
    readonly tick: number | null;
}
/** Events of {@link TickcastClient}. */
export interface ClientEvents {
    welcome: Welcome;
    snapshot: SnapshotEvent;
    close: CloseEvent;
    divergence: DivergenceEvent;
}
/** Figures of the connection. */
export interface ClientStats {
    /** Welcomed and not closed. */
    readonly connected: boolean;
    /** The room of a matchmaking client (its last seat's); null for a plain client of `url`. */
    readonly roomId: string | null;
    /** The current (or last) connection's transport: a WebSocket, or the HTTP fallback. */
    readonly transport: 'websocket' | 'http';
    /**
     * With `transport: 'auto'`, why that connection is on HTTP (null on a WebSocket, and
     * with `transport: 'http'`): `'websocket-unavailable'` there is no WebSocket here (or
     * its constructor throws), `'websocket-failed'` a WebSocket failed before it opened (or
     * did not open within 5 s), `'cut-before-welcome'` one opened and was cut (or sent
     * nothing) before its Welcome, `'short-lived'` two in a row were cut within
     * `shortLivedWebSocketMs` of their Welcome. It stays while connections keep to HTTP
     * (`probeWebSocketAfterMs`).
     */
    readonly fallbackReason: 'websocket-unavailable' | 'websocket-failed' | 'cut-before-welcome' | 'short-lived' | null;
    /** Whether that connection is encrypted (`wss:` or `https:`). */
    readonly secure: boolean;
    /** Mean over the last second of input-to-ack round trips (null: none measured). */
    readonly rttMs: number | null;
    /**
     * Received and sent message payload over the last second, kbit/s (the messages' own
     * bytes, whatever the transport adds: frames, or HTTP requests and their headers).
     */
    readonly downKbps: number;
    readonly upKbps: number;
    /** Entities held. */
    readonly entities: number;
    /** Snapshots applied since the client was made. */
    readonly snapshots: number;
    /** Checksum mismatches since the client was made. */
    readonly mismatches: number;
    /** Divergences of any kind (mismatches and deltas that did not fit). */
    readonly divergences: number;
    /** Connections made after the first. */
    readonly reconnects: number;
    /** Reconnections that got the same player back (sessions resumed). */
    readonly resumes: number;
    /** Mean over the last second of |predicted - server| at reconciliation, world units (null: none). */
    readonly predictionError: number | null;
    /** The mirror's tick and the last acknowledged input. */
    readonly tick: number | null;
    readonly ack: number | null;
}
/** Thrown by `sendInput` and `startInputLoop` on a spectating client: spectators send no inputs. */
export declare class SpectatorInputError extends Error {
    constructor();
}
/** Our close code when the mirror diverged (application range). */
export declare const DIVERGENCE_CLOSE_CODE = 4000;
/** Our close code when the server broke the protocol. */
export declare const PROTOCOL_CLOSE_CODE = 4001;
/** Our close code when nothing arrived for `deadAfterMs`. */
export declare const SILENT_CLOSE_CODE = 4002;
/**
 * The code of the `close` event when no connection could be opened: the token function
 * failed or returned no token, the WebSocket constructor refused, or matchmaking failed
 * (the event's `error` is then the {@link MatchmakeError}). Never on the wire.
 */
export declare const CONNECT_FAILED_CLOSE_CODE = 4003;
/** A client of one tickcast room; `S` is the predicted player's state (see `prediction`). */
export declare class TickcastClient<S = unknown> extends Emitter<ClientEvents> {
    readonly url: string;
    readonly options: ClientOptions<S>;
    /** The client's copy of what the server sent. */
    readonly mirror: Mirror;
    private socket;
    private currentWelcome;
    /** The tick rate of the last Welcome (the predictor's). */
    private currentTickRate;
    private schemaDecoder;
    private interpolatorInstance;
    private predictorInstance;
    private seq;
    private sendTimes;
    private closedByUser;
    private attempts;
    private reconnectTimer;
    private welcomeTimer;
    private deadTimer;
    private errorTimer;
    private welcomedAt;
    private lastReceivedAt;
    private connections;
    /** Bumped by every connection attempt and by close(): a token or seat that arrives late for an old attempt is ignored. */
    private attempt;
    /** Waiting for a token function or for the matchmaker before the socket can open. */
    private preparing;
    /** What to ask the matchmaker for (`options.matchmake`); null: a plain client of `url`. */
    private readonly match;
    /** A seat the next connection takes (single-use: cleared as it is offered). */
    private pendingSeat;
    /** The room of the last seat: where reconnections resume. */
    private matchedRoom;
    /** `?room=` connections in a row that ended before a Welcome. */
    private roomFailures;
    /** How the current (or last) socket joined: the plain `url`, a seat, or back to its room. */
    private joinedBy;
    /** The URL of the current (or last) socket. */
    private socketUrl;
    /** The resume token of the last Welcome (null: none, or the session is over). */
    private resumeToken;
    /** The player of the last Welcome. */
    private lastPlayer;
    /** Whether this connection's Hello carried a resume token. */
    private offeredResume;
    private resumedSession;
    private resumes;
    /** The transport of the current (or last) socket. */
    private socketTransport;
    /** How the current (or last) socket was opened: for the HTTP fallback to open the same. */
    private lastOpen;
    /** Whether the current socket has opened. */
    private socketOpened;
    private openTimer;
    /** Auto: the WebSocket was cut before its Welcome, so the next connection goes over HTTP. */
    private httpNext;
    /** Auto: this HTTP connection stands in for a WebSocket that failed. */
    private fallingBack;
    /** Auto: when HTTP worked where the WebSocket did not; connections use it for a while. */
    private preferHttpSince;
    /**
     * Auto: WebSockets in a row cut within `shortLivedWebSocketMs` of their Welcome. Only a
     * WebSocket that lived longer resets it (HTTP connections in between do not).
     */
    private shortLivedCuts;
    /** Auto: why connections last went over HTTP (`stats().fallbackReason`). */
    private fallbackReason;
    private readonly now;
    private readonly down;
    private readonly up;
    private readonly rtt;
    private readonly predictionErrors;
    private snapshots;
    private mismatches;
    private divergences;
    constructor(url: string, options?: ClientOptions<S>);
    /** Makes a client and connects it. */
    static connect<S = unknown>(url: string, options?: ClientOptions<S>): TickcastClient<S>;
    /**
     * Matchmakes at the node whose HTTP base is `baseUrl` (`kind` or `roomId` as asked,
     * the default game otherwise) and connects with the seat. Resolves with the client as
     * soon as it holds the seat and its socket is opening (listen for `welcome`, as after
     * {@link TickcastClient.connect}); rejects with the {@link MatchmakeError} when this
     * first matchmaking is refused (an unknown kind, a full room, a draining node), so the
     * page can say so. Afterwards it is a client with the `matchmake` option: a drop
     * resumes in the same room, and a refused resume matchmakes again.
     */
    static matchmake<S = unknown>(baseUrl: string, options?: ClientOptions<S> & MatchRequest & {
        readonly fetch?: FetchLike;
    }): Promise<TickcastClient<S>>;
    /** The Welcome of the current connection, or null before it. */
    get welcome(): Welcome | null;
    /** Decodes quantized fields to world values with the server's schema (null before the Welcome). */
    get schema(): SchemaDecoder | null;
    /** The interpolation buffer of the current connection (null before the Welcome). */
    get interpolator(): Interpolator | null;
    /** The local player's predictor (null without a prediction model or before the Welcome). */
    get predictor(): Predictor<S> | null;
    /** Whether the client joins as a spectator (`options.spectate`): no player, no inputs. */
    get spectating(): boolean;
    /**
     * The room a matchmaking client was placed in: the last seat's, kept across
     * reconnections (which resume there) until a new seat replaces it. Null before the
     * first seat, and for a plain client of `url` (which joins whatever room the URL names:
     * the node's default room for `/ws`).
     */
    get roomId(): string | null;
    /** The room of the last seat with its kind and its node's WebSocket URL (see {@link roomId}). */
    get room(): MatchedRoom | null;
    /** Whether the client is welcomed on an open connection. */
    get connected(): boolean;
    /**
     * Whether the current connection resumed the previous one's session (its Welcome named
     * the same player): the player kept its state and the input `seq` went on.
     */
    get resumed(): boolean;
    /** The local player's entity as the server last sent it (undefined for a spectator). */
    player(): HeldEntity | undefined;
    /** Every held entity as world values, as of the last snapshot. */
    worldEntities(): WorldEntity[];
    /**
     * Opens the connection (done by {@link TickcastClient.connect}); a no-op if open or
     * opening. With a token function, the socket opens once it has returned a token.
     */
    connect(): void;
    /**
     * Gets the token, if any, and opens a socket: to `url` for a plain client; for a
     * matchmaking one, with a seat it holds, back to its room when there is a session to
     * resume, or else with a seat it asks the matchmaker for. `direct`: called by
     * `connect()`, which throws what the WebSocket constructor throws; otherwise a failure
     * is a close event and the client tries again later.
     */
    private open;
    /**
     * The transport of the next connection (see {@link ClientOptions.transport}). Auto: a
     * WebSocket, unless there is none here, the last one was cut before its Welcome (or
     * was the second short-lived one in a row), or HTTP worked where a WebSocket did not
     * less than `probeWebSocketAfterMs` ago.
     */
    private pickTransport;
    private factory;
    private get autoTransport();
    /**
     * Hands the player token to `then`: `options.token` itself, or what the token function
     * returns (at once, or once its promise settles; `then` is then not direct). A failing
     * token function is a close event, and a retry later.
     */
    private withToken;
    /** Asks the matchmaker for a seat (with the player token, if any) and opens a socket with it. */
    private matchmakeAndOpen;
    /** The matchmaker gets as long to answer as the server gets to send its Welcome. */
    private matchmakeTimeoutMs;
    /**
     * Opens a socket with `seat`. It carries no player token: the seat was bound to the
     * token that asked for it. Its room becomes the client's.
     */
    private openSeat;
    /**
     * The matchmaker refused, or did not answer. A request it cannot place (a malformed
     * body, an unknown kind or room) fails the same way every time, so the client stops;
     * anything else may pass later (a node that drains or restarts, a seat free again in a
     * full room, a fresh token), so it retries with backoff, no sooner than a
     * `Retry-After`. Anything but a MatchmakeError (no fetch at all, say) is a bug to fix.
     */
    private matchmakeFailed;
    private openSocket;
    /**
     * Auto transport: a WebSocket that failed (or timed out) before it opened is replaced
     * by the HTTP transport at once, with the same URL (seat, room) and token: the same
     * connection attempt, so no close event and no backoff. Returns whether it did.
     */
    private fellBack;
    private clearOpenTimer;
    /**
     * The socket ended (the server closed it, it failed, or the client dropped it):
     * detaches it, and forgets a session that the next connection cannot resume.
     */
    private ended;
    /**
     * Auto: a welcomed WebSocket ended with `code` (see
     * {@link ClientOptions.shortLivedWebSocketMs}). Counts it when it was cut (no close frame
     * from the server: 1006, or gone silent) within `shortLivedWebSocketMs` of its Welcome,
     * and sends the next connection over HTTP at the second in a row; starts the count over
     * when it lived longer. A close the server sent, or a divergence, says nothing about
     * the path: the count stays as it is.
     */
    private webSocketLived;
    /** No socket could be opened: reported as a close, and tried again later. */
    private connectFailed;
    private forgetSession;
    /** Closes the connection for good (no reconnection). */
    close(code?: number, reason?: string): void;
    /**
     * Sends one tick of input (fields by the schema's names, clamped to their ranges),
     * assigning the next `seq`, and steps the prediction with it. Returns the seq, or null
     * if not connected. Throws a {@link SpectatorInputError} on a spectating client (the
     * server would close the connection over an input).
     */
    sendInput(values: InputValues): number | null;
    /**
     * The tick of the world this client shows at `now` (ms): its interpolated render tick,
     * whole and wrapped to u32, which an Input carries so that the server can judge the
     * action against what the player saw (lag compensation; the server clamps it to the
     * history it keeps). Null before the first snapshot.
     */
    viewTick(now?: number): number | null;
    /**
     * Calls `input` once per server tick (at the Welcome's tick rate) and sends what it
     * returns, while connected. Timers are late at times (a busy page, a background tab):
     * missed ticks are made up, at most five at once, and beyond that the loop starts over
     * from now rather than flooding the server. Returns the function that stops the loop.
     * Throws a {@link SpectatorInputError} on a spectating client.
     */
    startInputLoop(input: () => InputValues): () => void;
    /** Figures of the connection (rates and means over the last second). */
    stats(): ClientStats;
    private sendBytes;
    private receive;
    private welcomed;
    private makePredictor;
    /**
     * Closes the connection once nothing has arrived for `deadAfterMs`. The timer checks
     * the time of the last message rather than being restarted by each one, and a late
     * timer (a background tab) only checks later.
     */
    private armDeadTimer;
    private snapshot;
    /** Round trip of the newest input the ack covers; forgets the send times it covers. */
    private acknowledged;
    private diverged;
    /** Closes the socket ourselves and reports the close at once (later socket events are ignored). */
    private drop;
    private detach;
    /**
     * Reports a close and, if `reconnect` (and the options allow), schedules the next
     * connection. `more.error` rides on the event; `more.notBeforeMs` (a `Retry-After`)
     * lengthens the backoff.
     */
    private closed;
    private clearReconnect;
}
