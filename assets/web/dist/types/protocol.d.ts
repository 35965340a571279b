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
import type { GameSchema } from './schema.js';
/** The protocol version this SDK speaks. */
export declare const PROTOCOL_VERSION = 5;
/** Tag of a Welcome. */
export declare const WELCOME_TAG = 0;
/** Tag of a Snapshot. */
export declare const SNAPSHOT_TAG = 1;
/** Snapshot flag: clear the world first; the tick is absolute. */
export declare const FLAG_FULL = 1;
/** Snapshot flag: the ack is the last applied input seq, not an advance. */
export declare const FLAG_ACK_ABSOLUTE = 2;
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
export type Spectate = true | {
    readonly x: number;
    readonly y: number;
};
/** Largest spectate coordinate the server accepts (in absolute value). */
export declare const MAX_SPECTATE_COORDINATE = 1000000000;
/**
 * Checks a {@link Spectate} value; throws a `TypeError` or `RangeError` naming what is
 * wrong (the server would close the connection over it).
 */
export declare function checkSpectate(spectate: unknown): asserts spectate is Spectate;
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
export declare function encodeHello(name: string, resume?: Uint8Array | null, spectate?: Spectate | null, protocolVersion?: number): Uint8Array;
/**
 * Encodes an Input: `seq` (u32, wrapping), the tick the client was showing when it acted
 * (its interpolated render tick, u32, for the server's lag compensation; null when it
 * shows no world yet), then the game's input fields in schema order in wire form (see
 * `SchemaDecoder.inputFields`).
 *
 * `{"i": [7, 300, -3, 0.5, 4]}` is `81 a1 69 95 07 cd 01 2c fd ca 3f 00 00 00 04`.
 */
export declare function encodeInput(seq: number, viewTick: number | null, fields: readonly number[]): Uint8Array;
/** Decodes one server message; throws a {@link DecodeError} on anything else. */
export declare function decodeServerMessage(bytes: Uint8Array | ArrayBuffer): ServerMessage;
