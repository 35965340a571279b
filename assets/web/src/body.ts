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

import { BitReader } from './bits.js';
import { entityHashOf, hashChangeField, hashChangeHeader } from './crc32.js';
import { DecodeError } from './errors.js';
import type { NetId } from './protocol.js';

/** Exp-Golomb order of field deltas and values. */
const FIELD_ORDER = 2;
/** Most components one entity may have on the wire. */
export const MAX_COMPONENTS = 32;
/** Most fields one component may have on the wire. */
export const MAX_FIELDS = 32;

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
export class HeldEntity implements EntityState {
  readonly hash: number;
  private map: ReadonlyMap<number, readonly number[]> | null = null;

  constructor(
    readonly id: NetId,
    /** Component kinds, strictly increasing. */
    readonly kinds: readonly number[],
    /** Each component's quantized fields, in the order of `kinds`. */
    readonly fields: readonly (readonly number[])[],
    /** The hash if already known (an update works it out from the change). */
    hash?: number,
    /**
     * The fields of the entity the update that made this one replaced (its `fields`,
     * shared), so that `fields - previousFields` is what that update changed each field
     * by; null for an entity not made by an update (a spawn).
     */
    readonly previousFields: readonly (readonly number[])[] | null = null,
    /** The number of the frame ({@link HeldSet.frames}) whose update made this entity. */
    readonly updateFrame: number = 0,
  ) {
    this.hash = hash ?? entityHashOf(id.index, id.generation, kinds, fields);
  }

  /** An entity from a map of kind to fields (iterated in kind order). */
  static of(index: number, generation: number, components: ReadonlyMap<number, readonly number[]>): HeldEntity {
    const kinds = [...components.keys()];
    if (kinds.some((kind, at) => at > 0 && kind <= kinds[at - 1]!)) {
      throw new Error('components must be in increasing kind order');
    }
    return new HeldEntity({ index, generation }, kinds, [...components.values()]);
  }

  /** Quantized fields by component kind, in kind order. */
  get components(): ReadonlyMap<number, readonly number[]> {
    this.map ??= new Map(this.kinds.map((kind, at) => [kind, this.fields[at]!]));
    return this.map;
  }

  /**
   * What the update that made this entity changed each field by (`new - old`, wrapping
   * i32; 0 for a field it left alone), flattened over the components in order, then their
   * fields: the motion a predicted body in the frame after {@link updateFrame} adds to the
   * held values. Null for an entity not made by an update (a spawn). Made on each call.
   */
  get motion(): number[] | null {
    const previous = this.previousFields;
    if (previous === null) {
      return null;
    }
    const motion: number[] = [];
    this.fields.forEach((fields, c) => {
      fields.forEach((value, at) => motion.push((value - previous[c]![at]!) | 0));
    });
    return motion;
  }

  /** The fields of the `kind` component, if the entity has one. */
  component(kind: number): readonly number[] | undefined {
    const at = this.kinds.indexOf(kind);
    return at < 0 ? undefined : this.fields[at];
  }
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

/** Reads slot indexes written as gaps from the previous one (ascending order). */
class IndexGaps {
  private next = 0;

