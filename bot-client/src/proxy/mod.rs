//! A userspace TCP fault proxy: bad networks on demand, for a kernel without netem.
//!
//! [`FaultProxy`] accepts TCP connections on one address, connects each to an upstream
//! address and relays both directions, adding the faults of [`ProxyConfig`]: a fixed
//! delay with jitter, a bandwidth cap, periodic stalls and mid-stream resets; and, as a
//! corporate proxy might, it can refuse WebSocket upgrades while passing plain HTTP
//! ([`ProxyConfig::refuse_upgrades`]), so that clients must use the HTTP fallback. It runs
//! in-process (the tests start one on `127.0.0.1:0` between the bots and the server) or
//! as `tickcast-bots proxy` ([`cli`]).
//!
//! What it promises, because TCP does:
//! - **Bytes stay in order.** A chunk read at `now` is released at
//!   `max(previous release, now + delay + jitter)`, so jitter delays but never reorders.
//! - **Nothing is dropped but by a reset.** A stall holds bytes; a cap queues them.
//! - **Memory is bounded.** Each direction of each connection holds at most
//!   [`ProxyConfig::buffer_bytes`]; once full, the proxy stops reading that side, and the
//!   sender sees TCP backpressure as it would on a slow link.
//! - **Runs repeat.** Every random draw comes from a [`fastrand::Rng`] seeded from
//!   [`ProxyConfig::seed`] and the connection's accept index.
//!
//! - `relay`: one connection, its two directions, the delay line, the cap and the stalls.
//! - [`stats`]: the counters and the summary table.
//! - [`cli`]: the `proxy` subcommand.

pub mod cli;
mod relay;
pub mod stats;
#[cfg(test)]
mod tests;

pub use stats::{ProxyStats, ProxySummary};

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Default bound on the bytes one direction of one connection may hold: 4 MiB.
pub const DEFAULT_BUFFER_BYTES: usize = 4 * 1024 * 1024;
/// Longest wait for [`FaultProxy::shutdown`] to see every connection task end.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

/// Which way bytes travel through the proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From the accepted client to the upstream server (the bots' inputs).
    Up,
    /// From the upstream server to the client (the snapshots).
    Down,
}

impl Direction {
    /// Both directions, up first.
    pub const BOTH: [Direction; 2] = [Direction::Up, Direction::Down];

    /// 0 for up, 1 for down: an index into per-direction arrays.
    pub const fn index(self) -> usize {
        match self {
            Direction::Up => 0,
            Direction::Down => 1,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Direction::Up => "up",
            Direction::Down => "down",
        })
    }
}

/// The faults applied to one direction of every connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Fixed one-way delay added to every chunk.
    pub delay: Duration,
    /// Each chunk's delay is `delay` plus a uniform draw in `[-jitter, +jitter]` (at
    /// least zero in total). Chunks never overtake each other, so a chunk drawn short
    /// behind one drawn long leaves right after it.
    pub jitter: Duration,
    /// Cap in kbit/s (1000 bits) per connection, as a token bucket holding a little
    /// burst (1460 bytes or 20 ms at the rate, whichever is more).
    /// `None`: no cap.
    pub bandwidth_kbps: Option<u32>,
    /// Periodic stalls; `None`: never.
    pub stall: Option<Stall>,
}

impl Faults {
    /// No faults: a plain relay.
    pub const NONE: Faults = Faults {
        delay: Duration::ZERO,
        jitter: Duration::ZERO,
        bandwidth_kbps: None,
        stall: None,
    };

    /// Whether this adds nothing.
    pub fn is_none(&self) -> bool {
        *self == Faults::NONE
    }
}

/// Periodic stalls: relaying stops for `duration` at `every`, `2 × every`, ... after the
/// proxy started (the same moments for every connection, like a link going down), and
/// the bytes wait, they are not dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stall {
    /// Stall length.
    pub duration: Duration,
    /// Period: the first stall starts this long after the proxy started.
    pub every: Duration,
}

