//! The send floor: what a server that does nothing but send the same bytes to the same
//! number of WebSocket clients at the same rate costs this machine.
//!
//! A game sync server with one TCP socket per client cannot spend less CPU than the
//! kernel charges it for those sends (on loopback the sender's context also runs the
//! receiver's TCP processing) plus its wake-ups. This example measures that floor with
//! no game, no encoding and no per-client work: one payload is built once and sent to
//! every client at every snapshot.
//!
//! One binary, two roles:
//!
//! - `serve --port P --clients N --payload BYTES --rate HZ --mode MODE [--read]` accepts N
//!   WebSocket clients (a real RFC 6455 handshake, tungstenite's `accept` on a std
//!   `TcpStream`, `TCP_NODELAY` on as tickcast sets it), then every 1/HZ s sends each one
//!   binary message of BYTES payload bytes (an unmasked server frame). Modes:
//!   - `bare`: one thread, blocking `write_all`s of the pre-built frame (header and
//!     payload) onto each raw socket: one syscall per client per snapshot and no framing
//!     work at all, the absolute floor;
//!   - `tasks`: a tokio multi-thread runtime with 2 workers (as the server runs on this
//!     machine), one task per client owning a `tokio_tungstenite::WebSocketStream`, woken
//!     through a `tokio::sync::watch` of the payload (`Bytes`) and calling
//!     `send(Message::Binary(..))`: the shape of tickcast's per-connection writer with
//!     zero per-client encoding.
//!
//!   `--read` also reads and discards what the clients send. In mode `tasks` each client
//!   gets a reader task, as tickcast's connections do (the socket split in two halves).
//!   In mode `bare` the sockets are made non-blocking and the one thread drains each of
//!   them once per snapshot before writing: the cheapest read path there is (inputs read
//!   in batches, never a wake-up of their own), so a lower bound on reading too. A
//!   socket whose send buffer is full then stalls the loop in 1 ms sleeps, as a blocking
//!   write would.
//!
//!   It prints JSON lines on stdout: `listening`, `sending` once all clients joined, and
//!   `result` after `--seconds` of measured sending (after `--warmup`) or on SIGTERM /
//!   Ctrl-C: its own CPU seconds over the measured window (utime + stime of
//!   `/proc/self/stat`, all threads), frames and bytes sent.
//!
//! - `watch --url ws://127.0.0.1:P/ --clients N --seconds S [--warmup W] [--input-rate HZ
//!   --input-bytes B]`: N WebSocket clients in one tokio process, each reading and
//!   discarding frames and counting them, and optionally sending a B-byte binary input at
//!   HZ (an arena-like load). It prints JSON lines: `connected`, `window_start`,
//!   `window_end` and `result` (frames/s and payload kbit/s per client over the window),
//!   the events `benches/peer.py` reads from the Colyseus clients too.
//!
//! `benches/peer.py --floor` runs it beside tickcast; see `benches/peer/README.md`.
//!
//! ```text
//! cargo build --release -p tickcast-benches --example send_floor
//! target/release/examples/send_floor serve --port 17990 --clients 100 --payload 460 --rate 20 --mode bare --seconds 20 --warmup 3 &
//! target/release/examples/send_floor watch --url ws://127.0.0.1:17990/ --clients 100 --warmup 3 --seconds 20
//! ```

use anyhow::{Context, bail};
use bytes::Bytes;
use clap::{Args, Parser, Subcommand, ValueEnum};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};

/// Clock ticks per second of `/proc/*/stat`'s utime and stime: USER_HZ, fixed at 100 by
/// the Linux ABI on x86-64 and arm64 (asking `sysconf` would need `unsafe`, which the
/// workspace forbids).
const USER_HZ: f64 = 100.0;
/// How long a joining client may take over its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Client handshakes in flight at once: the server accepts them one at a time, and a
/// listener's backlog is finite.
const CONNECTS_IN_FLIGHT: usize = 32;
/// After SIGTERM: how long the sender may take to stop and report before it exits anyway.
const STOP_GRACE: Duration = Duration::from_secs(5);

