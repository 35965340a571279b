// Predicted bodies (protocol 4, docs/PROTOCOL.md "The body"): updates coded against
// `held + motion`, where motion is what the entity's update in the mirror's previous frame
// changed each field by. Hand-built bodies first (every bit written here, not by the test
// encoder), then whole streams from the test encoder's sender against random worlds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyBody, BitWriter, DecodeError, decodeServerMessage, HeldEntity, Mirror } from '../dist/tickcast.js';
import { checksumOf, encodeSnapshot, nudgeWorld, randomWorld, rng, ServerStream } from '../tools/encoder.mjs';

const I32_MAX = 2147483647;
const I32_MIN = -2147483648;

/**
 * A body written bit by bit. `updates`: `{ index, components }` where each component is
 * null (its bit 0) or a list with, per field, null (its bit 0) or the value coded after it
 * (`current - held` in a plain body, the residual in a predicted one). `spawns`:
 * `{ index, generation, components: [[kind, fields]] }`. Lists in slot order.
 */
function body({ checksum = null, predicted, despawns = [], updates = [], spawns = [] }) {
  const writer = new BitWriter();
  writer.writeBit(checksum !== null);
  if (checksum !== null) writer.writeBits(checksum, 32);
  writer.writeBit(predicted);
  const gaps = () => {
    let next = 0;
    return (index) => {
      writer.writeExpGolomb(index - next, 0);
      next = index + 1;
    };
  };
  writer.writeExpGolomb(despawns.length, 0);
  let gap = gaps();
  for (const index of despawns) gap(index);
  writer.writeExpGolomb(updates.length, 0);
  gap = gaps();
  for (const { index, components } of updates) {
    gap(index);
    for (const fields of components) {
      writer.writeBit(fields !== null);
      if (fields === null) continue;
      for (const value of fields) {
        writer.writeBit(value !== null);
        if (value !== null) writer.writeSigned(value, 2);
      }
    }
  }
  writer.writeExpGolomb(spawns.length, 0);
  gap = gaps();
  for (const { index, generation, components } of spawns) {
    gap(index);
    writer.writeExpGolomb(generation >>> 1, 0);
    writer.writeExpGolomb(components.length, 0);
    let nextKind = 0;
    for (const [kind, fields] of components) {
      writer.writeExpGolomb(kind - nextKind, 0);
      nextKind = kind + 1;
      writer.writeExpGolomb(fields.length, 0);
      for (const value of fields) writer.writeSigned(value, 2);
    }
  }
  return writer.finish();
}

/** A plain entity (the test encoder's shape) for checksums. */
const plain = (index, generation, components) => ({ index, generation, components });

/** A mirror and a way to feed it bodies as delta frames (the first one full). */
function session() {
  const mirror = new Mirror();
  let first = true;
  const apply = (bytes) => {
    const frame = decodeServerMessage(encodeSnapshot({ full: first, tick: first ? 100 : 2, body: bytes }));
    first = false;
    return mirror.applyFrame(frame);
  };
  const fields = (index) => [...mirror.entityAt(index).components.values()];
  return { mirror, apply, fields };
}

/** A ship at (x, y) facing `angle`, with `hp`: two components, four fields. */
const ship = (x, y, angle = 0, hp = 3) => [[0, [x, y, angle]], [1, [hp]]];
/** The full frame holding ships at slots 0 and 1. */
function twoShips(apply, a = ship(100, 200), b = ship(500, 600)) {
  apply(body({ checksum: checksumOf([plain(0, 1, a), plain(1, 1, b)]), predicted: false, spawns: [{ index: 0, generation: 1, components: a }, { index: 1, generation: 1, components: b }] }));
}

/** With no motion to predict, an update with no bits would leave ship 0 as it was: refused. */
function refusedAsUnchanged(apply) {
  assert.throws(
    () => apply(body({ predicted: true, updates: [{ index: 0, components: [null, null] }] })),
    (error) => error instanceof DecodeError && error.kind === 'malformed' && /an update changes nothing/.test(error.message),
  );
}

