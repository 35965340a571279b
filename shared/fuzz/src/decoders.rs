//! The fuzz targets that need only `tickcast-shared`: the decode calls each makes and the
//! properties each checks. One copy serves the libFuzzer targets (`fuzz_targets/`, through
//! this crate) and the plain `cargo test` replay of the committed seeds and regressions
//! (`shared/tests/fuzz_regressions.rs` includes this file by path), so an input kept in
//! `regressions/` fails the ordinary test run too, with no nightly and no libFuzzer.
//!
//! Each function takes arbitrary bytes and must return without panicking: an error from a
//! decoder is a pass; a panic (a decoder's own, or a failed assertion here) is a finding.
//! The assertions are properties the decoders document, holding for any input.

use std::collections::BTreeMap;
use tickcast_shared::arena::ArenaInput;
use tickcast_shared::input::GameInput;
use tickcast_shared::{
    ClientMirror, ClientMsg, Delta, EntityState, HeldEntity, InputAck, MirrorError, NetId, ServerMsg, SnapshotFrame,
    apply, checksum, decode_body, encode_body,
};

/// `client_msg`: what the server's connection reader does with every binary frame a
/// client sends: [`ClientMsg::decode`], then [`tickcast_shared::Input::validate`] against
/// the arena's declaration on an input. Checks that a valid input holds in-range values of
/// the declared kinds and that a decoded message re-encodes to bytes that decode to the
/// same message.
pub fn client_msg(data: &[u8]) {
    let Ok(message) = ClientMsg::decode(data) else {
        return;
    };
    if let ClientMsg::Input(input) = &message
        && input.validate(ArenaInput::FIELDS).is_ok()
    {
        let typed = ArenaInput::from_values(input.values());
        let mut again = [0.0; 4];
        typed.to_values(&mut again);
        assert_eq!(
            again,
            input.values(),
            "validate passed an input its type cannot hold: {input:?}"
        );
    }
    // Compared as bytes: an input may hold NaN, which is not equal to itself.
    let encoded = message.encode().expect("a decoded message encodes");
    let again = ClientMsg::decode(&encoded).expect("a re-encoded message decodes");
    assert_eq!(again.encode().expect("encodes"), encoded, "re-encoding is not stable");
}

/// `server_msg`: what a client does with every binary frame the server sends:
/// [`ServerMsg::decode`], then, for a snapshot, [`ClientMirror::apply_frame`] on a new
/// mirror (a client's first snapshot). Checks that a decoded message re-encodes stably,
/// and that the borrowed snapshot encoder writes the same bytes as the owned one.
pub fn server_msg(data: &[u8]) {
    let Ok(message) = ServerMsg::decode(data) else {
        return;
    };
    let encoded = message.encode().expect("a decoded message encodes");
    let again = ServerMsg::decode(&encoded).expect("a re-encoded message decodes");
    assert_eq!(again.encode().expect("encodes"), encoded, "re-encoding is not stable");
    if let ServerMsg::Snapshot(frame) = &message {
        let mut borrowed = Vec::new();
        ServerMsg::encode_snapshot_into(frame.full, frame.tick, frame.input_ack, &frame.body, &mut borrowed);
        assert_eq!(borrowed, encoded, "encode_snapshot_into differs from encode");
        let mut mirror = ClientMirror::new();
        let _ = mirror.apply_frame(frame);
        check_mirror(&mirror);
    }
}

/// Bytes of a frame's header in a [`snapshot_apply`] input.
pub const FRAME_HEADER: usize = 11;
/// Most frames one [`snapshot_apply`] input is cut into.
pub const MAX_FRAMES: usize = 64;

/// Cuts a [`snapshot_apply`] input into snapshot frames. Each frame is an 11-byte header,
/// `flags: u8` (bit 0: full; bits 1-2, the ack: 0 none, 1 absolute, 2 advance, 3 none),
/// `tick: u32 LE`, `ack: u32 LE`, `body_len: u16 LE`, then the body (cut short by the end
/// of the input). Bytes after the last whole header are ignored. `examples/make_seeds.rs`
/// writes this format.
pub fn frames(mut data: &[u8]) -> Vec<SnapshotFrame> {
    let mut frames = Vec::new();
    while data.len() >= FRAME_HEADER && frames.len() < MAX_FRAMES {
        let (header, rest) = data.split_at(FRAME_HEADER);
        let u32_at = |at: usize| u32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]]);
        let (flags, tick, ack) = (header[0], u32_at(1), u32_at(5));
        let len = usize::from(u16::from_le_bytes([header[9], header[10]])).min(rest.len());
        let (body, rest) = rest.split_at(len);
        frames.push(SnapshotFrame {
            full: flags & 1 != 0,
            tick,
            input_ack: match (flags >> 1) & 3 {
                1 => InputAck::Absolute(ack),
                2 => InputAck::Advance(ack),
                _ => InputAck::None,
            },
            body: body.to_vec(),
        });
        data = rest;
    }
    frames
}

