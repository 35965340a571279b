//! Snapshots: captured on the tick thread, quantized and shared off it.
//!
//! The tick copies the replicated state once per snapshot tick and a relay task on the
//! connections' runtime quantizes it into one immutable [`WorldSnapshot`], published
//! behind an `Arc`: every entity's quantized state and its interest metadata. Everything
//! per client (interest query, diff against what the client holds, priority, encode)
//! happens in the connection writers; the shared pieces they need are built once per
//! snapshot by the first writer that asks, off the tick thread:
//! - entity hashes, summed into checksums;
//! - the interest grid;
//! - [`SnapshotChanges`]: how each entity changed since the previous snapshot, with each
//!   changed entity's update encoded once. Every client that holds an entity as of the
//!   previous snapshot (in steady state, nearly all) copies those bits instead of
//!   diffing and encoding the entity itself: the encode-once of `ARCHITECTURE.md`, per
//!   entity rather than per whole body, since views differ under interest and budget;
//! - [`WorldSnapshot::changes_two_back`]: the same against the snapshot before the
//!   previous one, built only when a client asks for it: a writer that fell behind and
//!   skipped a snapshot then copies shared bits too, instead of diffing every entity
//!   (which would make it fall further behind).

use super::ClientId;
use super::input::InputBuffers;
use super::interest::{EntityMeta, InterestGrid};
use super::replication::{CapturedState, Replication};
use super::tick_loop::RoomClock;
use bevy_ecs::prelude::*;
use std::sync::{Arc, Mutex, OnceLock};
use tickcast_shared::{EncodedUpdate, EntityDiff, EntityState, NetId, Tick, diff_entity, entity_hash};
use tokio::sync::{mpsc, watch};

/// The replicated state of a room at one tick; immutable once published.
pub struct WorldSnapshot {
    /// When it was captured.
    pub tick: Tick,
    /// Every replicated entity, sorted by `NetId`.
    pub entities: Vec<EntityState>,
    /// The `NetId` of each entity, same order: what a writer's merge compares, 4 bytes
    /// apiece instead of a cache line of `EntityState` each (1 000 writers a snapshot
    /// each reading ~70 scattered ids was a cache miss apiece).
    pub ids: Vec<NetId>,
    /// `entity_hash` of each entity, same order; computed by the first writer that needs
    /// them, so the tick thread never hashes.
    hashes: OnceLock<Vec<u32>>,
    /// Interest metadata of each entity, same order.
    pub metas: Vec<EntityMeta>,
    input_acks: Vec<(ClientId, u32)>,
    grid: OnceLock<InterestGrid>,
    /// The snapshot captured before this one, and the one before that, until the next
    /// capture lets them go (so at most the newest snapshot links back, two deep).
    previous: Mutex<Option<Arc<WorldSnapshot>>>,
    two_back: Mutex<Option<Arc<WorldSnapshot>>>,
    changes: OnceLock<Option<SnapshotChanges>>,
    changes_two_back: OnceLock<Option<ChangesTwoBack>>,
}

/// How each entity of a snapshot changed since the snapshot before the previous one.
#[derive(Debug)]
pub struct ChangesTwoBack {
    /// Tick of that snapshot.
    pub since: Tick,
    /// Per entity, in `entities` order.
    pub entities: Vec<EntityChange>,
    /// The bytes of every [`EntityChange::Update`]'s encoding.
    pub encoded: Vec<u8>,
}

/// How each entity of a snapshot changed since the previous one.
#[derive(Debug)]
pub struct SnapshotChanges {
    /// Tick of the previous snapshot.
    pub since: Tick,
    /// Per entity, in `entities` order.
    pub entities: Vec<EntityChange>,
    /// Per entity, the last snapshot tick at which its state differed from the snapshot
    /// before (or it appeared). When the earlier history is unknown (the previous
    /// snapshot's changes were never built) it is the previous snapshot's tick: never
    /// earlier than the truth, so a client holding the entity as of `changed_at` or later
    /// always holds its current state.
    pub changed_at: Vec<Tick>,
    /// The bytes of every [`EntityChange::Update`]'s encoding.
    pub encoded: Vec<u8>,
}

/// How one entity changed since the previous snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntityChange {
    /// It was not in the previous snapshot, or its set of components changed.
    New,
    /// Identical.
    Same,
    /// Some fields changed: the update from the previous state, encoded.
    Update {
        /// Where in [`SnapshotChanges::encoded`].
        encoded: EncodedUpdate,
        /// Bit length of the summed absolute field deltas (the size of the change).
        magnitude_bits: u8,
    },
}

impl WorldSnapshot {
    /// A snapshot of `entities` (sorted by `NetId`) with their metadata.
    pub fn new(
        tick: Tick,
        entities: Vec<EntityState>,
        metas: Vec<EntityMeta>,
        input_acks: Vec<(ClientId, u32)>,
    ) -> Self {
        debug_assert_eq!(entities.len(), metas.len());
        let ids = entities.iter().map(|entity| entity.id).collect();
        WorldSnapshot {
            tick,
            entities,
            ids,
            hashes: OnceLock::new(),
            metas,
            input_acks,
            grid: OnceLock::new(),
            previous: Mutex::new(None),
            two_back: Mutex::new(None),
            changes: OnceLock::new(),
            changes_two_back: OnceLock::new(),
        }
    }

