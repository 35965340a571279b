//! The swarm against a small in-process fake server on 127.0.0.1:0 that speaks the real
//! protocol and misbehaves on request: each misbehaviour must show in the report and
//! fail the verdict, and an honest server must pass. Runs are a couple of seconds long.
//!
//! Like the real server, the fake keeps per connection what the client holds (a
//! `BTreeMap<NetId, HeldEntity>`), encodes each body against it, then applies the delta
//! to it; and it counts what it sent, so the report's snapshot figures can be checked
//! exactly. It also counts the inputs it received and the socket reads that brought
//! them, which shows how many inputs each of the bots' writes carried.

use futures_util::{SinkExt, StreamExt};
use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tickcast_bots::{BotOptions, InputsPerWrite, SwarmConfig, SwarmReport, VerdictError, run_swarm_with};
use tickcast_shared::arena::{Health, Transform2};
use tickcast_shared::input::GameInput;
use tickcast_shared::{
    ClientMsg, ComponentState, Components, EntityState, Fields, HeldEntity, InputAck, NetId, PROTOCOL_VERSION,
    Replicate, ServerMsg, Tick, Welcome, apply, checksum, diff, encode_body,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const TICK_RATE: u16 = 20;
const SNAPSHOT_PERIOD: Duration = Duration::from_millis(100);
/// Ticks between snapshots at [`TICK_RATE`] and [`SNAPSHOT_PERIOD`]: 100 ms.
const TICKS_PER_SNAPSHOT: u32 = 2;

#[derive(Clone, Copy, Debug)]
enum Behaviour {
    Honest,
    LyingChecksums,
    NoAcks,
    AcksStuckAtFirstInput,
    ShutDownAfter(Duration),
    RefuseEveryone,
}

/// Snapshot frames every connection of one fake server sent, counted once sent.
#[derive(Debug, Default)]
struct Sent {
    frames: AtomicU64,
    bytes: AtomicU64,
    /// Bytes of the frames that changed at least one entity.
    changing_bytes: AtomicU64,
    /// Entities those frames spawned, updated or despawned.
    entities_changed: AtomicU64,
    /// Inputs received.
    inputs: AtomicU64,
    /// Socket reads that returned bytes, after each connection's `Hello`: the bots'
    /// inputs and close frames. A read takes whole TCP writes (the bots' are small and
    /// unsplit, with Nagle off), one or more, so there were at least as many writes.
    reads_after_hello: AtomicU64,
}

impl Sent {
    fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// The server's end of a connection, counting its reads into
/// [`Sent::reads_after_hello`] once `counting` is set.
struct CountingReads {
    stream: TcpStream,
    sent: Arc<Sent>,
    counting: bool,
}

impl AsyncRead for CountingReads {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if self.counting && matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.sent.reads_after_hello.fetch_add(1, Ordering::Relaxed);
        }
        polled
    }
}

impl AsyncWrite for CountingReads {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

type ServerSocket = tokio_tungstenite::WebSocketStream<CountingReads>;

struct FakeServer {
    url: String,
    sent: Arc<Sent>,
}

/// Serves until the test ends.
async fn fake_server(behaviour: Behaviour) -> FakeServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let sent = Arc::new(Sent::default());
    let counters = Arc::clone(&sent);
    tokio::spawn(async move {
        let mut client_id = 0;
        while let Ok((stream, _)) = listener.accept().await {
            client_id += 1;
            tokio::spawn(serve(stream, client_id, behaviour, Arc::clone(&counters)));
        }
    });
    FakeServer {
        url: format!("ws://{address}/ws"),
        sent,
    }
}

/// The world at snapshot `n`:
/// - 0, the client's player, moving along x every snapshot;
/// - 1, a drone that appears at snapshot 3, moves every snapshot and goes away at 8;
/// - 2, a pillar that never moves and loses health every 10 snapshots;
/// - 3, a drone whose moves reach the client only every 3rd snapshot (as when a tight
///   budget defers it).
fn world(n: u32) -> Vec<EntityState> {
    let entity = |index: u32, transform: [i32; 3], health: Option<i32>| {
        let component = |kind, fields: &[i32]| ComponentState {
            kind,
            fields: Fields::from_slice(fields),
        };
        let mut components = Components::new();
        components.push(component(Transform2::KIND, &transform));
        components.extend(health.map(|hp| component(Health::KIND, &[hp])));
        EntityState {
            id: NetId::from_parts(index, 1),
            components,
        }
    };
    let n = n as i32;
    let mut world = vec![entity(0, [n * 10, 0, 0], Some(100))];
    if (3..8).contains(&n) {
        world.push(entity(1, [0, n, 7], None));
    }
    world.push(entity(2, [500, 500, 0], Some(100 - n / 10)));
    world.push(entity(3, [n / 3 * 30, 0, 0], None));
    world
}

