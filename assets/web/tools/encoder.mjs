// The server's side of the snapshot body, written again in JavaScript for the tests and
// the benchmark: `diff` and `encode_body` of shared/src/delta.rs and the Snapshot envelope
// of shared/src/protocol.rs. The SDK only decodes; this lets tests make bodies for any
// world and check that decoding them lands exactly on that world.
//
// Entities here are plain `{ index, generation, components: [[kind, [fields...]], ...] }`,
// components sorted by kind, worlds sorted by index with one entity per slot.
//
// Bodies are plain (each changed field as `current - held`) unless made predicted
// (protocol 4: each field against `held + motion`, see `ServerStream`, which keeps the
// motion memory a connection's sender keeps).

import { encode } from '@msgpack/msgpack';
import { BitWriter, entityHash } from '../dist/tickcast.js';

const FIELD_ORDER = 2;

/** The hash of a plain entity, as the server computes it. */
export function hashOf(entity) {
  return entityHash(entity.index, entity.generation, new Map(entity.components));
}

/** The wrapping sum of the hashes of a world. */
export function checksumOf(world) {
  let sum = 0;
  for (const entity of world) sum = (sum + hashOf(entity)) >>> 0;
  return sum;
}

/** How one entity changed: null (same), 'replace' (shape changed) or its field changes. */
function diffEntity(before, after) {
  if (before.components.length !== after.components.length) return 'replace';
  const changes = [];
  for (let c = 0; c < before.components.length; c++) {
    const [kindA, a] = before.components[c];
    const [kindB, b] = after.components[c];
    if (kindA !== kindB || a.length !== b.length) return 'replace';
    for (let f = 0; f < a.length; f++) {
      if (a[f] !== b[f]) changes.push({ component: c, field: f, delta: (b[f] - a[f]) | 0 });
    }
  }
  return changes.length === 0 ? null : changes;
}

/** The delta from `baseline` to `current` (both sorted by index): despawns, updates, spawns. */
export function diff(baseline, current) {
  const delta = { despawns: [], updates: [], spawns: [] };
  let i = 0;
  let j = 0;
  const key = (e) => e.index * 2 ** 32 + e.generation;
  while (i < baseline.length || j < current.length) {
    const a = baseline[i];
    const b = current[j];
    if (b === undefined || (a !== undefined && key(a) < key(b))) {
      delta.despawns.push(a);
      i++;
    } else if (a === undefined || key(a) > key(b)) {
      delta.spawns.push(b);
      j++;
    } else {
      const change = diffEntity(a, b);
      if (change === 'replace') delta.spawns.push(b);
      else if (change !== null) delta.updates.push({ entity: a, changes: change });
      i++;
      j++;
    }
  }
  return delta;
}

function gapWriter(writer) {
  let next = 0;
  return (index) => {
    writer.writeExpGolomb((index - next) >>> 0, 0);
    next = index + 1;
  };
}

/**
 * An update's changes as one delta per field (`new - old`, 0 where unchanged), flattened
 * over the components in order: the motion the receiver records for it.
 */
export function flatDeltas({ entity, changes }) {
  const deltas = [];
  entity.components.forEach(([, fields], c) => {
    for (let f = 0; f < fields.length; f++) {
      deltas.push(changes.find((change) => change.component === c && change.field === f)?.delta ?? 0);
    }
  });
  return deltas;
}

/**
 * Encodes `delta` (against the held entities it names) with an optional checksum. Plain
 * unless `predicted`: then each update is coded against `held + update.motion` (`motion`
 * flattened over the fields as `flatDeltas` makes it, or null/absent for none), and an
 * update may have no changes at all.
 */
