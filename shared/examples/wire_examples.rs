//! Prints hex dumps of one message of each kind, as quoted in `docs/PROTOCOL.md`.
//! Run with `cargo run -p tickcast-shared --example wire_examples`.

use tickcast_shared::arena::{ArenaInput, EntityKind, Health, Transform2};
use tickcast_shared::input::GameInput;
use tickcast_shared::{
    ClientMsg, Components, EntityState, HeldEntity, Hello, InputAck, NetId, Replicate, ServerMsg, Tick, Welcome,
    checksum, diff, encode_body,
};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}

fn entity(index: u32, x: f32, hp: u8) -> EntityState {
    let mut components = Components::new();
    for (kind, fields) in [
        (Transform2::KIND, {
            let mut f = Default::default();
            Transform2 {
                position: glam::Vec2::new(x, 2.0),
                angle: 0.0,
            }
            .quantize(&mut f);
            f
        }),
        (Health::KIND, {
            let mut f = Default::default();
            Health(hp).quantize(&mut f);
            f
        }),
        (EntityKind::KIND, {
            let mut f = Default::default();
            EntityKind::Drone.quantize(&mut f);
            f
        }),
    ] {
        components.push(tickcast_shared::ComponentState { kind, fields });
    }
    EntityState {
        id: NetId::from_parts(index, 1),
        components,
    }
}

fn main() {
    let hello = ClientMsg::Hello(Hello::new("ann"));
    println!("hello:    {}", hex(&hello.encode().unwrap()));
    let input = ClientMsg::Input(
        ArenaInput {
            move_x: 1.0,
            move_y: 0.0,
            aim: 0.5,
            buttons: 1,
        }
        .to_input(7, Some(Tick(300))),
    );
    println!("input:    {}", hex(&input.encode().unwrap()));
    let welcome = ServerMsg::Welcome(Welcome {
        protocol_version: tickcast_shared::PROTOCOL_VERSION,
        client_id: 3,
        player: Some(NetId::from_parts(0, 1)),
        tick_rate: 60,
        snapshot_rate: 30,
        tick: Tick(120),
        schema: tickcast_shared::arena::schema(),
        resume: Vec::new(),
    });
    println!("welcome:  {}", hex(&welcome.encode().unwrap()));
    let before = vec![entity(0, 1.0, 3), entity(1, 5.0, 3)];
    let after = vec![entity(0, 1.5, 3), entity(2, 9.0, 3)];
    let nothing = std::collections::BTreeMap::new();
    let held: std::collections::BTreeMap<NetId, HeldEntity> =
        before.iter().map(|e| (e.id, HeldEntity::new(e.clone()))).collect();
    let full = encode_body(Some(checksum(&before)), &diff(&[], &before), &nothing, Vec::new());
    let delta = encode_body(Some(checksum(&after)), &diff(&before, &after), &held, Vec::new());
    let mut frame = Vec::new();
    ServerMsg::encode_snapshot_into(true, 124, InputAck::Absolute(7), &full, &mut frame);
    println!("full body: {}", hex(&full));
    println!("full frame: {}", hex(&frame));
    frame.clear();
    ServerMsg::encode_snapshot_into(false, 2, InputAck::Advance(2), &delta, &mut frame);
    println!("delta body: {}", hex(&delta));
    println!("delta frame: {}", hex(&frame));
    frame.clear();
    ServerMsg::encode_snapshot_into(false, 2, InputAck::Advance(2), &[], &mut frame);
    println!("idle frame: {}", hex(&frame));
}
