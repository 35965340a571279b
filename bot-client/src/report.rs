//! The outcome of a swarm run: totals, latency, bandwidth, where the bots played (rooms,
//! nodes, matchmaking), the pass/fail verdict and the summary tables.
//!
//! The verdict is a pure function of the report, so a report read back from JSON judges
//! the same way as the run that wrote it.

use crate::config::BotOptions;
use crate::matchmake::node_of;
pub use crate::outcome::LatencySummary;
use crate::outcome::{ACK_GRACE, BotOutcome, new_rtt_histogram};
use crate::timeline::RttSecond;
use crate::transport::Used;
use crate::view::{ViewStats, record_growing};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, Table};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use thiserror::Error;

/// Distinct failure reasons and mirror error messages a report keeps.
const MAX_REASONS: usize = 8;
/// Rooms the rooms table lists (those with mismatches first); the JSON has them all.
const MAX_ROOM_ROWS: usize = 40;
/// Below this share of one input per tick, the table warns that the bots were short of
/// CPU and their figures include their own delays.
const STARVED_INPUT_SHARE: f64 = 0.9;

/// Summaries the report makes from the bots' view figures.
impl LatencySummary {
    /// Summarises the tick histograms `ticks` picks from each bot's figures, converted at
    /// the bots' `Welcome` tick rate; all zero when they are empty.
    fn from_ticks<'a>(views: impl Iterator<Item = &'a ViewStats>, ticks: fn(&ViewStats) -> &Histogram<u64>) -> Self {
        let views: Vec<&ViewStats> = views
            .filter(|view| view.tick_rate > 0 && !ticks(view).is_empty())
            .collect();
        let Some(first) = views.first() else {
            return LatencySummary::default();
        };
        // Auto-resizing: one histogram for the whole report, sized by what it holds.
        let mut merged = Histogram::<u64>::new(3).expect("constant histogram precision is valid");
        if views.iter().all(|view| view.tick_rate == first.tick_rate) {
            // One server, one tick rate: merge whole ticks, exact up to 2047 of them, and
            // convert only the percentiles (2 ticks at 60 Hz is 33.333 ms, not 33.343).
            for view in &views {
                // Both auto-resizing: adding grows `merged` as needed.
                let _ = merged.add(ticks(view));
            }
            let millis = |ticks: u64| ticks as f64 * 1000.0 / f64::from(first.tick_rate);
            return LatencySummary {
                p50: millis(merged.value_at_quantile(0.5)),
                p99: millis(merged.value_at_quantile(0.99)),
                max: millis(merged.max()),
                samples: merged.len(),
            };
        }
        for view in &views {
            for value in ticks(view).iter_recorded() {
                let micros = value.value_iterated_to().saturating_mul(1_000_000) / u64::from(view.tick_rate);
                record_growing(&mut merged, micros, value.count_at_value());
            }
        }
        LatencySummary::from_micros(&merged)
    }
}

/// What a swarm run measured. Bot counts are bots; other counts are summed over bots.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SwarmReport {
    /// Bots asked for.
    pub bots: usize,
    /// Bots that got a `Welcome`.
    pub bots_connected: usize,
    /// Bots that failed: could not connect, were refused, lost the connection, were
    /// closed by the server or received something the protocol does not allow. A bot
    /// that connected and then failed counts in both.
    pub bots_failed: usize,
    /// Connected bots that sent inputs and never received an input ack.
    pub bots_without_acks: usize,
    /// Connected bots whose last ack does not cover every input they sent more than
    /// one second before they stopped sending (the end of the run, or their failure).
    pub bots_behind_on_acks: usize,
    /// Snapshots applied to a mirror without error.
    pub snapshots_applied: u64,
    /// Of those, snapshots that carried a checksum (which then matched the mirror).
    pub checksums_verified: u64,
    /// Snapshots after which the mirror's checksum differed from the server's.
    pub checksum_mismatches: u64,
    /// Snapshots that could not be applied: undecodable body, wrong baseline, a delta
    /// that does not fit the mirror.
    pub mirror_errors: u64,
    /// Connections the bots dropped on purpose (`--chaos-reconnect`) or lost and
    /// reconnected (`--resume`).
    pub drops: u64,
    /// Of those, reconnections that got the same player back (session resume).
    pub resumes: u64,
    /// Inputs each bot's socket write carried (`--inputs-per-write`): 1 flushes every
    /// input; `N` holds inputs back for up to `N - 1` ticks, which `rtt_ms` includes.
    /// Reports written before the option existed read as 1.
    #[serde(default = "one_input_per_write")]
    pub inputs_per_write: u8,
    /// Inputs sent: handed to the socket and flushed.
    pub inputs_sent: u64,
    /// Inputs one per tick over each bot's connected time would have made. Clearly more
    /// than `inputs_sent` means the bot process was short of CPU: ticks were skipped, and
    /// round trips include the bots' own delays. Not part of the verdict.
    pub inputs_expected: u64,
    /// Inputs sent more than one second before their bot stopped sending (the end of
    /// the run, or its failure): the bots' last acks must cover these.
    pub inputs_due: u64,
    /// Inputs covered by each bot's final (cumulative) ack.
    pub inputs_acked: u64,
    /// Time from making an input (its tick, before any hold for `inputs_per_write`) to
    /// receiving the first snapshot that acks it.
    pub rtt_ms: LatencySummary,
    /// Received payload rate, kbit/s, averaged over connected bots.
    pub down_kbps_per_bot: f64,
    /// Sent payload rate, kbit/s, averaged over connected bots.
    pub up_kbps_per_bot: f64,
    /// Binary payload bytes received by all bots.
    pub bytes_down: u64,
    /// Binary payload bytes sent by all bots.
    pub bytes_up: u64,
    /// Mean WebSocket payload bytes of a snapshot frame (the whole MessagePack frame;
    /// WebSocket, TCP and IP headers not included): the payload bytes of every snapshot
    /// frame the bots received, applied or not, divided by the number of those frames.
    #[serde(default)]
    pub bytes_per_snapshot: f64,
    /// Snapshot payload bytes per entity changed. Over the snapshots that applied without
    /// error and spawned, updated or despawned at least one entity: the sum of their
    /// payload bytes (envelope, header and checksum included) divided by the sum of the
    /// entities each spawned, updated or despawned. Snapshots that changed nothing are
    /// left out of both sums. Pooled over all bots.
    #[serde(default)]
    pub bytes_per_changed_entity: f64,
    /// Mean number of entities a bot held right after applying a snapshot, over every
    /// snapshot every bot applied without error.
    #[serde(default)]
    pub entities_in_view: f64,
    /// For each entity a bot held, the time between consecutive snapshots that touched it
    /// (spawned or updated it): the gap in snapshot ticks, converted at the `Welcome` tick
    /// rate. For an entity that changes every tick (the arena's drones) this is its
    /// staleness. But static entities inflate it: one that changes rarely (a pillar whose
    /// health drops once a minute) adds a long gap that is no staleness at all; and an
    /// entity never touched again after its spawn adds nothing. A gap never spans a
    /// despawn, and samples exist only where a second touch came.
    #[serde(default)]
    pub update_interval_ms: LatencySummary,
    /// The `update_interval_ms` gaps between two consecutive updates that both changed the
    /// entity's `Transform2` (component kind 0): the staleness of moving entities. A spawn
    /// starts no such gap. An entity that stops and later moves again still counts its
    /// pause, and one the server stops updating for good adds nothing.
    #[serde(default)]
    pub staleness_ms: LatencySummary,
    /// Wall-clock length of the whole run, ramp and closing included.
    pub duration_s: f64,
    /// The first few distinct reasons bots failed for.
    pub failures: Vec<String>,
    /// The first few distinct checksum mismatch and mirror error messages.
    pub mirror_error_samples: Vec<String>,
    /// Round trips second by second, pooled over the bots (`run_swarm` fills it in).
    /// Reports written before it existed read as empty.
    #[serde(default)]
    pub timeline: Vec<RttSecond>,
    /// Where the bots played: every room a bot got a `Welcome` in, by node. A bot that
    /// was seated elsewhere after a drop counts in each room it played in. Bots that
    /// connected straight to a URL show as that node's `default` room. Reports written
    /// before rooms existed read as empty.
    #[serde(default)]
    pub rooms: Vec<RoomFigures>,
    /// How long each matchmaking request that gave a seat took, from sending it to the
    /// end of the answer (a seat after 503s counts only the request that got it). Empty
    /// when the bots connected straight to a URL.
    #[serde(default)]
    pub matchmake_ms: LatencySummary,
    /// Matchmaking requests refused with 503 (a draining node, an unreachable directory)
    /// and retried.
    #[serde(default)]
    pub matchmake_retries: u64,
    /// The connected bots by the transport of their last connection (`ws`, `http`), with
    /// their round trips and rates. Reports written before the HTTP fallback existed read
    /// as empty.
    #[serde(default)]
    pub transports: Vec<TransportFigures>,
}

