//! Many rooms in one process, over real sockets: matchmaking places players into rooms of
//! their kind, fills a room before opening another, refuses full rooms, unknown kinds and
//! bad seats with a status and a reason, disposes of empty rooms, lets a dropped player
//! resume in its room, and none of it disturbs the rooms that are playing.

mod common;

use common::matchmaking::*;
use common::*;
use futures_util::StreamExt;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;
use tickcast_server::RunningServer;
use tickcast_server::config::{GameChoice, KindConfig};
use tickcast_shared::{ClientMirror, ClientMsg, Hello, ServerMsg};
use tokio_tungstenite::tungstenite::Error as WsError;

/// Opens `url`; on a refused upgrade, its HTTP status and body.
async fn open(url: &str) -> Result<Ws, (u16, String)> {
    match tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url)).await {
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(WsError::Http(response))) => {
            let body = response
                .body()
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            Err((response.status().as_u16(), body.trim().to_owned()))
        }
        Ok(Err(error)) => panic!("connect to {url}: {error}"),
        Err(_) => panic!("connect to {url} timed out"),
    }
}

/// `GET /rooms`: room id to its listing.
async fn rooms(server: &RunningServer) -> BTreeMap<String, Value> {
    let answer = raw(
        server.local_addr(),
        "GET /rooms HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(answer.status, 200);
    let value: Value = serde_json::from_str(&answer.body).unwrap();
    value["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|room| (field(room, "room_id").to_owned(), room.clone()))
        .collect()
}

/// A server whose matchmade arena rooms hold `capacity` players.
async fn server_with_capacity(
    capacity: usize,
    tweak: impl FnOnce(&mut tickcast_server::config::ServerConfig),
) -> RunningServer {
    start_server(|config| {
        config.rooms.kinds.insert(
            GameChoice::Arena,
            KindConfig {
                capacity: Some(capacity),
                ..KindConfig::default()
            },
        );
        config.rooms.tick_threads = 2;
        tweak(config);
    })
    .await
}

#[tokio::test]
async fn players_are_placed_in_rooms_of_their_kind_each_filled_before_another_opens() {
    let server = server_with_capacity(2, |config| {
        config.rooms.kinds.insert(
            GameChoice::Drift,
            KindConfig {
                capacity: Some(4),
                tick_rate: Some(30),
                snapshot_rate: Some(10),
            },
        );
        config.drift.entities = 20;
    })
    .await;
    // Twelve arena players: six rooms of two, each ticking on the shared pool.
    let mut players = Vec::new();
    let mut by_room: BTreeMap<String, usize> = BTreeMap::new();
    for index in 0..12 {
        let placement = place(&server, r#"{"kind": "arena"}"#).await;
        assert_eq!(field(&placement, "kind"), "arena");
        assert_eq!(field(&placement, "ws_url"), server.ws_url());
        *by_room.entry(field(&placement, "room_id").to_owned()).or_default() += 1;
        let (ws, welcome) = take_seat(&placement, Hello::new(format!("p{index}"))).await;
        assert_eq!(welcome.schema.game, "arena");
        assert!(welcome.player.is_some());
        players.push((ws, ClientMirror::new()));
    }
    assert_eq!(by_room.len(), 6, "{by_room:?}");
    assert!(by_room.values().all(|&count| count == 2), "{by_room:?}");
    // A drift player: a room of its own kind, with that kind's rates.
    let placement = place(&server, r#"{"kind": "drift"}"#).await;
    let drift_room = field(&placement, "room_id").to_owned();
    assert!(drift_room.starts_with("drift-"), "{drift_room}");
    let (mut drifter, welcome) = take_seat(&placement, Hello::new("d")).await;
    assert_eq!(welcome.schema.game, "drift");
    assert_eq!((welcome.tick_rate, welcome.snapshot_rate), (30, 10));
    // Every player is sent snapshots of its own room that verify.
    for (ws, mirror) in &mut players {
        verified_snapshot(ws, mirror).await;
    }
    verified_snapshot(&mut drifter, &mut ClientMirror::new()).await;
    // The list shows each room with its players, and the default room.
    let listed = rooms(&server).await;
    assert_eq!(listed.len(), 6 + 1 + 1, "{listed:?}");
    for (room, count) in &by_room {
        assert_eq!(listed[room]["clients"], *count as u64, "{room}");
        assert_eq!(listed[room]["capacity"], 2);
        assert_eq!(listed[room]["reserved"], 0, "every seat was taken");
    }
    assert_eq!(listed[&drift_room]["kind"], "drift");
    assert_eq!(listed["default"]["kind"], "arena");
    // No kind: the node's default game.
    let placement = place(&server, "").await;
    assert_eq!(field(&placement, "kind"), "arena");
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn full_rooms_unknown_kinds_and_malformed_requests_are_refused_with_a_reason() {
    let server = server_with_capacity(2, |_| {}).await;
    let first = place(&server, r#"{"kind": "arena"}"#).await;
    let room = field(&first, "room_id").to_owned();
    let (mut player, _) = take_seat(&first, Hello::new("a")).await;
    let mut mirror = ClientMirror::new();
    verified_snapshot(&mut player, &mut mirror).await;
    // Asked for by id: the room's second seat, then none.
    let by_id = format!(r#"{{"kind": "arena", "room_id": "{room}"}}"#);
    let second = place(&server, &by_id).await;
    assert_eq!(field(&second, "room_id"), room);
    let full = matchmake(&server, &by_id).await;
    assert_eq!(full.status, 409);
    assert_eq!(reason(&full), format!("room \"{room}\" is full (2 players)"));
    // Without an id, a full room is skipped: a new one opens.
    let other = place(&server, r#"{"kind": "arena"}"#).await;
    assert_ne!(field(&other, "room_id"), room);

    let unknown = matchmake(&server, r#"{"kind": "chess"}"#).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(
        reason(&unknown),
        "unknown room kind \"chess\"; kinds: arena, drift, cubes"
    );
    let no_room = matchmake(&server, r#"{"kind": "arena", "room_id": "arena-nope"}"#).await;
    assert_eq!(
        (no_room.status, reason(&no_room)),
        (404, "no room \"arena-nope\"".to_owned())
    );
    let default = matchmake(&server, r#"{"room_id": "default"}"#).await;
    assert_eq!(default.status, 404, "matchmaking never places into the default room");
    for body in [
        "{",
        "[1, 2]",
        r#"{"kind": 7}"#,
        r#"{"kind": "arena", "mode": "ranked"}"#,
    ] {
        let malformed = matchmake(&server, body).await;
        assert_eq!(malformed.status, 400, "{body}");
        assert!(
            reason(&malformed).starts_with("malformed request"),
            "{}",
            malformed.body
        );
    }
    let huge = matchmake(&server, &format!(r#"{{"kind": "{}"}}"#, "a".repeat(4000))).await;
    assert_eq!(huge.status, 413);
    let get = raw(
        server.local_addr(),
        "GET /matchmake HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(get.status, 405, "matchmaking is a POST");
    // The room played on through all of it.
    verified_snapshot(&mut player, &mut mirror).await;
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn forged_expired_and_reused_seats_are_refused_before_the_upgrade() {
    let server = server_with_capacity(4, |config| config.rooms.seat_ttl = Duration::from_millis(400)).await;
    let placement = place(&server, r#"{"kind": "arena"}"#).await;
    let url = field(&placement, "ws_url").to_owned();
    let seat = field(&placement, "seat_token").to_owned();
    // Forged: one character of the signed token changed.
    let mut forged = seat.clone().into_bytes();
    let last = forged.len() - 2;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    assert_eq!(
        open(&format!("{url}?seat={forged}")).await.unwrap_err(),
        (401, "seat token invalid".to_owned())
    );
    assert_eq!(
        open(&format!("{url}?seat=not-a-seat")).await.unwrap_err(),
        (401, "seat token invalid".to_owned())
    );
    // Taken once; the second use is refused.
    let (mut player, _) = take_seat(&placement, Hello::new("a")).await;
    let mut mirror = ClientMirror::new();
    verified_snapshot(&mut player, &mut mirror).await;
    assert_eq!(
        open(&format!("{url}?seat={seat}")).await.unwrap_err(),
        (403, "seat already used".to_owned())
    );
    // Expired: reserved, then not presented within the seat's time.
    let late = place(&server, r#"{"kind": "arena"}"#).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let late_url = format!("{url}?seat={}", field(&late, "seat_token"));
    assert_eq!(
        open(&late_url).await.unwrap_err(),
        (401, "seat token expired".to_owned())
    );
    // The room never noticed.
    verified_snapshot(&mut player, &mut mirror).await;
    let listed = rooms(&server).await;
    let room = &listed[field(&placement, "room_id")];
    assert_eq!(
        (room["clients"].as_u64(), room["reserved"].as_u64()),
        (Some(1), Some(0))
    );
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn an_empty_room_is_disposed_after_its_timeout_and_then_unknown() {
    let server = server_with_capacity(4, |config| {
        config.rooms.empty_timeout = Duration::from_millis(300);
        config.limits.resume_grace = Duration::ZERO;
    })
    .await;
    let placement = place(&server, r#"{"kind": "arena"}"#).await;
    let room = field(&placement, "room_id").to_owned();
    let (mut player, _) = take_seat(&placement, Hello::new("a")).await;
    verified_snapshot(&mut player, &mut ClientMirror::new()).await;
    // Occupied rooms stay, however long.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(rooms(&server).await.contains_key(&room), "an occupied room stays");
    drop(player);
    let deadline = tokio::time::Instant::now() + WAIT;
    while rooms(&server).await.contains_key(&room) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the empty room was not disposed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let url = format!("{}?room={room}", field(&placement, "ws_url"));
    assert_eq!(
        open(&url).await.unwrap_err(),
        (404, "no such room on this node".to_owned())
    );
    let by_id = matchmake(&server, &format!(r#"{{"kind": "arena", "room_id": "{room}"}}"#)).await;
    assert_eq!(by_id.status, 404);
    // The default room is never disposed.
    assert!(rooms(&server).await.contains_key("default"));
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_dropped_player_resumes_in_its_room_and_a_seatless_join_is_closed() {
    let server = server_with_capacity(4, |_| {}).await;
    let placement = place(&server, r#"{"kind": "arena"}"#).await;
    let room = field(&placement, "room_id").to_owned();
    let (player, welcome) = take_seat(&placement, Hello::new("a")).await;
    drop(player);
    let comeback = format!("{}?room={room}", field(&placement, "ws_url"));
    let mut ws = open(&comeback).await.unwrap();
    let mut again = Hello::new("a");
    again.resume = Some(welcome.resume.clone().into());
    send(&mut ws, &ClientMsg::Hello(again)).await;
    let resumed = match next_message(&mut ws).await {
        ServerMsg::Welcome(resumed) => resumed,
        other => panic!("expected welcome, got {other:?}"),
    };
    assert_eq!(resumed.player, welcome.player, "its own player back");
    verified_snapshot(&mut ws, &mut ClientMirror::new()).await;
    // Coming to the room with no player to resume: a seat is needed.
    let mut stranger = open(&comeback).await.unwrap();
    send(&mut stranger, &hello()).await;
    assert_eq!(
        expect_close(&mut stranger).await,
        (1008, "joining a room needs a seat from /matchmake".to_owned())
    );
    // A resume token from the default room does not open a matchmade one.
    let (default_player, default_welcome) = join(&server).await;
    drop(default_player);
    let mut thief = open(&comeback).await.unwrap();
    let mut hello = Hello::new("t");
    hello.resume = Some(default_welcome.resume.into());
    send(&mut thief, &ClientMsg::Hello(hello)).await;
    assert_eq!(
        expect_close(&mut thief).await,
        (1008, "invalid resume token".to_owned())
    );
    server.shutdown(Duration::from_secs(2)).await;
}

/// A dropped player's seat stays its own through the resume grace: while it is away its
/// room is full, it comes back into the seat, and only once a grace runs out is the seat
/// free for someone else.
#[tokio::test]
async fn a_dropped_players_seat_is_kept_through_its_grace_and_freed_after() {
    let grace = Duration::from_secs(3);
    let server = server_with_capacity(2, |config| config.limits.resume_grace = grace).await;
    let first = place(&server, r#"{"kind": "arena"}"#).await;
    let room = field(&first, "room_id").to_owned();
    let by_id = format!(r#"{{"kind": "arena", "room_id": "{room}"}}"#);
    let (player, welcome) = take_seat(&first, Hello::new("a")).await;
    let (mut other, _) = take_seat(&place(&server, &by_id).await, Hello::new("b")).await;
    let mut other_mirror = ClientMirror::new();
    verified_snapshot(&mut other, &mut other_mirror).await;
    let open_connections = |server: &RunningServer| {
        server
            .net_stats()
            .connections_open
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let before = open_connections(&server);
    drop(player);
    // The server has ended the connection (its room has been told, and the connection's
    // task is done with its place) once the open count falls.
    let deadline = tokio::time::Instant::now() + WAIT;
    while open_connections(&server) >= before {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the dropped connection never ended"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let full = matchmake(&server, &by_id).await;
    assert_eq!(
        (full.status, reason(&full)),
        (409, format!("room \"{room}\" is full (2 players)")),
        "the away player's seat is not given away"
    );
    assert_eq!(rooms(&server).await[&room]["clients"], 2);
    // It comes back into its seat.
    let comeback = format!("{}?room={room}", field(&first, "ws_url"));
    let mut ws = open(&comeback).await.unwrap();
    let mut again = Hello::new("a");
    again.resume = Some(welcome.resume.clone().into());
    send(&mut ws, &ClientMsg::Hello(again)).await;
    assert!(matches!(next_message(&mut ws).await, ServerMsg::Welcome(_)));
    verified_snapshot(&mut ws, &mut ClientMirror::new()).await;
    assert_eq!(matchmake(&server, &by_id).await.status, 409, "both players are back");
    // Gone for good this time: after the grace, the seat is free.
    drop(ws);
    let deadline = tokio::time::Instant::now() + grace + WAIT;
    let freed = loop {
        let answer = matchmake(&server, &by_id).await;
        if answer.status == 200 || tokio::time::Instant::now() > deadline {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(freed.status, 200, "the seat is free after the grace: {}", freed.body);
    // The room played on through all of it.
    verified_snapshot(&mut other, &mut other_mirror).await;
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn with_an_auth_secret_matchmaking_needs_a_token_and_the_seat_carries_it() {
    const SECRET: &str = "rooms-test-secret";
    let server = server_with_capacity(4, |config| config.access.auth_secret = SECRET.to_owned()).await;
    let token = |room: Option<&str>| {
        let claims = tickcast_server::net::admission::claims_for("alice", room, Duration::from_secs(60));
        tickcast_server::net::admission::mint(SECRET.as_bytes(), &claims).unwrap()
    };
    let anonymous = matchmake(&server, r#"{"kind": "arena"}"#).await;
    assert_eq!(
        (anonymous.status, reason(&anonymous)),
        (401, "a token is required".to_owned())
    );
    let forged = matchmake_with(&server, r#"{"kind": "arena"}"#, "Authorization: Bearer abc.def.ghi\r\n").await;
    assert_eq!(forged.status, 401);
    let elsewhere = format!("Authorization: Bearer {}\r\n", token(Some("drift")));
    let wrong_room = matchmake_with(&server, r#"{"kind": "arena"}"#, &elsewhere).await;
    assert_eq!(
        (wrong_room.status, reason(&wrong_room)),
        (403, "the token is for another room".to_owned())
    );
    let bearer = format!("Authorization: Bearer {}\r\n", token(Some("arena")));
    let answer = matchmake_with(&server, r#"{"kind": "arena"}"#, &bearer).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let placement: Value = serde_json::from_str(&answer.body).unwrap();
    // The seat stands for the token: the WebSocket needs none.
    let (mut ws, welcome) = take_seat(&placement, Hello::new("alice")).await;
    verified_snapshot(&mut ws, &mut ClientMirror::new()).await;
    // The resume token is bound to alice: coming back needs her token again.
    drop(ws);
    let comeback = format!("{}?room={}", field(&placement, "ws_url"), field(&placement, "room_id"));
    assert_eq!(open(&comeback).await.unwrap_err().0, 401);
    let mut ws = open(&format!("{comeback}&token={}", token(None))).await.unwrap();
    let mut hello = Hello::new("alice");
    hello.resume = Some(welcome.resume.into());
    send(&mut ws, &ClientMsg::Hello(hello)).await;
    assert!(matches!(next_message(&mut ws).await, ServerMsg::Welcome(w) if w.player == welcome.player));
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn shutdown_closes_every_room_with_1001() {
    let server = server_with_capacity(2, |_| {}).await;
    let mut sockets = Vec::new();
    for name in ["a", "b", "c"] {
        let placement = place(&server, r#"{"kind": "arena"}"#).await;
        let (mut ws, _) = take_seat(&placement, Hello::new(name)).await;
        verified_snapshot(&mut ws, &mut ClientMirror::new()).await;
        sockets.push(ws);
    }
    let (mut default_player, _) = join(&server).await;
    let closing = tokio::spawn(server.shutdown(Duration::from_secs(2)));
    for ws in &mut sockets {
        assert_eq!(expect_close(ws).await, (1001, "server shutting down".to_owned()));
        while ws.next().await.is_some() {}
    }
    assert_eq!(expect_close(&mut default_player).await.0, 1001);
    closing.await.unwrap();
}

#[tokio::test]
async fn a_draining_node_takes_no_one_new_and_its_rooms_play_on_until_empty() {
    let grace = Duration::from_millis(500);
    let server = server_with_capacity(4, |config| config.limits.resume_grace = grace).await;
    let placement = place(&server, r#"{"kind": "arena"}"#).await;
    let (mut player, welcome) = take_seat(&placement, Hello::new("a")).await;
    let mut mirror = ClientMirror::new();
    verified_snapshot(&mut player, &mut mirror).await;
    let server = std::sync::Arc::new(server);
    let draining = tokio::spawn({
        let server = std::sync::Arc::clone(&server);
        async move { server.drain(Duration::from_secs(20)).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let refused = matchmake(&server, r#"{"kind": "arena"}"#).await;
    assert_eq!(
        (refused.status, reason(&refused)),
        (503, "this node is draining".to_owned())
    );
    assert!(refused.header("retry-after").is_some());
    let health = raw(
        server.local_addr(),
        "GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(health.status, 503);
    assert!(health.body.contains("\"draining\""), "{}", health.body);
    assert_eq!(
        open(&server.ws_url()).await.unwrap_err(),
        (503, "this node is draining".to_owned())
    );
    // The room plays on, and its players may still come back to it.
    verified_snapshot(&mut player, &mut mirror).await;
    drop(player);
    let comeback = format!("{}?room={}", field(&placement, "ws_url"), field(&placement, "room_id"));
    let mut ws = open(&comeback).await.unwrap();
    let mut hello = Hello::new("a");
    hello.resume = Some(welcome.resume.into());
    send(&mut ws, &ClientMsg::Hello(hello)).await;
    assert!(matches!(next_message(&mut ws).await, ServerMsg::Welcome(_)));
    assert!(!draining.is_finished(), "a room with a player keeps the drain waiting");
    drop(ws);
    // The player may still come back within its grace, so its seat keeps the room
    // until then; the drain ends once the grace has run out.
    let emptied = tokio::time::timeout(grace + WAIT, draining)
        .await
        .expect("the drain ends once the rooms are empty");
    assert!(emptied.unwrap());
    let server = std::sync::Arc::into_inner(server).unwrap();
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_matchmaking_flood_cannot_make_a_node_start_rooms_without_end() {
    let server = server_with_capacity(2, |config| config.rooms.max_rooms = 3).await;
    let (mut bystander, _) = take_seat(&place(&server, r#"{"kind": "arena"}"#).await, Hello::new("b")).await;
    let mut mirror = ClientMirror::new();
    verified_snapshot(&mut bystander, &mut mirror).await;
    // Reservations alone fill rooms: three rooms of two seats, then no more rooms.
    for _ in 0..5 {
        place(&server, r#"{"kind": "arena"}"#).await;
    }
    for _ in 0..20 {
        let refused = matchmake(&server, r#"{"kind": "arena"}"#).await;
        assert_eq!(refused.status, 503);
        assert_eq!(reason(&refused), "this node hosts its maximum of 3 rooms");
        assert!(refused.header("retry-after").is_some());
    }
    let listed = rooms(&server).await;
    assert_eq!(listed.len(), 3 + 1, "three matchmade rooms and the default one");
    // The rooms that exist play on.
    verified_snapshot(&mut bystander, &mut mirror).await;
    server.shutdown(Duration::from_secs(2)).await;
}
