//! A minimal MSB-first bit writer and reader with the two codes the snapshot body uses:
//! Exp-Golomb codes for unsigned integers and zigzag for signed ones.
//!
//! Written here rather than taken from a crate because it is the innermost loop of
//! every snapshot encode and decode: a 64-bit accumulator, no per-call allocation, and a
//! reader that returns an error instead of panicking on truncated input.
//!
//! Exp-Golomb of order `k` writes `v` as `n` zero bits, then the `n + 1 + k` bits of
//! `v + 2^k`, where `n + k + 1` is the bit length of `v + 2^k`. Order 0 costs 1 bit for
//! 0, 3 bits for 1..=2, 5 bits for 3..=6; order 2 costs 3 bits for 0..=3, 5 for 4..=11.

use thiserror::Error;

/// The input ended inside a value, or a value was absurdly long.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum BitError {
    /// Ran past the end of the input.
    #[error("bitstream ended early")]
    Truncated,
    /// An Exp-Golomb prefix longer than any 32-bit value needs.
    #[error("bitstream value is too long")]
    Overlong,
}

/// Maps signed to unsigned so that small magnitudes stay small: 0, -1, 1, -2 -> 0, 1, 2, 3.
pub fn zigzag(value: i32) -> u32 {
    ((value << 1) ^ (value >> 31)) as u32
}

/// Inverse of [`zigzag`].
pub fn unzigzag(value: u32) -> i32 {
    ((value >> 1) as i32) ^ -((value & 1) as i32)
}

/// Bits [`BitWriter::write_exp_golomb`] spends on `value` at order `k`.
pub fn exp_golomb_len(value: u32, k: u32) -> u32 {
    let shifted = u64::from(value) + (1u64 << k);
    let length = 64 - shifted.leading_zeros();
    2 * length - 1 - k
}

/// Appends bits to a byte vector, most significant bit first.
#[derive(Debug, Default)]
pub struct BitWriter {
    bytes: Vec<u8>,
    /// Bits not yet pushed to `bytes`, in the low `pending` bits; pushed eight whole
    /// bytes at a time, so the hot path is a shift and an or.
    accumulator: u64,
    pending: u32,
}

/// Most bits one [`BitWriter::write_wide`] call takes.
const WIDE_BITS: u32 = 56;

impl BitWriter {
    /// A writer appending to `bytes` (reused allocation; existing bytes are kept).
    pub fn new(bytes: Vec<u8>) -> BitWriter {
        BitWriter {
            bytes,
            accumulator: 0,
            pending: 0,
        }
    }

    /// Writes the low `count` bits of `value` (`count <= 32`).
    #[inline]
    pub fn write_bits(&mut self, value: u32, count: u32) {
        debug_assert!(count <= 32);
        self.write_wide(u64::from(value), count);
    }

    /// Writes the low `count <= 56` bits of `value`.
    #[inline(always)]
    fn write_wide(&mut self, value: u64, count: u32) {
        debug_assert!(count <= WIDE_BITS && self.pending < 64);
        if count == 0 {
            return;
        }
        let masked = value & ((1u64 << count) - 1);
        let room = 64 - self.pending;
        if count < room {
            // `pending < 64` here, so the shift is in range.
            self.accumulator = (self.accumulator << count) | masked;
            self.pending += count;
            return;
        }
        // Fill the accumulator to 64 bits, push it whole, keep the rest (`1 <= room <=
        // count <= 56`, so neither shift reaches 64).
        let rest = count - room;
        let full = (self.accumulator << room) | (masked >> rest);
        self.bytes.extend_from_slice(&full.to_be_bytes());
        self.accumulator = masked & ((1u64 << rest) - 1);
        self.pending = rest;
    }

    /// Writes one bit.
    #[inline(always)]
    pub fn write_bit(&mut self, bit: bool) {
        self.write_wide(u64::from(bit), 1);
    }

