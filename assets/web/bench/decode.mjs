// Decode-and-apply benchmark: replays each golden stream of assets/vectors/arena.json
// through a fresh Mirror (message decode, body decode and apply, checksum verified) over
// and over, and prints microseconds per snapshot per stream.
//
//   npm run build && node bench/decode.mjs [--seconds 2] [--vectors PATH] [--synthetic [--plain]]
//
// --synthetic replays made-up arena-like streams instead (200 and 1000 moving entities),
// for when the vectors are not there yet: predicted bodies as a protocol 4 server sends
// them, or plain ones with --plain. Figures depend on the machine and on Node's JIT:
// compare runs on the same machine.
import { existsSync, readFileSync } from 'node:fs';
import { decodeServerMessage, Mirror } from '../dist/tickcast.js';
import { encodeWelcome, fromHex, rng, ServerStream, toHex } from '../tools/encoder.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : fallback;
};
const seconds = Number(option('--seconds', '2'));
const vectorsPath = option('--vectors', new URL('../../vectors/arena.json', import.meta.url).pathname);

/** Arena-like streams: drones moving a few hundredths a snapshot, a few hits, a few leaving and arriving. */
function synthetic(name, count, predicted, frames = 150) {
  const random = rng(count);
  const sender = new ServerStream({ predicted });
  let world = Array.from({ length: count }, (_, index) => ({
    index,
    generation: 1,
    components: [[0, [random.int(0, 10000), random.int(0, 6000), random.int(0, 4096)]], [1, [3]], [2, [1]]],
  }));
  const messages = [sender.next(world, { full: true, tick: 1000, ack: 0, ackAbsolute: true })];
  for (let frame = 1; frame < frames; frame++) {
    const next = world
      .filter(() => random.next() > 0.002)
      .map((entity) => {
        const [[, [x, y, angle]], [, [hp]], kind] = entity.components;
        const hit = random.next() < 0.01 && hp > 1;
        return {
          ...entity,
          components: [[0, [x + random.int(-10, 11), y + random.int(-10, 11), random.next() < 0.05 ? random.int(0, 4096) : angle]], [1, [hit ? hp - 1 : hp]], kind],
        };
      });
    while (next.length < count) {
      const used = new Set(next.map((e) => e.index));
      let index = 0;
      while (used.has(index)) index++;
      next.push({ index, generation: 3, components: [[0, [random.int(0, 10000), random.int(0, 6000), 0]], [1, [3]], [2, [1]]] });
      next.sort((a, b) => a.index - b.index);
    }
    messages.push(sender.next(next, { tick: 2, ack: 2 }));
    world = next;
  }
  return { name, welcome: toHex(encodeWelcome()), frames: messages.map((message) => ({ message: toHex(message) })) };
}

let streams;
let source;
if (args.includes('--synthetic')) {
  const predicted = !args.includes('--plain');
  streams = [synthetic('synthetic-200', 200, predicted), synthetic('synthetic-1000', 1000, predicted)];
  source = `synthetic streams (tools/encoder.mjs), ${predicted ? 'predicted' : 'plain'} bodies`;
} else if (existsSync(vectorsPath)) {
  streams = JSON.parse(readFileSync(vectorsPath, 'utf8')).streams;
  source = vectorsPath;
} else {
  console.error(`no golden vectors at ${vectorsPath}; pass --vectors PATH, or --synthetic for made-up streams`);
  process.exit(1);
}

/** Applies every frame of a stream to a fresh mirror; returns the entities held at the end. */
function replay(messages) {
  const mirror = new Mirror();
  for (const bytes of messages) {
    const message = decodeServerMessage(bytes);
    if (message.type === 'welcome') mirror.reset();
    else mirror.applyFrame(message, true);
  }
  return mirror;
}

const rows = [];
for (const stream of streams) {
  const messages = stream.frames.map((frame) => fromHex(frame.message));
  const bytes = messages.reduce((sum, m) => sum + m.length, 0);
  // Warm up (the JIT), then time whole replays for about `seconds`.
  let mirror;
  for (let i = 0; i < 20; i++) mirror = replay(messages);
  let snapshots = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < seconds * 1e9) {
    mirror = replay(messages);
    snapshots += messages.length;
    elapsed = Number(process.hrtime.bigint() - start);
  }
  let maxHeld = 0;
  const probe = new Mirror();
  for (const bytes of messages) {
    const message = decodeServerMessage(bytes);
    if (message.type === 'snapshot') probe.applyFrame(message, true);
    maxHeld = Math.max(maxHeld, probe.size);
  }
  rows.push({
    stream: stream.name,
    snapshots: messages.length,
    entities: maxHeld,
    'bytes/snapshot': (bytes / messages.length).toFixed(0),
    'µs/snapshot': (elapsed / 1000 / snapshots).toFixed(2),
  });
  void mirror;
}

console.log(`decode + apply + verify, ${source}, node ${process.version}`);
const columns = Object.keys(rows[0]);
const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => String(row[column]).length)));
const line = (cells) => cells.map((cell, i) => (i === 0 ? String(cell).padEnd(widths[i]) : String(cell).padStart(widths[i]))).join('  ');
console.log(line(columns));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const row of rows) console.log(line(columns.map((column) => row[column])));
