//! Session resume over real sockets: a client whose connection drops reconnects with
//! the resume token from its Welcome and gets its own player back (position, health,
//! score), a full snapshot, and acks that continue from its last input; after the grace
//! period the player is gone; a forged or foreign token is refused.

mod common;

use common::{Bystander, Ws, expect_close, next_message, next_snapshot, send, start_server};
use std::time::Duration;
use tickcast_server::RunningServer;
use tickcast_shared::arena::ArenaInput;
use tickcast_shared::arena::{Health, Score, Transform2};
use tickcast_shared::input::GameInput;
use tickcast_shared::{ClientMirror, ClientMsg, Hello, ServerMsg, Welcome};

fn still(seq: u32) -> ClientMsg {
    ClientMsg::Input(ArenaInput::default().to_input(seq, None))
}

/// Connects (to `url`) and says `hello`; returns the socket and the Welcome.
async fn hello_to(url: &str, hello: Hello) -> (Ws, Welcome) {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("connect");
    send(&mut ws, &ClientMsg::Hello(hello)).await;
    match next_message(&mut ws).await {
        ServerMsg::Welcome(welcome) => (ws, welcome),
        other => panic!("expected a welcome, got {other:?}"),
    }
}

/// Applies snapshots until the ack reaches `seq`.
async fn until_acked(ws: &mut Ws, mirror: &mut ClientMirror, seq: u32) {
    for _ in 0..200 {
        mirror.apply_frame(&next_snapshot(ws).await).expect("mirror applies");
        if mirror.input_ack() == Some(seq) {
            return;
        }
    }
    panic!("seq {seq} never acked (ack {:?})", mirror.input_ack());
}

fn resume_hello(welcome: &Welcome) -> Hello {
    Hello::resuming("tester", &welcome.resume)
}

/// A server whose clients see the whole world, so a bystander sees every player.
async fn server_with_grace(grace: Duration) -> RunningServer {
    start_server(|config| {
        config.limits.resume_grace = grace;
        config.replication.interest_radius = 0.0;
    })
    .await
}

