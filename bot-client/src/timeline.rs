//! Round trips second by second over a swarm run, pooled over every bot: the report's
//! `timeline`, which `benches/swarm.py` plots as latency over the run.
//!
//! Each bot keeps the current second's round trips in a histogram of its own and adds it
//! to the shared timeline when the second changes, and when it stops: one lock per bot
//! per second, not one per sample.

use crate::outcome::LatencySummary;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::time::Instant;

/// Round trips from 1 µs to 60 s at two significant digits: 1% is plenty for a plot, and
/// a thousand bots each keep one of these.
fn new_second_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 2).expect("constant histogram bounds are valid")
}

/// One second of the run: the round trips that completed in it, pooled over every bot.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RttSecond {
    /// End of the second, in seconds since the swarm started.
    pub t_s: f64,
    /// Input-to-ack round trips that completed in it.
    pub rtt_ms: LatencySummary,
}

/// The whole swarm's round trips, by second since the swarm started.
#[derive(Debug)]
pub struct RttTimeline {
    started: Instant,
    seconds: Mutex<Vec<Histogram<u64>>>,
}

impl RttTimeline {
    /// An empty timeline whose second 0 begins at `started`.
    pub fn new(started: Instant) -> RttTimeline {
        RttTimeline {
            started,
            seconds: Mutex::new(Vec::new()),
        }
    }

    fn second_of(&self, at: Instant) -> usize {
        at.saturating_duration_since(self.started).as_secs() as usize
    }

    fn add(&self, second: usize, round_trips: &Histogram<u64>) {
        let mut seconds = self.seconds.lock().unwrap_or_else(PoisonError::into_inner);
        if seconds.len() <= second {
            seconds.resize_with(second + 1, new_second_histogram);
        }
        // Same bounds on both sides, so adding cannot fail.
        let _ = seconds[second].add(round_trips);
    }

    /// Every second from the first to the last with a round trip, in order (a second
    /// without any shows zeros and `samples: 0`).
    pub fn seconds(&self) -> Vec<RttSecond> {
        let seconds = self.seconds.lock().unwrap_or_else(PoisonError::into_inner);
        let first = seconds
            .iter()
            .position(|second| !second.is_empty())
            .unwrap_or(seconds.len());
        seconds
            .iter()
            .enumerate()
            .skip(first)
            .map(|(second, round_trips)| RttSecond {
                t_s: (second + 1) as f64,
                rtt_ms: LatencySummary::from_micros(round_trips),
            })
            .collect()
    }
}

/// One bot's round trips of the current second, on their way to the [`RttTimeline`].
#[derive(Debug)]
pub struct BotRoundTrips {
    timeline: Arc<RttTimeline>,
    second: usize,
    round_trips: Histogram<u64>,
}

impl BotRoundTrips {
    /// A bot's buffer into `timeline`.
    pub fn new(timeline: Arc<RttTimeline>) -> BotRoundTrips {
        BotRoundTrips {
            timeline,
            second: 0,
            round_trips: new_second_histogram(),
        }
    }

    /// A round trip of `micros` that completed `at`.
    pub fn record(&mut self, at: Instant, micros: u64) {
        let second = self.timeline.second_of(at);
        if second != self.second {
            self.flush();
            self.second = second;
        }
        self.round_trips.saturating_record(micros.max(1));
    }

    /// Adds this second's round trips to the timeline (also done on drop).
    pub fn flush(&mut self) {
        if !self.round_trips.is_empty() {
            self.timeline.add(self.second, &self.round_trips);
            self.round_trips.reset();
        }
    }
}

impl Drop for BotRoundTrips {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn round_trips_are_pooled_by_the_second_they_completed_in() {
        let started = Instant::now();
        let timeline = Arc::new(RttTimeline::new(started));
        let at = |millis: u64| started + Duration::from_millis(millis);
        let mut first = BotRoundTrips::new(Arc::clone(&timeline));
        let mut second = BotRoundTrips::new(Arc::clone(&timeline));
        // Nothing in second 0; second 1: 20 and 40 ms from one bot, 30 ms from the other.
        first.record(at(1_100), 20_000);
        first.record(at(1_900), 40_000);
        second.record(at(1_500), 30_000);
        // Second 3 (second 2 has none): 100 ms. The first bot's second 1 is flushed now.
        first.record(at(3_200), 100_000);
        assert_eq!(
            timeline.seconds().len(),
            1,
            "only the first bot's finished second is in"
        );
        drop(second);
        drop(first);
        let seconds = timeline.seconds();
        let summary = |index: usize| (seconds[index].t_s, seconds[index].rtt_ms.samples);
        assert_eq!([summary(0), summary(1), summary(2)], [(2.0, 3), (3.0, 0), (4.0, 1)]);
        assert_eq!(seconds.len(), 3);
        // Two significant digits: within 1% of the recorded values.
        let second_one = seconds[0].rtt_ms;
        assert!((second_one.p50 - 30.0).abs() <= 0.3, "{second_one:?}");
        assert!((second_one.max - 40.0).abs() <= 0.4, "{second_one:?}");
        assert!((seconds[2].rtt_ms.p99 - 100.0).abs() <= 1.0, "{:?}", seconds[2]);
    }

    #[test]
    fn an_empty_timeline_has_no_seconds() {
        let timeline = Arc::new(RttTimeline::new(Instant::now()));
        drop(BotRoundTrips::new(Arc::clone(&timeline)));
        assert!(timeline.seconds().is_empty());
    }
}
