//! In-process tests over real sockets: the handshake, snapshots and acks, and every kind
//! of bad input closing only the offending connection with the right code and reason.

mod common;

use common::*;
use futures_util::SinkExt;
use std::time::Duration;
use tickcast_shared::arena::EntityKind;
use tickcast_shared::input::Input;
use tickcast_shared::{ClientMirror, ClientMsg, Hello, PROTOCOL_VERSION};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn a_client_joins_mirrors_the_world_and_gets_its_inputs_acked() {
    // Interest off: this client must see the whole world.
    let server = start_server(|config| config.replication.interest_radius = 0.0).await;
    let (mut ws, welcome) = join(&server).await;
    assert_eq!(welcome.protocol_version, PROTOCOL_VERSION);
    assert_eq!((welcome.tick_rate, welcome.snapshot_rate), (60, 30));

    let mut mirror = ClientMirror::new();
    let first = next_snapshot(&mut ws).await;
    assert!(first.full, "the first snapshot is a full one");
    mirror.apply_frame(&first).unwrap();

    let mut acked = None;
    for seq in 0..30 {
        send(&mut ws, &input(seq)).await;
        let frame = next_snapshot(&mut ws).await;
        assert!(!frame.full, "later snapshots are deltas against the previous one sent");
        let applied = mirror.apply_frame(&frame).unwrap();
        assert!(
            applied.checksum_verified || frame.body.is_empty(),
            "every non-empty body is checked"
        );
        acked = applied.input_ack.or(acked);
    }
    let acked = acked.expect("inputs were acknowledged");
    assert!(acked >= 20, "acks keep up with inputs (last ack {acked})");

    let me = mirror
        .entity(welcome.player.expect("a player"))
        .expect("the client's own entity is replicated");
    assert_eq!(me.get::<EntityKind>(), Some(EntityKind::Player));
    let drones = mirror
        .entities()
        .filter(|e| e.get::<EntityKind>() == Some(EntityKind::Drone))
        .count();
    assert_eq!(drones, 8);
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_snapshot_is_of_the_welcome_tick_or_later_and_holds_the_player() {
    // Many joins in a row, each racing the room's snapshots: a snapshot captured just
    // before the room took a client in must not be that client's first.
    let server = start_server(|config| config.replication.interest_radius = 0.0).await;
    let mut clients = Vec::new();
    for _ in 0..30 {
        let (mut ws, welcome) = join(&server).await;
        let first = next_snapshot(&mut ws).await;
        assert!(first.full);
        assert!(
            !welcome.tick.is_after(tickcast_shared::Tick(first.tick)),
            "welcome at tick {:?}, first snapshot of tick {}",
            welcome.tick,
            first.tick
        );
        let mut mirror = ClientMirror::new();
        mirror.apply_frame(&first).unwrap();
        assert!(mirror.entity(welcome.player.unwrap()).is_some(), "the player is in it");
        clients.push(ws);
    }
}

#[tokio::test]
async fn a_departed_client_is_despawned_for_everyone_else() {
    // Without a grace period to resume in, the player goes with its connection (the
    // grace is tested in resume.rs).
    let server = start_server(|config| {
        config.replication.interest_radius = 0.0;
        config.limits.resume_grace = Duration::ZERO;
    })
    .await;
    let mut watcher = Bystander::join(&server).await;
    let (leaver, welcome) = join(&server).await;
    watcher.receive(3).await;
    assert!(watcher.mirror.entity(welcome.player.expect("a player")).is_some());
    drop(leaver);
    let deadline = tokio::time::Instant::now() + WAIT;
    while watcher.mirror.entity(welcome.player.expect("a player")).is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the departed player was never despawned"
        );
        watcher.receive(1).await;
    }
    server.shutdown(Duration::from_secs(2)).await;
}

/// Sends `bad` on a fresh connection (after `before`), expects `code` and a reason
/// containing `reason`, and checks a bystander is still served.
async fn closes_with(before: &[ClientMsg], bad: Message, code: u16, reason: &str) {
    let server = start_server(|_| {}).await;
    let mut bystander = Bystander::join(&server).await;
    let mut ws = connect(&server).await;
    for message in before {
        send(&mut ws, message).await;
    }
    ws.send(bad).await.unwrap();
    let (got_code, got_reason) = expect_close(&mut ws).await;
    assert_eq!(got_code, code, "reason was {got_reason:?}");
    assert!(got_reason.contains(reason), "{got_reason:?} should mention {reason:?}");
    bystander.still_served().await;
    assert_eq!(server.net_stats().closes_with(code), 1);
    server.shutdown(Duration::from_secs(2)).await;
}

