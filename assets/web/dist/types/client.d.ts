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
 * same way unless `reconnect: false`.
 */
import type { HeldEntity } from './body.js';
import { Emitter } from './emitter.js';
import { Interpolator } from './interpolation.js';
import { type Applied, Mirror } from './mirror.js';
import { Predictor, type PredictionModel } from './prediction.js';
import { type Welcome } from './protocol.js';
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
/** Something that makes {@link WebSocketLike}s. */
export type WebSocketFactory = new (url: string) => WebSocketLike;
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
     * The game's prediction model for the local player, or a function that picks one from
     * the Welcome (null: do not predict).
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
    /** Mean over the last second of |predicted - server| at reconciliation, world units (null: none). */
    readonly predictionError: number | null;
    /** The mirror's tick and the last acknowledged input. */
    readonly tick: number | null;
    readonly ack: number | null;
}
/** Our close code when the mirror diverged (application range). */
export declare const DIVERGENCE_CLOSE_CODE = 4000;
/** Our close code when the server broke the protocol. */
export declare const PROTOCOL_CLOSE_CODE = 4001;
/** A client of one tickcast room; `S` is the predicted player's state (see `prediction`). */
export declare class TickcastClient<S = unknown> extends Emitter<ClientEvents> {
    readonly url: string;
    readonly options: ClientOptions<S>;
    /** The client's copy of what the server sent. */
    readonly mirror: Mirror;
    private socket;
    private currentWelcome;
    private schemaDecoder;
    private interpolatorInstance;
    private predictorInstance;
    private seq;
    private sendTimes;
    private closedByUser;
    private attempts;
    private reconnectTimer;
    private welcomeTimer;
    private welcomedAt;
    private connections;
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
    /** Whether the client is welcomed on an open connection. */
    get connected(): boolean;
    /** The local player's entity as the server last sent it. */
    player(): HeldEntity | undefined;
    /** Every held entity as world values, as of the last snapshot. */
    worldEntities(): WorldEntity[];
    /** Opens the connection (done by {@link TickcastClient.connect}); a no-op if open. */
    connect(): void;
    /** Closes the connection for good (no reconnection). */
    close(code?: number, reason?: string): void;
    /**
     * Sends one tick of input (fields by the schema's names, clamped to their ranges),
     * assigning the next `seq`, and steps the prediction with it. Returns the seq, or null
     * if not connected.
     */
    sendInput(values: InputValues): number | null;
    /**
     * Calls `input` once per server tick (at the Welcome's tick rate) and sends what it
     * returns, while connected. Timers are late at times (a busy page, a background tab):
     * missed ticks are made up, at most five at once, and beyond that the loop starts over
     * from now rather than flooding the server. Returns the function that stops the loop.
     */
    startInputLoop(input: () => InputValues): () => void;
    /** Figures of the connection (rates and means over the last second). */
    stats(): ClientStats;
    private sendBytes;
    private receive;
    private welcomed;
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
