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
import { ChecksumMismatchError, DecodeError, isDivergence } from './errors.js';
import { Interpolator } from './interpolation.js';
import { type FetchLike, type MatchRequest, matchmake, MatchmakeError, matchmakeUrl, roomUrl, type Seat, seatUrl } from './matchmake.js';
import { type Applied, Mirror, wrappingDiff } from './mirror.js';
import { Predictor, type PredictionModel } from './prediction.js';
import {
  checkSpectate,
  decodeServerMessage,
  encodeHello,
  encodeInput,
  type NetId,
  type SnapshotFrame,
  type Spectate,
  type Welcome,
} from './protocol.js';
import { type InputValues, SchemaDecoder, type WorldEntity } from './schema.js';
import { HttpSocket } from './transport.js';

/** The WebSocket surface the client uses (the browser's, or a compatible one). */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
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
export class SpectatorInputError extends Error {
  constructor() {
    super('a spectating client sends no inputs (options.spectate is set)');
    this.name = 'SpectatorInputError';
  }
}

/** Close codes after which reconnecting cannot help (protocol version, text frames). */
const PERMANENT_CLOSE_CODES = new Set([1002, 1003]);
/** Our close code when the mirror diverged (application range). */
export const DIVERGENCE_CLOSE_CODE = 4000;
/** Our close code when the server broke the protocol. */
export const PROTOCOL_CLOSE_CODE = 4001;
/** Our close code when nothing arrived for `deadAfterMs`. */
export const SILENT_CLOSE_CODE = 4002;
/**
 * The code of the `close` event when no connection could be opened: the token function
 * failed or returned no token, the WebSocket constructor refused, or matchmaking failed
 * (the event's `error` is then the {@link MatchmakeError}). Never on the wire.
 */
export const CONNECT_FAILED_CLOSE_CODE = 4003;
/** The server's close when it refuses a resume token (code 1008 with this reason). */
const INVALID_RESUME_REASON = 'invalid resume token';
/**
 * The start of the server's close (code 1008) of a `?room=` connection without a resume
 * token it still honours ("joining a room needs a seat from /matchmake").
 */
const NEEDS_SEAT_REASON = 'joining a room needs a seat';
/**
 * `?room=` connections in a row that may end before a Welcome before the client
 * matchmakes afresh. A room that is gone is refused with 404 before the upgrade, which a
 * WebSocket sees only as 1006, the same as a network failure: one more try tells a room
 * that is gone from a network blip, which must not cost the session.
 */
const ROOM_FAILURES_BEFORE_MATCHMAKE = 2;
/** How long a close event may lag behind an error before the client reports it itself. */
const ERROR_CLOSE_GRACE_MS = 250;
/** A connection counts as healthy (the backoff starts over) after this long. */
const HEALTHY_AFTER_MS = 5000;
/** Inputs whose send time is kept for round trips, at most. */
const MAX_SEND_TIMES = 1024;
/** With `transport: 'auto'`, a WebSocket not open after this long is taken for blocked. */
const WEBSOCKET_OPEN_TIMEOUT_MS = 5000;
/** The reason of the client's own close when no Welcome came in time. */
const NO_WELCOME_REASON = 'no welcome in time';
/**
 * With `transport: 'auto'`, short-lived WebSockets in a row (see
 * {@link ClientOptions.shortLivedWebSocketMs}) after which the next connection goes over
 * HTTP: one is a network blip and costs one resume; two in a row are a pattern.
 */
const SHORT_LIVED_CUTS_BEFORE_HTTP = 2;

/** Samples over a sliding window, for per-second means and rates. */
class Window {
  private readonly times: number[] = [];
  private readonly values: number[] = [];

  constructor(private readonly spanMs: number) {}

  add(now: number, value: number): void {
    this.times.push(now);
    this.values.push(value);
    this.trim(now);
  }

  private trim(now: number): void {
    let drop = 0;
    while (drop < this.times.length && this.times[drop]! <= now - this.spanMs) {
      drop++;
    }
    if (drop > 0) {
      this.times.splice(0, drop);
      this.values.splice(0, drop);
    }
  }

  sum(now: number): number {
    this.trim(now);
    return this.values.reduce((sum, value) => sum + value, 0);
  }

  mean(now: number): number | null {
    this.trim(now);
    return this.values.length === 0 ? null : this.sum(now) / this.values.length;
  }
}

function defaultNow(): number {
  return globalThis.performance?.now() ?? Date.now();
}

