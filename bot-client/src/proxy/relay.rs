//! One proxied connection: connect upstream, relay both directions with their faults,
//! and end it cleanly, by a reset, or at shutdown.
//!
//! Each direction is a reader and a writer joined by a delay line (a channel of chunks,
//! each with the time it may leave). The reader takes room from the direction's byte
//! budget before every read and the writer gives it back once the bytes are written,
//! so a direction never holds more than the budget, and a full one is simply not read.
//! Both directions of a connection run in one task on borrowed socket halves, so that
//! when a reset comes the task still owns both sockets and can close them abortively.

use super::stats::{ConnectionGuard, ProxyStats};
use super::{Direction, Faults, Shared, Stall};
use bytes::{Bytes, BytesMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

/// Largest single read.
const READ_CHUNK: usize = 16 * 1024;
/// Longest wait for the upstream connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The token bucket holds at least this many bytes (about one Ethernet segment), so a
/// small message is never split by a low cap.
pub const MIN_BURST_BYTES: f64 = 1460.0;
/// ... or this much time at the capped rate, if more.
const BURST_TIME: Duration = Duration::from_millis(20);

/// How a connection ended.
#[derive(Debug)]
enum End {
    /// Both directions finished (end of stream each way, or a write failed).
    Finished,
    /// The proxy is shutting down.
    Shutdown,
    /// A reset fault fired: cut both sides.
    Reset,
    /// A side failed (reset by its peer): pass the abortive close on.
    Abort,
}

/// Serves one accepted connection until it ends; never panics on network errors.
pub(super) async fn serve(mut client: TcpStream, index: u64, shared: Arc<Shared>) {
    let _open = ConnectionGuard::open(&shared.stats);
    // What was read of the first request to look at it, relayed ahead of the rest.
    let mut head = Vec::new();
    if shared.config.refuse_upgrades {
        let first = tokio::select! {
            () = shared.cancel.cancelled() => return,
            first = first_request(&mut client) => first,
        };
        match first {
            FirstRequest::Upgrade => {
                let _ = tokio::time::timeout(CONNECT_TIMEOUT, client.write_all(UPGRADE_REFUSED.as_bytes())).await;
                let _ = client.shutdown().await;
                shared.stats.upgrade_refused();
                return;
            }
            FirstRequest::Other(bytes) => head = bytes,
            FirstRequest::Gone => return,
        }
    }
    let connecting = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(shared.config.upstream.as_str()));
    let mut upstream = tokio::select! {
        () = shared.cancel.cancelled() => return,
        connected = connecting => match connected {
            Ok(Ok(upstream)) => upstream,
            Ok(Err(error)) => {
                tracing::debug!(%error, upstream = %shared.config.upstream, "proxy could not connect upstream");
                shared.stats.upstream_failed();
                abort(&client);
                return;
            }
            Err(_) => {
                tracing::debug!(upstream = %shared.config.upstream, "proxy upstream connect timed out");
                shared.stats.upstream_failed();
                abort(&client);
                return;
            }
        },
    };
    // The proxy's writes are timed on purpose: Nagle would only add its own delays.
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    if !head.is_empty() {
        if upstream.write_all(&head).await.is_err() {
            abort(&client);
            return;
        }
        shared.stats.relayed(Direction::Up, head.len() as u64);
    }

    let mut rng = fastrand::Rng::with_seed(connection_seed(shared.config.seed, index));
    let lifetime = shared
        .config
        .resets
        .mean_lifetime
        .map(|mean| exponential(&mut rng, mean));
    let relayed = AtomicU64::new(0);
    let end = {
        let (client_read, client_write) = client.split();
        let (upstream_read, upstream_write) = upstream.split();
        let up = Pipe {
            direction: Direction::Up,
            faults: shared.config.up,
            rng: rng.fork(),
            shared: &shared,
            relayed: &relayed,
        };
        let down = Pipe {
            direction: Direction::Down,
            faults: shared.config.down,
            rng: rng.fork(),
            shared: &shared,
            relayed: &relayed,
        };
        let both = async {
            tokio::try_join!(
                up.run(client_read, upstream_write),
                down.run(upstream_read, client_write)
            )
        };
        let cut = async {
            match lifetime {
                Some(lifetime) => tokio::time::sleep(lifetime).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = shared.cancel.cancelled() => End::Shutdown,
            () = cut => End::Reset,
            relayed = both => match relayed {
                Ok(_) => End::Finished,
                Err(end) => end,
            },
        }
    };
    tracing::debug!(
        index,
        ?end,
        bytes = relayed.load(Ordering::Relaxed),
        "proxy connection ended"
    );
    match end {
        End::Finished | End::Shutdown => {}
        End::Reset => {
            shared.stats.reset_done();
            abort(&client);
            abort(&upstream);
        }
        End::Abort => {
            abort(&client);
            abort(&upstream);
        }
    }
}

/// The answer to a refused WebSocket upgrade, as a corporate proxy might give it.
const UPGRADE_REFUSED: &str = "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 45\r\nConnection: close\r\n\r\nwebsocket upgrades are blocked by this proxy\n";
/// Most bytes of a request head the proxy reads to look for an upgrade.
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// What a connection's first request is.
#[derive(Debug, PartialEq, Eq)]
enum FirstRequest {
    /// A WebSocket upgrade.
    Upgrade,
    /// Anything else (or not HTTP at all, or a head too long to look at): these bytes,
    /// to relay first.
    Other(Vec<u8>),
    /// The client closed, or sent no whole head in time.
    Gone,
}

/// Reads the client's first request head (up to the blank line) and tells whether it
/// asks for a WebSocket upgrade.
async fn first_request(client: &mut TcpStream) -> FirstRequest {
    let mut head = Vec::new();
    let reading = async {
        loop {
            let mut chunk = [0u8; 2048];
            match client.read(&mut chunk).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => head.extend_from_slice(&chunk[..n]),
            }
            // TLS, or something else that is not a request line: nothing to look at.
            let looks_like_http = head.iter().take_while(|b| **b != b' ').all(u8::is_ascii_uppercase);
            if !looks_like_http || head.windows(4).any(|w| w == b"\r\n\r\n") || head.len() >= MAX_HEAD_BYTES {
                return true;
            }
        }
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, reading).await {
        Ok(true) if asks_for_websocket(&head) => FirstRequest::Upgrade,
        Ok(true) => FirstRequest::Other(head),
        Ok(false) | Err(_) => FirstRequest::Gone,
    }
}

