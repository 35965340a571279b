//! What the fault proxy did: connections, bytes each way, resets, the longest any byte
//! was held and the most any direction buffered. Connection tasks bump atomics;
//! [`ProxyStats::summary`] reads them at any time.

use super::Direction;
use crate::report::MetricTable;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// Live counters of one proxy.
#[derive(Debug)]
pub struct ProxyStats {
    /// The proxy's start.
    epoch: Instant,
    accepted: AtomicU64,
    open: AtomicU64,
    upstream_failures: AtomicU64,
    resets: AtomicU64,
    upgrades_refused: AtomicU64,
    /// Per direction ([`Direction::index`]).
    bytes: [AtomicU64; 2],
    max_hold_micros: [AtomicU64; 2],
    max_buffered: [AtomicU64; 2],
    /// Lifetimes of the connections that have ended, summed.
    closed_micros: AtomicU64,
    /// The open connections' start times (microseconds after `epoch`), summed: with
    /// `open`, gives the time they have been open so far.
    open_since_micros: AtomicU64,
}

impl ProxyStats {
    /// Counters starting at zero, times counted from `epoch`.
    pub fn new(epoch: Instant) -> ProxyStats {
        ProxyStats {
            epoch,
            accepted: AtomicU64::new(0),
            open: AtomicU64::new(0),
            upstream_failures: AtomicU64::new(0),
            resets: AtomicU64::new(0),
            upgrades_refused: AtomicU64::new(0),
            bytes: [AtomicU64::new(0), AtomicU64::new(0)],
            max_hold_micros: [AtomicU64::new(0), AtomicU64::new(0)],
            max_buffered: [AtomicU64::new(0), AtomicU64::new(0)],
            closed_micros: AtomicU64::new(0),
            open_since_micros: AtomicU64::new(0),
        }
    }

