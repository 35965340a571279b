//! Helpers for in-process tests: a server on 127.0.0.1:0 and raw WebSocket clients.
#![allow(dead_code, missing_docs)]

use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::time::Duration;
use tickcast_server::RunningServer;
use tickcast_server::config::ServerConfig;
use tickcast_shared::arena::ArenaInput;
use tickcast_shared::input::GameInput;
use tickcast_shared::{ClientMirror, ClientMsg, Hello, ServerMsg, SnapshotFrame, Welcome};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Every wait in these tests is bounded by this.
pub const WAIT: Duration = Duration::from_secs(5);

/// A server on an ephemeral port with a few drones; `tweak` adjusts the config.
pub async fn start_server(tweak: impl FnOnce(&mut ServerConfig)) -> RunningServer {
    let mut config = ServerConfig::embedded();
    config.bind = "127.0.0.1:0".parse().unwrap();
    config.npcs = 8;
    // Every test client comes from 127.0.0.1; tests of the per-address limit set it low.
    config.limits.max_connections_per_ip = 10_000;
    tweak(&mut config);
    config.validate().unwrap();
    tickcast_server::start(&config).await.unwrap()
}

pub async fn connect(server: &RunningServer) -> Ws {
    let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(server.ws_url()))
        .await
        .expect("connect timed out")
        .expect("connect failed");
    ws
}

pub async fn send(ws: &mut Ws, message: &ClientMsg) {
    ws.send(Message::Binary(message.encode().unwrap().into()))
        .await
        .unwrap();
}

pub fn hello() -> ClientMsg {
    ClientMsg::Hello(Hello::new("tester"))
}

pub fn input(seq: u32) -> ClientMsg {
    ClientMsg::Input(
        ArenaInput {
            move_x: 0.5,
            move_y: -0.5,
            aim: 1.0,
            buttons: 0,
        }
        .to_input(seq, None),
    )
}

/// The next server message, skipping control frames; panics on close or timeout.
pub async fn next_message(ws: &mut Ws) -> ServerMsg {
    loop {
        let frame = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("no message within the wait")
            .expect("stream ended")
            .expect("websocket error");
        match frame {
            Message::Binary(bytes) => return ServerMsg::decode(&bytes).expect("server sent an undecodable message"),
            Message::Close(frame) => panic!("unexpected close: {frame:?}"),
            _ => continue,
        }
    }
}

pub async fn next_snapshot(ws: &mut Ws) -> SnapshotFrame {
    match next_message(ws).await {
        ServerMsg::Snapshot(frame) => frame,
        other => panic!("expected a snapshot, got {other:?}"),
    }
}

/// Connects and completes the handshake.
pub async fn join(server: &RunningServer) -> (Ws, Welcome) {
    let mut ws = connect(server).await;
    send(&mut ws, &hello()).await;
    match next_message(&mut ws).await {
        ServerMsg::Welcome(welcome) => (ws, welcome),
        other => panic!("expected welcome, got {other:?}"),
    }
}

/// Reads until the server's close frame; returns its code and reason.
pub async fn expect_close(ws: &mut Ws) -> (u16, String) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let frame = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("no close frame within the wait");
        match frame {
            Some(Ok(Message::Close(Some(frame)))) => return (frame.code.into(), frame.reason.to_string()),
            Some(Ok(Message::Close(None))) => panic!("close frame without a code"),
            Some(Ok(_)) => continue,
            Some(Err(error)) => panic!("connection broke instead of closing: {error}"),
            None => panic!("stream ended without a close frame"),
        }
    }
}

/// A joined client that keeps applying snapshots; used to show that others carry on.
pub struct Bystander {
    pub ws: Ws,
    pub mirror: ClientMirror,
    pub welcome: Welcome,
}

impl Bystander {
    pub async fn join(server: &RunningServer) -> Bystander {
        let (ws, welcome) = join(server).await;
        let mut bystander = Bystander {
            ws,
            mirror: ClientMirror::new(),
            welcome,
        };
        bystander.receive(2).await;
        bystander
    }

