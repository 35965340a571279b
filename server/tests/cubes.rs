//! The cubes game over real sockets: players steer pushers into the pile and knock cubes
//! about while every snapshot's checksum verifies; a jump leaves the floor and lands; a
//! cubes room is matchmade like any kind, with its `/game.json`; and its declared input
//! is enforced (1007 naming the field).

mod common;

use common::matchmaking::{field, get, place, take_seat};
use common::*;
use glam::{Vec2, Vec3};
use std::time::Duration;
use tickcast_server::config::GameChoice;
use tickcast_server::game::cubes::{Position, Rotation, Shape};
use tickcast_shared::cubes::{CubesInput, buttons};
use tickcast_shared::input::{GameInput, Input};
use tickcast_shared::{ClientMirror, ClientMsg, EntityState, Hello, NetId, ServerMsg, Welcome};

/// A cubes server with a small pile (100 cubes, a 10 x 10 grid within ±7.25 m) on a 32 m
/// floor, every client seeing the whole floor.
async fn cubes_server() -> tickcast_server::RunningServer {
    start_server(|config| {
        config.game = GameChoice::Cubes;
        config.cubes.count = 100;
        config.cubes.size = 32.0;
        config.replication.interest_radius = 0.0;
    })
    .await
}

/// A joined player of the cubes game and its mirror.
struct Pusher {
    ws: Ws,
    mirror: ClientMirror,
    player: NetId,
    seq: u32,
}

impl Pusher {
    async fn join(server: &tickcast_server::RunningServer, name: &str) -> (Pusher, Welcome) {
        let mut ws = connect(server).await;
        send(&mut ws, &ClientMsg::Hello(Hello::new(name))).await;
        let welcome = match next_message(&mut ws).await {
            ServerMsg::Welcome(welcome) => welcome,
            other => panic!("expected welcome, got {other:?}"),
        };
        let pusher = Pusher {
            ws,
            mirror: ClientMirror::new(),
            player: welcome.player.expect("a player"),
            seq: 0,
        };
        (pusher, welcome)
    }

    /// Applies the next snapshot; asserts its checksum verified (an empty body has none).
    async fn receive(&mut self) -> bool {
        let frame = next_snapshot(&mut self.ws).await;
        let applied = self.mirror.apply_frame(&frame).expect("the mirror applies every frame");
        assert!(applied.checksum_verified || frame.body.is_empty());
        applied.checksum_verified
    }

    /// Applies snapshots until the mirror holds `entities`, its own pusher among them: the
    /// first snapshots of a pile bigger than the byte budget bring it in parts.
    async fn hold_everything(&mut self, entities: usize) {
        for _ in 0..30 {
            self.receive().await;
            if self.mirror.len() == entities && self.mirror.entities().any(|e| e.id == self.player) {
                return;
            }
        }
        panic!("only {} of {entities} entities held", self.mirror.len());
    }

    async fn steer(&mut self, input: CubesInput) {
        send(&mut self.ws, &ClientMsg::Input(input.to_input(self.seq, None))).await;
        self.seq += 1;
    }

    /// Where this player's pusher is, as the client sees it.
    fn position(&self) -> Vec3 {
        let me = self
            .mirror
            .entities()
            .find(|e| e.id == self.player)
            .expect("own pusher held");
        me.get::<Position>().expect("a position").0
    }
}

fn cubes_of(mirror: &ClientMirror) -> Vec<&EntityState> {
    mirror
        .entities()
        .filter(|e| e.get::<Shape>() == Some(Shape::Cube))
        .collect()
}

