/**
 * Decodes a snapshot body and applies it to the held entities in one pass, mirroring
 * `apply_body` in `shared/src/delta.rs`:
 *
 * ```
 * body     = has_checksum:1 [checksum:32] predicted:1 despawns updates spawns
 * despawns = count:EG(0) { index_gap:EG(0) }*count
 * updates  = count:EG(0) { index_gap:EG(0) component_update* }*count
 * spawns   = count:EG(0) { index_gap:EG(0) generation_half:EG(0) components:EG(0)
 *                          { kind_gap:EG(0) fields:EG(0) { value:S(2) }*fields }*components }*count
 * ```
 *
 * Updates are read against the held shape (one bit per held component, one per field of a
 * changed one), so the body can only be decoded by the mirror it was taken against; an
 * update or despawn of a slot not held is a divergence. Held entities are immutable: an
 * update makes a new entity object sharing the unchanged field arrays, so a reference
 * kept from an earlier snapshot (the interpolation buffer keeps them) never changes.
 *
 * In a plain body (`predicted` 0) each coded field carries `current - held`. In a
 * predicted body (protocol 4) the bits and values are taken against a prediction,
 * `held + motion`, where `motion` is what the entity's update in the previous frame changed
 * each field by (none if the previous frame did not update it): a field whose bit is 0
 * takes the predicted value, a coded one `predicted + residual`, and an update with no
 * component bit set is an entity that moved exactly as predicted (an update that leaves
 * the entity as it was is malformed in either kind of body). Every update, plain or
 * predicted, records its frame number and the fields it started from on the entity it
 * makes: its motion is the difference, so remembering it allocates nothing.
 */
import type { NetId } from './protocol.js';
/** Most components one entity may have on the wire. */
export declare const MAX_COMPONENTS = 32;
/** Most fields one component may have on the wire. */
export declare const MAX_FIELDS = 32;
/** One replicated entity as the wire sees it. */
export interface EntityState {
    readonly id: NetId;
    /** Quantized fields by component kind, in kind order. */
    readonly components: ReadonlyMap<number, readonly number[]>;
}
/**
 * An entity as a mirror holds it: its state, the hash the checksum sums and what its last
 * update did (for predicted bodies). Immutable.
 *
 * Components are kept as two parallel lists in kind order (`kinds`, `fields`), which is
 * what decoding walks; the `components` map is made from them the first time it is asked
 * for. An update shares the id, the kind list and every unchanged field list with the
 * entity it replaces, so a snapshot that moves a thousand entities allocates little. It
 * also keeps the replaced entity's field lists (`previousFields`, shared, not copied):
 * the update's motion is the difference.
 */
export declare class HeldEntity implements EntityState {
    readonly id: NetId;
    /** Component kinds, strictly increasing. */
    readonly kinds: readonly number[];
    /** Each component's quantized fields, in the order of `kinds`. */
    readonly fields: readonly (readonly number[])[];
    /**
     * The fields of the entity the update that made this one replaced (its `fields`,
     * shared), so that `fields - previousFields` is what that update changed each field
     * by; null for an entity not made by an update (a spawn).
     */
    readonly previousFields: readonly (readonly number[])[] | null;
    /** The number of the frame ({@link HeldSet.frames}) whose update made this entity. */
    readonly updateFrame: number;
    readonly hash: number;
    private map;
    constructor(id: NetId, 
    /** Component kinds, strictly increasing. */
    kinds: readonly number[], 
    /** Each component's quantized fields, in the order of `kinds`. */
    fields: readonly (readonly number[])[], 
    /** The hash if already known (an update works it out from the change). */
    hash?: number, 
    /**
     * The fields of the entity the update that made this one replaced (its `fields`,
     * shared), so that `fields - previousFields` is what that update changed each field
     * by; null for an entity not made by an update (a spawn).
     */
    previousFields?: readonly (readonly number[])[] | null, 
    /** The number of the frame ({@link HeldSet.frames}) whose update made this entity. */
    updateFrame?: number);
    /** An entity from a map of kind to fields (iterated in kind order). */
    static of(index: number, generation: number, components: ReadonlyMap<number, readonly number[]>): HeldEntity;
    /** Quantized fields by component kind, in kind order. */
    get components(): ReadonlyMap<number, readonly number[]>;
    /**
     * What the update that made this entity changed each field by (`new - old`, wrapping
     * i32; 0 for a field it left alone), flattened over the components in order, then their
     * fields: the motion a predicted body in the frame after {@link updateFrame} adds to the
     * held values. Null for an entity not made by an update (a spawn). Made on each call.
     */
    get motion(): number[] | null;
    /** The fields of the `kind` component, if the entity has one. */
    component(kind: number): readonly number[] | undefined;
}
/**
 * Entities held by slot index (one per slot), with the wrapping sum of their hashes and
 * the number of frames applied so far.
 */
export interface HeldSet {
    readonly entities: Map<number, HeldEntity>;
    checksum: number;
    /**
     * Snapshot frames applied so far (u32, wrapping): every frame counts, full or delta,
     * empty body or not, and each frame's number is the count before it. {@link applyBody}
     * counts the frame it applies (an empty body too); predicted bodies use the numbers to
     * tell whether an entity's last update came in the previous frame.
     */
    frames: number;
}
/** What one body did. */
export interface BodyChanges {
    /** The checksum the body carried, if any. */
    readonly checksum: number | null;
    /** Entities spawned or replaced, as held now. */
    readonly spawned: HeldEntity[];
    /** Entities updated field by field, as held now. */
    readonly updated: HeldEntity[];
    /** Entities despawned, as they were held. */
    readonly despawned: HeldEntity[];
}
/**
 * Decodes `bytes`, the body of the next snapshot frame, against `held` and applies it,
 * keeping `held.checksum` the sum of the held hashes and counting the frame in
 * `held.frames`. An empty body is a frame in which nothing the client sees changed. Throws
 * a {@link DecodeError} on any fault; `held` may then be partly changed (still consistent
 * with its checksum), and the caller treats it as diverged.
 */
export declare function applyBody(bytes: Uint8Array, held: HeldSet): BodyChanges;
