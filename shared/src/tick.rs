//! Simulation time as a tick counter.
//!
//! A room advances one [`Tick`] per fixed step. Ticks are `u32` on the wire and wrap
//! around after about 2.2 years at 60 Hz; every comparison here is wrapping (serial
//! number arithmetic, RFC 1982) so that a server that has run for a long time keeps
//! ordering snapshots correctly.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;

/// One step of a room's fixed-rate simulation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Tick(pub u32);

impl Tick {
    /// The first tick of a room.
    pub const ZERO: Tick = Tick(0);

    /// The tick after this one (wrapping).
    #[must_use]
    pub fn next(self) -> Tick {
        Tick(self.0.wrapping_add(1))
    }

    /// This tick moved by `delta` steps (wrapping, either direction).
    #[must_use]
    pub fn offset(self, delta: i32) -> Tick {
        Tick(self.0.wrapping_add_signed(delta))
    }

    /// Signed number of ticks from `earlier` to `self`: positive when `self` is newer.
    pub fn since(self, earlier: Tick) -> i32 {
        self.0.wrapping_sub(earlier.0) as i32
    }

    /// Whether `self` comes strictly after `other` in wrapping order.
    pub fn is_after(self, other: Tick) -> bool {
        self.since(other) > 0
    }

    /// Wrapping comparison; use it where ticks are sorted or compared.
    pub fn wrapping_cmp(self, other: Tick) -> Ordering {
        self.since(other).cmp(&0)
    }
}

impl fmt::Display for Tick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tick {}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_survives_wraparound() {
        let before_wrap = Tick(u32::MAX - 1);
        let after_wrap = before_wrap.offset(3);
        assert_eq!(after_wrap, Tick(1));
        assert!(after_wrap.is_after(before_wrap));
        assert!(!before_wrap.is_after(after_wrap));
        assert_eq!(after_wrap.since(before_wrap), 3);
        assert_eq!(before_wrap.since(after_wrap), -3);
        assert_eq!(after_wrap.wrapping_cmp(before_wrap), Ordering::Greater);
    }

    #[test]
    fn next_wraps_to_zero() {
        assert_eq!(Tick(u32::MAX).next(), Tick::ZERO);
        assert_eq!(Tick(7).wrapping_cmp(Tick(7)), Ordering::Equal);
    }
}