#[derive(Parser)]
#[command(about = "the send floor: a server that only sends, and the clients it sends to")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Accept N clients, then send each a pre-built binary message at the rate.
    Serve(ServeArgs),
    /// N clients that read and count what they receive (and optionally send inputs).
    Watch(WatchArgs),
}

#[derive(Args)]
struct ServeArgs {
    /// Port on 127.0.0.1 to listen on.
    #[arg(long)]
    port: u16,
    /// Clients to accept before sending starts.
    #[arg(long)]
    clients: usize,
    /// Payload bytes per message (the WebSocket header comes on top).
    #[arg(long)]
    payload: usize,
    /// Messages per second to each client.
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
    /// How the sends are made.
    #[arg(long, value_enum)]
    mode: Mode,
    /// Also read and discard what clients send.
    #[arg(long)]
    read: bool,
    /// Seconds of sending after the warm-up before reporting and exiting (default: until
    /// SIGTERM or Ctrl-C).
    #[arg(long)]
    seconds: Option<f64>,
    /// Seconds of sending left out of the measured window.
    #[arg(long, default_value_t = 0.0)]
    warmup: f64,
    /// Seconds to wait for all clients to join.
    #[arg(long, default_value_t = 60.0)]
    accept_timeout: f64,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// One thread, blocking write_all of the pre-built frame to each raw socket.
    Bare,
    /// A tokio task per client owning a WebSocketStream, woken through a watch channel.
    Tasks,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Bare => "bare",
            Mode::Tasks => "tasks",
        }
    }
}

#[derive(Args)]
struct WatchArgs {
    /// The server's WebSocket URL.
    #[arg(long)]
    url: String,
    /// Clients to connect.
    #[arg(long)]
    clients: usize,
    /// Seconds measured after the warm-up.
    #[arg(long)]
    seconds: f64,
    /// Seconds after the last client joined that are left out.
    #[arg(long, default_value_t = 0.0)]
    warmup: f64,
    /// Inputs per second each client sends (0: none).
    #[arg(long, default_value_t = 0.0)]
    input_rate: f64,
    /// Payload bytes per input.
    #[arg(long, default_value_t = 24)]
    input_bytes: usize,
    /// Seconds to wait for all clients to join.
    #[arg(long, default_value_t = 60.0)]
    connect_timeout: f64,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Serve(args) => serve(args),
        Command::Watch(args) => watch(args),
    }
}

/// One line of JSON on stdout, flushed at once (a pipe reader waits on it).
fn emit(value: serde_json::Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{value}");
    let _ = out.flush();
}

/// User + system CPU seconds this process (all its threads) has used so far.
fn cpu_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").context("reading /proc/self/stat")?;
    // The command name (field 2) may hold spaces; the fields after its `)` do not.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let tick = |index: usize| -> anyhow::Result<f64> {
        let field = fields.get(index).context("a short /proc/self/stat")?;
        Ok(field.parse::<u64>().context("a field of /proc/self/stat")? as f64)
    };
    // utime and stime are fields 14 and 15: 11 and 12 after the command name.
    Ok((tick(11)? + tick(12)?) / USER_HZ)
}

// --- serve -------------------------------------------------------------------------------

/// What the senders count, shared by every thread.
#[derive(Default)]
struct Sent {
    frames: AtomicU64,
    wire_bytes: AtomicU64,
    read_bytes: AtomicU64,
    read_messages: AtomicU64,
    dropped: AtomicUsize,
}

/// Marks the start of the measured window: CPU and counters at that instant.
struct Mark {
    at: Instant,
    cpu: f64,
    frames: u64,
    wire_bytes: u64,
    read_bytes: u64,
    read_messages: u64,
}

