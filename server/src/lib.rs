//! tickcast-server: a server-authoritative game state sync server.
//!
//! - [`config`]: embedded defaults, config file and flags.
//! - [`net`]: the game port's HTTP front (page, `/healthz`, `/game.json`, the `/ws`
//!   upgrade; TLS), per-connection reader and writer tasks, close codes.
//! - [`room`]: the fixed-tick bevy_ecs room, replication and snapshots.
//! - [`game`]: the reference game, "arena".
//! - [`stats`]: the server's own figures: timeline, log line, shutdown report.
//! - [`metrics`]: those figures as Prometheus metrics, served on `/metrics` when
//!   `[metrics] enabled` (by [`net::serve_metrics`], a listener of its own).
//!
//! [`start`] runs all of it in the current tokio runtime and returns a handle that tests
//! and the binary use alike.

pub mod config;
pub mod game;
pub mod metrics;
pub mod net;
pub mod room;
pub mod stats;
pub mod tuning;

use config::GameChoice;
use config::ServerConfig;
use game::{Arena, Drift, Map, MapError};
use net::NetStats;
use room::{Rates, Room, RoomError, RoomSettings, RoomStats, ViewSettings};
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
}

/// A running server: one arena room behind the game port.
pub struct RunningServer {
    local_addr: SocketAddr,
    /// Whether the game port speaks TLS.
    tls: bool,
    /// Fingerprints of the TLS certificate, to log.
    tls_fingerprints: Option<TlsFingerprints>,
    shutdown: CancellationToken,
    connections: TaskTracker,
    listener: tokio::task::JoinHandle<()>,
    room: Room,
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

/// Loads the map, starts the room thread and begins accepting connections.
pub async fn start(config: &ServerConfig) -> Result<RunningServer, StartError> {
    let tls = net::tls::acceptor(&config.tls, config.bind)?;
    let tls_fingerprints = tls.as_ref().map(|tls| TlsFingerprints {
        cert_sha256: tls.cert_sha256.clone(),
        spki_sha256_base64: tls.spki_sha256_base64.clone(),
    });
    let settings = RoomSettings {
        rates: Rates {
            tick_rate: config.tick_rate,
            snapshot_rate: config.snapshot_rate,
        },
        inbox: config.limits.room_inbox,
        input_buffer: config.limits.input_buffer,
        raise_priority: config.raise_tick_priority,
        stagger_snapshots: config.stagger_snapshots,
        resume_grace: config.limits.resume_grace,
        interest_radius: config.interest_radius(),
        checksums: config.checksums,
    };
    let (room, game_json) = match config.game {
        GameChoice::Arena => {
            let arena = Arena {
                map: Map::load(&config.map)?,
                drones: config.npcs,
                seed: config.seed,
            };
            let game_json = arena.client_info().to_string();
            (Room::start("arena", arena, settings)?, game_json)
        }
        GameChoice::Drift => {
            let drift = Drift {
                bodies: config.drift.entities,
                speed: config.drift.speed,
                size: config.drift.size,
                seed: config.seed,
            };
            let game_json = drift.client_info().to_string();
            (Room::start("drift", drift, settings)?, game_json)
        }
    };
    let game_json = bytes::Bytes::from(game_json);
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
    let room_handle = room.handle();
    let room_stats = Arc::clone(&room_handle.stats);
    let view = ViewSettings {
        interest_radius: config.interest_radius(),
        budget_bytes: config.budget_bytes_per_snapshot(),
        checksums: config.checksums,
        rule: room_handle.relevance_rule,
    };
    let secret = (!config.access.auth_secret.is_empty()).then_some(config.access.auth_secret.as_bytes());
    let front = net::FrontSettings {
        tls: tls.map(|tls| tls.acceptor),
        game_json,
        admission: net::admission::Admission::new(
            secret,
            &config.access.allowed_origins,
            &room_handle.schema.game,
            config.limits.max_connections_per_ip,
        ),
    };
    let listener = tokio::spawn(net::serve(
        listener,
        front,
        room_handle,
        view,
        config.limits.clone(),
        Arc::clone(&net_stats),
        shutdown.clone(),
        connections.clone(),
    ));
    let collector = StatsCollector::new(Arc::clone(&room_stats), Arc::clone(&net_stats));
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
        room,
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

    /// Stops accepting, closes every connection with 1001 "server shutting down", waits
    /// up to `grace` for them (and scrapes in flight) to finish, stops the room and
    /// returns the final figures.
    pub async fn shutdown(self, grace: Duration) -> StatsReport {
        self.shutdown.cancel();
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
        let room = self.room;
        let _ = tokio::task::spawn_blocking(move || room.stop()).await;
        self.collector.report()
    }
}