/// Whether a request head carries `Upgrade: websocket`.
fn asks_for_websocket(head: &[u8]) -> bool {
    let end = head.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(head.len());
    String::from_utf8_lossy(&head[..end]).lines().skip(1).any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("upgrade") && value.to_ascii_lowercase().contains("websocket")
        })
    })
}

/// Makes the socket's close a TCP reset (`SO_LINGER` 0) once it is dropped.
fn abort(stream: &TcpStream) {
    if let Err(error) = stream.set_zero_linger() {
        tracing::debug!(%error, "could not set SO_LINGER 0");
    }
}

/// A seed per connection: the run's seed mixed with the accept index (splitmix64).
fn connection_seed(seed: u64, index: u64) -> u64 {
    let mut z = seed ^ index.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A draw from the exponential distribution with this mean.
pub(super) fn exponential(rng: &mut fastrand::Rng, mean: Duration) -> Duration {
    // 1 - u is in (0, 1], so the logarithm is finite.
    let u = 1.0 - rng.f64();
    mean.mul_f64(-u.ln())
}

/// A chunk read and not yet written.
struct Chunk {
    bytes: Bytes,
    /// When the proxy read it.
    read_at: Instant,
    /// Not written before this: read time plus delay and jitter, but never before the
    /// chunk ahead of it.
    release_at: Instant,
}

/// One direction of one connection.
struct Pipe<'a> {
    direction: Direction,
    faults: Faults,
    rng: fastrand::Rng,
    shared: &'a Shared,
    /// Bytes relayed over the connection, both directions: for `Resets::after_bytes`.
    relayed: &'a AtomicU64,
}