    /// Writes `value` as Exp-Golomb of order `k`.
    #[inline(always)]
    pub fn write_exp_golomb(&mut self, value: u32, k: u32) {
        let shifted = u64::from(value) + (1u64 << k);
        let length = 64 - shifted.leading_zeros();
        let zeros = length - 1 - k;
        let total = zeros + length;
        if total <= WIDE_BITS {
            // The leading zeros are the high bits of a `total`-bit field holding `shifted`.
            self.write_wide(shifted, total);
            return;
        }
        // Long codes (values above 2^27): the zeros, then `shifted` in at most two parts.
        let mut remaining_zeros = zeros;
        while remaining_zeros > 0 {
            let chunk = remaining_zeros.min(32);
            self.write_wide(0, chunk);
            remaining_zeros -= chunk;
        }
        if length > 32 {
            self.write_wide(shifted >> 32, length - 32);
            self.write_wide(shifted & u64::from(u32::MAX), 32);
        } else {
            self.write_wide(shifted, length);
        }
    }

    /// Writes a signed value as zigzag then Exp-Golomb of order `k`.
    #[inline(always)]
    pub fn write_signed(&mut self, value: i32, k: u32) {
        self.write_exp_golomb(zigzag(value), k);
    }

    /// Appends the first `bit_len` bits of `bytes` (MSB first), as [`BitWriter`] wrote
    /// them: how pre-encoded pieces are copied into a body at any bit alignment.
    ///
    /// # Panics
    /// If `bytes` holds fewer than `bit_len` bits.
    #[inline]
    pub fn append_bits(&mut self, bytes: &[u8], bit_len: usize) {
        assert!(bit_len <= bytes.len() * 8, "appending more bits than given");
        let mut reader = BitReader::new(bytes);
        let mut left = bit_len;
        while left > 0 {
            let count = left.min(WIDE_BITS as usize) as u32;
            // `peek` holds at least 57 bits (zeros past the end), so 56 always fit.
            let value = reader.peek() >> (64 - count);
            reader.position += count as usize;
            self.write_wide(value, count);
            left -= count as usize;
        }
    }

    /// Bits written so far, counting the pending partial bytes.
    pub fn bit_len(&self) -> usize {
        self.bytes.len() * 8 + self.pending as usize
    }

    /// Pads with zero bits to a byte boundary and returns the bytes.
    pub fn finish(mut self) -> Vec<u8> {
        let whole = self.pending.div_ceil(8);
        if whole > 0 {
            let aligned = self.accumulator << (whole * 8 - self.pending);
            self.bytes
                .extend_from_slice(&aligned.to_be_bytes()[8 - whole as usize..]);
        }
        self.bytes
    }
}

