//! Input acknowledgements: when each input was sent, how long until a snapshot acked
//! it, and how many inputs the latest ack covers.
//!
//! The server acks the last input `seq` it applied, in every snapshot; acks are
//! cumulative, so the ack `N` covers inputs `0..=N`. Send times live in a fixed ring of
//! at least [`RING_SECONDS`] of inputs: an input acked after its slot was reused yields
//! no round-trip sample, but still counts as acked.

use std::time::Duration;
use tokio::time::Instant;

/// Fewest send times kept.
pub const MIN_SEND_TIME_SLOTS: usize = 256;
/// Seconds of inputs the ring holds at least, whatever the tick rate: far more than any
/// healthy ack delay, and more than the one-second grace the verdict looks back.
pub const RING_SECONDS: usize = 4;

/// Send times of one bot's recent inputs and the latest ack.
#[derive(Debug)]
pub struct AckTracker {
    /// `(seq, sent at)` by `seq % send_times.len()`.
    send_times: Vec<Option<(u32, Instant)>>,
    inputs_sent: u64,
    last_ack: Option<u32>,
}

impl Default for AckTracker {
    fn default() -> AckTracker {
        AckTracker::for_tick_rate(0)
    }
}

impl AckTracker {
    /// A tracker for inputs sent `tick_rate` times a second.
    pub fn for_tick_rate(tick_rate: u16) -> AckTracker {
        let slots = (usize::from(tick_rate) * RING_SECONDS).max(MIN_SEND_TIME_SLOTS);
        AckTracker {
            send_times: vec![None; slots],
            inputs_sent: 0,
            last_ack: None,
        }
    }

    fn slot(&self, seq: u32) -> usize {
        seq as usize % self.send_times.len()
    }

    /// Remembers that input `seq` left at `sent_at`; seqs must count up from 0.
    pub fn on_sent(&mut self, seq: u32, sent_at: Instant) {
        let slot = self.slot(seq);
        self.send_times[slot] = Some((seq, sent_at));
        self.inputs_sent += 1;
    }

    /// Takes the ack a snapshot carried, received at `received_at`. Returns the round
    /// trip of the acked input when the ack advanced and its send time is still held.
    pub fn on_ack(&mut self, ack: u32, received_at: Instant) -> Option<Duration> {
        let advanced = self.last_ack.is_none_or(|last| (ack.wrapping_sub(last) as i32) > 0);
        if !advanced {
            return None;
        }
        self.last_ack = Some(ack);
        match self.send_times[self.slot(ack)] {
            Some((seq, sent_at)) if seq == ack => Some(received_at.saturating_duration_since(sent_at)),
            _ => None,
        }
    }

    /// The newest ack seen, if any.
    pub fn last_ack(&self) -> Option<u32> {
        self.last_ack
    }

    /// Inputs sent so far.
    pub fn inputs_sent(&self) -> u64 {
        self.inputs_sent
    }

    /// Inputs sent at or before `cutoff`. Exact while the inputs sent after `cutoff` fit
    /// the ring, i.e. for a cutoff up to [`RING_SECONDS`] back at the tick rate; further
    /// back it counts every input older than the ring, which may be too many.
    pub fn inputs_sent_before(&self, cutoff: Instant) -> u64 {
        let newest_slots = self.inputs_sent.min(self.send_times.len() as u64);
        for back in 0..newest_slots {
            let count = self.inputs_sent - back;
            let seq = (count - 1) as u32;
            match self.send_times[self.slot(seq)] {
                Some((held, sent_at)) if held == seq && sent_at <= cutoff => return count,
                _ => {}
            }
        }
        self.inputs_sent - newest_slots
    }

    /// Inputs the latest ack covers: `ack + 1`, never more than were sent (a server
    /// acking an input it never got does not make it acked).
    pub fn inputs_acked(&self) -> u64 {
        self.last_ack
            .map_or(0, |ack| (u64::from(ack) + 1).min(self.inputs_sent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn an_advancing_ack_yields_the_time_since_its_input_was_sent() {
        let start = Instant::now();
        let mut acks = AckTracker::default();
        for seq in 0..10 {
            acks.on_sent(seq, start + millis(u64::from(seq) * 16));
        }
        assert_eq!(acks.inputs_acked(), 0);
        assert_eq!(acks.on_ack(3, start + millis(100)), Some(millis(100 - 48)));
        assert_eq!(acks.inputs_acked(), 4);
        // Repeated and older acks change nothing and yield no sample.
        assert_eq!(acks.on_ack(3, start + millis(150)), None);
        assert_eq!(acks.on_ack(2, start + millis(150)), None);
        assert_eq!(acks.last_ack(), Some(3));
        assert_eq!(acks.on_ack(9, start + millis(200)), Some(millis(200 - 144)));
        assert_eq!(acks.inputs_acked(), 10);
    }

    #[test]
    fn an_ack_older_than_the_ring_counts_but_yields_no_sample() {
        let start = Instant::now();
        let mut acks = AckTracker::default();
        let sent = MIN_SEND_TIME_SLOTS as u32 + 10;
        for seq in 0..sent {
            acks.on_sent(seq, start);
        }
        assert_eq!(acks.on_ack(5, start + millis(10)), None);
        assert_eq!(acks.inputs_acked(), 6);
        assert_eq!(acks.on_ack(sent - 1, start + millis(10)), Some(millis(10)));
    }

    #[test]
    fn inputs_sent_before_a_cutoff_are_counted_from_the_send_times() {
        let start = Instant::now();
        let mut acks = AckTracker::default();
        assert_eq!(acks.inputs_sent_before(start), 0);
        for seq in 0..100 {
            acks.on_sent(seq, start + millis(u64::from(seq) * 10));
        }
        assert_eq!(acks.inputs_sent_before(start + millis(990)), 100);
        assert_eq!(acks.inputs_sent_before(start + millis(500)), 51);
        assert_eq!(acks.inputs_sent_before(start + millis(495)), 50);
        assert_eq!(acks.inputs_sent_before(start), 1);
        assert_eq!(acks.inputs_sent_before(start - millis(1)), 0);
    }

    #[test]
    fn the_ring_holds_seconds_of_inputs_at_any_tick_rate() {
        let start = Instant::now();
        let tick_rate = 500;
        let mut acks = AckTracker::for_tick_rate(tick_rate);
        // 3 s of inputs at 500 Hz, a cutoff 1 s before the last: 1 001 inputs were due.
        let inputs = 3 * u32::from(tick_rate);
        for seq in 0..inputs {
            acks.on_sent(seq, start + Duration::from_micros(u64::from(seq) * 2_000));
        }
        assert_eq!(acks.inputs_sent_before(start + millis(2_000)), 1_001);
        assert_eq!(acks.on_ack(1_000, start + millis(2_100)), Some(millis(100)));
    }

    #[test]
    fn acks_beyond_what_was_sent_do_not_count() {
        let start = Instant::now();
        let mut acks = AckTracker::default();
        acks.on_sent(0, start);
        acks.on_sent(1, start);
        assert_eq!(acks.on_ack(40, start), None);
        assert_eq!(acks.inputs_sent(), 2);
        assert_eq!(acks.inputs_acked(), 2);
    }
}