    /// This snapshot, captured right after `previous`: its [`WorldSnapshot::changes`]
    /// will be built against it, and [`WorldSnapshot::changes_two_back`] against the one
    /// before. Takes over `previous`'s links, so only the newest snapshot links back.
    pub fn following(self, previous: Arc<WorldSnapshot>) -> Self {
        let before_previous = lock(&previous.previous).take();
        drop(lock(&previous.two_back).take());
        *lock(&self.previous) = Some(previous);
        *lock(&self.two_back) = before_previous;
        self
    }

    /// How each entity changed since the previous snapshot, built on first use; `None`
    /// when there is no previous snapshot to compare with (the first one, one built
    /// with [`WorldSnapshot::new`] alone, or one asked for after the next capture).
    pub fn changes(&self) -> Option<&SnapshotChanges> {
        self.changes
            .get_or_init(|| {
                let previous = lock(&self.previous).clone()?;
                Some(SnapshotChanges::between(&previous, self))
            })
            .as_ref()
    }

    /// How each entity changed since the snapshot before the previous one, built on
    /// first use (by the first writer that skipped a snapshot); `None` as for
    /// [`WorldSnapshot::changes`].
    pub fn changes_two_back(&self) -> Option<&ChangesTwoBack> {
        self.changes_two_back
            .get_or_init(|| {
                let older = lock(&self.two_back).clone()?;
                let mut encoded = Vec::new();
                let mut entities = Vec::with_capacity(self.entities.len());
                compare(&older, self, &mut encoded, |change, _| entities.push(change));
                Some(ChangesTwoBack {
                    since: older.tick,
                    entities,
                    encoded,
                })
            })
            .as_ref()
    }

    /// Whether [`WorldSnapshot::changes_two_back`] has been built, with a snapshot to
    /// compare with (for tests).
    #[cfg(test)]
    pub(crate) fn two_back_built(&self) -> bool {
        self.changes_two_back.get().is_some_and(Option::is_some)
    }

    /// The last input `seq` the room applied for `client` by this tick.
    pub fn input_ack(&self, client: ClientId) -> Option<u32> {
        self.input_acks
            .binary_search_by_key(&client, |(c, _)| *c)
            .ok()
            .map(|at| self.input_acks[at].1)
    }

    /// `entity_hash` of every entity, in `entities` order (computed on first use).
    pub fn hashes(&self) -> &[u32] {
        self.hashes
            .get_or_init(|| self.entities.iter().map(entity_hash).collect())
    }

    /// Position of entity `id` in `entities`.
    pub fn index_of(&self, id: NetId) -> Option<usize> {
        self.ids.binary_search(&id).ok()
    }

    /// The interest grid of this snapshot, built on first use. Every caller must pass
    /// the same radius (a server has one).
    pub fn interest_grid(&self, radius: f32) -> &InterestGrid {
        self.grid.get_or_init(|| InterestGrid::build(&self.metas, radius))
    }
}

/// Locks a mutex whose data stays consistent even if a holder panicked.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl SnapshotChanges {
    /// Compares `current` with `previous` entity by entity.
    fn between(previous: &WorldSnapshot, current: &WorldSnapshot) -> SnapshotChanges {
        let earlier = previous.changes.get().and_then(Option::as_ref);
        let mut encoded = Vec::new();
        let mut entities = Vec::with_capacity(current.entities.len());
        let mut changed_at = Vec::with_capacity(current.entities.len());
        compare(previous, current, &mut encoded, |change, at| {
            changed_at.push(match change {
                EntityChange::Same => earlier.map_or(previous.tick, |earlier| earlier.changed_at[at]),
                EntityChange::New | EntityChange::Update { .. } => current.tick,
            });
            entities.push(change);
        });
        SnapshotChanges {
            since: previous.tick,
            entities,
            changed_at,
            encoded,
        }
    }
}

/// Compares `current` with `older` entity by entity (both sorted by `NetId`), encoding
/// each update into `encoded`; calls `each` with every entity's change, in `current`
/// order, and the entity's index in `older` (meaningful when it is not `New`).
fn compare(
    older: &WorldSnapshot,
    current: &WorldSnapshot,
    encoded: &mut Vec<u8>,
    mut each: impl FnMut(EntityChange, usize),
) {
    let mut at = 0;
    for entity in &current.entities {
        while at < older.ids.len() && older.ids[at] < entity.id {
            at += 1;
        }
        let before = older.entities.get(at).filter(|before| before.id == entity.id);
        let change = match before.map(|before| (before, diff_entity(before, entity))) {
            None | Some((_, EntityDiff::Replace)) => EntityChange::New,
            Some((_, EntityDiff::Same)) => EntityChange::Same,
            Some((before, EntityDiff::Update(update))) => EntityChange::Update {
                encoded: EncodedUpdate::append(encoded, &update, before),
                magnitude_bits: update.magnitude_bits(),
            },
        };
        each(change, at);
    }
}