/** A client of one tickcast room; `S` is the predicted player's state (see `prediction`). */
export class TickcastClient<S = unknown> extends Emitter<ClientEvents> {
  /** The client's copy of what the server sent. */
  readonly mirror = new Mirror();
  private socket: WebSocketLike | null = null;
  private currentWelcome: Welcome | null = null;
  /** The tick rate of the last Welcome (the predictor's). */
  private currentTickRate = 0;
  private schemaDecoder: SchemaDecoder | null = null;
  private interpolatorInstance: Interpolator | null = null;
  private predictorInstance: Predictor<S> | null = null;
  private seq = 0;
  private sendTimes: { seq: number; at: number }[] = [];
  private closedByUser = false;
  private attempts = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private welcomeTimer: ReturnType<typeof setTimeout> | null = null;
  private deadTimer: ReturnType<typeof setTimeout> | null = null;
  private errorTimer: ReturnType<typeof setTimeout> | null = null;
  private welcomedAt = 0;
  private lastReceivedAt = 0;
  private connections = 0;
  /** Bumped by every connection attempt and by close(): a token or seat that arrives late for an old attempt is ignored. */
  private attempt = 0;
  /** Waiting for a token function or for the matchmaker before the socket can open. */
  private preparing = false;
  /** What to ask the matchmaker for (`options.matchmake`); null: a plain client of `url`. */
  private readonly match: ClientMatchmaking | null;
  /** A seat the next connection takes (single-use: cleared as it is offered). */
  private pendingSeat: Seat | null = null;
  /** The room of the last seat: where reconnections resume. */
  private matchedRoom: MatchedRoom | null = null;
  /** `?room=` connections in a row that ended before a Welcome. */
  private roomFailures = 0;
  /** How the current (or last) socket joined: the plain `url`, a seat, or back to its room. */
  private joinedBy: 'url' | 'seat' | 'room' = 'url';
  /** The URL of the current (or last) socket. */
  private socketUrl: string | null = null;
  /** The resume token of the last Welcome (null: none, or the session is over). */
  private resumeToken: Uint8Array | null = null;
  /** The player of the last Welcome. */
  private lastPlayer: NetId | null = null;
  /** Whether this connection's Hello carried a resume token. */
  private offeredResume = false;
  private resumedSession = false;
  private resumes = 0;
  /** The transport of the current (or last) socket. */
  private socketTransport: 'websocket' | 'http' = 'websocket';
  /** How the current (or last) socket was opened: for the HTTP fallback to open the same. */
  private lastOpen: { url: string; token: string | null; joinedBy: 'url' | 'seat' | 'room' } | null = null;
  /** Whether the current socket has opened. */
  private socketOpened = false;
  private openTimer: ReturnType<typeof setTimeout> | null = null;
  /** Auto: the WebSocket was cut before its Welcome, so the next connection goes over HTTP. */
  private httpNext = false;
  /** Auto: this HTTP connection stands in for a WebSocket that failed. */
  private fallingBack = false;
  /** Auto: when HTTP worked where the WebSocket did not; connections use it for a while. */
  private preferHttpSince: number | null = null;
  /**
   * Auto: WebSockets in a row cut within `shortLivedWebSocketMs` of their Welcome. Only a
   * WebSocket that lived longer resets it (HTTP connections in between do not).
   */
  private shortLivedCuts = 0;
  /** Auto: why connections last went over HTTP (`stats().fallbackReason`). */
  private fallbackReason: ClientStats['fallbackReason'] = null;
  private readonly now: () => number;
  private readonly down = new Window(1000);
  private readonly up = new Window(1000);
  private readonly rtt = new Window(1000);
  private readonly predictionErrors = new Window(1000);
  private snapshots = 0;
  private mismatches = 0;
  private divergences = 0;

  constructor(
    readonly url: string,
    readonly options: ClientOptions<S> = {},
  ) {
    super();
    this.now = options.now ?? defaultNow;
    if (options.spectate !== undefined) {
      checkSpectate(options.spectate);
    }
    const match = options.matchmake;
    this.match = match === undefined || match === false ? null : match === true ? {} : match;
    if (this.match !== null) {
      // Throws a TypeError now for a base that is no URL, rather than on every retry.
      matchmakeUrl(url);
      if (this.match.seat !== undefined) {
        this.pendingSeat = this.match.seat;
        this.matchedRoom = roomOf(this.match.seat);
      }
    }
  }

  /** Makes a client and connects it. */
  static connect<S = unknown>(url: string, options: ClientOptions<S> = {}): TickcastClient<S> {
    const client = new TickcastClient<S>(url, options);
    client.connect();
    return client;
  }

  /**
   * Matchmakes at the node whose HTTP base is `baseUrl` (`kind` or `roomId` as asked,
   * the default game otherwise) and connects with the seat. Resolves with the client as
   * soon as it holds the seat and its socket is opening (listen for `welcome`, as after
   * {@link TickcastClient.connect}); rejects with the {@link MatchmakeError} when this
   * first matchmaking is refused (an unknown kind, a full room, a draining node), so the
   * page can say so. Afterwards it is a client with the `matchmake` option: a drop
   * resumes in the same room, and a refused resume matchmakes again.
   */
  static async matchmake<S = unknown>(
    baseUrl: string,
    options: ClientOptions<S> & MatchRequest & { readonly fetch?: FetchLike } = {},
  ): Promise<TickcastClient<S>> {
    const { kind, roomId, fetch, ...rest } = options;
    const request: { kind?: string; roomId?: string; fetch?: FetchLike } = {};
    if (kind !== undefined) request.kind = kind;
    if (roomId !== undefined) request.roomId = roomId;
    if (fetch !== undefined) request.fetch = fetch;
    const client = new TickcastClient<S>(baseUrl, { ...rest, matchmake: request });
    client.pendingSeat = await matchmake(baseUrl, { ...request, token: rest.token, timeoutMs: client.matchmakeTimeoutMs() });
    client.connect();
    return client;
  }

  /** The Welcome of the current connection, or null before it. */
  get welcome(): Welcome | null {
    return this.currentWelcome;
  }