    /// Applies `count` more snapshots, each checksum-verified; returns the last tick.
    pub async fn receive(&mut self, count: usize) -> tickcast_shared::Tick {
        let mut tick = None;
        for _ in 0..count {
            let frame = next_snapshot(&mut self.ws).await;
            let applied = self.mirror.apply_frame(&frame).expect("bystander mirror diverged");
            assert!(applied.checksum_verified || frame.body.is_empty());
            tick = Some(applied.tick);
        }
        tick.unwrap()
    }

    /// Asserts the room still serves this client: new snapshots keep arriving.
    pub async fn still_served(&mut self) {
        let before = self.mirror.tick().unwrap();
        let after = self.receive(3).await;
        assert!(after.is_after(before), "snapshots stopped advancing");
    }
}

/// A parsed HTTP response: status, header block (lower-cased names) and body.
pub struct Answer {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

/// Writes `request` as is and reads one answer: its head, then `Content-Length` bytes
/// of body (or up to the close), whether or not the server keeps the connection.
pub async fn raw(addr: SocketAddr, request: &str) -> Answer {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut bytes = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let read = stream.read(&mut chunk).await.unwrap();
            bytes.extend_from_slice(&chunk[..read]);
            let text = String::from_utf8_lossy(&bytes);
            let complete = text.split_once("\r\n\r\n").is_some_and(|(head, body)| {
                let length = head.lines().find_map(|line| {
                    let (key, value) = line.split_once(':')?;
                    key.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                });
                // A 101 has no body: what follows is the upgraded protocol.
                head.contains(" 101 ") || length.is_some_and(|length| body.len() >= length)
            });
            if read == 0 || complete {
                return String::from_utf8(bytes).unwrap();
            }
        }
    };
    let text = tokio::time::timeout(WAIT, exchange).await.expect("no answer in time");
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let (status_line, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    Answer {
        status,
        headers: headers.to_owned(),
        body: body.to_owned(),
    }
}

/// Matchmaking over HTTP: requests, answers and seats, for the rooms and scale-out tests.
pub mod matchmaking {
    use super::*;
    use serde_json::Value;

    /// `POST /matchmake` with `body` and extra header lines (each ending in `\r\n`).
    pub async fn matchmake_with(server: &RunningServer, body: &str, headers: &str) -> Answer {
        let request = format!(
            "POST /matchmake HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        raw(server.local_addr(), &request).await
    }

    pub async fn matchmake(server: &RunningServer, body: &str) -> Answer {
        matchmake_with(server, body, "").await
    }

    /// A successful placement's JSON.
    pub async fn place(server: &RunningServer, body: &str) -> Value {
        let answer = matchmake(server, body).await;
        assert_eq!(answer.status, 200, "matchmake {body}: {}", answer.body);
        serde_json::from_str(&answer.body).unwrap()
    }

    /// `GET path`.
    pub async fn get(server: &RunningServer, path: &str) -> Answer {
        raw(
            server.local_addr(),
            &format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"),
        )
        .await
    }

    /// A string field of a JSON answer.
    pub fn field<'v>(value: &'v Value, name: &str) -> &'v str {
        value[name].as_str().unwrap_or_else(|| panic!("no {name} in {value}"))
    }

    /// The error reason of a refused matchmake.
    pub fn reason(answer: &Answer) -> String {
        let value: Value = serde_json::from_str(&answer.body).unwrap_or_else(|_| panic!("not json: {}", answer.body));
        value["error"].as_str().unwrap().to_owned()
    }

    /// Connects with a placement's seat and sends `hello`; returns the socket and Welcome.
    pub async fn take_seat(placement: &Value, hello: Hello) -> (Ws, Welcome) {
        let url = format!("{}?seat={}", field(placement, "ws_url"), field(placement, "seat_token"));
        let (mut ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(&url))
            .await
            .expect("connect timed out")
            .unwrap_or_else(|error| panic!("seat at {url} refused: {error}"));
        send(&mut ws, &ClientMsg::Hello(hello)).await;
        match next_message(&mut ws).await {
            ServerMsg::Welcome(welcome) => (ws, welcome),
            other => panic!("expected welcome, got {other:?}"),
        }
    }

    /// Applies snapshots until one carries a verified checksum.
    pub async fn verified_snapshot(ws: &mut Ws, mirror: &mut ClientMirror) {
        for _ in 0..60 {
            let frame = next_snapshot(ws).await;
            if mirror.apply_frame(&frame).expect("mirror diverged").checksum_verified {
                return;
            }
        }
        panic!("no verified snapshot in 60 frames");
    }
}

