// Bit codes, CRC-32 and the message envelope against the hand-worked examples of
// docs/PROTOCOL.md (and the byte-literal tests of shared/src).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BitReader,
  BitWriter,
  crc32,
  DecodeError,
  decodeServerMessage,
  encodeHello,
  encodeInput,
  entityHash,
  MAX_SPECTATE_COORDINATE,
  Mirror,
  SchemaDecoder,
  unzigzag,
  wireValue,
  zigzag,
} from '../dist/tickcast.js';
import { decode } from '@msgpack/msgpack';
import { CUBES_SCHEMA, encodeWelcome, fromHex, rng, toHex } from '../tools/encoder.mjs';

/** Bits as a string of 0 and 1, padded to whole bytes with zeros. */
function bits(text) {
  const writer = new BitWriter();
  for (const bit of text) writer.writeBit(bit === '1');
  return writer.finish();
}

function written(write) {
  const writer = new BitWriter();
  write(writer);
  const bytes = writer.finish();
  return [...bytes].map((b) => b.toString(2).padStart(8, '0')).join('').slice(0, writer.bitLength());
}

test('EG(0) and EG(2) codes are the ones the protocol spells out', () => {
  assert.equal(written((w) => w.writeExpGolomb(0, 0)), '1');
  assert.equal(written((w) => w.writeExpGolomb(1, 0)), '010');
  assert.equal(written((w) => w.writeExpGolomb(2, 0)), '011');
  assert.equal(written((w) => w.writeExpGolomb(3, 0)), '00100');
  for (let v = 0; v <= 3; v++) assert.equal(written((w) => w.writeExpGolomb(v, 2)), `1${v.toString(2).padStart(2, '0')}`);
  for (let v = 4; v <= 11; v++) assert.equal(written((w) => w.writeExpGolomb(v, 2)), `01${(v + 4).toString(2).slice(1).padStart(3, '0')}`);
  assert.equal(written((w) => w.writeExpGolomb(0xffffffff, 0)).length, 65);

  const reader = new BitReader(bits('1' + '010' + '011' + '00100' + '100' + '01000' + '01111'));
  assert.deepEqual([0, 0, 0, 0].map(() => reader.readExpGolomb(0)), [0, 1, 2, 3]);
  assert.deepEqual([0, 0, 0].map(() => reader.readExpGolomb(2)), [0, 4, 11]);
  assert.ok(reader.onlyPaddingLeft());
});

test('zigzag maps 0, -1, 1, -2 to 0, 1, 2, 3 and back over the whole i32 range', () => {
  assert.deepEqual([0, -1, 1, -2].map(zigzag), [0, 1, 2, 3]);
  assert.equal(zigzag(-2147483648), 0xffffffff);
  assert.equal(zigzag(2147483647), 0xfffffffe);
  for (const value of [0, -1, 1, -2, 123456, -2147483648, 2147483647]) assert.equal(unzigzag(zigzag(value)), value);
});

test('truncated and overlong codes are typed errors, as in shared/src/bits.rs', () => {
  const kind = (bytes, read) => {
    try {
      read(new BitReader(Uint8Array.from(bytes)));
      return 'ok';
    } catch (error) {
      assert.ok(error instanceof DecodeError, String(error));
      return error.kind;
    }
  };
  assert.equal(kind([], (r) => r.readBit()), 'truncated');
  assert.equal(kind([0, 0, 0, 0, 0, 0, 0, 0], (r) => r.readExpGolomb(0)), 'overlong');
  assert.equal(kind([0x00, 0x01], (r) => r.readExpGolomb(0)), 'truncated');
  assert.equal(kind([0xff], (r) => r.readBits(9)), 'truncated');
});

