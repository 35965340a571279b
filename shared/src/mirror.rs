//! The client's copy of the world, built from snapshots.
//!
//! [`ClientMirror`] resolves each frame's relative tick and input ack, decodes the body
//! against what it holds, applies it and verifies the checksum, which it keeps up to date
//! incrementally (O(changed entities) per snapshot). Bots and tests use it; a game client
//! can too.

use crate::delta::{ApplyError, BodyError, Delta, HeldEntity, apply, decode_body};
use crate::net_id::NetId;
use crate::protocol::{InputAck, SnapshotFrame};
use crate::state::EntityState;
use crate::tick::Tick;
use std::collections::BTreeMap;
use thiserror::Error;

/// The entities a client holds and the tick they are from.
#[derive(Clone, Debug, Default)]
pub struct ClientMirror {
    tick: Option<Tick>,
    input_ack: Option<u32>,
    entities: BTreeMap<NetId, HeldEntity>,
    checksum: u32,
    last_delta: Delta,
}

/// What applying one snapshot did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The mirror's tick now.
    pub tick: Tick,
    /// The last input `seq` the server has applied, if any.
    pub input_ack: Option<u32>,
    /// Whether the snapshot carried a checksum (and it matched).
    pub checksum_verified: bool,
    /// Entities spawned (or replaced) by this snapshot.
    pub spawned: usize,
    /// Entities updated field by field.
    pub updated: usize,
    /// Entities despawned.
    pub despawned: usize,
}

impl Applied {
    /// Entities spawned, updated or despawned.
    pub fn entities_changed(&self) -> usize {
        self.spawned + self.updated + self.despawned
    }
}

