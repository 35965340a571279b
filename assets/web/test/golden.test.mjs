// Golden vectors: streams of server messages recorded from the Rust server with what the
// Rust mirror held after each one (tick, ack, checksum, entities). The SDK's mirror must
// reach exactly the same state, frame by frame.
//
// assets/vectors/arena.json is written by the Rust side (see its "about" for the command);
// this test fails if it is missing. test/fixtures/doc-examples.json holds the snapshots of
// docs/PROTOCOL.md in the same format (tools/make-doc-examples.mjs).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { decodeServerMessage, Mirror } from '../dist/tickcast.js';
import { fromHex, plainEntities } from '../tools/encoder.mjs';

const VECTORS = new URL('../../vectors/arena.json', import.meta.url);
const DOC_EXAMPLES = new URL('./fixtures/doc-examples.json', import.meta.url);

/** Replays every stream of a vector file through a fresh mirror; returns frames checked and the Welcomes. */
function replay(file) {
  const vectors = JSON.parse(readFileSync(file, 'utf8'));
  assert.ok(Array.isArray(vectors.streams) && vectors.streams.length > 0, 'the file has no streams');
  let checked = 0;
  const welcomes = [];
  for (const stream of vectors.streams) {
    const welcome = decodeServerMessage(fromHex(stream.welcome));
    assert.equal(welcome.type, 'welcome', `${stream.name}: the welcome is not a Welcome`);
    assert.equal(welcome.protocolVersion, 5);
    assert.ok(welcome.resume instanceof Uint8Array, `${stream.name}: the welcome's resume token`);
    welcomes.push(welcome);
    const mirror = new Mirror();
    stream.frames.forEach((frame, at) => {
      const where = `${stream.name} frame ${at}`;
      const message = decodeServerMessage(fromHex(frame.message));
      assert.equal(message.type, 'snapshot', `${where}: not a snapshot`);
      // Checksums the body carries are verified by applyFrame itself.
      const applied = mirror.applyFrame(message, true);
      assert.equal(applied.tick, frame.tick, `${where}: tick`);
      assert.equal(applied.ack, frame.ack, `${where}: ack`);
      // Compared whether or not this body carried one: the mirror keeps it up to date.
      assert.equal(mirror.checksum, frame.checksum, `${where}: checksum`);
      assert.equal(mirror.size, frame.entity_count, `${where}: entity count`);
      if (frame.entities !== undefined) {
        assert.deepEqual(plainEntities(mirror), frame.entities, `${where}: entities`);
      }
      checked++;
    });
  }
  return { checked, welcomes };
}

test('the docs/PROTOCOL.md examples replay to the expected states', () => {
  assert.equal(replay(DOC_EXAMPLES).checked, 3);
});

test('the Rust golden vectors (assets/vectors/arena.json) replay to the Rust mirror\'s states', () => {
  assert.ok(
    existsSync(VECTORS),
    `golden vectors missing: ${VECTORS.pathname} (written by the Rust side; see the repository README for the command)`,
  );
  const { checked, welcomes } = replay(VECTORS);
  assert.ok(checked > 0);
  // A real server's Welcome carries its resume token (44 bytes today: client id, slot
  // index and generation, HMAC-SHA256).
  for (const welcome of welcomes) assert.ok(welcome.resume.length > 0, 'the recorded Welcome has a resume token');
});