test('values round-trip through the writer and reader at every alignment', () => {
  const random = rng(7);
  for (let round = 0; round < 200; round++) {
    const values = Array.from({ length: 40 }, () => ({
      unsigned: random.next() < 0.5 ? random.int(0, 64) : random.int(0, 2 ** 32),
      k: random.int(0, 4),
      signed: random.next() < 0.5 ? random.int(-40, 40) : random.int(0, 2 ** 32) | 0,
      raw: random.int(0, 32),
    }));
    const writer = new BitWriter();
    for (const { unsigned, k, signed, raw } of values) {
      writer.writeExpGolomb(unsigned, k);
      writer.writeSigned(signed, k);
      writer.writeBits(raw, 5);
    }
    const reader = new BitReader(writer.finish());
    for (const { unsigned, k, signed, raw } of values) {
      assert.equal(reader.readExpGolomb(k), unsigned);
      assert.equal(reader.readSigned(k), signed);
      assert.equal(reader.readBits(5), raw);
    }
    assert.ok(reader.onlyPaddingLeft());
  }
});

test('CRC-32 is zlib\'s and the entity hash covers the bytes the protocol lists', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
  // Index 1, generation 1, no components: CRC of 1,0,0,0 | 1,0,0,0 | 0,0,0,0.
  assert.equal(entityHash(1, 1, new Map()), crc32(Uint8Array.from([1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0])));
  // Index 7, generation 3, one component kind 2 with fields [-1, 300].
  const bytes = [7, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 2, 0xff, 0xff, 0xff, 0xff, 0x2c, 0x01, 0, 0];
  assert.equal(entityHash(7, 3, new Map([[2, [-1, 300]]])), crc32(Uint8Array.from(bytes)));
});

test('Hello and Input have the layouts of the protocol (version 5)', () => {
  assert.equal(toHex(encodeHello('ann')), '81a168920 5a3616e6e'.replace(/\s/g, ''));
  // {"h": [5, "ann", bin(07)]}: the resume token as MessagePack bin.
  assert.equal(toHex(encodeHello('ann', Uint8Array.of(7))), '81 a1 68 93 05 a3 61 6e 6e c4 01 07'.replace(/\s/g, ''));
  const token = Uint8Array.from({ length: 44 }, (_, n) => n);
  assert.equal(toHex(encodeHello('ann', token)), `81a16893 05a3616e6e c42c${toHex(token)}`.replace(/\s/g, ''));
  // A Node Buffer is a Uint8Array, and bin too.
  assert.equal(toHex(encodeHello('ann', Buffer.from([7]))), '81a1689305a3616e6ec40107');
  // No token, or an empty one: the two-element Hello.
  assert.equal(toHex(encodeHello('ann', null)), '81a1689205a3616e6e');
  assert.equal(toHex(encodeHello('ann', new Uint8Array(0))), '81a1689205a3616e6e');
  assert.deepEqual(decode(encodeHello('ann', Uint8Array.of(7))), { h: [5, 'ann', Uint8Array.of(7)] });
  // {"i": [7, 300, 1, 0, 0.5, 1]}: seq, the view tick, then whole numbers as integers and
  // fractions as float 32 (the Rust wire_examples' Input).
  assert.equal(toHex(encodeInput(7, 300, [1, 0, 0.5, 1])), '81 a1 69 96 07 cd 01 2c 01 00 ca 3f 00 00 00 01'.replace(/\s/g, ''));
  // {"i": [7, 300, -3, 0.5, 4]}: the Rust input test's literal (a step count, a float, bits).
  assert.equal(toHex(encodeInput(7, 300, [-3, 0.5, 4])), '81a16995 07cd012c fdca3f00000004'.replace(/\s/g, ''));
  // No view tick yet: nil.
  assert.deepEqual(decode(encodeInput(1, null, [])), { i: [1, null] });
  assert.deepEqual(decode(encodeInput(2 ** 32 + 1, 2 ** 32 + 5, [0])), { i: [1, 5, 0] });
});

