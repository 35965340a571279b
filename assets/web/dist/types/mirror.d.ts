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
import { HeldEntity } from './body.js';
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
export declare class Mirror {
    private readonly held;
    private currentTick;
    private currentAck;
    /** The tick of the last applied snapshot, or null before the first. */
    get tick(): number | null;
    /** The last input seq the server acknowledged, or null if none was applied yet. */
    get ack(): number | null;
    /** The checksum of the held state, as the server computes it. */
    get checksum(): number;
    /**
     * Snapshot frames applied since the last reset (u32, wrapping), every one counted: full
     * or delta, empty body or not. Predicted bodies (protocol 4) are decoded against the
     * motion of the entities' updates in the previous frame.
     */
    get frames(): number;
    /** Number of held entities. */
    get size(): number;
    /** The held entities by slot index (unordered; do not modify). */
    get entities(): ReadonlyMap<number, HeldEntity>;
    /** The entity in slot `index`, if held. */
    entityAt(index: number): HeldEntity | undefined;
    /** The entity `id`, if held with that generation. */
    get(id: NetId): HeldEntity | undefined;
    /** Every held entity in slot order. */
    sorted(): HeldEntity[];
    /** Forgets everything (a new connection starts from a full snapshot). */
    reset(): void;
    /**
     * Applies one snapshot frame. Throws {@link DecodeError} when the body does not fit the
     * mirror and {@link ChecksumMismatchError} when the result differs from the server's
     * (only if `verifyChecksum`); either way the mirror has diverged and should be reset
     * from a new connection.
     */
    applyFrame(frame: SnapshotFrame, verifyChecksum?: boolean): Applied;
}
/** `a - b` for wrapping u32 sequence numbers and ticks, as a signed distance. */
export declare function wrappingDiff(a: number, b: number): number;
