//! Quantizers: floats to small integers on a fixed grid, and back.
//!
//! A replicated component is quantized once, when a snapshot is captured, into a few `i32`
//! [`Fields`]; clients rebuild it from those fields. Three properties hold for every
//! quantizer here, and the tests at the bottom check each of them:
//!
//! - **Bit-exact on every platform.** The arithmetic is IEEE-754 `f64` (`+ - * /`, `sqrt`,
//!   `round`), all correctly rounded, with no transcendental functions whose results differ
//!   between libms, so a native server and a wasm client compute the same fields.
//! - **Idempotent.** `quantize(dequantize(q)) == q` for every `q` that `quantize` produces,
//!   so a server can snap its own state to the grid (`snap`) and stay in step with clients.
//! - **Saturating.** Out-of-range input clamps and non-finite input maps to a documented
//!   value, so a simulation bug cannot produce an undecodable snapshot. Dequantizers that
//!   return `Option` refuse malformed fields (wrong count, out-of-range values) with `None`.
//!
//! Fields are chosen to be delta friendly: a small change of the value is a small change of
//! each field (positions are absolute fixed point, not offset from the range's minimum, and
//! quaternion components are signed around zero).
//!
//! The quantizers are plain `Copy` values with `const fn` constructors, so a game declares
//! one per component:
//!
//! ```
//! use tickcast_shared::quantize::{QuatQuantizer, Vec3Quantizer};
//!
//! /// 1/512 of a unit over ±32 units: 16 bits per axis.
//! const POSITION: Vec3Quantizer = Vec3Quantizer::new(1.0 / 512.0, -32.0, 32.0);
//! /// Smallest three with 10 bits per component.
//! const ROTATION: QuatQuantizer = QuatQuantizer::new(10);
//!
//! let mut fields = tickcast_shared::Fields::new();
//! POSITION.quantize(glam::Vec3::new(1.0, 2.0, 3.0), &mut fields);
//! assert_eq!(&fields[..], &[512, 1024, 1536]);
//! ROTATION.quantize(glam::Quat::IDENTITY, &mut fields);
//! assert_eq!(&fields[3..], &[3, 0, 0, 0]);
//! ```
//!
//! The free functions [`fixed`], [`unfixed`], [`angle`] and [`unangle`] are the older,
//! unconfigured form and stay for the code that uses them.

use crate::state::Fields;
use glam::{Quat, Vec2, Vec3};
use std::f32::consts::TAU;
use std::f64::consts::FRAC_1_SQRT_2;

/// Fixed-point encoding of a scalar with `1 / scale` resolution. Idempotent through
/// [`unfixed`] while `|value * scale| < 2^22` (e.g. ±40 000 units at scale 100), where
/// an `f32` still resolves a quarter of a step.
pub fn fixed(value: f32, scale: f32) -> i32 {
    let scaled = f64::from(value) * f64::from(scale);
    if scaled.is_finite() {
        scaled.round().clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32
    } else {
        0
    }
}

/// Inverse of [`fixed`].
pub fn unfixed(value: i32, scale: f32) -> f32 {
    (f64::from(value) / f64::from(scale)) as f32
}

/// An angle in radians as an unsigned integer of `bits` bits covering one turn.
pub fn angle(radians: f32, bits: u32) -> i32 {
    debug_assert!((1..=24).contains(&bits));
    let steps = (1u32 << bits) as f32;
    if !radians.is_finite() {
        return 0;
    }
    // `rem_euclid` is a call to a software `fmodf`; an angle already within one turn
    // (most of them: every dequantized facing is) is its own remainder, bit for bit.
    let wrapped = if (0.0..TAU).contains(&radians) {
        radians
    } else {
        radians.rem_euclid(TAU)
    };
    let turn = wrapped / TAU;
    ((turn * steps).round() as u32 % (1u32 << bits)) as i32
}

/// Inverse of [`angle`]: radians in `[0, TAU)`.
pub fn unangle(value: i32, bits: u32) -> f32 {
    let steps = (1u32 << bits) as f32;
    (value as u32 % (1u32 << bits)) as f32 / steps * TAU
}

/// Largest field magnitude a [`ScalarQuantizer`] may produce: up to `2^22` an `f32`
/// dequantized value still resolves a quarter of a step, which is what idempotence needs.
pub const MAX_SCALAR_FIELD: i32 = 1 << 22;

/// `x.round()` (half away from zero) usable in a `const fn`; exact for `|x| < 2^52`.
const fn const_round(x: f64) -> i64 {
    let truncated = x as i64;
    let fraction = x - truncated as f64;
    if fraction >= 0.5 {
        truncated + 1
    } else if fraction <= -0.5 {
        truncated - 1
    } else {
        truncated
    }
}

/// A scalar in fixed point: the field is `round(value / step)`, clamped so that the value
/// stays within `[min, max]`.
///
/// The field is absolute (`0.0` is field `0`), not an offset from `min`, so fields of
/// nearby values are nearby integers whatever the range.
///
/// **Error bound:** for `value` in `[min, max]`,
/// `|dequantize(quantize(value)) - value| <= step / 2` (plus half an `f32` ulp of the value
/// for the final rounding to `f32`). Values outside the range clamp to it first.
///
/// **Range:** when `min` or `max` is not a multiple of `step` the ends snap to the nearest
/// grid point, so dequantized values may lie up to `step / 2` outside `[min, max]`.
///
/// **Non-finite input** (NaN, ±∞) quantizes like `0.0`, i.e. to the field of `0.0`
/// clamped into the range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScalarQuantizer {
    step: f32,
    min: f32,
    max: f32,
    /// Smallest field, `round(min / step)`, precomputed.
    lo: i32,
    /// Largest field, `round(max / step)`, precomputed.
    hi: i32,
}