export function encodeBody(checksum, delta, { predicted = false } = {}) {
  const writer = new BitWriter();
  writer.writeBit(checksum !== null);
  if (checksum !== null) writer.writeBits(checksum, 32);
  writer.writeBit(predicted);
  writer.writeExpGolomb(delta.despawns.length, 0);
  let gap = gapWriter(writer);
  for (const entity of delta.despawns) gap(entity.index);
  writer.writeExpGolomb(delta.updates.length, 0);
  gap = gapWriter(writer);
  for (const update of delta.updates) {
    const { entity, changes } = update;
    gap(entity.index);
    if (predicted) {
      const deltas = flatDeltas(update);
      const motion = update.motion ?? null;
      let flat = 0;
      for (const [, fields] of entity.components) {
        const residuals = fields.map((_, f) => (deltas[flat + f] - (motion === null ? 0 : motion[flat + f])) | 0);
        const any = residuals.some((residual) => residual !== 0);
        writer.writeBit(any);
        if (any) {
          for (const residual of residuals) {
            writer.writeBit(residual !== 0);
            if (residual !== 0) writer.writeSigned(residual, FIELD_ORDER);
          }
        }
        flat += fields.length;
      }
      continue;
    }
    entity.components.forEach(([, fields], c) => {
      const mine = changes.filter((change) => change.component === c);
      writer.writeBit(mine.length > 0);
      if (mine.length === 0) return;
      for (let f = 0; f < fields.length; f++) {
        const change = mine.find((m) => m.field === f);
        writer.writeBit(change !== undefined);
        if (change !== undefined) writer.writeSigned(change.delta, FIELD_ORDER);
      }
    });
  }
  writer.writeExpGolomb(delta.spawns.length, 0);
  gap = gapWriter(writer);
  for (const entity of delta.spawns) {
    gap(entity.index);
    writer.writeExpGolomb(entity.generation >>> 1, 0);
    writer.writeExpGolomb(entity.components.length, 0);
    let nextKind = 0;
    for (const [kind, fields] of entity.components) {
      writer.writeExpGolomb(kind - nextKind, 0);
      nextKind = kind + 1;
      writer.writeExpGolomb(fields.length, 0);
      for (const value of fields) writer.writeSigned(value, FIELD_ORDER);
    }
  }
  return writer.finish();
}

/** A whole Snapshot message: `[1, flags, tick, ack, body]`. */
export function encodeSnapshot({ full, tick, ack = null, ackAbsolute = false, body }) {
  const flags = (full ? 1 : 0) | (ackAbsolute && ack !== null ? 2 : 0);
  return encode([1, flags, tick, ack, body]);
}

/** The snapshot taking a client from `baseline` to `current`. */
export function snapshotBetween(baseline, current, { full = false, tick, ack = null, ackAbsolute = false, checksum = true }) {
  const delta = diff(full ? [] : baseline, current);
  const empty = delta.despawns.length + delta.updates.length + delta.spawns.length === 0;
  const body = empty && !full ? new Uint8Array(0) : encodeBody(checksum ? checksumOf(current) : null, delta);
  return encodeSnapshot({ full, tick, ack, ackAbsolute, body });
}

/**
 * A connection's sender: keeps the world the client holds, numbers the frames as the
 * client does and remembers each entity's last update (its frame and per-field deltas),
 * so that it can code updates against the client's prediction. `predicted: false` sends
 * plain bodies (still keeping the memory, as a client does for plain bodies).
 */
export class ServerStream {
  constructor({ predicted = true } = {}) {
    this.predicted = predicted;
    this.frames = 0;
    this.world = [];
    /** By slot index: `{ frame, deltas }` of the entity's last update. */
    this.motions = new Map();
  }

  /** The motion a predicted body in frame `frame` predicts slot `index` with, or null. */
  prediction(index, frame) {
    const memo = this.motions.get(index);
    return memo !== undefined && memo.frame === ((frame - 1) >>> 0) ? memo.deltas : null;
  }

  /** The Snapshot message taking the client from the last world sent to `current`. */
  next(current, { full = false, tick, ack = null, ackAbsolute = false, checksum = true }) {
    const frame = this.frames;
    this.frames = (frame + 1) >>> 0;
    if (full) this.motions.clear();
    const delta = diff(full ? [] : this.world, current);
    for (const update of delta.updates) update.motion = this.predicted ? this.prediction(update.entity.index, frame) : null;
    const empty = delta.despawns.length + delta.updates.length + delta.spawns.length === 0;
    const body = empty && !full ? new Uint8Array(0) : encodeBody(checksum ? checksumOf(current) : null, delta, { predicted: this.predicted });
    for (const entity of delta.despawns) this.motions.delete(entity.index);
    for (const update of delta.updates) this.motions.set(update.entity.index, { frame, deltas: flatDeltas(update) });
    for (const entity of delta.spawns) this.motions.delete(entity.index);
    this.world = current;
    return encodeSnapshot({ full, tick, ack, ackAbsolute, body });
  }
}