  read(reader: BitReader): number {
    const index = this.next + reader.readExpGolomb(0);
    // The server's indexes are u32 and the next must be one too.
    if (index >= 0xffffffff) {
      throw new DecodeError('malformed', 'snapshot body is malformed: entity index overflow');
    }
    this.next = index + 1;
    return index;
  }
}

function malformed(what: string): DecodeError {
  return new DecodeError('malformed', `snapshot body is malformed: ${what}`);
}

function unknownSlot(index: number): DecodeError {
  return new DecodeError('unknown-slot', `snapshot body names entity slot ${index}, which the mirror does not hold`);
}

/** What an empty body did (shared: nothing). */
const NO_CHANGES: BodyChanges = { checksum: null, spawned: [], updated: [], despawned: [] };

/**
 * Decodes `bytes`, the body of the next snapshot frame, against `held` and applies it,
 * keeping `held.checksum` the sum of the held hashes and counting the frame in
 * `held.frames`. An empty body is a frame in which nothing the client sees changed. Throws
 * a {@link DecodeError} on any fault; `held` may then be partly changed (still consistent
 * with its checksum), and the caller treats it as diverged.
 */
export function applyBody(bytes: Uint8Array, held: HeldSet): BodyChanges {
  // `>>> 0`: u32 as the reference counts them (and 0 for a set made without a count).
  const frame = held.frames >>> 0;
  held.frames = (frame + 1) >>> 0;
  if (bytes.length === 0) {
    return NO_CHANGES;
  }
  const reader = new BitReader(bytes);
  const entities = held.entities;
  const checksum = reader.readBit() ? reader.readBits(32) : null;
  const predicted = reader.readBit();
  const changes: BodyChanges = { checksum, spawned: [], updated: [], despawned: [] };

  const despawns = reader.readExpGolomb(0);
  let gaps = new IndexGaps();
  for (let n = 0; n < despawns; n++) {
    const index = gaps.read(reader);
    const gone = entities.get(index);
    if (gone === undefined) {
      throw unknownSlot(index);
    }
    entities.delete(index);
    held.checksum = (held.checksum - gone.hash) >>> 0;
    changes.despawned.push(gone);
  }

  const updates = reader.readExpGolomb(0);
  gaps = new IndexGaps();
  for (let n = 0; n < updates; n++) {
    const index = gaps.read(reader);
    const before = entities.get(index);
    if (before === undefined) {
      throw unknownSlot(index);
    }
    const after = readUpdate(reader, before, predicted, frame);
    entities.set(index, after);
    held.checksum = (held.checksum - before.hash + after.hash) >>> 0;
    changes.updated.push(after);
  }

  // Spawns are decoded whole before any is applied, as the reference does.
  const spawns = readSpawns(reader);
  if (!reader.onlyPaddingLeft()) {
    throw malformed('bits after the end of the body');
  }
  for (const spawn of spawns) {
    const replaced = entities.get(spawn.id.index);
    entities.set(spawn.id.index, spawn);
    held.checksum = (held.checksum + spawn.hash - (replaced?.hash ?? 0)) >>> 0;
    changes.spawned.push(spawn);
  }
  return changes;
}

/**
 * Reads one update's fields part and returns the updated entity (`before` is untouched).
 * Its hash is `before`'s changed by the fields that changed (see `hashChangeField`), not
 * recomputed from the whole entity. `frame` is this body's frame number: in a predicted
 * body, `before`'s motion is the prediction if its update came in frame `frame - 1`.
 */
function readUpdate(reader: BitReader, before: HeldEntity, predicted: boolean, frame: number): HeldEntity {
  const held = before.fields;
  // The fields one update back, when a predicted body predicts from that update's motion.
  const back = predicted && before.updateFrame === ((frame - 1) >>> 0) ? before.previousFields : null;
  let fields: (readonly number[])[] | null = null;
  let register = 0;
  let coded = false;
  for (let c = 0; c < held.length; c++) {
    const old = held[c]!;
    register = hashChangeHeader(register);
    const component = reader.readBit();
    // A field list the last update did not replace did not move (nor did it when the
    // update that replaced it is not the previous frame's, or the body is plain).
    const was = back === null ? old : back[c]!;
    if (!component && was === old) {
      for (let at = 0; register !== 0 && at < old.length; at++) {
        register = hashChangeField(register, 0, 0);
      }
      continue;
    }
    let changed: number[] | null = null;
    let missed = false;
    for (let at = 0; at < old.length; at++) {
      const value = old[at]!;
      // held + (held - was): wrapping i32 (exact in a double before the `| 0`).
      let next = was === old ? value : (2 * value - was[at]!) | 0;
      if (component && reader.readBit()) {
        // Wrapping, as the server's `current - held` or `current - predicted` was.
        next = (next + reader.readSigned(FIELD_ORDER)) | 0;
        missed = true;
      }
      if (next !== value) {
        changed ??= old.slice();
        changed[at] = next;
      }
      register = hashChangeField(register, value, next);
    }
    if (component) {
      if (!missed) {
        throw malformed('a changed component changes no field');
      }
      coded = true;
    }
    if (changed !== null) {
      fields ??= held.slice();
      fields[c] = changed;
    }
  }
  // Plain: no bit set. Predicted: the entity stays as it was (no bit set and no motion,
  // or residuals that cancel it); an unchanged entity is never listed.
  if (predicted ? fields === null : !coded) {
    throw malformed('an update changes nothing');
  }
  return new HeldEntity(before.id, before.kinds, fields ?? held, (before.hash ^ register) >>> 0, held, frame);
}

/** Reads the spawn list. */
function readSpawns(reader: BitReader): HeldEntity[] {
  const count = reader.readExpGolomb(0);
  const spawns: HeldEntity[] = [];
  const gaps = new IndexGaps();
  for (let n = 0; n < count; n++) {
    const index = gaps.read(reader);
    // Generations are odd: the wire carries half, rounded down (wrapping, as u32).
    const generation = ((reader.readExpGolomb(0) << 1) | 1) >>> 0;
    const componentCount = reader.readExpGolomb(0);
    if (componentCount > MAX_COMPONENTS) {
      throw malformed('too many components');
    }
    const kinds = new Array<number>(componentCount);
    const components = new Array<number[]>(componentCount);
    let nextKind = 0;
    for (let c = 0; c < componentCount; c++) {
      const kind = nextKind + reader.readExpGolomb(0);
      if (kind > 255) {
        throw malformed('component kind out of range');
      }
      nextKind = kind + 1;
      const fieldCount = reader.readExpGolomb(0);
      if (fieldCount > MAX_FIELDS) {
        throw malformed('too many fields');
      }
      const fields = new Array<number>(fieldCount);
      for (let f = 0; f < fieldCount; f++) {
        fields[f] = reader.readSigned(FIELD_ORDER);
      }
      kinds[c] = kind;
      components[c] = fields;
    }
    spawns.push(new HeldEntity({ index, generation }, kinds, components));
  }
  return spawns;
}
