//! Snapshots: captured on the tick thread, prepared once off it, then immutable.
//!
//! The tick copies the replicated state once per snapshot tick ([`capture_and_publish`])
//! and hands the copy to a relay task on the connections' runtime. There a
//! [`Preparer`], which keeps the last two snapshots of its snapshot group, turns it into
//! one [`WorldSnapshot`] with everything the writers share, computed eagerly and once:
//! - every entity's quantized state, `NetId`, interest metadata and `entity_hash`;
//! - the interest grid, when the room has an interest radius;
//! - a [`ChangeSet`] against each of the two snapshots before: how each entity changed,
//!   with every changed entity's update encoded once. A writer whose client holds an
//!   entity as of one of those snapshots (in steady state, nearly every client holds
//!   nearly everything as of the previous one) copies those bits instead of diffing and
//!   encoding the entity itself;
//! - `changed_at`: the last snapshot at which each entity changed, so a writer holding an
//!   older copy skips unchanged entities without diffing them;
//! - the [`WorldBody`]s: the whole body for a client that sees the whole world and holds
//!   exactly the previous snapshot's world, plain, and predicted for a client that also
//!   held the world of the snapshot before (each field coded against `previous + motion`,
//!   the motion since that snapshot: a steady mover costs a bit per component). Every
//!   such client is sent the same bytes, with only the frame header its own.
//!
//! Once published behind an `Arc` a snapshot never changes: no lazy cells, and no links
//! to other snapshots (the preparer, not the snapshot, remembers the ones before).

use super::ClientId;
use super::input::InputBuffers;
use super::interest::{EntityMeta, InterestGrid, Relevance};
use super::replication::{CapturedState, Replication};
use super::tick_loop::RoomClock;
use bevy_ecs::prelude::*;
use smallvec::SmallVec;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tickcast_shared::{
    BodyWriter, Coding, EncodedUpdate, EntityDiff, EntityState, FieldDelta, NetId, Tick, diff_entity, entity_hash,
};
use tokio::sync::{mpsc, watch};

/// The replicated state of a room at one tick, and what its writers share; immutable.
pub struct WorldSnapshot {
    /// When it was captured.
    pub tick: Tick,
    /// Every replicated entity, sorted by `NetId`.
    pub entities: Vec<EntityState>,
    /// The `NetId` of each entity, same order: what a writer's merge compares, 4 bytes
    /// apiece instead of a cache line of `EntityState` each (1 000 writers a snapshot
    /// each reading ~70 scattered ids was a cache miss apiece).
    pub ids: Vec<NetId>,
    /// `entity_hash` of each entity, same order.
    pub hashes: Vec<u32>,
    /// Interest metadata of each entity, same order.
    pub metas: Vec<EntityMeta>,
    /// Per entity, the last snapshot tick at which its state differed from the snapshot
    /// before (or it appeared): a client holding it as of that tick or later holds its
    /// current state.
    pub changed_at: Vec<Tick>,
    /// Entities any client can see (all but [`Relevance::Hidden`]).
    pub visible: usize,
    input_acks: Vec<(ClientId, u32)>,
    grid: Option<InterestGrid>,
    /// Changes since the previous snapshot, then since the one before it.
    changes: [Option<ChangeSet>; 2],
    /// The plain world body, then the predicted one.
    world_bodies: [Option<WorldBody>; 2],
}

/// How each entity of a snapshot changed since an earlier snapshot.
#[derive(Debug)]
pub struct ChangeSet {
    /// Tick of the earlier snapshot.
    pub since: Tick,
    /// Per entity, in `entities` order.
    pub entities: Vec<EntityChange>,
    /// The bytes of every [`EntityChange::Update`]'s encoding.
    pub encoded: Vec<u8>,
}

/// How one entity changed since an earlier snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntityChange {
    /// It was not in the earlier snapshot, or its set of components changed.
    New,
    /// Identical.
    Same,
    /// Some fields changed: the update from the earlier state, encoded.
    Update {
        /// Where in [`ChangeSet::encoded`].
        encoded: EncodedUpdate,
        /// Bit length of the summed absolute field deltas (the size of the change).
        magnitude_bits: u8,
    },
}