/** The arena's Welcome schema, as the server announces it. */
export const ARENA_SCHEMA = [
  'arena',
  [
    [0, 'Transform2', [['x', Math.fround(0.01), 0], ['y', Math.fround(0.01), 0], ['angle', (2 * Math.PI) / 4096, 4096]]],
    [1, 'Health', [['hp', 1, 0]]],
    [2, 'EntityKind', [['kind', 1, 0]]],
    [3, 'Score', [['kills', 1, 0], ['deaths', 1, 0]]],
  ],
  // [name, kind, min, max, step] (protocol 5); the arena's buttons: 1 fire, 2 rail.
  [
    ['move_x', 'float', -1, 1, 0],
    ['move_y', 'float', -1, 1, 0],
    ['aim', 'float', -Math.fround(2 * Math.PI), Math.fround(2 * Math.PI), 0],
    ['buttons', 'bits', 0, 3, 1],
  ],
];

/** The cubes game's Welcome schema, as the server announces it (its input: 1/64 steps, bits). */
export const CUBES_SCHEMA = [
  'cubes',
  [
    [0, 'Position', [['x', 1 / 512, 0], ['y', 1 / 512, 0], ['z', 1 / 512, 0]]],
    [1, 'Rotation', [['largest', 1, 0], ['a', Math.SQRT1_2 / 255, 0], ['b', Math.SQRT1_2 / 255, 0], ['c', Math.SQRT1_2 / 255, 0]]],
    [2, 'Shape', [['shape', 1, 0]]],
  ],
  [
    ['move_x', 'step', -1, 1, 1 / 64],
    ['move_z', 'step', -1, 1, 1 / 64],
    ['buttons', 'bits', 0, 3, 1],
  ],
];

/** A Welcome message (`resume`: the session's resume token, bin). */
export function encodeWelcome({
  version = 5,
  clientId = 1,
  player = [0, 1],
  tickRate = 60,
  snapshotRate = 30,
  tick = 0,
  schema = ARENA_SCHEMA,
  resume = new Uint8Array(0),
} = {}) {
  return encode([0, version, clientId, player, tickRate, snapshotRate, tick, schema, resume]);
}

/** A small seeded generator (mulberry32): the same cases on every run. */
export function rng(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (low, high) => low + Math.floor(next() * (high - low)),
    pick: (items) => items[Math.floor(next() * items.length)],
    bytes: (length) => Uint8Array.from({ length }, () => Math.floor(next() * 256)),
  };
}

/** A random world: up to `count` entities over `slots` slots, random shapes and values. */
export function randomWorld(random, { count = 40, slots = 64 } = {}) {
  const bySlot = new Map();
  const n = random.int(0, count + 1);
  for (let i = 0; i < n; i++) {
    const index = random.int(0, slots);
    const generation = random.int(0, 3) * 2 + 1;
    const kinds = [...new Set(Array.from({ length: random.int(0, 4) }, () => random.int(0, 4)))].sort((a, b) => a - b);
    const components = kinds.map((kind) => [
      kind,
      Array.from({ length: random.int(0, 6) }, () =>
        random.next() < 0.5 ? random.int(-3, 3) : (random.int(0, 2 ** 32) | 0),
      ),
    ]);
    bySlot.set(index, { index, generation, components });
  }
  return [...bySlot.values()].sort((a, b) => a.index - b.index);
}

/** A world with one slot's generation changed only via despawn + spawn, like a server. */
export function nudgeWorld(random, world, { slots = 64 } = {}) {
  const next = [];
  for (const entity of world) {
    const roll = random.next();
    if (roll < 0.1) continue; // despawned
    if (roll < 0.15) {
      next.push({ ...entity, components: entity.components.slice(0, -1) }); // shape change
      continue;
    }
    next.push({
      ...entity,
      components: entity.components.map(([kind, fields]) => [
        kind,
        fields.map((value) => (random.next() < 0.3 ? (value + random.int(-40, 40)) | 0 : value)),
      ]),
    });
  }
  for (let i = 0; i < 3; i++) {
    const index = random.int(0, slots);
    if (!next.some((e) => e.index === index)) {
      next.push({ index, generation: 1, components: [[0, [random.int(-100, 100)]]] });
    }
  }
  return next.sort((a, b) => a.index - b.index);
}

/** Bytes from a hex string ("95 01 ..." or "9501..."). */
export function fromHex(text) {
  const clean = text.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** A hex string of bytes. */
export function toHex(bytes) {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** A mirror's entities as the golden vectors list them: sorted `[index, generation, [[kind, fields]...]]`. */
export function plainEntities(mirror) {
  return mirror.sorted().map((entity) => [entity.id.index, entity.id.generation, [...entity.components].map(([kind, fields]) => [kind, [...fields]])]);
}

/** A plain world as the golden vectors list it. */
export function plainWorld(world) {
  return world.map((entity) => [entity.index, entity.generation, entity.components.map(([kind, fields]) => [kind, [...fields]])]);
}
