/**
 * The messages of tickcast protocol version 5 and their MessagePack encoding, mirroring
 * `shared/src/protocol.rs` and `shared/src/input.rs` (docs/PROTOCOL.md spells out each
 * message byte by byte).
 *
 * Client to server, a one-entry map from a one-letter name to an array:
 * `{"h": [5, name]}`, `{"h": [5, name, resume]}` or, for a spectator,
 * `{"h": [5, name, resume | nil, spectate]}` (Hello) and
 * `{"i": [seq, view_tick | nil, ...input fields]}` (Input, the fields as the game's
 * declaration in the Welcome schema says).
 * Server to client, a flat array whose first element is the tag:
 * `[0, version, client_id, [index, generation] | nil, tick_rate, snapshot_rate, tick, schema, resume]`
 * (Welcome; nil player for a spectator) and `[1, flags, tick, ack, body]` (Snapshot).
 *
 * Decoding is strict, as the server's is: exact element counts, integers in range, no
 * trailing bytes. Anything else is a {@link DecodeError} of kind `protocol`.
 */

import { Decoder, Encoder } from '@msgpack/msgpack';
import { DecodeError } from './errors.js';
import type { ComponentSchema, FieldSchema, GameSchema, InputFieldSchema } from './schema.js';

/** The protocol version this SDK speaks. */
export const PROTOCOL_VERSION = 5;

/** Tag of a Welcome. */
export const WELCOME_TAG = 0;
/** Tag of a Snapshot. */
export const SNAPSHOT_TAG = 1;

/** Snapshot flag: clear the world first; the tick is absolute. */
export const FLAG_FULL = 1;
/** Snapshot flag: the ack is the last applied input seq, not an advance. */
export const FLAG_ACK_ABSOLUTE = 2;

/** Identity of a replicated entity: a slot index and its (odd) generation. */
export interface NetId {
  readonly index: number;
  readonly generation: number;
}

/**
 * What a spectator watches: `true` for the whole world (the room's interest radius does
 * not apply), or a point whose surroundings (the room's area of interest around it) it
 * watches. A spectator has no player and sends no inputs.
 */
export type Spectate = true | { readonly x: number; readonly y: number };

/** Largest spectate coordinate the server accepts (in absolute value). */
export const MAX_SPECTATE_COORDINATE = 1e9;

/**
 * Checks a {@link Spectate} value; throws a `TypeError` or `RangeError` naming what is
 * wrong (the server would close the connection over it).
 */
export function checkSpectate(spectate: unknown): asserts spectate is Spectate {
  if (spectate === true) {
    return;
  }
  if (typeof spectate !== 'object' || spectate === null) {
    throw new TypeError('spectate must be true (the whole world) or {x, y} (a point)');
  }
  const { x, y } = spectate as { x?: unknown; y?: unknown };
  for (const [name, value] of [['x', x], ['y', y]] as const) {
    if (typeof value !== 'number') {
      throw new TypeError(`spectate.${name} must be a number`);
    }
    if (!Number.isFinite(value) || Math.abs(value) > MAX_SPECTATE_COORDINATE) {
      throw new RangeError(`spectate.${name} must be finite and within ±1e9, not ${value}`);
    }
  }
}

/** The server's answer to a valid Hello. */
export interface Welcome {
  readonly type: 'welcome';
  readonly protocolVersion: number;
  /** This connection's id within the room. */
  readonly clientId: number;
  /** The entity this client controls; null for a spectator (it controls none). */
  readonly player: NetId | null;
  /** Simulation steps per second. */
  readonly tickRate: number;
  /** Snapshots per second. */
  readonly snapshotRate: number;
  /** The room's tick when the client joined. */
  readonly tick: number;
  readonly schema: GameSchema;
  /**
   * The session's resume token (opaque bytes, signed by the server): a later connection
   * that presents it in its Hello gets this player back if the server still holds it.
   * Empty for a spectator (there is nothing to resume).
   */
  readonly resume: Uint8Array;
}

/** A snapshot as sent: a header around the bit-packed body. */
export interface SnapshotFrame {
  readonly type: 'snapshot';
  /** Clear the world before applying; `tick` is absolute. */
  readonly full: boolean;
  /** Full: the snapshot's tick. Otherwise ticks since the previous snapshot. */
  readonly tick: number;
  /** `null`: no change. With `ackAbsolute` the last applied seq, else its advance. */
  readonly ack: number | null;
  readonly ackAbsolute: boolean;
  /** The body; empty when nothing the client sees changed. */
  readonly body: Uint8Array;
}

