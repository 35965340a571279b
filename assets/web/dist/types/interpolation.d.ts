/**
 * Entity interpolation: remote entities are drawn a little in the past, between the two
 * buffered snapshots around the render time, so they move smoothly at any frame rate
 * although snapshots arrive 30 times a second and with jitter.
 *
 * Snapshot ticks are mapped to local time by an offset that follows the earliest
 * arrivals (a late snapshot is jitter; an early one shows the real offset) and relaxes
 * slowly so that clock drift is followed. The render time is `now - offset - delay`.
 *
 * Fields interpolate by their schema: `wrap > 0` fields the short way round (angles),
 * linear fields linearly, and discrete fields (unit scale, no wrap: health, kind, score)
 * step to the newer value. An entity that appears snaps in; one whose slot now holds
 * another generation is not blended with its predecessor.
 */
import type { HeldEntity } from './body.js';
import type { FieldSchema, SchemaDecoder, WorldEntity } from './schema.js';
/** One buffered snapshot. */
export interface BufferedSnapshot {
    /** The snapshot's tick, unwrapped into an ever-increasing number. */
    readonly tick: number;
    /** The held entities after it, by slot (entities are immutable, so this is a shallow copy). */
    readonly entities: ReadonlyMap<number, HeldEntity>;
}
/** The two snapshots around a render time and how far between them it is. */
export interface SnapshotPair {
    readonly from: BufferedSnapshot;
    readonly to: BufferedSnapshot;
    /** 0 at `from`, 1 at `to`. */
    readonly t: number;
}
export interface InterpolatorOptions {
    /** How far behind the newest snapshot entities are drawn, in milliseconds. */
    readonly delayMs: number;
    /** The room's simulation rate (ticks per second). */
    readonly tickRate: number;
    /** Whether a field steps instead of blending (default: unit scale and no wrap). */
    readonly isDiscrete?: (field: FieldSchema) => boolean;
}
/** A snapshot buffer that renders entities between snapshots. */
export declare class Interpolator {
    private readonly decoder;
    private readonly options;
    private readonly buffer;
    private lastTick;
    private lastUnwrapped;
    private offset;
    private readonly msPerTick;
    private readonly isDiscrete;
    constructor(decoder: SchemaDecoder, options: InterpolatorOptions);
    /** Number of buffered snapshots. */
    get length(): number;
    /** Forgets every snapshot and the clock (after a reconnect). */
    reset(): void;
    /** Buffers the state after the snapshot of `tick`, received at local time `receivedAt` (ms). */
    push(tick: number, entities: ReadonlyMap<number, HeldEntity>, receivedAt: number): void;
    /** The (unwrapped, fractional) tick to render at local time `now`, or null if empty. */
    renderTick(now: number): number | null;
    /**
     * The snapshots around the render time at `now`: before the oldest, the oldest alone;
     * past the newest (the buffer ran dry), the newest alone. Drops snapshots no longer
     * needed.
     */
    pair(now: number): SnapshotPair | null;
    /** Every entity of the render time at `now`, as world values. */
    sample(now: number): WorldEntity[];
    /** One entity at the render time at `now` (null if not in the newer snapshot). */
    entity(index: number, now: number): WorldEntity | null;
    /** `to` blended from `from` by `t`, as world values (`from` absent: `to` as it is). */
    blend(from: HeldEntity | undefined, to: HeldEntity, t: number): WorldEntity;
}
/**
 * The world value of a field between quantized `a` (t = 0) and `b` (t = 1): wrapping
 * fields the short way round, within `[0, wrap)`.
 */
export declare function interpolateField(field: FieldSchema, a: number, b: number, t: number): number;
