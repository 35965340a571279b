//! The server's figures as Prometheus metrics, for the `/metrics` listener
//! (`net::http`).
//!
//! Every metric is registered once, in [`Metrics::new`]. The one-second sampler in
//! [`crate::stats`] calls [`Metrics::update`] with the [`Figures`] it has just read, so a
//! scrape only encodes: it reads no room state and takes no lock the tick uses, and all
//! values in one scrape come from the same instant. Counters mirror the counters the
//! room and the connections already keep (they are advanced to them, never reset);
//! the tick-time quantiles and the per-second byte rates are those of the last second.
//!
//! Dependencies run one way: `room` and `net` keep counters, [`crate::stats`] reads them
//! into [`Figures`], and this module only turns plain figures into metrics, so `net`
//! can serve it without a cycle. It knows nothing of `net` or `stats`.
//!
//! The body is the OpenMetrics text format (`prometheus-client`), which Prometheus
//! negotiates and parses natively; it is plain text for `curl` too.

use crate::room::TickSummary;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;

/// The `Content-Type` of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The quantiles of `tickcast_tick_seconds`; "1" is the longest tick.
const TICK_QUANTILES: [&str; 3] = ["0.5", "0.99", "1"];

type QuantileLabel = [(&'static str, &'static str); 1];
type ReasonLabel = [(&'static str, &'static str); 1];
type CodeLabel = [(&'static str, u16); 1];
/// `status="503"`.
type StatusLabel = [(&'static str, u16); 1];
type GaugeF64 = Gauge<f64, AtomicU64>;

/// What one [`Metrics::update`] brings the metrics to, as plain values: the sampler's
/// last second (`crate::stats::Sample`) and the cumulative counters behind it
/// (`RoomStats`, `NetStats`), read by the sampler at the same instant.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Figures {
    /// Tick times over the last second.
    pub tick_ms: TickSummary,
    /// Ticks run.
    pub ticks: u64,
    /// Ticks that overran their period.
    pub overruns: u64,
    /// Ticks dropped to catch up after a stall.
    pub ticks_skipped: u64,
    /// Clients joined to the default room now.
    pub clients: usize,
    /// Rooms on this node, the default one included.
    pub rooms: usize,
    /// Connections in any room of this node.
    pub room_connections: usize,
    /// Replicated entities now.
    pub entities: usize,
    /// The network side's counters.
    pub net: NetCounters,
    /// Payload bytes sent per second, over the last second.
    pub bytes_out_per_s: f64,
    /// Payload bytes received per second, over the last second.
    pub bytes_in_per_s: f64,
}

/// The network side's counters at one instant, as plain values: `net::NetStats::read`
/// takes them, and both the metrics and the shutdown report show them.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct NetCounters {
    /// Connections accepted.
    pub connections_total: u64,
    /// Connections open now (WebSocket, or a fallback session's).
    pub connections_open: u64,
    /// HTTP fallback sessions open now.
    pub fallback_sessions: u64,
    /// Payload bytes sent.
    pub bytes_out: u64,
    /// Payload bytes received.
    pub bytes_in: u64,
    /// Snapshot frames sent.
    pub frames_sent: u64,
    /// Of those, frames whose body was a snapshot's shared world body.
    pub frames_shared: u64,
    /// Entity changes sent.
    pub entities_sent: u64,
    /// Entity changes deferred by the byte budget.
    pub entities_deferred: u64,
    /// Longest any change waited, in ticks.
    pub staleness_max_ticks: u64,
    /// Connections dropped for reading too slowly.
    pub slow_readers: u64,
    /// Inputs dropped over the per-client rate.
    pub inputs_dropped_rate: u64,
    /// Inputs dropped because the room inbox was full.
    pub inputs_dropped_inbox: u64,
    /// Close frames sent, by close code.
    pub closes_sent: BTreeMap<u16, u64>,
    /// Upgrades refused, by HTTP status.
    pub refusals: BTreeMap<u16, u64>,
}

/// The registry and a handle on every metric in it.
pub struct Metrics {
    registry: Registry,
    tick_seconds: Family<QuantileLabel, GaugeF64>,
    ticks: Counter,
    overruns: Counter,
    ticks_skipped: Counter,
    clients: Gauge,
    rooms: Gauge,
    room_connections: Gauge,
    entities: Gauge,
    connections: Counter,
    connections_open: Gauge,
    fallback_sessions: Gauge,
    sent_bytes: Counter,
    received_bytes: Counter,
    sent_bytes_per_second: GaugeF64,
    received_bytes_per_second: GaugeF64,
    frames_sent: Counter,
    frames_shared: Counter,
    entities_sent: Counter,
    entities_deferred: Counter,
    staleness_max_ticks: Gauge,
    slow_readers: Counter,
    inputs_dropped: Family<ReasonLabel, Counter>,
    closes_sent: Family<CodeLabel, Counter>,
    upgrades_refused: Family<StatusLabel, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Registers every metric, all at zero.
    pub fn new() -> Metrics {
        let mut metrics = Metrics {
            registry: Registry::with_prefix("tickcast"),
            tick_seconds: Family::default(),
            ticks: Counter::default(),
            overruns: Counter::default(),
            ticks_skipped: Counter::default(),
            clients: Gauge::default(),
            rooms: Gauge::default(),
            room_connections: Gauge::default(),
            entities: Gauge::default(),
            connections: Counter::default(),
            connections_open: Gauge::default(),
            fallback_sessions: Gauge::default(),
            sent_bytes: Counter::default(),
            received_bytes: Counter::default(),
            sent_bytes_per_second: GaugeF64::default(),
            received_bytes_per_second: GaugeF64::default(),
            frames_sent: Counter::default(),
            frames_shared: Counter::default(),
            entities_sent: Counter::default(),
            entities_deferred: Counter::default(),
            staleness_max_ticks: Gauge::default(),
            slow_readers: Counter::default(),
            inputs_dropped: Family::default(),
            closes_sent: Family::default(),
            upgrades_refused: Family::default(),
        };
        // Create the labelled series up front so they exist (at zero) from the first scrape.
        for quantile in TICK_QUANTILES {
            drop(metrics.tick_seconds.get_or_create(&[("quantile", quantile)]));
        }
        for reason in ["rate", "inbox"] {
            drop(metrics.inputs_dropped.get_or_create(&[("reason", reason)]));
        }
        let registry = &mut metrics.registry;
        registry.register_with_unit(
            "tick",
            "Tick (simulation step) duration over the last second, by quantile; quantile 1 is the longest",
            Unit::Seconds,
            metrics.tick_seconds.clone(),
        );
        registry.register("ticks", "Ticks run", metrics.ticks.clone());
        registry.register(
            "tick_overruns",
            "Ticks that took longer than the tick period",
            metrics.overruns.clone(),
        );
        registry.register(
            "ticks_skipped",
            "Ticks dropped to catch up after a stall",
            metrics.ticks_skipped.clone(),
        );
        registry.register("clients", "Clients joined to the default room", metrics.clients.clone());
        registry.register(
            "entities",
            "Replicated entities in the default room",
            metrics.entities.clone(),
        );
        registry.register(
            "rooms",
            "Rooms on this node, the default one included",
            metrics.rooms.clone(),
        );
        registry.register(
            "room_connections",
            "Connections in any room of this node",
            metrics.room_connections.clone(),
        );
        registry.register("connections", "Connections accepted", metrics.connections.clone());
        registry.register(
            "connections_open",
            "WebSocket connections open (past the upgrade)",
            metrics.connections_open.clone(),
        );
        registry.register(
            "fallback_sessions",
            "HTTP fallback sessions open (each also an open connection while it runs)",
            metrics.fallback_sessions.clone(),
        );
        registry.register_with_unit(
            "sent",
            "WebSocket payload bytes sent",
            Unit::Bytes,
            metrics.sent_bytes.clone(),
        );
        registry.register_with_unit(
            "received",
            "WebSocket payload bytes received",
            Unit::Bytes,
            metrics.received_bytes.clone(),
        );
        registry.register(
            "sent_bytes_per_second",
            "WebSocket payload bytes sent per second, over the last second",
            metrics.sent_bytes_per_second.clone(),
        );
        registry.register(
            "received_bytes_per_second",
            "WebSocket payload bytes received per second, over the last second",
            metrics.received_bytes_per_second.clone(),
        );
        registry.register("frames_sent", "Snapshot frames sent", metrics.frames_sent.clone());
        registry.register(
            "frames_shared",
            "Snapshot frames whose body was a shared world body (one encode for every client in step)",
            metrics.frames_shared.clone(),
        );
        registry.register(
            "entities_sent",
            "Entity spawns, updates and despawns sent",
            metrics.entities_sent.clone(),
        );
        registry.register(
            "entities_deferred",
            "Entity changes deferred to a later snapshot by the byte budget",
            metrics.entities_deferred.clone(),
        );
        registry.register(
            "staleness_max_ticks",
            "Longest any entity change waited before it was sent, in ticks",
            metrics.staleness_max_ticks.clone(),
        );
        registry.register(
            "slow_readers",
            "Connections dropped because a send stayed blocked past the write timeout",
            metrics.slow_readers.clone(),
        );
        registry.register(
            "inputs_dropped",
            "Client inputs dropped, by reason (rate: over the per-client rate, inbox: room inbox full)",
            metrics.inputs_dropped.clone(),
        );
        registry.register(
            "closes_sent",
            "WebSocket close frames sent, by close code",
            metrics.closes_sent.clone(),
        );
        registry.register(
            "upgrades_refused",
            "WebSocket upgrades refused before the upgrade, and HTTP fallback requests refused, by HTTP status",
            metrics.upgrades_refused.clone(),
        );
        metrics
    }

    /// Brings every metric up to `figures`. Only the sampler calls this, so counters
    /// advance without racing each other.
    pub fn update(&self, figures: &Figures) {
        let tick_ms = [figures.tick_ms.p50, figures.tick_ms.p99, figures.tick_ms.max];
        for (quantile, ms) in TICK_QUANTILES.into_iter().zip(tick_ms) {
            self.tick_seconds
                .get_or_create(&[("quantile", quantile)])
                .set(seconds_from_ms(ms));
        }
        advance(&self.ticks, figures.ticks);
        advance(&self.overruns, figures.overruns);
        advance(&self.ticks_skipped, figures.ticks_skipped);
        self.clients.set(gauge_value(figures.clients as u64));
        self.rooms.set(gauge_value(figures.rooms as u64));
        self.room_connections.set(gauge_value(figures.room_connections as u64));
        self.entities.set(gauge_value(figures.entities as u64));
        advance(&self.connections, figures.net.connections_total);
        self.connections_open.set(gauge_value(figures.net.connections_open));
        self.fallback_sessions.set(gauge_value(figures.net.fallback_sessions));
        advance(&self.sent_bytes, figures.net.bytes_out);
        advance(&self.received_bytes, figures.net.bytes_in);
        self.sent_bytes_per_second.set(figures.bytes_out_per_s);
        self.received_bytes_per_second.set(figures.bytes_in_per_s);
        advance(&self.frames_sent, figures.net.frames_sent);
        advance(&self.frames_shared, figures.net.frames_shared);
        advance(&self.entities_sent, figures.net.entities_sent);
        advance(&self.entities_deferred, figures.net.entities_deferred);
        self.staleness_max_ticks
            .set(gauge_value(figures.net.staleness_max_ticks));
        advance(&self.slow_readers, figures.net.slow_readers);
        advance(
            &self.inputs_dropped.get_or_create(&[("reason", "rate")]),
            figures.net.inputs_dropped_rate,
        );
        advance(
            &self.inputs_dropped.get_or_create(&[("reason", "inbox")]),
            figures.net.inputs_dropped_inbox,
        );
        for (&code, &count) in &figures.net.closes_sent {
            advance(&self.closes_sent.get_or_create(&[("code", code)]), count);
        }
        for (&status, &count) in &figures.net.refusals {
            advance(&self.upgrades_refused.get_or_create(&[("status", status)]), count);
        }
    }

    /// The exposition: OpenMetrics text, ending in `# EOF`.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut body = String::with_capacity(4096);
        encode(&mut body, &self.registry)?;
        Ok(body)
    }
}

/// Advances a counter to `to`; a counter never goes down.
fn advance(counter: &Counter, to: u64) {
    counter.inc_by(to.saturating_sub(counter.get()));
}

/// Tick times are whole microseconds; round away the float noise of ms / 1000.
fn seconds_from_ms(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1e6
}

fn gauge_value(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(ticks: u64) -> Figures {
        Figures {
            tick_ms: TickSummary {
                p50: 0.25,
                p99: 1.5,
                max: 20.0,
            },
            ticks,
            overruns: 3,
            clients: 2,
            entities: 10,
            net: NetCounters {
                fallback_sessions: 2,
                bytes_out: 5000,
                closes_sent: BTreeMap::from([(1008, 1)]),
                ..NetCounters::default()
            },
            bytes_out_per_s: 1234.5,
            bytes_in_per_s: 67.0,
            ..Figures::default()
        }
    }

    #[test]
    fn every_series_is_named_typed_and_follows_the_counters() {
        let metrics = Metrics::new();
        metrics.update(&figures(60));
        metrics.update(&figures(120));
        let body = metrics.encode().unwrap();
        for line in [
            "# TYPE tickcast_tick_seconds gauge",
            "# UNIT tickcast_tick_seconds seconds",
            "tickcast_tick_seconds{quantile=\"0.5\"} 0.00025",
            "tickcast_tick_seconds{quantile=\"0.99\"} 0.0015",
            "tickcast_tick_seconds{quantile=\"1\"} 0.02",
            "# TYPE tickcast_ticks counter",
            "tickcast_ticks_total 120",
            "tickcast_tick_overruns_total 3",
            "tickcast_clients 2",
            "tickcast_entities 10",
            "tickcast_fallback_sessions 2",
            "# TYPE tickcast_sent_bytes counter",
            "tickcast_sent_bytes_total 5000",
            "tickcast_received_bytes_total 0",
            "tickcast_sent_bytes_per_second 1234.5",
            "tickcast_frames_sent_total 0",
            "tickcast_frames_shared_total 0",
            "tickcast_entities_deferred_total 0",
            "tickcast_inputs_dropped_total{reason=\"inbox\"} 0",
            "tickcast_closes_sent_total{code=\"1008\"} 1",
        ] {
            assert!(body.lines().any(|l| l == line), "missing {line:?} in\n{body}");
        }
        assert!(body.ends_with("# EOF\n"));
    }
}
