//! The committed golden vectors (`assets/vectors/arena.json`) still replay through the
//! Rust mirror to the states they record, and their Welcome speaks this protocol and
//! this schema. The TypeScript SDK's tests replay the same file; a protocol change that
//! forgets to regenerate it fails here first (`cargo run --release -p tickcast-server
//! --example golden_vectors`).

use serde_json::Value;
use tickcast_shared::{ClientMirror, PROTOCOL_VERSION, ServerMsg};

const VECTORS: &str = include_str!("../../assets/vectors/arena.json");

fn from_hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).expect("hex"))
        .collect()
}

fn entities_of(mirror: &ClientMirror) -> Value {
    mirror
        .entities()
        .map(|entity| {
            let components: Vec<Value> = entity
                .components
                .iter()
                .map(|c| serde_json::json!([c.kind.0, c.fields.as_slice()]))
                .collect();
            serde_json::json!([entity.id.index(), entity.id.generation(), components])
        })
        .collect()
}

#[test]
fn the_golden_streams_replay_to_their_recorded_states() {
    let document: Value = serde_json::from_str(VECTORS).expect("the vectors are JSON");
    assert_eq!(document["protocol_version"], u64::from(PROTOCOL_VERSION));
    let streams = document["streams"].as_array().expect("streams");
    assert!(streams.len() >= 3);
    for stream in streams {
        let name = stream["name"].as_str().unwrap();
        let welcome = match ServerMsg::decode(&from_hex(stream["welcome"].as_str().unwrap())).unwrap() {
            ServerMsg::Welcome(welcome) => welcome,
            other => panic!("{name}: expected a welcome, got {other:?}"),
        };
        assert_eq!(welcome.protocol_version, PROTOCOL_VERSION);
        assert_eq!(welcome.schema, tickcast_shared::arena::schema(), "{name}: schema");
        let mut mirror = ClientMirror::new();
        let mut listed = 0;
        for (index, frame) in stream["frames"].as_array().unwrap().iter().enumerate() {
            let bytes = from_hex(frame["message"].as_str().unwrap());
            let ServerMsg::Snapshot(snapshot) = ServerMsg::decode(&bytes).unwrap() else {
                panic!("{name} frame {index}: not a snapshot");
            };
            assert_eq!(
                snapshot.full,
                index == 0,
                "{name} frame {index}: only the first is full"
            );
            mirror.apply_frame(&snapshot).unwrap();
            assert_eq!(
                mirror.tick().map(|t| u64::from(t.0)),
                frame["tick"].as_u64(),
                "{name} frame {index}"
            );
            assert_eq!(
                mirror.input_ack().map(u64::from),
                frame["ack"].as_u64(),
                "{name} frame {index}"
            );
            assert_eq!(u64::from(mirror.checksum()), frame["checksum"], "{name} frame {index}");
            assert_eq!(mirror.len() as u64, frame["entity_count"], "{name} frame {index}");
            if let Some(entities) = frame.get("entities") {
                assert_eq!(&entities_of(&mirror), entities, "{name} frame {index}");
                listed += 1;
            }
        }
        assert!(
            listed >= 2,
            "{name}: entities listed on at least the first and last frames"
        );
    }
}
