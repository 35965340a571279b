/**
 * Decodes a snapshot body and applies it to the held entities in one pass, mirroring
 * `apply_body` in `shared/src/delta.rs`:
 *
 * ```
 * body     = has_checksum:1 [checksum:32] despawns updates spawns
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
 * An entity as a mirror holds it: its state and the hash the checksum sums. Immutable.
 *
 * Components are kept as two parallel lists in kind order (`kinds`, `fields`), which is
 * what decoding walks; the `components` map is made from them the first time it is asked
 * for. An update shares the id, the kind list and every unchanged field list with the
 * entity it replaces, so a snapshot that moves a thousand entities allocates little.
 */
export declare class HeldEntity implements EntityState {
    readonly id: NetId;
    /** Component kinds, strictly increasing. */
    readonly kinds: readonly number[];
    /** Each component's quantized fields, in the order of `kinds`. */
    readonly fields: readonly (readonly number[])[];
    readonly hash: number;
    private map;
    constructor(id: NetId, 
    /** Component kinds, strictly increasing. */
    kinds: readonly number[], 
    /** Each component's quantized fields, in the order of `kinds`. */
    fields: readonly (readonly number[])[], 
    /** The hash if already known (an update works it out from the change). */
    hash?: number);
    /** An entity from a map of kind to fields (iterated in kind order). */
    static of(index: number, generation: number, components: ReadonlyMap<number, readonly number[]>): HeldEntity;
    /** Quantized fields by component kind, in kind order. */
    get components(): ReadonlyMap<number, readonly number[]>;
    /** The fields of the `kind` component, if the entity has one. */
    component(kind: number): readonly number[] | undefined;
}
/** Entities held by slot index (one per slot), with the wrapping sum of their hashes. */
export interface HeldSet {
    readonly entities: Map<number, HeldEntity>;
    checksum: number;
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
 * Decodes `bytes` against `held` and applies it, keeping `held.checksum` the sum of the
 * held hashes. Throws a {@link DecodeError} on any fault; `held` may then be partly
 * changed (still consistent with its checksum), and the caller treats it as diverged.
 */
export declare function applyBody(bytes: Uint8Array, held: HeldSet): BodyChanges;
