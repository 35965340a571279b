/**
 * Typed errors for everything that reads peer bytes.
 *
 * Decoders never return half-read values and never loop past their input: every fault in
 * a server message becomes one of these, so the client can tell a diverged mirror (close
 * and reconnect) from a programming error (anything else).
 */

/** What was wrong with the bytes. */
export type DecodeErrorKind =
  /** The bits or bytes ended inside a value. */
  | 'truncated'
  /** An Exp-Golomb code longer than any 32-bit value needs. */
  | 'overlong'
  /** Well-formed bits that break a rule of the body (order, counts, trailing bits). */
  | 'malformed'
  /** An update or despawn of a slot the mirror does not hold: the mirror has diverged. */
  | 'unknown-slot'
  /** A delta before any full snapshot. */
  | 'no-baseline'
  /** Not a valid MessagePack message of the protocol. */
  | 'protocol'
  /** The server speaks another protocol version (reconnecting will not help). */
  | 'version';

/** A server message or snapshot body that could not be decoded or applied. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';

  constructor(
    readonly kind: DecodeErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** The mirror's state after a snapshot differs from the server's (the body's checksum). */
export class ChecksumMismatchError extends Error {
  override readonly name = 'ChecksumMismatchError';

  constructor(
    readonly tick: number,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`checksum mismatch at tick ${tick}: server ${hex32(expected)}, mirror ${hex32(actual)}`);
  }
}

/** Whether `error` means the mirror no longer matches the server (reconnect to recover). */
export function isDivergence(error: unknown): error is DecodeError | ChecksumMismatchError {
  return error instanceof DecodeError || error instanceof ChecksumMismatchError;
}

function hex32(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, '0')}`;
}