/// A TCP relay to `upstream` that holds every chunk for `one_way` in each direction,
/// in order (the kernel here has no netem): a client behind it sees a round trip of
/// twice that. Returns the address to connect to; it serves until the test ends.
pub async fn delay_proxy(upstream: SocketAddr, one_way: Duration) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = TcpStream::connect(upstream).await else {
                return;
            };
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            tokio::spawn(delayed_pump(client_read, server_write, one_way));
            tokio::spawn(delayed_pump(server_read, client_write, one_way));
        }
    });
    addr
}

/// Copies `from` to `to`, each chunk written `delay` after it was read.
async fn delayed_pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Duration,
) {
    let (chunks, mut due) = tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    let writer = tokio::spawn(async move {
        while let Some((at, chunk)) = due.recv().await {
            tokio::time::sleep_until(at).await;
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
    });
    let mut buffer = vec![0u8; 16 * 1024];
    while let Ok(read) = from.read(&mut buffer).await {
        if read == 0
            || chunks
                .send((tokio::time::Instant::now() + delay, buffer[..read].to_vec()))
                .is_err()
        {
            break;
        }
    }
    drop(chunks);
    let _ = writer.await;
}

/// The send queue (bytes not yet acknowledged by the peer) of the TCP socket from
/// `local_port` to `remote_port`, from /proc/net/tcp.
pub fn send_queue(local_port: u16, remote_port: u16) -> Option<u64> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let port = |address: &str| u16::from_str_radix(address.rsplit(':').next()?, 16).ok();
        if port(fields.get(1)?)? != local_port || port(fields.get(2)?)? != remote_port {
            return None;
        }
        u64::from_str_radix(fields.get(4)?.split(':').next()?, 16).ok()
    })
}

/// A server where a client that stops reading backs up fast and is found out soon: a
/// whole world of drones, no budget to speak of, pings every 200 ms, a 1 s write
/// timeout and a send buffer of `send_buffer` bytes.
pub async fn start_server_for_stalled_readers(send_buffer: usize) -> RunningServer {
    start_server(|config| {
        config.npcs = 600;
        config.replication.interest_radius = 0.0;
        config.replication.budget_kbps = 100_000;
        config.limits.ping_interval = Duration::from_millis(200);
        config.limits.write_timeout = Duration::from_secs(1);
        config.limits.socket_send_buffer_bytes = send_buffer;
    })
    .await
}

/// What a stalled reader's test asserts once the server dropped it: a slow reader was
/// counted, and the largest send queue seen (`largest_queue`, from [`send_queue`]) both
/// filled (the backlog reached the socket) and stayed within the `send_buffer` the server
/// set, doubled as Linux does for its own bookkeeping.
pub fn assert_stalled_reader_bounded(server: &RunningServer, largest_queue: u64, send_buffer: usize) {
    assert!(
        server
            .net_stats()
            .slow_readers
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    );
    assert!(
        largest_queue > 8 * 1024,
        "the backlog reached the server's send queue ({largest_queue} bytes)"
    );
    assert!(
        largest_queue <= 2 * send_buffer as u64,
        "send queue {largest_queue} over the {send_buffer}-byte buffer"
    );
}
