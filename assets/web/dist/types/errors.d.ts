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
'truncated'
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
export declare class DecodeError extends Error {
    readonly kind: DecodeErrorKind;
    readonly name = "DecodeError";
    constructor(kind: DecodeErrorKind, message: string);
}
/** The mirror's state after a snapshot differs from the server's (the body's checksum). */
export declare class ChecksumMismatchError extends Error {
    readonly tick: number;
    readonly expected: number;
    readonly actual: number;
    readonly name = "ChecksumMismatchError";
    constructor(tick: number, expected: number, actual: number);
}
/** Whether `error` means the mirror no longer matches the server (reconnect to recover). */
export declare function isDivergence(error: unknown): error is DecodeError | ChecksumMismatchError;
