//! Spectators over real sockets: a client that joins without a player sees the whole
//! world (or the area around its point), verifies every checksum, and is closed if it
//! sends an input, while the room and its players carry on.

mod common;

use common::*;
use std::time::Duration;
use tickcast_shared::arena::EntityKind;
use tickcast_shared::{ClientMirror, ClientMsg, Hello, ServerMsg, Spectate, Welcome};

/// Connects and joins as a spectator of `spectate`.
async fn spectate(server: &tickcast_server::RunningServer, spectate: Spectate) -> (Ws, Welcome) {
    let mut ws = connect(server).await;
    send(&mut ws, &ClientMsg::Hello(Hello::spectating("watcher", spectate))).await;
    match next_message(&mut ws).await {
        ServerMsg::Welcome(welcome) => (ws, welcome),
        other => panic!("expected welcome, got {other:?}"),
    }
}

/// Applies `count` snapshots; returns how many bodies carried a verified checksum.
async fn mirror_snapshots(ws: &mut Ws, mirror: &mut ClientMirror, count: usize) -> usize {
    let mut verified = 0;
    for _ in 0..count {
        let frame = next_snapshot(ws).await;
        let applied = mirror.apply_frame(&frame).expect("every frame applies");
        assert!(applied.checksum_verified || frame.body.is_empty());
        verified += usize::from(applied.checksum_verified);
    }
    verified
}

#[tokio::test]
async fn a_world_spectator_sees_everything_beyond_the_interest_radius_and_spawns_nothing() {
    // Players see 5 units around them; a whole-world spectator is not bound by that.
    let server = start_server(|config| config.replication.interest_radius = 5.0).await;
    let (mut player, _) = join(&server).await;
    let (mut ws, welcome) = spectate(&server, Spectate::World).await;
    assert_eq!(welcome.player, None, "a spectator has no player");
    assert!(welcome.resume.is_empty(), "and nothing to resume");
    let mut mirror = ClientMirror::new();
    let verified = mirror_snapshots(&mut ws, &mut mirror, 40).await;
    assert!(
        verified > 10,
        "the moving drones change every snapshot ({verified} verified)"
    );
    let kinds: Vec<EntityKind> = mirror.entities().filter_map(|e| e.get::<EntityKind>()).collect();
    let drones = kinds.iter().filter(|kind| **kind == EntityKind::Drone).count();
    let players = kinds.iter().filter(|kind| **kind == EntityKind::Player).count();
    assert_eq!(
        (drones, players),
        (8, 1),
        "every drone and the one player, wherever they are"
    );
    assert_eq!(
        server.room_stats().clients.load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    assert_eq!(
        server
            .room_stats()
            .spectators
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    // In step with the world after its first frames, the spectator is sent the shared
    // world bodies (the player, with an area of interest, never is).
    let shared = server
        .net_stats()
        .frames_shared
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(shared >= 30, "{shared} of the spectator's 40 frames were shared bodies");
    // The player is still served.
    next_snapshot(&mut player).await;
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_point_spectator_sees_only_the_area_around_its_point() {
    let server = start_server(|config| config.replication.interest_radius = 5.0).await;
    let (mut everything, _) = spectate(&server, Spectate::World).await;
    let (mut corner, _) = spectate(&server, Spectate::At([-1000.0, -1000.0])).await;
    let (mut all, mut near) = (ClientMirror::new(), ClientMirror::new());
    mirror_snapshots(&mut everything, &mut all, 10).await;
    mirror_snapshots(&mut corner, &mut near, 10).await;
    assert_eq!(all.len(), 8);
    assert_eq!(near.len(), 0, "nothing is within 5 units of a point far off the map");
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_spectator_that_sends_an_input_is_closed_with_1008_and_the_room_carries_on() {
    let server = start_server(|_| {}).await;
    let mut bystander = Bystander::join(&server).await;
    let (mut ws, _) = spectate(&server, Spectate::World).await;
    send(&mut ws, &input(0)).await;
    let (code, reason) = expect_close(&mut ws).await;
    assert_eq!((code, reason.as_str()), (1008, "spectators send no inputs"));
    bystander.still_served().await;
    server.shutdown(Duration::from_secs(2)).await;
}