    fn micros_since_epoch(&self, at: Instant) -> u64 {
        micros(at.saturating_duration_since(self.epoch))
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Connections open now (accepted and not yet closed).
    pub fn connections_open(&self) -> u64 {
        self.open.load(Ordering::Relaxed)
    }

    /// Connections cut by a reset fault so far.
    pub fn resets(&self) -> u64 {
        self.resets.load(Ordering::Relaxed)
    }

    /// Bytes written towards `direction`'s destination so far.
    pub fn bytes(&self, direction: Direction) -> u64 {
        self.bytes[direction.index()].load(Ordering::Relaxed)
    }

    pub(super) fn upstream_failed(&self) {
        self.upstream_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn reset_done(&self) {
        self.resets.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn relayed(&self, direction: Direction, bytes: u64) {
        self.bytes[direction.index()].fetch_add(bytes, Ordering::Relaxed);
    }

    pub(super) fn upgrade_refused(&self) {
        self.upgrades_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// WebSocket upgrades refused so far.
    pub fn upgrades_refused(&self) -> u64 {
        self.upgrades_refused.load(Ordering::Relaxed)
    }

    /// A chunk's first byte left `held` after it was read.
    pub(super) fn held(&self, direction: Direction, held: Duration) {
        self.max_hold_micros[direction.index()].fetch_max(micros(held), Ordering::Relaxed);
    }

    /// One direction of one connection now holds `bytes`.
    pub(super) fn buffered(&self, direction: Direction, bytes: u64) {
        self.max_buffered[direction.index()].fetch_max(bytes, Ordering::Relaxed);
    }

    /// The figures so far.
    pub fn summary(&self) -> ProxySummary {
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(self.epoch);
        let open = self.open.load(Ordering::Relaxed);
        let open_time = open
            .saturating_mul(self.micros_since_epoch(now))
            .saturating_sub(self.open_since_micros.load(Ordering::Relaxed));
        let connection_seconds = (self.closed_micros.load(Ordering::Relaxed) + open_time) as f64 / 1e6;
        let direction = |direction: Direction| {
            let index = direction.index();
            let bytes = self.bytes[index].load(Ordering::Relaxed);
            DirectionSummary {
                bytes,
                kbps_per_connection: if connection_seconds > 0.0 {
                    bytes as f64 * 8.0 / 1000.0 / connection_seconds
                } else {
                    0.0
                },
                max_hold_ms: self.max_hold_micros[index].load(Ordering::Relaxed) as f64 / 1000.0,
                max_buffered_bytes: self.max_buffered[index].load(Ordering::Relaxed),
            }
        };
        ProxySummary {
            elapsed_s: elapsed.as_secs_f64(),
            connections: self.accepted.load(Ordering::Relaxed),
            connections_open: open,
            upstream_failures: self.upstream_failures.load(Ordering::Relaxed),
            resets: self.resets.load(Ordering::Relaxed),
            upgrades_refused: self.upgrades_refused.load(Ordering::Relaxed),
            connection_seconds,
            up: direction(Direction::Up),
            down: direction(Direction::Down),
        }
    }
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// Counts one connection as open until dropped.
pub(super) struct ConnectionGuard {
    stats: Arc<ProxyStats>,
    opened_micros: u64,
}

impl ConnectionGuard {
    pub(super) fn open(stats: &Arc<ProxyStats>) -> ConnectionGuard {
        let opened_micros = stats.micros_since_epoch(Instant::now());
        stats.accepted.fetch_add(1, Ordering::Relaxed);
        stats.open_since_micros.fetch_add(opened_micros, Ordering::Relaxed);
        stats.open.fetch_add(1, Ordering::Relaxed);
        ConnectionGuard {
            stats: Arc::clone(stats),
            opened_micros,
        }
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let closed = self.stats.micros_since_epoch(Instant::now());
        self.stats
            .closed_micros
            .fetch_add(closed.saturating_sub(self.opened_micros), Ordering::Relaxed);
        self.stats.open.fetch_sub(1, Ordering::Relaxed);
        self.stats
            .open_since_micros
            .fetch_sub(self.opened_micros, Ordering::Relaxed);
    }
}

/// One direction's figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct DirectionSummary {
    /// Bytes written towards this direction's destination.
    pub bytes: u64,
    /// `bytes` over the connections' summed lifetimes, in kbit/s: the mean rate of one
    /// connection while it was open. Under a cap it stays at or below the cap (plus one
    /// burst per connection).
    pub kbps_per_connection: f64,
    /// Longest any chunk waited in the proxy before its first byte was written: delay,
    /// jitter, stalls and queueing behind the cap together.
    pub max_hold_ms: f64,
    /// Most bytes one connection held in this direction at once (bounded by
    /// `buffer_bytes`).
    pub max_buffered_bytes: u64,
}

/// A proxy's figures at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct ProxySummary {
    /// Seconds since the proxy started.
    pub elapsed_s: f64,
    /// Connections accepted.
    pub connections: u64,
    /// Of those, still open.
    pub connections_open: u64,
    /// Accepted connections whose upstream connection failed (they were reset).
    pub upstream_failures: u64,
    /// Connections cut by a reset fault.
    pub resets: u64,
    /// WebSocket upgrades answered 403 (`refuse_upgrades`).
    pub upgrades_refused: u64,
    /// Every connection's time open so far, summed.
    pub connection_seconds: f64,
    /// Client to upstream.
    pub up: DirectionSummary,
    /// Upstream to client.
    pub down: DirectionSummary,
}

impl ProxySummary {
    /// The figures of `direction`.
    pub fn direction(&self, direction: Direction) -> &DirectionSummary {
        match direction {
            Direction::Up => &self.up,
            Direction::Down => &self.down,
        }
    }

    /// The summary as a two-column table for a terminal.
    pub fn table(&self) -> String {
        let mut table = MetricTable::new();
        let mut row = |metric: &str, value: String| table.row(metric, value);
        row(
            "connections",
            format!(
                "{} accepted, {} open, {} upstream failures",
                self.connections, self.connections_open, self.upstream_failures
            ),
        );
        row("resets done", self.resets.to_string());
        row("upgrades refused", self.upgrades_refused.to_string());
        row("bytes", format!("up {}, down {}", self.up.bytes, self.down.bytes));
        row(
            "kbit/s per connection",
            format!(
                "up {:.1}, down {:.1}",
                self.up.kbps_per_connection, self.down.kbps_per_connection
            ),
        );
        row(
            "max hold (ms)",
            format!("up {:.1}, down {:.1}", self.up.max_hold_ms, self.down.max_hold_ms),
        );
        row(
            "max buffered (bytes)",
            format!(
                "up {}, down {}",
                self.up.max_buffered_bytes, self.down.max_buffered_bytes
            ),
        );
        row(
            "run length",
            format!(
                "{:.1} s ({:.1} s of connections)",
                self.elapsed_s, self.connection_seconds
            ),
        );
        table.finish()
    }
}