/// What the bots on one transport saw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransportFigures {
    /// `ws` or `http`.
    pub transport: String,
    /// Connected bots whose last connection used it.
    pub bots: usize,
    /// Their input-to-ack round trips.
    pub rtt_ms: LatencySummary,
    /// Their received payload rate, kbit/s, averaged over them.
    pub down_kbps_per_bot: f64,
    /// Their sent payload rate, kbit/s, averaged over them.
    pub up_kbps_per_bot: f64,
}

impl TransportFigures {
    /// Adds up the connected bots by transport, `ws` first.
    fn from_outcomes(connected: &[&BotOutcome]) -> Vec<TransportFigures> {
        let mut by_transport: BTreeMap<Used, Vec<&BotOutcome>> = BTreeMap::new();
        for bot in connected {
            if let Some(used) = bot.transport {
                by_transport.entry(used).or_default().push(bot);
            }
        }
        by_transport
            .into_iter()
            .map(|(used, bots)| {
                let mut round_trips = new_rtt_histogram();
                for bot in &bots {
                    let _ = round_trips.add(&bot.rtt_micros);
                }
                TransportFigures {
                    transport: used.name().to_owned(),
                    bots: bots.len(),
                    rtt_ms: LatencySummary::from_micros(&round_trips),
                    down_kbps_per_bot: mean_kbps(&bots, |bot| bot.bytes_down),
                    up_kbps_per_bot: mean_kbps(&bots, |bot| bot.bytes_up),
                }
            })
            .collect()
    }
}

/// The mean payload rate of `bots` in kbit/s, over each bot's connected time.
fn mean_kbps(bots: &[&BotOutcome], bytes: fn(&BotOutcome) -> u64) -> f64 {
    let rates: Vec<f64> = bots
        .iter()
        .filter(|bot| !bot.connected_for.is_zero())
        .map(|bot| bytes(bot) as f64 * 8.0 / bot.connected_for.as_secs_f64() / 1000.0)
        .collect();
    if rates.is_empty() {
        0.0
    } else {
        rates.iter().sum::<f64>() / rates.len() as f64
    }
}

/// What the bots saw in one room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomFigures {
    /// The room's id (`default` for a node's default room).
    pub room_id: String,
    /// The WebSocket URL of the node that hosts it.
    pub ws_url: String,
    /// Bots that got a `Welcome` in it.
    pub bots: usize,
    /// Snapshots whose checksum disagreed with a bot's mirror in it.
    pub mismatches: u64,
}

impl RoomFigures {
    /// Adds up the bots' stints by room (id and node), in node then room order, rooms
    /// numbered alike in number order (`arena-2` before `arena-10`).
    fn from_outcomes(outcomes: &[BotOutcome]) -> Vec<RoomFigures> {
        let mut rooms: BTreeMap<(String, (String, u64), String), RoomFigures> = BTreeMap::new();
        for bot in outcomes {
            let mut counted = BTreeSet::new();
            for stint in &bot.rooms {
                let key = (stint.ws_url.clone(), natural_key(&stint.room_id), stint.room_id.clone());
                let room = rooms.entry(key.clone()).or_insert_with(|| RoomFigures {
                    room_id: stint.room_id.clone(),
                    ws_url: stint.ws_url.clone(),
                    bots: 0,
                    mismatches: 0,
                });
                room.mismatches += stint.checksum_mismatches;
                if counted.insert(key) {
                    room.bots += 1;
                }
            }
        }
        rooms.into_values().collect()
    }
}

/// Sorts room ids by their text before a trailing number, then by that number.
fn natural_key(room_id: &str) -> (String, u64) {
    let prefix = room_id.trim_end_matches(|c: char| c.is_ascii_digit());
    let number = room_id[prefix.len()..].parse().unwrap_or(u64::MAX);
    (prefix.to_owned(), number)
}

