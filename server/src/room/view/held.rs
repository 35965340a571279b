//! What a client holds: the store every frame is a delta against.
//!
//! **Contract.** Between frames the store describes exactly the client's mirror: which
//! entities it holds, a copy of each, and the wrapping sum of their hashes (the checksum
//! the client verified). On a WebSocket the client holds exactly what it was sent
//! (reliable, ordered), so no acks of snapshots are needed to know it. Only two calls
//! change what the store says, each at the end of a frame: [`HeldStore::commit`] after a
//! frame of the client's own, [`HeldStore::step_to`] after a shared world body
//! ([`HeldStore::leave_step`] changes only its form). The steps that build a frame only
//! read it.
//!
//! The store has two forms:
//! - **in step**: the client holds exactly one snapshot's visible world (a whole-world
//!   view that was sent everything). The store is then that snapshot alone; the entity
//!   list is rebuilt from it only when the client leaves step ([`HeldStore::leave_step`]);
//! - **entity by entity**: a list sorted by `NetId` of what the client holds or should
//!   hold. Each held entry points at its copy: a copy equal to the entity in the snapshot
//!   of the last frame (sent then, or unchanged since: the common case) *is* that
//!   snapshot's entity, kept alive by the store, so sending an entity copies no state.
//!   Only a copy left behind (its change deferred by the budget) is stored, when the
//!   store moves on to the next snapshot.

use crate::room::snapshot::{WorldSnapshot, is_visible};
use std::sync::Arc;
use tickcast_shared::{EntityState, NetId, Tick};

/// One entity the view tracks: held by the client, pending, or both. Small on purpose:
/// the whole list is merged with what is visible every frame, so the copy itself lives
/// elsewhere (see [`HeldCopy`]) and the entry only points at it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Tracked {
    pub id: NetId,
    /// Its index in the snapshot of the frame that last listed it.
    pub index: u32,
    /// Where the client's copy is, once sent.
    pub held: Option<HeldSlot>,
    /// Accumulated priority of its pending change.
    pub priority: f32,
    /// Snapshot tick since which the client's copy has been out of date.
    pub pending_since: Option<Tick>,
}

/// The client's copy of one entity: where it is, its hash, and the tick of the snapshot
/// it equals.
#[derive(Clone, Copy, Debug)]
pub(super) struct HeldSlot {
    pub copy: HeldCopy,
    pub hash: u32,
    pub as_of: Tick,
}

/// Where the client's copy of an entity is.
#[derive(Clone, Copy, Debug)]
pub(super) enum HeldCopy {
    /// The entity at this index of the snapshot of the last frame.
    InLast(u32),
    /// A stored copy (see [`HeldStore`]).
    Stored(u32),
}

/// The client's held state; see the module docs for its contract.
#[derive(Default)]
pub(super) struct HeldStore {
    /// Set while in step: the client holds exactly this snapshot's visible world, and
    /// `tracked`, `last` and the stored copies are stale until [`HeldStore::leave_step`].
    world: Option<Arc<WorldSnapshot>>,
    /// The tick of the world the client held in step before its last frame, when that
    /// frame also left it in step: then the motion its mirror remembers runs from that
    /// world to `world`'s, and a predicted world body built on the same two worlds fits.
    stepped_from: Option<Tick>,
    /// What the client holds or should hold, sorted by `NetId`.
    tracked: Vec<Tracked>,
    /// The snapshot of the last frame: where [`HeldCopy::InLast`] copies are.
    last: Option<Arc<WorldSnapshot>>,
    /// Copies `last` does not have, by [`HeldCopy::Stored`] slot.
    stored: Vec<EntityState>,
    /// Slots of `stored` no longer in use.
    free: Vec<u32>,
    /// Wrapping sum of the held entities' hashes.
    checksum: u32,
}

impl HeldStore {
    /// Entities the client holds.
    pub fn len(&self) -> usize {
        match &self.world {
            Some(world) => world.visible,
            None => self.tracked.iter().filter(|t| t.held.is_some()).count(),
        }
    }

    pub fn checksum(&self) -> u32 {
        self.checksum
    }

    /// The tick of the world the client holds exactly, while in step.
    pub fn world_tick(&self) -> Option<Tick> {
        self.world.as_ref().map(|world| world.tick)
    }