test('a spectator\'s Hello carries nil (or the token) then [] or [x, y]', () => {
  // {"h": [5, "", nil, []]}: the whole world, as the Rust test writes it.
  assert.equal(toHex(encodeHello('', null, true)), '81a1689405a0c090');
  assert.equal(toHex(encodeHello('', new Uint8Array(0), true)), '81a1689405a0c090');
  assert.deepEqual(decode(encodeHello('ann', null, true)), { h: [5, 'ann', null, []] });
  // {"h": [5, "ann", nil, [1.5, -2]]}: fractions as float 32, whole numbers as integers.
  assert.equal(toHex(encodeHello('ann', null, { x: 1.5, y: -2 })), '81 a1 68 94 05 a3 61 6e 6e c0 92 ca 3f c0 00 00 fe'.replace(/\s/g, ''));
  assert.equal(toHex(encodeHello('', null, { x: 50, y: 30 })), '81a1689405a0c092321e');
  assert.deepEqual(decode(encodeHello('', null, { x: 0.1, y: 1e6 })), { h: [5, '', null, [Math.fround(0.1), 1e6]] });
  // A token still takes its place (the SDK's spectators never send one).
  assert.equal(toHex(encodeHello('', Uint8Array.of(7), true)), '81a1689405a0c4010790');
  // Neither true nor a finite point: refused before anything is sent.
  for (const bad of [{ x: Number.NaN, y: 0 }, { x: 0, y: Infinity }, { x: MAX_SPECTATE_COORDINATE * 2, y: 0 }]) {
    assert.throws(() => encodeHello('', null, bad), RangeError);
  }
  for (const bad of [false, 1, 'world', { x: 1 }, { x: '1', y: 2 }, []]) {
    assert.throws(() => encodeHello('', null, bad), TypeError);
  }
  // The version is the fourth argument.
  assert.equal(toHex(encodeHello('', null, null, 7)), '81a1689207a0');
});

test('the two wire_examples snapshots decode and their checksums verify', () => {
  const full = decodeServerMessage(fromHex('95 01 03 7c 07 c4 15 d4 d4 f1 34 b7 92 40 66 01 94 94 aa d9 24 01 f6 01 94 94 aa c0'));
  const delta = decodeServerMessage(fromHex('95 01 00 02 02 c4 11 ed 6c bb f6 12 5c 34 02 72 48 01 c3 00 ca 4a 55 60'));
  assert.equal(full.type, 'snapshot');
  assert.deepEqual([full.full, full.tick, full.ack, full.ackAbsolute, full.body.length], [true, 124, 7, true, 21]);
  assert.deepEqual([delta.full, delta.tick, delta.ack, delta.ackAbsolute], [false, 2, 2, false]);

  const mirror = new Mirror();
  const first = mirror.applyFrame(full);
  assert.deepEqual([first.tick, first.ack, first.checksumVerified, first.spawned.length], [124, 7, true, 2]);
  const drone = (x) => new Map([[0, [x, 200, 0]], [1, [3]], [2, [1]]]);
  assert.deepEqual(mirror.entityAt(0).components, drone(100));
  assert.deepEqual(mirror.entityAt(1).components, drone(500));

  const second = mirror.applyFrame(delta);
  assert.deepEqual(
    [second.tick, second.ack, second.checksumVerified, second.updated.length, second.despawned.length, second.spawned.length],
    [126, 9, true, 1, 1, 1],
  );
  assert.deepEqual(mirror.entityAt(0).components, drone(150));
  assert.equal(mirror.entityAt(1), undefined);
  assert.deepEqual(mirror.entityAt(2).components, drone(900));

  // The idle frame: two ticks later, ack +2, nothing else.
  const idle = mirror.applyFrame(decodeServerMessage(fromHex('95 01 00 02 02 c4 00')));
  assert.deepEqual([idle.tick, idle.ack, idle.checksumVerified, mirror.size], [128, 11, false, 2]);
});

