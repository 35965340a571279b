//! A game of the test's own, defined entirely in this file, as `docs/GAMES.md` tells a
//! developer to: a replicated component, an input declaration, a system and a spawn. It
//! runs in a real server (`start_with`) on a real socket, as the default room and as a
//! matchmade kind, and its snapshots verify against their checksums. Nothing in the
//! engine names it.

mod common;

use bevy_ecs::prelude::*;
use common::{WAIT, matchmaking, send};
use futures_util::StreamExt;
use tickcast_server::room::{ActiveInputs, ClientId, Controlled, Game, Replicated, ReplicationRegistry, TickSystems};
use tickcast_server::rooms::RoomKind;
use tickcast_server::{Games, RunningServer};
use tickcast_shared::input::GameInput;
use tickcast_shared::schema::FieldDecl;
use tickcast_shared::state::{ComponentKind, Fields};
use tickcast_shared::{ClientMirror, ClientMsg, Hello, Replicate, ServerMsg, Welcome};
use tokio_tungstenite::tungstenite::Message;

/// "dots": every player is a dot on a 64 x 64 grid that goes to the cell its input names.
struct Dots;

/// Where a dot is (replicated): two small integers.
#[derive(Component, Clone, Copy, Debug, Default, PartialEq)]
struct Dot {
    x: i32,
    y: i32,
}

impl Replicate for Dot {
    const KIND: ComponentKind = ComponentKind(0);
    const NAME: &'static str = "Dot";
    const FIELDS: &'static [FieldDecl] = &[FieldDecl::integer("x"), FieldDecl::integer("y")];

    fn quantize(&self, out: &mut Fields) {
        out.push(self.x);
        out.push(self.y);
    }

    fn dequantize(fields: &[i32]) -> Option<Dot> {
        let [x, y] = *fields else { return None };
        Some(Dot { x, y })
    }
}

tickcast_shared::game_input! {
    /// One tick of a dots player's input: where the dot should be. An absolute input, so
    /// the room repeating the last one (while none is waiting) changes nothing.
    struct Place {
        /// The cell's column.
        x: step(0.0, 63.0, 1.0),
        /// The cell's row.
        y: step(0.0, 63.0, 1.0),
        /// Bit 1: the dot stays where it is.
        frozen: bits(1),
    }
}

impl Game for Dots {
    const NAME: &'static str = "dots";
    type Input = Place;

    fn build(self, _world: &mut World, schedule: &mut Schedule, replication: &mut ReplicationRegistry) {
        replication.replicate::<Dot>();
        schedule.add_systems(place.in_set(TickSystems::ApplyInputs));
    }

    fn spawn_player(world: &mut World, _client: ClientId, _name: &str) -> Entity {
        world.spawn((Replicated::default(), Dot { x: 32, y: 32 })).id()
    }
}

/// Each player's dot goes where its input says, unless frozen.
fn place(inputs: Res<ActiveInputs>, mut dots: Query<(&Controlled, &mut Dot)>) {
    for (controlled, mut dot) in &mut dots {
        let place: Place = inputs.get(controlled.0);
        if place.frozen == 0 {
            *dot = Dot {
                x: place.x as i32,
                y: place.y as i32,
            };
        }
    }
}

async fn start_dots() -> RunningServer {
    let mut config = tickcast_server::config::ServerConfig::embedded();
    config.bind = "127.0.0.1:0".parse().unwrap();
    config.limits.max_connections_per_ip = 10_000;
    let dots = RoomKind::custom(
        "dots",
        &config,
        serde_json::json!({ "game": "dots", "grid": 64 }),
        || Dots,
    );
    let games = Games::default().with(dots).default_room("dots");
    tickcast_server::start_with(&config, games).await.unwrap()
}

/// Walks the dot right a cell a tick for `ticks` ticks from the centre, then sends a frozen
/// input that names the corner (which must not move it), with checksums verified;
/// returns where the mirror shows the player's dot once that last input is acked.
async fn play(ws: &mut common::Ws, welcome: &Welcome, ticks: u32) -> Dot {
    let mut mirror = ClientMirror::new();
    for seq in 0..ticks {
        let step = Place {
            x: (33 + seq) as f32,
            y: 32.0,
            frozen: 0,
        };
        send(ws, &ClientMsg::Input(step.to_input(seq, mirror.tick()))).await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let frozen = Place {
        x: 0.0,
        y: 0.0,
        frozen: 1,
    };
    send(ws, &ClientMsg::Input(frozen.to_input(ticks, None))).await;
    let player = welcome.player.expect("a player");
    // Until the last nudge is acknowledged, every snapshot verified on the way.
    loop {
        let frame = tokio::time::timeout(WAIT, ws.next()).await.unwrap().unwrap().unwrap();
        let Message::Binary(bytes) = frame else { continue };
        let Ok(ServerMsg::Snapshot(frame)) = ServerMsg::decode(&bytes) else {
            panic!("expected a snapshot")
        };
        mirror.apply_frame(&frame).expect("the checksum verifies");
        if mirror.input_ack() == Some(ticks) {
            return mirror.entity(player).and_then(|e| e.get::<Dot>()).expect("the dot");
        }
    }
}

#[tokio::test]
async fn a_game_defined_in_a_test_file_plays_on_a_real_socket_with_checksums_verified() {
    let server = start_dots().await;
    let (mut ws, welcome) = common::join(&server).await;
    // The Welcome describes the game from its declarations: a generic client needs
    // nothing else.
    assert_eq!(welcome.schema.game, "dots");
    assert_eq!(welcome.schema.components[0].name, "Dot");
    let inputs: Vec<(&str, &str)> = welcome
        .schema
        .input
        .iter()
        .map(|field| (field.name.as_str(), field.kind.as_str()))
        .collect();
    assert_eq!(inputs, [("x", "step"), ("y", "step"), ("frozen", "bits")]);
    assert_eq!(play(&mut ws, &welcome, 10).await, Dot { x: 42, y: 32 });

    // Its declaration validates: half a cell closes with 1007 naming the field.
    send(
        &mut ws,
        &ClientMsg::Input(tickcast_shared::Input::with_values(11, None, &[0.5, 0.0, 0.0])),
    )
    .await;
    let (code, reason) = common::expect_close(&mut ws).await;
    assert_eq!(
        (code, reason.as_str()),
        (1007, "invalid input: input field x = 0.5 is not an integer")
    );
}

#[tokio::test]
async fn a_game_of_its_own_is_a_kind_matchmaking_places() {
    let server = start_dots().await;
    let placement = matchmaking::place(&server, r#"{"kind": "dots"}"#).await;
    assert_eq!(matchmaking::field(&placement, "kind"), "dots");
    let (mut ws, welcome) = matchmaking::take_seat(&placement, Hello::new("m")).await;
    assert_eq!(welcome.schema.game, "dots");
    assert_eq!(play(&mut ws, &welcome, 5).await, Dot { x: 37, y: 32 });
    let json = matchmaking::get(&server, "/game.json?kind=dots").await;
    assert!(json.body.contains("\"grid\":64"), "{}", json.body);
}
