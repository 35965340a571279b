//! Step 2 of a client's own frame: what in view is stale.
//!
//! **Contract.** Given the held store and the snapshot's visible entities (sorted
//! snapshot indices, so sorted by `NetId`), [`Stale::collect`] lists:
//! - the despawns: held entities no longer visible (left view, or gone), with the sum of
//!   their held hashes and any stored copies to free;
//! - the next entity list: one entry per visible entity, carrying over what the client
//!   holds of it and its accumulated priority;
//! - the candidates, in `NetId` order (the order a body needs): every visible entity the
//!   client lacks (spawn it whole) or holds with different fields (an update), with the
//!   update's estimated cost in bits.
//!
//! It reads the store and writes only itself. Finding an update is cheap when the
//! snapshot's shared change sets cover the held copy's age (in steady state nearly
//! every client holds nearly everything as of the previous snapshot): the update is then
//! already encoded, once for every client. Older copies skip unchanged entities by their
//! `changed_at` tick and diff the rest.

use super::held::{HeldCopy, HeldSlot, HeldStore, Tracked};
use crate::room::snapshot::{EntityChange, WorldSnapshot};
use std::cmp::Ordering;
use tickcast_shared::{
    EncodedUpdate, EntityDiff, EntityUpdate, NetId, Tick, diff_entity, spawn_cost_bits, update_cost_bits,
};

/// Extra weight of an entity the client does not hold at all yet.
const SPAWN_WEIGHT: f32 = 2.0;

/// What a candidate would send.
#[derive(Clone, Copy, Debug)]
pub(super) enum Change {
    /// The whole entity.
    Spawn,
    /// A field-level update computed for this client: index into [`Stale::updates`].
    Fields(u32),
    /// The snapshot's shared encoding of the update from the state the client holds,
    /// in its change set since the snapshot of that tick.
    Shared(EncodedUpdate, Tick),
}

/// A change that could go in this frame.
#[derive(Clone, Copy, Debug)]
pub(super) struct Candidate {
    /// Index into [`Stale::next`].
    pub tracked: u32,
    /// Index into the snapshot's entities.
    pub entity: u32,
    /// The size part of its weight until the choice weighs it; then its accumulated
    /// priority.
    pub priority: f32,
    pub cost_bits: u32,
    pub change: Change,
    /// Whether it goes in this frame (set by the choice).
    pub chosen: bool,
}

/// A change found while merging, before it becomes a [`Candidate`].
enum Pending {
    Spawn,
    Fields(EntityUpdate),
    /// The shared encoding, the bit length of the summed deltas, and the tick its
    /// change set is since.
    Shared(EncodedUpdate, u8, Tick),
}

/// Priority weight of a change by its size: 1 for the smallest, growing with the bit
/// length of the summed field deltas (a cheap stand-in for a logarithm).
fn size_of_change(magnitude_bits: u8) -> f32 {
    1.0 + f32::from(magnitude_bits) / 12.0
}

/// What a frame did with its candidates.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Settled {
    /// Candidates sent.
    pub sent: usize,
    /// Candidates in view that did not fit and wait.
    pub deferred: usize,
    /// Longest a change that went out had waited, in ticks.
    pub max_staleness_ticks: u32,
}

/// The stale part of a client's view for one snapshot; buffers reused every frame.
#[derive(Default)]
pub(super) struct Stale {
    /// The entity list after this frame, before the chosen changes are marked held.
    pub next: Vec<Tracked>,
    pub candidates: Vec<Candidate>,
    /// Field-level updates computed for this client, by [`Change::Fields`] index.
    pub updates: Vec<EntityUpdate>,
    pub despawns: Vec<NetId>,
    /// Wrapping sum of the despawned entities' held hashes.
    pub despawned_hashes: u32,
    /// Stored copies of despawned entities, to free at commit.
    pub freed: Vec<u32>,
}

