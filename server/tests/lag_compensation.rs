//! Lag compensation end to end: a shooter behind a 150 ms round trip fires the arena's
//! hitscan rail at a moving target, aiming at where its own screen (its mirror at the
//! tick its input names) shows the target. The server rewinds the target to that tick:
//! a shot that hits on the shooter's screen hits, and one that misses on screen misses,
//! although the target has moved on by more than its radius meanwhile.

mod common;

use common::{WAIT, Ws, delay_proxy, next_message, send, start_server};
use futures_util::{FutureExt, StreamExt};
use glam::Vec2;
use std::time::Duration;
use tickcast_shared::arena::{ArenaInput, Health, Transform2, buttons};
use tickcast_shared::input::GameInput;
use tickcast_shared::{ClientMirror, ClientMsg, Hello, NetId, ServerMsg, Tick};
use tokio_tungstenite::tungstenite::Message;

/// Each way: a 150 ms round trip.
const ONE_WAY: Duration = Duration::from_millis(75);
/// The target's speed at full stick (the arena's `PLAYER_SPEED`).
const SPEED: f32 = 8.0;

/// A client that keeps a mirror of what it was sent: its "screen" at the mirror's tick.
struct Client {
    ws: Ws,
    mirror: ClientMirror,
    player: NetId,
    seq: u32,
}

impl Client {
    async fn join(url: &str) -> Client {
        let (mut ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url))
            .await
            .expect("connect timed out")
            .expect("connect failed");
        send(&mut ws, &ClientMsg::Hello(Hello::new("p"))).await;
        let ServerMsg::Welcome(welcome) = next_message(&mut ws).await else {
            panic!("expected a welcome")
        };
        Client {
            ws,
            mirror: ClientMirror::new(),
            player: welcome.player.expect("a player"),
            seq: 0,
        }
    }

    /// Applies every snapshot already received, without waiting.
    fn catch_up(&mut self) {
        while let Some(Some(Ok(frame))) = self.ws.next().now_or_never() {
            if let Message::Binary(bytes) = frame
                && let Ok(ServerMsg::Snapshot(frame)) = ServerMsg::decode(&bytes)
            {
                self.mirror.apply_frame(&frame).expect("every checksum verifies");
            }
        }
    }

    /// Sends one tick's input, saying it views the mirror's tick.
    async fn act(&mut self, input: ArenaInput) -> Option<Tick> {
        self.catch_up();
        let view = self.mirror.tick();
        send(&mut self.ws, &ClientMsg::Input(input.to_input(self.seq, view))).await;
        self.seq += 1;
        view
    }

    /// Acts with `input` once a tick for `ticks` ticks.
    async fn hold(&mut self, input: ArenaInput, ticks: u32) {
        for _ in 0..ticks {
            self.act(input).await;
            tokio::time::sleep(Duration::from_millis(16)).await;
        }
    }

    fn position_of(&self, id: NetId) -> Vec2 {
        let entity = self.mirror.entity(id).expect("in view");
        entity.get::<Transform2>().expect("a body").position
    }

    fn health_of(&self, id: NetId) -> u8 {
        self.mirror
            .entity(id)
            .and_then(|e| e.get::<Health>())
            .expect("has health")
            .0
    }
}

/// Fires the rail at `aim_point` (a point on the shooter's screen); returns the tick the
/// input said the shooter was viewing.
async fn rail_at(shooter: &mut Client, aim_point: impl Fn(&Client) -> Vec2, still: ArenaInput) -> Tick {
    shooter.catch_up();
    let from = shooter.position_of(shooter.player);
    let to = aim_point(shooter);
    let aim = (to - from).to_angle();
    shooter
        .act(ArenaInput {
            aim,
            buttons: buttons::RAIL,
            ..still
        })
        .await
        .expect("the shooter has a screen")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rail_shot_hits_what_the_lagged_shooter_saw_and_misses_what_it_did_not() {
    // An open floor with one spawn point: no walls or drones in the line of fire.
    let map = std::env::temp_dir().join(format!("tickcast-lagcomp-{}.toml", std::process::id()));
    std::fs::write(
        &map,
        "name = \"open\"\nwidth = 100.0\nheight = 60.0\nwalls = []\nspawns = [[30.0, 30.0]]\n",
    )
    .unwrap();
    let server = start_server(|config| {
        config.npcs = 0;
        config.map = map.display().to_string();
        // Wide enough for this test's lag under a loaded CI machine; the clamp to the
        // window is unit-tested in `room::history`.
        config.rewind_window = Duration::from_millis(600);
    })
    .await;
    let proxy = delay_proxy(server.local_addr(), ONE_WAY).await;
    let mut target = Client::join(&server.ws_url()).await;
    let mut shooter = Client::join(&format!("ws://{proxy}/ws")).await;
    let still = ArenaInput::default();

    // The shooter walks 8 units down from the shared spawn; the target will run along
    // x, across the line of fire.
    shooter.hold(ArenaInput { move_y: -1.0, ..still }, 60).await;
    shooter.hold(still, 20).await;
    let run = ArenaInput { move_x: 1.0, ..still };
    let target_id = target.player;
    let runner = tokio::spawn(async move {
        // Runs for 4 s (32 units: well inside the floor), then stands.
        target.hold(run, 240).await;
        target.hold(still, 120).await;
    });
    // Let the run reach the shooter's screen at full speed.
    shooter.hold(still, 30).await;
    assert_eq!(shooter.health_of(target_id), 10);

    // 1. Aim exactly at the target as the screen shows it. By the time the shot reaches
    //    the server the target is ~150 ms (over a unit) further on, more than its 0.6
    //    radius: only a rewind to the screen's tick makes this a hit.
    let view = rail_at(&mut shooter, |s| s.position_of(target_id), still).await;
    shooter.hold(still, 30).await;
    assert_eq!(
        shooter.health_of(target_id),
        7,
        "the rail hit what the shooter saw at tick {view:?}"
    );

    // 2. Aim 2 units ahead of where the screen shows the target: a miss on screen (by
    //    more than three radii), though close to where the target really is by the time
    //    the shot lands. It must miss.
    shooter.hold(still, 20).await; // the rail's half-second cooldown
    let view = rail_at(
        &mut shooter,
        |s| s.position_of(target_id) + Vec2::X * (0.25 * SPEED),
        still,
    )
    .await;
    shooter.hold(still, 30).await;
    assert_eq!(
        shooter.health_of(target_id),
        7,
        "a shot that missed on screen at tick {view:?} missed"
    );
    runner.abort();
    let _ = std::fs::remove_file(&map);
}
