//! The swarm against a small in-process fake server on 127.0.0.1:0 that speaks the real
//! protocol and misbehaves on request: each misbehaviour must show in the report and
//! fail the verdict, and an honest server must pass. Runs are a couple of seconds long.

use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tickcast_bots::{SwarmConfig, SwarmReport, VerdictError, run_swarm};
use tickcast_shared::{
    ClientMsg, ComponentKind, ComponentState, Components, EntityState, Fields, NetId, PROTOCOL_VERSION, ServerMsg,
    SnapshotBody, SnapshotFrame, Tick, Welcome, checksum, diff,
};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const TICK_RATE: u16 = 20;
const SNAPSHOT_PERIOD: Duration = Duration::from_millis(100);

#[derive(Clone, Copy, Debug)]
enum Behaviour {
    Honest,
    LyingChecksums,
    NoAcks,
    AcksStuckAtFirstInput,
    ShutDownAfter(Duration),
    RefuseEveryone,
}

/// Serves until the test ends; returns the URL.
async fn fake_server(behaviour: Behaviour) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut client_id = 0;
        while let Ok((stream, _)) = listener.accept().await {
            client_id += 1;
            tokio::spawn(serve(stream, client_id, behaviour));
        }
    });
    format!("ws://{address}/ws")
}

/// The world at snapshot `n`: the client's player moving along x, and a second entity
/// that appears at snapshot 3 and goes away at snapshot 8.
fn world(n: u32) -> Vec<EntityState> {
    let entity = |index: u32, fields: &[i32]| EntityState {
        id: NetId::from_parts(index, 1),
        components: Components::from_vec(vec![ComponentState {
            kind: ComponentKind(0),
            fields: Fields::from_slice(fields),
        }]),
    };
    let mut world = vec![entity(0, &[n as i32 * 10, 0, 0])];
    if (3..8).contains(&n) {
        world.push(entity(1, &[0, n as i32, 7]));
    }
    world
}

async fn serve(stream: TcpStream, client_id: u32, behaviour: Behaviour) {
    let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let hello = match socket.next().await {
        Some(Ok(Message::Binary(bytes))) => ClientMsg::decode(&bytes),
        _ => return,
    };
    assert!(matches!(hello, Ok(ClientMsg::Hello(ref hello)) if hello.name.starts_with("bot-")));
    if let Behaviour::RefuseEveryone = behaviour {
        close_and_drain(&mut socket, CloseCode::Policy, "room is full").await;
        return;
    }
    let welcome = ServerMsg::Welcome(Welcome {
        protocol_version: PROTOCOL_VERSION,
        client_id,
        player: NetId::from_parts(0, 1),
        tick_rate: TICK_RATE,
        snapshot_rate: 10,
        tick: Tick(0),
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
    let (mut snapshot, mut previous) = (0u32, Vec::new());
    let mut last_input: Option<u32> = None;
    loop {
        tokio::select! {
            message = socket.next() => match message {
                Some(Ok(Message::Binary(bytes))) => {
                    let Ok(ClientMsg::Input(input)) = ClientMsg::decode(&bytes) else { panic!("not an input") };
                    assert_eq!(input.validate(), Ok(()));
                    assert_eq!(input.seq, last_input.map_or(0, |seq| seq + 1), "seqs must count up from 0");
                    last_input = Some(input.seq);
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
                let mut sum = checksum(&current);
                if let Behaviour::LyingChecksums = behaviour {
                    sum ^= 1;
                }
                let body = SnapshotBody { checksum: Some(sum), delta: diff(&previous, &current) };
                let mut body_bytes = Vec::new();
                body.encode_into(&mut body_bytes).unwrap();
                let input_ack = match behaviour {
                    Behaviour::NoAcks => None,
                    Behaviour::AcksStuckAtFirstInput => last_input.map(|_| 0),
                    _ => last_input,
                };
                let frame = ServerMsg::Snapshot(SnapshotFrame {
                    tick: Tick(snapshot),
                    baseline: snapshot.checked_sub(1).map(Tick),
                    input_ack,
                    body: body_bytes,
                });
                if socket.send(Message::Binary(frame.encode().unwrap().into())).await.is_err() {
                    return;
                }
                (snapshot, previous) = (snapshot + 1, current);
            }
            _ = tokio::time::sleep_until(shutdown_at) => {
                close_and_drain(&mut socket, CloseCode::Away, "server shutting down").await;
                return;
            }
        }
    }
}

async fn close_and_drain(socket: &mut tokio_tungstenite::WebSocketStream<TcpStream>, code: CloseCode, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    if socket.close(Some(frame)).await.is_ok() {
        while socket.next().await.is_some() {}
    }
}

async fn swarm(url: String, bots: usize, duration_ms: u64) -> SwarmReport {
    let config = SwarmConfig {
        url,
        bots,
        duration: Duration::from_millis(duration_ms),
        ramp: Duration::from_millis(200),
        seed: 7,
        show_progress: false,
    };
    let report = run_swarm(config).await;
    println!("{}", report.table());
    report
}

#[tokio::test]
async fn an_honest_server_passes() {
    let report = swarm(fake_server(Behaviour::Honest).await, 4, 2_000).await;
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
}

#[tokio::test]
async fn lying_checksums_are_counted_and_the_bots_keep_going() {
    let report = swarm(fake_server(Behaviour::LyingChecksums).await, 2, 1_500).await;
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
    let report = swarm(fake_server(Behaviour::NoAcks).await, 2, 1_500).await;
    assert_eq!(report.inputs_acked, 0);
    assert_eq!(report.rtt_ms.samples, 0);
    assert_eq!(report.verdict(), Err(VerdictError::NoAcks { bots: 2, connected: 2 }));
}

#[tokio::test]
async fn a_server_whose_acks_stop_advancing_fails() {
    let report = swarm(fake_server(Behaviour::AcksStuckAtFirstInput).await, 2, 2_000).await;
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
        fake_server(Behaviour::ShutDownAfter(Duration::from_millis(500))).await,
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
    let report = swarm(fake_server(Behaviour::RefuseEveryone).await, 2, 1_000).await;
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
