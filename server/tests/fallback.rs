//! The HTTP fallback transport over real sockets: a client plays over plain HTTP
//! requests (connect, a streamed body of frames, POSTed batches) with checksums
//! verified; resumes through a new session with a full snapshot; and every bad request
//! gets the answer the WebSocket path gives: the same admission statuses, the same close
//! codes and reasons (delivered as the stream's last frame), 400/404/409/413/403 for
//! what only the fallback has, and bounded memory for a client that stops reading.

mod common;

use common::{
    Bystander, WAIT, assert_stalled_reader_bounded, hello, input, send_queue, start_server,
    start_server_for_stalled_readers,
};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tickcast_server::RunningServer;
use tickcast_server::net::admission::{claims_for, mint};
use tickcast_shared::fallback::{StreamDecoder, StreamFrame, push_batch_message};
use tickcast_shared::{ClientMirror, ClientMsg, Hello, ServerMsg, SnapshotFrame, Welcome};
use tokio::io::AsyncWriteExt;

/// An HTTP/1.1 request from `source` (a loopback address standing for a host) on a
/// connection of its own.
async fn request(
    source: &str,
    server: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> hyper::Response<Incoming> {
    let exchange = async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
        let stream = socket.connect(server).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, server.to_string());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(Bytes::from(body))).unwrap();
        sender.send_request(request).await.unwrap()
    };
    tokio::time::timeout(WAIT, exchange).await.expect("no answer in time")
}

/// The status and the body as text of a whole answer.
async fn answer(response: hyper::Response<Incoming>) -> (u16, String) {
    let status = response.status().as_u16();
    let body = tokio::time::timeout(WAIT, response.into_body().collect())
        .await
        .expect("body in time")
        .unwrap()
        .to_bytes();
    (status, String::from_utf8_lossy(&body).trim_end().to_owned())
}

fn batch(messages: &[ClientMsg]) -> Vec<u8> {
    let mut batch = Vec::new();
    for message in messages {
        push_batch_message(&mut batch, &message.encode().unwrap());
    }
    batch
}

/// `POST /http/connect{query}`: the session id, or the refusal's status and reason.
async fn connect_from(
    source: &str,
    server: &RunningServer,
    query: &str,
    headers: &[(&str, &str)],
) -> Result<String, (u16, String)> {
    let path = format!("/http/connect{query}");
    let (status, body) = answer(request(source, server.local_addr(), "POST", &path, headers, Vec::new()).await).await;
    if status != 200 {
        return Err((status, body));
    }
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    Ok(json["session"].as_str().expect("a session id").to_owned())
}

async fn connect(server: &RunningServer) -> String {
    connect_from("127.0.0.1", server, "", &[]).await.expect("connect")
}

/// `POST /http/send` of `body` as it is; the status and reason.
async fn post_from(source: &str, server: &RunningServer, session: &str, body: Vec<u8>) -> (u16, String) {
    let path = format!("/http/send?session={session}");
    answer(request(source, server.local_addr(), "POST", &path, &[], body).await).await
}

async fn send(server: &RunningServer, session: &str, messages: &[ClientMsg]) {
    let (status, reason) = post_from("127.0.0.1", server, session, batch(messages)).await;
    assert_eq!(status, 204, "send refused: {reason}");
}

/// An attached stream: its frames, decoded as they arrive.
struct Downstream {
    body: Incoming,
    decoder: StreamDecoder,
}

impl Downstream {
    async fn open_from(source: &str, server: &RunningServer, session: &str) -> Result<Downstream, (u16, String)> {
        let path = format!("/http/stream?session={session}");
        let response = request(source, server.local_addr(), "GET", &path, &[], Vec::new()).await;
        if response.status() != 200 {
            return Err(answer(response).await);
        }
        let headers = response.headers();
        assert_eq!(headers["content-type"], "application/octet-stream");
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(headers["x-accel-buffering"], "no");
        Ok(Downstream {
            body: response.into_body(),
            decoder: StreamDecoder::new(1 << 20),
        })
    }

    async fn open(server: &RunningServer, session: &str) -> Downstream {
        Downstream::open_from("127.0.0.1", server, session)
            .await
            .expect("stream")
    }

