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
/** Predicts one entity from its inputs and reconciles it with the server's. */
export declare class Predictor<S> {
    readonly model: PredictionModel<S>;
    private readonly pending;
    private current;
    private previous;
    private steppedAt;
    private readonly dt;
    private readonly tickMs;
    constructor(model: PredictionModel<S>, tickRate: number);
    /** The predicted state after the last input, or null while not predicting. */
    get state(): S | null;
    /** Number of inputs sent and not yet acknowledged. */
    get unacknowledged(): number;
    /** Forgets everything (a new connection). */
    reset(): void;
    /**
     * Forgets the inputs not yet acknowledged, keeping the state (a resumed session: the
     * inputs sent on the connection that dropped are either covered by the new connection's
     * first ack or were dropped by the server with it; none is to be replayed).
     */
    dropPending(): void;
    /** Records input `seq` as sent at `now` (ms) and steps the prediction with it. */
    input(seq: number, input: InputValues, now: number): void;
    /**
     * Takes the server's entity as of the snapshot whose last applied input is `ack` (null:
     * none applied yet) and replays the inputs after it. Returns the prediction error for
     * the acknowledged input (the distance between where it was predicted to leave the
     * player and where the server put it), or null if there is none to measure.
     */
    reconcile(ack: number | null, entity: HeldEntity | undefined): number | null;
    /**
     * The state to draw at `now`: blended from the previous prediction to the current one
     * over one tick after the last input, so motion is smooth at any frame rate.
     */
    render(now: number): S | null;
}
