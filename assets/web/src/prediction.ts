/**
 * Client-side prediction of the local player.
 *
 * Each input the client sends is stepped at once on the predicted state, so the player
 * moves without waiting a round trip. Each snapshot brings the server's state of the
 * player as of the last input it applied (the ack): the predictor takes that state and
 * replays the inputs not yet acknowledged on top of it (reconciliation). With a step
 * function identical to the server's, the replay lands exactly where the prediction was,
 * and the difference is the prediction error.
 *
 * The game supplies the {@link PredictionModel}; the arena's is in `arena.ts`.
 */

import type { HeldEntity } from './body.js';
import { wrappingDiff } from './mirror.js';
import type { InputValues } from './schema.js';

/** What the predictor needs to know about a game's local player. */
export interface PredictionModel<S> {
  /** The player's state from the server's copy of its entity, or null to not predict it (dead, say). */
  fromServer(entity: HeldEntity): S | null;
  /** One tick of the server's rule: `state` after `input`, `dt` seconds later. */
  step(state: S, input: InputValues, dt: number): S;
  /** How far apart two states are, in world units (for the prediction error). */
  distance(a: S, b: S): number;
  /** A state `t` of the way from `a` to `b` (for drawing between ticks). */
  blend(a: S, b: S, t: number): S;
}

/** An input sent and not yet acknowledged, with the state predicted after it. */
interface Pending<S> {
  readonly seq: number;
  readonly input: InputValues;
  state: S | null;
}

/** Most unacknowledged inputs kept (a server that stops acking must not grow this forever). */
const MAX_PENDING = 1024;

/** Predicts one entity from its inputs and reconciles it with the server's. */
export class Predictor<S> {
  private readonly pending: Pending<S>[] = [];
  private current: S | null = null;
  private previous: S | null = null;
  private steppedAt = 0;
  private readonly dt: number;
  private readonly tickMs: number;

  constructor(
    readonly model: PredictionModel<S>,
    tickRate: number,
  ) {
    this.dt = 1 / tickRate;
    this.tickMs = 1000 / tickRate;
  }

  /** The predicted state after the last input, or null while not predicting. */
  get state(): S | null {
    return this.current;
  }

  /** Number of inputs sent and not yet acknowledged. */
  get unacknowledged(): number {
    return this.pending.length;
  }

  /** Forgets everything (a new connection). */
  reset(): void {
    this.pending.length = 0;
    this.current = null;
    this.previous = null;
  }

  /**
   * Forgets the inputs not yet acknowledged, keeping the state (a resumed session: the
   * inputs sent on the connection that dropped are either covered by the new connection's
   * first ack or were dropped by the server with it; none is to be replayed).
   */
  dropPending(): void {
    this.pending.length = 0;
  }

  /** Records input `seq` as sent at `now` (ms) and steps the prediction with it. */
  input(seq: number, input: InputValues, now: number): void {
    let state: S | null = null;
    if (this.current !== null) {
      state = this.model.step(this.current, input, this.dt);
      this.previous = this.current;
      this.current = state;
      this.steppedAt = now;
    }
    this.pending.push({ seq, input, state });
    if (this.pending.length > MAX_PENDING) {
      this.pending.shift();
    }
  }

  /**
   * Takes the server's entity as of the snapshot whose last applied input is `ack` (null:
   * none applied yet) and replays the inputs after it. Returns the prediction error for
   * the acknowledged input (the distance between where it was predicted to leave the
   * player and where the server put it), or null if there is none to measure.
   */
  reconcile(ack: number | null, entity: HeldEntity | undefined): number | null {
    let acked: Pending<S> | undefined;
    if (ack !== null) {
      while (this.pending.length > 0 && wrappingDiff(this.pending[0]!.seq, ack) <= 0) {
        acked = this.pending.shift();
      }
      if (acked?.seq !== ack) {
        acked = undefined;
      }
    }
    const server = entity === undefined ? null : this.model.fromServer(entity);
    if (server === null) {
      this.current = null;
      this.previous = null;
      for (const pending of this.pending) {
        pending.state = null;
      }
      return null;
    }
    const predicted = acked === undefined ? null : acked.state;
    const error = predicted === null ? null : this.model.distance(predicted, server);
    let state: S = server;
    for (const pending of this.pending) {
      state = this.model.step(state, pending.input, this.dt);
      pending.state = state;
    }
    if (this.current === null) {
      this.previous = null;
    }
    this.current = state;
    return error;
  }

  /**
   * The state to draw at `now`: blended from the previous prediction to the current one
   * over one tick after the last input, so motion is smooth at any frame rate.
   */
  render(now: number): S | null {
    if (this.current === null) {
      return null;
    }
    if (this.previous === null) {
      return this.current;
    }
    const t = Math.min(1, Math.max(0, (now - this.steppedAt) / this.tickMs));
    return this.model.blend(this.previous, this.current, t);
  }
}