/// Why a run did not pass; each message fits on one line.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum VerdictError {
    /// The run had no bots, so it showed nothing.
    #[error("no bots were run")]
    NoBots,
    /// Some bots failed.
    #[error("{failed} of {bots} bots failed, first reason: {reason}")]
    BotsFailed {
        /// Bots that failed.
        failed: usize,
        /// Bots asked for.
        bots: usize,
        /// The first failure reason.
        reason: String,
    },
    /// Some bots never connected (without a recorded failure; not expected).
    #[error("only {connected} of {bots} bots connected")]
    NotAllConnected {
        /// Bots that got a `Welcome`.
        connected: usize,
        /// Bots asked for.
        bots: usize,
    },
    /// A mirror diverged from the server.
    #[error("{count} checksum mismatches, first: {first}")]
    ChecksumMismatches {
        /// Mismatched snapshots.
        count: u64,
        /// The first mirror error message.
        first: String,
    },
    /// Snapshots could not be applied.
    #[error("{count} snapshots could not be applied, first: {first}")]
    MirrorErrors {
        /// Snapshots not applied.
        count: u64,
        /// The first mirror error message.
        first: String,
    },
    /// Some bots never got an input ack.
    #[error("{bots} of {connected} bots never received an input ack")]
    NoAcks {
        /// Bots without acks.
        bots: usize,
        /// Connected bots.
        connected: usize,
    },
    /// Some bots' inputs went unacknowledged for more than the grace period.
    #[error(
        "{bots} of {connected} bots have inputs sent more than 1 s before the end that their last ack does not cover"
    )]
    AcksBehind {
        /// Bots whose last ack is behind.
        bots: usize,
        /// Connected bots.
        connected: usize,
    },
}

impl SwarmReport {
    /// Adds up the bots' outcomes of a run that asked for `bots` bots with `options` and
    /// took `elapsed`.
    pub(crate) fn from_outcomes(
        bots: usize,
        options: BotOptions,
        outcomes: &[BotOutcome],
        elapsed: Duration,
    ) -> SwarmReport {
        let connected: Vec<&BotOutcome> = outcomes.iter().filter(|bot| bot.connected).collect();
        let sum = |field: fn(&BotOutcome) -> u64| outcomes.iter().map(field).sum::<u64>();
        let ratio = |numerator: fn(&ViewStats) -> u64, denominator: fn(&ViewStats) -> u64| {
            let over = |field: fn(&ViewStats) -> u64| outcomes.iter().map(|bot| field(&bot.view)).sum::<u64>();
            match over(denominator) {
                0 => 0.0,
                denominator => over(numerator) as f64 / denominator as f64,
            }
        };
        let views = || outcomes.iter().map(|bot| &bot.view);
        let mut round_trips = new_rtt_histogram();
        let mut matchmaking = new_rtt_histogram();
        for bot in outcomes {
            // Same bounds on both sides, so adding cannot fail.
            let _ = round_trips.add(&bot.rtt_micros);
            let _ = matchmaking.add(&bot.matchmake_micros);
        }
        SwarmReport {
            bots,
            bots_connected: connected.len(),
            bots_failed: outcomes.iter().filter(|bot| bot.failure.is_some()).count(),
            // Spectators send no inputs, and are owed no acks.
            bots_without_acks: connected
                .iter()
                .filter(|bot| !bot.got_ack && bot.inputs_sent > 0)
                .count(),
            bots_behind_on_acks: connected.iter().filter(|bot| bot.inputs_acked < bot.inputs_due).count(),
            snapshots_applied: sum(|bot| bot.snapshots_applied),
            checksums_verified: sum(|bot| bot.checksums_verified),
            checksum_mismatches: sum(|bot| bot.checksum_mismatches),
            mirror_errors: sum(|bot| bot.mirror_errors),
            drops: sum(|bot| bot.drops),
            resumes: sum(|bot| bot.resumes),
            inputs_per_write: options.inputs_per_write.get(),
            inputs_sent: sum(|bot| bot.inputs_sent),
            inputs_expected: sum(|bot| bot.inputs_expected),
            inputs_due: sum(|bot| bot.inputs_due),
            inputs_acked: sum(|bot| bot.inputs_acked),
            rtt_ms: LatencySummary::from_micros(&round_trips),
            down_kbps_per_bot: mean_kbps(&connected, |bot| bot.bytes_down),
            up_kbps_per_bot: mean_kbps(&connected, |bot| bot.bytes_up),
            bytes_down: sum(|bot| bot.bytes_down),
            bytes_up: sum(|bot| bot.bytes_up),
            bytes_per_snapshot: ratio(|view| view.snapshot_bytes, |view| view.snapshots),
            bytes_per_changed_entity: ratio(|view| view.changing_snapshot_bytes, |view| view.entities_changed),
            entities_in_view: ratio(|view| view.entities_held, |view| view.held_samples),
            update_interval_ms: LatencySummary::from_ticks(views(), |view| &view.update_interval_ticks),
            staleness_ms: LatencySummary::from_ticks(views(), |view| &view.staleness_ticks),
            duration_s: elapsed.as_secs_f64(),
            failures: first_distinct(outcomes.iter().filter_map(|bot| bot.failure.as_deref())),
            mirror_error_samples: first_distinct(
                outcomes
                    .iter()
                    .flat_map(|bot| bot.mirror_error_samples.iter().map(String::as_str)),
            ),
            timeline: Vec::new(),
            rooms: RoomFigures::from_outcomes(outcomes),
            matchmake_ms: LatencySummary::from_micros(&matchmaking),
            matchmake_retries: sum(|bot| bot.matchmake_retries),
            transports: TransportFigures::from_outcomes(&connected),
        }
    }

