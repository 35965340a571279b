//! The network side: the game port's HTTP front (`front`: page, health, WebSocket
//! upgrade, over TCP or TLS), matchmaking and the room list (`matchmake`), the HTTP
//! fallback transport (`fallback`, the same connection tunnelled over plain HTTP), one
//! reader plus one writer task per connection (`connection`, over either transport's
//! `game_io`), and the metrics HTTP listener (`http`). Sockets never touch the `World`; connections reach a room only through its
//! inbox and its snapshot slot, which the upgrade finds through the node's `Rooms`.

pub mod admission;
mod connection;
mod fallback;
mod front;
mod game_io;
mod http;
mod matchmake;
mod rate_limit;
pub mod resume;
pub mod tls;
mod violation;
mod web;

pub use connection::WS_PATH;
#[doc(hidden)]
pub use front::check_upgrade_for_fuzzing;
pub use http::{METRICS_PATH, serve_metrics};
pub use rate_limit::{Admission, InputRateLimit};
pub use violation::{Violation, close_frame};

use crate::config::Limits;
use crate::metrics::NetCounters;
use crate::rooms::{Directory, Rooms};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Figures the network side keeps, readable from any thread.
#[derive(Debug, Default)]
pub struct NetStats {
    /// Connections accepted since start.
    pub connections_total: AtomicU64,
    /// Connections open now (past the WebSocket upgrade, or a fallback session's
    /// connect).
    pub connections_open: AtomicU64,
    /// HTTP fallback sessions open now (each also counts in `connections_open` while its
    /// connection runs).
    pub fallback_sessions_open: AtomicU64,
    /// Payload bytes received.
    pub bytes_in: AtomicU64,
    /// Payload bytes sent.
    pub bytes_out: AtomicU64,
    /// Inputs dropped for exceeding the per-client rate.
    pub inputs_dropped_rate: AtomicU64,
    /// Inputs dropped because the room's inbox was full.
    pub inputs_dropped_inbox: AtomicU64,
    /// Snapshot frames sent.
    pub frames_sent: AtomicU64,
    /// Of those, frames whose body was a snapshot's shared world body.
    pub frames_shared: AtomicU64,
    /// Entities spawned, updated or despawned across all frames.
    pub entities_sent: AtomicU64,
    /// Entity changes that waited for a later frame because of the byte budget.
    pub entities_deferred: AtomicU64,
    /// Longest any change waited before it was sent, in ticks.
    pub staleness_max_ticks: AtomicU64,
    /// Connections dropped because a send stayed blocked past the write timeout.
    pub slow_readers: AtomicU64,
    /// Close frames the server sent, by close code.
    pub closes_sent: Mutex<BTreeMap<u16, u64>>,
    /// Upgrades refused before the upgrade, by HTTP status.
    pub refusals: Mutex<BTreeMap<u16, u64>>,
    /// Refusals and closes by reason, for the periodic summary in the log (a line per
    /// refused connection would let a flood fill the disk).
    pub dropped_by_reason: Mutex<BTreeMap<&'static str, u64>>,
}

impl NetStats {
    /// Every counter, read once, as plain values.
    pub fn read(&self) -> NetCounters {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        NetCounters {
            connections_total: load(&self.connections_total),
            connections_open: load(&self.connections_open),
            fallback_sessions: load(&self.fallback_sessions_open),
            bytes_out: load(&self.bytes_out),
            bytes_in: load(&self.bytes_in),
            frames_sent: load(&self.frames_sent),
            frames_shared: load(&self.frames_shared),
            entities_sent: load(&self.entities_sent),
            entities_deferred: load(&self.entities_deferred),
            staleness_max_ticks: load(&self.staleness_max_ticks),
            slow_readers: load(&self.slow_readers),
            inputs_dropped_rate: load(&self.inputs_dropped_rate),
            inputs_dropped_inbox: load(&self.inputs_dropped_inbox),
            closes_sent: self.closes_sent.lock().map(|closes| closes.clone()).unwrap_or_default(),
            refusals: self
                .refusals
                .lock()
                .map(|refusals| refusals.clone())
                .unwrap_or_default(),
        }
    }

    /// Counts a close frame sent with `code`.
    pub fn count_close(&self, code: u16) {
        if let Ok(mut closes) = self.closes_sent.lock() {
            *closes.entry(code).or_default() += 1;
        }
    }