fn binary(message: &ClientMsg) -> Message {
    Message::Binary(message.encode().unwrap().into())
}

#[tokio::test]
async fn a_text_frame_closes_with_1003() {
    closes_with(
        &[hello()],
        Message::Text("{\"hello\":1}".into()),
        1003,
        "text frames are not supported",
    )
    .await;
}

#[tokio::test]
async fn undecodable_binary_closes_with_1007_and_a_reason() {
    closes_with(
        &[hello()],
        Message::Binary(vec![0xc1, 0xff, 0x00].into()),
        1007,
        "undecodable message",
    )
    .await;
}

#[tokio::test]
async fn an_input_before_hello_closes_with_1008() {
    closes_with(&[], binary(&input(0)), 1008, "the first message must be hello").await;
}

#[tokio::test]
async fn a_second_hello_closes_with_1008() {
    closes_with(&[hello()], binary(&hello()), 1008, "hello was already received").await;
}

#[tokio::test]
async fn a_wrong_protocol_version_is_refused_naming_both_versions() {
    let wrong = ClientMsg::Hello(Hello {
        protocol_version: PROTOCOL_VERSION + 6,
        ..Hello::new("old")
    });
    let expected = format!(
        "protocol version {} is not supported; this server speaks version {}",
        PROTOCOL_VERSION + 6,
        PROTOCOL_VERSION
    );
    closes_with(&[], binary(&wrong), 1002, &expected).await;
}

#[tokio::test]
async fn a_frame_over_the_size_limit_closes_with_1009() {
    closes_with(
        &[hello()],
        Message::Binary(vec![0u8; 4096].into()),
        1009,
        "message too long",
    )
    .await;
}

#[tokio::test]
async fn a_non_finite_input_closes_with_1007_before_reaching_the_room() {
    let nan = ClientMsg::Input(Input::with_values(0, None, &[f32::NAN, 0.0, 0.0, 0.0]));
    closes_with(&[hello()], binary(&nan), 1007, "input field move_x is not finite").await;
}

#[tokio::test]
async fn an_out_of_range_input_closes_with_1007() {
    let fast = ClientMsg::Input(Input::with_values(0, None, &[0.0, 40.0, 0.0, 0.0]));
    closes_with(
        &[hello()],
        binary(&fast),
        1007,
        "input field move_y = 40 is out of range",
    )
    .await;
}