impl ScalarQuantizer {
    /// A quantizer with resolution `step` over `[min, max]`.
    ///
    /// # Panics
    ///
    /// (At compile time when used in a `const`.) If `step` is not finite and positive, if
    /// `min` or `max` is not finite, if `min > max`, or if `|min / step|` or `|max / step|`
    /// exceeds [`MAX_SCALAR_FIELD`] (`2^22`), beyond which `f32` values cannot round-trip.
    pub const fn new(step: f32, min: f32, max: f32) -> Self {
        assert!(step.is_finite() && step > 0.0, "step must be finite and positive");
        assert!(min.is_finite() && max.is_finite(), "range must be finite");
        assert!(min <= max, "min must not exceed max");
        let lo = min as f64 / step as f64;
        let hi = max as f64 / step as f64;
        let limit = MAX_SCALAR_FIELD as f64;
        assert!(
            lo >= -limit && hi <= limit,
            "range / step exceeds 2^22 steps, where f32 cannot round-trip"
        );
        ScalarQuantizer {
            step,
            min,
            max,
            lo: const_round(lo) as i32,
            hi: const_round(hi) as i32,
        }
    }

    /// The resolution: distance between neighbouring grid points.
    pub const fn step(&self) -> f32 {
        self.step
    }

    /// The smallest value, as given to [`ScalarQuantizer::new`].
    pub const fn min(&self) -> f32 {
        self.min
    }

    /// The largest value, as given to [`ScalarQuantizer::new`].
    pub const fn max(&self) -> f32 {
        self.max
    }

    /// The fields this quantizer produces: `round(min / step) ..= round(max / step)`.
    pub const fn field_range(&self) -> std::ops::RangeInclusive<i32> {
        self.lo..=self.hi
    }

    /// Bits needed to tell every field apart: `ceil(log2(number of fields))`, so
    /// `field - field_range().start()` fits in `bits()` unsigned bits.
    pub const fn bits(&self) -> u32 {
        let largest_offset = (self.hi as i64 - self.lo as i64) as u64;
        u64::BITS - largest_offset.leading_zeros()
    }

    /// The largest error of a value within the range: `step / 2`.
    pub const fn max_error(&self) -> f32 {
        self.step / 2.0
    }

    /// The field of `value`: clamped to the range, rounded to the nearest grid point
    /// (halves away from zero). Non-finite input quantizes like `0.0`.
    pub fn quantize(&self, value: f32) -> i32 {
        let scaled = f64::from(value) / f64::from(self.step);
        let rounded = if scaled.is_finite() { scaled.round() } else { 0.0 };
        rounded.clamp(f64::from(self.lo), f64::from(self.hi)) as i32
    }

    /// The value of `field`. Total: a field outside [`ScalarQuantizer::field_range`] is
    /// clamped into it first (use [`ScalarQuantizer::try_dequantize`] to refuse it).
    pub fn dequantize(&self, field: i32) -> f32 {
        (f64::from(field.clamp(self.lo, self.hi)) * f64::from(self.step)) as f32
    }

    /// The value of `field`, or `None` if this quantizer never produces that field.
    pub fn try_dequantize(&self, field: i32) -> Option<f32> {
        self.field_range().contains(&field).then(|| self.dequantize(field))
    }

    /// `value` as clients will see it: quantized and back.
    pub fn snap(&self, value: f32) -> f32 {
        self.dequantize(self.quantize(value))
    }
}

/// A [`Vec2`] as two fields `[x, y]`, each axis quantized by the same [`ScalarQuantizer`].
///
/// **Error bound:** per axis that of the [`ScalarQuantizer`], `step / 2` within the range,
/// so at most `step / √2` in length.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Vec2Quantizer {
    axis: ScalarQuantizer,
}

impl Vec2Quantizer {
    /// Number of fields this quantizer appends.
    pub const FIELDS: usize = 2;

    /// Resolution `step` over `[min, max]` on each axis; panics as [`ScalarQuantizer::new`].
    pub const fn new(step: f32, min: f32, max: f32) -> Self {
        Self::from_axis(ScalarQuantizer::new(step, min, max))
    }

    /// Both axes quantized by `axis`.
    pub const fn from_axis(axis: ScalarQuantizer) -> Self {
        Vec2Quantizer { axis }
    }

    /// The quantizer of each axis.
    pub const fn axis(&self) -> ScalarQuantizer {
        self.axis
    }

    /// Appends `[x, y]` to `out`.
    pub fn quantize(&self, value: Vec2, out: &mut Fields) {
        out.extend([self.axis.quantize(value.x), self.axis.quantize(value.y)]);
    }

    /// Rebuilds a vector from exactly two fields, or `None` if there are not two or one of
    /// them is outside the axis's [`ScalarQuantizer::field_range`].
    pub fn dequantize(&self, fields: &[i32]) -> Option<Vec2> {
        let [x, y] = *fields else { return None };
        Some(Vec2::new(self.axis.try_dequantize(x)?, self.axis.try_dequantize(y)?))
    }

    /// `value` as clients will see it: quantized and back.
    pub fn snap(&self, value: Vec2) -> Vec2 {
        Vec2::new(self.axis.snap(value.x), self.axis.snap(value.y))
    }
}

/// A [`Vec3`] as three fields `[x, y, z]`, each axis quantized by the same
/// [`ScalarQuantizer`].
///
/// **Error bound:** per axis that of the [`ScalarQuantizer`], `step / 2` within the range,
/// so at most `step * √3 / 2` in length.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Vec3Quantizer {
    axis: ScalarQuantizer,
}

impl Vec3Quantizer {
    /// Number of fields this quantizer appends.
    pub const FIELDS: usize = 3;

    /// Resolution `step` over `[min, max]` on each axis; panics as [`ScalarQuantizer::new`].
    pub const fn new(step: f32, min: f32, max: f32) -> Self {
        Self::from_axis(ScalarQuantizer::new(step, min, max))
    }

    /// All three axes quantized by `axis`.
    pub const fn from_axis(axis: ScalarQuantizer) -> Self {
        Vec3Quantizer { axis }
    }

    /// The quantizer of each axis.
    pub const fn axis(&self) -> ScalarQuantizer {
        self.axis
    }

    /// Appends `[x, y, z]` to `out`.
    pub fn quantize(&self, value: Vec3, out: &mut Fields) {
        out.extend([
            self.axis.quantize(value.x),
            self.axis.quantize(value.y),
            self.axis.quantize(value.z),
        ]);
    }

