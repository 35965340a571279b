//! tickcast-server: a server-authoritative game state sync server.
//!
//! - [`config`]: embedded defaults, config file and flags.
//! - [`net`]: the game port's HTTP front (page, `/healthz`, `/game.json`, the `/ws`
//!   upgrade; TLS), per-connection reader and writer tasks, close codes.
//! - [`room`]: the fixed-tick bevy_ecs room, replication and snapshots.
//! - [`rooms`]: many rooms in one process, seats, lifecycle, and the directory that
//!   places players (in process, or across nodes on Redis).
//! - [`game`]: the reference games, "arena" and the "drift" scene.
//! - [`stats`]: the server's own figures: timeline, log line, shutdown report.
//! - [`metrics`]: those figures as Prometheus metrics, served on `/metrics` when
//!   `[metrics] enabled` (by [`net::serve_metrics`], a listener of its own).
//!
//! [`start`] runs all of it in the current tokio runtime and returns a handle that tests
//! and the binary use alike; [`start_with`] adds games of the embedding program's own
//! ([`Games`], `docs/GAMES.md`).

pub mod config;
pub mod game;
pub mod metrics;
pub mod net;
pub mod room;
pub mod rooms;
pub mod stats;
pub mod tuning;

use config::ServerConfig;
use game::MapError;
use net::NetStats;
use room::{RoomError, RoomStats, TickPool};
use rooms::{Directory, LocalDirectory, RoomKind, Rooms, RoomsSettings};
use stats::{StatsCollector, StatsReport};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Why the server could not start.
#[derive(Debug, Error)]
pub enum StartError {
    /// The map did not load.
    #[error("loading the map: {0}")]
    Map(#[from] MapError),
    /// The listener could not bind.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The IO error.
        source: std::io::Error,
    },
    /// The metrics listener could not bind.
    #[error("binding the metrics listener {addr}: {source}")]
    MetricsBind {
        /// The address.
        addr: SocketAddr,
        /// The IO error.
        source: std::io::Error,
    },
    /// The room did not start.
    #[error(transparent)]
    Room(#[from] RoomError),
    /// TLS could not be set up.
    #[error(transparent)]
    Tls(#[from] net::tls::TlsError),
    /// `--redis-url` was given and Redis could not be reached.
    #[error(transparent)]
    Redis(#[from] rooms::redis::RedisStartError),
    /// The default room's game is not among the kinds.
    #[error("no game called {0} to play in the default room")]
    NoSuchGame(&'static str),
}

/// A running server: its rooms behind the game port.
pub struct RunningServer {
    local_addr: SocketAddr,
    /// Whether the game port speaks TLS.
    tls: bool,
    /// Fingerprints of the TLS certificate, to log.
    tls_fingerprints: Option<TlsFingerprints>,
    shutdown: CancellationToken,
    connections: TaskTracker,
    listener: tokio::task::JoinHandle<()>,
    rooms: Arc<Rooms>,
    sweeper: tokio::task::JoinHandle<()>,
    net_stats: Arc<NetStats>,
    room_stats: Arc<RoomStats>,
    collector: Arc<StatsCollector>,
    collector_task: tokio::task::JoinHandle<()>,
    metrics_addr: Option<SocketAddr>,
    metrics_task: Option<tokio::task::JoinHandle<()>>,
}

/// SHA-256 fingerprints of the game port's certificate.
#[derive(Clone, Debug)]
pub struct TlsFingerprints {
    /// Of the certificate, colon-separated hex.
    pub cert_sha256: String,
    /// Of a self-signed certificate's public key, base64 (Chromium's
    /// `--ignore-certificate-errors-spki-list`).
    pub spki_sha256_base64: Option<String>,
}

/// How often empty rooms are looked for.
const SWEEP_PERIOD: Duration = Duration::from_millis(500);

/// Loads the map, starts the default room and begins accepting connections.
pub async fn start(config: &ServerConfig) -> Result<RunningServer, StartError> {
    start_with(config, Games::default()).await
}

/// Games of the embedding program, beyond the built-in ones: each a room kind that
/// `/matchmake` places, and optionally the default room's game. See `docs/GAMES.md`.
#[derive(Default)]
pub struct Games {
    kinds: Vec<RoomKind>,
    default_room: Option<&'static str>,
}

impl Games {
    /// Adds a kind (made with [`RoomKind::custom`]).
    #[must_use]
    pub fn with(mut self, kind: RoomKind) -> Games {
        self.kinds.push(kind);
        self
    }

    /// Makes the kind called `name` the default room's game, which plain `/ws` joins,
    /// instead of `config.game`.
    #[must_use]
    pub fn default_room(mut self, name: &'static str) -> Games {
        self.default_room = Some(name);
        self
    }
}

/// [`start`], with games of the embedding program's own.
pub async fn start_with(config: &ServerConfig, games: Games) -> Result<RunningServer, StartError> {
    let tls = net::tls::acceptor(&config.tls, config.bind)?;
    let tls_fingerprints = tls.as_ref().map(|tls| TlsFingerprints {
        cert_sha256: tls.cert_sha256.clone(),
        spki_sha256_base64: tls.spki_sha256_base64.clone(),
    });
    let mut kinds = RoomKind::all(config)?;
    let default_kind = games.default_room.unwrap_or(config.game.name());
    kinds.retain(|kind| games.kinds.iter().all(|custom| custom.name != kind.name));
    kinds.extend(games.kinds);
    if kinds.iter().all(|kind| kind.name != default_kind) {
        return Err(StartError::NoSuchGame(default_kind));
    }
    let listener = TcpListener::bind(config.bind)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.bind,
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.bind,
        source,
    })?;
    let metrics_listener = if config.metrics.enabled {
        let addr = config.metrics.bind;
        let bind_error = |source| StartError::MetricsBind { addr, source };
        let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
        let local = listener.local_addr().map_err(bind_error)?;
        Some((listener, local))
    } else {
        None
    };
    let shutdown = CancellationToken::new();
    let connections = TaskTracker::new();
    let net_stats = Arc::new(NetStats::default());
    let scheme = if config.tls.enabled() { "wss" } else { "ws" };
    let rooms_settings = RoomsSettings {
        node: if config.rooms.node_id.is_empty() {
            format!("node-{:08x}", fastrand::u32(..))
        } else {
            config.rooms.node_id.clone()
        },
        ws_url: if config.rooms.public_url.is_empty() {
            format!("{scheme}://{local_addr}{}", net::WS_PATH)
        } else {
            config.rooms.public_url.clone()
        },
        default_kind,
        default_capacity: config.limits.max_clients,
        seat_ttl: config.rooms.seat_ttl,
        empty_timeout: config.rooms.empty_timeout,
        max_rooms: config.rooms.max_rooms,
    };
    let threads = match config.rooms.tick_threads {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        threads => threads,
    };
    let pool = TickPool::new(threads, config.raise_tick_priority).map_err(RoomError::Thread)?;
    let rooms = Arc::new(Rooms::start(rooms_settings, kinds, pool, None)?);
    let directory: Arc<dyn Directory> = if config.rooms.redis_url.is_empty() {
        Arc::new(LocalDirectory(Arc::clone(&rooms)))
    } else {
        // Its tasks on `connections`, so that shutdown waits for the node to leave the
        // directory.
        let redis = &config.rooms.redis_url;
        Arc::new(rooms::redis::RedisDirectory::start(redis, Arc::clone(&rooms), shutdown.clone(), &connections).await?)
    };
    let room_stats = Arc::clone(&rooms.default_room().handle.stats);
    let secret = (!config.access.auth_secret.is_empty()).then_some(config.access.auth_secret.as_bytes());
    let front = net::FrontSettings {
        tls: tls.map(|tls| tls.acceptor),
        admission: net::admission::Admission::new(
            secret,
            &config.access.allowed_origins,
            default_kind,
            config.limits.max_connections_per_ip,
        ),
    };
    let sweeper = tokio::spawn(Arc::clone(&rooms).run_sweeper(SWEEP_PERIOD, shutdown.clone()));
    let listener = tokio::spawn(net::serve(
        listener,
        front,
        Arc::clone(&rooms),
        directory,
        config.limits.clone(),
        Arc::clone(&net_stats),
        shutdown.clone(),
        connections.clone(),
    ));
    let collector = StatsCollector::new(Arc::clone(&room_stats), Arc::clone(&net_stats), Arc::clone(&rooms));
    let collector_task = tokio::spawn(Arc::clone(&collector).run(config.log.stats_interval, shutdown.clone()));
    let metrics_addr = metrics_listener.as_ref().map(|(_, addr)| *addr);
    let metrics_task = metrics_listener.map(|(listener, _)| {
        tokio::spawn(net::serve_metrics(
            listener,
            Arc::clone(collector.metrics()),
            shutdown.clone(),
        ))
    });
    Ok(RunningServer {
        local_addr,
        tls: config.tls.enabled(),
        tls_fingerprints,
        shutdown,
        connections,
        listener,
        rooms,
        sweeper,
        net_stats,
        room_stats,
        collector,
        collector_task,
        metrics_addr,
        metrics_task,
    })
}

impl RunningServer {
    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The WebSocket URL clients connect to (`wss://` with TLS).
    pub fn ws_url(&self) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{}{}", self.local_addr, net::WS_PATH)
    }

    /// The demo page's URL (`https://` with TLS).
    pub fn page_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}/", self.local_addr)
    }

    /// The certificate's fingerprints, when the port speaks TLS.
    pub fn tls_fingerprints(&self) -> Option<&TlsFingerprints> {
        self.tls_fingerprints.as_ref()
    }

    /// The metrics listener's bound address, if `[metrics] enabled`.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// The URL Prometheus scrapes, if `[metrics] enabled`.
    pub fn metrics_url(&self) -> Option<String> {
        self.metrics_addr
            .map(|addr| format!("http://{addr}{}", net::METRICS_PATH))
    }

    /// Network figures.
    pub fn net_stats(&self) -> &Arc<NetStats> {
        &self.net_stats
    }

    /// Room figures.
    pub fn room_stats(&self) -> &Arc<RoomStats> {
        &self.room_stats
    }

    /// The server's figures so far (also what `--stats-json` writes at shutdown).
    pub fn report(&self) -> StatsReport {
        self.collector.report()
    }

    /// This node's rooms.
    pub fn rooms(&self) -> &Arc<Rooms> {
        &self.rooms
    }

    /// Drains the node, as on SIGTERM before [`RunningServer::shutdown`]: matchmaking and
    /// new default-room players get 503 and `/healthz` says `draining`, while the rooms
    /// play on until every room is empty or `timeout` passes. Returns whether they
    /// emptied.
    pub async fn drain(&self, timeout: Duration) -> bool {
        self.rooms.drain();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.rooms.all_empty() {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops accepting, closes every connection with 1001 "server shutting down", waits
    /// up to `grace` for them (and scrapes in flight) to finish, stops the room and
    /// returns the final figures.
    pub async fn shutdown(self, grace: Duration) -> StatsReport {
        self.shutdown.cancel();
        self.rooms.close_all();
        let _ = self.collector_task.await;
        let _ = self.listener.await;
        if let Some(mut metrics_task) = self.metrics_task
            && tokio::time::timeout(grace, &mut metrics_task).await.is_err()
        {
            tracing::warn!("the metrics listener did not stop within {grace:?}");
            metrics_task.abort();
        }
        self.connections.close();
        if tokio::time::timeout(grace, self.connections.wait()).await.is_err() {
            tracing::warn!("some connections did not close within {grace:?}");
        }
        let _ = self.sweeper.await;
        let rooms = self.rooms;
        let _ = tokio::task::spawn_blocking(move || rooms.stop_all()).await;
        self.collector.report()
    }
}
