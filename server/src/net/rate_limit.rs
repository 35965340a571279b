//! Per-connection input rate limiting, as two token buckets refilled at `limit` a
//! second.
//!
//! Inputs are admitted while the first bucket has tokens; beyond that they are dropped
//! (and counted by the caller) while the second has; past both (more than twice the
//! rate, sustained), the client is not lagging, it is flooding, and is closed. A client starts with one second's worth in
//! each, so a burst at connect gets `limit` admitted and `limit` dropped before the
//! close.
//!
//! The first bucket holds up to [`CATCH_UP_SECONDS`] of inputs: a client whose network
//! stalled (a mobile handover, a congested link) made its inputs at the tick rate all
//! along and delivers them in one burst when the link comes back. Fixed one-second
//! windows counted that burst as a flood and closed honest players after a 4 s stall;
//! the bucket admits it, since over the stall the client sent no more than its rate.

use std::time::Instant;

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

/// How many seconds of inputs a client that went quiet may deliver at once: the
/// longest stall a connection survives anyway (the ping deadline, `write_timeout`).
pub const CATCH_UP_SECONDS: f64 = 5.0;

/// One connection's buckets.
#[derive(Debug)]
pub struct InputRateLimit {
    limit: f64,
    /// Inputs that may be admitted now (up to `limit * CATCH_UP_SECONDS`).
    admit: f64,
    /// Inputs that may be dropped before the connection is closed (up to `limit`).
    drop: f64,
    refilled_at: Instant,
}

impl InputRateLimit {
    /// Allows `limit` inputs per second, starting at `now`.
    pub fn new(limit: u32, now: Instant) -> InputRateLimit {
        let limit = f64::from(limit);
        InputRateLimit {
            limit,
            admit: limit,
            drop: limit,
            refilled_at: now,
        }
    }

    /// Admits or refuses one input arriving at `now`.
    pub fn admit(&mut self, now: Instant) -> Admission {
        let refill = now.saturating_duration_since(self.refilled_at).as_secs_f64() * self.limit;
        self.refilled_at = now;
        self.admit = (self.admit + refill).min(self.limit * CATCH_UP_SECONDS);
        self.drop = (self.drop + refill).min(self.limit);
        if self.admit >= 1.0 {
            self.admit -= 1.0;
            Admission::Accept
        } else if self.drop >= 1.0 {
            self.drop -= 1.0;
            Admission::Drop
        } else {
            Admission::Close
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn accepts_then_drops_then_closes_and_recovers_next_window() {
        let start = Instant::now();
        let mut limit = InputRateLimit::new(3, start);
        let verdicts: Vec<Admission> = (0..7).map(|_| limit.admit(start)).collect();
        use Admission::*;
        assert_eq!(verdicts, [Accept, Accept, Accept, Drop, Drop, Drop, Close]);
        assert_eq!(limit.admit(start + Duration::from_secs(1)), Accept);
    }

    #[test]
    fn a_burst_after_a_stall_is_admitted_if_the_rate_over_the_stall_held() {
        let start = Instant::now();
        let mut limit = InputRateLimit::new(60, start);
        // At the rate for a second, then nothing for four (the link stalled) ...
        for tick in 0..60 {
            assert_eq!(
                limit.admit(start + Duration::from_millis(tick * 1000 / 60)),
                Admission::Accept
            );
        }
        // ... then the four seconds of inputs made meanwhile arrive together.
        let back = start + Duration::from_secs(5);
        let burst: Vec<Admission> = (0..240).map(|_| limit.admit(back)).collect();
        assert!(burst.iter().all(|verdict| *verdict == Admission::Accept));
        // Sustained at three times the rate (over the two buckets' twice), a client is
        // closed within seconds.
        let mut at = back;
        let mut verdict = Admission::Accept;
        for _ in 0..2_000 {
            at += Duration::from_secs_f64(1.0 / 180.0);
            verdict = limit.admit(at);
            if verdict == Admission::Close {
                break;
            }
        }
        assert_eq!(verdict, Admission::Close);
    }
}