    /// Rebuilds a vector from exactly three fields, or `None` if there are not three or
    /// one of them is outside the axis's [`ScalarQuantizer::field_range`].
    pub fn dequantize(&self, fields: &[i32]) -> Option<Vec3> {
        let [x, y, z] = *fields else { return None };
        Some(Vec3::new(
            self.axis.try_dequantize(x)?,
            self.axis.try_dequantize(y)?,
            self.axis.try_dequantize(z)?,
        ))
    }

    /// `value` as clients will see it: quantized and back.
    pub fn snap(&self, value: Vec3) -> Vec3 {
        Vec3::new(
            self.axis.snap(value.x),
            self.axis.snap(value.y),
            self.axis.snap(value.z),
        )
    }
}

/// An angle in radians as one field in `[0, 2^bits)` covering one turn, wrapping (so
/// `-0.1` and `TAU - 0.1` are the same field). Built on [`angle`] and [`unangle`].
///
/// The field jumps between `2^bits - 1` and `0` where the angle crosses zero; a delta
/// coder that wants small deltas there can take differences modulo `2^bits`.
///
/// **Error bound:** `TAU / 2^(bits + 1)` radians (half a step), plus `f32` rounding of
/// about `4e-7` radians; e.g. 12 bits: 7.67e-4 rad (0.044°).
///
/// **Non-finite input** quantizes to field `0` (angle `0.0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AngleQuantizer {
    bits: u32,
}

impl AngleQuantizer {
    /// Number of fields this quantizer produces.
    pub const FIELDS: usize = 1;
    /// The finest resolution for which [`angle`] and [`unangle`] are proven idempotent.
    pub const MAX_BITS: u32 = 16;

    /// `2^bits` steps per turn.
    ///
    /// # Panics
    ///
    /// If `bits` is not within `1..=`[`AngleQuantizer::MAX_BITS`].
    pub const fn new(bits: u32) -> Self {
        assert!(bits >= 1 && bits <= Self::MAX_BITS, "angle bits must be within 1..=16");
        AngleQuantizer { bits }
    }

    /// Bits per field: fields are in `[0, 2^bits)`.
    pub const fn bits(&self) -> u32 {
        self.bits
    }

    /// The largest error in radians, `TAU / 2^(bits + 1)`, excluding `f32` rounding.
    pub const fn max_error(&self) -> f32 {
        TAU / (1u32 << (self.bits + 1)) as f32
    }

    /// The field of `radians` (any finite angle; it wraps). Non-finite input gives `0`.
    pub fn quantize(&self, radians: f32) -> i32 {
        angle(radians, self.bits)
    }

    /// Radians in `[0, TAU)`. Total: a field outside `[0, 2^bits)` wraps modulo `2^bits`
    /// (use [`AngleQuantizer::try_dequantize`] to refuse it).
    pub fn dequantize(&self, field: i32) -> f32 {
        unangle(field, self.bits)
    }

    /// Radians in `[0, TAU)`, or `None` if `field` is outside `[0, 2^bits)`.
    pub fn try_dequantize(&self, field: i32) -> Option<f32> {
        (0..1i32 << self.bits).contains(&field).then(|| self.dequantize(field))
    }

    /// `radians` as clients will see it: quantized and back, in `[0, TAU)`.
    pub fn snap(&self, radians: f32) -> f32 {
        self.dequantize(self.quantize(radians))
    }
}

/// A rotation in four fields, "smallest three" (Glenn Fiedler, *Snapshot Compression*):
/// `[largest, a, b, c]`.
///
/// - `largest` (`0..=3`, in `x, y, z, w` order) is the index of the component of largest
///   magnitude, which is not sent: the quaternion is negated if needed (`q` and `-q` are
///   the same rotation) to make it positive, and it is rebuilt as `sqrt(1 - a² - b² - c²)`.
/// - `a, b, c` are the other three components in `x, y, z, w` order. Each lies in
///   `[-1/√2, 1/√2]` (it is no larger than the dropped one and their squares sum to at
///   most 1) and is stored signed on a grid of `2^(bits-1) - 1` steps per side, so fields
///   are in `[-(2^(bits-1) - 1), 2^(bits-1) - 1]` (`bits` bits) and `0.0` is exactly `0`.
///   The step is `S = 1 / (√2 · (2^(bits-1) - 1))`.
///
/// **Idempotence.** When the largest components are nearly equal, rounding the others can
/// make a *different* component the largest after decoding (its rebuilt value comes out
/// smaller than a rounded-up neighbour), so re-quantizing would drop another index and the
/// fields would not be stable. `quantize` therefore only returns encodings that survive the
/// client's round trip (decode to `f32`, quantize again) unchanged:
///
/// 1. the plain encoding, if it survives (all rotations but near ties);
/// 2. otherwise, of the encodings one grid step around the plain encodings dropping each
///    of the four indices, the one nearest to the input that survives (ties to the first
///    found, so the choice is deterministic);
/// 3. a last resort that follows round trips to a fixed point (or the smallest encoding of
///    a cycle), which 45 million random and near-tie rotations at 2 to 16 bits never reached.
///
/// Quantizing a decoded encoding thus takes path 1 and gives it back. Exact ties between
/// components break towards the lowest index.
///
/// **Error bound** (per component, against the normalized input up to sign), with
/// `S = 1 / (√2 · (2^(bits-1) - 1))` the grid step: `3·S / 2`. Off ties the three sent
/// components are within `S / 2` and the rebuilt one within `3·S / 2` (worst when all four
/// are near `±1/2`). Measured over 3 million random and near-tie rotations per resolution:
///
/// | bits | `S`      | worst component error | worst rotation error |
/// |------|----------|-----------------------|----------------------|
/// | 9    | 2.77e-3  | 4.07e-3 (1.47 `S`)    | 9.9e-3 rad (0.57°)   |
/// | 10   | 1.38e-3  | 2.05e-3 (1.48 `S`)    | 4.8e-3 rad (0.27°)   |
/// | 11   | 6.91e-4  | 1.01e-3 (1.46 `S`)    | 2.7e-3 rad (0.16°)   |
/// | 12   | 3.45e-4  | 5.13e-4 (1.49 `S`)    | 1.4e-3 rad (0.078°)  |
///
/// **Input** need not be normalized (it is normalized in `f64`); a non-finite or zero
/// quaternion quantizes as the identity, `[3, 0, 0, 0]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuatQuantizer {
    bits: u32,
}

