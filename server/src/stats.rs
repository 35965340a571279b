//! The server's figures about itself: a one-second timeline, a periodic log line, the
//! Prometheus metrics behind `/metrics` ([`crate::metrics`]), and the JSON report
//! `--stats-json PATH` writes at shutdown.
//!
//! The room thread and the connection tasks only bump counters ([`RoomStats`],
//! [`NetStats`]); this module samples them from a tokio task, so reporting costs the
//! tick nothing.
//!
//! Dependencies run one way: this module reads `room` and `net` and hands
//! [`crate::metrics`] plain [`Figures`]; neither of those three imports it.

use crate::metrics::{Figures, Metrics, NetCounters};
use crate::net::NetStats;
use crate::room::{RoomStats, TickSummary};
use crate::rooms::Rooms;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// `reason ×count` for every reason whose count grew from `before` to `now`.
fn dropped_summary(before: &BTreeMap<&'static str, u64>, now: &BTreeMap<&'static str, u64>) -> String {
    now.iter()
        .filter_map(|(reason, count)| {
            let grew = count - before.get(reason).copied().unwrap_or(0);
            (grew > 0).then(|| format!("{reason} ×{grew}"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Most timeline samples kept (one per second: an hour).
const MAX_SAMPLES: usize = 3600;

/// One second of the server's life.
#[derive(Clone, Debug, Serialize)]
pub struct Sample {
    /// Seconds since start.
    pub t_s: f64,
    /// Tick times over this second.
    pub tick_ms: TickSummary,
    /// Ticks that overran their period so far.
    pub overruns: u64,
    /// Clients joined.
    pub clients: usize,
    /// Replicated entities.
    pub entities: usize,
    /// Payload bytes sent per second.
    pub bytes_out_per_s: f64,
    /// Payload bytes received per second.
    pub bytes_in_per_s: f64,
}

/// The report written at shutdown.
#[derive(Clone, Debug, Serialize)]
pub struct StatsReport {
    /// Ticks run.
    pub ticks: u64,
    /// Tick times over the whole run.
    pub tick_ms: TickSummary,
    /// Ticks that took longer than the tick period.
    pub overruns: u64,
    /// Ticks skipped after stalls.
    pub ticks_skipped: u64,
    /// Inputs folded into the next one to remove a standing input delay.
    pub inputs_folded: u64,
    /// Most clients at once.
    pub clients_max: usize,
    /// Most replicated entities at once.
    pub entities_max: usize,
    /// The network side's counters at shutdown: bytes, frames, entities sent and
    /// deferred, the longest wait, slow readers, dropped inputs, closes and refusals.
    #[serde(flatten)]
    pub net: NetCounters,
    /// One sample per second.
    pub timeline: Vec<Sample>,
}

/// What the metrics show after `sample`: its figures and the counters behind it.
/// `rooms`: the node's room count and the connections over all its rooms.
fn figures(sample: &Sample, room: &RoomStats, net: NetCounters, rooms: (usize, usize)) -> Figures {
    Figures {
        tick_ms: sample.tick_ms,
        ticks: room.ticks.load(Ordering::Relaxed),
        overruns: sample.overruns,
        ticks_skipped: room.ticks_skipped.load(Ordering::Relaxed),
        clients: sample.clients,
        rooms: rooms.0,
        room_connections: rooms.1,
        entities: sample.entities,
        net,
        bytes_out_per_s: sample.bytes_out_per_s,
        bytes_in_per_s: sample.bytes_in_per_s,
    }
}

/// Samples the counters once a second until cancelled.
pub struct StatsCollector {
    room: Arc<RoomStats>,
    net: Arc<NetStats>,
    rooms: Arc<Rooms>,
    metrics: Arc<Metrics>,
    timeline: Mutex<Vec<Sample>>,
}

impl StatsCollector {
    /// A collector over these counters: the default room's, the network's, and the
    /// node's room count.
    pub fn new(room: Arc<RoomStats>, net: Arc<NetStats>, rooms: Arc<Rooms>) -> Arc<StatsCollector> {
        Arc::new(StatsCollector {
            room,
            net,
            rooms,
            metrics: Arc::new(Metrics::new()),
            timeline: Mutex::new(Vec::new()),
        })
    }

    /// The Prometheus metrics, brought up to date with every sample.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Samples every second and logs a line every `log_every` (zero: never).
    pub async fn run(self: Arc<Self>, log_every: Duration, stop: CancellationToken) {
        let start = Instant::now();
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        let (mut last_out, mut last_in, mut last_at) = (0u64, 0u64, Instant::now());
        let mut last_log = Instant::now();
        let mut dropped_before = BTreeMap::new();
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = ticker.tick() => {}
            }
            let now = Instant::now();
            let seconds = now.duration_since(last_at).as_secs_f64().max(1e-3);
            let net = self.net.read();
            let (bytes_out, bytes_in) = (net.bytes_out, net.bytes_in);
            let sample = Sample {
                t_s: now.duration_since(start).as_secs_f64(),
                tick_ms: self.room.recent_tick_ms(),
                overruns: self.room.overruns.load(Ordering::Relaxed),
                clients: self.room.clients.load(Ordering::Relaxed),
                entities: self.room.entities.load(Ordering::Relaxed),
                bytes_out_per_s: (bytes_out - last_out) as f64 / seconds,
                bytes_in_per_s: (bytes_in - last_in) as f64 / seconds,
            };
            (last_out, last_in, last_at) = (bytes_out, bytes_in, now);
            let rooms = (self.rooms.count(), self.rooms.connections());
            self.metrics.update(&figures(&sample, &self.room, net, rooms));
            if !log_every.is_zero() && now.duration_since(last_log) >= log_every {
                last_log = now;
                tracing::info!(
                    clients = sample.clients,
                    entities = sample.entities,
                    tick_p50_ms = sample.tick_ms.p50,
                    tick_p99_ms = sample.tick_ms.p99,
                    tick_max_ms = sample.tick_ms.max,
                    overruns = sample.overruns,
                    kbit_out_per_s = (sample.bytes_out_per_s * 8.0 / 1000.0).round(),
                    kbit_in_per_s = (sample.bytes_in_per_s * 8.0 / 1000.0).round(),
                    "stats"
                );
                let dropped = self.net.dropped_by_reason.lock().map(|d| d.clone()).unwrap_or_default();
                let summary = dropped_summary(&dropped_before, &dropped);
                if !summary.is_empty() {
                    tracing::info!(counts = %summary, "connections refused or closed since the last stats line");
                }
                dropped_before = dropped;
            }
            if let Ok(mut timeline) = self.timeline.lock() {
                if timeline.len() == MAX_SAMPLES {
                    timeline.remove(0);
                }
                timeline.push(sample);
            }
        }
    }

    /// The run so far, as the shutdown report.
    pub fn report(&self) -> StatsReport {
        let room = &self.room;
        let load = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
        StatsReport {
            ticks: load(&room.ticks),
            tick_ms: room.tick_ms(),
            overruns: load(&room.overruns),
            ticks_skipped: load(&room.ticks_skipped),
            inputs_folded: load(&room.inputs_folded),
            clients_max: room.clients_max.load(Ordering::Relaxed),
            entities_max: room.entities_max.load(Ordering::Relaxed),
            net: self.net.read(),
            timeline: self.timeline.lock().map(|t| t.clone()).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_counts_what_happened_since_the_last_line() {
        let before = BTreeMap::from([("input flood", 2), ("no pong in time", 1)]);
        let now = BTreeMap::from([("input flood", 7), ("no pong in time", 1), ("text frame", 1)]);
        assert_eq!(dropped_summary(&before, &now), "input flood ×5, text frame ×1");
        assert_eq!(dropped_summary(&now, &now), "");
    }

    #[test]
    fn the_metrics_get_the_sample_and_the_counters_behind_it() {
        let (room, net) = (RoomStats::default(), NetStats::default());
        room.ticks.store(120, Ordering::Relaxed);
        room.ticks_skipped.store(4, Ordering::Relaxed);
        net.bytes_out.store(5000, Ordering::Relaxed);
        net.inputs_dropped_inbox.store(7, Ordering::Relaxed);
        net.count_close(1008);
        net.count_refusal(503, "server full");
        let sample = Sample {
            t_s: 1.0,
            tick_ms: TickSummary {
                p50: 0.25,
                p99: 1.5,
                max: 20.0,
            },
            overruns: 3,
            clients: 2,
            entities: 10,
            bytes_out_per_s: 1234.5,
            bytes_in_per_s: 67.0,
        };
        let figures = figures(&sample, &room, net.read(), (3, 5));
        assert_eq!(
            figures,
            Figures {
                tick_ms: sample.tick_ms,
                ticks: 120,
                overruns: 3,
                ticks_skipped: 4,
                clients: 2,
                rooms: 3,
                room_connections: 5,
                entities: 10,
                net: NetCounters {
                    bytes_out: 5000,
                    inputs_dropped_inbox: 7,
                    closes_sent: BTreeMap::from([(1008, 1)]),
                    refusals: BTreeMap::from([(503, 1)]),
                    ..NetCounters::default()
                },
                bytes_out_per_s: 1234.5,
                bytes_in_per_s: 67.0,
            }
        );
    }
}
