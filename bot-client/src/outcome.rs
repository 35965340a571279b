//! What one bot measured, and the latency summary its round trips become: the types the
//! bot, the timeline and the report share.
//!
//! Data flows one way: `bot` fills a [`BotOutcome`] and feeds the `timeline`; the
//! `report` adds up outcomes and reads the timeline. This module, at the bottom, imports
//! none of them.

use crate::transport::Used;
use crate::view::ViewStats;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Inputs sent at least this long before the end must be acked by the end: a healthy
/// server applies an input within a tick or two and acks it in its next snapshot.
pub const ACK_GRACE: Duration = Duration::from_secs(1);

/// Everything one bot measured; the report adds these up.
#[derive(Debug)]
pub struct BotOutcome {
    /// Got a `Welcome`.
    pub connected: bool,
    /// Why the bot failed, if it did (it may have connected first).
    pub failure: Option<String>,
    /// Snapshots applied without error.
    pub snapshots_applied: u64,
    /// Of those, snapshots that carried a checksum (which then matched).
    pub checksums_verified: u64,
    /// Snapshots whose checksum disagreed with the mirror after applying them.
    pub checksum_mismatches: u64,
    /// Snapshots that could not be applied for another reason.
    pub mirror_errors: u64,
    /// The first few mismatch and mirror error messages.
    pub mirror_error_samples: Vec<String>,
    /// Inputs sent: handed to the socket and flushed.
    pub inputs_sent: u64,
    /// Inputs one per tick would have made over the connected time; fewer sent means
    /// the bot's task was not polled in time (a CPU-starved bot process).
    pub inputs_expected: u64,
    /// Inputs sent at least [`ACK_GRACE`] before the bot stopped sending (at the deadline
    /// or on failure): the last ack must cover them.
    pub inputs_due: u64,
    /// Inputs the last ack covers.
    pub inputs_acked: u64,
    /// Whether any snapshot carried an ack.
    pub got_ack: bool,
    /// Binary payload bytes sent.
    pub bytes_up: u64,
    /// Binary payload bytes received.
    pub bytes_down: u64,
    /// From `Welcome` to the deadline or the failure.
    pub connected_for: Duration,
    /// Input-to-ack round trips, in microseconds.
    pub rtt_micros: Histogram<u64>,
    /// Snapshot sizes, entities held and their update intervals.
    pub view: ViewStats,
    /// Connections dropped on purpose (`--chaos-reconnect`) or lost and resumed
    /// (`--resume`).
    pub drops: u64,
    /// Of those, reconnections that got the same player back.
    pub resumes: u64,
    /// The rooms the bot played in, in order: a new entry each time it got a `Welcome` in
    /// another room than the one before (after a drop it may be seated elsewhere).
    pub rooms: Vec<RoomStint>,
    /// How long each matchmaking request that gave a seat took, in microseconds.
    pub matchmake_micros: Histogram<u64>,
    /// Matchmaking requests refused with 503 and retried.
    pub matchmake_retries: u64,
    /// The transport of the bot's last connection that got a `Welcome`.
    pub transport: Option<Used>,
}

/// A bot's time in one room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomStint {
    /// The room's id (`default` for a node's default room).
    pub room_id: String,
    /// The node's WebSocket URL.
    pub ws_url: String,
    /// Snapshots whose checksum disagreed with the mirror while in this room.
    pub checksum_mismatches: u64,
}

impl BotOutcome {
    /// An outcome with nothing measured yet.
    pub fn empty() -> BotOutcome {
        BotOutcome {
            connected: false,
            failure: None,
            snapshots_applied: 0,
            checksums_verified: 0,
            checksum_mismatches: 0,
            mirror_errors: 0,
            mirror_error_samples: Vec::new(),
            inputs_sent: 0,
            inputs_expected: 0,
            inputs_due: 0,
            inputs_acked: 0,
            got_ack: false,
            bytes_up: 0,
            bytes_down: 0,
            connected_for: Duration::ZERO,
            rtt_micros: new_rtt_histogram(),
            view: ViewStats::new(0),
            drops: 0,
            resumes: 0,
            rooms: Vec::new(),
            matchmake_micros: new_rtt_histogram(),
            matchmake_retries: 0,
            transport: None,
        }
    }

    /// A bot that failed before measuring anything (its task died or overran).
    pub fn failed(reason: String) -> BotOutcome {
        BotOutcome {
            failure: Some(reason),
            ..BotOutcome::empty()
        }
    }
}

/// A histogram of round trips (and matchmaking requests) from 1 µs to 60 s at three
/// significant digits.
pub fn new_rtt_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("constant histogram bounds are valid")
}

/// Percentiles of a duration (a round trip, an update interval), in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest sample.
    pub max: f64,
    /// Number of samples (for round trips: acks that advanced onto an input whose send
    /// time was known).
    pub samples: u64,
}

impl LatencySummary {
    /// Summarises a histogram of microseconds; all zero when it is empty.
    pub fn from_micros(histogram: &Histogram<u64>) -> LatencySummary {
        if histogram.is_empty() {
            return LatencySummary::default();
        }
        let millis = |micros: u64| micros as f64 / 1000.0;
        LatencySummary {
            p50: millis(histogram.value_at_quantile(0.5)),
            p99: millis(histogram.value_at_quantile(0.99)),
            max: millis(histogram.max()),
            samples: histogram.len(),
        }
    }
}
