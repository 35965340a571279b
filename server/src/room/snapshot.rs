//! Snapshot capture on the tick thread, and encode-once bodies for the writers.
//!
//! The tick captures one immutable [`WorldSnapshot`] per snapshot tick and publishes it
//! behind an `Arc`. Connection writers diff it against the last snapshot they sent; the
//! encoded body is cached on the snapshot by baseline tick, so every client that is
//! caught up (the common case) shares one diff and one encode. Only the few-byte header
//! (tick, baseline, input ack) is written per client.

use super::ClientId;
use super::input::InputBuffers;
use super::replication::Replication;
use super::tick_loop::RoomClock;
use bevy_ecs::prelude::*;
use smallvec::SmallVec;
use std::sync::{Arc, Mutex, OnceLock};
use tickcast_shared::{EntityState, SnapshotBody, Tick, checksum, diff};
use tokio::sync::watch;

/// Cached encoded bodies, keyed by the baseline tick they were diffed against.
type BodyCache = SmallVec<[(Option<Tick>, Arc<OnceLock<Arc<[u8]>>>); 4]>;

/// The replicated state of a room at one tick; immutable once published.
pub struct WorldSnapshot {
    /// When it was captured.
    pub tick: Tick,
    /// Every replicated entity, sorted by `NetId`.
    pub entities: Vec<EntityState>,
    /// Checksum of `entities`, when checksums are on.
    pub checksum: Option<u32>,
    input_acks: Vec<(ClientId, u32)>,
    bodies: Mutex<BodyCache>,
}

impl WorldSnapshot {
    /// A snapshot of `entities` at `tick`.
    pub fn new(
        tick: Tick,
        entities: Vec<EntityState>,
        checksum: Option<u32>,
        input_acks: Vec<(ClientId, u32)>,
    ) -> Self {
        WorldSnapshot {
            tick,
            entities,
            checksum,
            input_acks,
            bodies: Mutex::new(SmallVec::new()),
        }
    }

    /// The last input `seq` the room applied for `client` by this tick.
    pub fn input_ack(&self, client: ClientId) -> Option<u32> {
        self.input_acks
            .binary_search_by_key(&client, |(c, _)| *c)
            .ok()
            .map(|at| self.input_acks[at].1)
    }

    /// The encoded [`SnapshotBody`] taking a client from `baseline` (or from nothing) to
    /// this snapshot. Computed once per distinct baseline, however many clients ask.
    pub fn body_against(&self, baseline: Option<&WorldSnapshot>) -> Arc<[u8]> {
        let key = baseline.map(|b| b.tick);
        let cell = {
            let mut bodies = self.bodies.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            match bodies.iter().find(|(tick, _)| *tick == key) {
                Some((_, cell)) => Arc::clone(cell),
                None => {
                    let cell = Arc::new(OnceLock::new());
                    bodies.push((key, Arc::clone(&cell)));
                    cell
                }
            }
        };
        Arc::clone(cell.get_or_init(|| {
            let baseline = baseline.map_or(&[][..], |b| &b.entities[..]);
            let body = SnapshotBody {
                checksum: self.checksum,
                delta: diff(baseline, &self.entities),
            };
            let mut bytes = Vec::with_capacity(64);
            body.encode_into(&mut bytes)
                .expect("a snapshot body of integers always encodes into a Vec");
            bytes.into()
        }))
    }

    /// How many distinct bodies were encoded for this snapshot (tests use it to show
    /// that caught-up clients share one).
    pub fn bodies_encoded(&self) -> usize {
        self.bodies.lock().map_or(0, |bodies| bodies.len())
    }
}

/// The sending end of the room's snapshot slot.
#[derive(Resource)]
pub(crate) struct Publisher {
    sender: watch::Sender<Option<Arc<WorldSnapshot>>>,
    checksums: bool,
}

impl Publisher {
    pub(crate) fn new(sender: watch::Sender<Option<Arc<WorldSnapshot>>>, checksums: bool) -> Publisher {
        Publisher { sender, checksums }
    }
}

/// `TickSystems::Snapshot`: capture the replicated state once and publish it.
pub(crate) fn capture_and_publish(world: &mut World) {
    let tick = world.resource::<RoomClock>().tick;
    let entities = world.resource_scope(|world, mut replication: Mut<Replication>| replication.capture(world));
    let input_acks = world.resource::<InputBuffers>().acks();
    let publisher = world.resource::<Publisher>();
    let checksum = publisher.checksums.then(|| checksum(&entities));
    let snapshot = WorldSnapshot::new(tick, entities, checksum, input_acks);
    publisher.sender.send_replace(Some(Arc::new(snapshot)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickcast_shared::{ClientMirror, NetId, ServerMsg, SnapshotFrame};

    fn entity(index: u32, x: i32) -> EntityState {
        EntityState {
            id: NetId::from_parts(index, 1),
            components: [tickcast_shared::ComponentState {
                kind: tickcast_shared::ComponentKind(0),
                fields: [x].into_iter().collect(),
            }]
            .into_iter()
            .collect(),
        }
    }

    fn snapshot(tick: u32, entities: Vec<EntityState>) -> WorldSnapshot {
        let sum = checksum(&entities);
        WorldSnapshot::new(Tick(tick), entities, Some(sum), vec![(3, 10), (7, 11)])
    }

    #[test]
    fn bodies_are_encoded_once_per_baseline_and_apply_cleanly() {
        let first = snapshot(2, vec![entity(0, 1), entity(1, 1)]);
        let second = snapshot(4, vec![entity(0, 2), entity(2, 5)]);
        let shared = second.body_against(Some(&first));
        let again = second.body_against(Some(&first));
        assert!(
            Arc::ptr_eq(&shared, &again),
            "same baseline must share one encoded body"
        );
        let full = second.body_against(None);
        assert_eq!(second.bodies_encoded(), 2);

        let mut mirror = ClientMirror::new();
        let frame = |tick, baseline, body: &Arc<[u8]>| SnapshotFrame {
            tick,
            baseline,
            input_ack: None,
            body: body.to_vec(),
        };
        mirror
            .apply_frame(&frame(first.tick, None, &first.body_against(None)))
            .unwrap();
        let applied = mirror
            .apply_frame(&frame(second.tick, Some(first.tick), &shared))
            .unwrap();
        assert!(applied.checksum_verified);
        let mut fresh = ClientMirror::new();
        assert!(
            fresh
                .apply_frame(&frame(second.tick, None, &full))
                .unwrap()
                .checksum_verified
        );
        let mut wire = Vec::new();
        ServerMsg::encode_snapshot_into(second.tick, None, second.input_ack(7), &full, &mut wire).unwrap();
        let ServerMsg::Snapshot(decoded) = ServerMsg::decode(&wire).unwrap() else {
            panic!("not a snapshot")
        };
        assert_eq!(decoded.input_ack, Some(11));
        assert_eq!(second.input_ack(5), None);
    }
}