test('a v5 Welcome decodes with its schema and resume token, and world values follow it', () => {
  const token = Uint8Array.from({ length: 44 }, (_, n) => 200 - n);
  const welcome = decodeServerMessage(encodeWelcome({ clientId: 3, player: [4, 1], tick: 99, resume: token }));
  assert.equal(welcome.type, 'welcome');
  assert.deepEqual([welcome.protocolVersion, welcome.clientId, welcome.player, welcome.tickRate, welcome.snapshotRate, welcome.tick], [5, 3, { index: 4, generation: 1 }, 60, 30, 99]);
  assert.ok(welcome.resume instanceof Uint8Array);
  assert.deepEqual(welcome.resume, token);
  assert.equal(welcome.schema.game, 'arena');
  assert.deepEqual(welcome.schema.input.map((f) => f.name), ['move_x', 'move_y', 'aim', 'buttons']);
  const decoder = new SchemaDecoder(welcome.schema);
  const world = decoder.decode({ id: { index: 4, generation: 1 }, components: new Map([[0, [1230, -450, 1024]], [1, [7]], [3, [2, 1]]]) });
  assert.ok(Math.abs(world.components.Transform2.x - 12.3) < 1e-6);
  assert.ok(Math.abs(world.components.Transform2.y + 4.5) < 1e-6);
  assert.ok(Math.abs(world.components.Transform2.angle - Math.PI / 2) < 1e-12);
  assert.deepEqual(world.components.Health, { hp: 7 });
  assert.deepEqual(world.components.Score, { kills: 2, deaths: 1 });

  // The Rust test's literal: [0, 5, 3, [4, 1], 60, 30, 99, ["", [], []], bin(ab)].
  const empty = decodeServerMessage(fromHex('99 00 05 03 92 04 01 3c 1e 63 93 a0 90 90 c4 01 ab'));
  assert.deepEqual(empty.schema, { game: '', components: [], input: [] });
  assert.deepEqual(empty.resume, Uint8Array.of(0xab));
  // The token is a copy, not a view into the message.
  assert.equal(empty.resume.byteOffset, 0);
  assert.equal(empty.resume.buffer.byteLength, 1);
});

test('a spectator\'s Welcome has a nil player and an empty resume token', () => {
  // [0, 5, 3, nil, 60, 30, 99, ["", [], []], bin()]
  const welcome = decodeServerMessage(fromHex('99 00 05 03 c0 3c 1e 63 93 a0 90 90 c4 00'));
  assert.equal(welcome.player, null);
  assert.deepEqual([welcome.clientId, welcome.tickRate, welcome.snapshotRate, welcome.tick], [3, 60, 30, 99]);
  assert.deepEqual(welcome.resume, new Uint8Array(0));
  const arena = decodeServerMessage(encodeWelcome({ player: null }));
  assert.equal(arena.player, null);
  assert.equal(arena.schema.game, 'arena');
  // Anything else in the player's place is still refused.
  const refused = (hex, pattern) => {
    assert.throws(() => decodeServerMessage(fromHex(hex)), (error) => error instanceof DecodeError && error.kind === 'protocol' && pattern.test(error.message));
  };
  refused('99 00 05 03 90 3c 1e 63 93 a0 90 90 c4 00', /player has 0 elements, expected 2/);
  refused('99 00 05 03 91 04 3c 1e 63 93 a0 90 90 c4 00', /player has 1 elements, expected 2/);
  refused('99 00 05 03 04 3c 1e 63 93 a0 90 90 c4 00', /player is not an array/);
  refused('99 00 05 03 92 c0 01 3c 1e 63 93 a0 90 90 c4 00', /player index is not a u32/);
});

test('a Welcome without its resume token, or with one that is not bin, is refused', () => {
  const refused = (hex, pattern) => {
    assert.throws(() => decodeServerMessage(fromHex(hex)), (error) => error instanceof DecodeError && error.kind === 'protocol' && pattern.test(error.message));
  };
  // The 8-element Welcome of before the resume token.
  refused('98 00 05 03 92 04 01 3c 1e 63 93 a0 90 90', /welcome has 8 elements, expected 9/);
  refused('9a 00 05 03 92 04 01 3c 1e 63 93 a0 90 90 c4 00 c0', /welcome has 10 elements, expected 9/);
  refused('99 00 05 03 92 04 01 3c 1e 63 93 a0 90 90 a1 61', /resume token is not bin/);
  refused('99 00 05 03 92 04 01 3c 1e 63 93 a0 90 90 c0', /resume token is not bin/);
  // Another version is a version error whatever its shape.
  assert.throws(() => decodeServerMessage(fromHex('98 00 02 03 92 04 01 3c 1e 63 93 a0 90 90')), (error) => error.kind === 'version');
  // Protocol 3 (bodies without the predicted bit) is another version now.
  assert.throws(() => decodeServerMessage(fromHex('99 00 03 03 92 04 01 3c 1e 63 93 a0 90 90 c4 01 ab')), (error) => error.kind === 'version' && /version 3; this client speaks 5/.test(error.message));
});

