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

import { DecodeError } from './errors.js';

/** Maps signed to unsigned so that small magnitudes stay small: 0, -1, 1, -2 -> 0, 1, 2, 3. */
export function zigzag(value: number): number {
  return ((value << 1) ^ (value >> 31)) >>> 0;
}

/** Inverse of {@link zigzag}: an unsigned 32-bit value back to a signed i32. */
export function unzigzag(value: number): number {
  return (value >>> 1) ^ -(value & 1);
}

const TWO_POW_32 = 4294967296;

/** Reads bits written most significant first. */
export class BitReader {
  private position = 0;
  private readonly bitLength: number;

  constructor(private readonly bytes: Uint8Array) {
    this.bitLength = bytes.length * 8;
  }

  /** Bits not yet read. */
  remaining(): number {
    return this.bitLength - this.position;
  }

  /**
   * The next 32 bits, as an unsigned number, zero-padded past the end of the input
   * (callers check {@link remaining} before consuming them).
   */
  private peek32(): number {
    const bytes = this.bytes;
    const at = this.position >>> 3;
    const shift = this.position & 7;
    if (at + 4 < bytes.length) {
      // The common case: five whole bytes available, no bounds checks per byte.
      const high = ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
      return shift === 0 ? high : ((high << shift) | (bytes[at + 4]! >>> (8 - shift))) >>> 0;
    }
    let window = 0;
    for (let i = 0; i < 5; i++) {
      const byte = at + i < bytes.length ? bytes[at + i]! : 0;
      // Accumulate 40 bits in a double (exact below 2^53).
      window = window * 256 + byte;
    }
    // Keep the 32 bits that start `shift` bits into the 40.
    return Math.floor(window / 2 ** (8 - shift)) % TWO_POW_32;
  }

  /** Reads `count` bits (0 to 32) as an unsigned number. */
  readBits(count: number): number {
    if (count > this.remaining()) {
      throw new DecodeError('truncated', 'snapshot body: bitstream ended early');
    }
    if (count === 0) {
      return 0;
    }
    // count >= 1 here: `>>> 32` would not shift at all in JavaScript.
    const value = this.peek32() >>> (32 - count);
    this.position += count;
    return value;
  }

  /** Reads one bit. */
  readBit(): boolean {
    if (this.position >= this.bitLength) {
      throw new DecodeError('truncated', 'snapshot body: bitstream ended early');
    }
    const bit = (this.bytes[this.position >>> 3]! >>> (7 - (this.position & 7))) & 1;
    this.position += 1;
    return bit === 1;
  }

  /** Reads an Exp-Golomb value of order `k` (0 to 3). */
  readExpGolomb(k: number): number {
    const window = this.peek32();
    if (window !== 0) {
      const zeros = Math.clz32(window);
      const total = 2 * zeros + 1 + k;
      if (total <= 32) {
        if (total > this.remaining()) {
          throw new DecodeError('truncated', 'snapshot body: bitstream ended early');
        }
        this.position += total;
        // `total` bits hold `v + 2^k`; total <= 32 keeps the value within u32.
        const shifted = window >>> (32 - total);
        return shifted - (1 << k);
      }
    }
    return this.readLongExpGolomb(k);
  }

  /** {@link readExpGolomb} for codes longer than one 32-bit window: one bit at a time. */
  private readLongExpGolomb(k: number): number {
    let zeros = 0;
    while (!this.readBit()) {
      zeros += 1;
      if (zeros + k > 32) {
        throw new DecodeError('overlong', 'snapshot body: bitstream value is too long');
      }
    }
    const length = zeros + k;
    const rest = this.readBits(length);
    const value = 2 ** length + rest - 2 ** k;
    if (value >= TWO_POW_32) {
      throw new DecodeError('overlong', 'snapshot body: bitstream value is too long');
    }
    return value;
  }

  /** Reads a zigzag, Exp-Golomb order `k` signed i32. */
  readSigned(k: number): number {
    return unzigzag(this.readExpGolomb(k));
  }

  /** Whether only padding (fewer than 8 zero bits) remains. */
  onlyPaddingLeft(): boolean {
    const left = this.remaining();
    return left < 8 && (left === 0 || this.peek32() >>> (32 - left) === 0);
  }
}

/**
 * Appends bits most significant first: the inverse of {@link BitReader}. The client never
 * encodes bodies; tests and tools use this to build them.
 */
export class BitWriter {
  private readonly bytes: number[] = [];
  private current = 0;
  private used = 0;

  /** Writes the low `count` bits of the non-negative integer `value` (up to 53 bits). */
  writeBits(value: number, count: number): void {
    for (let bit = count - 1; bit >= 0; bit--) {
      this.writeBit(Math.floor(value / 2 ** bit) % 2 === 1);
    }
  }

  /** Writes one bit. */
  writeBit(bit: boolean): void {
    this.current = (this.current << 1) | (bit ? 1 : 0);
    this.used += 1;
    if (this.used === 8) {
      this.bytes.push(this.current);
      this.current = 0;
      this.used = 0;
    }
  }

  /** Writes the unsigned 32-bit `value` as Exp-Golomb of order `k`. */
  writeExpGolomb(value: number, k: number): void {
    const shifted = value + 2 ** k;
    let length = 0;
    while (2 ** length <= shifted) {
      length++;
    }
    for (let i = 0; i < length - 1 - k; i++) {
      this.writeBit(false);
    }
    this.writeBits(shifted, length);
  }

  /** Writes a signed i32 as zigzag then Exp-Golomb of order `k`. */
  writeSigned(value: number, k: number): void {
    this.writeExpGolomb(zigzag(value), k);
  }

  /** Bits written so far. */
  bitLength(): number {
    return this.bytes.length * 8 + this.used;
  }

  /** Pads with zero bits to a byte boundary and returns the bytes. */
  finish(): Uint8Array {
    const out = [...this.bytes];
    if (this.used > 0) {
      out.push((this.current << (8 - this.used)) & 0xff);
    }
    return Uint8Array.from(out);
  }
}
