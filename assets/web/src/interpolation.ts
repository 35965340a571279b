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
import { wrappingDiff } from './mirror.js';
import type { FieldSchema, SchemaDecoder, WorldComponents, WorldEntity } from './schema.js';
import { wrapInteger } from './schema.js';

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

/** Oldest arrival-time deviation taken as a new clock rather than jitter, in ms. */
const OFFSET_RESET_MS = 1000;
/** How fast the offset relaxes towards later arrivals, per snapshot. */
const OFFSET_RELAX = 0.01;
/** Most snapshots kept, whatever the delay. */
const MAX_BUFFERED = 256;

function defaultDiscrete(field: FieldSchema): boolean {
  return field.scale === 1 && field.wrap === 0;
}

/** A snapshot buffer that renders entities between snapshots. */
export class Interpolator {
  private readonly buffer: BufferedSnapshot[] = [];
  private lastTick: number | null = null;
  private lastUnwrapped = 0;
  private offset: number | null = null;
  private readonly msPerTick: number;
  private readonly isDiscrete: (field: FieldSchema) => boolean;

  constructor(
    private readonly decoder: SchemaDecoder,
    private readonly options: InterpolatorOptions,
  ) {
    this.msPerTick = 1000 / options.tickRate;
    this.isDiscrete = options.isDiscrete ?? defaultDiscrete;
  }

  /** Number of buffered snapshots. */
  get length(): number {
    return this.buffer.length;
  }

  /** Forgets every snapshot and the clock (after a reconnect). */
  reset(): void {
    this.buffer.length = 0;
    this.lastTick = null;
    this.offset = null;
  }

  /** Buffers the state after the snapshot of `tick`, received at local time `receivedAt` (ms). */
  push(tick: number, entities: ReadonlyMap<number, HeldEntity>, receivedAt: number): void {
    const unwrapped = this.lastTick === null ? tick : this.lastUnwrapped + wrappingDiff(tick, this.lastTick);
    if (this.lastTick !== null && unwrapped <= this.lastUnwrapped) {
      // Ticks only go forward on one connection; anything else is a new timeline.
      this.reset();
      this.push(tick, entities, receivedAt);
      return;
    }
    this.lastTick = tick;
    this.lastUnwrapped = unwrapped;
    const sample = receivedAt - unwrapped * this.msPerTick;
    if (this.offset === null || Math.abs(sample - this.offset) > OFFSET_RESET_MS) {
      this.offset = sample;
    } else if (sample < this.offset) {
      this.offset = sample;
    } else {
      this.offset += (sample - this.offset) * OFFSET_RELAX;
    }
    this.buffer.push({ tick: unwrapped, entities: new Map(entities) });
    // Snapshots a second older than the render time will never be drawn again; dropped
    // here too, so that a client that does not render keeps no more than that.
    const at = this.renderTick(receivedAt)! - 1000 / this.msPerTick;
    while (this.buffer.length > MAX_BUFFERED || (this.buffer.length > 2 && this.buffer[1]!.tick <= at)) {
      this.buffer.shift();
    }
  }

  /** The (unwrapped, fractional) tick to render at local time `now`, or null if empty. */
  renderTick(now: number): number | null {
    if (this.offset === null) {
      return null;
    }
    return (now - this.offset - this.options.delayMs) / this.msPerTick;
  }

  /**
   * The snapshots around the render time at `now`: before the oldest, the oldest alone;
   * past the newest (the buffer ran dry), the newest alone. Drops snapshots no longer
   * needed.
   */
  pair(now: number): SnapshotPair | null {
    const at = this.renderTick(now);
    if (at === null || this.buffer.length === 0) {
      return null;
    }
    const buffer = this.buffer;
    // Keep one snapshot at or before the render time; older ones are done with.
    while (buffer.length > 2 && buffer[1]!.tick <= at) {
      buffer.shift();
    }
    const first = buffer[0]!;
    if (at < first.tick || buffer.length === 1) {
      const only = at < first.tick ? first : buffer[buffer.length - 1]!;
      return { from: only, to: only, t: 1 };
    }
    for (let i = 0; i + 1 < buffer.length; i++) {
      const from = buffer[i]!;
      const to = buffer[i + 1]!;
      if (at < to.tick) {
        return { from, to, t: (at - from.tick) / (to.tick - from.tick) };
      }
    }
    const newest = buffer[buffer.length - 1]!;
    return { from: newest, to: newest, t: 1 };
  }

  /** Every entity of the render time at `now`, as world values. */
  sample(now: number): WorldEntity[] {
    const pair = this.pair(now);
    if (pair === null) {
      return [];
    }
    const out: WorldEntity[] = [];
    for (const [index, to] of pair.to.entities) {
      out.push(this.blend(pair.from.entities.get(index), to, pair.t));
    }
    return out;
  }

  /** One entity at the render time at `now` (null if not in the newer snapshot). */
  entity(index: number, now: number): WorldEntity | null {
    const pair = this.pair(now);
    const to = pair?.to.entities.get(index);
    if (pair === null || to === undefined) {
      return null;
    }
    return this.blend(pair.from.entities.get(index), to, pair.t);
  }

  /** `to` blended from `from` by `t`, as world values (`from` absent: `to` as it is). */
  blend(from: HeldEntity | undefined, to: HeldEntity, t: number): WorldEntity {
    const same = from !== undefined && from.id.generation === to.id.generation;
    const components: WorldComponents = {};
    for (let c = 0; c < to.kinds.length; c++) {
      const kind = to.kinds[c]!;
      const toFields = to.fields[c]!;
      const schema = this.decoder.component(kind, toFields.length);
      // Usually the same shape: the same position holds the same kind.
      const fromFields = !same ? undefined : from.kinds[c] === kind ? from.fields[c] : from.component(kind);
      const values: Record<string, number> = {};
      for (let at = 0; at < toFields.length; at++) {
        const field: FieldSchema = schema.fields[at] ?? { name: `f${at}`, scale: 1, wrap: 0 };
        const b = toFields[at]!;
        const a = fromFields?.length === toFields.length ? fromFields[at]! : b;
        values[field.name] = interpolateField(field, a, b, this.isDiscrete(field) ? 1 : t);
      }
      components[schema.name] = values;
    }
    return { id: to.id, components };
  }
}

/**
 * The world value of a field between quantized `a` (t = 0) and `b` (t = 1): wrapping
 * fields the short way round, within `[0, wrap)`.
 */
export function interpolateField(field: FieldSchema, a: number, b: number, t: number): number {
  if (field.wrap > 0) {
    const wrap = field.wrap;
    let delta = wrapInteger(b - a, wrap);
    if (delta > wrap / 2) {
      delta -= wrap;
    }
    return wrapInteger(wrapInteger(a, wrap) + delta * t, wrap) * field.scale;
  }
  return (a + (b - a) * t) * field.scale;
}