/// Why a snapshot could not be applied.
#[derive(Debug, Error)]
pub enum MirrorError {
    /// The body did not decode against the mirror.
    #[error(transparent)]
    Body(#[from] BodyError),
    /// A delta arrived before any full snapshot.
    #[error("a delta snapshot arrived before the first full snapshot")]
    NoBaseline,
    /// The delta did not fit the mirror.
    #[error("applying snapshot: {0}")]
    Apply(#[from] ApplyError),
    /// The result differs from the server's state.
    #[error("checksum mismatch at {tick}: server {expected:#010x}, mirror {actual:#010x}")]
    ChecksumMismatch {
        /// The snapshot's tick.
        tick: Tick,
        /// The server's checksum.
        expected: u32,
        /// The mirror's.
        actual: u32,
    },
}

impl ClientMirror {
    /// An empty mirror that expects a full snapshot first.
    pub fn new() -> ClientMirror {
        ClientMirror::default()
    }

    /// The tick of the last applied snapshot.
    pub fn tick(&self) -> Option<Tick> {
        self.tick
    }

    /// The last input `seq` the server acknowledged.
    pub fn input_ack(&self) -> Option<u32> {
        self.input_ack
    }

    /// The entity `id`, if held.
    pub fn entity(&self, id: NetId) -> Option<&EntityState> {
        self.entities.get(&id).map(|held| &held.state)
    }

    /// Every held entity in `NetId` order.
    pub fn entities(&self) -> impl ExactSizeIterator<Item = &EntityState> {
        self.entities.values().map(|held| &held.state)
    }

    /// Number of held entities.
    pub fn len(&self) -> usize {
        self.entities.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }

    /// The delta the last [`ClientMirror::apply_frame`] applied: empty after an idle frame
    /// or an error before applying; after a checksum mismatch, the delta that was applied.
    /// Update `component` positions index the entity's components as held now (updates
    /// never change an entity's shape).
    pub fn last_delta(&self) -> &Delta {
        &self.last_delta
    }

    /// Checksum of the held state, as the server computes it.
    pub fn checksum(&self) -> u32 {
        self.checksum
    }

    /// Decodes and applies one snapshot frame. A full snapshot replaces the mirror. On
    /// error the mirror may be partly changed: a checksum mismatch means it has diverged
    /// (the bots count it and carry on; a game client would reconnect).
    pub fn apply_frame(&mut self, frame: &SnapshotFrame) -> Result<Applied, MirrorError> {
        self.last_delta.clear();
        let tick = if frame.full {
            Tick(frame.tick)
        } else {
            self.tick.ok_or(MirrorError::NoBaseline)?.offset(frame.tick as i32)
        };
        if frame.full {
            self.entities.clear();
            self.checksum = 0;
        }
        self.input_ack = match frame.input_ack {
            InputAck::None => self.input_ack,
            InputAck::Absolute(seq) => Some(seq),
            InputAck::Advance(by) => Some(self.input_ack.unwrap_or(0).wrapping_add(by)),
        };
        self.tick = Some(tick);
        let mut applied = Applied {
            tick,
            input_ack: self.input_ack,
            checksum_verified: false,
            spawned: 0,
            updated: 0,
            despawned: 0,
        };
        if frame.body.is_empty() {
            return Ok(applied);
        }
        let body = decode_body(&frame.body, &self.entities)?;
        apply(&mut self.entities, &mut self.checksum, &body.delta)?;
        applied.spawned = body.delta.spawns.len();
        applied.updated = body.delta.updates.len();
        applied.despawned = body.delta.despawns.len();
        self.last_delta = body.delta;
        if let Some(expected) = body.checksum {
            if expected != self.checksum {
                return Err(MirrorError::ChecksumMismatch {
                    tick,
                    expected,
                    actual: self.checksum,
                });
            }
            applied.checksum_verified = true;
        }
        Ok(applied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delta::{diff, encode_body};
    use crate::state::checksum;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn a_chain_of_deltas_keeps_the_mirror_exact(worlds in prop::collection::vec(crate::delta::tests::world(), 1..6)) {
            let mut mirror = ClientMirror::new();
            let mut previous: Vec<EntityState> = Vec::new();
            for (step, world) in worlds.iter().enumerate() {
                let delta = diff(&previous, world);
                let (held, _) = crate::delta::tests::mirror_of(&previous);
                let body = if delta.is_empty() && step > 0 {
                    Vec::new()
                } else {
                    encode_body(Some(checksum(world)), &delta, &held, Vec::new())
                };
                let frame = SnapshotFrame {
                    full: step == 0,
                    tick: if step == 0 { 100 } else { 2 },
                    input_ack: InputAck::Advance(2),
                    body,
                };
                let applied = mirror.apply_frame(&frame).unwrap();
                prop_assert_eq!(applied.tick, Tick(100 + 2 * step as u32));
                prop_assert_eq!(mirror.checksum(), checksum(world));
                prop_assert_eq!(mirror.entities().cloned().collect::<Vec<_>>(), world.clone());
                if step > 0 {
                    prop_assert_eq!(mirror.last_delta(), &delta);
                }
                previous = world.clone();
            }
            prop_assert_eq!(mirror.input_ack(), Some(2 * worlds.len() as u32));
        }
    }

    #[test]
    fn deltas_before_a_full_snapshot_and_wrong_checksums_are_reported() {
        let mut mirror = ClientMirror::new();
        let delta = SnapshotFrame {
            full: false,
            tick: 2,
            input_ack: InputAck::None,
            body: Vec::new(),
        };
        assert!(matches!(mirror.apply_frame(&delta), Err(MirrorError::NoBaseline)));
        let lying = SnapshotFrame {
            full: true,
            tick: 5,
            input_ack: InputAck::Absolute(9),
            body: encode_body(Some(1), &crate::Delta::default(), &BTreeMap::new(), Vec::new()),
        };
        assert!(matches!(
            mirror.apply_frame(&lying),
            Err(MirrorError::ChecksumMismatch { .. })
        ));
        assert_eq!(mirror.input_ack(), Some(9));
    }
}
