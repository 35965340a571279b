//! Step 4 of a client's own frame: encode the chosen changes.
//!
//! **Contract.** [`Encoder::write`] writes into `out` the frame carrying the despawns
//! and the chosen candidates, and returns the checksum the client will hold after
//! applying it: the held checksum, less the despawned and replaced hashes, plus the
//! hashes of what was sent. Encoding is mostly copying: an update the snapshot's change
//! set already encoded (the common case) is copied bit for bit, so only spawns and
//! updates from older copies are encoded here. It reads the held store and the stale
//! list; it may run more than once per frame while the choice trims it to the budget.

use super::held::HeldStore;
use super::stale::{Change, Stale};
use crate::room::snapshot::WorldSnapshot;
use tickcast_shared::{BodyWriter, Coding, InputAck, ServerMsg};

/// The per-client part of a frame, fixed before the body is chosen.
#[derive(Clone, Copy, Debug)]
pub(super) struct FrameHeader {
    pub full: bool,
    pub tick: u32,
    pub ack: InputAck,
}

/// The encoder's buffers, reused every frame.
#[derive(Default)]
pub(super) struct Encoder {
    /// Snapshot indices of the chosen spawns.
    spawns: Vec<u32>,
    body: Vec<u8>,
}

impl Encoder {
    /// See the module docs. `checksums`: whether the body carries the checksum.
    pub fn write(
        &mut self,
        snapshot: &WorldSnapshot,
        stale: &Stale,
        held: &HeldStore,
        checksums: bool,
        header: FrameHeader,
        out: &mut Vec<u8>,
    ) -> u32 {
        let mut checksum = held.checksum().wrapping_sub(stale.despawned_hashes);
        let hashes = &snapshot.hashes;
        let mut updates = 0;
        self.spawns.clear();
        // Candidates are in `NetId` order, so the body's lists come out sorted.
        for candidate in stale.candidates.iter().filter(|c| c.chosen) {
            match candidate.change {
                Change::Spawn => self.spawns.push(candidate.entity),
                Change::Fields(_) | Change::Shared(..) => updates += 1,
            }
            if let Some(slot) = stale.next[candidate.tracked as usize].held {
                checksum = checksum.wrapping_sub(slot.hash);
            }
            checksum = checksum.wrapping_add(hashes[candidate.entity as usize]);
        }
        let mut body = std::mem::take(&mut self.body);
        body.clear();
        if !(stale.despawns.is_empty() && updates == 0 && self.spawns.is_empty()) {
            let sum = checksums.then_some(checksum);
            let mut writer = BodyWriter::new(body, sum, Coding::Plain, &stale.despawns, updates);
            for candidate in stale.candidates.iter().filter(|c| c.chosen) {
                let id = snapshot.ids[candidate.entity as usize];
                match candidate.change {
                    Change::Spawn => {}
                    Change::Shared(encoded, since) => {
                        let changes = snapshot
                            .changes_since(since)
                            .expect("shared changes come from this snapshot");
                        writer.encoded_update(id, encoded, &changes.encoded);
                    }
                    Change::Fields(update) => {
                        // Updates never change an entity's shape: the held copy has it.
                        let slot = stale.next[candidate.tracked as usize].held;
                        let state = slot.map(|slot| held.state(slot.copy));
                        writer.update(&stale.updates[update as usize], |component| {
                            state
                                .and_then(|state| state.components.get(component))
                                .map(|c| c.fields.len())
                        });
                    }
                }
            }
            body = writer.finish(self.spawns.iter().map(|&index| &snapshot.entities[index as usize]));
        }
        out.clear();
        ServerMsg::encode_snapshot_into(header.full, header.tick, header.ack, &body, out);
        self.body = body;
        checksum
    }
}
