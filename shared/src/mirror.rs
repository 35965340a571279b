//! The client's copy of the world, built from snapshots.
//!
//! [`ClientMirror`] resolves each frame's relative tick and input ack, decodes and applies
//! the body in one pass ([`apply_body`]) and verifies the checksum, which it keeps up to
//! date incrementally: O(changed entities) per snapshot, and for an updated entity only
//! the hash of the bytes from its first changed field on. The delta it applied is kept
//! ([`ClientMirror::last_delta`]) in buffers reused from frame to frame. Bots and tests
//! use it; a game client can too.
//!
//! The held entities live in one vector sorted by `NetId` ([`SortedHeld`]), not a
//! `BTreeMap`: a bot swarm keeps a thousand mirrors of a few dozen entities each, and
//! every snapshot looks each changed entity up. A search over one contiguous vector, from
//! where the last one ended (a body lists entities in ascending order), does that with no
//! pointer chasing. Despawns only mark their entry and spawns of new entities wait in
//! a sorted side list; one merge at the end of each frame puts both in place, so a frame
//! costs O(held + changed) however many entities enter or leave the view.

use crate::delta::{ApplyError, BodyError, Delta, HeldEntity, HeldShape, HeldStore, apply_body};
use crate::net_id::NetId;
use crate::protocol::{InputAck, SnapshotFrame};
use crate::state::EntityState;
use crate::tick::Tick;
use std::sync::atomic::{AtomicUsize, Ordering};
use thiserror::Error;

/// The entities a client holds and the tick they are from.
#[derive(Clone, Debug, Default)]
pub struct ClientMirror {
    tick: Option<Tick>,
    input_ack: Option<u32>,
    entities: SortedHeld,
    checksum: u32,
    last_delta: Delta,
    /// What the frame before the last applied: the motions a predicted body builds on.
    previous_delta: Delta,
}

/// `id` as one integer in `NetId` order (slot index, then generation), which a binary
/// search compares faster than the two-part key.
fn sort_key(id: NetId) -> u64 {
    (u64::from(id.index()) << 32) | u64::from(id.generation())
}

/// [`Entry::at`] of an entity removed since the last [`SortedHeld::settle`].
const REMOVED: u32 = u32::MAX;

/// One entry of the sorted index: an id and where its entity is in the slab.
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// [`sort_key`] of the id.
    key: u64,
    /// Position in [`SortedHeld::slab`], or [`REMOVED`].
    at: u32,
}

/// Where [`SortedHeld::locate`] found an id.
enum Located {
    /// `index[at]` (possibly a removed entry).
    Index(usize),
    /// `pending[at]`.
    Pending(usize),
    /// Nowhere; it would go at `pending[at]`.
    Absent(usize),
}

/// Held entities in `NetId` order, a [`HeldStore`] with O(log n) lookups.
///
/// The entities sit in a slab and never move; a sorted index of 16-byte entries says
/// where each one is, so searching and reordering touch only the index. Between two
/// [`SortedHeld::settle`] calls, removals leave a [`REMOVED`] entry in place and
/// insertions of ids not in `index` go to the sorted `pending`; lookups see both, so the
/// store behaves exactly like a `BTreeMap<NetId, HeldEntity>` at every step (property
/// tests below hold it to that). `settle` merges them into `index` in one pass.
#[derive(Clone, Debug, Default)]
struct SortedHeld {
    /// Sorted by key, no duplicates.
    index: Vec<Entry>,
    /// Inserted since the last settle and not in `index`; sorted by key, no duplicates.
    pending: Vec<Entry>,
    /// Entries of `index` removed since the last settle.
    removed: usize,
    /// The entities; `None` in free places.
    slab: Vec<Option<HeldEntity>>,
    /// Free places of the slab.
    free: Vec<u32>,
    /// The previous `index` allocation, reused by the next merge.
    spare: Vec<Entry>,
    /// Where the last search of `index` ended.
    finger: Finger,
}