  /** Decodes quantized fields to world values with the server's schema (null before the Welcome). */
  get schema(): SchemaDecoder | null {
    return this.schemaDecoder;
  }

  /** The interpolation buffer of the current connection (null before the Welcome). */
  get interpolator(): Interpolator | null {
    return this.interpolatorInstance;
  }

  /** The local player's predictor (null without a prediction model or before the Welcome). */
  get predictor(): Predictor<S> | null {
    return this.predictorInstance;
  }

  /** Whether the client joins as a spectator (`options.spectate`): no player, no inputs. */
  get spectating(): boolean {
    return this.options.spectate !== undefined;
  }

  /**
   * The room a matchmaking client was placed in: the last seat's, kept across
   * reconnections (which resume there) until a new seat replaces it. Null before the
   * first seat, and for a plain client of `url` (which joins whatever room the URL names:
   * the node's default room for `/ws`).
   */
  get roomId(): string | null {
    return this.matchedRoom?.roomId ?? null;
  }

  /** The room of the last seat with its kind and its node's WebSocket URL (see {@link roomId}). */
  get room(): MatchedRoom | null {
    return this.matchedRoom;
  }

  /** Whether the client is welcomed on an open connection. */
  get connected(): boolean {
    return this.socket !== null && this.currentWelcome !== null;
  }

  /**
   * Whether the current connection resumed the previous one's session (its Welcome named
   * the same player): the player kept its state and the input `seq` went on.
   */
  get resumed(): boolean {
    return this.currentWelcome !== null && this.resumedSession;
  }

  /** The local player's entity as the server last sent it (undefined for a spectator). */
  player(): HeldEntity | undefined {
    const player = this.currentWelcome?.player ?? null;
    return player === null ? undefined : this.mirror.get(player);
  }

  /** Every held entity as world values, as of the last snapshot. */
  worldEntities(): WorldEntity[] {
    const decoder = this.schemaDecoder;
    if (decoder === null) {
      return [];
    }
    return [...this.mirror.entities.values()].map((entity) => decoder.decode(entity));
  }

  /**
   * Opens the connection (done by {@link TickcastClient.connect}); a no-op if open or
   * opening. With a token function, the socket opens once it has returned a token.
   */
  connect(): void {
    if (this.socket !== null || this.preparing) {
      return;
    }
    this.closedByUser = false;
    this.clearReconnect();
    this.open(true);
  }

  /**
   * Gets the token, if any, and opens a socket: to `url` for a plain client; for a
   * matchmaking one, with a seat it holds, back to its room when there is a session to
   * resume, or else with a seat it asks the matchmaker for. `direct`: called by
   * `connect()`, which throws what the WebSocket constructor throws; otherwise a failure
   * is a close event and the client tries again later.
   */
  private open(direct: boolean): void {
    // (Throws when there is no transport at all, before a seat is taken.)
    const transport = this.pickTransport();
    const attempt = ++this.attempt;
    const seat = this.pendingSeat;
    if (seat !== null) {
      // A seat is taken by the first socket that shows it: it is never offered twice.
      this.pendingSeat = null;
      this.openSeat(transport, seat, direct);
      return;
    }
    this.withToken(attempt, direct, (token, direct) => {
      const room = this.matchedRoom;
      if (this.match === null) {
        this.openSocket(transport, this.url, token, 'url', direct);
      } else if (room !== null && this.resumeToken !== null) {
        // Seats are single-use: a session goes back to its room and resumes there.
        this.openSocket(transport, roomUrl(room.wsUrl, room.roomId), token, 'room', direct);
      } else {
        this.matchmakeAndOpen(transport, attempt, token, direct);
      }
    });
  }

  /**
   * The transport of the next connection (see {@link ClientOptions.transport}). Auto: a
   * WebSocket, unless there is none here, the last one was cut before its Welcome (or
   * was the second short-lived one in a row), or HTTP worked where a WebSocket did not
   * less than `probeWebSocketAfterMs` ago.
   */
  private pickTransport(): 'websocket' | 'http' {
    const mode = this.options.transport ?? 'auto';
    if (mode === 'http') {
      return 'http';
    }
    if (mode === 'websocket') {
      this.factory('websocket');
      return 'websocket';
    }
    this.fallingBack = false;
    const global = globalThis as { WebSocket?: WebSocketFactory; fetch?: unknown };
    if (this.options.WebSocket === undefined && global.WebSocket === undefined) {
      if (this.options.HttpSocket === undefined && global.fetch === undefined) {
        throw new Error('no WebSocket implementation: pass options.WebSocket');
      }
      // No WebSocket at all here (an old runtime, a page that removed it).
      this.fallbackReason = 'websocket-unavailable';
      return 'http';
    }
    if (this.httpNext) {
      this.httpNext = false;
      this.fallingBack = true;
      return 'http';
    }
    const since = this.preferHttpSince;
    if (since !== null && this.now() - since < (this.options.probeWebSocketAfterMs ?? 60_000)) {
      return 'http';
    }
    return 'websocket';
  }

  private factory(transport: 'websocket' | 'http'): WebSocketFactory {
    if (transport === 'http') {
      return this.options.HttpSocket ?? HttpSocket;
    }
    const Factory = this.options.WebSocket ?? (globalThis as { WebSocket?: WebSocketFactory }).WebSocket;
    if (Factory === undefined) {
      throw new Error('no WebSocket implementation: pass options.WebSocket');
    }
    return Factory;
  }