    /// Passes when every bot connected and none failed, no snapshot mismatched its
    /// checksum or failed to apply, every bot received acks, and each bot's last ack
    /// covers every input it sent more than one second before the end. Otherwise says
    /// which of these, in that order, was the first to fail.
    pub fn verdict(&self) -> Result<(), VerdictError> {
        let first_or_unknown = |reasons: &[String]| reasons.first().cloned().unwrap_or_else(|| "unknown".to_owned());
        if self.bots == 0 {
            return Err(VerdictError::NoBots);
        }
        if self.bots_failed > 0 {
            return Err(VerdictError::BotsFailed {
                failed: self.bots_failed,
                bots: self.bots,
                reason: first_or_unknown(&self.failures),
            });
        }
        if self.bots_connected < self.bots {
            return Err(VerdictError::NotAllConnected {
                connected: self.bots_connected,
                bots: self.bots,
            });
        }
        if self.checksum_mismatches > 0 {
            return Err(VerdictError::ChecksumMismatches {
                count: self.checksum_mismatches,
                first: first_or_unknown(&self.mirror_error_samples),
            });
        }
        if self.mirror_errors > 0 {
            return Err(VerdictError::MirrorErrors {
                count: self.mirror_errors,
                first: first_or_unknown(&self.mirror_error_samples),
            });
        }
        if self.bots_without_acks > 0 {
            return Err(VerdictError::NoAcks {
                bots: self.bots_without_acks,
                connected: self.bots_connected,
            });
        }
        if self.bots_behind_on_acks > 0 {
            return Err(VerdictError::AcksBehind {
                bots: self.bots_behind_on_acks,
                connected: self.bots_connected,
            });
        }
        Ok(())
    }

    /// Inputs sent as a share of one per tick (1 when nothing was expected).
    fn input_share(&self) -> f64 {
        if self.inputs_expected == 0 {
            1.0
        } else {
            self.inputs_sent as f64 / self.inputs_expected as f64
        }
    }

    /// The report as a two-column table for a terminal, followed by a table of the rooms
    /// the bots played in (room, node, bots, mismatches) when there were any.
    pub fn table(&self) -> String {
        let mut table = MetricTable::new();
        let mut row = |metric: &str, value: String| table.row(metric, value);
        row(
            "bots",
            format!(
                "{} connected of {}, {} failed",
                self.bots_connected, self.bots, self.bots_failed
            ),
        );
        row(
            "snapshots applied",
            format!(
                "{} ({} with a verified checksum)",
                self.snapshots_applied, self.checksums_verified
            ),
        );
        row("checksum mismatches", self.checksum_mismatches.to_string());
        row("mirror errors", self.mirror_errors.to_string());
        if self.drops > 0 {
            row(
                "drops",
                format!("{} dropped or lost, {} resumed their player", self.drops, self.resumes),
            );
        }
        let inputs = if self.inputs_expected == 0 && self.inputs_sent == 0 {
            // Spectators: nothing was to be sent.
            "none expected, none sent".to_owned()
        } else {
            format!(
                "{} sent ({:.0}% of one per tick), {} acked, {} due (sent over {} s before the end)",
                self.inputs_sent,
                self.input_share() * 100.0,
                self.inputs_acked,
                self.inputs_due,
                ACK_GRACE.as_secs()
            )
        };
        row("inputs", inputs);
        row("inputs per write", self.inputs_per_write.to_string());
        row(
            "bots lacking acks",
            format!(
                "{} without any, {} behind",
                self.bots_without_acks, self.bots_behind_on_acks
            ),
        );
        row(
            "input to ack (ms)",
            format!(
                "p50 {:.2}, p99 {:.2}, max {:.2} ({} samples)",
                self.rtt_ms.p50, self.rtt_ms.p99, self.rtt_ms.max, self.rtt_ms.samples
            ),
        );
        row(
            "kbit/s per bot",
            format!("down {:.1}, up {:.1}", self.down_kbps_per_bot, self.up_kbps_per_bot),
        );
        row(
            "payload bytes",
            format!("down {}, up {}", self.bytes_down, self.bytes_up),
        );
        row(
            "snapshot bytes",
            format!(
                "{:.1} per snapshot, {:.1} per changed entity",
                self.bytes_per_snapshot, self.bytes_per_changed_entity
            ),
        );
        row("entities in view", format!("{:.1} mean", self.entities_in_view));
        let intervals = |summary: &LatencySummary| {
            format!(
                "p50 {:.1}, p99 {:.1}, max {:.1} ({} samples)",
                summary.p50, summary.p99, summary.max, summary.samples
            )
        };
        row("update interval (ms)", intervals(&self.update_interval_ms));
        row("moving staleness (ms)", intervals(&self.staleness_ms));
        if self.matchmake_ms.samples > 0 || self.matchmake_retries > 0 {
            row(
                "matchmaking (ms)",
                format!(
                    "p50 {:.2}, p99 {:.2}, max {:.2} ({} seats, {} retried after 503)",
                    self.matchmake_ms.p50,
                    self.matchmake_ms.p99,
                    self.matchmake_ms.max,
                    self.matchmake_ms.samples,
                    self.matchmake_retries
                ),
            );
        }
        for transport in &self.transports {
            row(
                &format!("over {}", transport.transport),
                format!(
                    "{} bots; input to ack p50 {:.2}, p99 {:.2} ms; down {:.1}, up {:.1} kbit/s per bot",
                    transport.bots,
                    transport.rtt_ms.p50,
                    transport.rtt_ms.p99,
                    transport.down_kbps_per_bot,
                    transport.up_kbps_per_bot
                ),
            );
        }
        if !self.rooms.is_empty() {
            let nodes: BTreeSet<&str> = self.rooms.iter().map(|room| room.ws_url.as_str()).collect();
            row("rooms", format!("{} on {} node(s)", self.rooms.len(), nodes.len()));
        }
        row("run length", format!("{:.1} s", self.duration_s));
        if self.input_share() < STARVED_INPUT_SHARE {
            row(
                "note",
                format!(
                    "bots sent {:.0}% of one input per tick: the bot process was short of CPU, so \
                     round trips include its own delays",
                    self.input_share() * 100.0
                ),
            );
        }
        for (index, reason) in self.failures.iter().enumerate() {
            row(&format!("failure reason {}", index + 1), reason.clone());
        }
        for (index, message) in self.mirror_error_samples.iter().enumerate() {
            row(&format!("mirror error {}", index + 1), message.clone());
        }
        let mut text = table.finish();
        if !self.rooms.is_empty() {
            text.push('\n');
            text.push_str(&self.rooms_table());
        }
        text
    }