impl Mark {
    fn now(sent: &Sent) -> anyhow::Result<Self> {
        Ok(Self {
            at: Instant::now(),
            cpu: cpu_seconds()?,
            frames: sent.frames.load(Ordering::Relaxed),
            wire_bytes: sent.wire_bytes.load(Ordering::Relaxed),
            read_bytes: sent.read_bytes.load(Ordering::Relaxed),
            read_messages: sent.read_messages.load(Ordering::Relaxed),
        })
    }
}

/// When the sending loop should stop: `--seconds` after the warm-up, or a signal.
struct Schedule {
    period: Duration,
    warmup: Duration,
    seconds: Option<Duration>,
    stop: Arc<AtomicBool>,
}

impl Schedule {
    /// Runs `round` once per period, on absolute deadlines (a late round does not push
    /// the next ones back; rounds missed entirely are skipped). Returns the mark taken at
    /// the end of the warm-up (or at the first round after it).
    fn run(&self, sent: &Sent, mut round: impl FnMut() -> bool) -> anyhow::Result<Mark> {
        let started = Instant::now();
        let mut mark = None;
        let mut next = started;
        loop {
            let now = Instant::now();
            if mark.is_none() && now >= started + self.warmup {
                mark = Some(Mark::now(sent)?);
            }
            if self.stop.load(Ordering::Relaxed) {
                break;
            }
            if let (Some(mark), Some(seconds)) = (&mark, self.seconds)
                && now >= mark.at + seconds
            {
                break;
            }
            if now < next {
                std::thread::sleep(next - now);
                continue;
            }
            if !round() {
                eprintln!("send_floor: every client has gone");
                break;
            }
            next += self.period;
            let now = Instant::now();
            while next <= now {
                next += self.period;
            }
        }
        match mark {
            Some(mark) => Ok(mark),
            None => Mark::now(sent),
        }
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    if args.clients == 0 || args.rate <= 0.0 || !args.rate.is_finite() {
        bail!("--clients must be positive and --rate above zero");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let sending = Arc::new(AtomicBool::new(false));
    watch_signals(Arc::clone(&stop), Arc::clone(&sending))?;
    let listener =
        TcpListener::bind(("127.0.0.1", args.port)).with_context(|| format!("binding port {}", args.port))?;
    emit(json!({"event": "listening", "port": listener.local_addr()?.port()}));
    let sockets = accept_all(&listener, args.clients, Duration::from_secs_f64(args.accept_timeout))?;
    drop(listener);

    // The payload's contents do not matter to TCP; random bytes keep it honest.
    let mut payload = vec![0u8; args.payload];
    fastrand::fill(&mut payload);
    let payload = Bytes::from(payload);
    let mut frame = Vec::with_capacity(args.payload + 14);
    Frame::message(payload.clone(), OpCode::Data(Data::Binary), true)
        .format(&mut frame)
        .context("formatting the frame")?;

    let schedule = Schedule {
        period: Duration::from_secs_f64(1.0 / args.rate),
        warmup: Duration::from_secs_f64(args.warmup),
        seconds: args.seconds.map(Duration::from_secs_f64),
        stop: Arc::clone(&stop),
    };
    let sent = Arc::new(Sent::default());
    emit(
        json!({"event": "sending", "clients": sockets.len(), "mode": args.mode.name(),
                "payload_bytes": args.payload, "frame_bytes": frame.len(), "rate_hz": args.rate}),
    );
    sending.store(true, Ordering::Relaxed);
    let mark = match args.mode {
        Mode::Bare => send_bare(sockets, &frame, args.read, &schedule, &sent)?,
        Mode::Tasks => send_tasks(sockets, payload, args.read, &schedule, &sent)?,
    };
    let seconds = mark.at.elapsed().as_secs_f64();
    let cpu = cpu_seconds()? - mark.cpu;
    let frames = sent.frames.load(Ordering::Relaxed) - mark.frames;
    emit(json!({
        "event": "result",
        "mode": args.mode.name(),
        "read": args.read,
        "clients": args.clients,
        "clients_dropped": sent.dropped.load(Ordering::Relaxed),
        "payload_bytes": args.payload,
        "frame_bytes": frame.len(),
        "rate_hz": args.rate,
        "window_s": seconds,
        "cpu_s": cpu,
        "cpu_pct_of_core": 100.0 * cpu / seconds.max(1e-9),
        "frames": frames,
        "frames_per_s_per_client": frames as f64 / seconds.max(1e-9) / args.clients as f64,
        "wire_bytes": sent.wire_bytes.load(Ordering::Relaxed) - mark.wire_bytes,
        "payload_bytes_sent": frames * args.payload as u64,
        "read_bytes": sent.read_bytes.load(Ordering::Relaxed) - mark.read_bytes,
        "read_messages": sent.read_messages.load(Ordering::Relaxed) - mark.read_messages,
    }));
    Ok(())
}

/// SIGTERM and Ctrl-C: before sending starts the process exits at once (nothing to
/// report); once it sends, they ask the loop to stop and report, and end the process
/// anyway `STOP_GRACE` later.
fn watch_signals(stop: Arc<AtomicBool>, sending: Arc<AtomicBool>) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the signal runtime")?;
    // Registered here, before anything is accepted, so that no early SIGTERM is missed.
    let (mut term, mut int) = runtime.block_on(async {
        Ok::<_, std::io::Error>((signal(SignalKind::terminate())?, signal(SignalKind::interrupt())?))
    })?;
    std::thread::spawn(move || {
        runtime.block_on(async {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        });
        if !sending.load(Ordering::Relaxed) {
            eprintln!("send_floor: stopped before every client joined");
            std::process::exit(1);
        }
        stop.store(true, Ordering::Relaxed);
        std::thread::sleep(STOP_GRACE);
        eprintln!("send_floor: the senders did not stop within {STOP_GRACE:?}");
        std::process::exit(1);
    });
    Ok(())
}

/// Accepts `count` WebSocket clients, one handshake at a time. A connection whose
/// handshake fails (a port probe, a plain HTTP request) is logged and not counted; one
/// that sent a request that is not a valid upgrade is answered 400 (tungstenite drops
/// the socket without an answer, so the answer goes out on a clone of it).
fn accept_all(listener: &TcpListener, count: usize, timeout: Duration) -> anyhow::Result<Vec<TcpStream>> {
    let deadline = Instant::now() + timeout;
    listener.set_nonblocking(true)?;
    let mut sockets = Vec::with_capacity(count);
    while sockets.len() < count {
        let (socket, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(error) if error.kind() == ErrorKind::WouldBlock => {
                if Instant::now() > deadline {
                    bail!("only {} of {count} clients joined within {timeout:?}", sockets.len());
                }
                std::thread::sleep(Duration::from_millis(2));
                continue;
            }
            Err(error) => return Err(error).context("accepting a client"),
        };
        socket.set_nonblocking(false)?;
        socket.set_nodelay(true)?;
        socket.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
        socket.set_write_timeout(Some(HANDSHAKE_TIMEOUT))?;
        let mut answer = socket.try_clone().context("cloning a socket")?;
        match tungstenite::accept(socket) {
            Ok(ws) => {
                let socket = ws.into_inner();
                socket.set_read_timeout(None)?;
                socket.set_write_timeout(None)?;
                sockets.push(socket);
            }
            Err(error) => {
                eprintln!("send_floor: a handshake from {peer} failed: {error}");
                if !matches!(&error, tungstenite::HandshakeError::Failure(tungstenite::Error::Io(_))) {
                    let _ =
                        answer.write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
                }
            }
        }
    }
    Ok(sockets)
}

/// Mode `bare`: this thread writes the pre-built frame to every socket once a period.
fn send_bare(
    mut sockets: Vec<TcpStream>,
    frame: &[u8],
    read: bool,
    schedule: &Schedule,
    sent: &Sent,
) -> anyhow::Result<Mark> {
    for socket in &sockets {
        socket.set_nonblocking(read)?;
    }
    let mut scratch = vec![0u8; 64 * 1024];
    schedule.run(sent, || {
        let mut index = 0;
        while index < sockets.len() {
            let socket = &mut sockets[index];
            let alive = (!read || drain(socket, &mut scratch, sent)) && write_frame(socket, frame, read);
            if alive {
                sent.frames.fetch_add(1, Ordering::Relaxed);
                sent.wire_bytes.fetch_add(frame.len() as u64, Ordering::Relaxed);
                index += 1;
            } else {
                sockets.swap_remove(index);
                sent.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        !sockets.is_empty()
    })
}

/// Reads whatever a non-blocking socket holds; false once the peer has closed or failed.
fn drain(socket: &mut TcpStream, scratch: &mut [u8], sent: &Sent) -> bool {
    loop {
        match socket.read(scratch) {
            Ok(0) => return false,
            Ok(n) => {
                sent.read_bytes.fetch_add(n as u64, Ordering::Relaxed);
            }
            Err(error) if error.kind() == ErrorKind::WouldBlock => return true,
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

/// Writes the whole frame; on a non-blocking socket with a full send buffer it waits in
/// 1 ms sleeps, as a blocking write would. False if the socket failed.
fn write_frame(socket: &mut TcpStream, frame: &[u8], nonblocking: bool) -> bool {
    if !nonblocking {
        return socket.write_all(frame).is_ok();
    }
    let mut written = 0;
    while written < frame.len() {
        match socket.write(&frame[written..]) {
            Ok(0) => return false,
            Ok(n) => written += n,
            Err(error) if error.kind() == ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(1)),
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    true
}

/// One client's writer in mode `tasks`: sends each payload the `watch` publishes until
/// the channel closes or a send fails, counting what went.
async fn send_each<S>(sink: &mut S, snapshots: &mut tokio::sync::watch::Receiver<Bytes>, sent: &Sent, frame_bytes: u64)
where
    S: futures_util::Sink<Message> + Unpin,
{
    while snapshots.changed().await.is_ok() {
        let payload = snapshots.borrow_and_update().clone();
        if sink.send(Message::Binary(payload)).await.is_err() {
            sent.dropped.fetch_add(1, Ordering::Relaxed);
            break;
        }
        sent.frames.fetch_add(1, Ordering::Relaxed);
        sent.wire_bytes.fetch_add(frame_bytes, Ordering::Relaxed);
    }
}

/// Mode `tasks`: a task per client on a 2-worker runtime, woken by a watch channel that
/// this thread (standing in for the room's thread) publishes the payload on.
fn send_tasks(
    sockets: Vec<TcpStream>,
    payload: Bytes,
    read: bool,
    schedule: &Schedule,
    sent: &Arc<Sent>,
) -> anyhow::Result<Mark> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    // tickcast's own buffer settings (`[limits]` in assets/server.toml, and its 1 KiB
    // read buffer: tungstenite zero-fills a read buffer's free space before every socket
    // read, which at the default 128 KiB costs more than the read).
    let config = WebSocketConfig::default()
        .write_buffer_size(64 * 1024)
        .max_write_buffer_size(1024 * 1024)
        .read_buffer_size(1024);
    let (publish, snapshots) = tokio::sync::watch::channel(payload.clone());
    let frame_bytes = (payload.len() + header_bytes(payload.len())) as u64;
    let mut writers = Vec::with_capacity(sockets.len());
    for socket in sockets {
        socket.set_nonblocking(true)?;
        let _entered = runtime.enter();
        let socket = tokio::net::TcpStream::from_std(socket).context("handing a socket to tokio")?;
        let (mut snapshots, sent) = (snapshots.clone(), Arc::clone(sent));
        writers.push(runtime.spawn(async move {
            let ws = WebSocketStream::from_raw_socket(socket, Role::Server, Some(config)).await;
            if read {
                let (mut sink, mut stream) = ws.split();
                let reader_sent = Arc::clone(&sent);
                let reader = tokio::spawn(async move {
                    while let Some(Ok(message)) = stream.next().await {
                        reader_sent.read_messages.fetch_add(1, Ordering::Relaxed);
                        reader_sent
                            .read_bytes
                            .fetch_add(message.len() as u64, Ordering::Relaxed);
                    }
                });
                send_each(&mut sink, &mut snapshots, &sent, frame_bytes).await;
                reader.abort();
            } else {
                let mut ws = ws;
                send_each(&mut ws, &mut snapshots, &sent, frame_bytes).await;
            }
        }));
    }
    drop(snapshots);
    let clients = writers.len();
    let mark = schedule.run(sent, || {
        // `send` fails only when every writer has gone.
        publish.send(payload.clone()).is_ok() && sent.dropped.load(Ordering::Relaxed) < clients
    })?;
    drop(publish);
    // The writers end on the closed channel; give them a moment, then leave the rest.
    runtime.block_on(async {
        let _ = tokio::time::timeout(Duration::from_secs(2), futures_util::future::join_all(writers)).await;
    });
    runtime.shutdown_background();
    Ok(mark)
}

/// Bytes of an unmasked server frame's header for a payload of `len` bytes (RFC 6455 5.2).
fn header_bytes(len: usize) -> usize {
    match len {
        0..=125 => 2,
        126..=65535 => 4,
        _ => 10,
    }
}

// --- watch -------------------------------------------------------------------------------

/// One client's counters, read by the window from the main task.
#[derive(Default)]
struct Seen {
    frames: AtomicU64,
    bytes: AtomicU64,
    inputs: AtomicU64,
    joined: AtomicBool,
    open: AtomicBool,
}

/// One client's counters at one instant.
struct Counts {
    frames: u64,
    bytes: u64,
    inputs: u64,
    open: bool,
}

impl Counts {
    fn of(seen: &Seen) -> Self {
        Self {
            frames: seen.frames.load(Ordering::Relaxed),
            bytes: seen.bytes.load(Ordering::Relaxed),
            inputs: seen.inputs.load(Ordering::Relaxed),
            open: seen.open.load(Ordering::Relaxed),
        }
    }
}

fn watch(args: WatchArgs) -> anyhow::Result<()> {
    if args.clients == 0 || args.seconds <= 0.0 || args.input_rate < 0.0 || !args.input_rate.is_finite() {
        bail!("--clients and --seconds must be positive, --input-rate at least zero");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(watch_clients(args))
}

async fn watch_clients(args: WatchArgs) -> anyhow::Result<()> {
    let seen: Arc<Vec<Seen>> = Arc::new((0..args.clients).map(|_| Seen::default()).collect());
    let settled = Arc::new(AtomicUsize::new(0));
    let in_flight = Arc::new(tokio::sync::Semaphore::new(CONNECTS_IN_FLIGHT));
    let input = Bytes::from(vec![0u8; args.input_bytes]);
    // A read buffer of 8 KiB rather than 128: tungstenite zero-fills its free space before
    // every read, which would make these clients the machine's largest load.
    let client_config = WebSocketConfig::default().read_buffer_size(8 * 1024);
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.connect_timeout);
    for index in 0..args.clients {
        let (seen, settled, in_flight) = (Arc::clone(&seen), Arc::clone(&settled), Arc::clone(&in_flight));
        let (url, input, input_rate) = (args.url.clone(), input.clone(), args.input_rate);
        tokio::spawn(async move {
            let permit = in_flight.acquire_owned().await;
            let connected = loop {
                let attempt = tokio::time::timeout(
                    HANDSHAKE_TIMEOUT * 2,
                    tokio_tungstenite::connect_async_with_config(url.as_str(), Some(client_config), true),
                )
                .await;
                // The server may not listen yet when the clients start: try again until
                // the deadline.
                match attempt {
                    Ok(Err(tungstenite::Error::Io(error)))
                        if error.kind() == ErrorKind::ConnectionRefused && Instant::now() < deadline =>
                    {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    attempt => break attempt,
                }
            };
            drop(permit);
            let me = &seen[index];
            let ws = match connected {
                Ok(Ok((ws, _))) => ws,
                Ok(Err(error)) => {
                    eprintln!("send_floor watch: client {index} could not join: {error}");
                    settled.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Err(_) => {
                    eprintln!("send_floor watch: client {index} timed out joining");
                    settled.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            };
            me.joined.store(true, Ordering::Relaxed);
            me.open.store(true, Ordering::Relaxed);
            settled.fetch_add(1, Ordering::Relaxed);
            let (mut sink, mut stream) = ws.split();
            let writer = (input_rate > 0.0).then(|| {
                let seen = Arc::clone(&seen);
                tokio::spawn(async move {
                    let period = Duration::from_secs_f64(1.0 / input_rate);
                    // A random phase, so that the clients' inputs do not all land at once.
                    let phase = period.mul_f64(fastrand::f64());
                    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + phase, period);
                    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                    loop {
                        ticks.tick().await;
                        if sink.send(Message::Binary(input.clone())).await.is_err() {
                            return;
                        }
                        seen[index].inputs.fetch_add(1, Ordering::Relaxed);
                    }
                })
            });
            while let Some(Ok(message)) = stream.next().await {
                if let Message::Binary(payload) = message {
                    me.frames.fetch_add(1, Ordering::Relaxed);
                    me.bytes.fetch_add(payload.len() as u64, Ordering::Relaxed);
                }
            }
            me.open.store(false, Ordering::Relaxed);
            if let Some(writer) = writer {
                writer.abort();
            }
        });
    }
    while settled.load(Ordering::Relaxed) < args.clients && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let joined = seen.iter().filter(|s| s.joined.load(Ordering::Relaxed)).count();
    emit(json!({"event": "connected", "clients": joined, "join_s": started.elapsed().as_secs_f64()}));
    if joined == 0 {
        bail!("no client could join {}", args.url);
    }
    tokio::time::sleep(Duration::from_secs_f64(args.warmup)).await;
    emit(json!({"event": "window_start"}));
    let window_started = Instant::now();
    let first: Vec<Counts> = seen.iter().map(Counts::of).collect();
    tokio::time::sleep(Duration::from_secs_f64(args.seconds)).await;
    let last: Vec<Counts> = seen.iter().map(Counts::of).collect();
    let seconds = window_started.elapsed().as_secs_f64();
    emit(json!({"event": "window_end"}));

    // The clients open as the window opened; those that closed within it are its drops.
    let measured: Vec<(&Counts, &Counts)> = first.iter().zip(&last).filter(|(a, _)| a.open).collect();
    let open_at_start = measured.len().max(1) as f64;
    let rate = |(a, b): &(&Counts, &Counts)| (b.frames - a.frames) as f64 / seconds;
    let frames: f64 = measured.iter().map(rate).sum();
    let slowest = measured.iter().map(rate).fold(f64::INFINITY, f64::min);
    let bytes: u64 = measured.iter().map(|(a, b)| b.bytes - a.bytes).sum();
    let inputs: u64 = measured.iter().map(|(a, b)| b.inputs - a.inputs).sum();
    let drops = measured.iter().filter(|(_, b)| !b.open).count();
    emit(json!({
        "event": "result",
        "clients_asked": args.clients,
        "clients_connected": joined,
        "window_s": seconds,
        "frames_per_s_per_client": frames / open_at_start,
        "frames_per_s_per_client_min": if slowest.is_finite() { slowest } else { 0.0 },
        "down_kbps_per_client": bytes as f64 * 8.0 / 1000.0 / seconds / open_at_start,
        "inputs_per_s_per_client": inputs as f64 / seconds / open_at_start,
        "drops_in_window": drops,
    }));
    Ok(())
}