/// A normalized quaternion in `f64`, `[x, y, z, w]`.
type Components = [f64; 4];
/// An encoding, `[largest, a, b, c]`.
type Encoding = [i32; 4];

impl QuatQuantizer {
    /// Number of fields this quantizer appends.
    pub const FIELDS: usize = 4;
    /// The coarsest supported resolution.
    pub const MIN_BITS: u32 = 2;
    /// The finest supported resolution; beyond it an `f32` cannot round-trip the grid.
    pub const MAX_BITS: u32 = 16;

    /// Each of the three sent components in `bits` bits.
    ///
    /// # Panics
    ///
    /// If `bits` is not within [`QuatQuantizer::MIN_BITS`]`..=`[`QuatQuantizer::MAX_BITS`].
    pub const fn new(bits: u32) -> Self {
        assert!(
            bits >= Self::MIN_BITS && bits <= Self::MAX_BITS,
            "quaternion bits must be within 2..=16"
        );
        QuatQuantizer { bits }
    }

    /// Bits per sent component.
    pub const fn bits(&self) -> u32 {
        self.bits
    }

    /// The largest magnitude of a component field: `2^(bits-1) - 1`.
    pub const fn max_field(&self) -> i32 {
        (1 << (self.bits - 1)) - 1
    }

    /// The grid step `S` of a sent component, `1 / (√2 · max_field)`.
    pub fn step(&self) -> f64 {
        FRAC_1_SQRT_2 / f64::from(self.max_field())
    }

    /// The bound on any component's error, `3·S / 2` (see the type's docs).
    pub fn max_component_error(&self) -> f32 {
        (1.5 * self.step()) as f32
    }

    /// Appends `[largest, a, b, c]` to `out`.
    pub fn quantize(&self, value: Quat, out: &mut Fields) {
        out.extend(self.encode(value));
    }

    /// The fields `[largest, a, b, c]` of `value`, as [`QuatQuantizer::quantize`] appends.
    pub fn encode(&self, value: Quat) -> [i32; 4] {
        self.encode_traced(value).0
    }

    /// Rebuilds a unit quaternion from exactly four fields, or `None` if there are not
    /// four, `largest` is not in `0..=3`, a component field is outside
    /// `±`[`QuatQuantizer::max_field`], or the squares of the three sum to more than 1.
    ///
    /// The rebuilt component is always `>= 0`. Fields that are valid but not what
    /// `quantize` would produce (the dropped component is not the largest) still decode to
    /// the rotation they denote; quantizing that gives the canonical fields.
    pub fn dequantize(&self, fields: &[i32]) -> Option<Quat> {
        let &[largest, a, b, c] = fields else { return None };
        let fields = [largest, a, b, c];
        self.is_valid(fields).then(|| self.decode(fields))
    }

    /// `value` as clients will see it: quantized and back.
    pub fn snap(&self, value: Quat) -> Quat {
        self.decode(self.encode(value))
    }

    fn is_valid(&self, [largest, a, b, c]: Encoding) -> bool {
        let m = self.max_field();
        let in_range = [a, b, c].iter().all(|f| (-m..=m).contains(f));
        // Exact in integers: a² + b² + c² <= 1 on the grid is Σ field² <= 2 m².
        let sum_sq: i64 = [a, b, c].iter().map(|&f| i64::from(f) * i64::from(f)).sum();
        (0..4).contains(&largest) && in_range && sum_sq <= 2 * i64::from(m) * i64::from(m)
    }

    /// Decodes fields that passed [`Self::is_valid`] (or came from [`Self::encode_once`]).
    fn decode(&self, [largest, a, b, c]: Encoding) -> Quat {
        let step = self.step();
        let others = [a, b, c].map(|f| f64::from(f) * step);
        let rest: f64 = others.iter().map(|o| o * o).sum();
        let dropped = (1.0 - rest).max(0.0).sqrt();
        let mut q = [0.0; 4];
        let mut next = others.iter();
        for (k, slot) in q.iter_mut().enumerate() {
            *slot = if k as i32 == largest {
                dropped
            } else {
                *next.next().unwrap_or(&0.0)
            };
        }
        let [x, y, z, w] = normalized(q).unwrap_or(IDENTITY);
        Quat::from_xyzw(x as f32, y as f32, z as f32, w as f32)
    }

    /// The plain smallest-three encoding of a normalized quaternion: drop the largest
    /// component (the lowest index on exact ties).
    fn encode_once(&self, q: Components) -> Encoding {
        let mut largest = 0;
        for k in 1..4 {
            // Strictly greater: ties go to the lowest index.
            if q[k].abs() > q[largest].abs() {
                largest = k;
            }
        }
        self.encode_dropping(q, largest)
    }

    /// Encodes `q` dropping component `largest` (made non-negative by negating `q`).
    fn encode_dropping(&self, q: Components, largest: usize) -> Encoding {
        let sign = if q[largest] < 0.0 { -1.0 } else { 1.0 };
        let step = self.step();
        let m = f64::from(self.max_field());
        let mut out = [largest as i32, 0, 0, 0];
        let others = (0..4).filter(|&k| k != largest);
        for (slot, k) in out[1..].iter_mut().zip(others) {
            *slot = (sign * q[k] / step).round().clamp(-m, m) as i32;
        }
        out
    }

    /// The round trip the client side performs: decode to `f32`, normalize, encode.
    fn round_trip(&self, encoding: Encoding) -> Encoding {
        self.encode_once(components(self.decode(encoding)))
    }

    /// Whether quantizing what `encoding` decodes to gives `encoding` back.
    fn is_fixed_point(&self, encoding: Encoding) -> bool {
        self.is_valid(encoding) && self.round_trip(encoding) == encoding
    }