impl Stale {
    /// Merges the held entity list with what is visible now (see the module docs).
    pub fn collect(&mut self, held: &HeldStore, snapshot: &WorldSnapshot, visible: &[u32]) {
        self.next.clear();
        self.candidates.clear();
        self.updates.clear();
        self.despawns.clear();
        self.freed.clear();
        self.despawned_hashes = 0;
        let tracked = held.tracked();
        let tick = snapshot.tick;
        let (mut old, mut new) = (0, 0);
        loop {
            let order = match (tracked.get(old), visible.get(new)) {
                (None, None) => break,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(entry), Some(&index)) => entry.id.cmp(&snapshot.ids[index as usize]),
            };
            match order {
                Ordering::Less => {
                    // Left view (or despawned): the client drops it.
                    let entry = tracked[old];
                    old += 1;
                    if let Some(slot) = entry.held {
                        self.despawned_hashes = self.despawned_hashes.wrapping_add(slot.hash);
                        self.despawns.push(entry.id);
                        if let HeldCopy::Stored(stored) = slot.copy {
                            self.freed.push(stored);
                        }
                    }
                }
                Ordering::Greater => {
                    let index = visible[new] as usize;
                    new += 1;
                    self.next.push(Tracked {
                        id: snapshot.ids[index],
                        index: index as u32,
                        held: None,
                        priority: 0.0,
                        pending_since: None,
                    });
                    self.add_candidate(held, snapshot, index, Pending::Spawn, tick);
                }
                Ordering::Equal => {
                    let mut entry = tracked[old];
                    let index = visible[new] as usize;
                    entry.index = index as u32;
                    old += 1;
                    new += 1;
                    let change = match entry.held {
                        None => Some(Pending::Spawn),
                        Some(slot) => change_since(held, snapshot, index, slot),
                    };
                    if change.is_none() {
                        entry.priority = 0.0;
                        entry.pending_since = None;
                    }
                    self.next.push(entry);
                    if let Some(change) = change {
                        self.add_candidate(held, snapshot, index, change, tick);
                    }
                }
            }
        }
    }

    /// After the choice: marks each chosen candidate held as of `snapshot` in `next`, so
    /// that `next` says what the client holds after this frame; returns what the frame
    /// left waiting and how long what it sent had waited.
    pub fn settle(&mut self, snapshot: &WorldSnapshot) -> Settled {
        let tick = snapshot.tick;
        let mut settled = Settled::default();
        for candidate in &self.candidates {
            let tracked = &mut self.next[candidate.tracked as usize];
            if !candidate.chosen {
                settled.deferred += 1;
                continue;
            }
            settled.sent += 1;
            if let Some(since) = tracked.pending_since.take() {
                settled.max_staleness_ticks = settled.max_staleness_ticks.max(tick.since(since).max(0) as u32);
            }
            tracked.priority = 0.0;
            // The store moves the copy itself to this snapshot at the commit.
            let copy = match tracked.held {
                Some(held) => held.copy,
                None => HeldCopy::InLast(candidate.entity),
            };
            tracked.held = Some(HeldSlot {
                copy,
                hash: snapshot.hashes[candidate.entity as usize],
                as_of: tick,
            });
        }
        settled
    }

    /// Lists the last entry of `next` as a candidate.
    fn add_candidate(
        &mut self,
        held: &HeldStore,
        snapshot: &WorldSnapshot,
        entity: usize,
        change: Pending,
        tick: Tick,
    ) {
        let tracked_index = self.next.len() - 1;
        let tracked = &mut self.next[tracked_index];
        tracked.pending_since.get_or_insert(tick);
        // The change's priority weight is only needed when not everything fits, so the
        // choice computes it then; the size part is kept for it here.
        let (size, cost_bits, change) = match (change, tracked.held) {
            (Pending::Fields(update), Some(slot)) => {
                let cost = update_cost_bits(&update, held.state(slot.copy));
                let size = size_of_change(update.magnitude_bits());
                self.updates.push(update);
                (size, cost, Change::Fields(self.updates.len() as u32 - 1))
            }
            (Pending::Shared(encoded, magnitude_bits, since), Some(_)) => (
                size_of_change(magnitude_bits),
                encoded.cost_bits(),
                Change::Shared(encoded, since),
            ),
            _ => (SPAWN_WEIGHT, spawn_cost_bits(&snapshot.entities[entity]), Change::Spawn),
        };
        self.candidates.push(Candidate {
            tracked: tracked_index as u32,
            entity: entity as u32,
            priority: size,
            cost_bits: cost_bits as u32,
            change,
            chosen: false,
        });
    }
}

/// How entity `index` differs from the client's copy in `slot`, or `None` if it does
/// not: the snapshot's shared change set when one covers the copy's age, a diff otherwise.
fn change_since(held: &HeldStore, snapshot: &WorldSnapshot, index: usize, slot: HeldSlot) -> Option<Pending> {
    if !snapshot.changed_at[index].is_after(slot.as_of) {
        return None;
    }
    if let Some(changes) = snapshot.changes_since(slot.as_of) {
        match changes.entities[index] {
            EntityChange::Same => return None,
            EntityChange::Update {
                encoded,
                magnitude_bits,
            } => return Some(Pending::Shared(encoded, magnitude_bits, changes.since)),
            EntityChange::New => {}
        }
    }
    match diff_entity(held.state(slot.copy), &snapshot.entities[index]) {
        EntityDiff::Same => None,
        EntityDiff::Update(update) => Some(Pending::Fields(update)),
        EntityDiff::Replace => Some(Pending::Spawn),
    }
}
