//! Writes the committed seed corpora, `seeds/<target>/`: real messages of each kind,
//! encoded by `tickcast-shared`, and frames of the golden vectors
//! (`assets/vectors/arena.json`, recorded from a real server). Deterministic; run it again
//! after a protocol change and commit what changes:
//!
//! ```text
//! cargo run --manifest-path shared/fuzz/Cargo.toml --example make_seeds
//! ```

use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use tickcast_fuzz::decoders::{FRAME_HEADER, MAX_FRAMES};
use tickcast_fuzz::fallback::STREAM_PREFIX;
use tickcast_fuzz::upgrade::{ORIGIN, ROOM, SECRET};
use tickcast_server::net::admission::{Claims, mint};
use tickcast_shared::arena::{EntityKind, Health, Score, Transform2};
use tickcast_shared::fallback::{KIND_CLOSE, push_batch_message, push_close_frame, push_message_frame};
use tickcast_shared::{
    ClientMsg, ComponentState, Components, Delta, EntityState, EntityUpdate, FieldDelta, HeldEntity, Hello, Input,
    InputAck, NetId, PROTOCOL_VERSION, Replicate, Schema, ServerMsg, SnapshotFrame, Spectate, Tick, Welcome, checksum,
    diff, encode_body,
};

fn from_hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).expect("hex"))
        .collect()
}

/// One frame in the `snapshot_apply` input format (`tickcast_fuzz::decoders::frames`).
fn record(frame: &SnapshotFrame) -> Vec<u8> {
    let (ack_kind, ack) = match frame.input_ack {
        InputAck::None => (0u8, 0),
        InputAck::Absolute(seq) => (1, seq),
        InputAck::Advance(by) => (2, by),
    };
    let mut out = Vec::with_capacity(FRAME_HEADER + frame.body.len());
    out.push(u8::from(frame.full) | ack_kind << 1);
    out.extend_from_slice(&frame.tick.to_le_bytes());
    out.extend_from_slice(&ack.to_le_bytes());
    let len = u16::try_from(frame.body.len()).expect("a body under 64 KiB");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&frame.body);
    out
}

fn stream(frames: &[SnapshotFrame]) -> Vec<u8> {
    assert!(frames.len() <= MAX_FRAMES);
    frames.iter().flat_map(record).collect()
}

fn snapshot(bytes: &[u8]) -> SnapshotFrame {
    match ServerMsg::decode(bytes).expect("a recorded message decodes") {
        ServerMsg::Snapshot(frame) => frame,
        other => panic!("not a snapshot: {other:?}"),
    }
}

/// An arena entity, as the server quantizes it.
fn entity(index: u32, generation: u32, x: f32, hp: u8, kind: EntityKind, score: Option<Score>) -> EntityState {
    let mut components = Components::new();
    let mut push = |kind, quantize: &dyn Fn(&mut tickcast_shared::Fields)| {
        let mut fields = Default::default();
        quantize(&mut fields);
        components.push(ComponentState { kind, fields });
    };
    let transform = Transform2 {
        position: glam::Vec2::new(x, 2.0),
        angle: 0.5,
    };
    push(Transform2::KIND, &|f| transform.quantize(f));
    push(Health::KIND, &|f| Health(hp).quantize(f));
    push(EntityKind::KIND, &|f| kind.quantize(f));
    if let Some(score) = score {
        push(Score::KIND, &|f| score.quantize(f));
    }
    EntityState {
        id: NetId::from_parts(index, generation),
        components,
    }
}

fn held(world: &[EntityState]) -> BTreeMap<NetId, HeldEntity> {
    world.iter().map(|e| (e.id, HeldEntity::new(e.clone()))).collect()
}

/// A frame taking a client from `before` to `after` with a correct checksum.
fn delta_frame(before: &[EntityState], after: &[EntityState], full: bool, tick: u32, ack: InputAck) -> SnapshotFrame {
    let body = encode_body(Some(checksum(after)), &diff(before, after), &held(before), Vec::new());
    SnapshotFrame {
        full,
        tick,
        input_ack: ack,
        body,
    }
}

struct Seeds {
    root: PathBuf,
    written: usize,
    bytes: usize,
}