  private get autoTransport(): boolean {
    return (this.options.transport ?? 'auto') === 'auto';
  }

  /**
   * Hands the player token to `then`: `options.token` itself, or what the token function
   * returns (at once, or once its promise settles; `then` is then not direct). A failing
   * token function is a close event, and a retry later.
   */
  private withToken(attempt: number, direct: boolean, then: (token: unknown, direct: boolean) => void): void {
    const source = this.options.token;
    if (typeof source !== 'function') {
      then(source ?? null, direct);
      return;
    }
    let token: string | PromiseLike<string>;
    try {
      token = source();
    } catch (error) {
      this.connectFailed(`the token function threw: ${describe(error)}`);
      return;
    }
    if (typeof token === 'string') {
      then(token, direct);
      return;
    }
    this.preparing = true;
    Promise.resolve(token).then(
      (value) => {
        if (this.attempt !== attempt) return;
        this.preparing = false;
        then(value, false);
      },
      (error: unknown) => {
        if (this.attempt !== attempt) return;
        this.preparing = false;
        this.connectFailed(`the token function failed: ${describe(error)}`);
      },
    );
  }

  /** Asks the matchmaker for a seat (with the player token, if any) and opens a socket with it. */
  private matchmakeAndOpen(transport: 'websocket' | 'http', attempt: number, token: unknown, direct: boolean): void {
    const match = this.match!;
    if (token !== null && (typeof token !== 'string' || token === '')) {
      const error = new TypeError('the player token is not a non-empty string');
      if (direct) throw error;
      this.connectFailed(error.message);
      return;
    }
    this.preparing = true;
    const request: { kind?: string; roomId?: string; fetch?: FetchLike; token?: string; timeoutMs: number } = {
      timeoutMs: this.matchmakeTimeoutMs(),
    };
    if (match.kind !== undefined) request.kind = match.kind;
    if (match.roomId !== undefined) request.roomId = match.roomId;
    if (match.fetch !== undefined) request.fetch = match.fetch;
    if (token !== null) request.token = token;
    matchmake(this.url, request).then(
      (seat) => {
        if (this.attempt !== attempt) return;
        this.preparing = false;
        this.openSeat(transport, seat, false);
      },
      (error: unknown) => {
        if (this.attempt !== attempt) return;
        this.preparing = false;
        this.matchmakeFailed(error);
      },
    );
  }

  /** The matchmaker gets as long to answer as the server gets to send its Welcome. */
  private matchmakeTimeoutMs(): number {
    return this.options.welcomeTimeoutMs ?? 10_000;
  }

  /**
   * Opens a socket with `seat`. It carries no player token: the seat was bound to the
   * token that asked for it. Its room becomes the client's.
   */
  private openSeat(transport: 'websocket' | 'http', seat: Seat, direct: boolean): void {
    this.matchedRoom = roomOf(seat);
    this.roomFailures = 0;
    this.openSocket(transport, seatUrl(seat), null, 'seat', direct);
  }

  /**
   * The matchmaker refused, or did not answer. A request it cannot place (a malformed
   * body, an unknown kind or room) fails the same way every time, so the client stops;
   * anything else may pass later (a node that drains or restarts, a seat free again in a
   * full room, a fresh token), so it retries with backoff, no sooner than a
   * `Retry-After`. Anything but a MatchmakeError (no fetch at all, say) is a bug to fix.
   */
  private matchmakeFailed(error: unknown): void {
    const refused = error instanceof MatchmakeError ? error : null;
    const retry = refused !== null && refused.retryable;
    this.closed(CONNECT_FAILED_CLOSE_CODE, describe(error), retry, {
      error: error instanceof Error ? error : new Error(String(error)),
      notBeforeMs: refused?.retryAfterMs ?? null,
    });
  }

