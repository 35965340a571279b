/**
 * CRC-32 (IEEE, as zlib's `crc32`) and the entity hash the snapshot checksum sums,
 * mirroring `shared/src/state.rs`.
 *
 * An entity's hash is the CRC of its little-endian `u32 index, u32 generation, u32
 * component count`, then per component the bytes `kind, field count` and each field as a
 * little-endian i32. The hash is computed straight from the values, four bytes at a time
 * through slicing tables, with no byte buffer in between: a mirror rehashes every entity
 * a snapshot changes.
 */
/** Feeds the four little-endian bytes of `value` into the (pre-inverted) register `crc`. */
export declare function word(crc: number, value: number): number;
/** Feeds one byte into the (pre-inverted) register `crc`. */
export declare function byte(crc: number, value: number): number;
/** CRC-32 of `bytes` (the same value as zlib's `crc32(0, bytes)`). */
export declare function crc32(bytes: Uint8Array): number;
/**
 * Hash of one entity, as `entity_hash` in `shared/src/state.rs`. `components` must be
 * in kind order (the wire's order), with at most 255 fields each.
 */
export declare function entityHash(index: number, generation: number, components: ReadonlyMap<number, readonly number[]>): number;
/** {@link entityHash} of components given as parallel lists of kinds and fields. */
export declare function entityHashOf(index: number, generation: number, kinds: readonly number[], fields: readonly (readonly number[])[]): number;
/**
 * How an entity's hash changes when some of its fields change (same id, same component
 * kinds and sizes), as `HashChange` in `shared/src/state.rs`: CRC-32 is affine, so the
 * hashes of two equal-length inputs differ by the plain CRC (zero start, no final
 * inversion) of the inputs' XOR. That XOR is zero up to the first changed field, where
 * the register is still zero, so the work starts there. Feed every component header and
 * field in order, then XOR the register into the old hash.
 */
export declare function hashChangeHeader(register: number): number;
/** Feeds one field that was `before` and is now `after` into a hash change register. */
export declare function hashChangeField(register: number, before: number, after: number): number;