impl Seeds {
    fn put(&mut self, target: &str, name: &str, bytes: &[u8]) {
        let dir = self.root.join(target);
        fs::create_dir_all(&dir).expect("create the seed directory");
        fs::write(dir.join(name), bytes).expect("write a seed");
        self.written += 1;
        self.bytes += bytes.len();
    }
}

fn client_seeds(seeds: &mut Seeds) {
    let encode = |message: ClientMsg| message.encode().expect("encodes");
    let hello = |version, name: &str| {
        encode(ClientMsg::Hello(Hello {
            protocol_version: version,
            ..Hello::new(name)
        }))
    };
    seeds.put("client_msg", "hello", &hello(PROTOCOL_VERSION, "ann"));
    seeds.put(
        "client_msg",
        "hello_long_utf8_name",
        &hello(PROTOCOL_VERSION, "Árvíztűrő tükörfúrógép játékos 🎮 név"),
    );
    seeds.put("client_msg", "hello_other_version", &hello(7, ""));
    // A resume token is 44 bytes: client id, slot, generation, HMAC-SHA256.
    let token: Vec<u8> = (0..44).collect();
    seeds.put(
        "client_msg",
        "hello_resuming",
        &encode(ClientMsg::Hello(Hello::resuming("ann", &token))),
    );
    seeds.put(
        "client_msg",
        "hello_spectating_the_world",
        &encode(ClientMsg::Hello(Hello::spectating("", Spectate::World))),
    );
    seeds.put(
        "client_msg",
        "hello_spectating_a_point",
        &encode(ClientMsg::Hello(Hello::spectating("", Spectate::At([50.0, -30.5])))),
    );
    // The arena's input: move_x, move_y, aim, buttons (protocol 5: `[seq, view_tick,
    // values...]`).
    let input = |seq, view_tick: Option<u32>, values: &[f32]| {
        encode(ClientMsg::Input(Input::with_values(seq, view_tick.map(Tick), values)))
    };
    seeds.put("client_msg", "input", &input(7, Some(120), &[1.0, 0.0, 0.5, 1.0]));
    seeds.put("client_msg", "input_nan", &input(8, None, &[f32::NAN, 0.0, 0.0, 0.0]));
    seeds.put(
        "client_msg",
        "input_out_of_range",
        &input(u32::MAX, Some(u32::MAX), &[-0.5, 0.25, 7.0, 128.0]),
    );
    // What a JavaScript MessagePack encoder writes: whole numbers as integers, the rest
    // as float 64: {"i": [7, nil, 1, -0.5, -1, 0]}.
    let mut js = vec![0x81, 0xa1, b'i', 0x96, 0x07, 0xc0, 0x01, 0xcb];
    js.extend_from_slice(&(-0.5f64).to_be_bytes());
    js.extend_from_slice(&[0xff, 0x00]);
    seeds.put("client_msg", "input_js_encoder", &js);
}

fn server_seeds(seeds: &mut Seeds, vectors: &Value) {
    let streams = vectors["streams"].as_array().expect("streams");
    let message = |stream: usize, frame: usize| from_hex(streams[stream]["frames"][frame]["message"].as_str().unwrap());
    seeds.put(
        "server_msg",
        "welcome_arena",
        &from_hex(streams[0]["welcome"].as_str().unwrap()),
    );
    let welcome = ServerMsg::Welcome(Welcome {
        protocol_version: PROTOCOL_VERSION,
        client_id: 3,
        player: Some(NetId::from_parts(4, 1)),
        tick_rate: 60,
        snapshot_rate: 30,
        tick: Tick(u32::MAX),
        schema: Schema::default(),
        resume: Vec::new(),
    });
    seeds.put("server_msg", "welcome_empty_schema", &welcome.encode().unwrap());
    let mut idle = Vec::new();
    ServerMsg::encode_snapshot_into(false, 2, InputAck::Advance(2), &[], &mut idle);
    seeds.put("server_msg", "snapshot_idle", &idle);
    seeds.put("server_msg", "few_drones_full", &message(0, 0));
    for frame in [1, 2, 22] {
        seeds.put("server_msg", &format!("few_drones_delta_{frame}"), &message(0, frame));
    }
    seeds.put("server_msg", "crowd_full", &message(1, 0));
    seeds.put("server_msg", "crowd_delta_2", &message(1, 2));
}