test('a predicted update with zero residuals applies held + motion, checksum verified', () => {
  const { mirror, apply, fields } = session();
  twoShips(apply);
  assert.equal(mirror.frames, 1);
  // Frame 1, plain: ship 0 moves by (+10, +5).
  apply(body({ checksum: checksumOf([plain(0, 1, ship(110, 205)), plain(1, 1, ship(500, 600))]), predicted: false, updates: [{ index: 0, components: [[10, 5, null], null] }] }));
  assert.deepEqual(fields(0), [[110, 205, 0], [3]]);
  assert.deepEqual(mirror.entityAt(0).motion, [10, 5, 0, 0]);
  assert.equal(mirror.entityAt(0).updateFrame, 1);
  // Frame 2, predicted: every component bit 0, so it moves as it did: (+10, +5) again.
  const expected = [plain(0, 1, ship(120, 210)), plain(1, 1, ship(500, 600))];
  const applied = apply(body({ checksum: checksumOf(expected), predicted: true, updates: [{ index: 0, components: [null, null] }] }));
  assert.equal(applied.checksumVerified, true);
  assert.deepEqual(fields(0), [[120, 210, 0], [3]]);
  assert.equal(applied.updated.length, 1);
  assert.equal(applied.updated[0], mirror.entityAt(0));
  // Frame 3, predicted, one residual: x misses the prediction (130) by -3; y as predicted.
  const missed = [plain(0, 1, ship(127, 215)), plain(1, 1, ship(500, 600))];
  assert.equal(apply(body({ checksum: checksumOf(missed), predicted: true, updates: [{ index: 0, components: [[-3, null, null], null] }] })).checksumVerified, true);
  assert.deepEqual(fields(0), [[127, 215, 0], [3]]);
  // The motion recorded is what the update did (new - old), not the residual.
  assert.deepEqual(mirror.entityAt(0).motion, [7, 5, 0, 0]);
  // Frame 4: a residual on the angle and the hp (fields the prediction leaves alone).
  apply(body({ checksum: checksumOf([plain(0, 1, ship(134, 220, 9, 2)), plain(1, 1, ship(500, 600))]), predicted: true, updates: [{ index: 0, components: [[null, null, 9], [-1]] }] }));
  assert.deepEqual(fields(0), [[134, 220, 9], [2]]);
  assert.deepEqual(mirror.entityAt(0).motion, [7, 5, 9, -1]);
  // Frame 5: all as predicted, the angle and hp too.
  apply(body({ checksum: checksumOf([plain(0, 1, ship(141, 225, 18, 1)), plain(1, 1, ship(500, 600))]), predicted: true, updates: [{ index: 0, components: [null, null] }] }));
  assert.deepEqual(fields(0), [[141, 225, 18], [1]]);
  assert.equal(mirror.frames, 6);
});

test('an update shares what it did not change, and keeps the fields it replaced rather than a motion list', () => {
  const { mirror, apply } = session();
  twoShips(apply);
  apply(body({ predicted: false, updates: [{ index: 0, components: [[10, 5, null], null] }] }));
  const first = mirror.entityAt(0);
  apply(body({ predicted: true, updates: [{ index: 0, components: [null, null] }] }));
  const second = mirror.entityAt(0);
  assert.equal(second.previousFields, first.fields, 'the fields it replaced, not a copy');
  assert.deepEqual(second.motion, [10, 5, 0, 0]);
  assert.equal(second.fields[1], first.fields[1], 'health did not change: the same list');
  assert.notEqual(second.fields[0], first.fields[0]);
  // The earlier entity object is untouched (interpolation buffers keep them).
  assert.deepEqual(first.fields[0], [110, 205, 0]);
});