/** Any server message. */
export type ServerMessage = Welcome | SnapshotFrame;

// Limits well above anything a server sends, so that a hostile length prefix is refused
// before anything is allocated for it.
const decoder = new Decoder({
  maxStrLength: 1 << 16,
  maxBinLength: 1 << 26,
  maxArrayLength: 1 << 16,
  maxMapLength: 64,
  maxExtLength: 0,
});

// Float 32 for fractional input values: what the server's f32 fields hold anyway, and
// half the bytes of float 64. Integers (step counts, bit sets, whole floats) keep their
// shortest integer encoding.
const encoder = new Encoder({ forceFloat32: true });

/**
 * Encodes a Hello: `{"h": [version, name]}`; `{"h": [version, name, resume]}` with the
 * resume token of an earlier connection's Welcome (bin) to take its player back; and
 * `{"h": [version, name, resume | nil, spectate]}` to join as a spectator, where
 * `spectate` is `[]` (`true`: the whole world) or `[x, y]` (a point). An empty or absent
 * token is left out, or written as nil when a `spectate` follows. Throws a `TypeError` or
 * `RangeError` for a `spectate` that is neither (see {@link checkSpectate}).
 *
 * `{"h": [4, "", nil, []]}` is `81 a1 68 94 04 a0 c0 90`.
 */
export function encodeHello(
  name: string,
  resume: Uint8Array | null = null,
  spectate: Spectate | null = null,
  protocolVersion: number = PROTOCOL_VERSION,
): Uint8Array {
  const token = resume !== null && resume.length > 0 ? resume : null;
  if (spectate !== null) {
    checkSpectate(spectate);
    const watch = spectate === true ? [] : [spectate.x, spectate.y];
    return encoder.encode({ h: [protocolVersion, name, token, watch] });
  }
  if (token !== null) {
    return encoder.encode({ h: [protocolVersion, name, token] });
  }
  return encoder.encode({ h: [protocolVersion, name] });
}

/**
 * Encodes an Input: `seq` (u32, wrapping), the tick the client was showing when it acted
 * (its interpolated render tick, u32, for the server's lag compensation; null when it
 * shows no world yet), then the game's input fields in schema order in wire form (see
 * `SchemaDecoder.inputFields`).
 *
 * `{"i": [7, 300, -3, 0.5, 4]}` is `81 a1 69 95 07 cd 01 2c fd ca 3f 00 00 00 04`.
 */
export function encodeInput(seq: number, viewTick: number | null, fields: readonly number[]): Uint8Array {
  return encoder.encode({ i: [seq >>> 0, viewTick === null ? null : viewTick >>> 0, ...fields] });
}

/** Decodes one server message; throws a {@link DecodeError} on anything else. */
export function decodeServerMessage(bytes: Uint8Array | ArrayBuffer): ServerMessage {
  let value: unknown;
  try {
    value = decoder.decode(bytes);
  } catch (error) {
    throw new DecodeError('protocol', `malformed message: ${error instanceof Error ? error.message : String(error)}`);
  }
  const message = array(value, 'server message');
  const tag = uint(message[0], 8, 'tag');
  switch (tag) {
    case WELCOME_TAG:
      return decodeWelcome(message);
    case SNAPSHOT_TAG:
      return decodeSnapshot(message);
    default:
      throw fail(`unknown server message tag ${tag}`);
  }
}

function decodeWelcome(message: unknown[]): Welcome {
  // The version first: another version's Welcome may have another shape, and is reported
  // as what it is.
  const protocolVersion = uint(message[1], 16, 'protocol_version');
  if (protocolVersion !== PROTOCOL_VERSION) {
    throw new DecodeError(
      'version',
      `the server speaks protocol version ${protocolVersion}; this client speaks ${PROTOCOL_VERSION}`,
    );
  }
  expectLength(message, 9, 'welcome');
  const resume = message[8];
  if (!(resume instanceof Uint8Array)) {
    throw fail('welcome resume token is not bin');
  }
  // nil for a spectator.
  let player: NetId | null = null;
  if (message[3] !== null) {
    const id = array(message[3], 'player');
    expectLength(id, 2, 'player');
    player = { index: uint(id[0], 32, 'player index'), generation: uint(id[1], 32, 'player generation') };
  }
  return {
    type: 'welcome',
    protocolVersion,
    clientId: uint(message[2], 32, 'client_id'),
    player,
    tickRate: positive(uint(message[4], 16, 'tick_rate'), 'tick_rate'),
    snapshotRate: positive(uint(message[5], 16, 'snapshot_rate'), 'snapshot_rate'),
    tick: uint(message[6], 32, 'tick'),
    schema: decodeSchema(message[7]),
    // A copy: the decoder's bytes may be a view into the message.
    resume: resume.slice(),
  };
}