/// The body for every client that sees the whole world and holds exactly the previous
/// snapshot's visible entities: despawns, updates and spawns, with the checksum of the
/// whole visible world.
#[derive(Debug)]
pub struct WorldBody {
    /// Tick of the snapshot the body applies to.
    pub since: Tick,
    /// For a predicted body, the tick of the snapshot whose world the client held in the
    /// frame before (its motion runs from there to `since`); `None` for a plain body,
    /// whose updates are copied from the [`ChangeSet`].
    pub base: Option<Tick>,
    /// The body: empty when nothing changed (no checksum then, as in every body).
    pub body: Vec<u8>,
    /// Whether the body carries the checksum.
    pub checksummed: bool,
    /// Sum of the visible entities' hashes: what the client holds after applying it.
    pub checksum: u32,
    /// Entities it spawns, updates or despawns.
    pub entities_sent: usize,
}

impl WorldSnapshot {
    /// A snapshot of `entities` (sorted by `NetId`) with nothing before it: no change
    /// sets, no world body and no interest grid. A room's snapshots come from a
    /// [`Preparer`].
    pub fn new(
        tick: Tick,
        entities: Vec<EntityState>,
        metas: Vec<EntityMeta>,
        input_acks: Vec<(ClientId, u32)>,
    ) -> Self {
        debug_assert_eq!(entities.len(), metas.len());
        WorldSnapshot {
            tick,
            ids: entities.iter().map(|entity| entity.id).collect(),
            hashes: entities.iter().map(entity_hash).collect(),
            grid: None,
            visible: metas.iter().filter(|meta| is_visible(meta)).count(),
            changed_at: vec![tick; entities.len()],
            entities,
            metas,
            input_acks,
            changes: [None, None],
            world_bodies: [None, None],
        }
    }

    /// The changes since the snapshot of tick `since`, if it is one of the two before.
    pub fn changes_since(&self, since: Tick) -> Option<&ChangeSet> {
        self.changes.iter().flatten().find(|set| set.since == since)
    }

    /// The changes since the previous snapshot, if there was one.
    pub fn changes(&self) -> Option<&ChangeSet> {
        self.changes[0].as_ref()
    }

    /// The plain body shared by every whole-world client in step with the previous
    /// snapshot, when the room prepares one (it does unless a game rule makes views
    /// differ).
    pub fn world_body(&self) -> Option<&WorldBody> {
        self.world_bodies[0].as_ref()
    }

    /// The predicted body shared by every whole-world client in step with the previous
    /// snapshot that was in step with the one before too, when there is one.
    pub fn predicted_world_body(&self) -> Option<&WorldBody> {
        self.world_bodies[1].as_ref()
    }

    /// The last input `seq` the room applied for `client` by this tick.
    pub fn input_ack(&self, client: ClientId) -> Option<u32> {
        self.input_acks
            .binary_search_by_key(&client, |(c, _)| *c)
            .ok()
            .map(|at| self.input_acks[at].1)
    }

    /// Position of entity `id` in `entities`.
    pub fn index_of(&self, id: NetId) -> Option<usize> {
        self.ids.binary_search(&id).ok()
    }

    /// The interest grid; `None` when the room has no interest radius.
    pub fn interest_grid(&self) -> Option<&InterestGrid> {
        self.grid.as_ref()
    }
}

/// What a [`Preparer`] builds besides the states.
#[derive(Clone, Copy, Debug, Default)]
pub struct PrepareSettings {
    /// The room's interest radius: the grid is built for it.
    pub interest_radius: Option<f32>,
    /// Whether bodies carry checksums (the world body must match the writers').
    pub checksums: bool,
    /// Whether to build the [`WorldBody`]: not when a game's relevance rule makes
    /// whole-world views differ from client to client.
    pub world_body: bool,
}

/// Prepares one snapshot group's snapshots, in order, remembering the last two.
pub struct Preparer {
    settings: PrepareSettings,
    /// The last snapshot prepared, and the one before it.
    history: [Option<Arc<WorldSnapshot>>; 2],
    /// How many writers see the whole world, if the room counts them: world bodies are
    /// built only while some do (a room where every client has an area of interest
    /// would never send one).
    world_viewers: Option<Arc<AtomicUsize>>,
}

impl Preparer {
    /// A preparer with no snapshots yet.
    pub fn new(settings: PrepareSettings) -> Preparer {
        Preparer {
            settings,
            history: [None, None],
            world_viewers: None,
        }
    }

    /// A preparer that builds world bodies only while `viewers` is above zero.
    pub fn counting(settings: PrepareSettings, viewers: Arc<AtomicUsize>) -> Preparer {
        Preparer {
            world_viewers: Some(viewers),
            ..Preparer::new(settings)
        }
    }