/// A position remembered by searches that only read the store. Atomic (relaxed: a plain
/// load and store) rather than a `Cell`, so that a mirror stays `Sync`; any value is
/// safe, it is only where a search starts.
#[derive(Debug, Default)]
struct Finger(AtomicUsize);

impl Finger {
    fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    fn set(&self, at: usize) {
        self.0.store(at, Ordering::Relaxed);
    }
}

impl Clone for Finger {
    fn clone(&self) -> Finger {
        Finger(AtomicUsize::new(self.get()))
    }
}

impl SortedHeld {
    /// Reads every held entity's hash, in slab order, so that the entities are in cache
    /// before a frame looks them up in id order. A frame touches most of a mirror's
    /// entities and the slab holds them in no useful order: with a thousand mirrors in
    /// one process (the bot swarm) they are cold, and one sweep lets the CPU fetch them
    /// many at a time (the loads do not depend on each other, and the hardware
    /// prefetcher follows a sweep) instead of one cache miss per lookup.
    fn warm(&self) {
        let touched = self.slab.iter().flatten().fold(0u32, |sum, held| sum ^ held.hash);
        std::hint::black_box(touched);
    }

    /// Number of held entities.
    fn len(&self) -> usize {
        self.index.len() - self.removed + self.pending.len()
    }

    fn clear(&mut self) {
        self.index.clear();
        self.pending.clear();
        self.removed = 0;
        self.slab.clear();
        self.free.clear();
    }

    /// The first position in `index` whose key is not below `key`. Lookups mostly come
    /// in ascending order (each list of a delta is sorted by id), so the search starts
    /// where the last one ended and gallops forward: a frame's lookups sweep the index
    /// once instead of each binary-searching all of it from cold memory.
    /// The common case, an entity that is the next one after the last found, costs two
    /// comparisons.
    #[inline(always)]
    fn lower_bound(&self, key: u64) -> usize {
        let index = &self.index;
        let start = self.finger.get();
        let follows = start == 0 || index.get(start - 1).is_some_and(|before| before.key < key);
        if follows && index.get(start).is_some_and(|entry| entry.key >= key) {
            self.set_finger(start, key);
            return start;
        }
        self.lower_bound_gallop(key, start)
    }

    /// [`SortedHeld::lower_bound`] past its first guess.
    fn lower_bound_gallop(&self, key: u64, start: usize) -> usize {
        let index = &self.index;
        let (low, high) = if start <= index.len() && (start == 0 || index[start - 1].key < key) {
            // Everything before `start` is below `key`.
            let (mut low, mut step) = (start, 1);
            loop {
                let probe = low + step - 1;
                if probe >= index.len() {
                    break (low, index.len());
                }
                if index[probe].key >= key {
                    break (low, probe);
                }
                low = probe + 1;
                step *= 2;
            }
        } else {
            (0, index.len())
        };
        let at = low + index[low..high].partition_point(|entry| entry.key < key);
        self.set_finger(at, key);
        at
    }

    /// Leaves the finger after a search for `key` that ended at `at`.
    #[inline(always)]
    fn set_finger(&self, at: usize, key: u64) {
        // The next, larger key is past this one if it is in the same slot.
        let in_slot = self.index.get(at).is_some_and(|entry| entry.key >> 32 == key >> 32);
        self.finger.set(at + usize::from(in_slot));
    }

    fn locate(&self, key: u64) -> Located {
        let at = self.lower_bound(key);
        match self.index.get(at) {
            Some(entry) if entry.key == key => Located::Index(at),
            _ if self.pending.is_empty() => Located::Absent(0),
            _ => match self.pending.binary_search_by_key(&key, |entry| entry.key) {
                Ok(at) => Located::Pending(at),
                Err(at) => Located::Absent(at),
            },
        }
    }

    /// Where `key`'s entity is in the slab, if held.
    fn slab_position(&self, key: u64) -> Option<usize> {
        let at = match self.locate(key) {
            Located::Index(at) => self.index[at].at,
            Located::Pending(at) => self.pending[at].at,
            Located::Absent(_) => REMOVED,
        };
        (at != REMOVED).then_some(at as usize)
    }