/// Reads bits written by [`BitWriter`]; every read can fail, none panics.
#[derive(Debug)]
pub struct BitReader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> BitReader<'a> {
    /// A reader over `bytes` from the first bit.
    pub fn new(bytes: &'a [u8]) -> BitReader<'a> {
        BitReader { bytes, position: 0 }
    }

    /// Bits left to read.
    #[inline(always)]
    fn remaining(&self) -> usize {
        self.bytes.len() * 8 - self.position
    }

    /// The next 57 or more bits, left-aligned in a `u64` (zeros past the end of the input;
    /// callers check [`BitReader::remaining`] before consuming them).
    #[inline(always)]
    fn peek(&self) -> u64 {
        let byte = self.position / 8;
        // Fixed-size load while eight bytes remain (no `memcpy` call); zero-padded near the end.
        if let Some(chunk) = self.bytes.get(byte..byte + 8) {
            let window: [u8; 8] = chunk.try_into().expect("eight bytes");
            return u64::from_be_bytes(window) << (self.position % 8);
        }
        let mut window = [0u8; 8];
        let available = self.bytes.len().saturating_sub(byte).min(8);
        window[..available].copy_from_slice(&self.bytes[byte..byte + available]);
        u64::from_be_bytes(window) << (self.position % 8)
    }

    /// Reads `count <= 32` bits.
    #[inline(always)]
    pub fn read_bits(&mut self, count: u32) -> Result<u32, BitError> {
        debug_assert!(count <= 32);
        if count as usize > self.remaining() {
            return Err(BitError::Truncated);
        }
        if count == 0 {
            return Ok(0);
        }
        let value = self.peek() >> (64 - count);
        self.position += count as usize;
        Ok(value as u32)
    }

    /// Reads one bit.
    #[inline(always)]
    pub fn read_bit(&mut self) -> Result<bool, BitError> {
        // The commonest read of a body (a flag per component and per field of a changed
        // one), so it loads just the byte holding the bit: the one bounds check finds the
        // byte and tells a truncated input (`position` never passes the end, so there is
        // no byte exactly when no bit is left).
        let Some(&byte) = self.bytes.get(self.position / 8) else {
            return Err(BitError::Truncated);
        };
        let bit = (byte << (self.position % 8)) & 0x80 != 0;
        self.position += 1;
        Ok(bit)
    }

    /// Reads an Exp-Golomb value of order `k`.
    #[inline(always)]
    pub fn read_exp_golomb(&mut self, k: u32) -> Result<u32, BitError> {
        let window = self.peek();
        let zeros = window.leading_zeros();
        let total = 2 * zeros + 1 + k;
        if total <= WIDE_BITS {
            if total as usize > self.remaining() {
                return Err(BitError::Truncated);
            }
            self.position += total as usize;
            let shifted = window >> (64 - total);
            return u32::try_from(shifted - (1u64 << k)).map_err(|_| BitError::Overlong);
        }
        self.read_long_exp_golomb(k)
    }

    /// [`BitReader::read_exp_golomb`] for codes too long for one window.
    #[cold]
    fn read_long_exp_golomb(&mut self, k: u32) -> Result<u32, BitError> {
        let mut zeros = 0u32;
        while !self.read_bit()? {
            zeros += 1;
            if zeros + k > 32 {
                return Err(BitError::Overlong);
            }
        }
        let length = zeros + k; // bits after the leading one
        let rest = u64::from(self.read_bits(length)?);
        let shifted = (1u64 << length) | rest;
        let value = shifted - (1u64 << k);
        u32::try_from(value).map_err(|_| BitError::Overlong)
    }

    /// Reads a zigzag, Exp-Golomb order `k` signed value.
    #[inline(always)]
    pub fn read_signed(&mut self, k: u32) -> Result<i32, BitError> {
        Ok(unzigzag(self.read_exp_golomb(k)?))
    }

    /// Whether only padding (fewer than 8 zero bits) remains.
    pub fn only_padding_left(&self) -> bool {
        self.remaining() < 8 && (self.remaining() == 0 || self.peek() >> (64 - self.remaining()) == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn exp_golomb_lengths_match_the_doc() {
        let cost = |value, k| {
            let mut writer = BitWriter::default();
            writer.write_exp_golomb(value, k);
            writer.bit_len()
        };
        assert_eq!(
            (cost(0, 0), cost(1, 0), cost(2, 0), cost(3, 0), cost(6, 0)),
            (1, 3, 3, 5, 5)
        );
        assert_eq!((cost(0, 2), cost(3, 2), cost(4, 2), cost(11, 2)), (3, 3, 5, 5));
        assert_eq!(cost(u32::MAX, 0), 65);
        for (value, k) in [(0, 0), (5, 0), (11, 2), (u32::MAX, 0), (70_000, 2)] {
            assert_eq!(exp_golomb_len(value, k) as usize, cost(value, k));
        }
    }

    #[test]
    fn bytes_are_msb_first_and_padded() {
        let mut writer = BitWriter::default();
        writer.write_bits(0b101, 3);
        writer.write_exp_golomb(0, 0);
        assert_eq!(writer.finish(), vec![0b1011_0000]);
    }

    #[test]
    fn truncated_and_overlong_input_is_an_error() {
        assert_eq!(BitReader::new(&[]).read_bit(), Err(BitError::Truncated));
        assert_eq!(BitReader::new(&[0; 8]).read_exp_golomb(0), Err(BitError::Overlong));
        assert_eq!(
            BitReader::new(&[0x00, 0x01]).read_exp_golomb(0),
            Err(BitError::Truncated)
        );
    }

    /// The codes written one bit at a time, straight from the definition in the module
    /// docs: what the word-at-a-time writer and reader must agree with.
    fn reference_bits(values: &[(u32, u32, i32)]) -> Vec<u8> {
        let mut bits = Vec::new();
        let mut push = |value: u64, count: u32| bits.extend((0..count).rev().map(|bit| (value >> bit) & 1 == 1));
        for &(unsigned, k, signed) in values {
            for value in [unsigned, zigzag(signed)] {
                let shifted = u64::from(value) + (1u64 << k);
                let length = 64 - shifted.leading_zeros();
                push(0, length - 1 - k);
                push(shifted, length);
            }
            push(u64::from(unsigned & 0x1f), 5);
        }
        let mut bytes = vec![0u8; bits.len().div_ceil(8)];
        for (at, bit) in bits.iter().enumerate() {
            bytes[at / 8] |= u8::from(*bit) << (7 - at % 8);
        }
        bytes
    }

    proptest! {
        #[test]
        fn values_round_trip(values in prop::collection::vec((any::<u32>(), 0u32..4, any::<i32>()), 0..50)) {
            let mut writer = BitWriter::default();
            for (unsigned, k, signed) in &values {
                writer.write_exp_golomb(*unsigned, *k);
                writer.write_signed(*signed, *k);
                writer.write_bits(*unsigned & 0x1f, 5);
            }
            let bytes = writer.finish();
            let mut reader = BitReader::new(&bytes);
            for (unsigned, k, signed) in &values {
                prop_assert_eq!(reader.read_exp_golomb(*k).unwrap(), *unsigned);
                prop_assert_eq!(reader.read_signed(*k).unwrap(), *signed);
                prop_assert_eq!(reader.read_bits(5).unwrap(), *unsigned & 0x1f);
            }
            prop_assert!(reader.only_padding_left());
        }

        #[test]
        fn writer_matches_the_bit_by_bit_definition(
            values in prop::collection::vec((any::<u32>(), 0u32..4, any::<i32>()), 0..50),
            small in prop::collection::vec((0u32..64, 0u32..4, -40i32..40), 0..50),
        ) {
            for values in [&values, &small] {
                let mut writer = BitWriter::default();
                for (unsigned, k, signed) in values.iter() {
                    writer.write_exp_golomb(*unsigned, *k);
                    writer.write_signed(*signed, *k);
                    writer.write_bits(*unsigned & 0x1f, 5);
                }
                prop_assert_eq!(writer.finish(), reference_bits(values));
            }
        }

        #[test]
        fn appended_bits_equal_the_same_bits_written_one_by_one(
            lead in 0u32..64,
            pieces in prop::collection::vec((prop::collection::vec(any::<u8>(), 0..20), 0usize..160), 0..8),
        ) {
            let mut appended = BitWriter::default();
            let mut one_by_one = BitWriter::default();
            for writer in [&mut appended, &mut one_by_one] {
                for bit in 0..lead {
                    writer.write_bit(bit % 3 == 0);
                }
            }
            for (bytes, bit_len) in &pieces {
                let bit_len = (*bit_len).min(bytes.len() * 8);
                appended.append_bits(bytes, bit_len);
                for bit in 0..bit_len {
                    one_by_one.write_bit(bytes[bit / 8] >> (7 - bit % 8) & 1 == 1);
                }
            }
            prop_assert_eq!(appended.bit_len(), one_by_one.bit_len());
            prop_assert_eq!(appended.finish(), one_by_one.finish());
        }

        /// `read_bit` (which loads one byte) agrees with `read_bits(1)` (which loads a
        /// window) at every position, interleaved with wider reads, and both stop with
        /// `Truncated` exactly at the end of the input.
        #[test]
        fn single_bits_read_as_the_bit_by_bit_definition(
            bytes in prop::collection::vec(any::<u8>(), 0..24),
            widths in prop::collection::vec(0u32..12, 0..40),
        ) {
            let bit_at = |at: usize| bytes[at / 8] >> (7 - at % 8) & 1 == 1;
            let total = bytes.len() * 8;
            let (mut one, mut window) = (BitReader::new(&bytes), BitReader::new(&bytes));
            let mut at = 0;
            for width in widths.iter().copied().chain(std::iter::repeat_n(0, total + 1)) {
                if at == total {
                    prop_assert_eq!(one.read_bit(), Err(BitError::Truncated));
                    prop_assert_eq!(window.read_bits(1), Err(BitError::Truncated));
                    break;
                }
                prop_assert_eq!(one.read_bit(), Ok(bit_at(at)), "bit {}", at);
                prop_assert_eq!(window.read_bits(1), Ok(u32::from(bit_at(at))), "bit {}", at);
                at += 1;
                // A wider read in between moves the position off byte boundaries.
                let width = width.min((total - at) as u32);
                prop_assert_eq!(one.read_bits(width), window.read_bits(width));
                at += width as usize;
            }
        }

        #[test]
        fn reading_garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64), k in 0u32..4) {
            let mut reader = BitReader::new(&bytes);
            while reader.read_exp_golomb(k).is_ok() {}
        }

        #[test]
        fn zigzag_round_trips(value: i32) {
            prop_assert_eq!(unzigzag(zigzag(value)), value);
        }
    }
}