test('motion is 0 after a frame that did not update the entity: an empty body, or a body about others', () => {
  for (const between of ['empty body', 'other entity', 'despawn of another']) {
    // Ship 0 moves by (+10, +5) in frame 1; frame 2 is `between`.
    const prepared = () => {
      const { mirror, apply, fields } = session();
      twoShips(apply);
      apply(body({ predicted: false, updates: [{ index: 0, components: [[10, 5, null], null] }] }));
      if (between === 'empty body') {
        assert.equal(apply(new Uint8Array(0)).updated.length, 0);
      } else if (between === 'other entity') {
        apply(body({ predicted: true, updates: [{ index: 1, components: [[1, null, null], null] }] }));
      } else {
        apply(body({ predicted: true, despawns: [1] }));
      }
      assert.equal(mirror.frames, 3, between);
      return { apply, fields };
    };
    // Frame 3, predicted, all bits 0: the previous frame left ship 0 alone, so there is
    // no motion, and the update would change nothing.
    refusedAsUnchanged(prepared().apply);
    // A coded field is coded against the held value alone.
    const { apply, fields } = prepared();
    apply(body({ predicted: true, updates: [{ index: 0, components: [[1, null, null], null] }] }));
    assert.deepEqual(fields(0), [[111, 205, 0], [3]], between);
  }
});

test('an empty-body frame is a frame: the counter moves and the motion two frames back does not count', () => {
  const { mirror, apply, fields } = session();
  twoShips(apply);
  apply(body({ predicted: false, updates: [{ index: 0, components: [[10, null, null], null] }] }));
  apply(new Uint8Array(0));
  apply(new Uint8Array(0));
  assert.equal(mirror.frames, 4);
  apply(body({ predicted: true, updates: [{ index: 0, components: [[2, null, null], null] }] }));
  assert.deepEqual(fields(0), [[112, 200, 0], [3]]);
  // Now the motion is the +2 of the frame just applied.
  apply(body({ predicted: true, updates: [{ index: 0, components: [null, null] }] }));
  assert.deepEqual(fields(0), [[114, 200, 0], [3]]);
});

test('a spawn (or a replacement, or a full frame) forgets the motion', () => {
  // Replaced in the frame after its update.
  {
    const { mirror, apply, fields } = session();
    twoShips(apply);
    apply(body({ predicted: false, updates: [{ index: 0, components: [[10, 5, null], null] }] }));
    apply(body({ predicted: true, spawns: [{ index: 0, generation: 1, components: ship(300, 300) }] }));
    assert.equal(mirror.entityAt(0).motion, null);
    refusedAsUnchanged(apply);
    assert.deepEqual(fields(0), [[300, 300, 0], [3]]);
  }
  // Updated then replaced in the same frame: the spawn comes last and wins.
  {
    const { apply, fields } = session();
    twoShips(apply);
    apply(body({ predicted: false, updates: [{ index: 0, components: [[10, 5, null], null] }] }));
    apply(body({ predicted: true, updates: [{ index: 0, components: [null, null] }], spawns: [{ index: 0, generation: 3, components: ship(300, 300) }] }));
    refusedAsUnchanged(apply);
    assert.deepEqual(fields(0), [[300, 300, 0], [3]]);
  }
  // Despawned and spawned again in one frame (a new generation in the slot).
  {
    const { mirror, apply, fields } = session();
    twoShips(apply);
    apply(body({ predicted: false, updates: [{ index: 0, components: [[10, 5, null], null] }] }));
    apply(body({ predicted: true, despawns: [0], spawns: [{ index: 0, generation: 3, components: ship(300, 300) }] }));
    assert.equal(mirror.entityAt(0).id.generation, 3);
    refusedAsUnchanged(apply);
    assert.deepEqual(fields(0), [[300, 300, 0], [3]]);
  }
  // A full frame clears the world, motion and all.
  {
    const { mirror, apply, fields } = session();
    twoShips(apply);
    apply(body({ predicted: false, updates: [{ index: 0, components: [[10, 5, null], null] }] }));
    mirror.applyFrame(decodeServerMessage(encodeSnapshot({ full: true, tick: 500, body: body({ predicted: false, spawns: [{ index: 0, generation: 1, components: ship(110, 205) }] }) })));
    refusedAsUnchanged(apply);
    assert.deepEqual(fields(0), [[110, 205, 0], [3]]);
  }
});