test('inputs are clamped into the announced ranges as float 32', () => {
  const decoder = new SchemaDecoder(decodeServerMessage(encodeWelcome()).schema);
  const fields = decoder.inputFields({ move_x: 3, move_y: -0.3, aim: 7, buttons: 1 });
  assert.equal(fields[0], 1);
  assert.equal(fields[1], Math.fround(-0.3));
  // 2π rounds up as a float 32; the server's range is that float 32, so it is kept.
  assert.equal(fields[2], Math.fround(2 * Math.PI));
  assert.ok(fields[2] <= decoder.schema.input[2].max);
  assert.equal(fields[3], 1);
  assert.deepEqual(decoder.inputFields({ move_x: Number.NaN }), [0, 0, 0, 0]);
  // Bits: only the mask's (fire 1, rail 2), whatever is asked for.
  assert.deepEqual(decoder.inputFields({ buttons: 7 }), [0, 0, 0, 3]);
  assert.deepEqual(decoder.inputFields({ buttons: -1 }), [0, 0, 0, 0]);
  assert.deepEqual(decoder.inputFields({ buttons: 2.9 }), [0, 0, 0, 2]);
});

test('step fields travel as whole step counts and bits as integers (the cubes input)', () => {
  const welcome = decodeServerMessage(encodeWelcome({ schema: CUBES_SCHEMA }));
  assert.deepEqual(welcome.schema.input, [
    { name: 'move_x', kind: 'step', min: -1, max: 1, step: 1 / 64 },
    { name: 'move_z', kind: 'step', min: -1, max: 1, step: 1 / 64 },
    { name: 'buttons', kind: 'bits', min: 0, max: 3, step: 1 },
  ]);
  const decoder = new SchemaDecoder(welcome.schema);
  // 0.5 is 32 steps of 1/64; -0.3 rounds to -19 steps; out of range clamps to ±64.
  assert.deepEqual(decoder.inputFields({ move_x: 0.5, move_z: -0.3, buttons: 2 }), [32, -19, 2]);
  assert.deepEqual(decoder.inputFields({ move_x: 9, move_z: -Infinity, buttons: 4 }), [64, 0, 0]);
  assert.deepEqual(decoder.inputFields({ move_x: -1e-9 }), [0, 0, 0]);
  assert.ok(Object.is(decoder.inputFields({ move_x: -1e-9 })[0], 0), 'no -0, which would not be an integer on the wire');
  // The game's values: what the server will act on (count * step in float 32).
  assert.deepEqual(decoder.inputValues([32, -19, 2]), { move_x: 0.5, move_z: Math.fround(-19 / 64), buttons: 2 });
  // On the wire: {"i": [0, nil, 32, -19, 2]}, integers all.
  assert.equal(toHex(encodeInput(0, null, decoder.inputFields({ move_x: 0.5, move_z: -0.3, buttons: 2 }))), '81a1699500c020ed02');
  // A step field whose ends are not multiples of its step stays inside them.
  const odd = wireValue({ name: 's', kind: 'step', min: -1, max: 1, step: 0.3 }, 1);
  assert.equal(odd, 3);
  assert.ok(Math.fround(odd * Math.fround(0.3)) <= 1);
});

test('input fields the client could not send are refused in the Welcome', () => {
  const refused = (field, pattern) => {
    const schema = ['g', [], [field]];
    assert.throws(
      () => decodeServerMessage(encodeWelcome({ schema })),
      (error) => error instanceof DecodeError && error.kind === 'protocol' && pattern.test(error.message),
    );
  };
  refused(['x', 'float', -1, 1], /input field has 4 elements, expected 5/);
  refused(['x', 'vector', -1, 1, 0], /input field x: vector with min -1, max 1, step 0 is not a field/);
  refused(['x', 'step', -1, 1, 0], /input field x: step with .* step 0 is not a field/);
  refused(['x', 'bits', 0, 0.5, 1], /input field x: bits with min 0, max 0.5/);
  refused(['x', 'bits', 0, 2 ** 24, 1], /input field x: bits/);
  refused(['x', 'float', 1, -1, 0], /input field x: the range is empty/);
  refused(['x', 7, -1, 1, 0], /input field kind is not a string/);
});

