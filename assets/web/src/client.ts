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
import { ChecksumMismatchError, DecodeError, isDivergence } from './errors.js';
import { Interpolator } from './interpolation.js';
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
 * failed or returned no token, or the WebSocket constructor refused (never on the wire).
 */
export const CONNECT_FAILED_CLOSE_CODE = 4003;
/** The server's close when it refuses a resume token (code 1008 with this reason). */
const INVALID_RESUME_REASON = 'invalid resume token';
/** How long a close event may lag behind an error before the client reports it itself. */
const ERROR_CLOSE_GRACE_MS = 250;
/** A connection counts as healthy (the backoff starts over) after this long. */
const HEALTHY_AFTER_MS = 5000;
/** Inputs whose send time is kept for round trips, at most. */
const MAX_SEND_TIMES = 1024;

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
  /** Bumped by every connection attempt and by close(): a token that arrives late for an old attempt is ignored. */
  private attempt = 0;
  private waitingForToken = false;
  /** The resume token of the last Welcome (null: none, or the session is over). */
  private resumeToken: Uint8Array | null = null;
  /** The player of the last Welcome. */
  private lastPlayer: NetId | null = null;
  /** Whether this connection's Hello carried a resume token. */
  private offeredResume = false;
  private resumedSession = false;
  private resumes = 0;
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
  }

  /** Makes a client and connects it. */
  static connect<S = unknown>(url: string, options: ClientOptions<S> = {}): TickcastClient<S> {
    const client = new TickcastClient<S>(url, options);
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
    if (this.socket !== null || this.waitingForToken) {
      return;
    }
    this.closedByUser = false;
    this.clearReconnect();
    this.open(true);
  }

  /**
   * Gets the token, if any, and opens a socket. `direct`: called by `connect()`, which
   * throws what the WebSocket constructor throws; otherwise a failure is a close event
   * and the client tries again later.
   */
  private open(direct: boolean): void {
    const Factory = this.options.WebSocket ?? (globalThis as { WebSocket?: WebSocketFactory }).WebSocket;
    if (Factory === undefined) {
      throw new Error('no WebSocket implementation: pass options.WebSocket');
    }
    const attempt = ++this.attempt;
    const source = this.options.token;
    if (typeof source !== 'function') {
      this.openSocket(Factory, source ?? null, direct);
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
      this.openSocket(Factory, token, direct);
      return;
    }
    this.waitingForToken = true;
    Promise.resolve(token).then(
      (value) => {
        if (this.attempt !== attempt) return;
        this.waitingForToken = false;
        this.openSocket(Factory, value, false);
      },
      (error: unknown) => {
        if (this.attempt !== attempt) return;
        this.waitingForToken = false;
        this.connectFailed(`the token function failed: ${describe(error)}`);
      },
    );
  }

  private openSocket(Factory: WebSocketFactory, token: unknown, direct: boolean): void {
    let socket: WebSocketLike;
    try {
      if (token === null) {
        socket = new Factory(this.url);
      } else if (typeof token === 'string' && token !== '') {
        // Browsers cannot set headers on a WebSocket: the token rides as a subprotocol,
        // and the server selects `tickcast`.
        socket = new Factory(this.url, ['tickcast', `token.${token}`]);
      } else {
        throw new TypeError('the player token is not a non-empty string');
      }
    } catch (error) {
      if (direct) throw error;
      this.connectFailed(`could not open the WebSocket: ${describe(error)}`);
      return;
    }
    this.connections += 1;
    this.socket = socket;
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => {
      if (this.socket !== socket) return;
      const spectate = this.options.spectate ?? null;
      // A spectator has no session to resume: every connection spectates afresh.
      const resume = spectate === null ? this.resumeToken : null;
      this.offeredResume = resume !== null;
      this.sendBytes(encodeHello(this.options.name ?? '', resume, spectate));
      this.welcomeTimer = setTimeout(() => {
        this.drop(PROTOCOL_CLOSE_CODE, 'no welcome in time', true);
      }, this.options.welcomeTimeoutMs ?? 10_000);
    };
    socket.onmessage = (event) => {
      if (this.socket !== socket) return;
      this.receive(event.data);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      const offeredResume = this.offeredResume;
      this.detach();
      if (offeredResume && event.code === 1008 && event.reason === INVALID_RESUME_REASON) {
        // The server does not know the token (restarted, say): the next connection
        // starts a fresh session.
        this.forgetSession();
      }
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
        if (this.socket !== socket) return;
        this.detach();
        try {
          socket.close();
        } catch {
          // Not open: nothing to close.
        }
        this.closed(1006, 'connection failed', true);
      }, ERROR_CLOSE_GRACE_MS);
    };
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
    // The session is over: a later connect() joins as a new player. (The server keeps the
    // player for its grace period all the same: to it a close is a drop.)
    this.forgetSession();
    this.attempt += 1;
    this.waitingForToken = false;
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
    this.sendBytes(encodeInput(seq, fields));
    const now = this.now();
    this.sendTimes.push({ seq, at: now });
    if (this.sendTimes.length > MAX_SEND_TIMES) {
      this.sendTimes.shift();
    }
    if (this.predictorInstance !== null) {
      // Predict with exactly the values sent (clamped, float 32).
      const sent: Record<string, number> = {};
      decoder.schema.input.forEach((field, at) => {
        sent[field.name] = fields[at]!;
      });
      this.predictorInstance.input(seq, sent, now);
    }
    return seq;
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
    return {
      connected: this.connected,
      transport: this.url.startsWith('wss:') ? 'wss' : 'ws',
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
    this.detach();
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

  private closed(code: number, reason: string, reconnect: boolean): void {
    let reconnectInMs: number | null = null;
    if (reconnect && !this.closedByUser && (this.options.reconnect ?? true)) {
      const base = this.options.reconnectDelayMs ?? 250;
      const max = this.options.maxReconnectDelayMs ?? 10_000;
      // Exponential backoff with jitter, so that a server restart is not met by every
      // client at the same instant.
      const delay = Math.min(max, base * 2 ** this.attempts) * (0.75 + Math.random() * 0.25);
      this.attempts = Math.min(this.attempts + 1, 30);
      reconnectInMs = Math.round(delay);
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = null;
        if (this.socket === null && !this.waitingForToken) {
          this.open(false);
        }
      }, reconnectInMs);
    }
    this.emit('close', { code, reason, reconnectInMs });
  }

  private clearReconnect(): void {
    if (this.reconnectTimer !== null) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
    }
  }
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