test('an update that changes nothing is refused, plain or predicted; no bits with motion is the prediction', () => {
  const refused = (bytes, pattern) => {
    const { apply } = session();
    twoShips(apply);
    assert.throws(() => apply(bytes), (error) => error instanceof DecodeError && error.kind === 'malformed' && pattern.test(error.message));
  };
  refused(body({ predicted: false, updates: [{ index: 0, components: [null, null] }] }), /an update changes nothing/);
  refused(body({ predicted: true, updates: [{ index: 0, components: [null, null] }] }), /an update changes nothing/);
  // A coded component must code a field, predicted or not.
  refused(body({ predicted: false, updates: [{ index: 0, components: [[null, null, null], null] }] }), /a changed component changes no field/);
  refused(body({ predicted: true, updates: [{ index: 0, components: [[null, null, null], null] }] }), /a changed component changes no field/);

  // With motion (ship 0 moved by +10, +5 in the previous frame), no bits is that motion again.
  const { mirror, apply, fields } = session();
  twoShips(apply);
  apply(body({ predicted: false, updates: [{ index: 0, components: [[10, 5, null], null] }] }));
  const expected = [plain(0, 1, ship(120, 210)), plain(1, 1, ship(500, 600))];
  const applied = apply(body({ checksum: checksumOf(expected), predicted: true, updates: [{ index: 0, components: [null, null] }] }));
  assert.equal(applied.checksumVerified, true);
  assert.deepEqual(fields(0), [[120, 210, 0], [3]]);
  assert.equal(mirror.entityAt(0).updateFrame, 2);
  // A predicted update of a slot not held is still a divergence.
  assert.throws(() => apply(body({ predicted: true, updates: [{ index: 7, components: [] }] })), (error) => error.kind === 'unknown-slot');
});

test('fields, motions and predictions wrap at the i32 bounds', () => {
  const { mirror, apply, fields } = session();
  const start = [[0, [I32_MAX - 5, I32_MIN + 5, 0]]];
  apply(body({ predicted: false, spawns: [{ index: 0, generation: 1, components: start }] }));
  // +10 and -10: both wrap; the motion is the wrapping difference.
  apply(body({ checksum: checksumOf([plain(0, 1, [[0, [I32_MIN + 4, I32_MAX - 4, 0]]])]), predicted: false, updates: [{ index: 0, components: [[10, -10, null]] }] }));
  assert.deepEqual(fields(0), [[I32_MIN + 4, I32_MAX - 4, 0]]);
  assert.deepEqual(mirror.entityAt(0).motion, [10, -10, 0]);
  // Predicted as it moved: on by +10 and -10, away from the bounds again.
  apply(body({ checksum: checksumOf([plain(0, 1, [[0, [I32_MIN + 14, I32_MAX - 14, 0]]])]), predicted: true, updates: [{ index: 0, components: [null] }] }));
  assert.deepEqual(fields(0), [[I32_MIN + 14, I32_MAX - 14, 0]]);
  // A jump across the whole range: motion and residual are wrapping i32s too.
  const jumped = [[0, [I32_MAX, I32_MIN, 1]]];
  apply(body({ checksum: checksumOf([plain(0, 1, jumped)]), predicted: true, updates: [{ index: 0, components: [[(I32_MAX - (I32_MIN + 24)) | 0, (I32_MIN - (I32_MAX - 24)) | 0, 1]] }] }));
  assert.deepEqual(fields(0), jumped.map(([, f]) => f));
  assert.deepEqual(mirror.entityAt(0).motion, [(I32_MAX - (I32_MIN + 14)) | 0, (I32_MIN - (I32_MAX - 14)) | 0, 1]);
  // And predicting with that motion wraps.
  const next = [[0, [(I32_MAX + ((I32_MAX - (I32_MIN + 14)) | 0)) | 0, (I32_MIN + ((I32_MIN - (I32_MAX - 14)) | 0)) | 0, 2]]];
  assert.equal(apply(body({ checksum: checksumOf([plain(0, 1, next)]), predicted: true, updates: [{ index: 0, components: [null] }] })).checksumVerified, true);
  assert.deepEqual(fields(0), next.map(([, f]) => f));
  // The extreme residual: i32::MIN, zigzag 0xffffffff, the longest code.
  const held = fields(0)[0];
  const motion = mirror.entityAt(0).motion;
  const predicted = held.map((value, at) => (value + motion[at]) | 0);
  apply(body({ predicted: true, updates: [{ index: 0, components: [[I32_MIN, null, null]] }] }));
  assert.deepEqual(fields(0)[0], [(predicted[0] + I32_MIN) | 0, predicted[1], predicted[2]]);
});

