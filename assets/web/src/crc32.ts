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

const POLYNOMIAL = 0xedb88320;

/**
 * `TABLES[k * 256 + b]`: the register after byte `b` followed by `k` zero bytes. Signed
 * 32-bit entries: the same bits as unsigned ones, but engines keep them as small
 * integers, where unsigned values above 2^31 would be boxed as doubles on every load.
 */
const TABLES: Int32Array = buildTables();

function buildTables(): Int32Array {
  const tables = new Int32Array(4 * 256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 1 ? (crc >>> 1) ^ POLYNOMIAL : crc >>> 1;
    }
    tables[byte] = crc;
  }
  for (let k = 1; k < 4; k++) {
    for (let byte = 0; byte < 256; byte++) {
      const previous = tables[(k - 1) * 256 + byte]!;
      tables[k * 256 + byte] = (previous >>> 8) ^ tables[previous & 0xff]!;
    }
  }
  return tables;
}

/** Feeds the four little-endian bytes of `value` into the (pre-inverted) register `crc`. */
export function word(crc: number, value: number): number {
  const x = crc ^ value;
  return (
    TABLES[768 + (x & 0xff)]! ^
    TABLES[512 + ((x >>> 8) & 0xff)]! ^
    TABLES[256 + ((x >>> 16) & 0xff)]! ^
    TABLES[(x >>> 24) & 0xff]!
  );
}

/** Feeds one byte into the (pre-inverted) register `crc`. */
export function byte(crc: number, value: number): number {
  return (crc >>> 8) ^ TABLES[(crc ^ value) & 0xff]!;
}

/** CRC-32 of `bytes` (the same value as zlib's `crc32(0, bytes)`). */
export function crc32(bytes: Uint8Array): number {
  let crc = ~0;
  for (const value of bytes) {
    crc = byte(crc, value);
  }
  return ~crc >>> 0;
}

/**
 * Hash of one entity, as `entity_hash` in `shared/src/state.rs`. `components` must be
 * in kind order (the wire's order), with at most 255 fields each.
 */
export function entityHash(index: number, generation: number, components: ReadonlyMap<number, readonly number[]>): number {
  return entityHashOf(index, generation, [...components.keys()], [...components.values()]);
}

/** {@link entityHash} of components given as parallel lists of kinds and fields. */
export function entityHashOf(
  index: number,
  generation: number,
  kinds: readonly number[],
  fields: readonly (readonly number[])[],
): number {
  let crc = word(~0, index);
  crc = word(crc, generation);
  crc = word(crc, kinds.length);
  for (let c = 0; c < kinds.length; c++) {
    const values = fields[c]!;
    crc = byte(byte(crc, kinds[c]!), values.length);
    for (let i = 0; i < values.length; i++) {
      crc = word(crc, values[i]!);
    }
  }
  return ~crc >>> 0;
}

/**
 * How an entity's hash changes when some of its fields change (same id, same component
 * kinds and sizes), as `HashChange` in `shared/src/state.rs`: CRC-32 is affine, so the
 * hashes of two equal-length inputs differ by the plain CRC (zero start, no final
 * inversion) of the inputs' XOR. That XOR is zero up to the first changed field, where
 * the register is still zero, so the work starts there. Feed every component header and
 * field in order, then XOR the register into the old hash.
 */
export function hashChangeHeader(register: number): number {
  return register === 0 ? 0 : byte(byte(register, 0), 0);
}

/** Feeds one field that was `before` and is now `after` into a hash change register. */
export function hashChangeField(register: number, before: number, after: number): number {
  const difference = before ^ after;
  return register === 0 && difference === 0 ? 0 : word(register, difference);
}