    /// Counts an upgrade refused with HTTP `status` for `reason`.
    pub fn count_refusal(&self, status: u16, reason: &'static str) {
        if let Ok(mut refusals) = self.refusals.lock() {
            *refusals.entry(status).or_default() += 1;
        }
        self.count_reason(reason);
    }

    /// Counts a refused or closed connection under `reason` for the log summary.
    pub fn count_reason(&self, reason: &'static str) {
        if let Ok(mut reasons) = self.dropped_by_reason.lock() {
            *reasons.entry(reason).or_default() += 1;
        }
    }

    /// Upgrades refused with HTTP `status` so far.
    pub fn refusals_with(&self, status: u16) -> u64 {
        self.refusals
            .lock()
            .map_or(0, |refusals| refusals.get(&status).copied().unwrap_or(0))
    }

    /// Close frames sent with `code` so far.
    pub fn closes_with(&self, code: u16) -> u64 {
        self.closes_sent
            .lock()
            .map_or(0, |closes| closes.get(&code).copied().unwrap_or(0))
    }
}

/// What every connection task shares.
pub(crate) struct NetContext {
    /// This node's rooms: where an upgrade finds its room.
    pub rooms: Arc<Rooms>,
    /// Where matchmaking places seats: this node, or every node through Redis.
    pub directory: Arc<dyn Directory>,
    pub limits: Limits,
    pub ws_config: WebSocketConfig,
    pub stats: Arc<NetStats>,
    pub shutdown: CancellationToken,
    /// Where connection tasks run, so that shutdown can wait for their goodbyes.
    pub tracker: TaskTracker,
    /// One permit per joined client, `limits.max_clients` in all.
    pub slots: Arc<Semaphore>,
    pub next_client: AtomicU32,
    /// Signs and checks resume tokens.
    pub resume: resume::ResumeKeys,
    /// Each joined client's connection, to end it when its session resumes on another
    /// connection (a half-open one the server has not yet found dead). Client ids are
    /// unique across the node's rooms, so one map serves them all.
    pub sessions: resume::Sessions,
}

/// What the game port serves besides the room.
pub struct FrontSettings {
    /// TLS, if the port speaks https and wss.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// Who may upgrade.
    pub admission: admission::Admission,
}

/// tungstenite settings from the configured limits.
pub fn websocket_config(limits: &Limits) -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(limits.max_message_bytes))
        .max_frame_size(Some(limits.max_message_bytes))
        .write_buffer_size(limits.write_buffer_bytes)
        .max_write_buffer_size(limits.max_write_buffer_bytes)
        .read_buffer_size(READ_BUFFER_BYTES)
}

/// Socket read buffer per connection. tungstenite zero-fills the buffer's free space
/// before every socket read (snapview/tungstenite-rs#547), so a large buffer costs a
/// large memset per input: at 4 KiB that was 0.65% of a 500-bot swarm's CPU. Inputs are
/// tens of bytes; larger messages still arrive, in several reads.
const READ_BUFFER_BYTES: usize = 1024;

/// Accepts connections until `shutdown` is cancelled, each served by the HTTP front.
/// Connection tasks are spawned on `tracker`, so the caller can wait for them to say
/// goodbye.
#[allow(clippy::too_many_arguments)]
pub async fn serve(
    listener: TcpListener,
    front: FrontSettings,
    rooms: Arc<Rooms>,
    directory: Arc<dyn Directory>,
    limits: Limits,
    stats: Arc<NetStats>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    let context = Arc::new(NetContext {
        rooms,
        directory,
        ws_config: websocket_config(&limits),
        slots: Arc::new(Semaphore::new(limits.max_clients)),
        limits,
        stats,
        shutdown: shutdown.clone(),
        tracker: tracker.clone(),
        next_client: AtomicU32::new(1),
        resume: resume::ResumeKeys::random(),
        sessions: resume::Sessions::default(),
    });
    let app = front::router(Arc::new(front::Front {
        context: Arc::clone(&context),
        admission: front.admission,
        fallback: fallback::Sessions::default(),
    }));
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (socket, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and similar: back off instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        context.stats.connections_total.fetch_add(1, Ordering::Relaxed);
        tracker.spawn(front::serve_socket(
            socket,
            peer,
            front.tls.clone(),
            app.clone(),
            Arc::clone(&context),
        ));
    }
}
