//! The client's copy of the world, built from snapshots.
//!
//! [`ClientMirror`] checks that each snapshot's baseline is the state it holds, applies
//! the delta and verifies the checksum. Bots and tests use it; a game client can too.

use crate::delta::{ApplyError, apply};
use crate::net_id::NetId;
use crate::protocol::{DecodeError, SnapshotBody, SnapshotFrame};
use crate::state::{EntityState, checksum};
use crate::tick::Tick;
use std::collections::BTreeMap;
use thiserror::Error;

/// The entities a client holds and the tick they are from.
#[derive(Clone, Debug, Default)]
pub struct ClientMirror {
    tick: Option<Tick>,
    entities: BTreeMap<NetId, EntityState>,
}

/// What applying one snapshot did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The mirror's tick now.
    pub tick: Tick,
    /// The input ack the snapshot carried.
    pub input_ack: Option<u32>,
    /// Whether the snapshot carried a checksum (and it matched).
    pub checksum_verified: bool,
    /// Entities spawned, updated or despawned.
    pub entities_changed: usize,
}

/// Why a snapshot could not be applied.
#[derive(Debug, Error)]
pub enum MirrorError {
    /// The body did not decode.
    #[error("snapshot body: {0}")]
    Decode(#[from] DecodeError),
    /// The delta was taken against a state this mirror does not hold.
    #[error("snapshot for {tick} is against baseline {baseline:?} but the mirror holds {held:?}")]
    BaselineMismatch {
        /// The snapshot's tick.
        tick: Tick,
        /// Its baseline.
        baseline: Option<Tick>,
        /// The mirror's tick.
        held: Option<Tick>,
    },
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

    /// The entity `id`, if held.
    pub fn entity(&self, id: NetId) -> Option<&EntityState> {
        self.entities.get(&id)
    }

    /// Every held entity in `NetId` order.
    pub fn entities(&self) -> impl ExactSizeIterator<Item = &EntityState> {
        self.entities.values()
    }

    /// Checksum of the held state, as the server computes it.
    pub fn checksum(&self) -> u32 {
        checksum(self.entities.values())
    }

    /// Decodes and applies one snapshot frame. A full snapshot (no baseline) replaces
    /// the mirror. On error the mirror keeps its tick but may be partly changed: a
    /// checksum mismatch means it has diverged.
    pub fn apply_frame(&mut self, frame: &SnapshotFrame) -> Result<Applied, MirrorError> {
        let body = SnapshotBody::decode(&frame.body)?;
        self.apply_body(frame, &body)
    }

    /// Applies an already decoded body; see [`ClientMirror::apply_frame`].
    pub fn apply_body(&mut self, frame: &SnapshotFrame, body: &SnapshotBody) -> Result<Applied, MirrorError> {
        match frame.baseline {
            None => self.entities.clear(),
            Some(baseline) if Some(baseline) == self.tick => {}
            baseline => {
                return Err(MirrorError::BaselineMismatch {
                    tick: frame.tick,
                    baseline,
                    held: self.tick,
                });
            }
        }
        apply(&mut self.entities, &body.delta)?;
        self.tick = Some(frame.tick);
        let mut checksum_verified = false;
        if let Some(expected) = body.checksum {
            let actual = self.checksum();
            if actual != expected {
                return Err(MirrorError::ChecksumMismatch {
                    tick: frame.tick,
                    expected,
                    actual,
                });
            }
            checksum_verified = true;
        }
        Ok(Applied {
            tick: frame.tick,
            input_ack: frame.input_ack,
            checksum_verified,
            entities_changed: body.delta.spawns.len() + body.delta.updates.len() + body.delta.despawns.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delta::diff;
    use proptest::prelude::*;

    fn frame(tick: u32, baseline: Option<u32>, body: &SnapshotBody) -> SnapshotFrame {
        let mut bytes = Vec::new();
        body.encode_into(&mut bytes).unwrap();
        SnapshotFrame {
            tick: Tick(tick),
            baseline: baseline.map(Tick),
            input_ack: None,
            body: bytes,
        }
    }

    proptest! {
        #[test]
        fn a_chain_of_deltas_keeps_the_mirror_exact(worlds in prop::collection::vec(crate::delta::tests::world(), 1..6)) {
            let mut mirror = ClientMirror::new();
            let mut previous: Vec<EntityState> = Vec::new();
            for (tick, world) in worlds.iter().enumerate() {
                let baseline = (tick > 0).then(|| tick as u32 - 1);
                let body = SnapshotBody { checksum: Some(checksum(world)), delta: diff(&previous, world) };
                let applied = mirror.apply_frame(&frame(tick as u32, baseline, &body)).unwrap();
                prop_assert!(applied.checksum_verified);
                previous = world.clone();
            }
        }
    }

    #[test]
    fn wrong_baseline_and_wrong_checksum_are_reported() {
        let mut mirror = ClientMirror::new();
        let body = SnapshotBody {
            checksum: Some(checksum(&[])),
            delta: Default::default(),
        };
        assert!(matches!(
            mirror.apply_frame(&frame(5, Some(4), &body)),
            Err(MirrorError::BaselineMismatch { .. })
        ));
        mirror.apply_frame(&frame(5, None, &body)).unwrap();
        let lying = SnapshotBody {
            checksum: Some(1),
            delta: Default::default(),
        };
        assert!(matches!(
            mirror.apply_frame(&frame(6, Some(5), &lying)),
            Err(MirrorError::ChecksumMismatch { .. })
        ));
    }
}