    /// See [`HeldStore::stepped_from`]'s field.
    pub fn stepped_from(&self) -> Option<Tick> {
        self.stepped_from
    }

    /// The entity list, sorted by `NetId`. Only meaningful out of step.
    pub fn tracked(&self) -> &[Tracked] {
        &self.tracked
    }

    /// The client's copy at `copy`.
    pub fn state(&self, copy: HeldCopy) -> &EntityState {
        match copy {
            HeldCopy::InLast(index) => {
                let last = self.last.as_ref().expect("copies in the last snapshot come with it");
                &last.entities[index as usize]
            }
            HeldCopy::Stored(slot) => &self.stored[slot as usize],
        }
    }

    /// After a shared world body: the client now holds exactly `snapshot`'s world.
    pub fn step_to(&mut self, snapshot: &Arc<WorldSnapshot>, checksum: u32, stepped_from: Option<Tick>) {
        self.world = Some(Arc::clone(snapshot));
        self.stepped_from = stepped_from;
        self.checksum = checksum;
    }

    /// Out of step: rebuilds the entity list from the world the client holds, every
    /// visible entity held as of it. Nothing to do when not in step.
    pub fn leave_step(&mut self) {
        let Some(world) = self.world.take() else { return };
        self.tracked.clear();
        self.free.clear();
        self.free.extend(0..self.stored.len() as u32);
        for (index, meta) in world.metas.iter().enumerate() {
            if is_visible(meta) {
                self.tracked.push(Tracked {
                    id: world.ids[index],
                    index: index as u32,
                    held: Some(HeldSlot {
                        copy: HeldCopy::InLast(index as u32),
                        hash: world.hashes[index],
                        as_of: world.tick,
                    }),
                    priority: 0.0,
                    pending_since: None,
                });
            }
        }
        self.last = Some(world);
    }

    /// After a frame of the client's own for `snapshot`: `next` (the frame's settled
    /// entity list, see [`Stale::settle`](super::stale::Stale::settle)) becomes the
    /// store's, which hands back the old list's buffer in it; the despawned copies at
    /// `freed` are let go; `checksum` is what the frame told the client to verify.
    /// `world`: the frame sent everything in a whole-world view, so the client now holds
    /// exactly the snapshot's world and is in step (its motion from `stepped_from`, when
    /// set).
    pub fn commit(
        &mut self,
        next: &mut Vec<Tracked>,
        freed: &[u32],
        snapshot: &Arc<WorldSnapshot>,
        checksum: u32,
        world: bool,
        stepped_from: Option<Tick>,
    ) {
        self.free.extend_from_slice(freed);
        self.move_copies_to(next, snapshot);
        std::mem::swap(&mut self.tracked, next);
        self.checksum = checksum;
        if world {
            self.world = Some(Arc::clone(snapshot));
            self.stepped_from = stepped_from;
        } else {
            self.stepped_from = None;
        }
    }

    /// Every copy in `list` equal to its entity in `snapshot` (sent now, or unchanged)
    /// points into `snapshot`, and as of it; a copy left behind in the old last snapshot
    /// (its change deferred) is stored before that snapshot is let go.
    fn move_copies_to(&mut self, list: &mut [Tracked], snapshot: &Arc<WorldSnapshot>) {
        for tracked in list {
            let Some(held) = &mut tracked.held else { continue };
            if tracked.pending_since.is_none() {
                if let HeldCopy::Stored(slot) = held.copy {
                    self.free.push(slot);
                }
                held.copy = HeldCopy::InLast(tracked.index);
                held.as_of = snapshot.tick;
            } else if let HeldCopy::InLast(index) = held.copy {
                let last = self.last.as_ref().expect("copies in the last snapshot come with it");
                let state = &last.entities[index as usize];
                let slot = match self.free.pop() {
                    Some(slot) => {
                        self.stored[slot as usize].clone_from(state);
                        slot
                    }
                    None => {
                        self.stored.push(state.clone());
                        self.stored.len() as u32 - 1
                    }
                };
                held.copy = HeldCopy::Stored(slot);
            }
        }
        self.last = Some(Arc::clone(snapshot));
    }
}