    /// The next frame; `None` when the body ends.
    async fn next_frame(&mut self) -> Option<StreamFrame> {
        loop {
            if let Some(frame) = self.decoder.next_frame().expect("well-formed frames") {
                return Some(frame);
            }
            let chunk = tokio::time::timeout(WAIT, self.body.frame())
                .await
                .expect("no frame within the wait");
            match chunk {
                Some(Ok(chunk)) => {
                    if let Ok(data) = chunk.into_data() {
                        self.decoder.push(&data);
                    }
                }
                Some(Err(error)) => panic!("stream broke: {error}"),
                None => {
                    assert_eq!(self.decoder.pending_bytes(), 0, "the body ended mid-frame");
                    return None;
                }
            }
        }
    }

    async fn next_message(&mut self) -> ServerMsg {
        match self.next_frame().await {
            Some(StreamFrame::Message(bytes)) => ServerMsg::decode(&bytes).expect("a server message"),
            other => panic!("expected a message, got {other:?}"),
        }
    }

    async fn next_snapshot(&mut self) -> SnapshotFrame {
        match self.next_message().await {
            ServerMsg::Snapshot(frame) => frame,
            other => panic!("expected a snapshot, got {other:?}"),
        }
    }

    /// Skips messages until the close frame, which must be the last.
    async fn expect_close(&mut self) -> (u16, String) {
        loop {
            match self.next_frame().await {
                Some(StreamFrame::Message(_)) => continue,
                Some(StreamFrame::Close { code, reason }) => {
                    assert!(self.next_frame().await.is_none(), "the close is the last frame");
                    return (code, reason);
                }
                None => panic!("the stream ended without a close frame"),
            }
        }
    }
}

/// Opens a session, attaches its stream and says `hello`; returns them and the Welcome.
async fn join_with(server: &RunningServer, hello: Hello) -> (String, Downstream, Welcome) {
    let session = connect(server).await;
    let mut stream = Downstream::open(server, &session).await;
    send(server, &session, &[ClientMsg::Hello(hello)]).await;
    match stream.next_message().await {
        ServerMsg::Welcome(welcome) => (session, stream, welcome),
        other => panic!("expected a welcome, got {other:?}"),
    }
}

/// Waits (bounded) until `done` holds.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT * 2;
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "{what} did not happen in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn sessions_open(server: &RunningServer) -> u64 {
    server.net_stats().fallback_sessions_open.load(Ordering::Relaxed)
}