    /// The rooms as a table: room, node (`host:port`), bots, mismatches. Rooms with
    /// mismatches come first; past 40 rooms, the rest are summed in one row.
    pub fn rooms_table(&self) -> String {
        let mut rooms: Vec<&RoomFigures> = self.rooms.iter().collect();
        // Stable: the report's order within each group.
        rooms.sort_by_key(|room| room.mismatches == 0);
        let mut table = Table::new();
        table
            .load_preset(UTF8_FULL_CONDENSED)
            .set_header(["room", "node", "bots", "mismatches"]);
        for room in rooms.iter().take(MAX_ROOM_ROWS) {
            table.add_row([
                room.room_id.clone(),
                node_of(&room.ws_url),
                room.bots.to_string(),
                room.mismatches.to_string(),
            ]);
        }
        if let Some(rest) = rooms.get(MAX_ROOM_ROWS..).filter(|rest| !rest.is_empty()) {
            table.add_row([
                format!("{} more rooms", rest.len()),
                String::new(),
                rest.iter().map(|room| room.bots).sum::<usize>().to_string(),
                rest.iter().map(|room| room.mismatches).sum::<u64>().to_string(),
            ]);
        }
        for column in 2..4 {
            if let Some(column) = table.column_mut(column) {
                column.set_cell_alignment(CellAlignment::Right);
            }
        }
        table.to_string()
    }
}

/// A two-column "metric | value" table for a terminal: the swarm report's and the fault
/// proxy's summary.
pub(crate) struct MetricTable(Table);

impl MetricTable {
    pub(crate) fn new() -> MetricTable {
        let mut table = Table::new();
        table.load_preset(UTF8_FULL_CONDENSED).set_header(["metric", "value"]);
        MetricTable(table)
    }

    pub(crate) fn row(&mut self, metric: &str, value: String) {
        self.0.add_row([metric.to_owned(), value]);
    }

    /// The table, values aligned left.
    pub(crate) fn finish(mut self) -> String {
        if let Some(column) = self.0.column_mut(1) {
            column.set_cell_alignment(CellAlignment::Left);
        }
        self.0.to_string()
    }
}

/// What reports without `inputs_per_write` ran with.
fn one_input_per_write() -> u8 {
    1
}