    fn get(&self, id: NetId) -> Option<&HeldEntity> {
        self.slab_position(sort_key(id)).and_then(|at| self.slab[at].as_ref())
    }

    /// Puts `held` in a free place of the slab.
    fn allocate(&mut self, held: HeldEntity) -> u32 {
        match self.free.pop() {
            Some(at) => {
                self.slab[at as usize] = Some(held);
                at
            }
            None => {
                self.slab.push(Some(held));
                (self.slab.len() - 1) as u32
            }
        }
    }

    /// Takes the entity at `at` out of the slab.
    fn release(&mut self, at: u32) -> Option<HeldEntity> {
        let held = self.slab[at as usize].take();
        self.free.push(at);
        held
    }

    /// Merges removals and insertions into `index`: O(index + pending), and nothing at
    /// all when neither happened.
    fn settle(&mut self) {
        if self.removed == 0 && self.pending.is_empty() {
            return;
        }
        let appending = match (self.index.last(), self.pending.first()) {
            (Some(last), Some(first)) => last.key < first.key,
            _ => true,
        };
        if appending {
            // New ids past every held one (a full snapshot, a view growing at the end).
            if self.removed > 0 {
                self.index.retain(|entry| entry.at != REMOVED);
            }
            self.index.append(&mut self.pending);
        } else {
            let mut merged = std::mem::take(&mut self.spare);
            merged.clear();
            merged.reserve(self.index.len() + self.pending.len());
            let mut new = self.pending.drain(..).peekable();
            for entry in self.index.iter().filter(|entry| entry.at != REMOVED) {
                while let Some(inserted) = new.next_if(|inserted| inserted.key < entry.key) {
                    merged.push(inserted);
                }
                merged.push(*entry);
            }
            merged.extend(new);
            self.spare = std::mem::replace(&mut self.index, merged);
        }
        self.removed = 0;
    }

    /// Every entity in `NetId` order; only meaningful when settled.
    fn iter(&self) -> impl Iterator<Item = &HeldEntity> {
        debug_assert!(
            self.removed == 0 && self.pending.is_empty(),
            "iterating an unsettled store"
        );
        self.index
            .iter()
            .filter(|entry| entry.at != REMOVED)
            .filter_map(|entry| self.slab[entry.at as usize].as_ref())
    }
}

impl SortedHeld {
    /// Where the entity [`HeldStore::by_slot`] finds is in the slab.
    #[inline]
    fn slot_position(&self, index: u32) -> Option<usize> {
        // The lowest generation held in the slot, as a `BTreeMap` range would find it.
        let slot = u64::from(index) << 32;
        let first_in_slot = |entries: &[Entry], from: usize| {
            entries[from..]
                .iter()
                .take_while(|entry| entry.key >> 32 == u64::from(index))
                .find(|entry| entry.at != REMOVED)
                .copied()
        };
        let at = self.lower_bound(slot);
        if self.pending.is_empty() {
            // Nearly always: the one entity of the slot, held since before this frame.
            if let Some(entry) = self.index.get(at)
                && entry.key >> 32 == u64::from(index)
                && entry.at != REMOVED
            {
                return Some(entry.at as usize);
            }
            return first_in_slot(&self.index, at).map(|entry| entry.at as usize);
        }
        let held = first_in_slot(&self.index, at);
        let waiting = first_in_slot(&self.pending, self.pending.partition_point(|entry| entry.key < slot));
        let first = match (held, waiting) {
            (Some(held), Some(waiting)) => Some(if held.key < waiting.key { held } else { waiting }),
            (held, waiting) => held.or(waiting),
        };
        first.map(|entry| entry.at as usize)
    }
}

impl HeldStore for SortedHeld {
    fn by_slot(&self, index: u32) -> Option<&HeldEntity> {
        self.slot_position(index).and_then(|at| self.slab[at].as_ref())
    }

    #[inline]
    fn by_slot_mut(&mut self, index: u32) -> Option<&mut HeldEntity> {
        let at = self.slot_position(index)?;
        self.slab[at].as_mut()
    }

