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
 */
import type { HeldEntity } from './body.js';
import { Emitter } from './emitter.js';
import { Interpolator } from './interpolation.js';
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
    /** The WebSocket implementation (default: the global `WebSocket`). */
    readonly WebSocket?: WebSocketFactory;
    /** The clock in milliseconds (default `performance.now`). */
    readonly now?: () => number;
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
    /** `wss` when encrypted. */
    readonly transport: 'ws' | 'wss';
    /** Mean over the last second of input-to-ack round trips (null: none measured). */
    readonly rttMs: number | null;
    /** Received and sent WebSocket payload over the last second, kbit/s. */
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
 * failed or returned no token, or the WebSocket constructor refused (never on the wire).
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
    /** Bumped by every connection attempt and by close(): a token that arrives late for an old attempt is ignored. */
    private attempt;
    private waitingForToken;
    /** The resume token of the last Welcome (null: none, or the session is over). */
    private resumeToken;
    /** The player of the last Welcome. */
    private lastPlayer;
    /** Whether this connection's Hello carried a resume token. */
    private offeredResume;
    private resumedSession;
    private resumes;
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
     * Gets the token, if any, and opens a socket. `direct`: called by `connect()`, which
     * throws what the WebSocket constructor throws; otherwise a failure is a close event
     * and the client tries again later.
     */
    private open;
    private openSocket;
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
    private closed;
    private clearReconnect;
}