test('applyBody numbers frames in the held set, empty bodies included', () => {
  const entities = new Map([[0, HeldEntity.of(0, 1, new Map([[0, [5, 5]]]))]]);
  const held = { entities, checksum: entities.get(0).hash, frames: 0 };
  applyBody(body({ predicted: false, updates: [{ index: 0, components: [[1, 2]] }] }), held);
  assert.equal(held.frames, 1);
  assert.equal(entities.get(0).updateFrame, 0);
  assert.equal(applyBody(new Uint8Array(0), held).checksum, null);
  assert.equal(held.frames, 2);
  assert.throws(
    () => applyBody(body({ predicted: true, updates: [{ index: 0, components: [null] }] }), held),
    /an update changes nothing/,
    'the empty frame came between: no motion, so no bits would change nothing',
  );
  assert.deepEqual(entities.get(0).fields, [[6, 7]]);
  // The counter is a u32, as the reference's, and wraps.
  held.frames = 0xffffffff;
  applyBody(body({ predicted: false, updates: [{ index: 0, components: [[1, 1]] }] }), held);
  assert.equal(held.frames, 0);
  applyBody(body({ predicted: true, updates: [{ index: 0, components: [null] }] }), held);
  assert.deepEqual(entities.get(0).fields, [[8, 9]], 'frame 0 follows frame 0xffffffff');
  let sum = 0;
  for (const entity of entities.values()) sum = (sum + entity.hash) >>> 0;
  assert.equal(held.checksum, sum);
});

/** A world of `count` movers: some steady, some turning, some still; a few hit or replaced each frame. */
function movers(random, count) {
  return Array.from({ length: count }, (_, index) => ({
    index,
    generation: 1,
    velocity: random.pick([[0, 0], [3, -2], [random.int(-40, 40), random.int(-40, 40)], [I32_MAX, 1]]),
    components: [[0, [random.int(-1000, 1000), random.int(I32_MIN, I32_MAX), random.int(0, 4096)]], [1, [random.int(1, 10)]], [3, [0, 0]]],
  }));
}

/** One frame on: the first component moves by the entity's velocity, the others change now and then. */
function step(random, world) {
  return world.map((entity) => {
    let velocity = entity.velocity;
    if (random.next() < 0.1) velocity = [velocity[0] + random.int(-3, 4), velocity[1] + random.int(-3, 4)];
    const components = entity.components.map(([kind, fields], c) => [
      kind,
      fields.map((value, f) => {
        if (c === 0 && f < 2) return (value + velocity[f]) | 0;
        return random.next() < 0.05 ? (value + random.int(-2, 3)) | 0 : value;
      }),
    ]);
    return { ...entity, velocity, components };
  });
}

