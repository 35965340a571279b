/**
 * The client's copy of the world, built from snapshots: `shared/src/mirror.rs` in
 * TypeScript.
 *
 * A {@link Mirror} resolves each frame's relative tick and input ack, decodes and applies
 * the body against what it holds ({@link applyBody}) and verifies the checksum, which it
 * keeps up to date incrementally: the wrapping u32 sum of the held entities' CRC-32s,
 * changed in O(changed entities) per snapshot. It numbers the frames it applies, as
 * predicted bodies need (see {@link applyBody}). It is sans-IO (bytes in, state out), so
 * the golden vectors from the Rust mirror test it directly.
 */

import { applyBody, HeldEntity, type HeldSet } from './body.js';
import { ChecksumMismatchError, DecodeError } from './errors.js';
import type { NetId, SnapshotFrame } from './protocol.js';

export { HeldEntity, type EntityState } from './body.js';

/** What applying one snapshot did. */
export interface Applied {
  /** The mirror's (absolute) tick now. */
  readonly tick: number;
  /** The last input seq the server has applied, or null if none yet. */
  readonly ack: number | null;
  /** Whether the ack moved (or was first given) with this snapshot. */
  readonly ackChanged: boolean;
  /** Whether the snapshot carried a checksum and it was verified. */
  readonly checksumVerified: boolean;
  /** Whether the snapshot was full (the world was cleared first). */
  readonly full: boolean;
  /** Entities spawned (or replaced), updated, despawned. */
  readonly spawned: readonly HeldEntity[];
  readonly updated: readonly HeldEntity[];
  readonly despawned: readonly HeldEntity[];
}

/** Held entities, the tick they are from and the last acknowledged input. */
export class Mirror {
  private readonly held: HeldSet = { entities: new Map(), checksum: 0, frames: 0 };
  private currentTick: number | null = null;
  private currentAck: number | null = null;

  /** The tick of the last applied snapshot, or null before the first. */
  get tick(): number | null {
    return this.currentTick;
  }

  /** The last input seq the server acknowledged, or null if none was applied yet. */
  get ack(): number | null {
    return this.currentAck;
  }

  /** The checksum of the held state, as the server computes it. */
  get checksum(): number {
    return this.held.checksum;
  }

  /**
   * Snapshot frames applied since the last reset (u32, wrapping), every one counted: full
   * or delta, empty body or not. Predicted bodies (protocol 4) are decoded against the
   * motion of the entities' updates in the previous frame.
   */
  get frames(): number {
    return this.held.frames;
  }

  /** Number of held entities. */
  get size(): number {
    return this.held.entities.size;
  }

  /** The held entities by slot index (unordered; do not modify). */
  get entities(): ReadonlyMap<number, HeldEntity> {
    return this.held.entities;
  }

  /** The entity in slot `index`, if held. */
  entityAt(index: number): HeldEntity | undefined {
    return this.held.entities.get(index);
  }

  /** The entity `id`, if held with that generation. */
  get(id: NetId): HeldEntity | undefined {
    const entity = this.held.entities.get(id.index);
    return entity?.id.generation === id.generation ? entity : undefined;
  }

  /** Every held entity in slot order. */
  sorted(): HeldEntity[] {
    return [...this.held.entities.values()].sort((a, b) => a.id.index - b.id.index);
  }

  /** Forgets everything (a new connection starts from a full snapshot). */
  reset(): void {
    this.held.entities.clear();
    this.held.checksum = 0;
    this.held.frames = 0;
    this.currentTick = null;
    this.currentAck = null;
  }

  /**
   * Applies one snapshot frame. Throws {@link DecodeError} when the body does not fit the
   * mirror and {@link ChecksumMismatchError} when the result differs from the server's
   * (only if `verifyChecksum`); either way the mirror has diverged and should be reset
   * from a new connection.
   */
  applyFrame(frame: SnapshotFrame, verifyChecksum = true): Applied {
    let tick: number;
    if (frame.full) {
      tick = frame.tick;
    } else if (this.currentTick === null) {
      throw new DecodeError('no-baseline', 'a delta snapshot arrived before the first full snapshot');
    } else {
      // Relative ticks wrap at 2^32 like the ticks themselves.
      tick = (this.currentTick + frame.tick) >>> 0;
    }
    if (frame.full) {
      this.held.entities.clear();
      this.held.checksum = 0;
    }
    const previousAck = this.currentAck;
    if (frame.ack !== null) {
      // An advance before any absolute ack counts from 0, as the reference mirror does.
      this.currentAck = frame.ackAbsolute ? frame.ack : ((this.currentAck ?? 0) + frame.ack) >>> 0;
    }
    this.currentTick = tick;
    // Every frame is counted (an empty body too): predicted bodies count on it.
    const changes = applyBody(frame.body, this.held);
    let checksumVerified = false;
    if (changes.checksum !== null && verifyChecksum) {
      if (changes.checksum !== this.held.checksum) {
        throw new ChecksumMismatchError(tick, changes.checksum, this.held.checksum);
      }
      checksumVerified = true;
    }
    return {
      tick,
      ack: this.currentAck,
      ackChanged: this.currentAck !== previousAck,
      checksumVerified,
      full: frame.full,
      spawned: changes.spawned,
      updated: changes.updated,
      despawned: changes.despawned,
    };
  }
}

/** `a - b` for wrapping u32 sequence numbers and ticks, as a signed distance. */
export function wrappingDiff(a: number, b: number): number {
  return (a - b) | 0;
}