fn snapshot_seeds(seeds: &mut Seeds, vectors: &Value) {
    let streams = vectors["streams"].as_array().expect("streams");
    let frames = |stream: usize, count: usize| -> Vec<SnapshotFrame> {
        let frames = streams[stream]["frames"].as_array().unwrap();
        frames
            .iter()
            .take(count)
            .map(|frame| snapshot(&from_hex(frame["message"].as_str().unwrap())))
            .collect()
    };
    seeds.put("snapshot_apply", "few_drones_8_frames", &stream(&frames(0, 8)));
    seeds.put(
        "snapshot_apply",
        "few_drones_64_frames",
        &stream(&frames(0, MAX_FRAMES)),
    );
    seeds.put("snapshot_apply", "crowd_4_frames", &stream(&frames(1, 4)));

    // Spawns, an update, a despawn and a replacement in a small world.
    let drone = EntityKind::Drone;
    let a = vec![entity(0, 1, 1.0, 3, drone, None), entity(1, 1, 5.0, 3, drone, None)];
    let b = vec![
        entity(0, 1, 1.5, 3, drone, None),
        entity(2, 1, 9.0, 3, EntityKind::Player, Some(Score { kills: 1, deaths: 0 })),
    ];
    let c = vec![
        entity(0, 1, 1.5, 2, drone, None),
        entity(2, 3, -9.0, 3, EntityKind::Projectile, None),
        entity(7, 1, 0.0, 255, drone, None),
    ];
    seeds.put(
        "snapshot_apply",
        "spawn_update_despawn_replace",
        &stream(&[
            delta_frame(&[], &a, true, 124, InputAck::Absolute(7)),
            delta_frame(&a, &b, false, 2, InputAck::Advance(2)),
            SnapshotFrame {
                full: false,
                tick: 2,
                input_ack: InputAck::None,
                body: Vec::new(),
            },
            delta_frame(&b, &c, false, 2, InputAck::Advance(1)),
        ]),
    );

    // Two generations in one slot (a spawn of slot 1 generation 3 while generation 1 is
    // held), then one body that despawns the slot and updates it: the update resolves to
    // what the slot holds after the despawn, generation 3.
    let one = vec![entity(1, 1, 1.0, 3, drone, None)];
    let two_generations = vec![entity(1, 1, 1.0, 3, drone, None), entity(1, 3, 2.0, 3, drone, None)];
    let spawn_second = Delta {
        despawns: Vec::new(),
        updates: Vec::new(),
        spawns: vec![two_generations[1].clone()],
    };
    let despawn_and_update = Delta {
        despawns: vec![NetId::from_parts(1, 1)],
        updates: vec![EntityUpdate {
            id: NetId::from_parts(1, 3),
            changes: [FieldDelta {
                component: 1,
                field: 0,
                delta: -1,
            }]
            .into_iter()
            .collect(),
        }],
        spawns: Vec::new(),
    };
    let mut after = two_generations[1].clone();
    after.components[1].fields[0] -= 1;
    seeds.put(
        "snapshot_apply",
        "two_generations_in_a_slot",
        &stream(&[
            delta_frame(&[], &one, true, 10, InputAck::None),
            SnapshotFrame {
                full: false,
                tick: 2,
                input_ack: InputAck::None,
                body: encode_body(Some(checksum(&two_generations)), &spawn_second, &held(&one), Vec::new()),
            },
            SnapshotFrame {
                full: false,
                tick: 2,
                input_ack: InputAck::Absolute(3),
                body: encode_body(
                    Some(checksum([&after])),
                    &despawn_and_update,
                    &held(&[after.clone()]),
                    Vec::new(),
                ),
            },
        ]),
    );

    // A delta before any full frame, then a full frame whose checksum is wrong.
    let mut wrong = delta_frame(&[], &a, true, 0, InputAck::None);
    wrong.body = encode_body(Some(0xdead_beef), &diff(&[], &a), &held(&[]), Vec::new());
    seeds.put(
        "snapshot_apply",
        "no_baseline_then_checksum_mismatch",
        &stream(&[delta_frame(&a, &b, false, 2, InputAck::None), wrong]),
    );
}