/// `snapshot_apply`: a client's snapshot stream. Feeds the frames [`frames`] cuts from
/// `data` to one [`ClientMirror`], as a client applies a connection's snapshots, and keeps
/// a reference copy of the world the long way, [`decode_body`] against a `BTreeMap` then
/// [`apply`]. After every frame it checks:
///
/// - the mirror's invariants: entities in strictly ascending `NetId` order, each found by
///   its id, and [`ClientMirror::checksum`] equal to the checksum of what is held, even
///   after an error (as `apply_frame` documents);
/// - the tick and input ack as `apply_frame` documents them;
/// - whatever [`decode_body`] decodes, [`encode_body`] encodes to a body that decodes the
///   same;
/// - the one-pass decode-and-apply agrees with decode then apply: when no slot is both
///   despawned and updated in one body (there the one pass, by design, resolves the
///   update after the despawn), the mirror applies exactly the delta [`decode_body`]
///   decoded, reaches the reference's state and checksum, and verifies the body's
///   checksum exactly when it matches.
pub fn snapshot_apply(data: &[u8]) {
    let mut mirror = ClientMirror::new();
    let mut reference: BTreeMap<NetId, HeldEntity> = BTreeMap::new();
    let mut reference_sum = 0u32;
    // What the reference applied in its previous frame: a predicted body's motions.
    let mut reference_previous = Delta::default();
    for frame in frames(data) {
        if frame.full {
            reference.clear();
            reference_sum = 0;
        }
        let previous = std::mem::take(&mut reference_previous);
        let decoded = (!frame.body.is_empty()).then(|| decode_body(&frame.body, &reference, &previous));
        if let Some(Ok(decoded)) = &decoded {
            let body = encode_body(decoded.checksum, &decoded.delta, &reference, Vec::new());
            assert_eq!(
                decode_body(&body, &reference, &previous).as_ref(),
                Ok(decoded),
                "a decoded body does not survive encode_body"
            );
        }
        let (tick_before, ack_before) = (mirror.tick(), mirror.input_ack());
        let result = mirror.apply_frame(&frame);
        check_mirror(&mirror);

        if let Err(MirrorError::NoBaseline) = result {
            assert!(!frame.full && tick_before.is_none(), "NoBaseline with a baseline");
            assert_eq!((mirror.tick(), mirror.input_ack()), (tick_before, ack_before));
            continue;
        }
        let tick = match (frame.full, tick_before) {
            (true, _) => frame.tick,
            (false, Some(before)) => before.offset(frame.tick as i32).0,
            (false, None) => panic!("a delta before any full frame was applied: {result:?}"),
        };
        let ack = match frame.input_ack {
            InputAck::None => ack_before,
            InputAck::Absolute(seq) => Some(seq),
            InputAck::Advance(by) => Some(ack_before.unwrap_or(0).wrapping_add(by)),
        };
        assert_eq!((mirror.tick().map(|t| t.0), mirror.input_ack()), (Some(tick), ack));

        let applied_whole = matches!(result, Ok(_) | Err(MirrorError::ChecksumMismatch { .. }));
        let agreed = match &decoded {
            // An idle frame changes no entity.
            None => {
                assert!(result.is_ok(), "an idle frame failed: {result:?}");
                true
            }
            Some(Ok(decoded)) if !despawns_and_updates_a_slot(&decoded.delta) => {
                assert!(
                    applied_whole && mirror.last_delta() == &decoded.delta,
                    "decode_body decoded {:?} but apply_frame gave {result:?} applying {:?}",
                    decoded.delta,
                    mirror.last_delta()
                );
                true
            }
            Some(Ok(decoded)) => applied_whole && mirror.last_delta() == &decoded.delta,
            Some(Err(_)) => false,
        };
        if !agreed {
            // The two ways legitimately part (an error leaves the mirror partly changed):
            // carry on from what the mirror holds.
            reference = mirror.entities().map(|e| (e.id, HeldEntity::new(e.clone()))).collect();
            reference_previous = mirror.last_delta().clone();
            reference_sum = mirror.checksum();
            continue;
        }
        if let Some(Ok(decoded)) = decoded {
            apply(&mut reference, &mut reference_sum, &decoded.delta)
                .expect("a delta decoded against the reference applies to it");
            match (&result, decoded.checksum) {
                (Ok(applied), sent) => assert_eq!(
                    applied.checksum_verified,
                    sent.is_some(),
                    "checksum {sent:?} verified wrongly (reference {reference_sum:#x})"
                ),
                (Err(MirrorError::ChecksumMismatch { expected, actual, .. }), Some(sent)) => {
                    assert!(*expected == sent && *actual == reference_sum, "mismatch misreported");
                }
                (other, sent) => panic!("{other:?} for a body with checksum {sent:?}"),
            }
            if let (Ok(_), Some(sent)) = (&result, decoded.checksum) {
                assert_eq!(sent, reference_sum, "a wrong checksum was verified");
            }
            reference_previous = decoded.delta;
        }
        assert!(
            mirror.entities().eq(reference.values().map(|held| &held.state)),
            "the mirror and the reference hold different entities"
        );
        assert_eq!(
            mirror.checksum(),
            reference_sum,
            "the mirror and the reference checksums differ"
        );
    }
}

/// Whether some slot is both despawned and updated in `delta`.
fn despawns_and_updates_a_slot(delta: &Delta) -> bool {
    delta
        .updates
        .iter()
        .any(|update| delta.despawns.iter().any(|gone| gone.index() == update.id.index()))
}

/// A mirror's invariants, which hold after any frame, applied or not.
fn check_mirror(mirror: &ClientMirror) {
    let held: Vec<&EntityState> = mirror.entities().collect();
    assert_eq!(held.len(), mirror.len(), "len() disagrees with entities()");
    assert!(
        held.windows(2).all(|pair| pair[0].id < pair[1].id),
        "entities not in strictly ascending NetId order"
    );
    assert_eq!(
        mirror.checksum(),
        checksum(held.iter().copied()),
        "the mirror's checksum is not the checksum of what it holds"
    );
    for entity in &held {
        assert_eq!(
            mirror.entity(entity.id),
            Some(*entity),
            "entity {} not found by id",
            entity.id
        );
    }
}
