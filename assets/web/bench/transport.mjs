// The HTTP fallback's own cost in the SDK: splitting the downstream stream into messages.
// Each golden stream of assets/vectors/arena.json is framed as the server frames it
// (`[kind 1][length u32 BE][message]`), cut into chunks the way a network delivers them
// (one frame per chunk, 1460-byte TCP segments, 16 KiB reads), and read with
// StreamFrameReader, each message handed on as an ArrayBuffer of its own as HttpSocket
// does; prints microseconds per message. Compare with bench/decode.mjs (the decode and
// apply every message costs over either transport).
//
//   npm run build && node bench/transport.mjs [--seconds 1] [--vectors PATH]
import { existsSync, readFileSync } from 'node:fs';
import { StreamFrameReader } from '../dist/tickcast.js';
import { fromHex } from '../tools/encoder.mjs';
import { streamFrame } from '../tools/fake-fallback.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : fallback;
};
const seconds = Number(option('--seconds', '1'));
const vectorsPath = option('--vectors', new URL('../../vectors/arena.json', import.meta.url).pathname);
if (!existsSync(vectorsPath)) {
  console.error(`no golden vectors at ${vectorsPath}; pass --vectors PATH`);
  process.exit(1);
}
const streams = JSON.parse(readFileSync(vectorsPath, 'utf8')).streams;

/** `bytes` cut into `size`-byte chunks (each a fresh buffer, as a network read is). */
function chunked(bytes, size) {
  const chunks = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.slice(at, at + size));
  return chunks;
}

/** Reads every chunk; returns the messages read (each an ArrayBuffer of its own). */
function read(chunks) {
  const reader = new StreamFrameReader();
  let messages = 0;
  let keep = null;
  for (const chunk of chunks) {
    for (const frame of reader.push(chunk)) {
      const payload = frame.payload;
      keep = payload.byteOffset === 0 && payload.byteLength === payload.buffer.byteLength ? payload.buffer : payload.slice().buffer;
      messages += 1;
    }
  }
  void keep;
  return messages;
}

function time(chunks, count) {
  for (let i = 0; i < 50; i++) read(chunks);
  let messages = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < seconds * 1e9) {
    messages += read(chunks);
    elapsed = Number(process.hrtime.bigint() - start);
  }
  if (messages % count !== 0) throw new Error('lost messages');
  return (elapsed / 1000 / messages).toFixed(3);
}

console.log(`stream framing (StreamFrameReader + an ArrayBuffer per message), ${vectorsPath}, node ${process.version}`);
console.log('stream       messages  bytes/message  µs/message: frame per chunk  1460 B chunks  16 KiB chunks');
for (const stream of streams) {
  const frames = stream.frames.map((frame) => streamFrame(1, fromHex(frame.message)));
  const whole = new Uint8Array(frames.reduce((sum, frame) => sum + frame.length, 0));
  let at = 0;
  for (const frame of frames) {
    whole.set(frame, at);
    at += frame.length;
  }
  const mean = (whole.length / frames.length - 5).toFixed(0);
  const cells = [time(frames, frames.length), time(chunked(whole, 1460), frames.length), time(chunked(whole, 16384), frames.length)];
  console.log(`${stream.name.padEnd(11)}  ${String(frames.length).padStart(8)}  ${mean.padStart(13)}  ${cells[0].padStart(27)}  ${cells[1].padStart(13)}  ${cells[2].padStart(13)}`);
}
