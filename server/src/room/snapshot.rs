//! Snapshot capture on the tick thread.
//!
//! The tick captures one immutable [`WorldSnapshot`] per snapshot tick and publishes it
//! behind an `Arc`: every entity's quantized state and its interest metadata. Everything per client (interest query, diff against what the
//! client holds, priority, encode) happens in the connection writers; the shared pieces
//! they need, entity hashes (summed into checksums) and the interest grid, are built once
//! per snapshot by the first writer that asks, off the tick thread.

use super::ClientId;
use super::input::InputBuffers;
use super::interest::{EntityMeta, InterestGrid};
use super::replication::Replication;
use super::tick_loop::RoomClock;
use bevy_ecs::prelude::*;
use std::sync::{Arc, OnceLock};
use tickcast_shared::{EntityState, NetId, Tick, entity_hash};
use tokio::sync::watch;

/// The replicated state of a room at one tick; immutable once published.
pub struct WorldSnapshot {
    /// When it was captured.
    pub tick: Tick,
    /// Every replicated entity, sorted by `NetId`.
    pub entities: Vec<EntityState>,
    /// `entity_hash` of each entity, same order; computed by the first writer that needs
    /// them, so the tick thread never hashes.
    hashes: OnceLock<Vec<u32>>,
    /// Interest metadata of each entity, same order.
    pub metas: Vec<EntityMeta>,
    input_acks: Vec<(ClientId, u32)>,
    grid: OnceLock<InterestGrid>,
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
        WorldSnapshot {
            tick,
            entities,
            hashes: OnceLock::new(),
            metas,
            input_acks,
            grid: OnceLock::new(),
        }
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
        self.entities.binary_search_by_key(&id, |e| e.id).ok()
    }

    /// The interest grid of this snapshot, built on first use. Every caller must pass
    /// the same radius (a server has one).
    pub fn interest_grid(&self, radius: f32) -> &InterestGrid {
        self.grid.get_or_init(|| InterestGrid::build(&self.metas, radius))
    }
}

/// The sending end of the room's snapshot slot.
#[derive(Resource)]
pub(crate) struct Publisher {
    sender: watch::Sender<Option<Arc<WorldSnapshot>>>,
}

impl Publisher {
    pub(crate) fn new(sender: watch::Sender<Option<Arc<WorldSnapshot>>>) -> Publisher {
        Publisher { sender }
    }
}

/// `TickSystems::Snapshot`: capture the replicated state once and publish it.
pub(crate) fn capture_and_publish(world: &mut World) {
    let tick = world.resource::<RoomClock>().tick;
    let (entities, metas) = world.resource_scope(|world, mut replication: Mut<Replication>| replication.capture(world));
    let input_acks = world.resource::<InputBuffers>().acks();
    let snapshot = WorldSnapshot::new(tick, entities, metas, input_acks);
    world
        .resource::<Publisher>()
        .sender
        .send_replace(Some(Arc::new(snapshot)));
}