    /// [`Self::encode`], and which way it found the encoding (for the tests).
    fn encode_traced(&self, value: Quat) -> (Encoding, Route) {
        let q = components(value);
        let plain = self.encode_once(q);
        if self.is_fixed_point(plain) {
            return (plain, Route::Plain);
        }
        if let Some(nearest) = self.nearest_fixed_point(q) {
            return (nearest, Route::Nearest);
        }
        (self.settle(plain), Route::Settled)
    }

    /// Near a tie the plain encoding may not survive a round trip. Every encoding this
    /// returns does (so quantizing it again takes the plain path and reproduces it): of the
    /// encodings within one step of `q`'s, for each dropped index, the one nearest to `q`.
    fn nearest_fixed_point(&self, q: Components) -> Option<Encoding> {
        let mut best: Option<(f64, Encoding)> = None;
        for largest in 0..4 {
            let [_, a, b, c] = self.encode_dropping(q, largest);
            for offset in 0..27 {
                let candidate = [
                    largest as i32,
                    a + offset % 3 - 1,
                    b + offset / 3 % 3 - 1,
                    c + offset / 9 - 1,
                ];
                if !self.is_fixed_point(candidate) {
                    continue;
                }
                let error = component_error(q, components(self.decode(candidate)));
                // Strictly smaller: equal errors keep the first candidate, deterministically.
                if best.is_none_or(|(least, _)| error < least) {
                    best = Some((error, candidate));
                }
            }
        }
        best.map(|(_, encoding)| encoding)
    }

    /// The last resort, never reached in the tests: follow round trips from `encoding`
    /// until one reproduces itself, or until they cycle, then take the cycle's smallest
    /// encoding (which a round trip from any member of the cycle leads back to).
    fn settle(&self, encoding: Encoding) -> Encoding {
        /// Bounds the work; paths in practice are a step or two.
        const MAX_STEPS: usize = 8;
        let mut path = [encoding; MAX_STEPS];
        for len in 1..MAX_STEPS {
            let current = path[len - 1];
            let next = self.round_trip(current);
            if next == current {
                return current;
            }
            if let Some(start) = path[..len].iter().position(|&seen| seen == next) {
                return path[start..len].iter().min().copied().unwrap_or(current);
            }
            path[len] = next;
        }
        path[MAX_STEPS - 1]
    }
}

/// How [`QuatQuantizer::encode`] found its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    /// The plain smallest-three encoding survived the round trip: all but near ties.
    Plain,
    /// A neighbouring encoding did.
    Nearest,
    /// Neither did; round trips settled it.
    Settled,
}

/// The largest component difference between unit quaternions `a` and `±b`, whichever
/// sign is nearer.
fn component_error(a: Components, b: Components) -> f64 {
    let mut same = 0.0f64;
    let mut opposite = 0.0f64;
    for (x, y) in a.iter().zip(&b) {
        same = same.max((x - y).abs());
        opposite = opposite.max((x + y).abs());
    }
    same.min(opposite)
}

/// The identity rotation, `[x, y, z, w]`.
const IDENTITY: Components = [0.0, 0.0, 0.0, 1.0];

/// `q` scaled to unit length, or `None` if it is zero or not finite.
fn normalized(q: Components) -> Option<Components> {
    let norm_sq: f64 = q.iter().map(|c| c * c).sum();
    (norm_sq.is_finite() && norm_sq > 0.0).then(|| {
        let norm = norm_sq.sqrt();
        q.map(|c| c / norm)
    })
}