#[tokio::test]
async fn an_input_flood_is_dropped_then_closed_with_1008() {
    let server = start_server(|config| config.limits.max_inputs_per_second = 10).await;
    let mut bystander = Bystander::join(&server).await;
    let (mut ws, _) = join(&server).await;
    for seq in 0..25 {
        send(&mut ws, &input(seq)).await;
    }
    let (code, reason) = expect_close(&mut ws).await;
    assert_eq!(
        (code, reason.as_str()),
        (1008, "input flood: more than 20 inputs in one second")
    );
    let dropped = server
        .net_stats()
        .inputs_dropped_rate
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(dropped, 10, "inputs 11..=20 were dropped and counted before the close");
    bystander.still_served().await;
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_client_that_never_says_hello_is_closed_with_1008() {
    let server = start_server(|config| config.limits.handshake_timeout = Duration::from_millis(300)).await;
    let mut ws = connect(&server).await;
    let (code, reason) = expect_close(&mut ws).await;
    assert_eq!((code, reason.as_str()), (1008, "no hello within the handshake timeout"));
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_full_server_refuses_with_1013() {
    let server = start_server(|config| config.limits.max_clients = 1).await;
    let mut first = Bystander::join(&server).await;
    let mut second = connect(&server).await;
    let (code, reason) = expect_close(&mut second).await;
    assert_eq!((code, reason.as_str()), (1013, "server is full"));
    first.still_served().await;
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn only_the_ws_path_upgrades() {
    let server = start_server(|_| {}).await;
    let url = format!("ws://{}/elsewhere", server.local_addr());
    let error = tokio_tungstenite::connect_async(url)
        .await
        .expect_err("upgrade on a wrong path");
    assert!(error.to_string().contains("404"), "{error}");
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn shutdown_closes_clients_with_1001() {
    let server = start_server(|_| {}).await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(Bystander::join(&server).await);
    }
    let shutdown = tokio::spawn(server.shutdown(Duration::from_secs(3)));
    for client in &mut clients {
        let (code, reason) = expect_close(&mut client.ws).await;
        assert_eq!((code, reason.as_str()), (1001, "server shutting down"));
    }
    shutdown.await.unwrap();
}

/// Plays one input (numbered from `seqs`) and one snapshot at a time on each client (a
/// socket and its mirror), all clients at once; returns each client's snapshot ticks,
/// checking that every snapshot applies and the inputs are acked.
async fn play_in_parallel(clients: &mut [(Ws, ClientMirror)], seqs: std::ops::Range<u32>) -> Vec<Vec<u32>> {
    let played = clients.iter_mut().map(|(ws, mirror)| {
        let seqs = seqs.clone();
        async move {
            let (mut ticks, mut acked) = (Vec::new(), None);
            let halfway = seqs.start + seqs.len() as u32 / 2;
            for seq in seqs.clone() {
                send(ws, &input(seq)).await;
                let frame = next_snapshot(ws).await;
                let applied = mirror.apply_frame(&frame).expect("mirror stays in step");
                assert!(applied.checksum_verified || frame.body.is_empty());
                ticks.push(applied.tick.0);
                acked = applied.input_ack.or(acked);
            }
            assert!(
                acked.is_some_and(|seq| seq >= halfway),
                "inputs acked (last ack {acked:?}, inputs {seqs:?})"
            );
            ticks
        }
    });
    futures_util::future::join_all(played).await
}

/// Plays as [`play_in_parallel`] does; returns each client's snapshot group.
async fn groups_after_playing(clients: &mut [(Ws, ClientMirror)], seqs: std::ops::Range<u32>) -> Vec<u32> {
    let ticks = play_in_parallel(clients, seqs).await;
    ticks.iter().map(|ticks| group_of(ticks)).collect()
}

/// The tick parity every one of `ticks` has (its snapshot group at 60/30); panics if
/// they are mixed, or if the client missed most of its group's snapshots.
fn group_of(ticks: &[u32]) -> u32 {
    let parity = ticks[0] % 2;
    assert!(
        ticks.iter().all(|tick| tick % 2 == parity),
        "one group's ticks only: {ticks:?}"
    );
    let every_snapshot = ticks.windows(2).filter(|pair| pair[1] == pair[0] + 2).count();
    assert!(
        every_snapshot >= ticks.len() / 2,
        "every snapshot of its group, 30 a second: {ticks:?}"
    );
    parity
}

#[tokio::test]
async fn staggered_snapshots_keep_the_groups_even_as_clients_come_and_go() {
    let server = start_server(|config| config.stagger_snapshots = true).await;
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push((join(&server).await.0, ClientMirror::new()));
    }
    let groups = groups_after_playing(&mut clients, 0..12).await;
    assert_eq!(
        groups.iter().filter(|&&group| group == 0).count(),
        2,
        "two clients on the even ticks, two on the odd: {groups:?}"
    );

    // Both clients of the even ticks leave; the next two to join take their places.
    let (leaving, staying): (Vec<_>, Vec<_>) = clients.into_iter().zip(groups).partition(|(_, group)| *group == 0);
    let mut clients: Vec<_> = staying.into_iter().map(|(client, _)| client).collect();
    for ((mut ws, _), _) in leaving {
        ws.close(None).await.unwrap();
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    while server
        .net_stats()
        .connections_open
        .load(std::sync::atomic::Ordering::Relaxed)
        > 2
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the leavers' connections never ended"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for _ in 0..2 {
        clients.push((join(&server).await.0, ClientMirror::new()));
    }
    let groups = groups_after_playing(&mut clients, 12..24).await;
    assert_eq!(groups, [1, 1, 0, 0], "the newcomers fill the even ticks");
    server.shutdown(Duration::from_secs(2)).await;
}