test('streams from a sender that predicts as the protocol says replay exactly, with every checksum verified', () => {
  for (const [seed, options] of [[11, { predicted: true }], [12, { predicted: false }]]) {
    const random = rng(seed);
    const sender = new ServerStream(options);
    const mirror = new Mirror();
    let world = movers(random, 30);
    mirror.applyFrame(decodeServerMessage(sender.next(world, { full: true, tick: 10 })));
    for (let frame = 1; frame < 300; frame++) {
      const roll = random.next();
      let next;
      if (roll < 0.05) next = world; // nothing changes: an empty body
      else if (roll < 0.1) next = nudgeWorld(random, world, { slots: 40 }).map((e) => ({ velocity: [1, 1], ...e }));
      else if (roll < 0.12) next = world.filter((e) => e.index % 3 !== 0); // despawns
      else next = step(random, world);
      // Now and then a full snapshot (a new baseline), which the sender and mirror both clear for.
      const full = roll > 0.99;
      const message = sender.next(next, { full, tick: full ? 1000 + frame : 2 });
      const decoded = decodeServerMessage(message);
      const applied = mirror.applyFrame(decoded);
      const where = `seed ${seed} frame ${frame}`;
      assert.equal(applied.checksumVerified, decoded.body.length > 0, where);
      assert.equal(mirror.checksum, checksumOf(next), where);
      const held = mirror.sorted().map((e) => ({ index: e.id.index, generation: e.id.generation, components: [...e.components] }));
      assert.deepEqual(held, next.map(({ index, generation, components }) => ({ index, generation, components })), where);
      world = next;
    }
    assert.equal(mirror.frames, 300);
  }
});

test('steady motion costs about one bit per component in a predicted body', () => {
  const world = (t) => Array.from({ length: 100 }, (_, index) => ({ index, generation: 1, components: [[0, [index * 10 + 3 * t, 500 - 2 * t, 0]], [1, [3]]] }));
  const sizes = {};
  for (const predicted of [false, true]) {
    const sender = new ServerStream({ predicted });
    const mirror = new Mirror();
    mirror.applyFrame(decodeServerMessage(sender.next(world(0), { full: true, tick: 1 })));
    let last = 0;
    for (let t = 1; t <= 5; t++) {
      const message = sender.next(world(t), { tick: 2, checksum: false });
      last = decodeServerMessage(message).body.length;
      mirror.applyFrame(decodeServerMessage(message));
      assert.equal(mirror.checksum, checksumOf(world(t)));
    }
    sizes[predicted ? 'predicted' : 'plain'] = last;
  }
  // 100 updates of gap 0 (1 bit) and two component bits: 300 bits, plus the counts.
  assert.ok(sizes.predicted <= 40, JSON.stringify(sizes));
  assert.ok(sizes.plain > 2 * sizes.predicted, JSON.stringify(sizes));
});

test('truncated and garbage predicted bodies against entities with motion: a typed error, the checksum consistent', () => {
  const random = rng(21);
  let refused = 0;
  for (let n = 0; n < 300; n++) {
    const sender = new ServerStream({ predicted: true });
    const mirror = new Mirror();
    let world = randomWorld(random);
    mirror.applyFrame(decodeServerMessage(sender.next(world, { full: true, tick: 1 })));
    for (let frame = 0; frame < 3; frame++) {
      const next = nudgeWorld(random, world);
      mirror.applyFrame(decodeServerMessage(sender.next(next, { tick: 2 })));
      world = next;
    }
    const next = nudgeWorld(random, world);
    const good = decodeServerMessage(sender.next(next, { tick: 2 })).body;
    const cut = random.int(1, Math.max(2, good.length - 1));
    const bad = n % 2 === 0 ? good.subarray(0, cut) : Uint8Array.from(good, (b, at) => (at === cut ? random.int(0, 256) : b));
    try {
      mirror.applyFrame(decodeServerMessage(encodeSnapshot({ full: false, tick: 2, body: bad })));
    } catch (error) {
      assert.ok(error instanceof DecodeError || error.name === 'ChecksumMismatchError', String(error?.stack ?? error));
      refused++;
    }
    let sum = 0;
    for (const entity of mirror.entities.values()) sum = (sum + entity.hash) >>> 0;
    assert.equal(mirror.checksum, sum);
  }
  assert.ok(refused > 100, `${refused}`);
});