#[tokio::test]
async fn a_client_that_reconnects_within_the_grace_gets_its_player_and_acks_back() {
    let server = server_with_grace(Duration::from_secs(5)).await;
    let mut bystander = Bystander::join(&server).await;
    let (mut ws, welcome) = hello_to(&server.ws_url(), Hello::new("tester")).await;
    let mut mirror = ClientMirror::new();
    // Walk for a while, then stand still, so the position to come back to is fixed.
    for seq in 0..30 {
        send(&mut ws, &common::input(seq)).await;
    }
    for seq in 30..40 {
        send(&mut ws, &still(seq)).await;
    }
    until_acked(&mut ws, &mut mirror, 39).await;
    let before = mirror
        .entity(welcome.player.expect("a player"))
        .expect("own player")
        .clone();
    // The connection drops without a close handshake.
    drop(ws);

    tokio::time::sleep(Duration::from_millis(300)).await;
    bystander.receive(3).await;
    assert!(
        bystander.mirror.entity(welcome.player.expect("a player")).is_some(),
        "the away player stays in the world"
    );

    let (mut ws, resumed) = hello_to(&server.ws_url(), resume_hello(&welcome)).await;
    assert_eq!(resumed.player, welcome.player, "the same player");
    assert_eq!(resumed.client_id, welcome.client_id, "the same client");
    let first = next_snapshot(&mut ws).await;
    assert!(first.full, "a resumed connection starts from a full snapshot");
    let mut mirror = ClientMirror::new();
    mirror.apply_frame(&first).unwrap();
    assert_eq!(mirror.input_ack(), Some(39), "acks continue from the last input");
    let after = mirror
        .entity(welcome.player.expect("a player"))
        .expect("own player")
        .clone();
    assert_eq!(after.get::<Transform2>(), before.get::<Transform2>(), "position intact");
    assert_eq!(after.get::<Health>(), before.get::<Health>(), "health intact");
    assert_eq!(after.get::<Score>(), before.get::<Score>(), "score intact");
    // Inputs go on from the next seq.
    for seq in 40..45 {
        send(&mut ws, &common::input(seq)).await;
    }
    until_acked(&mut ws, &mut mirror, 44).await;
    // A new resume token came with the new Welcome, and it works as well.
    assert!(!resumed.resume.is_empty());
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn after_the_grace_the_player_is_gone_and_a_resume_joins_anew() {
    let server = server_with_grace(Duration::from_millis(300)).await;
    let mut bystander = Bystander::join(&server).await;
    let (ws, welcome) = hello_to(&server.ws_url(), Hello::new("tester")).await;
    drop(ws);
    let mut gone = false;
    for _ in 0..60 {
        bystander.receive(1).await;
        if bystander.mirror.entity(welcome.player.expect("a player")).is_none() {
            gone = true;
            break;
        }
    }
    assert!(gone, "the away player is removed after the grace period");
    let (_ws, fresh) = hello_to(&server.ws_url(), resume_hello(&welcome)).await;
    assert_ne!(fresh.player, welcome.player, "a new player");
    assert_ne!(fresh.client_id, welcome.client_id);
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_forged_resume_token_closes_with_1008() {
    let server = server_with_grace(Duration::from_secs(5)).await;
    let (ws, welcome) = hello_to(&server.ws_url(), Hello::new("tester")).await;
    drop(ws);
    let mut forged = welcome.clone();
    forged.resume[0] ^= 1;
    let (mut ws, _) = tokio_tungstenite::connect_async(server.ws_url()).await.unwrap();
    send(&mut ws, &ClientMsg::Hello(resume_hello(&forged))).await;
    let (code, reason) = expect_close(&mut ws).await;
    assert_eq!((code, reason.as_str()), (1008, "invalid resume token"));
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_resume_token_is_bound_to_its_authenticated_player() {
    const SECRET: &[u8] = b"resume-secret";
    let server = start_server(|config| {
        config.limits.resume_grace = Duration::from_secs(5);
        config.access.auth_secret = String::from_utf8(SECRET.to_vec()).unwrap();
    })
    .await;
    use tickcast_server::net::admission::{claims_for, mint};
    let url_for = |player: &str| {
        let token = mint(SECRET, &claims_for(player, None, Duration::from_secs(60))).unwrap();
        format!("{}?token={token}", server.ws_url())
    };
    let (ws, welcome) = hello_to(&url_for("alice"), Hello::new("alice")).await;
    drop(ws);
    // Mallory holds a valid token of her own, and alice's resume token.
    let (mut ws, _) = tokio_tungstenite::connect_async(url_for("mallory")).await.unwrap();
    send(&mut ws, &ClientMsg::Hello(resume_hello(&welcome))).await;
    let (code, reason) = expect_close(&mut ws).await;
    assert_eq!((code, reason.as_str()), (1008, "invalid resume token"));
    // Alice gets her player back.
    let (_ws, resumed) = hello_to(&url_for("alice"), resume_hello(&welcome)).await;
    assert_eq!(resumed.player, welcome.player);
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_resume_takes_over_a_connection_the_server_still_thinks_alive() {
    // After a silent network drop the client knows its connection is dead before the
    // server does: its resume must not wait for the server's ping deadline.
    let server = server_with_grace(Duration::from_secs(5)).await;
    let (mut old, welcome) = hello_to(&server.ws_url(), Hello::new("tester")).await;
    // Without the takeover the resume would wait out its deadline and join anew.
    let (_ws, resumed) = hello_to(&server.ws_url(), resume_hello(&welcome)).await;
    assert_eq!(resumed.player, welcome.player, "the same player, taken over");
    let (code, reason) = expect_close(&mut old).await;
    assert_eq!(
        (code, reason.as_str()),
        (1008, "the session was resumed on another connection")
    );
    server.shutdown(Duration::from_secs(2)).await;
}