    /// Prepares the snapshot of `entities` (sorted by `NetId`) at `tick`, which must
    /// follow the last one prepared.
    pub fn prepare(
        &mut self,
        tick: Tick,
        entities: Vec<EntityState>,
        metas: Vec<EntityMeta>,
        input_acks: Vec<(ClientId, u32)>,
    ) -> Arc<WorldSnapshot> {
        let mut snapshot = WorldSnapshot::new(tick, entities, metas, input_acks);
        snapshot.grid = self
            .settings
            .interest_radius
            .map(|radius| InterestGrid::build(&snapshot.metas, radius));
        let [previous, two_back] = &self.history;
        let mut changed_at = Vec::with_capacity(snapshot.entities.len());
        snapshot.changes[0] = previous.as_ref().map(|previous| {
            ChangeSet::between(previous, &snapshot, |change, at| {
                changed_at.push(match (change, at) {
                    (EntityChange::Same, Some(at)) => previous.changed_at[at],
                    _ => tick,
                });
            })
        });
        if previous.is_some() {
            snapshot.changed_at = changed_at;
        }
        snapshot.changes[1] = two_back
            .as_ref()
            .map(|older| ChangeSet::between(older, &snapshot, |_, _| {}));
        let watched = self
            .world_viewers
            .as_ref()
            .is_none_or(|viewers| viewers.load(Ordering::Relaxed) > 0);
        if self.settings.world_body
            && watched
            && let (Some(previous), Some(changes)) = (previous, &snapshot.changes[0])
        {
            let checksums = self.settings.checksums;
            snapshot.world_bodies = [
                Some(WorldBody::between(previous, &snapshot, changes, None, checksums)),
                two_back
                    .as_ref()
                    .map(|base| WorldBody::between(previous, &snapshot, changes, Some(base), checksums)),
            ];
        }
        let snapshot = Arc::new(snapshot);
        self.history = [Some(Arc::clone(&snapshot)), self.history[0].take()];
        snapshot
    }
}

/// Whether any client can see an entity with this metadata.
pub(crate) fn is_visible(meta: &EntityMeta) -> bool {
    meta.relevance != Relevance::Hidden
}

impl ChangeSet {
    /// Compares `current` with `older` entity by entity (both sorted by `NetId`),
    /// encoding each update; calls `each` with every entity's change, in `current`
    /// order, and the entity's index in `older` if it is there.
    fn between(
        older: &WorldSnapshot,
        current: &WorldSnapshot,
        mut each: impl FnMut(EntityChange, Option<usize>),
    ) -> ChangeSet {
        let mut encoded = Vec::new();
        let mut entities = Vec::with_capacity(current.entities.len());
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
                    encoded: EncodedUpdate::append(&mut encoded, &update, before),
                    magnitude_bits: update.magnitude_bits(),
                },
            };
            each(change, before.map(|_| at));
            entities.push(change);
        }
        ChangeSet {
            since: older.tick,
            entities,
            encoded,
        }
    }
}

impl WorldBody {
    /// The body taking a client from `previous`'s visible world to `current`'s: plain, or
    /// predicted for a client that held `base`'s world in the frame before.
    fn between(
        previous: &WorldSnapshot,
        current: &WorldSnapshot,
        changes: &ChangeSet,
        base: Option<&WorldSnapshot>,
        checksums: bool,
    ) -> WorldBody {
        let mut despawns = Vec::new();
        let mut updates = Vec::new();
        let mut spawns = Vec::new();
        let mut checksum = 0u32;
        let mut at = 0;
        for (index, id) in current.ids.iter().enumerate() {
            while at < previous.ids.len() && previous.ids[at] < *id {
                if is_visible(&previous.metas[at]) {
                    despawns.push(previous.ids[at]);
                }
                at += 1;
            }
            let held = at < previous.ids.len() && previous.ids[at] == *id && is_visible(&previous.metas[at]);
            if held {
                at += 1;
            }
            if !is_visible(&current.metas[index]) {
                if held {
                    despawns.push(*id);
                }
                continue;
            }
            checksum = checksum.wrapping_add(current.hashes[index]);
            match changes.entities[index] {
                EntityChange::Same if held => {}
                EntityChange::Update { encoded, .. } if held => updates.push((*id, encoded, at - 1, index)),
                // New, or held by no whole-world client (it was hidden).
                _ => spawns.push(index),
            }
        }
        despawns.extend(
            previous.ids[at..]
                .iter()
                .zip(&previous.metas[at..])
                .filter(|(_, meta)| is_visible(meta))
                .map(|(id, _)| *id),
        );
        let entities_sent = despawns.len() + updates.len() + spawns.len();
        let body = if entities_sent == 0 {
            Vec::new()
        } else {
            let coding = if base.is_some() {
                Coding::Predicted
            } else {
                Coding::Plain
            };
            let sum = checksums.then_some(checksum);
            let mut writer = BodyWriter::new(Vec::new(), sum, coding, &despawns, updates.len());
            let mut motion = SmallVec::<[FieldDelta; 4]>::new();
            let mut cursor = 0;
            for (id, encoded, at, index) in updates {
                match base {
                    None => writer.encoded_update(id, encoded, &changes.encoded),
                    Some(base) => {
                        let held = &previous.entities[at];
                        let moved = motion_since(base, &mut cursor, held, &previous.metas[at], &mut motion);
                        writer.predicted_update(held, moved.then_some(&motion[..]), &current.entities[index]);
                    }
                }
            }
            writer.finish(spawns.iter().map(|&index| &current.entities[index]))
        };
        WorldBody {
            since: previous.tick,
            base: base.map(|base| base.tick),
            body,
            checksummed: checksums,
            checksum,
            entities_sent,
        }
    }
}