#[tokio::test]
async fn a_client_plays_over_the_fallback_with_every_checksum_verified() {
    let server = start_server(|_| {}).await;
    let (session, mut stream, welcome) = join_with(&server, Hello::new("fallback")).await;
    assert!(welcome.player.is_some());
    assert_eq!(sessions_open(&server), 1);
    let mut mirror = ClientMirror::new();
    let mut verified = 0;
    let mut seq = 0;
    for round in 0..40 {
        // Two inputs a batch, as a client batching while a POST is in flight would.
        send(&server, &session, &[input(seq), input(seq + 1)]).await;
        seq += 2;
        let frame = stream.next_snapshot().await;
        if round == 0 {
            assert!(frame.full, "a connection starts with a full snapshot");
        }
        let applied = mirror.apply_frame(&frame).expect("the mirror applies every frame");
        verified += u32::from(applied.checksum_verified);
    }
    assert!(verified >= 30, "{verified} of 40 snapshots verified");
    let player = welcome.player.unwrap();
    assert!(mirror.entity(player).is_some(), "the player is in its own view");
    // The inputs were applied: the acks move on.
    let mut acked = mirror.input_ack();
    for _ in 0..60 {
        if acked >= Some(seq - 1) {
            break;
        }
        mirror.apply_frame(&stream.next_snapshot().await).unwrap();
        acked = mirror.input_ack();
    }
    assert_eq!(acked, Some(seq - 1), "every input acked");
    // Going away ends the session, and the room hears of it.
    drop(stream);
    eventually("the session ending", || sessions_open(&server) == 0).await;
    eventually("the connection leaving", || {
        server.net_stats().connections_open.load(Ordering::Relaxed) == 0
    })
    .await;
    let (status, reason) = post_from("127.0.0.1", &server, &session, batch(&[input(seq)])).await;
    assert_eq!((status, reason.as_str()), (404, "no such session"));
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_new_session_with_the_resume_token_gets_the_player_back_and_a_full_snapshot() {
    let server = start_server(|config| config.limits.resume_grace = Duration::from_secs(5)).await;
    let (session, mut stream, welcome) = join_with(&server, Hello::new("resumer")).await;
    let mut mirror = ClientMirror::new();
    send(&server, &session, &[input(0), input(1), input(2)]).await;
    for _ in 0..100 {
        mirror.apply_frame(&stream.next_snapshot().await).unwrap();
        if mirror.input_ack() == Some(2) {
            break;
        }
    }
    assert_eq!(mirror.input_ack(), Some(2));
    // The stream is cut (a proxy timing it out): the session ends with it.
    drop(stream);
    eventually("the session ending", || sessions_open(&server) == 0).await;

    let (session, mut stream, resumed) = join_with(&server, Hello::resuming("resumer", &welcome.resume)).await;
    assert_eq!(
        (resumed.client_id, resumed.player),
        (welcome.client_id, welcome.player),
        "the same client and player"
    );
    let first = stream.next_snapshot().await;
    assert!(first.full, "a new session starts from a full snapshot");
    let mut mirror = ClientMirror::new();
    let applied = mirror.apply_frame(&first).unwrap();
    assert!(applied.checksum_verified);
    assert_eq!(mirror.input_ack(), Some(2), "acks continue from the last input applied");
    send(&server, &session, &[input(3)]).await;
    for _ in 0..100 {
        mirror.apply_frame(&stream.next_snapshot().await).unwrap();
        if mirror.input_ack() == Some(3) {
            break;
        }
    }
    assert_eq!(mirror.input_ack(), Some(3));
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn bad_requests_get_the_statuses_the_spec_names() {
    let server = start_server(|_| {}).await;
    let mut bystander = Bystander::join(&server).await;
    let (session, _stream, _) = join_with(&server, Hello::new("tester")).await;

    // Unknown sessions, on both endpoints, and no session at all.
    for path in ["/http/stream?session=AAAAAAAAAAAAAAAAAAAAAA", "/http/stream"] {
        let (status, reason) =
            answer(request("127.0.0.1", server.local_addr(), "GET", path, &[], Vec::new()).await).await;
        assert_eq!((status, reason.as_str()), (404, "no such session"), "{path}");
    }
    let (status, reason) = post_from("127.0.0.1", &server, "nope", batch(&[input(0)])).await;
    assert_eq!((status, reason.as_str()), (404, "no such session"));

    // A second stream while one is attached.
    let refused = Downstream::open_from("127.0.0.1", &server, &session).await.err();
    assert_eq!(refused, Some((409, "session already streaming".to_owned())));

    // Garbage framing: refused whole, before anything reaches the connection.
    for garbage in [vec![0, 0, 1], vec![0, 0, 0, 9, 1, 2, 3], vec![0xff; 7]] {
        let (status, reason) = post_from("127.0.0.1", &server, &session, garbage.clone()).await;
        assert_eq!(status, 400, "{garbage:?}");
        assert!(reason.starts_with("malformed batch: "), "{reason}");
    }
    // Over 64 KiB: 413, however the length is (not) declared.
    let (status, reason) = post_from("127.0.0.1", &server, &session, vec![0; 64 * 1024 + 1]).await;
    assert_eq!((status, reason.as_str()), (413, "batch over 64 KiB"));
    // The session survived all that: its messages still go through.
    send(&server, &session, &[input(0)]).await;
    assert_eq!(server.net_stats().refusals_with(400), 3);
    assert_eq!(server.net_stats().refusals_with(413), 1);

    // The session's requests from another host.
    let stolen = Downstream::open_from("127.0.0.2", &server, &session).await.err();
    assert_eq!(stolen, Some((403, "session belongs to another address".to_owned())));
    let (status, reason) = post_from("127.0.0.2", &server, &session, batch(&[input(1)])).await;
    assert_eq!((status, reason.as_str()), (403, "session belongs to another address"));

    // Wrong methods.
    let (status, _) = answer(
        request(
            "127.0.0.1",
            server.local_addr(),
            "GET",
            "/http/connect",
            &[],
            Vec::new(),
        )
        .await,
    )
    .await;
    assert_eq!(status, 405);
    bystander.still_served().await;
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn the_stream_and_send_need_the_token_of_the_sessions_player() {
    const SECRET: &str = "fallback-secret";
    let server = start_server(|config| config.access.auth_secret = SECRET.to_owned()).await;
    let token = |player: &str| mint(SECRET.as_bytes(), &claims_for(player, None, Duration::from_secs(60))).unwrap();
    // As the upgrade: no token 401.
    let refused = connect_from("127.0.0.1", &server, "", &[]).await.unwrap_err();
    assert_eq!(refused, (401, "a token is required".to_owned()));
    // A token as `Authorization: Bearer`, or as `?token=`.
    let alice = format!("Bearer {}", token("alice"));
    let session = connect_from("127.0.0.1", &server, "", &[("authorization", &alice)])
        .await
        .expect("bearer admitted");
    connect_from("127.0.0.1", &server, &format!("?token={}", token("bob")), &[])
        .await
        .expect("query token admitted");
    // Bob's token on Alice's session.
    let bob = format!("Bearer {}", token("bob"));
    let path = format!("/http/stream?session={session}");
    let (status, reason) = answer(
        request(
            "127.0.0.1",
            server.local_addr(),
            "GET",
            &path,
            &[("authorization", &bob)],
            Vec::new(),
        )
        .await,
    )
    .await;
    assert_eq!((status, reason.as_str()), (403, "session belongs to another player"));
    let path = format!("/http/send?session={session}");
    let (status, reason) = answer(
        request(
            "127.0.0.1",
            server.local_addr(),
            "POST",
            &path,
            &[("authorization", &bob)],
            batch(&[hello()]),
        )
        .await,
    )
    .await;
    assert_eq!((status, reason.as_str()), (403, "session belongs to another player"));
    // Alice's own token works.
    let path = format!("/http/stream?session={session}");
    let response = request(
        "127.0.0.1",
        server.local_addr(),
        "GET",
        &path,
        &[("authorization", &alice)],
        Vec::new(),
    )
    .await;
    assert_eq!(response.status(), 200);
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn admission_refuses_as_the_upgrade_does() {
    let server = start_server(|config| {
        config.limits.max_connections_per_ip = 2;
        config.access.allowed_origins = vec!["https://game.example".to_owned()];
    })
    .await;
    let refused = connect_from("127.0.0.1", &server, "", &[("origin", "https://evil.example")])
        .await
        .unwrap_err();
    assert_eq!(refused, (403, "origin not allowed".to_owned()));
    let refused = connect_from("127.0.0.1", &server, "?room=arena-99", &[])
        .await
        .unwrap_err();
    assert_eq!(refused, (404, "no such room on this node".to_owned()));
    let refused = connect_from("127.0.0.1", &server, "?seat=forged", &[])
        .await
        .unwrap_err();
    assert_eq!(refused.0, 401);
    // Sessions count against the address's connections, as WebSockets do.
    let _first = connect_from("127.0.0.1", &server, "", &[("origin", "https://game.example")])
        .await
        .expect("an allowed origin");
    let (_ws, _) = common::join(&server).await;
    let refused = connect_from("127.0.0.1", &server, "", &[]).await.unwrap_err();
    assert_eq!(refused, (503, "too many connections from this address".to_owned()));
    connect_from("127.0.0.2", &server, "", &[])
        .await
        .expect("another address gets in");
    assert!(server.net_stats().refusals_with(503) >= 1);
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_session_whose_stream_never_comes_ends_after_the_handshake_timeout() {
    let server = start_server(|config| config.limits.handshake_timeout = Duration::from_millis(300)).await;
    let session = connect(&server).await;
    assert_eq!(sessions_open(&server), 1);
    eventually("the unattached session ending", || sessions_open(&server) == 0).await;
    let refused = Downstream::open_from("127.0.0.1", &server, &session).await.err();
    assert_eq!(refused, Some((404, "no such session".to_owned())));
    eventually("its connection ending", || {
        server.net_stats().connections_open.load(Ordering::Relaxed) == 0
    })
    .await;
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_silent_session_is_closed_as_a_silent_websocket_is() {
    let server = start_server(|config| config.limits.handshake_timeout = Duration::from_millis(300)).await;
    // The stream is attached in time, but no Hello ever comes.
    let session = connect(&server).await;
    let mut stream = Downstream::open(&server, &session).await;
    let (code, reason) = stream.expect_close().await;
    assert_eq!((code, reason.as_str()), (1008, "no hello within the handshake timeout"));
    server.shutdown(Duration::from_secs(2)).await;
}

/// What a WebSocket client gets for sending `messages` after its Hello, and what a
/// fallback client gets: the same close.
async fn close_for(server: &RunningServer, messages: &[ClientMsg]) -> ((u16, String), (u16, String)) {
    let (mut ws, _) = common::join(server).await;
    for message in messages {
        common::send(&mut ws, message).await;
    }
    let over_ws = common::expect_close(&mut ws).await;
    let (session, mut stream, _) = join_with(server, Hello::new("tester")).await;
    // A flood may be answered 404 once the connection has closed; the close tells.
    let _ = post_from("127.0.0.1", server, &session, batch(messages)).await;
    (over_ws, stream.expect_close().await)
}

#[tokio::test]
async fn violations_close_with_the_websockets_code_and_reason() {
    let server = start_server(|config| config.limits.max_inputs_per_second = 10).await;
    let mut bystander = Bystander::join(&server).await;

    // A flood.
    let flood: Vec<ClientMsg> = (0..25).map(input).collect();
    let (over_ws, over_http) = close_for(&server, &flood).await;
    assert_eq!(
        over_ws,
        (1008, "input flood: more than 20 inputs in one second".to_owned())
    );
    assert_eq!(over_http, over_ws);
    // A second Hello.
    let (over_ws, over_http) = close_for(&server, &[hello()]).await;
    assert_eq!(over_ws.0, 1008);
    assert_eq!(over_http, over_ws);

    // A well-framed batch whose message is not MessagePack: 1007, as a bad binary frame.
    let (session, mut stream, _) = join_with(&server, Hello::new("tester")).await;
    let mut garbage = Vec::new();
    push_batch_message(&mut garbage, &[0xc1, 0xc1, 0xc1]);
    let (status, _) = post_from("127.0.0.1", &server, &session, garbage).await;
    assert_eq!(
        status, 204,
        "the framing is fine; the message is the connection's to judge"
    );
    let (code, reason) = stream.expect_close().await;
    assert_eq!(code, 1007);
    assert!(reason.starts_with("undecodable message: "), "{reason}");

    // An input before Hello.
    let session = connect(&server).await;
    let mut stream = Downstream::open(&server, &session).await;
    send(&server, &session, &[input(0)]).await;
    assert_eq!(
        stream.expect_close().await,
        (1008, "the first message must be hello".to_owned())
    );
    // A message over the size limit: 1009, as an oversized frame.
    let (session, mut stream, _) = join_with(&server, Hello::new("tester")).await;
    let mut big = Vec::new();
    push_batch_message(&mut big, &[0x90; 2000]);
    let _ = post_from("127.0.0.1", &server, &session, big).await;
    let (code, reason) = stream.expect_close().await;
    assert_eq!(code, 1009, "{reason}");

    bystander.still_served().await;
    eventually("every session ending", || sessions_open(&server) == 0).await;
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_client_that_stops_reading_the_stream_is_dropped_with_bounded_memory() {
    const SEND_BUFFER: usize = 32 * 1024;
    let server = start_server_for_stalled_readers(SEND_BUFFER).await;
    let mut bystander = Bystander::join(&server).await;
    let session = connect(&server).await;
    send(&server, &session, &[hello()]).await;
    // The stalled client: asks for the stream with a small receive window, then reads
    // nothing, so the backlog piles up on the server's side.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket.connect(server.local_addr()).await.unwrap();
    let client_port = stalled.local_addr().unwrap().port();
    let get = format!("GET /http/stream?session={session} HTTP/1.1\r\nHost: test\r\n\r\n");
    stalled.write_all(get.as_bytes()).await.unwrap();
    let stalled_at = tokio::time::Instant::now();
    let mut largest_queue = 0;
    // The connection is dropped as a stalled WebSocket's is (no pong within the write
    // timeout, a close it cannot send, the close handshake's wait); then its stream's
    // last frames get the write timeout to leave, and the stuck HTTP connection is closed.
    while sessions_open(&server) > 0 || server.net_stats().connections_open.load(Ordering::Relaxed) > 1 {
        assert!(
            stalled_at.elapsed() < Duration::from_secs(15),
            "the stalled reader was not dropped (ping every 0.2 s, deadline 1 s): {} sessions, {} connections",
            sessions_open(&server),
            server.net_stats().connections_open.load(Ordering::Relaxed)
        );
        largest_queue = largest_queue.max(send_queue(server.local_addr().port(), client_port).unwrap_or(0));
        // The bystander reads on (and so answers pings) meanwhile.
        bystander.receive(1).await;
    }
    eprintln!(
        "dropped after {:?}; largest send queue {largest_queue} bytes",
        stalled_at.elapsed()
    );
    // The rest (the body queue, the pipe) is bounded by construction.
    assert_stalled_reader_bounded(&server, largest_queue, SEND_BUFFER);
    bystander.still_served().await;
    drop(stalled);
    server.shutdown(Duration::from_secs(2)).await;
}