function decodeSchema(value: unknown): GameSchema {
  const schema = array(value, 'schema');
  expectLength(schema, 3, 'schema');
  const components: ComponentSchema[] = array(schema[1], 'schema components').map((entry, at) => {
    const component = array(entry, `component ${at}`);
    expectLength(component, 3, `component ${at}`);
    const fields: FieldSchema[] = array(component[2], `component ${at} fields`).map((item) => {
      const field = array(item, `component ${at} field`);
      expectLength(field, 3, `component ${at} field`);
      return {
        name: string(field[0], 'field name'),
        scale: finite(field[1], 'field scale'),
        wrap: uint(field[2], 32, 'field wrap'),
      };
    });
    return { kind: uint(component[0], 8, 'component kind'), name: string(component[1], 'component name'), fields };
  });
  for (let at = 1; at < components.length; at++) {
    if (components[at]!.kind <= components[at - 1]!.kind) {
      throw fail('schema components are not sorted by kind');
    }
  }
  const input: InputFieldSchema[] = array(schema[2], 'schema input').map((item) => {
    const field = array(item, 'input field');
    expectLength(field, 5, 'input field');
    const name = string(field[0], 'input field name');
    const kind = string(field[1], 'input field kind');
    const min = finite(field[2], 'input min');
    const max = finite(field[3], 'input max');
    const step = finite(field[4], 'input step');
    if (min > max) {
      throw fail(`input field ${name}: the range is empty`);
    }
    if (kind === 'float' || (kind === 'step' && step > 0)) {
      return { name, kind, min, max, step };
    }
    if (kind === 'bits' && min === 0 && Number.isInteger(max) && max < 2 ** 24) {
      return { name, kind, min, max, step };
    }
    throw fail(`input field ${name}: ${kind} with min ${min}, max ${max}, step ${step} is not a field this client can send`);
  });
  return { game: string(schema[0], 'game'), components, input };
}

function decodeSnapshot(message: unknown[]): SnapshotFrame {
  expectLength(message, 5, 'snapshot');
  const flags = uint(message[1], 8, 'flags');
  if ((flags & ~(FLAG_FULL | FLAG_ACK_ABSOLUTE)) !== 0) {
    throw fail(`unknown snapshot flags 0x${flags.toString(16).padStart(2, '0')}`);
  }
  const body = message[4];
  if (!(body instanceof Uint8Array)) {
    throw fail('snapshot body is not bin');
  }
  return {
    type: 'snapshot',
    full: (flags & FLAG_FULL) !== 0,
    tick: uint(message[2], 32, 'tick'),
    ack: message[3] === null ? null : uint(message[3], 32, 'input ack'),
    ackAbsolute: (flags & FLAG_ACK_ABSOLUTE) !== 0,
    body,
  };
}

function fail(message: string): DecodeError {
  return new DecodeError('protocol', `malformed message: ${message}`);
}

function array(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) {
    throw fail(`${what} is not an array`);
  }
  return value;
}

function expectLength(value: readonly unknown[], length: number, what: string): void {
  if (value.length !== length) {
    throw fail(`${what} has ${value.length} elements, expected ${length}`);
  }
}

function uint(value: unknown, bits: 8 | 16 | 32, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= 2 ** bits) {
    throw fail(`${what} is not a u${bits}`);
  }
  return value;
}

function positive(value: number, what: string): number {
  if (value === 0) {
    throw fail(`${what} is zero`);
  }
  return value;
}

function finite(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw fail(`${what} is not a finite number`);
  }
  return value;
}

function string(value: unknown, what: string): string {
  if (typeof value !== 'string') {
    throw fail(`${what} is not a string`);
  }
  return value;
}