/// The ack for the next snapshot, given the last input received and the last ack sent.
fn next_ack(behaviour: Behaviour, last_input: Option<u32>, acked: &mut Option<u32>) -> InputAck {
    let seq = match (behaviour, last_input) {
        (Behaviour::NoAcks, _) | (_, None) => return InputAck::None,
        // The first input, once, and never another.
        (Behaviour::AcksStuckAtFirstInput, Some(_)) => 0,
        (_, Some(seq)) => seq,
    };
    let ack = match *acked {
        None => InputAck::Absolute(seq),
        Some(previous) if previous == seq => InputAck::None,
        Some(previous) => InputAck::Advance(seq.wrapping_sub(previous)),
    };
    *acked = Some(seq);
    ack
}

async fn serve(stream: TcpStream, client_id: u32, behaviour: Behaviour, sent: Arc<Sent>) {
    let stream = CountingReads {
        stream,
        sent: Arc::clone(&sent),
        counting: false,
    };
    let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let hello = match socket.next().await {
        Some(Ok(Message::Binary(bytes))) => ClientMsg::decode(&bytes),
        _ => return,
    };
    // The bot sends nothing more until the welcome, so no input shared a read with it.
    socket.get_mut().counting = true;
    assert!(matches!(hello, Ok(ClientMsg::Hello(ref hello)) if hello.name.starts_with("bot-")));
    if let Behaviour::RefuseEveryone = behaviour {
        close_and_drain(&mut socket, CloseCode::Policy, "room is full").await;
        return;
    }
    let welcome = ServerMsg::Welcome(Welcome {
        protocol_version: PROTOCOL_VERSION,
        client_id,
        player: Some(NetId::from_parts(0, 1)),
        tick_rate: TICK_RATE,
        snapshot_rate: 10,
        tick: Tick(0),
        schema: tickcast_shared::arena::schema(),
        resume: Vec::new(),
    });
    if socket
        .send(Message::Binary(welcome.encode().unwrap().into()))
        .await
        .is_err()
    {
        return;
    }
    let shutdown_at = match behaviour {
        Behaviour::ShutDownAfter(after) => tokio::time::Instant::now() + after,
        _ => tokio::time::Instant::now() + Duration::from_secs(3600),
    };
    let mut snapshots = tokio::time::interval(SNAPSHOT_PERIOD);
    let mut snapshot = 0u32;
    // What the client holds: what it was sent.
    let (mut held, mut held_checksum) = (BTreeMap::<NetId, HeldEntity>::new(), 0u32);
    let mut last_input: Option<u32> = None;
    let mut acked: Option<u32> = None;
    loop {
        tokio::select! {
            message = socket.next() => match message {
                Some(Ok(Message::Binary(bytes))) => {
                    let Ok(ClientMsg::Input(input)) = ClientMsg::decode(&bytes) else { panic!("not an input") };
                    assert_eq!(input.validate(tickcast_shared::arena::ArenaInput::FIELDS), Ok(()));
                    assert_eq!(input.seq, last_input.map_or(0, |seq| seq + 1), "seqs must count up from 0");
                    last_input = Some(input.seq);
                    sent.inputs.fetch_add(1, Ordering::Relaxed);
                }
                Some(Ok(Message::Close(_))) => {
                    // Let tungstenite send its answer to the client's close.
                    while socket.next().await.is_some() {}
                    return;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            },
            _ = snapshots.tick() => {
                let current = world(snapshot);
                let baseline: Vec<EntityState> = held.values().map(|entity| entity.state.clone()).collect();
                let delta = diff(&baseline, &current);
                let full = snapshot == 0;
                let mut sum = checksum(&current);
                if let Behaviour::LyingChecksums = behaviour {
                    sum ^= 1;
                }
                // Nothing changed: an empty body, without a checksum.
                let body = if delta.is_empty() && !full {
                    Vec::new()
                } else {
                    encode_body(Some(sum), &delta, &held, Vec::new())
                };
                apply(&mut held, &mut held_checksum, &delta).unwrap();
                assert_eq!(held_checksum, checksum(&current));
                let tick = if full { snapshot * TICKS_PER_SNAPSHOT } else { TICKS_PER_SNAPSHOT };
                let mut frame = Vec::new();
                let input_ack = next_ack(behaviour, last_input, &mut acked);
                ServerMsg::encode_snapshot_into(full, tick, input_ack, &body, &mut frame);
                let bytes = frame.len() as u64;
                if socket.send(Message::Binary(frame.into())).await.is_err() {
                    return;
                }
                sent.frames.fetch_add(1, Ordering::Relaxed);
                sent.bytes.fetch_add(bytes, Ordering::Relaxed);
                if !delta.is_empty() {
                    sent.changing_bytes.fetch_add(bytes, Ordering::Relaxed);
                    sent.entities_changed.fetch_add(delta.entities_changed() as u64, Ordering::Relaxed);
                }
                snapshot += 1;
            }
            _ = tokio::time::sleep_until(shutdown_at) => {
                close_and_drain(&mut socket, CloseCode::Away, "server shutting down").await;
                return;
            }
        }
    }
}

async fn close_and_drain(socket: &mut ServerSocket, code: CloseCode, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    if socket.close(Some(frame)).await.is_ok() {
        while socket.next().await.is_some() {}
    }
}

async fn swarm(url: String, bots: usize, duration_ms: u64) -> SwarmReport {
    swarm_with(url, bots, duration_ms, BotOptions::default()).await
}

async fn swarm_with(url: String, bots: usize, duration_ms: u64, options: BotOptions) -> SwarmReport {
    let config = SwarmConfig {
        url,
        bots,
        duration: Duration::from_millis(duration_ms),
        ramp: Duration::from_millis(200),
        seed: 7,
        show_progress: false,
        tls: Default::default(),
    };
    let report = run_swarm_with(config, options).await;
    println!("{}", report.table());
    report
}

#[tokio::test]
async fn an_honest_server_passes() {
    let server = fake_server(Behaviour::Honest).await;
    let report = swarm(server.url, 4, 2_000).await;
    assert_eq!(report.verdict(), Ok(()));
    assert_eq!(report.bots_connected, 4);
    // 2 s at 10 snapshots/s each, give or take the ramp and timer slack.
    assert!(report.snapshots_applied >= 4 * 15, "{report:?}");
    assert_eq!(report.checksums_verified, report.snapshots_applied);
    // 20 inputs/s each; the ones sent in the last second need not be acked.
    assert!(report.inputs_sent >= 4 * 35, "{report:?}");
    assert!(report.inputs_expected >= 4 * 35, "{report:?}");
    assert!(
        report.inputs_due >= 4 * 15 && report.inputs_due < report.inputs_sent,
        "{report:?}"
    );
    assert!(report.inputs_acked >= report.inputs_due, "{report:?}");
    assert!(report.rtt_ms.samples > 0 && report.rtt_ms.p50 > 0.0, "{report:?}");
    assert!(report.rtt_ms.p50 <= report.rtt_ms.p99 && report.rtt_ms.p99 <= report.rtt_ms.max);
    assert!(
        report.down_kbps_per_bot > 0.0 && report.up_kbps_per_bot > 0.0,
        "{report:?}"
    );
    assert!(report.bytes_down > 0 && report.bytes_up > 0);
    assert!(report.failures.is_empty(), "{:?}", report.failures);

    // The bots saw every frame the server sent (the late ones during the close too).
    let sent = &server.sent;
    assert_eq!(report.snapshots_applied, Sent::get(&sent.frames), "{report:?}");
    assert_eq!(
        report.bytes_per_snapshot,
        Sent::get(&sent.bytes) as f64 / Sent::get(&sent.frames) as f64
    );
    assert_eq!(
        report.bytes_per_changed_entity,
        Sent::get(&sent.changing_bytes) as f64 / Sent::get(&sent.entities_changed) as f64
    );
    assert!(
        report.bytes_per_changed_entity < report.bytes_per_snapshot,
        "{report:?}"
    );
    // Player, pillar and slow drone always; the other drone for 5 snapshots of ~20.
    assert!(
        report.entities_in_view > 3.0 && report.entities_in_view < 3.5,
        "{report:?}"
    );
    // 2 ticks at 20 Hz between moves of the player and the fast drone; 6 for the slow
    // drone; 10 snapshots between the pillar's hits, which are no staleness.
    let close_to = |actual: f64, expected: f64| (actual - expected).abs() <= expected * 0.002;
    let staleness = report.staleness_ms;
    assert!(
        close_to(staleness.p50, 100.0) && close_to(staleness.max, 300.0),
        "{staleness:?}"
    );
    let intervals = report.update_interval_ms;
    assert!(
        close_to(intervals.p50, 100.0) && close_to(intervals.max, 1000.0),
        "{intervals:?}"
    );
    assert!(intervals.samples > staleness.samples, "{report:?}");
}

#[tokio::test]
async fn inputs_batched_three_to_a_write_all_arrive_in_order_and_are_acked() {
    let server = fake_server(Behaviour::Honest).await;
    let options = BotOptions {
        inputs_per_write: InputsPerWrite::new(3).unwrap(),
        ..BotOptions::default()
    };
    let bots = 4;
    let report = swarm_with(server.url, bots, 2_000, options).await;
    assert_eq!(report.verdict(), Ok(()));
    assert_eq!(report.inputs_per_write, 3);
    assert_eq!(report.bots_connected, bots);
    assert_eq!(report.bots_failed, 0, "{:?}", report.failures);
    assert_eq!(report.checksum_mismatches, 0);
    assert_eq!(report.mirror_errors, 0);
    assert_eq!(report.checksums_verified, report.snapshots_applied);
    assert_eq!((report.bots_without_acks, report.bots_behind_on_acks), (0, 0));
    assert!(
        report.inputs_due > 0 && report.inputs_acked >= report.inputs_due,
        "{report:?}"
    );
    assert!(report.rtt_ms.samples > 0, "{report:?}");

    // The server checked that each bot's seqs count up from 0 without a gap, so no held
    // input was lost or reordered. It got every input counted as sent, and at most the
    // one write per bot that the deadline cut off more (its close frame carried them).
    let received = Sent::get(&server.sent.inputs);
    assert!(
        received >= report.inputs_sent && received <= report.inputs_sent + 3 * bots as u64,
        "server got {received} inputs, bots sent {}",
        report.inputs_sent
    );
    // Every write but each bot's last two (the inputs held at the deadline, the close
    // frame) carried 3 inputs, and a read takes at least one write. Flushing each input
    // would have made up to one read per input.
    let reads = Sent::get(&server.sent.reads_after_hello);
    assert!(
        reads > 0 && reads <= received / 3 + 2 * bots as u64,
        "{received} inputs came in {reads} reads"
    );
}

#[tokio::test]
async fn lying_checksums_are_counted_and_the_bots_keep_going() {
    let report = swarm(fake_server(Behaviour::LyingChecksums).await.url, 2, 1_500).await;
    assert_eq!(report.bots_failed, 0, "{:?}", report.failures);
    // Every snapshot mismatches, and the bots keep applying the ones after the first.
    assert!(report.checksum_mismatches >= 2 * 10, "{report:?}");
    assert_eq!(report.snapshots_applied, 0);
    assert!(
        report.mirror_error_samples[0].contains("checksum mismatch"),
        "{report:?}"
    );
    assert!(matches!(report.verdict(), Err(VerdictError::ChecksumMismatches { .. })));
}

#[tokio::test]
async fn a_server_that_never_acks_fails() {
    let report = swarm(fake_server(Behaviour::NoAcks).await.url, 2, 1_500).await;
    assert_eq!(report.inputs_acked, 0);
    assert_eq!(report.rtt_ms.samples, 0);
    assert_eq!(report.verdict(), Err(VerdictError::NoAcks { bots: 2, connected: 2 }));
}

#[tokio::test]
async fn a_server_whose_acks_stop_advancing_fails() {
    let report = swarm(fake_server(Behaviour::AcksStuckAtFirstInput).await.url, 2, 2_000).await;
    assert_eq!(report.inputs_acked, 2);
    assert!(report.inputs_due > 2, "{report:?}");
    assert_eq!(
        report.verdict(),
        Err(VerdictError::AcksBehind { bots: 2, connected: 2 })
    );
}

#[tokio::test]
async fn a_server_shutting_down_mid_run_fails_with_its_close_reason() {
    let report = swarm(
        fake_server(Behaviour::ShutDownAfter(Duration::from_millis(500)))
            .await
            .url,
        3,
        2_000,
    )
    .await;
    assert_eq!(report.bots_connected, 3);
    assert_eq!(report.bots_failed, 3);
    assert_eq!(
        report.failures,
        ["server closed the connection: close code 1001 (server shutting down)"]
    );
    let verdict = report.verdict().unwrap_err().to_string();
    assert!(
        verdict.contains("3 of 3 bots failed") && verdict.contains("1001"),
        "{verdict}"
    );
}

#[tokio::test]
async fn a_refused_session_fails_with_the_close_reason() {
    let report = swarm(fake_server(Behaviour::RefuseEveryone).await.url, 2, 1_000).await;
    assert_eq!(report.bots_connected, 0);
    assert_eq!(report.bots_failed, 2);
    assert_eq!(
        report.failures,
        ["server refused the session: close code 1008 (room is full)"]
    );
}

#[tokio::test]
async fn nothing_listening_fails_every_bot_without_hanging() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    drop(listener);
    let started = std::time::Instant::now();
    let report = swarm(url, 3, 1_000).await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(report.bots_connected, 0);
    assert_eq!(report.bots_failed, 3);
    assert!(report.failures[0].starts_with("connecting: "), "{:?}", report.failures);
    assert!(matches!(
        report.verdict(),
        Err(VerdictError::BotsFailed { failed: 3, bots: 3, .. })
    ));
}