    fn get_mut(&mut self, id: NetId) -> Option<&mut HeldEntity> {
        let at = self.slab_position(sort_key(id))?;
        self.slab[at].as_mut()
    }

    fn remove(&mut self, id: NetId) -> Option<HeldEntity> {
        match self.locate(sort_key(id)) {
            Located::Index(at) => {
                let slab_at = std::mem::replace(&mut self.index[at].at, REMOVED);
                if slab_at == REMOVED {
                    return None;
                }
                self.removed += 1;
                self.release(slab_at)
            }
            Located::Pending(at) => {
                let entry = self.pending.remove(at);
                self.release(entry.at)
            }
            Located::Absent(_) => None,
        }
    }

    fn insert(&mut self, held: HeldEntity) -> Option<HeldEntity> {
        let key = sort_key(held.state.id);
        match self.locate(key) {
            Located::Index(at) if self.index[at].at != REMOVED => self.slab[self.index[at].at as usize].replace(held),
            Located::Index(at) => {
                self.index[at].at = self.allocate(held);
                self.removed -= 1;
                None
            }
            Located::Pending(at) => self.slab[self.pending[at].at as usize].replace(held),
            Located::Absent(pending_at) => {
                let entry = Entry {
                    key,
                    at: self.allocate(held),
                };
                // Spawns arrive sorted by id: usually past everything pending.
                self.pending.insert(pending_at, entry);
                None
            }
        }
    }
}

impl HeldShape for SortedHeld {
    fn components(&self, id: NetId) -> usize {
        self.get(id).map_or(0, |held| held.state.components.len())
    }

    fn fields(&self, id: NetId, component: usize) -> usize {
        self.get(id)
            .and_then(|held| held.state.components.get(component))
            .map_or(0, |c| c.fields.len())
    }
}

/// The held entities in `NetId` order, from [`ClientMirror::entities`].
struct Entities<I> {
    inner: I,
    left: usize,
}

impl<'a, I: Iterator<Item = &'a HeldEntity>> Iterator for Entities<I> {
    type Item = &'a EntityState;

