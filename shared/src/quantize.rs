//! Quantizers: floats to small integers on a fixed grid, and back.
//!
//! Each function saturates instead of overflowing and maps non-finite input to zero, so
//! a simulation bug cannot produce an undecodable snapshot.

use std::f32::consts::TAU;

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
    let turn = radians.rem_euclid(TAU) / TAU;
    ((turn * steps).round() as u32 % (1u32 << bits)) as i32
}

/// Inverse of [`angle`]: radians in `[0, TAU)`.
pub fn unangle(value: i32, bits: u32) -> f32 {
    let steps = (1u32 << bits) as f32;
    (value as u32 % (1u32 << bits)) as f32 / steps * TAU
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn fixed_is_idempotent(v in -4.0e4f32..4.0e4) {
            let q = fixed(v, 100.0);
            prop_assert_eq!(fixed(unfixed(q, 100.0), 100.0), q);
            prop_assert!((unfixed(q, 100.0) - v).abs() <= 0.005 + v.abs() * 1e-6);
        }

        #[test]
        fn angle_is_idempotent(a in -20.0f32..20.0, bits in 4u32..16) {
            let q = angle(a, bits);
            prop_assert!((0..(1i32 << bits)).contains(&q));
            prop_assert_eq!(angle(unangle(q, bits), bits), q);
        }
    }

    #[test]
    fn non_finite_values_quantize_to_zero() {
        assert_eq!(fixed(f32::NAN, 100.0), 0);
        assert_eq!(fixed(f32::INFINITY, 100.0), 0);
        assert_eq!(angle(f32::NAN, 12), 0);
        assert_eq!(fixed(1.0e30, 100.0), i32::MAX);
    }
}