  private openSocket(
    transport: 'websocket' | 'http',
    url: string,
    token: unknown,
    joinedBy: 'url' | 'seat' | 'room',
    direct: boolean,
  ): void {
    if (token !== null && (typeof token !== 'string' || token === '')) {
      const error = new TypeError('the player token is not a non-empty string');
      if (direct) throw error;
      this.connectFailed(`could not open the WebSocket: ${error.message}`);
      return;
    }
    let socket: WebSocketLike;
    try {
      const Factory = this.factory(transport);
      // Browsers cannot set headers on a WebSocket: the token rides as a subprotocol,
      // and the server selects `tickcast`. (The HTTP transport sends it as a header.)
      socket = token === null ? new Factory(url) : new Factory(url, ['tickcast', `token.${token}`]);
    } catch (error) {
      if (transport === 'websocket' && this.autoTransport) {
        // A WebSocket that cannot even be made (a page that broke it): HTTP at once.
        this.fallingBack = true;
        this.fallbackReason = 'websocket-unavailable';
        this.openSocket('http', url, token, joinedBy, direct);
        return;
      }
      if (direct) throw error;
      this.connectFailed(`could not open the ${transport === 'http' ? 'HTTP transport' : 'WebSocket'}: ${describe(error)}`);
      return;
    }
    this.connections += 1;
    this.socket = socket;
    this.socketUrl = url;
    this.joinedBy = joinedBy;
    this.socketTransport = transport;
    this.lastOpen = { url, token, joinedBy };
    this.socketOpened = false;
    socket.binaryType = 'arraybuffer';
    if (transport === 'websocket' && this.autoTransport) {
      // A proxy may hold a blocked upgrade rather than refuse it.
      this.openTimer = setTimeout(() => {
        this.openTimer = null;
        if (this.socket === socket) this.fellBack(socket);
      }, WEBSOCKET_OPEN_TIMEOUT_MS);
    }
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.socketOpened = true;
      this.clearOpenTimer();
      if (transport === 'http' && this.fallingBack) {
        // HTTP gets through where the WebSocket did not: keep to it for a while.
        this.preferHttpSince = this.now();
      }
      const spectate = this.options.spectate ?? null;
      // A spectator has no session to resume: every connection spectates afresh. Nor has
      // a seat: it is a place for a new player.
      const resume = spectate === null && joinedBy !== 'seat' ? this.resumeToken : null;
      this.offeredResume = resume !== null;
      this.sendBytes(encodeHello(this.options.name ?? '', resume, spectate));
      this.welcomeTimer = setTimeout(() => {
        this.drop(PROTOCOL_CLOSE_CODE, NO_WELCOME_REASON, true);
      }, this.options.welcomeTimeoutMs ?? 10_000);
    };
    socket.onmessage = (event) => {
      if (this.socket !== socket) return;
      this.receive(event.data);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket || this.fellBack(socket)) return;
      this.ended(event.code, event.reason);
      this.closed(event.code, event.reason, !PERMANENT_CLOSE_CODES.has(event.code));
    };
    // Errors are followed by a close event, which is where they are handled (a refusal
    // before the upgrade, 401, 403 or 503, is seen only as an error and a close with
    // 1006). Some implementations fire no close when the connection never opened (Node
    // 20's undici: nodejs/undici#3546), so an error not followed by a close in a moment
    // is taken for a 1006 close.
    socket.onerror = () => {
      if (this.socket !== socket || this.errorTimer !== null) return;
      this.errorTimer = setTimeout(() => {
        this.errorTimer = null;
        if (this.socket !== socket || this.fellBack(socket)) return;
        this.ended(1006, 'connection failed');
        try {
          socket.close();
        } catch {
          // Not open: nothing to close.
        }
        this.closed(1006, 'connection failed', true);
      }, ERROR_CLOSE_GRACE_MS);
    };
  }

  /**
   * Auto transport: a WebSocket that failed (or timed out) before it opened is replaced
   * by the HTTP transport at once, with the same URL (seat, room) and token: the same
   * connection attempt, so no close event and no backoff. Returns whether it did.
   */
  private fellBack(socket: WebSocketLike): boolean {
    const last = this.lastOpen;
    if (this.socketTransport !== 'websocket' || this.socketOpened || !this.autoTransport || last === null) {
      return false;
    }
    this.detach();
    try {
      socket.close();
    } catch {
      // Not open: nothing to close.
    }
    // Not a reconnection: the attempt goes on over the other transport.
    this.connections -= 1;
    this.fallingBack = true;
    this.fallbackReason = 'websocket-failed';
    this.openSocket('http', last.url, last.token, last.joinedBy, false);
    return true;
  }

  private clearOpenTimer(): void {
    if (this.openTimer !== null) {
      clearTimeout(this.openTimer);
      this.openTimer = null;
    }
  }

  /**
   * The socket ended (the server closed it, it failed, or the client dropped it):
   * detaches it, and forgets a session that the next connection cannot resume.
   */
  private ended(code: number, reason: string): void {
    const offeredResume = this.offeredResume;
    const welcomed = this.currentWelcome !== null;
    if (
      this.autoTransport &&
      this.socketTransport === 'websocket' &&
      this.socketOpened &&
      !welcomed &&
      !this.closedByUser &&
      (code === 1006 || reason === NO_WELCOME_REASON)
    ) {
      // Opened, then cut (or silent) before its Welcome: an upgrade that a proxy let
      // through but does not carry. The next connection goes over HTTP.
      this.httpNext = true;
      this.fallbackReason = 'cut-before-welcome';
    }
    if (this.autoTransport && this.socketTransport === 'websocket' && welcomed && !this.closedByUser) {
      this.webSocketLived(code);
    }
    this.detach();
    if (offeredResume && code === 1008 && reason === INVALID_RESUME_REASON) {
      // The server does not know the token (restarted, say): the next connection
      // starts a fresh session (a matchmaking client matchmakes for it).
      this.forgetSession();
    } else if (this.joinedBy === 'room' && !welcomed) {
      this.roomFailures += 1;
      if (code === 1008 && reason.startsWith(NEEDS_SEAT_REASON)) {
        // The room no longer holds the player (its grace is over): only a seat gets in.
        this.forgetSession();
      } else if (this.roomFailures >= ROOM_FAILURES_BEFORE_MATCHMAKE) {
        // Most likely the room is gone (a 404 before the upgrade looks like any failure).
        this.forgetSession();
      }
    }
  }

  /**
   * Auto: a welcomed WebSocket ended with `code` (see
   * {@link ClientOptions.shortLivedWebSocketMs}). Counts it when it was cut (no close frame
   * from the server: 1006, or gone silent) within `shortLivedWebSocketMs` of its Welcome,
   * and sends the next connection over HTTP at the second in a row; starts the count over
   * when it lived longer. A close the server sent, or a divergence, says nothing about
   * the path: the count stays as it is.
   */
  private webSocketLived(code: number): void {
    const limit = this.options.shortLivedWebSocketMs ?? 30_000;
    if (!(limit > 0)) {
      return;
    }
    if (this.now() - this.welcomedAt >= limit) {
      this.shortLivedCuts = 0;
      return;
    }
    if (code !== 1006 && code !== SILENT_CLOSE_CODE) {
      return;
    }
    this.shortLivedCuts += 1;
    if (this.shortLivedCuts >= SHORT_LIVED_CUTS_BEFORE_HTTP) {
      // The path lets WebSockets through and cuts them soon after: each one costs a resume
      // and a full snapshot. (The count stays: a probe cut as soon comes back at once.)
      this.httpNext = true;
      this.fallbackReason = 'short-lived';
    }
  }

  /** No socket could be opened: reported as a close, and tried again later. */
  private connectFailed(reason: string): void {
    this.closed(CONNECT_FAILED_CLOSE_CODE, reason, true);
  }

  private forgetSession(): void {
    this.resumeToken = null;
    this.lastPlayer = null;
  }

  /** Closes the connection for good (no reconnection). */
  close(code = 1000, reason = 'client closed'): void {
    this.closedByUser = true;
    this.clearReconnect();
    // The session is over: a later connect() joins as a new player (a matchmaking client
    // asks for a new seat). (The server keeps the player for its grace period all the
    // same: to it a close is a drop.)
    this.forgetSession();
    this.pendingSeat = null;
    this.attempt += 1;
    this.preparing = false;
    if (this.socket !== null) {
      this.drop(code, reason, false);
    }
  }

  /**
   * Sends one tick of input (fields by the schema's names, clamped to their ranges),
   * assigning the next `seq`, and steps the prediction with it. Returns the seq, or null
   * if not connected. Throws a {@link SpectatorInputError} on a spectating client (the
   * server would close the connection over an input).
   */
  sendInput(values: InputValues): number | null {
    if (this.spectating) {
      throw new SpectatorInputError();
    }
    const decoder = this.schemaDecoder;
    if (!this.connected || decoder === null) {
      return null;
    }
    const seq = this.seq;
    this.seq = (seq + 1) >>> 0;
    const fields = decoder.inputFields(values);
    const now = this.now();
    this.sendBytes(encodeInput(seq, this.viewTick(now), fields));
    this.sendTimes.push({ seq, at: now });
    if (this.sendTimes.length > MAX_SEND_TIMES) {
      this.sendTimes.shift();
    }
    if (this.predictorInstance !== null) {
      // Predict with exactly the values the server will act on (clamped, stepped, float 32).
      this.predictorInstance.input(seq, decoder.inputValues(fields), now);
    }
    return seq;
  }

  /**
   * The tick of the world this client shows at `now` (ms): its interpolated render tick,
   * whole and wrapped to u32, which an Input carries so that the server can judge the
   * action against what the player saw (lag compensation; the server clamps it to the
   * history it keeps). Null before the first snapshot.
   */
  viewTick(now: number = this.now()): number | null {
    const at = this.interpolatorInstance?.renderTick(now) ?? null;
    if (at === null || !Number.isFinite(at)) {
      return null;
    }
    return Math.floor(at) >>> 0;
  }

  /**
   * Calls `input` once per server tick (at the Welcome's tick rate) and sends what it
   * returns, while connected. Timers are late at times (a busy page, a background tab):
   * missed ticks are made up, at most five at once, and beyond that the loop starts over
   * from now rather than flooding the server. Returns the function that stops the loop.
   * Throws a {@link SpectatorInputError} on a spectating client.
   */
  startInputLoop(input: () => InputValues): () => void {
    if (this.spectating) {
      throw new SpectatorInputError();
    }
    let stopped = false;
    let nextAt: number | null = null;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const run = () => {
      if (stopped) return;
      const now = this.now();
      const period = 1000 / (this.currentWelcome?.tickRate ?? 60);
      if (!this.connected) {
        nextAt = null;
      } else {
        nextAt ??= now;
        if (now - nextAt > 5 * period) {
          nextAt = now;
        }
        while (now >= nextAt) {
          this.sendInput(input());
          nextAt += period;
        }
      }
      const wait = nextAt === null ? period : Math.max(0, nextAt - this.now());
      timer = setTimeout(run, wait);
    };
    run();
    return () => {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
    };
  }

  /** Figures of the connection (rates and means over the last second). */
  stats(): ClientStats {
    const now = this.now();
    // A matchmaking client's `url` is an HTTP base; its sockets go where the seat said.
    const socketUrl = this.socketUrl ?? this.matchedRoom?.wsUrl ?? this.url;
    return {
      connected: this.connected,
      roomId: this.roomId,
      transport: this.socketTransport,
      fallbackReason: this.socketTransport === 'http' && this.autoTransport ? this.fallbackReason : null,
      secure: /^(wss|https):/i.test(socketUrl),
      rttMs: this.rtt.mean(now),
      downKbps: (this.down.sum(now) * 8) / 1000,
      upKbps: (this.up.sum(now) * 8) / 1000,
      entities: this.mirror.size,
      snapshots: this.snapshots,
      mismatches: this.mismatches,
      divergences: this.divergences,
      reconnects: Math.max(0, this.connections - 1),
      resumes: this.resumes,
      predictionError: this.predictionErrors.mean(now),
      tick: this.mirror.tick,
      ack: this.mirror.ack,
    };
  }

  private sendBytes(bytes: Uint8Array): void {
    this.socket?.send(bytes);
    this.up.add(this.now(), bytes.length);
  }

  private receive(data: unknown): void {
    const receivedAt = this.now();
    let bytes: Uint8Array;
    if (data instanceof ArrayBuffer) {
      bytes = new Uint8Array(data);
    } else if (ArrayBuffer.isView(data)) {
      bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    } else {
      this.drop(PROTOCOL_CLOSE_CODE, 'the server sent a text frame', true);
      return;
    }
    this.down.add(receivedAt, bytes.length);
    this.lastReceivedAt = receivedAt;
    try {
      const message = decodeServerMessage(bytes);
      if (message.type === 'welcome') {
        this.welcomed(message, receivedAt);
      } else {
        this.snapshot(message, receivedAt, bytes.length);
      }
    } catch (error) {
      if (error instanceof DecodeError && error.kind === 'version') {
        // Another protocol version: reconnecting would only be refused again.
        this.drop(PROTOCOL_CLOSE_CODE, error.message, false);
        return;
      }
      if (!isDivergence(error)) {
        throw error;
      }
      this.diverged(error);
    }
  }

  private welcomed(welcome: Welcome, now: number): void {
    if (this.currentWelcome !== null) {
      throw new DecodeError('protocol', 'a second welcome on one connection');
    }
    if (this.welcomeTimer !== null) {
      clearTimeout(this.welcomeTimer);
      this.welcomeTimer = null;
    }
    if (this.spectating !== (welcome.player === null)) {
      // The server broke the protocol (not the mirror): a spectator's Welcome names no
      // player, a player's always does.
      this.drop(
        PROTOCOL_CLOSE_CODE,
        this.spectating ? 'the welcome of a spectator names a player' : 'the welcome names no player',
        true,
      );
      return;
    }
    // Resumed: the Hello carried the last Welcome's token and the server gave the same
    // player back. Otherwise (a first connection, or the player was gone) a fresh session.
    const resumed =
      this.offeredResume && this.lastPlayer !== null && welcome.player !== null && sameNetId(this.lastPlayer, welcome.player);
    const previousTickRate = this.currentTickRate;
    this.currentWelcome = welcome;
    this.currentTickRate = welcome.tickRate;
    this.resumedSession = resumed;
    this.resumeToken = welcome.resume.length > 0 ? welcome.resume : null;
    this.lastPlayer = welcome.player;
    if (this.socketTransport === 'websocket') {
      // The WebSocket gets through (again): no more HTTP until it fails.
      this.preferHttpSince = null;
    }
    this.roomFailures = 0;
    this.welcomedAt = now;
    this.lastReceivedAt = now;
    this.schemaDecoder = new SchemaDecoder(welcome.schema);
    // The first snapshot is full either way, and resets the mirror again.
    this.mirror.reset();
    // Round trips are measured on one connection only.
    this.sendTimes = [];
    this.interpolatorInstance = new Interpolator(this.schemaDecoder, {
      delayMs: this.options.interpolationDelayMs ?? 100,
      tickRate: welcome.tickRate,
    });
    if (resumed) {
      this.resumes += 1;
      // The seq goes on: the room applies inputs in seq order and drops any older than
      // the last it applied, which the first (absolute) ack names. The inputs still
      // unacknowledged were sent on the dead connection: those the ack covers are done,
      // and the server dropped the others with the connection, so none is replayed.
      if (this.predictorInstance !== null && previousTickRate === welcome.tickRate) {
        this.predictorInstance.dropPending();
      } else {
        this.predictorInstance = this.makePredictor(welcome);
      }
    } else {
      this.seq = 0;
      // A spectator predicts nothing: it has no player.
      this.predictorInstance = welcome.player === null ? null : this.makePredictor(welcome);
    }
    this.armDeadTimer();
    this.emit('welcome', welcome);
  }

  private makePredictor(welcome: Welcome): Predictor<S> | null {
    const prediction = this.options.prediction;
    const model = typeof prediction === 'function' ? prediction(welcome) : (prediction ?? null);
    return model === null ? null : new Predictor(model, welcome.tickRate);
  }

  /**
   * Closes the connection once nothing has arrived for `deadAfterMs`. The timer checks
   * the time of the last message rather than being restarted by each one, and a late
   * timer (a background tab) only checks later.
   */
  private armDeadTimer(): void {
    const limit = this.options.deadAfterMs ?? 5000;
    if (!(limit > 0) || !Number.isFinite(limit)) {
      return;
    }
    const socket = this.socket;
    const check = () => {
      this.deadTimer = null;
      if (this.socket !== socket || socket === null) return;
      const silent = this.now() - this.lastReceivedAt;
      if (silent >= limit) {
        this.drop(SILENT_CLOSE_CODE, `nothing from the server in ${Math.round(silent)} ms`, true);
      } else {
        this.deadTimer = setTimeout(check, limit - silent);
      }
    };
    this.deadTimer = setTimeout(check, limit);
  }

  private snapshot(frame: SnapshotFrame, receivedAt: number, bytes: number): void {
    const welcome = this.currentWelcome;
    if (welcome === null) {
      throw new DecodeError('protocol', 'a snapshot before the welcome');
    }
    const applied = this.mirror.applyFrame(frame, this.options.verifyChecksums ?? true);
    this.snapshots += 1;
    if (this.attempts > 0 && receivedAt - this.welcomedAt >= HEALTHY_AFTER_MS) {
      this.attempts = 0;
    }
    this.interpolatorInstance?.push(applied.tick, this.mirror.entities, receivedAt);
    if (applied.ackChanged && applied.ack !== null) {
      this.acknowledged(applied.ack, receivedAt);
    }
    if (this.predictorInstance !== null && welcome.player !== null) {
      const error = this.predictorInstance.reconcile(applied.ack, this.mirror.get(welcome.player));
      if (error !== null && applied.ackChanged) {
        this.predictionErrors.add(receivedAt, error);
      }
    }
    this.emit('snapshot', { applied, receivedAt, bytes });
  }

  /** Round trip of the newest input the ack covers; forgets the send times it covers. */
  private acknowledged(ack: number, now: number): void {
    let sentAt: number | null = null;
    while (this.sendTimes.length > 0 && wrappingDiff(this.sendTimes[0]!.seq, ack) <= 0) {
      const sent = this.sendTimes.shift()!;
      if (sent.seq === ack) {
        sentAt = sent.at;
      }
    }
    if (sentAt !== null) {
      this.rtt.add(now, now - sentAt);
    }
  }

  private diverged(error: Error): void {
    if (error instanceof ChecksumMismatchError) {
      this.mismatches += 1;
    }
    this.divergences += 1;
    this.emit('divergence', { reason: error.message, error, tick: this.mirror.tick });
    this.drop(DIVERGENCE_CLOSE_CODE, error.message, true);
  }

  /** Closes the socket ourselves and reports the close at once (later socket events are ignored). */
  private drop(code: number, reason: string, reconnect: boolean): void {
    const socket = this.socket;
    // (A `?room=` connection given up on before its Welcome counts as a failed try.)
    this.ended(code, reason);
    try {
      // A close reason is at most 123 bytes.
      socket?.close(code, truncateUtf8(reason, 123));
    } catch {
      // Closing an already closing socket may throw in some implementations; it is going.
    }
    this.closed(code, reason, reconnect);
  }

  private detach(): void {
    const socket = this.socket;
    if (socket !== null) {
      socket.onopen = socket.onmessage = socket.onerror = null;
      socket.onclose = null;
    }
    this.socket = null;
    this.currentWelcome = null;
    this.clearOpenTimer();
    if (this.welcomeTimer !== null) {
      clearTimeout(this.welcomeTimer);
      this.welcomeTimer = null;
    }
    if (this.deadTimer !== null) {
      clearTimeout(this.deadTimer);
      this.deadTimer = null;
    }
    if (this.errorTimer !== null) {
      clearTimeout(this.errorTimer);
      this.errorTimer = null;
    }
  }

  /**
   * Reports a close and, if `reconnect` (and the options allow), schedules the next
   * connection. `more.error` rides on the event; `more.notBeforeMs` (a `Retry-After`)
   * lengthens the backoff.
   */
  private closed(
    code: number,
    reason: string,
    reconnect: boolean,
    more: { error?: Error; notBeforeMs?: number | null } = {},
  ): void {
    let reconnectInMs: number | null = null;
    if (reconnect && !this.closedByUser && (this.options.reconnect ?? true)) {
      const base = this.options.reconnectDelayMs ?? 250;
      const max = this.options.maxReconnectDelayMs ?? 10_000;
      // Exponential backoff with jitter, so that a server restart is not met by every
      // client at the same instant.
      const delay = Math.min(max, base * 2 ** this.attempts) * (0.75 + Math.random() * 0.25);
      this.attempts = Math.min(this.attempts + 1, 30);
      reconnectInMs = Math.round(Math.max(delay, more.notBeforeMs ?? 0));
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = null;
        if (this.socket === null && !this.preparing) {
          this.open(false);
        }
      }, reconnectInMs);
    }
    // `error` only when there is one, so that the event of a plain close keeps its shape.
    this.emit('close', more.error === undefined ? { code, reason, reconnectInMs } : { code, reason, reconnectInMs, error: more.error });
  }

  private clearReconnect(): void {
    if (this.reconnectTimer !== null) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
    }
  }
}

function roomOf(seat: Seat): MatchedRoom {
  return { roomId: seat.roomId, kind: seat.kind, wsUrl: seat.wsUrl };
}

function sameNetId(a: NetId, b: NetId): boolean {
  return a.index === b.index && a.generation === b.generation;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `text` cut to at most `limit` UTF-8 bytes, on a character boundary. */
function truncateUtf8(text: string, limit: number): string {
  const encoder = new TextEncoder();
  if (encoder.encode(text).length <= limit) {
    return text;
  }
  let out = '';
  for (const char of text) {
    if (encoder.encode(out + char).length > limit) break;
    out += char;
  }
  return out;
}