impl Pipe<'_> {
    /// Relays `from` to `to` until `from` ends and everything read is written (then
    /// `to` is shut down for writing) or a write fails (`Ok` too: this direction is
    /// over, the other may still finish). A read error or a byte-count reset is `Err`:
    /// the connection ends at once.
    async fn run(self, from: ReadHalf<'_>, mut to: WriteHalf<'_>) -> Result<(), End> {
        let Pipe {
            direction,
            faults,
            mut rng,
            shared,
            relayed,
        } = self;
        let stats = &shared.stats;
        let budget = Semaphore::new(shared.config.buffer_bytes);
        // Bytes read and not yet written: what the budget bounds.
        let in_flight = AtomicU64::new(0);
        let (chunks, mut pending) = mpsc::unbounded_channel::<Chunk>();
        let line = DelayLine {
            chunks,
            budget: &budget,
            in_flight: &in_flight,
            faults: &faults,
            stats,
            direction,
        };
        let read = line.fill(from, &mut rng);
        let write = async {
            let mut cap = faults.bandwidth_kbps.map(|kbps| TokenBucket::new(kbps, Instant::now()));
            let limit = shared.config.resets.after_bytes;
            while let Some(chunk) = pending.recv().await {
                tokio::time::sleep_until(chunk.release_at).await;
                let mut rest = &chunk.bytes[..];
                let mut first = true;
                while !rest.is_empty() {
                    if let Some(stall) = faults.stall {
                        wait_out_stalls(&stall, shared.epoch).await;
                    }
                    let mut piece = rest.len();
                    if let Some(cap) = &mut cap {
                        piece = cap.take(piece).await;
                    }
                    if let Some(limit) = limit {
                        let left = limit.saturating_sub(relayed.load(Ordering::Relaxed));
                        if left == 0 {
                            return Err(End::Reset);
                        }
                        piece = piece.min(usize::try_from(left).unwrap_or(usize::MAX));
                    }
                    if first {
                        stats.held(direction, chunk.read_at.elapsed());
                        first = false;
                    }
                    if let Err(error) = to.write_all(&rest[..piece]).await {
                        tracing::debug!(%error, %direction, "proxy write failed");
                        return Ok(());
                    }
                    rest = &rest[piece..];
                    relayed.fetch_add(piece as u64, Ordering::Relaxed);
                    stats.relayed(direction, piece as u64);
                    if limit.is_some_and(|limit| relayed.load(Ordering::Relaxed) >= limit) {
                        return Err(End::Reset);
                    }
                }
                budget.add_permits(chunk.bytes.len());
                in_flight.fetch_sub(chunk.bytes.len() as u64, Ordering::Relaxed);
            }
            let _ = to.shutdown().await;
            Ok(())
        };
        tokio::pin!(read, write);
        let mut reading = true;
        loop {
            tokio::select! {
                read = &mut read, if reading => {
                    read?;
                    reading = false;
                }
                written = &mut write => return written,
            }
        }
    }
}

/// The reading end of one direction's delay line.
struct DelayLine<'a> {
    chunks: mpsc::UnboundedSender<Chunk>,
    /// Room left in the direction's buffer, in bytes.
    budget: &'a Semaphore,
    in_flight: &'a AtomicU64,
    faults: &'a Faults,
    stats: &'a ProxyStats,
    direction: Direction,
}