    fn next(&mut self) -> Option<&'a EntityState> {
        let held = self.inner.next()?;
        self.left = self.left.saturating_sub(1);
        Some(&held.state)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<'a, I: Iterator<Item = &'a HeldEntity>> ExactSizeIterator for Entities<I> {}

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
    /// The delta did not fit the mirror. [`ClientMirror::apply_frame`] decodes each body
    /// against the entities it applies to, so it reports a misfit as [`MirrorError::Body`]
    /// and no longer returns this.
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
        self.entities.get(id).map(|held| &held.state)
    }

    /// Every held entity in `NetId` order.
    pub fn entities(&self) -> impl ExactSizeIterator<Item = &EntityState> {
        Entities {
            inner: self.entities.iter(),
            left: self.entities.len(),
        }
    }

    /// Number of held entities.
    pub fn len(&self) -> usize {
        self.entities.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entities.len() == 0
    }

    /// The delta the last [`ClientMirror::apply_frame`] applied: empty after an idle frame
    /// or a body that did not decode; after a checksum mismatch, the delta that was applied.
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
    /// error the mirror may be partly changed (a body that does not decode to the end
    /// leaves what came before the fault applied, with [`ClientMirror::checksum`] still
    /// the checksum of what is held): a checksum mismatch means it has diverged (the bots
    /// count it and carry on; a game client would reconnect).
    pub fn apply_frame(&mut self, frame: &SnapshotFrame) -> Result<Applied, MirrorError> {
        // The last frame becomes the previous one, whatever this one carries (an idle
        // frame leaves no motion): the server counts frames the same way.
        std::mem::swap(&mut self.last_delta, &mut self.previous_delta);
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
        self.entities.warm();
        // Decoded and applied in one pass, into the last frame's delta (its allocations
        // reused).
        let result = apply_body(
            &frame.body,
            &mut self.entities,
            &mut self.checksum,
            &mut self.last_delta,
            &self.previous_delta,
        );
        self.entities.settle();
        let expected = match result {
            Ok(expected) => expected,
            Err(error) => {
                self.last_delta.clear();
                return Err(error.into());
            }
        };
        applied.spawned = self.last_delta.spawns.len();
        applied.updated = self.last_delta.updates.len();
        applied.despawned = self.last_delta.despawns.len();
        if let Some(expected) = expected {
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
    use crate::delta::{EntityUpdate, FieldDelta, apply, diff, encode_body};
    use crate::state::{ComponentKind, ComponentState, Fields, checksum};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// One call on a [`HeldStore`], over a few slots and generations so that ids collide.
    #[derive(Clone, Debug)]
    enum Op {
        BySlot(u32),
        BySlotMut(u32, i32),
        GetMut(NetId, i32),
        Remove(NetId),
        Insert(NetId, i32),
        Settle,
    }

    fn id() -> impl Strategy<Value = NetId> {
        (0u32..12, 0u32..3).prop_map(|(index, generation)| NetId::from_parts(index, 2 * generation + 1))
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u32..13).prop_map(Op::BySlot),
            (0u32..13, any::<i32>()).prop_map(|(index, value)| Op::BySlotMut(index, value)),
            (id(), any::<i32>()).prop_map(|(id, value)| Op::GetMut(id, value)),
            id().prop_map(Op::Remove),
            (id(), any::<i32>()).prop_map(|(id, value)| Op::Insert(id, value)),
            Just(Op::Settle),
        ]
    }

    fn held(id: NetId, value: i32) -> HeldEntity {
        HeldEntity::new(EntityState {
            id,
            components: [ComponentState {
                kind: ComponentKind(0),
                fields: Fields::from_slice(&[value]),
            }]
            .into_iter()
            .collect(),
        })
    }

    /// Deltas that may not fit the baseline: unknown ids, missing fields, malformed and
    /// repeated spawns, besides real diffs.
    fn delta() -> impl Strategy<Value = Delta> {
        let update =
            (id(), prop::collection::vec((0u8..3, 0u8..6, -3i32..3), 1..4)).prop_map(|(id, changes)| EntityUpdate {
                id,
                changes: changes
                    .into_iter()
                    .map(|(component, field, delta)| FieldDelta {
                        component,
                        field,
                        delta,
                    })
                    .collect(),
            });
        let spawn = (id(), any::<bool>()).prop_map(|(id, malformed)| {
            let mut state = held(id, 7).state;
            if malformed {
                state.components.push(state.components[0].clone());
            }
            state
        });
        prop_oneof![
            (crate::delta::tests::world(), crate::delta::tests::world()).prop_map(|(a, b)| diff(&a, &b)),
            (
                prop::collection::vec(id(), 0..4),
                prop::collection::vec(update, 0..4),
                prop::collection::vec(spawn, 0..4)
            )
                .prop_map(|(despawns, updates, spawns)| Delta {
                    despawns,
                    updates,
                    spawns
                }),
        ]
    }

    fn contents(store: &SortedHeld) -> Vec<HeldEntity> {
        store.iter().cloned().collect()
    }

    proptest! {
        #[test]
        fn sort_keys_order_like_net_ids(a in (any::<u32>(), any::<u32>()), b in (any::<u32>(), any::<u32>())) {
            let (a, b) = (NetId::from_parts(a.0, a.1), NetId::from_parts(b.0, b.1));
            prop_assert_eq!(sort_key(a).cmp(&sort_key(b)), a.cmp(&b));
        }

        #[test]
        fn the_sorted_store_behaves_like_a_btree_map(ops in prop::collection::vec(op(), 0..60)) {
            let mut model: BTreeMap<NetId, HeldEntity> = BTreeMap::new();
            let mut store = SortedHeld::default();
            for op in ops {
                match op {
                    Op::BySlot(index) => prop_assert_eq!(store.by_slot(index), model.by_slot(index)),
                    Op::BySlotMut(index, value) => {
                        let (got, want) = (store.by_slot_mut(index), model.by_slot_mut(index));
                        prop_assert_eq!(got.is_some(), want.is_some());
                        if let (Some(got), Some(want)) = (got, want) {
                            prop_assert_eq!(&*got, &*want);
                            *got = held(got.state.id, value);
                            *want = held(want.state.id, value);
                        }
                    }
                    Op::GetMut(id, value) => {
                        let (got, want) = (HeldStore::get_mut(&mut store, id), HeldStore::get_mut(&mut model, id));
                        prop_assert_eq!(got.is_some(), want.is_some());
                        if let (Some(got), Some(want)) = (got, want) {
                            prop_assert_eq!(&*got, &*want);
                            *got = held(id, value);
                            *want = held(id, value);
                        }
                    }
                    Op::Remove(id) => prop_assert_eq!(HeldStore::remove(&mut store, id), HeldStore::remove(&mut model, id)),
                    Op::Insert(id, value) => prop_assert_eq!(
                        HeldStore::insert(&mut store, held(id, value)),
                        HeldStore::insert(&mut model, held(id, value))
                    ),
                    Op::Settle => {
                        store.settle();
                        prop_assert_eq!(contents(&store), model.values().cloned().collect::<Vec<_>>());
                    }
                }
                prop_assert_eq!(store.len(), model.len());
                for id in model.keys() {
                    prop_assert_eq!(store.components(*id), model.components(*id));
                }
            }
            store.settle();
            prop_assert_eq!(contents(&store), model.values().cloned().collect::<Vec<_>>());
        }

        #[test]
        fn deltas_apply_to_the_sorted_store_as_to_a_btree_map(
            baseline in crate::delta::tests::world(),
            deltas in prop::collection::vec(delta(), 1..4),
        ) {
            let (mut model, mut model_sum) = crate::delta::tests::mirror_of(&baseline);
            let mut store = SortedHeld::default();
            let mut sum = model_sum;
            for entity in &baseline {
                store.insert(HeldEntity::new(entity.clone()));
            }
            store.settle();
            for delta in &deltas {
                let want = apply(&mut model, &mut model_sum, delta);
                let got = apply(&mut store, &mut sum, delta);
                store.settle();
                prop_assert_eq!(got, want);
                prop_assert_eq!(sum, model_sum);
                prop_assert_eq!(contents(&store), model.values().cloned().collect::<Vec<_>>());
            }
        }
    }

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

    proptest! {
        /// Frames of mostly moving entities, some of them corrupted: the checksum kept
        /// incrementally always equals the one computed from scratch over what is held,
        /// and while no frame was corrupted the mirror holds exactly the server's world.
        #[test]
        fn the_incremental_checksum_is_the_checksum_of_what_is_held(
            first in crate::delta::tests::world(),
            steps in prop::collection::vec(
                (crate::delta::tests::edits(), 0usize..8, prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3)),
                1..8,
            ),
        ) {
            let mut mirror = ClientMirror::new();
            let frame = |full: bool, body: Vec<u8>| SnapshotFrame { full, tick: 2, input_ack: InputAck::None, body };
            let body = encode_body(Some(checksum(&first)), &diff(&[], &first), &BTreeMap::new(), Vec::new());
            mirror.apply_frame(&frame(true, body)).unwrap();
            let (mut previous, mut intact) = (first, true);
            for (edits, drop_every, flips) in steps {
                let current = crate::delta::tests::edited(&previous, &edits, drop_every);
                let delta = diff(&previous, &current);
                let mut body = encode_body(Some(checksum(&current)), &delta, previous.as_slice(), Vec::new());
                for (at, value) in &flips {
                    let at = at.index(body.len());
                    intact &= body[at] == *value;
                    body[at] = *value;
                }
                let result = mirror.apply_frame(&frame(false, body));
                prop_assert_eq!(mirror.checksum(), checksum(mirror.entities()), "{:?}", result);
                if intact {
                    prop_assert!(result.is_ok(), "{:?}", result);
                    prop_assert_eq!(mirror.entities().cloned().collect::<Vec<_>>(), current.clone());
                    prop_assert_eq!(mirror.last_delta(), &delta);
                }
                previous = current;
            }
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
