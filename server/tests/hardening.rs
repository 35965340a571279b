//! A hostile or broken client against a real server: frames that break RFC 6455, input
//! seqs far out of order. Each is answered with the close code the RFC asks for and a
//! reason, counted, and the room and a bystander carry on.

mod common;

use common::{
    Bystander, Ws, assert_stalled_reader_bounded, connect, expect_close, hello, input, send, send_queue, start_server,
    start_server_for_stalled_readers,
};
use std::time::Duration;
use tickcast_shared::ClientMsg;
use tickcast_shared::arena::ArenaInput;
use tickcast_shared::input::GameInput;
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::MaybeTlsStream;

/// Writes `bytes` straight to the socket under `ws`, bypassing its framing.
async fn write_raw(ws: &mut Ws, bytes: &[u8]) {
    match ws.get_mut() {
        MaybeTlsStream::Plain(stream) => stream.write_all(bytes).await.unwrap(),
        _ => unreachable!("the test server is plain ws"),
    }
}

/// A masked client frame: `first` (FIN, RSV, opcode), then the masked payload.
fn masked_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x11, 0x22, 0x33, 0x44];
    let mut frame = vec![first];
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// Joins, writes `raw` after the handshake, and expects `code` with `reason` in it;
/// a bystander must still be served and the close counted.
async fn raw_frame_closes_with(raw: &[u8], code: u16, reason: &str) {
    let server = start_server(|_| {}).await;
    let mut bystander = Bystander::join(&server).await;
    let mut ws = connect(&server).await;
    send(&mut ws, &hello()).await;
    write_raw(&mut ws, raw).await;
    let (got_code, got_reason) = expect_close(&mut ws).await;
    assert_eq!(got_code, code, "reason was {got_reason:?}");
    assert!(got_reason.contains(reason), "{got_reason:?} should mention {reason:?}");
    bystander.still_served().await;
    assert_eq!(server.net_stats().closes_with(code), 1, "the close is counted by code");
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_reserved_opcode_closes_with_1002() {
    raw_frame_closes_with(&masked_frame(0x83, &[]), 1002, "invalid opcode").await;
}

#[tokio::test]
async fn reserved_bits_close_with_1002() {
    raw_frame_closes_with(&masked_frame(0x80 | 0x40 | 0x02, &[0x90]), 1002, "reserved bits").await;
}

#[tokio::test]
async fn an_unmasked_client_frame_closes_with_1002() {
    raw_frame_closes_with(&[0x82, 0x01, 0x90], 1002, "unmasked").await;
}

#[tokio::test]
async fn a_control_frame_over_125_bytes_closes_with_1002() {
    raw_frame_closes_with(&masked_frame(0x89, &[0u8; 126]), 1002, "control frame").await;
}

#[tokio::test]
async fn a_fragmented_control_frame_closes_with_1002() {
    // A ping without FIN.
    raw_frame_closes_with(&masked_frame(0x09, b"hi"), 1002, "fragmented").await;
}

#[tokio::test]
async fn invalid_utf8_in_a_close_reason_closes_with_1007() {
    let mut payload = 1000u16.to_be_bytes().to_vec();
    payload.extend_from_slice(&[0xff, 0xfe, 0xfd]);
    raw_frame_closes_with(&masked_frame(0x88, &payload), 1007, "utf-8").await;
}

#[tokio::test]
async fn an_input_seq_far_out_of_the_window_closes_with_1008() {
    let server = start_server(|_| {}).await;
    let mut bystander = Bystander::join(&server).await;
    let (mut ws, _) = common::join(&server).await;
    send(&mut ws, &input(5)).await;
    send(&mut ws, &input(6)).await;
    let far = ClientMsg::Input(ArenaInput::default().to_input(6u32.wrapping_add(1 << 31), None));
    send(&mut ws, &far).await;
    let (code, reason) = expect_close(&mut ws).await;
    assert_eq!(code, 1008, "{reason}");
    assert!(reason.contains("seq"), "{reason}");
    bystander.still_served().await;
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_resend_a_few_seqs_back_is_not_a_violation() {
    let server = start_server(|_| {}).await;
    let (mut ws, _) = common::join(&server).await;
    for seq in [10, 11, 12, 9, 13, 14] {
        send(&mut ws, &input(seq)).await;
    }
    let mut mirror = tickcast_shared::ClientMirror::new();
    // Snapshots keep coming and the acks reach the newest seq: nothing was refused.
    for _ in 0..60 {
        let frame = common::next_snapshot(&mut ws).await;
        mirror.apply_frame(&frame).unwrap();
        if mirror.input_ack() == Some(14) {
            break;
        }
    }
    assert_eq!(mirror.input_ack(), Some(14));
    server.shutdown(Duration::from_secs(2)).await;
}

const SECRET: &str = "test-secret";
const UPGRADE_HEADERS: &str = "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

/// A raw upgrade request to `/ws{query}` with `extra` headers; returns the answer.
async fn upgrade(server: &tickcast_server::RunningServer, query: &str, extra: &str) -> common::Answer {
    common::raw(
        server.local_addr(),
        &format!("GET /ws{query} HTTP/1.1\r\nHost: test\r\n{UPGRADE_HEADERS}{extra}\r\n"),
    )
    .await
}

/// A token minted by the documented Python example (`docs/examples/mint_token.py`),
/// so the example a game backend copies is the one tested.
fn python_token(secret: &str, player: &str, ttl: i64) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/examples/mint_token.py");
    let output = std::process::Command::new("python3")
        .args([
            script,
            "--secret",
            secret,
            "--player",
            player,
            "--ttl",
            &ttl.to_string(),
        ])
        .output()
        .expect("python3 runs the example");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// Connects with a WebSocket client request carrying `protocols` and completes the
/// handshake.
async fn join_with_protocols(server: &tickcast_server::RunningServer, protocols: &str) -> Ws {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = server.ws_url().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", protocols.parse().unwrap());
    let (mut ws, response) = tokio_tungstenite::connect_async(request).await.expect("upgrade");
    assert_eq!(response.headers()["sec-websocket-protocol"], "tickcast");
    send(&mut ws, &hello()).await;
    assert!(matches!(
        common::next_message(&mut ws).await,
        tickcast_shared::ServerMsg::Welcome(_)
    ));
    ws
}

#[tokio::test]
async fn with_an_auth_secret_only_signed_unexpired_tokens_get_in() {
    let server = start_server(|config| config.access.auth_secret = SECRET.to_owned()).await;

    let missing = upgrade(&server, "", "").await;
    assert_eq!((missing.status, missing.body.trim()), (401, "a token is required"));
    let forged = upgrade(&server, &format!("?token={}", python_token("wrong", "p", 60)), "").await;
    assert_eq!(
        (forged.status, forged.body.trim()),
        (401, "the token's signature is not valid")
    );
    let expired = upgrade(&server, &format!("?token={}", python_token(SECRET, "p", -120)), "").await;
    assert_eq!((expired.status, expired.body.trim()), (401, "the token has expired"));
    let garbage = upgrade(&server, "?token=not.a.jwt", "").await;
    assert_eq!(garbage.status, 401);
    assert_eq!(
        server.net_stats().refusals_with(401),
        4,
        "each refusal is counted by status"
    );

    // In the query, as native clients send it.
    let url = format!("{}?token={}", server.ws_url(), python_token(SECRET, "alice", 60));
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("a valid token is admitted");
    send(&mut ws, &hello()).await;
    assert!(matches!(
        common::next_message(&mut ws).await,
        tickcast_shared::ServerMsg::Welcome(_)
    ));
    // As a subprotocol, as browsers send it; the answer selects `tickcast`.
    let token = python_token(SECRET, "bob", 60);
    let mut browser = join_with_protocols(&server, &format!("tickcast, token.{token}")).await;
    common::next_snapshot(&mut browser).await;
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn pages_from_other_origins_get_403() {
    let server = start_server(|config| config.access.allowed_origins = vec!["https://game.example".to_owned()]).await;
    let evil = upgrade(&server, "", "Origin: https://evil.example\r\n").await;
    assert_eq!((evil.status, evil.body.trim()), (403, "origin not allowed"));
    let listed = upgrade(&server, "", "Origin: https://game.example\r\n").await;
    assert_eq!(listed.status, 101);
    // Not a browser: no Origin at all.
    common::join(&server).await;
    server.shutdown(Duration::from_secs(2)).await;
}

/// Connects from `source` (a loopback address standing for another host) and joins.
async fn join_from(server: &tickcast_server::RunningServer, source: &str) -> Result<Ws, String> {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    let stream = socket.connect(server.local_addr()).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(server.ws_url(), MaybeTlsStream::Plain(stream))
        .await
        .map_err(|error| error.to_string())?;
    send(&mut ws, &hello()).await;
    common::next_message(&mut ws).await;
    Ok(ws)
}

#[tokio::test]
async fn one_address_over_its_limit_gets_503_and_other_addresses_still_get_in() {
    let server = start_server(|config| config.limits.max_connections_per_ip = 3).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(join_from(&server, "127.0.0.1").await.expect("within the limit"));
    }
    // A flood of attempts from the same host: each refused before the upgrade.
    for _ in 0..50 {
        let refused = upgrade(&server, "", "").await;
        assert_eq!(refused.status, 503);
        assert_eq!(refused.header("retry-after"), Some("5"));
    }
    assert_eq!(server.net_stats().refusals_with(503), 50);
    // A second host is not locked out.
    let mut other = join_from(&server, "127.0.0.2").await.expect("another address gets in");
    common::next_snapshot(&mut other).await;
    // A closed connection gives its slot back.
    let mut first = held.remove(0);
    first.close(None).await.unwrap();
    drop(first);
    let mut again = None;
    for _ in 0..50 {
        if let Ok(ws) = join_from(&server, "127.0.0.1").await {
            again = Some(ws);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(again.is_some(), "the freed slot is taken again");
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_client_that_stops_reading_is_closed_in_bounded_time_with_a_bounded_send_queue() {
    const SEND_BUFFER: usize = 32 * 1024;
    let server = start_server_for_stalled_readers(SEND_BUFFER).await;
    let mut bystander = Bystander::join(&server).await;
    // The stalled client: a small receive window, so what it does not read backs up
    // into the server's send queue instead of its own kernel.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(server.local_addr()).await.unwrap();
    let client_port = stream.local_addr().unwrap().port();
    let (mut stalled, _) = tokio_tungstenite::client_async(server.ws_url(), MaybeTlsStream::Plain(stream))
        .await
        .unwrap();
    send(&mut stalled, &hello()).await;
    common::next_message(&mut stalled).await;
    // From here on the client reads nothing.
    let stalled_at = tokio::time::Instant::now();
    let mut largest_queue = 0;
    while server
        .net_stats()
        .connections_open
        .load(std::sync::atomic::Ordering::Relaxed)
        > 1
    {
        assert!(
            stalled_at.elapsed() < Duration::from_secs(6),
            "the stalled reader was not closed (ping every 0.2 s, deadline 1 s)"
        );
        largest_queue = largest_queue.max(send_queue(server.local_addr().port(), client_port).unwrap_or(0));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "closed after {:?}; largest send queue {largest_queue} bytes",
        stalled_at.elapsed()
    );
    assert_stalled_reader_bounded(&server, largest_queue, SEND_BUFFER);
    bystander.still_served().await;
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_client_that_reads_and_answers_pings_stays_however_idle() {
    let server = start_server(|config| {
        config.limits.ping_interval = Duration::from_millis(100);
        config.limits.write_timeout = Duration::from_millis(500);
    })
    .await;
    // A bystander sends no inputs at all: it only reads (and so answers pings).
    let mut idle = Bystander::join(&server).await;
    idle.receive(60).await;
    assert_eq!(
        server
            .net_stats()
            .slow_readers
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    server.shutdown(Duration::from_secs(2)).await;
}

/// Resident memory of this process (the server runs in it), in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Opens `count` connections from `source` (64 at a time) and asks each to upgrade,
/// holding every one open until all have their answer; returns how many got 101 and
/// how many 503.
async fn connection_storm(addr: std::net::SocketAddr, source: &'static str, count: usize) -> (usize, usize) {
    use futures_util::stream::{self, StreamExt};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let request = format!("GET /ws HTTP/1.1\r\nHost: test\r\n{UPGRADE_HEADERS}\r\n");
    let answers: Vec<Option<(u16, tokio::net::TcpStream)>> = stream::iter(0..count)
        .map(|_| {
            let request = request.clone();
            async move {
                let socket = tokio::net::TcpSocket::new_v4().ok()?;
                socket.bind(format!("{source}:0").parse().ok()?).ok()?;
                let mut stream = socket.connect(addr).await.ok()?;
                stream.write_all(request.as_bytes()).await.ok()?;
                let mut head = [0u8; 12];
                stream.read_exact(&mut head).await.ok()?;
                let status = std::str::from_utf8(&head[9..12]).ok()?.parse().ok()?;
                Some((status, stream))
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let count_of = |status| answers.iter().flatten().filter(|(got, _)| *got == status).count();
    (count_of(101), count_of(503))
}

/// Floods, oversize and fragmented frames, and thousands of connections from one
/// address and from a second, all while a swarm of honest bots plays: every bot still
/// converges with its inputs acked, the room never skips a tick, and memory stays
/// bounded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abuse_does_not_disturb_honest_players() {
    let server = start_server(|config| {
        config.npcs = 40;
        config.limits.max_connections_per_ip = 40;
    })
    .await;
    let addr = server.local_addr();
    let url = server.ws_url();
    let rss_before = rss_kib();
    let honest = tokio::spawn(tickcast_bots::run_swarm(tickcast_bots::SwarmConfig {
        url: url.clone(),
        bots: 10,
        duration: Duration::from_secs(6),
        ramp: Duration::from_millis(500),
        ..tickcast_bots::SwarmConfig::default()
    }));
    tokio::time::sleep(Duration::from_secs(1)).await;

    // The attackers join first (the storm will take their address's slots).
    let mut attackers = Vec::new();
    for _ in 0..3 {
        let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
        send(&mut ws, &hello()).await;
        attackers.push(ws);
    }
    let (mut fragmenter, mut oversized, mut flooder) = (
        attackers.pop().unwrap(),
        attackers.pop().unwrap(),
        attackers.pop().unwrap(),
    );
    // An input flood: a thousand inputs at once, closed with 1008 past twice the rate.
    let flood = tokio::spawn(async move {
        use futures_util::SinkExt;
        for seq in 0..1000 {
            let message = tokio_tungstenite::tungstenite::Message::Binary(input(seq).encode().unwrap().into());
            if flooder.feed(message).await.is_err() {
                break;
            }
        }
        let _ = flooder.flush().await;
        expect_close(&mut flooder).await
    });
    // An oversize frame: 1009.
    let oversize = tokio::spawn(async move {
        use futures_util::SinkExt;
        let _ = oversized
            .send(tokio_tungstenite::tungstenite::Message::Binary(
                vec![0u8; 64 * 1024].into(),
            ))
            .await;
        expect_close(&mut oversized).await
    });
    // A message in two thousand one-byte fragments, past the message size limit: 1009.
    let fragments = tokio::spawn(async move {
        let mut raw = masked_frame(0x02, &[0x90]);
        for _ in 0..2000 {
            raw.extend(masked_frame(0x00, &[0x00]));
        }
        write_raw(&mut fragmenter, &raw).await;
        expect_close(&mut fragmenter).await
    });
    // Thousands of upgrades from two hosts.
    let (storm_a, storm_b) = tokio::join!(
        connection_storm(addr, "127.0.0.1", 2000),
        connection_storm(addr, "127.0.0.2", 2000),
    );

    assert_eq!(flood.await.unwrap().0, 1008);
    assert_eq!(oversize.await.unwrap().0, 1009);
    assert_eq!(fragments.await.unwrap().0, 1009);
    let report = honest.await.unwrap();
    println!("{}", report.table());
    report.verdict().expect("the honest bots play as if nothing happened");
    assert_eq!(report.bots_connected, 10);
    println!("storm from 127.0.0.1: {storm_a:?} (101, 503); from 127.0.0.2: {storm_b:?}");
    // 40 per address: the ten honest bots hold ten of 127.0.0.1's throughout (the
    // attackers' three are freed as they are closed).
    assert!(
        storm_a.0 <= 30 && storm_a.1 >= 2000 - 30,
        "127.0.0.1's storm was held to its limit"
    );
    assert!(
        storm_b.0 <= 40 && storm_b.1 >= 2000 - 40,
        "127.0.0.2's storm was held to its limit"
    );
    let stats = server.report();
    assert_eq!(stats.ticks_skipped, 0, "the room never fell behind its tick rate");
    let grown_mib = rss_kib().saturating_sub(rss_before) / 1024;
    println!("memory grew {grown_mib} MiB");
    assert!(grown_mib < 256, "memory grew {grown_mib} MiB");
    server.shutdown(Duration::from_secs(2)).await;
}