/// What the tick thread hands over at a snapshot tick: the copied state, to become a
/// [`WorldSnapshot`] wherever it is published.
struct Capture {
    tick: Tick,
    /// The snapshot group it goes to.
    group: usize,
    state: CapturedState,
    input_acks: Vec<(ClientId, u32)>,
}

impl Capture {
    /// Quantizes the state into a snapshot linked to `last`, which it then becomes.
    fn into_snapshot(self, last: &mut Option<Arc<WorldSnapshot>>) -> Arc<WorldSnapshot> {
        let (entities, metas) = self.state.quantize();
        let mut snapshot = WorldSnapshot::new(self.tick, entities, metas, self.input_acks);
        if let Some(previous) = last.take() {
            snapshot = snapshot.following(previous);
        }
        let snapshot = Arc::new(snapshot);
        *last = Some(Arc::clone(&snapshot));
        snapshot
    }
}

/// The sending end of the room's snapshot slots, one per snapshot group.
#[derive(Resource)]
pub(crate) struct Publisher {
    outlet: Outlet,
}

/// Each snapshot group's slot, and the snapshot published to it last: the group's next
/// snapshot links to that one, so a group's chain of snapshots (and the changes its
/// writers share) runs from one of its snapshots to its next.
struct Groups {
    slots: Vec<watch::Sender<Option<Arc<WorldSnapshot>>>>,
    last: Vec<Option<Arc<WorldSnapshot>>>,
}

impl Groups {
    /// Quantizes `capture` and puts it in its group's slot.
    fn publish(&mut self, capture: Capture) {
        let group = capture.group;
        let snapshot = capture.into_snapshot(&mut self.last[group]);
        self.slots[group].send_replace(Some(snapshot));
    }
}

/// Where [`Publisher`] puts each snapshot.
enum Outlet {
    /// Quantized and put straight into the group's slot, on the calling thread (a
    /// simulation stepped by hand: benches and tests see each snapshot as soon as `step`
    /// returns).
    Direct(Groups),
    /// To a task on the connections' runtime, which quantizes the capture and puts the
    /// snapshot in the slot. Quantizing there takes most of a capture's cost off the
    /// tick thread. And replacing the slot wakes every connection's writer: a wake from
    /// outside the runtime takes the runtime's global queue lock once per task, from
    /// the tick thread a thousand lock acquisitions per snapshot, and whenever a worker
    /// held the lock and had been preempted, the tick waited a whole scheduler tick
    /// (4 ms) for it. From the relay task they are local wakes; the tick thread only
    /// wakes the one task.
    Relay(mpsc::Sender<Capture>),
}

/// Captures per snapshot group the relay may be behind by before the tick thread drops
/// one (the writers get the next; none of this happens unless the runtime stalls for
/// four snapshots).
const RELAY_BACKLOG: usize = 4;

impl Publisher {
    /// A publisher into `slots`, one per snapshot group.
    pub(crate) fn new(slots: Vec<watch::Sender<Option<Arc<WorldSnapshot>>>>) -> Publisher {
        let last = vec![None; slots.len()];
        Publisher {
            outlet: Outlet::Direct(Groups { slots, last }),
        }
    }

    /// From now on, publishes through a relay task spawned on `runtime` (see
    /// [`Outlet::Relay`]); the task ends, dropping the slot's sender, when this
    /// publisher is dropped.
    pub(crate) fn relay_through(&mut self, runtime: &tokio::runtime::Handle) {
        let Outlet::Direct(groups) = &self.outlet else {
            return;
        };
        let (relay, mut incoming) = mpsc::channel::<Capture>(RELAY_BACKLOG * groups.slots.len());
        if let Outlet::Direct(mut groups) = std::mem::replace(&mut self.outlet, Outlet::Relay(relay)) {
            runtime.spawn(async move {
                while let Some(capture) = incoming.recv().await {
                    groups.publish(capture);
                }
            });
        }
    }

    fn publish(&mut self, capture: Capture) {
        match &mut self.outlet {
            Outlet::Direct(groups) => groups.publish(capture),
            Outlet::Relay(relay) => {
                if relay.try_send(capture).is_err() {
                    tracing::debug!("snapshot relay is behind; dropped a snapshot");
                }
            }
        }
    }
}

/// `TickSystems::Snapshot`: capture the replicated state once and publish it.
pub(crate) fn capture_and_publish(world: &mut World) {
    let clock = world.resource::<RoomClock>();
    let (tick, group) = (clock.tick, clock.snapshot_group().unwrap_or(0));
    let state = world.resource_scope(|world, mut replication: Mut<Replication>| replication.capture(world));
    let input_acks = world.resource::<InputBuffers>().acks();
    world.resource_mut::<Publisher>().publish(Capture {
        tick,
        group,
        state,
        input_acks,
    });
}