/// The first [`MAX_REASONS`] distinct strings, in order of first appearance.
fn first_distinct<'a>(reasons: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut distinct: Vec<String> = Vec::new();
    for reason in reasons {
        if distinct.len() == MAX_REASONS {
            break;
        }
        if !distinct.iter().any(|kept| kept == reason) {
            distinct.push(reason.to_owned());
        }
    }
    distinct
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::RoomStint;

    fn passing() -> SwarmReport {
        SwarmReport {
            bots: 4,
            bots_connected: 4,
            bots_failed: 0,
            bots_without_acks: 0,
            bots_behind_on_acks: 0,
            snapshots_applied: 400,
            checksums_verified: 400,
            checksum_mismatches: 0,
            mirror_errors: 0,
            drops: 0,
            resumes: 0,
            inputs_per_write: 1,
            inputs_sent: 2_400,
            inputs_expected: 2_404,
            inputs_due: 2_160,
            inputs_acked: 2_390,
            rtt_ms: LatencySummary {
                p50: 20.0,
                p99: 40.0,
                max: 45.0,
                samples: 390,
            },
            down_kbps_per_bot: 30.0,
            up_kbps_per_bot: 10.0,
            bytes_down: 150_000,
            bytes_up: 50_000,
            bytes_per_snapshot: 93.7,
            bytes_per_changed_entity: 4.5,
            entities_in_view: 21.4,
            update_interval_ms: LatencySummary {
                p50: 33.3,
                p99: 1_200.0,
                max: 5_000.0,
                samples: 8_000,
            },
            staleness_ms: LatencySummary {
                p50: 33.3,
                p99: 66.7,
                max: 100.0,
                samples: 7_000,
            },
            duration_s: 10.0,
            failures: Vec::new(),
            mirror_error_samples: Vec::new(),
            timeline: vec![RttSecond {
                t_s: 1.0,
                rtt_ms: LatencySummary {
                    p50: 20.0,
                    p99: 40.0,
                    max: 50.0,
                    samples: 700,
                },
            }],
            rooms: vec![RoomFigures {
                room_id: "default".to_owned(),
                ws_url: "ws://127.0.0.1:7777/ws".to_owned(),
                bots: 4,
                mismatches: 0,
            }],
            matchmake_ms: LatencySummary::default(),
            matchmake_retries: 0,
            transports: vec![TransportFigures {
                transport: "ws".to_owned(),
                bots: 4,
                rtt_ms: LatencySummary {
                    p50: 20.0,
                    p99: 40.0,
                    max: 45.0,
                    samples: 390,
                },
                down_kbps_per_bot: 30.0,
                up_kbps_per_bot: 10.0,
            }],
        }
    }

    fn bot(connected_for_secs: u64, due: u64, acked: u64, got_ack: bool) -> BotOutcome {
        BotOutcome {
            connected: true,
            inputs_sent: due + 20,
            inputs_due: due,
            inputs_acked: acked,
            got_ack,
            bytes_down: 10_000,
            bytes_up: 2_000,
            connected_for: Duration::from_secs(connected_for_secs),
            ..BotOutcome::empty()
        }
    }

    #[test]
    fn a_clean_run_passes() {
        assert_eq!(passing().verdict(), Ok(()));
    }

    #[test]
    fn a_run_without_bots_fails() {
        let report = SwarmReport {
            bots: 0,
            bots_connected: 0,
            ..passing()
        };
        assert_eq!(report.verdict(), Err(VerdictError::NoBots));
    }

    #[test]
    fn a_failed_bot_fails_the_run_with_its_reason() {
        let report = SwarmReport {
            bots_connected: 3,
            bots_failed: 1,
            failures: vec!["server refused the session: close code 1008 (room is full)".to_owned()],
            ..passing()
        };
        let error = report.verdict().unwrap_err();
        assert_eq!(
            error.to_string(),
            "1 of 4 bots failed, first reason: server refused the session: close code 1008 (room is full)"
        );
    }

    #[test]
    fn a_bot_that_connected_then_failed_fails_the_run() {
        let report = SwarmReport {
            bots_failed: 1,
            failures: vec!["server closed the connection: close code 1001".to_owned()],
            ..passing()
        };
        assert!(matches!(
            report.verdict(),
            Err(VerdictError::BotsFailed { failed: 1, .. })
        ));
    }

    #[test]
    fn a_missing_bot_fails_the_run() {
        let report = SwarmReport {
            bots_connected: 3,
            ..passing()
        };
        assert!(matches!(
            report.verdict(),
            Err(VerdictError::NotAllConnected { connected: 3, .. })
        ));
    }

    #[test]
    fn a_checksum_mismatch_fails_the_run() {
        let report = SwarmReport {
            checksum_mismatches: 1,
            mirror_error_samples: vec!["checksum mismatch at tick 9".to_owned()],
            ..passing()
        };
        assert_eq!(
            report.verdict(),
            Err(VerdictError::ChecksumMismatches {
                count: 1,
                first: "checksum mismatch at tick 9".to_owned()
            })
        );
    }

    #[test]
    fn a_mirror_error_fails_the_run() {
        let report = SwarmReport {
            mirror_errors: 2,
            ..passing()
        };
        assert!(matches!(
            report.verdict(),
            Err(VerdictError::MirrorErrors { count: 2, .. })
        ));
    }

    #[test]
    fn a_bot_without_acks_fails_the_run() {
        let report = SwarmReport {
            bots_without_acks: 1,
            ..passing()
        };
        assert!(matches!(report.verdict(), Err(VerdictError::NoAcks { bots: 1, .. })));
    }

    #[test]
    fn a_bot_behind_on_acks_fails_the_run() {
        let report = SwarmReport {
            bots_behind_on_acks: 2,
            ..passing()
        };
        assert!(matches!(
            report.verdict(),
            Err(VerdictError::AcksBehind { bots: 2, .. })
        ));
    }

    #[test]
    fn outcomes_add_up_to_counts_and_mean_rates() {
        let failed = BotOutcome::failed("connecting: connection refused".to_owned());
        let outcomes = [
            bot(10, 100, 100, true),
            bot(5, 100, 99, true),
            bot(10, 0, 0, false),
            failed,
            BotOutcome::failed("connecting: connection refused".to_owned()),
        ];
        let options = BotOptions {
            inputs_per_write: crate::InputsPerWrite::new(3).unwrap(),
            ..BotOptions::default()
        };
        let report = SwarmReport::from_outcomes(5, options, &outcomes, Duration::from_secs(12));
        assert_eq!(report.inputs_per_write, 3);
        assert_eq!(report.bots_connected, 3);
        assert_eq!(report.bots_failed, 2);
        assert_eq!(report.bots_without_acks, 1);
        assert_eq!(report.bots_behind_on_acks, 1);
        assert_eq!(report.inputs_due, 200);
        assert_eq!(report.inputs_acked, 199);
        assert_eq!(report.inputs_sent, 260);
        assert_eq!(report.failures, ["connecting: connection refused"]);
        // Down: 80 kbit over 10 s, 5 s and 10 s: 8, 16 and 8 kbit/s, mean 32/3.
        assert!(
            (report.down_kbps_per_bot - 32.0 / 3.0).abs() < 1e-9,
            "{}",
            report.down_kbps_per_bot
        );
        assert!(
            (report.up_kbps_per_bot - 6.4 / 3.0).abs() < 1e-9,
            "{}",
            report.up_kbps_per_bot
        );
        assert!(report.verdict().is_err());
    }

    #[test]
    fn bots_are_counted_by_the_transport_they_ended_on() {
        let on = |used: Used, connected_for_secs: u64, rtt_ms: u64| {
            let mut bot = bot(connected_for_secs, 10, 10, true);
            bot.transport = Some(used);
            bot.rtt_micros.record(rtt_ms * 1000).unwrap();
            bot
        };
        let outcomes = [
            on(Used::Http, 10, 40),
            on(Used::Ws, 10, 10),
            on(Used::Http, 5, 60),
            BotOutcome::failed("connecting: connection refused".to_owned()),
        ];
        let report = SwarmReport::from_outcomes(4, BotOptions::default(), &outcomes, Duration::from_secs(12));
        let summary: Vec<(&str, usize)> = report
            .transports
            .iter()
            .map(|transport| (transport.transport.as_str(), transport.bots))
            .collect();
        assert_eq!(summary, [("ws", 1), ("http", 2)], "ws first; the failed bot in none");
        let http = &report.transports[1];
        assert!((http.rtt_ms.p50 - 40.0).abs() < 0.1, "{:?}", http.rtt_ms);
        assert!((http.rtt_ms.max - 60.0).abs() < 0.1, "{:?}", http.rtt_ms);
        // Down: 80 kbit over 10 s and 5 s: 8 and 16 kbit/s, mean 12.
        assert!(
            (http.down_kbps_per_bot - 12.0).abs() < 1e-9,
            "{}",
            http.down_kbps_per_bot
        );
        assert!(report.table().contains("over http"), "{}", report.table());
    }

    /// A bot's view figures: `snapshots` frames of which `changing` changed
    /// `entities_changed` entities, and intervals of `gaps` ticks at `tick_rate`.
    fn view(
        tick_rate: u16,
        snapshots: u64,
        changing: u64,
        entities_changed: u64,
        held: u64,
        gaps: &[u64],
    ) -> ViewStats {
        let mut view = ViewStats::new(tick_rate);
        // Idle frames are 7 bytes, changing ones 7 plus 3 per entity changed.
        view.snapshots = snapshots;
        view.changing_snapshot_bytes = 7 * changing + 3 * entities_changed;
        view.snapshot_bytes = view.changing_snapshot_bytes + 7 * (snapshots - changing);
        view.entities_changed = entities_changed;
        view.held_samples = snapshots;
        view.entities_held = held;
        for gap in gaps {
            view.update_interval_ticks.record(*gap).unwrap();
            if *gap < 10 {
                view.staleness_ticks.record(*gap).unwrap();
            }
        }
        view
    }

    #[test]
    fn snapshot_figures_are_pooled_over_bots_and_snapshots() {
        let outcomes = [
            BotOutcome {
                view: view(60, 10, 8, 40, 100, &[]),
                ..bot(10, 0, 0, true)
            },
            BotOutcome {
                view: view(60, 30, 10, 20, 900, &[]),
                ..bot(10, 0, 0, true)
            },
            BotOutcome::failed("connecting: connection refused".to_owned()),
        ];
        let report = SwarmReport::from_outcomes(3, BotOptions::default(), &outcomes, Duration::from_secs(10));
        // Bytes: (56 + 120 + 14) + (70 + 60 + 140) = 460 over 40 frames.
        assert_eq!(report.bytes_per_snapshot, 460.0 / 40.0);
        // Idle frames left out: (56 + 120) + (70 + 60) = 306 bytes over 60 entities.
        assert_eq!(report.bytes_per_changed_entity, 306.0 / 60.0);
        // Weighted by snapshots, not a mean of the bots' means (10 and 30).
        assert_eq!(report.entities_in_view, 1000.0 / 40.0);

        let nothing = SwarmReport::from_outcomes(1, BotOptions::default(), &outcomes[2..], Duration::from_secs(1));
        assert_eq!(nothing.bytes_per_snapshot, 0.0);
        assert_eq!(nothing.bytes_per_changed_entity, 0.0);
        assert_eq!(nothing.entities_in_view, 0.0);
        assert_eq!(nothing.update_interval_ms, LatencySummary::default());
        assert_eq!(nothing.staleness_ms, LatencySummary::default());
    }

    #[test]
    fn intervals_are_converted_at_each_bots_tick_rate() {
        let close_to = |actual: f64, expected: f64| (actual - expected).abs() <= expected * 0.002;
        // 60 Hz: 2 ticks is 33.3 ms; 20 Hz: 2 ticks is 100 ms and 60 ticks 3 s (not moving).
        let mut gaps = vec![2; 98];
        gaps.push(4);
        let outcomes = [
            BotOutcome {
                view: view(60, 100, 100, 100, 100, &gaps),
                ..bot(10, 0, 0, true)
            },
            BotOutcome {
                view: view(20, 10, 10, 10, 10, &[2, 2, 60]),
                ..bot(10, 0, 0, true)
            },
        ];
        let report = SwarmReport::from_outcomes(2, BotOptions::default(), &outcomes, Duration::from_secs(10));
        let intervals = report.update_interval_ms;
        assert_eq!(intervals.samples, 102);
        assert!(close_to(intervals.p50, 100.0 / 3.0), "{intervals:?}");
        assert!(close_to(intervals.p99, 100.0), "{intervals:?}");
        assert!(close_to(intervals.max, 3000.0), "{intervals:?}");
        let staleness = report.staleness_ms;
        assert_eq!(staleness.samples, 101);
        assert!(close_to(staleness.p50, 100.0 / 3.0), "{staleness:?}");
        assert!(close_to(staleness.max, 100.0), "{staleness:?}");

        // One tick rate (the usual case): exact, and bots without samples do not matter.
        let outcomes = [
            BotOutcome {
                view: view(60, 10, 10, 10, 10, &[2, 2, 4, 3000]),
                ..bot(10, 0, 0, true)
            },
            BotOutcome {
                view: view(60, 10, 10, 10, 10, &[2]),
                ..bot(10, 0, 0, true)
            },
            BotOutcome {
                view: view(20, 0, 0, 0, 0, &[]),
                ..bot(10, 0, 0, true)
            },
            BotOutcome::failed("connecting: connection refused".to_owned()),
        ];
        let report = SwarmReport::from_outcomes(4, BotOptions::default(), &outcomes, Duration::from_secs(10));
        assert_eq!(
            report.staleness_ms,
            LatencySummary {
                p50: 2000.0 / 60.0,
                p99: 4000.0 / 60.0,
                max: 4000.0 / 60.0,
                samples: 4
            }
        );
        let intervals = report.update_interval_ms;
        assert_eq!((intervals.p50, intervals.samples), (2000.0 / 60.0, 5));
        // 3000 ticks is past the exact range: within hdrhistogram's 0.1%.
        assert!(close_to(intervals.max, 50_000.0), "{intervals:?}");
    }

    #[test]
    fn latency_percentiles_are_reported_in_milliseconds() {
        let mut micros = new_rtt_histogram();
        for millis in 1..=1000u64 {
            micros.record(millis * 1000).unwrap();
        }
        let summary = LatencySummary::from_micros(&micros);
        let close_to = |actual: f64, expected: f64| (actual - expected).abs() <= expected * 0.002;
        assert!(close_to(summary.p50, 500.0), "{summary:?}");
        assert!(close_to(summary.p99, 990.0), "{summary:?}");
        assert!(close_to(summary.max, 1000.0), "{summary:?}");
        assert_eq!(summary.samples, 1000);
        assert_eq!(
            LatencySummary::from_micros(&new_rtt_histogram()),
            LatencySummary::default()
        );
    }

    #[test]
    fn reasons_are_kept_distinct_and_few() {
        let reasons = ["a", "b", "a", "c", "d", "e", "f", "g", "h", "i", "j"];
        assert_eq!(
            first_distinct(reasons.into_iter()),
            ["a", "b", "c", "d", "e", "f", "g", "h"]
        );
    }

    #[test]
    fn the_json_keys_are_the_documented_ones() {
        let json = serde_json::to_value(passing()).unwrap();
        for key in [
            "bots_connected",
            "bots_failed",
            "snapshots_applied",
            "checksum_mismatches",
            "drops",
            "resumes",
            "inputs_per_write",
            "inputs_sent",
            "inputs_acked",
            "down_kbps_per_bot",
            "up_kbps_per_bot",
            "bytes_per_snapshot",
            "bytes_per_changed_entity",
            "entities_in_view",
        ] {
            assert!(json.get(key).is_some(), "missing {key}");
        }
        for summary in ["rtt_ms", "update_interval_ms", "staleness_ms"] {
            for key in ["p50", "p99", "max"] {
                assert!(json[summary].get(key).is_some(), "missing {summary}.{key}");
            }
        }
        assert_eq!(json["timeline"][0]["t_s"], 1.0);
        assert_eq!(json["timeline"][0]["rtt_ms"]["p99"], 40.0);
        let back: SwarmReport = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, passing());

        // Reports written before the snapshot figures existed still read, and judge alike.
        let mut older = json;
        for key in [
            "bytes_per_snapshot",
            "bytes_per_changed_entity",
            "entities_in_view",
            "update_interval_ms",
            "staleness_ms",
            "inputs_per_write",
            "timeline",
            "rooms",
            "matchmake_ms",
            "matchmake_retries",
            "transports",
        ] {
            older.as_object_mut().unwrap().remove(key);
        }
        let older: SwarmReport = serde_json::from_value(older).unwrap();
        assert_eq!(older.staleness_ms, LatencySummary::default());
        assert_eq!(older.inputs_per_write, 1);
        assert!(older.timeline.is_empty());
        assert!(older.rooms.is_empty());
        assert!(older.transports.is_empty());
        assert_eq!(older.matchmake_ms, LatencySummary::default());
        assert_eq!(older.verdict(), Ok(()));
    }

    fn stint(room_id: &str, ws_url: &str, checksum_mismatches: u64) -> RoomStint {
        RoomStint {
            room_id: room_id.to_owned(),
            ws_url: ws_url.to_owned(),
            checksum_mismatches,
        }
    }

    #[test]
    fn rooms_count_the_bots_that_played_in_them_and_their_mismatches() {
        let (a, b) = ("ws://127.0.0.1:7777/ws", "wss://10.0.0.2:8443/ws");
        let matchmade = |rooms: Vec<RoomStint>, latency_ms: u64, retries: u64| {
            let mut outcome = BotOutcome {
                checksum_mismatches: rooms.iter().map(|stint| stint.checksum_mismatches).sum(),
                rooms,
                matchmake_retries: retries,
                ..bot(10, 0, 0, true)
            };
            outcome.matchmake_micros.record(latency_ms * 1000).unwrap();
            outcome
        };
        let outcomes = [
            matchmade(vec![stint("arena-10", a, 0)], 2, 0),
            matchmade(vec![stint("arena-2", a, 1)], 4, 0),
            matchmade(vec![stint("arena-2", a, 2)], 6, 1),
            // Seated elsewhere after a drop, then back: one bot in each room.
            matchmade(
                vec![stint("arena-2", b, 0), stint("arena-3", a, 3), stint("arena-2", b, 1)],
                8,
                2,
            ),
            BotOutcome::failed("matchmaking refused: 404 Not Found (unknown room kind)".to_owned()),
        ];
        let report = SwarmReport::from_outcomes(5, BotOptions::default(), &outcomes, Duration::from_secs(10));
        let rooms: Vec<(&str, &str, usize, u64)> = report
            .rooms
            .iter()
            .map(|room| (room.room_id.as_str(), room.ws_url.as_str(), room.bots, room.mismatches))
            .collect();
        assert_eq!(
            rooms,
            [
                ("arena-2", a, 2, 3),
                ("arena-3", a, 1, 3),
                ("arena-10", a, 1, 0),
                ("arena-2", b, 1, 1),
            ]
        );
        assert_eq!(report.matchmake_retries, 3);
        assert_eq!(report.matchmake_ms.samples, 4);
        let close_to = |actual: f64, expected: f64| (actual - expected).abs() <= expected * 0.002;
        assert!(close_to(report.matchmake_ms.p50, 4.0), "{:?}", report.matchmake_ms);
        assert!(close_to(report.matchmake_ms.p99, 8.0), "{:?}", report.matchmake_ms);

        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(
            json["rooms"][0],
            serde_json::json!({"room_id": "arena-2", "ws_url": a, "bots": 2, "mismatches": 3})
        );
        assert_eq!(json["matchmake_ms"]["samples"], 4);
        assert_eq!(json["matchmake_retries"], 3);

        let table = report.table();
        assert!(table.contains("4 on 2 node(s)"), "{table}");
        assert!(table.contains("4 seats, 3 retried after 503"), "{table}");
        let rows: Vec<Vec<&str>> = table
            .lines()
            .skip_while(|line| !line.contains("mismatches ┆") && !line.contains("┆ mismatches"))
            .filter(|line| line.starts_with('│'))
            .map(|line| line.trim_matches('│').split('┆').map(str::trim).collect())
            .collect();
        assert_eq!(
            rows,
            [
                vec!["room", "node", "bots", "mismatches"],
                vec!["arena-2", "127.0.0.1:7777", "2", "3"],
                vec!["arena-3", "127.0.0.1:7777", "1", "3"],
                vec!["arena-2", "10.0.0.2:8443", "1", "1"],
                vec!["arena-10", "127.0.0.1:7777", "1", "0"],
            ],
            "{table}"
        );
    }

    #[test]
    fn a_long_rooms_table_sums_what_it_leaves_out() {
        let rooms: Vec<RoomFigures> = (0..MAX_ROOM_ROWS + 5)
            .map(|n| RoomFigures {
                room_id: format!("arena-{n}"),
                ws_url: "ws://127.0.0.1:7777/ws".to_owned(),
                bots: 2,
                mismatches: u64::from(n == MAX_ROOM_ROWS + 4),
            })
            .collect();
        let report = SwarmReport { rooms, ..passing() };
        let table = report.rooms_table();
        // The room with a mismatch is listed first, though it comes last.
        let first_row = table.lines().nth(3).unwrap();
        assert!(first_row.contains(&format!("arena-{}", MAX_ROOM_ROWS + 4)), "{table}");
        assert!(table.contains("5 more rooms"), "{table}");
        let last_row = table.lines().rev().nth(1).unwrap();
        assert!(last_row.contains("5 more rooms") && last_row.contains("10"), "{table}");
        // Without matchmaking, the table says nothing of it.
        assert!(!passing().table().contains("matchmaking"));
        assert!(passing().table().contains("1 on 1 node(s)"));
    }

    #[test]
    fn rooms_sort_by_name_then_number() {
        let mut ids = ["arena-10", "b", "arena-2", "arena-", "arena-1x", "default"];
        ids.sort_by_key(|id| natural_key(id));
        // A name without a number comes after the numbered ones.
        assert_eq!(ids, ["arena-2", "arena-10", "arena-", "arena-1x", "b", "default"]);
    }

    #[test]
    fn the_table_shows_failures_and_the_main_figures() {
        let report = SwarmReport {
            failures: vec!["server closed the connection: close code 1001 (server shutting down)".to_owned()],
            ..passing()
        };
        let table = report.table();
        assert!(table.contains("4 connected of 4"), "{table}");
        assert!(
            table
                .lines()
                .any(|line| line.contains("inputs per write") && line.contains("┆ 1 ")),
            "{table}"
        );
        assert!(table.contains("p50 20.00"), "{table}");
        assert!(table.contains("93.7 per snapshot, 4.5 per changed entity"), "{table}");
        assert!(table.contains("21.4 mean"), "{table}");
        assert!(
            table.contains("p50 33.3, p99 1200.0, max 5000.0 (8000 samples)"),
            "{table}"
        );
        assert!(
            table.contains("p50 33.3, p99 66.7, max 100.0 (7000 samples)"),
            "{table}"
        );
        assert!(table.contains("server shutting down"), "{table}");
        assert!(!table.contains("short of CPU"), "{table}");
    }

    #[test]
    fn the_table_warns_when_the_bots_could_not_keep_up_with_the_tick_rate() {
        let starved = SwarmReport {
            inputs_sent: 1_200,
            ..passing()
        };
        let table = starved.table();
        assert!(table.contains("bots sent 50% of one input per tick"), "{table}");
        assert_eq!(starved.verdict(), Ok(()));
    }
}