impl Stall {
    /// If `at` falls within a stall, when that stall ends.
    pub fn ends_after(&self, epoch: Instant, at: Instant) -> Option<Instant> {
        let elapsed = at.saturating_duration_since(epoch).as_nanos();
        let every = self.every.as_nanos();
        if every == 0 {
            return None;
        }
        let period = elapsed / every;
        let into = elapsed % every;
        if period >= 1 && into < self.duration.as_nanos() {
            let left = self.duration.as_nanos() - into;
            Some(at + Duration::from_nanos(u64::try_from(left).unwrap_or(u64::MAX)))
        } else {
            None
        }
    }
}

/// Connections cut mid-stream, both sockets closed with a TCP reset (`SO_LINGER` 0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resets {
    /// Each connection is cut after a random lifetime (exponential, with this mean)
    /// counted from when its upstream connection is made. `None`: no timed resets.
    pub mean_lifetime: Option<Duration>,
    /// Each connection is cut once this many bytes have been relayed over it, both
    /// directions together. `None`: no byte limit.
    pub after_bytes: Option<u64>,
}

impl Resets {
    /// Whether connections are ever cut.
    pub fn is_none(&self) -> bool {
        self.mean_lifetime.is_none() && self.after_bytes.is_none()
    }
}

/// What a [`FaultProxy`] listens on, relays to and does to the bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyConfig {
    /// Address to accept on (port 0: any free port; see [`FaultProxy::local_addr`]).
    pub listen: SocketAddr,
    /// Where each accepted connection is relayed (`host:port`).
    pub upstream: String,
    /// Faults on the client-to-upstream direction.
    pub up: Faults,
    /// Faults on the upstream-to-client direction.
    pub down: Faults,
    /// Mid-stream resets.
    pub resets: Resets,
    /// Seeds every random draw (jitter, reset lifetimes) with the connection's index.
    pub seed: u64,
    /// Most bytes one direction of one connection holds before the proxy stops reading
    /// that side.
    pub buffer_bytes: usize,
    /// Answer a connection whose first request asks for a WebSocket upgrade (`Upgrade:
    /// websocket`) with `403 Forbidden` instead of relaying it; other requests pass. Only
    /// the first request of a connection is looked at (WebSocket clients open a
    /// connection of their own for the upgrade), and only plain HTTP: the proxy cannot see
    /// inside TLS.
    pub refuse_upgrades: bool,
}

impl ProxyConfig {
    /// A plain relay from `listen` to `upstream`: no faults, seed 1, 4 MiB buffers.
    pub fn new(listen: SocketAddr, upstream: impl Into<String>) -> ProxyConfig {
        ProxyConfig {
            listen,
            upstream: upstream.into(),
            up: Faults::NONE,
            down: Faults::NONE,
            resets: Resets::default(),
            seed: 1,
            buffer_bytes: DEFAULT_BUFFER_BYTES,
            refuse_upgrades: false,
        }
    }

    /// The same faults both ways.
    pub fn with_faults(mut self, faults: Faults) -> ProxyConfig {
        self.up = faults;
        self.down = faults;
        self
    }

    /// The faults of `direction`.
    pub fn faults(&self, direction: Direction) -> &Faults {
        match direction {
            Direction::Up => &self.up,
            Direction::Down => &self.down,
        }
    }

    /// The faults of `direction`, to change.
    pub fn faults_mut(&mut self, direction: Direction) -> &mut Faults {
        match direction {
            Direction::Up => &mut self.up,
            Direction::Down => &mut self.down,
        }
    }

    /// Checks the values that would make the proxy meaningless or stuck.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.buffer_bytes == 0 {
            return Err(ConfigError::ZeroBuffer);
        }
        for direction in Direction::BOTH {
            let faults = self.faults(direction);
            if faults.bandwidth_kbps == Some(0) {
                return Err(ConfigError::ZeroBandwidth(direction));
            }
            if let Some(stall) = faults.stall
                && (stall.every.is_zero() || stall.duration >= stall.every)
            {
                return Err(ConfigError::StallTooLong(direction));
            }
        }
        if self.resets.mean_lifetime == Some(Duration::ZERO) {
            return Err(ConfigError::ZeroLifetime);
        }
        if self.resets.after_bytes == Some(0) {
            return Err(ConfigError::ZeroResetBytes);
        }
        Ok(())
    }
}