#[tokio::test]
async fn players_push_cubes_about_and_every_checksum_verifies() {
    let server = cubes_server().await;
    let (mut ann, welcome) = Pusher::join(&server, "ann").await;
    let (mut bob, _) = Pusher::join(&server, "bob").await;
    // The schema says what the game is, with no code for it on the client.
    assert_eq!(welcome.schema.game, "cubes");
    let components: Vec<&str> = welcome.schema.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(components, ["Position", "Rotation", "Shape"]);
    let inputs: Vec<(&str, &str)> = welcome
        .schema
        .input
        .iter()
        .map(|f| (f.name.as_str(), f.kind.as_str()))
        .collect();
    assert_eq!(inputs, [("move_x", "step"), ("move_z", "step"), ("buttons", "bits")]);

    ann.hold_everything(102).await;
    bob.hold_everything(102).await;
    let start: Vec<(NetId, Vec3, glam::Quat)> = cubes_of(&ann.mirror)
        .iter()
        .map(|e| (e.id, e.get::<Position>().unwrap().0, e.get::<Rotation>().unwrap().0))
        .collect();
    assert_eq!(start.len(), 100);
    let pushers = ann
        .mirror
        .entities()
        .filter(|e| e.get::<Shape>() == Some(Shape::Pusher))
        .count();
    assert_eq!(pushers, 2);

    // Both drive through the middle of the pile for three seconds (90 snapshots).
    let mut verified = 0;
    for _ in 0..90 {
        for pusher in [&mut ann, &mut bob] {
            let here = pusher.position();
            // Towards, then through, the centre: aim at the far side of the origin.
            let stick = (-Vec2::new(here.x, here.z)).normalize_or_zero();
            pusher
                .steer(CubesInput {
                    move_x: stick.x,
                    move_z: stick.y,
                    buttons: 0,
                })
                .await;
            verified += usize::from(pusher.receive().await);
        }
    }
    assert!(
        verified > 100,
        "only {verified} of 180 snapshots carried a verified checksum"
    );
    let moved = start
        .iter()
        .filter(|(id, position, _)| {
            let now = ann.mirror.entities().find(|e| e.id == *id).unwrap();
            now.get::<Position>().unwrap().0.distance(*position) > 0.5
        })
        .count();
    assert!(moved >= 5, "only {moved} cubes were pushed more than 0.5 m");
    let turned = start
        .iter()
        .filter(|(id, _, rotation)| {
            let now = ann.mirror.entities().find(|e| e.id == *id).unwrap();
            now.get::<Rotation>().unwrap().0.angle_between(*rotation) > 0.05
        })
        .count();
    assert!(turned >= 3, "only {turned} cubes turned");
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_jump_leaves_the_floor_and_lands_again() {
    let server = cubes_server().await;
    let (mut pusher, _) = Pusher::join(&server, "hop").await;
    pusher.hold_everything(101).await;
    let floor = pusher.position().y;
    assert!((floor - 1.0).abs() < 0.01, "a pusher stands on the floor: {floor}");
    pusher
        .steer(CubesInput {
            buttons: buttons::JUMP,
            ..CubesInput::default()
        })
        .await;
    pusher.steer(CubesInput::default()).await;
    let mut highest = floor;
    for _ in 0..40 {
        pusher.receive().await;
        highest = highest.max(pusher.position().y);
    }
    // 5 m/s up under 9.81 m/s²: about 1.27 m above where it stood.
    assert!(highest > floor + 1.0, "the jump peaked at {highest}");
    assert!((pusher.position().y - floor).abs() < 0.01, "and it landed");
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_cubes_room_is_matchmade_with_its_game_data() {
    let server = start_server(|config| {
        config.cubes.count = 64;
        config.cubes.size = 32.0;
    })
    .await;
    let placement = place(&server, r#"{"kind": "cubes"}"#).await;
    assert_eq!(field(&placement, "kind"), "cubes");
    assert!(field(&placement, "room_id").starts_with("cubes-"));
    let (mut ws, welcome) = take_seat(&placement, Hello::new("c")).await;
    assert_eq!(welcome.schema.game, "cubes");
    let mut mirror = ClientMirror::new();
    // 64 cubes and the pusher; a 64-cube full snapshot fits the byte budget.
    let frame = next_snapshot(&mut ws).await;
    assert!(mirror.apply_frame(&frame).unwrap().checksum_verified);
    for _ in 0..3 {
        let frame = next_snapshot(&mut ws).await;
        let applied = mirror.apply_frame(&frame).unwrap();
        assert!(applied.checksum_verified || frame.body.is_empty());
    }
    assert_eq!(cubes_of(&mirror).len(), 64);

    let answer = get(&server, "/game.json?kind=cubes").await;
    assert_eq!(answer.status, 200);
    let info: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(info["game"], "cubes");
    assert_eq!(info["map"]["bounds"]["max"], serde_json::json!([16.0, 16.0]));
    assert_eq!(info["axes"]["up"], "y");
    assert_eq!(info["tuning"]["cube_half"], 0.5);
    // The default room still plays the arena.
    let default = get(&server, "/game.json").await;
    assert!(default.body.contains("\"arena\""), "{}", default.body);
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn inputs_against_the_cubes_declaration_close_with_1007_naming_the_field() {
    let server = cubes_server().await;
    let mut bystander = Bystander::join(&server).await;
    // A step field carries a whole step count; bits only the mask's; counts stay within
    // ±64 (±1 in steps of 1/64); and there are exactly three values.
    let cases: [(&[f32], &str); 4] = [
        (&[0.5, 0.0, 0.0], "move_x"),
        (&[0.0, 65.0, 0.0], "move_z"),
        (&[0.0, 0.0, 4.0], "buttons"),
        (&[0.0, 0.0], "values"),
    ];
    for (values, named) in cases {
        let (mut ws, _) = join(&server).await;
        send(&mut ws, &ClientMsg::Input(Input::with_values(0, None, values))).await;
        let (code, reason) = expect_close(&mut ws).await;
        assert_eq!(code, 1007, "{values:?}: {reason}");
        assert!(reason.contains(named), "{values:?}: {reason}");
    }
    // A valid one is taken, and the room carries on for everyone.
    let (mut ws, _) = join(&server).await;
    let valid = CubesInput {
        move_x: -1.0,
        move_z: 1.0,
        buttons: buttons::ALL,
    };
    assert!(valid.to_input(0, None).validate(CubesInput::FIELDS).is_ok());
    send(&mut ws, &ClientMsg::Input(valid.to_input(0, None))).await;
    next_snapshot(&mut ws).await;
    bystander.still_served().await;
    server.shutdown(Duration::from_secs(2)).await;
}
