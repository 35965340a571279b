/**
 * MSB-first bit reading with the two codes of the snapshot body (docs/PROTOCOL.md, "The
 * body"), mirroring `shared/src/bits.rs`:
 *
 * - `EG(k)`: Exp-Golomb of order `k` for an unsigned `v`: `w = v + 2^k` has bit length
 *   `n`; write `n - 1 - k` zero bits, then the `n` bits of `w`.
 * - `S(k)`: a signed i32 as zigzag (0, -1, 1, -2 -> 0, 1, 2, 3), then `EG(k)`.
 *
 * Every read can fail with a {@link DecodeError} and none reads past the input, so a
 * garbage body ends in an error after at most one pass over its bits.
 */
/** Maps signed to unsigned so that small magnitudes stay small: 0, -1, 1, -2 -> 0, 1, 2, 3. */
export declare function zigzag(value: number): number;
/** Inverse of {@link zigzag}: an unsigned 32-bit value back to a signed i32. */
export declare function unzigzag(value: number): number;
/** Reads bits written most significant first. */
export declare class BitReader {
    private readonly bytes;
    private position;
    private readonly bitLength;
    constructor(bytes: Uint8Array);
    /** Bits not yet read. */
    remaining(): number;
    /**
     * The next 32 bits, as an unsigned number, zero-padded past the end of the input
     * (callers check {@link remaining} before consuming them).
     */
    private peek32;
    /** Reads `count` bits (0 to 32) as an unsigned number. */
    readBits(count: number): number;
    /** Reads one bit. */
    readBit(): boolean;
    /** Reads an Exp-Golomb value of order `k` (0 to 3). */
    readExpGolomb(k: number): number;
    /** {@link readExpGolomb} for codes longer than one 32-bit window: one bit at a time. */
    private readLongExpGolomb;
    /** Reads a zigzag, Exp-Golomb order `k` signed i32. */
    readSigned(k: number): number;
    /** Whether only padding (fewer than 8 zero bits) remains. */
    onlyPaddingLeft(): boolean;
}
/**
 * Appends bits most significant first: the inverse of {@link BitReader}. The client never
 * encodes bodies; tests and tools use this to build them.
 */
export declare class BitWriter {
    private readonly bytes;
    private current;
    private used;
    /** Writes the low `count` bits of the non-negative integer `value` (up to 53 bits). */
    writeBits(value: number, count: number): void;
    /** Writes one bit. */
    writeBit(bit: boolean): void;
    /** Writes the unsigned 32-bit `value` as Exp-Golomb of order `k`. */
    writeExpGolomb(value: number, k: number): void;
    /** Writes a signed i32 as zigzag then Exp-Golomb of order `k`. */
    writeSigned(value: number, k: number): void;
    /** Bits written so far. */
    bitLength(): number;
    /** Pads with zero bits to a byte boundary and returns the bytes. */
    finish(): Uint8Array;
}