impl DelayLine<'_> {
    /// Reads `from` into the line until it ends (`Ok`) or fails (`Err`), taking room
    /// from the budget before each read.
    async fn fill(self, mut from: ReadHalf<'_>, rng: &mut fastrand::Rng) -> Result<(), End> {
        let mut buffer = BytesMut::new();
        let mut last_release: Option<Instant> = None;
        loop {
            // Room first: a full direction is not read, which is the backpressure. This
            // is the budget's only taker, so whatever room it sees is there to take;
            // with none, it waits for the writer to free some.
            let room = self.budget.available_permits().clamp(1, READ_CHUNK);
            let Ok(permit) = self.budget.acquire_many(room as u32).await else {
                return Ok(());
            };
            permit.forget();
            buffer.reserve(room);
            let read = (&mut from).take(room as u64).read_buf(&mut buffer).await;
            let n = match read {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(error) => {
                    tracing::debug!(%error, direction = %self.direction, "proxy read failed");
                    return Err(End::Abort);
                }
            };
            self.budget.add_permits(room - n);
            let held = self.in_flight.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
            self.stats.buffered(self.direction, held);
            let read_at = Instant::now();
            let delay = jittered(self.faults, rng);
            let release_at = last_release.map_or(read_at + delay, |last| last.max(read_at + delay));
            last_release = Some(release_at);
            let chunk = Chunk {
                bytes: buffer.split().freeze(),
                read_at,
                release_at,
            };
            if self.chunks.send(chunk).is_err() {
                // The writer is gone (its side failed): nothing more to relay this way.
                return Ok(());
            }
        }
    }
}

/// `delay` plus a uniform draw in `[-jitter, +jitter]`, at least zero.
fn jittered(faults: &Faults, rng: &mut fastrand::Rng) -> Duration {
    if faults.jitter.is_zero() {
        return faults.delay;
    }
    let jitter = i64::try_from(faults.jitter.as_micros()).unwrap_or(i64::MAX);
    let delay = i64::try_from(faults.delay.as_micros()).unwrap_or(i64::MAX);
    let micros = delay.saturating_add(rng.i64(-jitter..=jitter)).max(0);
    Duration::from_micros(micros as u64)
}

/// Sleeps until no stall is on.
async fn wait_out_stalls(stall: &Stall, epoch: Instant) {
    while let Some(until) = stall.ends_after(epoch, Instant::now()) {
        tokio::time::sleep_until(until).await;
    }
}

/// A token bucket in bytes: fills at the capped rate up to its burst.
#[derive(Debug)]
pub(super) struct TokenBucket {
    /// Bytes per second.
    rate: f64,
    /// Most tokens held.
    burst: f64,
    tokens: f64,
    filled_at: Instant,
}

impl TokenBucket {
    /// A full bucket for `kbps` kbit/s.
    pub(super) fn new(kbps: u32, now: Instant) -> TokenBucket {
        let rate = f64::from(kbps) * 1000.0 / 8.0;
        let burst = (rate * BURST_TIME.as_secs_f64()).max(MIN_BURST_BYTES);
        TokenBucket {
            rate,
            burst,
            tokens: burst,
            filled_at: now,
        }
    }

    fn fill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.filled_at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.filled_at = now;
    }

    /// How many of `want` bytes may go now, if at least `min(want, burst)` may; else
    /// how long until then.
    pub(super) fn try_take(&mut self, want: usize, now: Instant) -> Result<usize, Duration> {
        self.fill(now);
        let need = (want as f64).min(self.burst.floor()).max(1.0);
        if self.tokens >= need {
            let granted = (self.tokens.floor() as usize).min(want);
            self.tokens -= granted as f64;
            Ok(granted)
        } else {
            Err(Duration::from_secs_f64((need - self.tokens) / self.rate))
        }
    }

    /// Waits until some of `want` bytes may go and returns how many.
    async fn take(&mut self, want: usize) -> usize {
        loop {
            match self.try_take(want, Instant::now()) {
                Ok(granted) => return granted,
                Err(wait) => tokio::time::sleep(wait).await,
            }
        }
    }
}