/// The motion of `held` (an entity of the previous snapshot) that a client in step
/// with `base` and then with the previous snapshot remembers: the changes its last
/// frame's update made, into `motion` (sorted by component and field, as that frame's
/// delta lists them). `false` (no motion) when that client did not hold the entity as it
/// was in `base`: it was absent or hidden there, or its shape differed (the client was
/// sent it whole, which leaves no motion). Called in ascending `NetId` order, with
/// `cursor` (into `base`) carried from call to call.
fn motion_since(
    base: &WorldSnapshot,
    cursor: &mut usize,
    held: &EntityState,
    meta: &EntityMeta,
    motion: &mut SmallVec<[FieldDelta; 4]>,
) -> bool {
    motion.clear();
    while *cursor < base.ids.len() && base.ids[*cursor] < held.id {
        *cursor += 1;
    }
    if base.ids.get(*cursor) != Some(&held.id) {
        return false;
    }
    let (before, before_meta) = (&base.entities[*cursor], &base.metas[*cursor]);
    if !is_visible(before_meta) || !is_visible(meta) || matches!(diff_entity(before, held), EntityDiff::Replace) {
        return false;
    }
    for (component, (old, new)) in before.components.iter().zip(&held.components).enumerate() {
        for (field, (old, new)) in old.fields.iter().zip(&new.fields).enumerate() {
            let delta = new.wrapping_sub(*old);
            if delta != 0 {
                motion.push(FieldDelta {
                    component: component as u8,
                    field: field as u8,
                    delta,
                });
            }
        }
    }
    true
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

/// The sending end of the room's snapshot slots, one per snapshot group.
#[derive(Resource)]
pub(crate) struct Publisher {
    outlet: Outlet,
}

/// Each snapshot group's slot and preparer: a group's snapshots (and the changes its
/// writers share) run from one of its snapshots to its next.
struct Groups {
    slots: Vec<watch::Sender<Option<Arc<WorldSnapshot>>>>,
    preparers: Vec<Preparer>,
}

impl Groups {
    /// Quantizes and prepares `capture`, and puts it in its group's slot.
    fn publish(&mut self, capture: Capture) {
        let group = capture.group;
        let (entities, metas) = capture.state.quantize();
        let snapshot = self.preparers[group].prepare(capture.tick, entities, metas, capture.input_acks);
        self.slots[group].send_replace(Some(snapshot));
    }
}

/// Where [`Publisher`] puts each snapshot.
enum Outlet {
    /// Quantized and put straight into the group's slot, on the calling thread (a
    /// simulation stepped by hand: benches and tests see each snapshot as soon as `step`
    /// returns).
    Direct(Groups),
    /// To a task on the connections' runtime, which quantizes and prepares the capture
    /// and puts the snapshot in the slot. Doing that there takes most of a capture's cost
    /// off the tick thread. And replacing the slot wakes every connection's writer: a wake from
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
    /// A publisher into `slots`, one per snapshot group, preparing each as `settings` say
    /// (world bodies while `world_viewers` is above zero).
    pub(crate) fn new(
        slots: Vec<watch::Sender<Option<Arc<WorldSnapshot>>>>,
        settings: PrepareSettings,
        world_viewers: &Arc<AtomicUsize>,
    ) -> Publisher {
        let preparers = slots
            .iter()
            .map(|_| Preparer::counting(settings, Arc::clone(world_viewers)))
            .collect();
        Publisher {
            outlet: Outlet::Direct(Groups { slots, preparers }),
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