/// Batches of real client messages for `fallback_batch`, and bodies of real server
/// messages for `fallback_stream` (`[chunk][limit]` then the body:
/// `tickcast_fuzz::fallback::fallback_stream`).
fn fallback_seeds(seeds: &mut Seeds, vectors: &Value) {
    let encode = |message: ClientMsg| message.encode().expect("encodes");
    let input = |seq| {
        encode(ClientMsg::Input(Input::with_values(
            seq,
            Some(Tick(seq)),
            &[1.0, -0.5, 0.25, 1.0],
        )))
    };
    let batch = |messages: &[Vec<u8>]| {
        let mut batch = Vec::new();
        for message in messages {
            push_batch_message(&mut batch, message);
        }
        batch
    };
    let hello = encode(ClientMsg::Hello(Hello::new("ann")));
    let token: Vec<u8> = (0..44).collect();
    let resuming = encode(ClientMsg::Hello(Hello::resuming("ann", &token)));
    let first = batch(&[hello.clone(), input(1), input(2), input(3)]);
    seeds.put("fallback_batch", "hello_and_inputs", &first);
    seeds.put("fallback_batch", "resuming_hello", &batch(&[resuming]));
    seeds.put(
        "fallback_batch",
        "empty_message_between_inputs",
        &batch(&[input(4), Vec::new(), input(5)]),
    );
    let mut truncated_length = first.clone();
    truncated_length.extend_from_slice(&[0, 0]);
    seeds.put("fallback_batch", "truncated_length", &truncated_length);
    let mut past_the_end = batch(&[input(6)]);
    past_the_end.extend_from_slice(&[0, 0, 0, 40]);
    past_the_end.extend_from_slice(&hello);
    seeds.put("fallback_batch", "length_past_the_end", &past_the_end);

    let streams = vectors["streams"].as_array().expect("streams");
    let message = |frame: usize| from_hex(streams[0]["frames"][frame]["message"].as_str().unwrap());
    let welcome = from_hex(streams[0]["welcome"].as_str().unwrap());
    let crowd_full = from_hex(streams[1]["frames"][0]["message"].as_str().unwrap());
    // A session's body: the Welcome, snapshots, and the close.
    let mut session = Vec::new();
    push_message_frame(&mut session, &welcome);
    for frame in 0..6 {
        push_message_frame(&mut session, &message(frame));
    }
    let mut closed = session.clone();
    push_close_frame(&mut closed, 1008, "input flood: more than 240 inputs in one second");
    let stream = |chunk: u8, limit: u8, body: &[u8]| {
        let mut input = vec![chunk, limit];
        input.extend_from_slice(body);
        assert_eq!(input.len(), STREAM_PREFIX + body.len());
        input
    };
    seeds.put("fallback_stream", "session_closed_whole", &stream(0, u8::MAX, &closed));
    seeds.put(
        "fallback_stream",
        "session_closed_bytewise",
        &stream(1, u8::MAX, &closed),
    );
    // Cut mid-frame: a lost connection.
    seeds.put(
        "fallback_stream",
        "session_lost_mid_frame",
        &stream(7, u8::MAX, &closed[..closed.len() - 9]),
    );
    // 1005 is what the server sends when the WebSocket would have had no code.
    let mut no_reason = Vec::new();
    push_close_frame(&mut no_reason, 1005, "");
    seeds.put("fallback_stream", "close_without_reason", &stream(3, 1, &no_reason));
    let mut utf8_reason = Vec::new();
    push_close_frame(&mut utf8_reason, 4000, "Árvíztűrő tükörfúrógép 🎮");
    seeds.put("fallback_stream", "close_utf8_reason", &stream(2, 4, &utf8_reason));
    // A 2399-byte snapshot against a 1024-byte limit (64 steps of 16).
    let mut crowd = Vec::new();
    push_message_frame(&mut crowd, &welcome);
    push_message_frame(&mut crowd, &crowd_full);
    seeds.put("fallback_stream", "snapshot_over_the_limit", &stream(64, 64, &crowd));
    let mut after_close = no_reason.clone();
    push_message_frame(&mut after_close, &message(1));
    seeds.put(
        "fallback_stream",
        "message_after_close",
        &stream(0, u8::MAX, &after_close),
    );
    let bad_code: &[u8] = &[KIND_CLOSE, 0, 0, 0, 1, 0x03];
    seeds.put("fallback_stream", "close_without_code", &stream(0, 1, bad_code));
    let bad_reason: &[u8] = &[KIND_CLOSE, 0, 0, 0, 4, 0x03, 0xe8, 0xc3, 0x28];
    seeds.put("fallback_stream", "close_reason_not_utf8", &stream(0, 1, bad_reason));
    // A Welcome, then a frame of kind 3.
    let mut unknown_kind = Vec::new();
    push_message_frame(&mut unknown_kind, &welcome);
    unknown_kind.extend_from_slice(&[3, 0, 0, 0, 1, 0]);
    seeds.put("fallback_stream", "unknown_kind", &stream(0, u8::MAX, &unknown_kind));
}

