// Decoders of peer bytes: whatever arrives, they return or throw a typed error, and they
// finish (each read consumes input, so garbage ends in an error after one pass). The
// cases are seeded, so every run tries the same few thousand.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyBody, ChecksumMismatchError, DecodeError, decodeServerMessage, HeldEntity, Mirror } from '../dist/tickcast.js';
import { checksumOf, encodeBody, diff, encodeSnapshot, nudgeWorld, randomWorld, rng, snapshotBetween } from '../tools/encoder.mjs';

function heldSet(world) {
  const entities = new Map(world.map((e) => [e.index, HeldEntity.of(e.index, e.generation, new Map(e.components))]));
  return { entities, checksum: checksumOf(world), frames: 0 };
}

/** Runs `decode`; anything thrown must be one of our typed errors. */
function typed(decode, what) {
  try {
    decode();
    return true;
  } catch (error) {
    assert.ok(error instanceof DecodeError || error instanceof ChecksumMismatchError, `${what}: untyped ${error?.stack ?? error}`);
    assert.ok(error.message.length > 0);
    return false;
  }
}

test('random bytes into the message decoder: a message or a DecodeError', () => {
  const random = rng(1);
  for (let n = 0; n < 3000; n++) {
    const bytes = random.bytes(random.int(0, 64));
    // Half start like a snapshot so that the deeper checks are reached too.
    if (n % 2 === 0 && bytes.length > 1) {
      bytes[0] = 0x95;
      bytes[1] = 1;
    }
    typed(() => decodeServerMessage(bytes), `message ${n}`);
  }
});

test('random bytes into the body decoder against random held entities: a typed error or a consistent mirror', () => {
  const random = rng(2);
  let applied = 0;
  for (let n = 0; n < 3000; n++) {
    const held = heldSet(randomWorld(random));
    if (typed(() => applyBody(random.bytes(random.int(1, 96)), held), `body ${n}`)) {
      applied++;
    }
    // Whatever happened, the checksum still sums what is held.
    let sum = 0;
    for (const entity of held.entities.values()) sum = (sum + entity.hash) >>> 0;
    assert.equal(held.checksum, sum);
  }
  assert.ok(applied < 3000, 'garbage should mostly be refused');
});

test('encoded deltas between random worlds apply exactly, with the checksum', () => {
  const random = rng(3);
  for (let n = 0; n < 500; n++) {
    const baseline = randomWorld(random);
    const current = n % 2 === 0 ? randomWorld(random) : nudgeWorld(random, baseline);
    const held = heldSet(baseline);
    const changes = applyBody(encodeBody(checksumOf(current), diff(baseline, current)), held);
    assert.equal(changes.checksum, checksumOf(current));
    assert.equal(held.checksum, checksumOf(current));
    const reached = [...held.entities.values()]
      .sort((a, b) => a.id.index - b.id.index)
      .map((e) => ({ index: e.id.index, generation: e.id.generation, components: [...e.components] }));
    assert.deepEqual(reached, current);
  }
});

test('truncated and mutated bodies end in a typed error (or, rarely, a state the checksum refuses)', () => {
  const random = rng(4);
  let refused = 0;
  for (let n = 0; n < 400; n++) {
    const baseline = randomWorld(random);
    const current = nudgeWorld(random, baseline);
    const body = encodeBody(checksumOf(current), diff(baseline, current));
    // Every proper prefix (the last byte may be padding only).
    for (let cut = 0; cut < body.length - 1; cut++) {
      const ok = typed(() => applyBody(body.subarray(0, cut), heldSet(baseline)), `prefix ${cut}`);
      if (!ok) refused++;
    }
    // A few bytes overwritten, through the whole mirror so the checksum is checked too.
    const mutated = body.slice();
    for (let flips = random.int(1, 4); flips > 0; flips--) mutated[random.int(0, mutated.length)] = random.int(0, 256);
    const mirror = new Mirror();
    mirror.applyFrame(decodeServerMessage(snapshotBetween([], baseline, { full: true, tick: 1 })));
    typed(() => mirror.applyFrame(decodeServerMessage(encodeSnapshot({ full: false, tick: 2, body: mutated }))), `mutated ${n}`);
  }
  assert.ok(refused > 0);
});

test('a delta before any full snapshot, and deltas naming slots not held, are divergences', () => {
  const mirror = new Mirror();
  assert.throws(
    () => mirror.applyFrame(decodeServerMessage(encodeSnapshot({ full: false, tick: 2, body: new Uint8Array(0) }))),
    (error) => error instanceof DecodeError && error.kind === 'no-baseline',
  );
  const world = [{ index: 5, generation: 1, components: [[0, [1, 2]]] }];
  mirror.applyFrame(decodeServerMessage(snapshotBetween([], world, { full: true, tick: 10 })));
  const elsewhere = [{ index: 6, generation: 1, components: [[0, [1, 2]]] }];
  // The body despawns slot 6, which the mirror does not hold.
  const body = encodeBody(null, diff(elsewhere, []));
  assert.throws(
    () => mirror.applyFrame(decodeServerMessage(encodeSnapshot({ full: false, tick: 2, body }))),
    (error) => error instanceof DecodeError && error.kind === 'unknown-slot',
  );
});

test('a wrong checksum is a ChecksumMismatchError unless verification is off', () => {
  const world = [{ index: 0, generation: 1, components: [[0, [100, 200, 0]]] }];
  const wrong = encodeBody((checksumOf(world) + 1) >>> 0, diff([], world));
  const frame = decodeServerMessage(encodeSnapshot({ full: true, tick: 5, body: wrong }));
  assert.throws(() => new Mirror().applyFrame(frame), (error) => error instanceof ChecksumMismatchError && error.expected === ((checksumOf(world) + 1) >>> 0));
  const unchecked = new Mirror();
  assert.equal(unchecked.applyFrame(frame, false).checksumVerified, false);
  assert.equal(unchecked.checksum, checksumOf(world));
});

test('ticks and acks resolve as the reference mirror does, wrapping at 2^32', () => {
  const mirror = new Mirror();
  const frame = (options) => decodeServerMessage(encodeSnapshot({ body: new Uint8Array(0), ...options }));
  let applied = mirror.applyFrame(frame({ full: true, tick: 0xfffffffe, ack: null }));
  assert.deepEqual([applied.tick, applied.ack], [0xfffffffe, null]);
  // An advance before any absolute ack counts from 0 (nil meant "none applied yet").
  applied = mirror.applyFrame(frame({ full: false, tick: 3, ack: 2 }));
  assert.deepEqual([applied.tick, applied.ack, applied.ackChanged], [1, 2, true]);
  applied = mirror.applyFrame(frame({ full: false, tick: 2, ack: null }));
  assert.deepEqual([applied.tick, applied.ack, applied.ackChanged], [3, 2, false]);
  applied = mirror.applyFrame(frame({ full: false, tick: 2, ack: 0xffffffff, ackAbsolute: true }));
  assert.deepEqual([applied.tick, applied.ack], [5, 0xffffffff]);
  applied = mirror.applyFrame(frame({ full: false, tick: 2, ack: 3 }));
  assert.deepEqual([applied.tick, applied.ack], [7, 2]);
});
