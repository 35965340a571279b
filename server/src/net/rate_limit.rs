//! Per-connection input rate limiting, in fixed one-second windows.
//!
//! Up to `limit` inputs per window are admitted; beyond that they are dropped (and
//! counted by the caller). A client that sends more than twice the limit in one window
//! is not lagging, it is flooding, and is closed.

use std::time::{Duration, Instant};

/// What to do with one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Within the limit.
    Accept,
    /// Over the limit: drop it.
    Drop,
    /// Far over the limit: close the connection.
    Close,
}

/// Counts one connection's inputs per window.
#[derive(Debug)]
pub struct InputRateLimit {
    limit: u32,
    window_start: Instant,
    in_window: u32,
}

impl InputRateLimit {
    /// Allows `limit` inputs per second, starting at `now`.
    pub fn new(limit: u32, now: Instant) -> InputRateLimit {
        InputRateLimit {
            limit,
            window_start: now,
            in_window: 0,
        }
    }

    /// Admits or refuses one input arriving at `now`.
    pub fn admit(&mut self, now: Instant) -> Admission {
        if now.duration_since(self.window_start) >= Duration::from_secs(1) {
            self.window_start = now;
            self.in_window = 0;
        }
        self.in_window = self.in_window.saturating_add(1);
        if self.in_window <= self.limit {
            Admission::Accept
        } else if self.in_window <= self.limit.saturating_mul(2) {
            Admission::Drop
        } else {
            Admission::Close
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_then_drops_then_closes_and_recovers_next_window() {
        let start = Instant::now();
        let mut limit = InputRateLimit::new(3, start);
        let verdicts: Vec<Admission> = (0..7).map(|_| limit.admit(start)).collect();
        use Admission::*;
        assert_eq!(verdicts, [Accept, Accept, Accept, Drop, Drop, Drop, Close]);
        assert_eq!(limit.admit(start + Duration::from_secs(1)), Accept);
    }
}