fn upgrade_seeds(seeds: &mut Seeds) {
    let requests: [(&str, &str); 7] = [
        (
            "rfc6455_example",
            "GET /ws HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n\
             Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n",
        ),
        (
            "browser_without_token",
            "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:7777\r\nConnection: keep-alive, Upgrade\r\n\
             Pragma: no-cache\r\nCache-Control: no-cache\r\nUser-Agent: Mozilla/5.0\r\nUpgrade: websocket\r\n\
             Origin: http://127.0.0.1:7777\r\nSec-WebSocket-Version: 13\r\nAccept-Encoding: gzip, deflate\r\n\
             Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n\
             Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
             Sec-WebSocket-Protocol: tickcast\r\n\r\n",
        ),
        (
            "version_12",
            "GET /ws HTTP/1.1\r\nHost: h\r\nupgrade: WebSocket\r\nconnection: upgrade\r\n\
             sec-websocket-version: 12\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        ),
        (
            "short_key",
            "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: c2hvcnQ=\r\n\r\n",
        ),
        (
            "post",
            "POST /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nContent-Length: 0\r\n\r\n",
        ),
        (
            "http_1_0",
            "GET /ws HTTP/1.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        ),
        ("plain_get", "GET /ws HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n"),
    ];
    for (name, request) in requests {
        seeds.put("upgrade_request", name, request.as_bytes());
    }
    // Tokens signed with the fuzz target's secret, expiring in 2100.
    let token = |room: Option<&str>| {
        let claims = Claims {
            sub: "ann".into(),
            room: room.map(str::to_owned),
            exp: 4_102_444_800,
        };
        mint(SECRET, &claims).expect("mint a token")
    };
    let upgrade = |target: &str, extra: &str| {
        format!(
            "GET {target} HTTP/1.1\r\nHost: 127.0.0.1:7777\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n{extra}\r\n"
        )
    };
    let in_room = token(Some(ROOM));
    let mut forged = token(None);
    forged.pop();
    forged.push('A');
    let admitted: [(&str, String); 5] = [
        ("token_in_query", upgrade(&format!("/ws?v=1&token={in_room}"), "")),
        (
            "token_as_subprotocol",
            upgrade(
                "/ws",
                &format!(
                    "Origin: {ORIGIN}\r\nSec-WebSocket-Protocol: tickcast, token.{}\r\n",
                    token(None)
                ),
            ),
        ),
        (
            "token_for_another_room",
            upgrade(&format!("/ws?token={}", token(Some("duel"))), ""),
        ),
        ("token_forged", upgrade(&format!("/ws?token={forged}"), "")),
        (
            "origin_not_allowed",
            upgrade(&format!("/ws?token={in_room}"), "Origin: https://evil.example\r\n"),
        ),
    ];
    for (name, request) in admitted {
        seeds.put("upgrade_request", name, request.as_bytes());
    }
}

fn main() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR"));
    let vectors_path = fuzz.join("../../assets/vectors/arena.json");
    let vectors: Value =
        serde_json::from_str(&fs::read_to_string(&vectors_path).expect("read the golden vectors")).expect("JSON");
    let root = fuzz.join("seeds");
    if root.exists() {
        fs::remove_dir_all(&root).expect("clear the old seeds");
    }
    let mut seeds = Seeds {
        root,
        written: 0,
        bytes: 0,
    };
    client_seeds(&mut seeds);
    server_seeds(&mut seeds, &vectors);
    snapshot_seeds(&mut seeds, &vectors);
    upgrade_seeds(&mut seeds);
    fallback_seeds(&mut seeds, &vectors);
    println!(
        "wrote {} seeds, {} bytes, under {}",
        seeds.written,
        seeds.bytes,
        seeds.root.display()
    );
}