test('messages the server would not send are refused with a reason', () => {
  const refused = (hex, pattern) => {
    assert.throws(() => decodeServerMessage(fromHex(hex)), (error) => error instanceof DecodeError && pattern.test(error.message));
  };
  refused('92 07 00', /unknown server message tag 7/);
  refused('95 01 cc 80 02 c0 c4 00', /unknown snapshot flags 0x80/);
  refused('95 01 04 02 c0 c4 00', /unknown snapshot flags 0x04/);
  refused('95 01 80 02 c0 c4 00', /flags is not a u8/);
  refused('95 01 00 02 c0 c4 00 00', /Extra 1/);
  refused('95 01 00 02 c0 c6 ff ff ff ff', /malformed/);
  refused('94 01 00 02 c0', /4 elements/);
  refused('95 01 00 ca 3f c0 00 00 c0 c4 00', /tick is not a u32/);
  refused('95 01 00 ff c0 c4 00', /tick is not a u32/);
  refused('95 01 00 02 02 a1 61', /body is not bin/);
  assert.throws(() => decodeServerMessage(encodeWelcome({ version: 2 })), (error) => error.kind === 'version');
  assert.throws(() => decodeServerMessage(encodeWelcome({ version: 3 })), (error) => error.kind === 'version');
});

test('the arena Welcome quoted in docs/PROTOCOL.md decodes to its schema', () => {
  const welcome = decodeServerMessage(
    fromHex(`99 00 05 03 92 00 01 3c 1e 78 93 a5 61 72 65 6e 61 94 93 00 aa 54 72 61 6e 73 66 6f
      72 6d 32 93 93 a1 78 cb 3f 84 7a e1 40 00 00 00 00 93 a1 79 cb 3f 84 7a e1 40 00 00
      00 00 93 a5 61 6e 67 6c 65 cb 3f 59 21 fb 54 44 2d 18 cd 10 00 93 01 a6 48 65 61 6c
      74 68 91 93 a2 68 70 cb 3f f0 00 00 00 00 00 00 00 93 02 aa 45 6e 74 69 74 79 4b 69
      6e 64 91 93 a4 6b 69 6e 64 cb 3f f0 00 00 00 00 00 00 00 93 03 a5 53 63 6f 72 65 92
      93 a5 6b 69 6c 6c 73 cb 3f f0 00 00 00 00 00 00 00 93 a6 64 65 61 74 68 73 cb 3f f0
      00 00 00 00 00 00 00 94 95 a6 6d 6f 76 65 5f 78 a5 66 6c 6f 61 74 cb bf f0 00 00 00
      00 00 00 cb 3f f0 00 00 00 00 00 00 cb 00 00 00 00 00 00 00 00 95 a6 6d 6f 76 65 5f
      79 a5 66 6c 6f 61 74 cb bf f0 00 00 00 00 00 00 cb 3f f0 00 00 00 00 00 00 cb 00 00
      00 00 00 00 00 00 95 a3 61 69 6d a5 66 6c 6f 61 74 cb c0 19 21 fb 60 00 00 00 cb 40
      19 21 fb 60 00 00 00 cb 00 00 00 00 00 00 00 00 95 a7 62 75 74 74 6f 6e 73 a4 62 69
      74 73 cb 00 00 00 00 00 00 00 00 cb 40 08 00 00 00 00 00 00 cb 3f f0 00 00 00 00 00
      00 c4 00`),
  );
  assert.deepEqual([welcome.protocolVersion, welcome.clientId, welcome.player, welcome.tickRate, welcome.snapshotRate, welcome.tick], [5, 3, { index: 0, generation: 1 }, 60, 30, 120]);
  const expected = decodeServerMessage(encodeWelcome({ clientId: 3, tick: 120 })).schema;
  assert.deepEqual(welcome.schema, expected);
  assert.equal(welcome.schema.components[0].fields[0].scale, 0.009999999776482582);
  assert.equal(welcome.schema.components[0].fields[2].scale, (2 * Math.PI) / 4096);
  assert.deepEqual(welcome.schema.input[2], { name: 'aim', kind: 'float', min: -6.2831854820251465, max: 6.2831854820251465, step: 0 });
  assert.deepEqual(welcome.resume, new Uint8Array(0));
});