/// A [`ProxyConfig`] the proxy cannot run with.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    /// `buffer_bytes` is 0: nothing could ever be relayed.
    #[error("the buffer must hold at least one byte")]
    ZeroBuffer,
    /// A bandwidth cap of 0 would relay nothing.
    #[error("the {0} bandwidth cap must be above 0 kbit/s")]
    ZeroBandwidth(Direction),
    /// A stall as long as its period never ends.
    #[error("the {0} stall must be shorter than its period")]
    StallTooLong(Direction),
    /// A mean lifetime of 0 would cut every connection at once.
    #[error("the mean connection lifetime must be above 0")]
    ZeroLifetime,
    /// A byte limit of 0 would cut every connection at once.
    #[error("the reset byte count must be above 0")]
    ZeroResetBytes,
}

/// Why the proxy did not start.
#[derive(Debug, Error)]
pub enum ProxyError {
    /// The configuration is unusable.
    #[error("invalid proxy configuration: {0}")]
    Config(#[from] ConfigError),
    /// The listening socket could not be bound.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The socket error.
        source: std::io::Error,
    },
}

/// What every connection task shares.
struct Shared {
    config: ProxyConfig,
    stats: Arc<ProxyStats>,
    cancel: CancellationToken,
    /// The proxy's start: stalls are timed from it.
    epoch: Instant,
}

/// A running fault proxy. Dropping it stops it too (the connections close in the
/// background); [`FaultProxy::shutdown`] stops it and waits.
pub struct FaultProxy {
    local_addr: SocketAddr,
    stats: Arc<ProxyStats>,
    cancel: CancellationToken,
    tasks: TaskTracker,
}

impl FaultProxy {
    /// Binds `config.listen` and starts accepting on the current tokio runtime.
    pub async fn start(config: ProxyConfig) -> Result<FaultProxy, ProxyError> {
        config.validate()?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| ProxyError::Bind {
                addr: config.listen,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| ProxyError::Bind {
            addr: config.listen,
            source,
        })?;
        let epoch = Instant::now();
        let stats = Arc::new(ProxyStats::new(epoch));
        let cancel = CancellationToken::new();
        let tasks = TaskTracker::new();
        let shared = Arc::new(Shared {
            config,
            stats: Arc::clone(&stats),
            cancel: cancel.clone(),
            epoch,
        });
        tasks.spawn(accept_loop(listener, shared, tasks.clone()));
        Ok(FaultProxy {
            local_addr,
            stats,
            cancel,
            tasks,
        })
    }

    /// The address the proxy accepts on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The live counters.
    pub fn stats(&self) -> &Arc<ProxyStats> {
        &self.stats
    }

    /// The figures so far.
    pub fn summary(&self) -> ProxySummary {
        self.stats.summary()
    }

    /// A token that stops the proxy when cancelled.
    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Stops accepting, closes every connection (buffered bytes are dropped), waits for
    /// the tasks to end (a few seconds at most) and returns the run's figures.
    pub async fn shutdown(self) -> ProxySummary {
        self.cancel.cancel();
        self.tasks.close();
        if tokio::time::timeout(SHUTDOWN_WAIT, self.tasks.wait()).await.is_err() {
            tracing::warn!("fault proxy connections did not end within {SHUTDOWN_WAIT:?}");
        }
        self.stats.summary()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Accepts until cancelled, one task per connection.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, tasks: TaskTracker) {
    let mut index = 0u64;
    loop {
        let accepted = tokio::select! {
            () = shared.cancel.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((client, peer)) => {
                tracing::debug!(%peer, index, "proxy accepted a connection");
                tasks.spawn(relay::serve(client, index, Arc::clone(&shared)));
                index += 1;
            }
            Err(error) => {
                // Out of descriptors, mostly: wait rather than spin.
                tracing::warn!(%error, "proxy accept failed");
                tokio::select! {
                    () = shared.cancel.cancelled() => break,
                    () = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
            }
        }
    }
}