/// A quaternion's components in `f64`, normalized; the identity if that is impossible.
fn components(q: Quat) -> Components {
    normalized([q.x, q.y, q.z, q.w].map(f64::from)).unwrap_or(IDENTITY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const POSITION: Vec3Quantizer = Vec3Quantizer::new(1.0 / 512.0, -32.0, 32.0);
    const VELOCITY: ScalarQuantizer = ScalarQuantizer::new(0.01, -50.0, 50.0);

    fn fields_of(f: impl FnOnce(&mut Fields)) -> Vec<i32> {
        let mut out = Fields::new();
        f(&mut out);
        out.to_vec()
    }

    /// A random rotation, not necessarily uniform; `None` for the rare near-zero draw.
    fn quat_from(raw: [f32; 4]) -> Option<Quat> {
        let q = Quat::from_xyzw(raw[0], raw[1], raw[2], raw[3]);
        (q.length_squared() > 1e-6).then(|| q.normalize())
    }

    /// Component error up to sign, and rotation angle between `a` and `b` (both unit).
    fn quat_error(a: Quat, b: Quat) -> (f64, f64) {
        let a = components(a);
        let b = components(b);
        let dot: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        let sign = if dot < 0.0 { -1.0 } else { 1.0 };
        let component = a.iter().zip(&b).map(|(x, y)| (x - sign * y).abs()).fold(0.0, f64::max);
        (component, 2.0 * dot.abs().min(1.0).acos())
    }

    /// Idempotence, validity and the error bound of one quaternion at one resolution.
    fn check_quat(q: Quat, bits: u32) -> Result<(), TestCaseError> {
        let quantizer = QuatQuantizer::new(bits);
        let fields = quantizer.encode(q);
        let decoded = quantizer.dequantize(&fields);
        prop_assert!(decoded.is_some(), "{:?} encoded as undecodable {:?}", q, fields);
        let decoded = decoded.unwrap_or_default();
        prop_assert_eq!(quantizer.encode(decoded), fields, "not idempotent for {:?}", q);
        prop_assert!((decoded.length() - 1.0).abs() < 1e-6);
        let (component, _) = quat_error(q, decoded);
        prop_assert!(
            component <= f64::from(quantizer.max_component_error()) * 1.001 + 1e-6,
            "error {} above {} for {:?} -> {:?}",
            component,
            quantizer.max_component_error(),
            q,
            fields
        );
        Ok(())
    }

    proptest! {
        #[test]
        fn fixed_is_idempotent(v in -4.0e4f32..4.0e4) {
            let q = fixed(v, 100.0);
            prop_assert_eq!(fixed(unfixed(q, 100.0), 100.0), q);
            prop_assert!((unfixed(q, 100.0) - v).abs() <= 0.005 + v.abs() * 1e-6);
        }

        #[test]
        fn angle_skipping_the_remainder_within_a_turn_changes_no_field(
            a in prop_oneof![-20.0f32..20.0, 0.0f32..TAU, Just(0.0f32), Just(-0.0f32), Just(TAU), Just(TAU.next_down())],
            bits in 1u32..=24,
        ) {
            let steps = (1u32 << bits) as f32;
            let always_wrapped = ((a.rem_euclid(TAU) / TAU * steps).round() as u32 % (1u32 << bits)) as i32;
            prop_assert_eq!(angle(a, bits), always_wrapped);
        }

        #[test]
        fn angle_is_idempotent(a in -20.0f32..20.0, bits in 4u32..16) {
            let q = angle(a, bits);
            prop_assert!((0..(1i32 << bits)).contains(&q));
            prop_assert_eq!(angle(unangle(q, bits), bits), q);
        }

        #[test]
        fn scalar_is_idempotent_clamped_and_within_half_a_step(
            v in -1.0e5f32..1.0e5,
            step in 1.0e-3f32..10.0,
            half_range in 1.0f32..1.0e3,
        ) {
            let extent = (half_range * step).min(4.0e6 * step);
            let quantizer = ScalarQuantizer::new(step, -extent, extent);
            let field = quantizer.quantize(v);
            prop_assert!(quantizer.field_range().contains(&field));
            let back = quantizer.dequantize(field);
            prop_assert_eq!(quantizer.quantize(back), field);
            prop_assert_eq!(quantizer.try_dequantize(field), Some(back));
            let clamped = v.clamp(-extent, extent);
            let bound = step / 2.0 + clamped.abs() * 1e-6;
            prop_assert!((back - clamped).abs() <= bound, "{} -> {} -> {}", v, field, back);
        }

        #[test]
        fn vectors_are_idempotent_and_within_half_a_step(x in -40.0f32..40.0, y in -40.0f32..40.0, z in -40.0f32..40.0) {
            let v = Vec3::new(x, y, z);
            let fields = fields_of(|out| POSITION.quantize(v, out));
            let back = POSITION.dequantize(&fields).unwrap_or(Vec3::NAN);
            prop_assert_eq!(fields_of(|out| POSITION.quantize(back, out)), fields);
            let clamped = v.clamp(Vec3::splat(-32.0), Vec3::splat(32.0));
            prop_assert!((back - clamped).abs().max_element() <= POSITION.axis().max_error() * 1.0001);

            let planar = Vec2Quantizer::new(0.05, -10.0, 10.0);
            let fields = fields_of(|out| planar.quantize(Vec2::new(x, y), out));
            let back = planar.dequantize(&fields).unwrap_or(Vec2::NAN);
            prop_assert_eq!(fields_of(|out| planar.quantize(back, out)), fields);
            let clamped = Vec2::new(x, y).clamp(Vec2::splat(-10.0), Vec2::splat(10.0));
            prop_assert!((back - clamped).abs().max_element() <= 0.025 * 1.0001);
        }

        #[test]
        fn angle_quantizer_is_idempotent_and_within_half_a_step(a in -20.0f32..20.0, bits in 1u32..=16) {
            let quantizer = AngleQuantizer::new(bits);
            let field = quantizer.quantize(a);
            prop_assert!(quantizer.try_dequantize(field).is_some());
            let back = quantizer.dequantize(field);
            prop_assert!((0.0..TAU).contains(&back));
            prop_assert_eq!(quantizer.quantize(back), field);
            let diff = (back - a).rem_euclid(TAU);
            let error = diff.min(TAU - diff);
            prop_assert!(error <= quantizer.max_error() + 1e-5, "{} -> {} error {}", a, back, error);
        }

        #[test]
        fn quat_is_idempotent_and_within_bounds(raw in prop::array::uniform4(-1.0f32..1.0), bits in 9u32..=12) {
            if let Some(q) = quat_from(raw) {
                check_quat(q, bits)?;
            }
        }

        #[test]
        fn quat_is_idempotent_at_every_resolution(raw in prop::array::uniform4(-1.0f32..1.0), bits in 2u32..=16) {
            if let Some(q) = quat_from(raw) {
                check_quat(q, bits)?;
            }
        }

        /// Two, three or four components of (nearly) equal magnitude: where the dropped
        /// index is decided by rounding noise.
        #[test]
        fn quat_near_ties_are_idempotent(
            magnitude in 0.3f32..0.75,
            ties in 2usize..=4,
            signs in prop::array::uniform4(any::<bool>()),
            rest in prop::array::uniform4(-0.3f32..0.3),
            jitter in prop::array::uniform4(-2.0e-3f32..2.0e-3),
            order in 0usize..24,
            bits in 9u32..=12,
        ) {
            let mut raw = rest;
            for k in 0..ties {
                raw[k] = magnitude + jitter[k] * (k as f32 - 1.0).signum();
            }
            for (c, negative) in raw.iter_mut().zip(signs) {
                if negative {
                    *c = -*c;
                }
            }
            // A permutation, so the tied components sit at every pair of indices.
            let mut indices = vec![0, 1, 2, 3];
            let mut permuted = [0.0; 4];
            let mut code = order;
            for slot in &mut permuted {
                let at = code % indices.len();
                code /= indices.len();
                *slot = raw[indices.remove(at)];
            }
            if let Some(q) = quat_from(permuted) {
                check_quat(q, bits)?;
            }
        }

        /// Rotations that are themselves decoded fields sit exactly on the grid, with its
        /// exact ties: quantizing one and then its result must settle at once.
        #[test]
        fn quat_grid_points_settle_at_once(
            largest in 0i32..4,
            raw in prop::array::uniform3(-1.0f64..1.0),
            bits in 9u32..=16,
        ) {
            let quantizer = QuatQuantizer::new(bits);
            let m = f64::from(quantizer.max_field());
            let fields = [largest, (raw[0] * m) as i32, (raw[1] * m) as i32, (raw[2] * m) as i32];
            if let Some(q) = quantizer.dequantize(&fields) {
                check_quat(q, bits)?;
            }
        }

        #[test]
        fn quat_ignores_scale_and_sign(raw in prop::array::uniform4(-1.0f32..1.0), scale in 1.0e-3f32..1.0e3) {
            if let Some(q) = quat_from(raw) {
                let quantizer = QuatQuantizer::new(10);
                prop_assert_eq!(quantizer.encode(q * scale), quantizer.encode(q));
                prop_assert_eq!(quantizer.encode(-q), quantizer.encode(q));
            }
        }

        #[test]
        fn malformed_quat_fields_never_panic(fields in prop::collection::vec(-600i32..600, 0..6)) {
            let quantizer = QuatQuantizer::new(9);
            if let Some(q) = quantizer.dequantize(&fields) {
                prop_assert!((q.length() - 1.0).abs() < 1e-6);
            }
        }
    }

    /// Every decodable encoding at low resolutions: re-quantizing the decoded rotation
    /// gives an encoding that is stable, and the canonical ones reproduce themselves.
    #[test]
    fn quat_round_trip_is_stable_for_every_encoding_at_low_resolution() {
        for bits in 2..=5 {
            let quantizer = QuatQuantizer::new(bits);
            let m = quantizer.max_field();
            let mut canonical = 0;
            for largest in 0..4 {
                for a in -m..=m {
                    for b in -m..=m {
                        for c in -m..=m {
                            let fields = [largest, a, b, c];
                            let Some(q) = quantizer.dequantize(&fields) else {
                                continue;
                            };
                            let once = quantizer.encode(q);
                            let again = quantizer.encode(quantizer.dequantize(&once).unwrap_or(Quat::NAN));
                            assert_eq!(again, once, "bits {bits}: {fields:?} -> {once:?} -> {again:?}");
                            canonical += usize::from(once == fields);
                        }
                    }
                }
            }
            assert!(canonical > 0);
        }
    }

    /// Over many random and near-tie rotations at the usual resolutions: how `encode` finds
    /// its answer, and the largest errors (printed with `--nocapture`).
    #[test]
    fn quat_encoding_never_needs_the_last_resort() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
        };
        const SAMPLES: usize = 20_000;
        for bits in 9..=12 {
            let quantizer = QuatQuantizer::new(bits);
            let (mut nearest, mut worst_component, mut worst_angle) = (0, 0.0f64, 0.0f64);
            for i in 0..SAMPLES {
                let mut raw = [next(), next(), next(), next()];
                match i % 4 {
                    // Two components tied to within a few steps.
                    1 => raw[1] = raw[0].abs().copysign(raw[1]) + next() * 1e-3,
                    // All four near ±1/2.
                    2 => raw = raw.map(|c| (0.5 + c * 2e-3).copysign(c)),
                    // Two near ±1/√2, the others near zero.
                    3 => {
                        let half = std::f32::consts::FRAC_1_SQRT_2;
                        raw = [
                            half + raw[0] * 1e-3,
                            -half + raw[1] * 1e-3,
                            raw[2] * 1e-3,
                            raw[3] * 1e-3,
                        ]
                    }
                    _ => {}
                }
                let Some(q) = quat_from(raw) else { continue };
                let (fields, route) = quantizer.encode_traced(q);
                assert_ne!(route, Route::Settled, "bits {bits}: {q:?}");
                nearest += usize::from(route == Route::Nearest);
                let decoded = quantizer.dequantize(&fields).unwrap_or(Quat::NAN);
                assert_eq!(quantizer.encode(decoded), fields, "bits {bits}: {q:?}");
                let (component, angle) = quat_error(q, decoded);
                worst_component = worst_component.max(component);
                worst_angle = worst_angle.max(angle);
            }
            let step = quantizer.step();
            println!(
                "bits {bits}: step {step:.3e}, worst component error {worst_component:.3e} ({:.3} steps), \
                 worst angle {worst_angle:.3e} rad, {nearest} of {SAMPLES} re-encoded near a tie",
                worst_component / step
            );
            assert!(worst_component <= f64::from(quantizer.max_component_error()));
        }
    }

    #[test]
    fn angle_round_trip_is_exact_for_every_field() {
        for bits in 1..=AngleQuantizer::MAX_BITS {
            let quantizer = AngleQuantizer::new(bits);
            for field in 0..1i32 << bits {
                assert_eq!(quantizer.quantize(quantizer.dequantize(field)), field, "bits {bits}");
            }
        }
    }

    #[test]
    fn byte_exact_examples() {
        let v = fields_of(|out| POSITION.quantize(Vec3::new(1.0, 2.0, 3.0), out));
        assert_eq!(v, [512, 1024, 1536]);
        let v = fields_of(|out| POSITION.quantize(Vec3::new(-0.5, 0.001, -31.999), out));
        assert_eq!(v, [-256, 1, -16383]);
        assert_eq!(
            POSITION.dequantize(&[512, -1024, 1]),
            Some(Vec3::new(1.0, -2.0, 1.0 / 512.0))
        );
        let v = fields_of(|out| Vec2Quantizer::new(0.25, -8.0, 8.0).quantize(Vec2::new(1.1, -2.4), out));
        assert_eq!(v, [4, -10]);

        assert_eq!(VELOCITY.quantize(1.234), 123);
        assert_eq!(VELOCITY.quantize(-0.005), -1, "halves round away from zero");
        assert_eq!(VELOCITY.dequantize(-250), -2.5);

        let facing = AngleQuantizer::new(8);
        assert_eq!(facing.quantize(std::f32::consts::PI), 128);
        assert_eq!(facing.quantize(-std::f32::consts::FRAC_PI_2), 192);
        assert_eq!(facing.dequantize(64), std::f32::consts::FRAC_PI_2);

        let rotation = QuatQuantizer::new(9);
        assert_eq!(rotation.max_field(), 255);
        assert_eq!(rotation.encode(Quat::IDENTITY), [3, 0, 0, 0]);
        assert_eq!(rotation.encode(-Quat::IDENTITY), [3, 0, 0, 0]);
        assert_eq!(rotation.encode(Quat::from_xyzw(0.0, -1.0, 0.0, 0.0)), [1, 0, 0, 0]);
        // 90° about z: (0, 0, √½, √½), a tie that breaks towards the lower index (z).
        assert_eq!(
            rotation.encode(Quat::from_rotation_z(std::f32::consts::FRAC_PI_2)),
            [2, 0, 0, 255]
        );
        // All four equal: x is dropped, the rest are 0.5 / S = 0.5 · √2 · 255 = 180.3.
        assert_eq!(rotation.encode(Quat::from_xyzw(0.5, 0.5, 0.5, 0.5)), [0, 180, 180, 180]);
        assert_eq!(
            rotation.encode(Quat::from_xyzw(-0.5, 0.5, -0.5, 0.5)),
            [0, -180, 180, -180]
        );
        let q = rotation.dequantize(&[3, 0, 0, 0]);
        assert_eq!(q, Some(Quat::IDENTITY));
    }

    #[test]
    fn ranges_clamp() {
        assert_eq!(VELOCITY.quantize(1.0e9), 5000);
        assert_eq!(VELOCITY.quantize(-75.0), -5000);
        assert_eq!(VELOCITY.snap(60.0), 50.0);
        assert_eq!(VELOCITY.dequantize(9000), 50.0);
        assert_eq!(VELOCITY.field_range(), -5000..=5000);
        let v = fields_of(|out| POSITION.quantize(Vec3::new(100.0, -100.0, 0.0), out));
        assert_eq!(v, [16384, -16384, 0]);
        // Ends that are not on the grid snap to the nearest grid point.
        let odd = ScalarQuantizer::new(0.5, 0.2, 2.9);
        assert_eq!(odd.field_range(), 0..=6);
        assert_eq!(odd.snap(-1.0), 0.0);
        assert_eq!(odd.snap(5.0), 3.0);
        assert_eq!(odd.quantize(odd.snap(5.0)), 6);
        // A range away from zero: non-finite input takes the value nearest 0.0.
        let positive = ScalarQuantizer::new(1.0, 10.0, 20.0);
        assert_eq!(positive.quantize(f32::NAN), 10);
    }

    #[test]
    fn bits_cover_the_range() {
        assert_eq!(POSITION.axis().bits(), 16, "32769 fields");
        assert_eq!(ScalarQuantizer::new(1.0, -128.0, 127.0).bits(), 8);
        assert_eq!(ScalarQuantizer::new(1.0, -128.0, 128.0).bits(), 9);
        assert_eq!(ScalarQuantizer::new(1.0, 0.0, 1.0).bits(), 1);
        assert_eq!(ScalarQuantizer::new(1.0, 3.0, 3.0).bits(), 0);
        assert_eq!(VELOCITY.bits(), 14, "10001 fields");
        assert_eq!(AngleQuantizer::new(12).bits(), 12);
        let quantizer = QuatQuantizer::new(9);
        let m = quantizer.max_field();
        assert!(2 * m < 1 << 9);
    }

    #[test]
    fn non_finite_values_quantize_to_zero() {
        assert_eq!(fixed(f32::NAN, 100.0), 0);
        assert_eq!(fixed(f32::INFINITY, 100.0), 0);
        assert_eq!(angle(f32::NAN, 12), 0);
        assert_eq!(fixed(1.0e30, 100.0), i32::MAX);

        assert_eq!(VELOCITY.quantize(f32::NAN), 0);
        assert_eq!(VELOCITY.quantize(f32::NEG_INFINITY), 0);
        let v = fields_of(|out| POSITION.quantize(Vec3::new(f32::NAN, f32::INFINITY, 1.0), out));
        assert_eq!(v, [0, 0, 512]);
        assert_eq!(AngleQuantizer::new(12).quantize(f32::INFINITY), 0);
        let rotation = QuatQuantizer::new(10);
        assert_eq!(rotation.encode(Quat::from_xyzw(f32::NAN, 0.0, 0.0, 1.0)), [3, 0, 0, 0]);
        assert_eq!(rotation.encode(Quat::from_xyzw(0.0, 0.0, 0.0, 0.0)), [3, 0, 0, 0]);
        assert_eq!(
            rotation.encode(Quat::from_xyzw(f32::MAX, f32::MAX, 0.0, 0.0)),
            [0, 511, 0, 0]
        );
        assert_eq!(rotation.encode(Quat::from_xyzw(0.0, 0.0, 1.0e-30, 0.0)), [2, 0, 0, 0]);
    }

    #[test]
    fn malformed_fields_are_refused() {
        assert_eq!(POSITION.dequantize(&[1, 2]), None);
        assert_eq!(POSITION.dequantize(&[1, 2, 3, 4]), None);
        assert_eq!(POSITION.dequantize(&[16385, 0, 0]), None);
        assert_eq!(POSITION.dequantize(&[0, 0, i32::MIN]), None);
        assert!(POSITION.dequantize(&[16384, -16384, 0]).is_some());
        let planar = Vec2Quantizer::new(0.25, -8.0, 8.0);
        assert_eq!(planar.dequantize(&[]), None);
        assert_eq!(planar.dequantize(&[33, 0]), None);
        assert_eq!(VELOCITY.try_dequantize(5001), None);
        assert_eq!(VELOCITY.try_dequantize(-5000), Some(-50.0));

        let facing = AngleQuantizer::new(8);
        assert_eq!(facing.try_dequantize(256), None);
        assert_eq!(facing.try_dequantize(-1), None);
        assert_eq!(facing.dequantize(256), 0.0, "the total form wraps");

        let rotation = QuatQuantizer::new(9);
        assert_eq!(rotation.dequantize(&[3, 0, 0]), None);
        assert_eq!(rotation.dequantize(&[3, 0, 0, 0, 0]), None);
        assert_eq!(rotation.dequantize(&[4, 0, 0, 0]), None);
        assert_eq!(rotation.dequantize(&[-1, 0, 0, 0]), None);
        assert_eq!(rotation.dequantize(&[0, 256, 0, 0]), None);
        assert_eq!(rotation.dequantize(&[0, 0, -256, 0]), None);
        assert_eq!(rotation.dequantize(&[0, 255, 255, 255]), None, "squares sum above 1");
        assert!(
            rotation.dequantize(&[0, 255, 255, 0]).is_some(),
            "squares sum to exactly 1"
        );
    }
}
