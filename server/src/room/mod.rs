//! A room: one bevy_ecs `World` and `Schedule`, stepped at a fixed rate on its own thread.
//!
//! The room meets the network only at two channels (see `ARCHITECTURE.md`):
//! - its inbox, which connection tasks send into and the tick drains: a bounded `mpsc`
//!   of [`RoomCommand`]s (join, leave) and a bounded, preallocated queue of inputs
//!   ([`InputSender`]);
//! - its snapshot slot, a `watch` holding the latest [`WorldSnapshot`]: latest wins, so a
//!   slow connection skips to the newest snapshot instead of queueing old ones.
//!
//! Each tick runs the chained [`TickSystems`] sets, in this order:
//! 1. `ReceiveInputs`: drain the inbox (joins spawn players, inputs go to `InputBuffers`),
//!    then take each client's next input, in `seq` order, into `ActiveInputs`;
//! 2. `ApplyInputs`: the game turns active inputs into intent on each client's entity;
//! 3. `Simulate`: the game's movement, combat and rules;
//! 4. `Snapshot`: on snapshot ticks, capture the replicated state and publish it.
//!
//! No per-client work happens here: diffing and encoding run in each connection's writer.

mod history;
mod input;
pub mod interest;
mod pool;
mod replication;
mod snapshot;
mod tick_loop;
pub mod view;

pub use history::{History, RewindWindow};
pub use input::{ActiveInputs, Controlled, InputBuffers, InputQueueError, InputSender};
pub use interest::{Relevance, RelevanceRule, ViewerTeam};
pub use pool::TickPool;
pub use replication::{Replicated, Replication, ReplicationRegistry};
pub use snapshot::{ChangeSet, EntityChange, PrepareSettings, Preparer, WorldBody, WorldSnapshot};
pub use tick_loop::{RoomClock, RoomStats, TickSummary};
pub use view::{ClientView, FrameStats, ViewSettings};

use bevy_ecs::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use thiserror::Error;
use tickcast_shared::input::{GameInput, InputField};
use tickcast_shared::{NetId, Schema, Tick};
use tokio::sync::{mpsc, oneshot, watch};

/// A connection's id within its room.
pub type ClientId = u32;

/// The tick's phases, chained in this order every tick.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TickSystems {
    /// Drain the inbox; pick each client's input for this tick.
    ReceiveInputs,
    /// The game applies the picked inputs to entities.
    ApplyInputs,
    /// Game rules.
    Simulate,
    /// Capture and publish, on snapshot ticks.
    Snapshot,
}

/// A game a room can host: it adds its systems and replicated components, and spawns
/// a player entity for each joining client.
pub trait Game: Send + 'static {
    /// The game's name, announced in the `Welcome` schema (e.g. `"arena"`).
    const NAME: &'static str;

    /// The game's input, declared with [`tickcast_shared::game_input!`]: its fields set
    /// the wire form, validation and the `Welcome` schema's input part. Systems read it
    /// with [`ActiveInputs::get`].
    type Input: GameInput;

    /// Adds resources, systems (in [`TickSystems`] sets) and replicated components.
    fn build(self, world: &mut World, schedule: &mut Schedule, replication: &mut ReplicationRegistry);

    /// Spawns the entity a joining client controls; it must carry [`Replicated`].
    fn spawn_player(world: &mut World, client: ClientId, name: &str) -> Entity;
}

/// What connection tasks ask of a room.
#[derive(Debug)]
pub enum RoomCommand {
    /// A client whose connection dropped wants its player back (see
    /// [`RoomCommand::Leave`]: a leaving player stays for the grace period).
    Resume {
        /// The client id of the dropped connection.
        client: ClientId,
        /// The player it controlled, as its resume token names it.
        player: NetId,
        /// Where the room answers.
        reply: oneshot::Sender<Resumed>,
    },
    /// A client finished its handshake.
    Join {
        /// Its id.
        client: ClientId,
        /// Its display name.
        name: String,
        /// Whether it only watches: no player entity, no inputs.
        spectator: bool,
        /// Where the room answers.
        reply: oneshot::Sender<Joined>,
    },
    /// The client's connection ended. Its player stays, standing still, for the room's
    /// resume grace period, then goes.
    Leave {
        /// Who.
        client: ClientId,
        /// The connection's place in the room's capacity: kept while the player is away,
        /// so that its seat is not given to someone else before it can come back.
        place: Place,
    },
}

/// A connection's place in its room's capacity, handed over with its
/// [`RoomCommand::Leave`]. The room holds it while the player is away and lets it go when
/// the player comes back (on a new connection, with a place of its own) or its grace
/// period ends; at once for a spectator, or when the room has no grace period. Opaque
/// here: how places are counted is the registry's business (`rooms::Occupancy`).
pub struct Place {
    /// Held only to be dropped: dropping it gives the place back.
    _held: Box<dyn Send + Sync>,
}

impl Place {
    /// A place that is given back when `held` is dropped.
    pub fn new(held: impl Send + Sync + 'static) -> Place {
        Place { _held: Box::new(held) }
    }
}

impl std::fmt::Debug for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Place")
    }
}

/// The room's answer to a join.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Joined {
    /// The entity the client controls; `None` for a spectator.
    pub player: Option<NetId>,
    /// The room's tick at the join.
    pub tick: Tick,
}

/// The room's answer to a resume.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resumed {
    /// The player is the client's again.
    Yes(Joined),
    /// The client's old connection has not been seen to leave yet: ask again shortly.
    StillConnected,
    /// No such player waits (the grace period is over, or it never existed).
    Gone,
}

/// The part of the room every connection holds.
#[derive(Clone)]
pub struct RoomHandle {
    /// The room's inbox for joins and leaves.
    pub commands: mpsc::Sender<RoomCommand>,
    /// The room's inbox for inputs.
    pub inputs: InputSender,
    /// The latest published snapshot of each snapshot group, and who is in each: one
    /// group, which every snapshot goes to, unless the room staggers its snapshots.
    snapshot_groups: Arc<SnapshotGroups>,
    /// Tick and snapshot rates, for the `Welcome`.
    pub rates: Rates,
    /// Figures the room keeps about itself.
    pub stats: Arc<RoomStats>,
    /// The game's extra relevance rule, for the writers' interest queries.
    pub relevance_rule: Option<RelevanceRule>,
    /// The game's components and input, for the `Welcome`.
    pub schema: Arc<Schema>,
    /// The game's input declaration, which the connections validate inputs against.
    pub input_fields: &'static [InputField],
    /// Writers that see the whole world: the room prepares world bodies while there are
    /// any (see [`RoomHandle::watch_world`]).
    world_viewers: Arc<AtomicUsize>,
}

/// A writer's registration as a whole-world viewer; it ends when dropped.
pub struct WorldViewer(Arc<AtomicUsize>);

impl Drop for WorldViewer {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Where a room's latest snapshot (of one snapshot group) waits for the writers.
pub type SnapshotSlot = watch::Receiver<Option<Arc<WorldSnapshot>>>;

/// Each snapshot group's slot and how many writers wait on it.
struct SnapshotGroups {
    slots: Box<[SnapshotSlot]>,
    members: Box<[AtomicUsize]>,
}

/// A writer's place in a snapshot group; it leaves the group when dropped.
pub struct GroupMembership {
    groups: Arc<SnapshotGroups>,
    group: usize,
}

impl GroupMembership {
    /// The group's index: it is sent the snapshots of the ticks `t` with
    /// `t % ticks_per_snapshot == group`.
    pub fn group(&self) -> usize {
        self.group
    }
}

impl Drop for GroupMembership {
    fn drop(&mut self) {
        self.groups.members[self.group].fetch_sub(1, Ordering::Relaxed);
    }
}

impl RoomHandle {
    /// Puts a new writer in the snapshot group with the fewest writers (the lowest on a
    /// tie), so the groups stay even as clients come and go. Returns the group's slot,
    /// and the membership to hold for as long as the writer waits on it.
    pub fn join_snapshot_group(&self) -> (SnapshotSlot, GroupMembership) {
        let groups = &self.snapshot_groups;
        let group = (0..groups.slots.len())
            .min_by_key(|&group| groups.members[group].load(Ordering::Relaxed))
            .unwrap_or(0);
        groups.members[group].fetch_add(1, Ordering::Relaxed);
        let membership = GroupMembership {
            groups: Arc::clone(groups),
            group,
        };
        (groups.slots[group].clone(), membership)
    }

    /// The slot of snapshot group `group` (for benches and tests: a writer joins a
    /// group with [`RoomHandle::join_snapshot_group`]).
    pub fn snapshot_slot(&self, group: usize) -> SnapshotSlot {
        self.snapshot_groups.slots[group].clone()
    }

    /// The first snapshot group's slot: every snapshot, unless the room staggers them.
    pub fn snapshots(&self) -> SnapshotSlot {
        self.snapshot_slot(0)
    }

    /// Registers a writer that sees the whole world, so that the room prepares the shared
    /// world bodies; hold it while the writer runs.
    pub fn watch_world(&self) -> WorldViewer {
        self.world_viewers.fetch_add(1, Ordering::Relaxed);
        WorldViewer(Arc::clone(&self.world_viewers))
    }

    /// How many snapshot groups the clients are spread over.
    pub fn snapshot_groups(&self) -> usize {
        self.snapshot_groups.slots.len()
    }
}

/// A room's rates.
#[derive(Clone, Copy, Debug)]
pub struct Rates {
    /// Ticks per second.
    pub tick_rate: u32,
    /// Snapshots per second.
    pub snapshot_rate: u32,
}

/// How a room runs.
#[derive(Clone, Debug)]
pub struct RoomSettings {
    /// Ticks and snapshots per second.
    pub rates: Rates,
    /// Inbox capacity: commands, and separately inputs (that queue is allocated whole).
    pub inbox: usize,
    /// Inputs buffered per client.
    pub input_buffer: usize,
    /// Whether the tick thread asks the OS for the highest scheduling priority (nice
    /// -20), so the connection tasks and other processes on the machine cannot delay a
    /// tick. Needs `CAP_SYS_NICE` (or root); without it the room logs why and runs at
    /// normal priority.
    pub raise_priority: bool,
    /// How long a player whose connection dropped waits for its client to resume.
    pub resume_grace: std::time::Duration,
    /// How far back lag compensation may rewind (see [`History`]).
    pub rewind_window: std::time::Duration,
    /// Whether clients are split into one group per tick between snapshots, each group
    /// sent its snapshots on a tick of its own (see [`RoomClock::snapshot_groups`]).
    pub stagger_snapshots: bool,
    /// The writers' interest radius (`None`: every client sees the whole world), for
    /// which each snapshot's interest grid is prepared.
    pub interest_radius: Option<f32>,
    /// Whether bodies carry checksums, as the writers' [`ViewSettings`] say.
    pub checksums: bool,
}

impl RoomSettings {
    /// Settings at the given rates, the rest plain: an inbox of 1 024, 16 buffered inputs
    /// per client, normal priority, no staggering, no resume grace, a 250 ms rewind
    /// window, no interest radius, checksums on. What tests and benches start from
    /// (`RoomSettings { field: .., ..RoomSettings::at_rates(60, 30) }`); a server's come
    /// from its configuration.
    pub fn at_rates(tick_rate: u32, snapshot_rate: u32) -> RoomSettings {
        RoomSettings {
            rates: Rates {
                tick_rate,
                snapshot_rate,
            },
            inbox: 1024,
            input_buffer: 16,
            raise_priority: false,
            stagger_snapshots: false,
            resume_grace: std::time::Duration::ZERO,
            rewind_window: std::time::Duration::from_millis(250),
            interest_radius: None,
            checksums: true,
        }
    }
}

/// Why a room could not start.
#[derive(Debug, Error)]
pub enum RoomError {
    /// The OS refused a thread.
    #[error("spawning the room thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// A room's world and schedule, stepped by whoever owns it: the room thread in a
/// server, or a benchmark directly.
pub struct Simulation {
    /// The ECS world.
    pub world: World,
    /// The tick's systems.
    pub schedule: Schedule,
}

impl Simulation {
    /// Builds the world and schedule for `game`, and the handle connections use.
    pub fn new<G: Game>(game: G, settings: &RoomSettings) -> (Simulation, RoomHandle) {
        let (commands, inbox) = mpsc::channel(settings.inbox);
        let (inputs, input_receiver) = input::input_queue(settings.inbox);
        let clock = RoomClock::new(settings.rates, settings.stagger_snapshots);
        let (slots, snapshot_groups): (Vec<_>, Vec<_>) =
            (0..clock.snapshot_groups).map(|_| watch::channel(None)).unzip();
        let stats = Arc::new(RoomStats::default());
        let mut world = World::new();
        let mut schedule = Schedule::default();
        schedule.configure_sets(
            (
                TickSystems::ReceiveInputs,
                TickSystems::ApplyInputs,
                TickSystems::Simulate,
                TickSystems::Snapshot,
            )
                .chain(),
        );
        let mut registry = ReplicationRegistry::default();
        let rewind_ticks = (settings.rewind_window.as_secs_f64() * f64::from(settings.rates.tick_rate)).ceil() as u32;
        world.insert_resource(RewindWindow(rewind_ticks.max(1)));
        game.build(&mut world, &mut schedule, &mut registry);
        let relevance_rule = registry.rule();
        let schema = Arc::new(Schema {
            game: G::NAME.to_owned(),
            components: registry.schemas().to_vec(),
            input: G::Input::FIELDS.iter().map(InputField::schema).collect(),
        });
        world.insert_resource(Replication::new(registry));
        world.insert_resource(InputBuffers::new(settings.input_buffer, G::Input::FIELDS));
        world.insert_resource(ActiveInputs::default());
        let grace_ticks = (settings.resume_grace.as_secs_f64() * f64::from(settings.rates.tick_rate)).ceil() as u32;
        world.insert_resource(input::Inbox::new(
            inbox,
            input_receiver,
            G::spawn_player,
            Arc::clone(&stats),
            grace_ticks,
        ));
        let prepare = snapshot::PrepareSettings {
            interest_radius: settings.interest_radius,
            checksums: settings.checksums,
            world_body: relevance_rule.is_none(),
        };
        let world_viewers = Arc::new(AtomicUsize::new(0));
        world.insert_resource(snapshot::Publisher::new(slots, prepare, &world_viewers));
        world.insert_resource(clock);
        schedule.add_systems((
            (input::receive_commands, input::advance_inputs)
                .chain()
                .in_set(TickSystems::ReceiveInputs),
            snapshot::capture_and_publish
                .in_set(TickSystems::Snapshot)
                .run_if(tick_loop::is_snapshot_tick),
        ));
        let handle = RoomHandle {
            commands,
            inputs,
            snapshot_groups: Arc::new(SnapshotGroups {
                members: snapshot_groups.iter().map(|_| AtomicUsize::new(0)).collect(),
                slots: snapshot_groups.into(),
            }),
            rates: settings.rates,
            stats,
            relevance_rule,
            schema,
            input_fields: G::Input::FIELDS,
            world_viewers,
        };
        (Simulation { world, schedule }, handle)
    }

    /// Runs one tick and advances the clock.
    pub fn step(&mut self) {
        self.schedule.run(&mut self.world);
        self.world.clear_trackers();
        let mut clock = self.world.resource_mut::<RoomClock>();
        clock.tick = clock.tick.next();
    }

    /// The tick the next [`Simulation::step`] will run.
    pub fn tick(&self) -> Tick {
        self.world.resource::<RoomClock>().tick
    }

    /// Replicated entities right now.
    pub fn replicated_entities(&self) -> usize {
        self.world.resource::<Replication>().len()
    }
}

/// A running room; dropping it stops its ticking after the current tick.
pub struct Room {
    handle: RoomHandle,
    stop: Arc<std::sync::atomic::AtomicBool>,
    runner: Runner,
}

/// Who ticks a room.
enum Runner {
    /// A thread of its own.
    Thread(Option<JoinHandle<()>>),
    /// A worker of a [`TickPool`]; the channel disconnects when the worker drops the room.
    Pool(std::sync::mpsc::Receiver<()>),
}

impl Room {
    /// Builds the world and schedule for `game` and starts ticking on a new thread.
    pub fn start<G: Game>(name: &str, game: G, settings: RoomSettings) -> Result<Room, RoomError> {
        let (ticker, handle) = Room::build(game, &settings);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread = std::thread::Builder::new().name(format!("room-{name}")).spawn({
            let stop = Arc::clone(&stop);
            move || {
                if settings.raise_priority {
                    crate::tuning::raise_thread_priority();
                }
                tick_loop::run(ticker, &stop)
            }
        })?;
        Ok(Room {
            handle,
            stop,
            runner: Runner::Thread(Some(thread)),
        })
    }

    /// Builds the world and schedule for `game` and has `pool` tick it.
    pub fn start_in<G: Game>(pool: &TickPool, game: G, settings: RoomSettings) -> Room {
        let (ticker, handle) = Room::build(game, &settings);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (done, finished) = std::sync::mpsc::channel();
        pool.add(pool::Pooled {
            ticker,
            stop: Arc::clone(&stop),
            _done: done,
        });
        Room {
            handle,
            stop,
            runner: Runner::Pool(finished),
        }
    }

    fn build<G: Game>(game: G, settings: &RoomSettings) -> (tick_loop::Ticker, RoomHandle) {
        let (mut simulation, handle) = Simulation::new(game, settings);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            simulation
                .world
                .resource_mut::<snapshot::Publisher>()
                .relay_through(&runtime);
        }
        let ticker = tick_loop::Ticker::new(simulation, settings.rates, Arc::clone(&handle.stats));
        (ticker, handle)
    }

    /// A handle for connections.
    pub fn handle(&self) -> RoomHandle {
        self.handle.clone()
    }

    /// Stops ticking and waits for the room's last tick to end.
    pub fn stop(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        match &mut self.runner {
            Runner::Thread(thread) => {
                if let Some(thread) = thread.take()
                    && thread.join().is_err()
                {
                    tracing::error!("room thread panicked");
                }
            }
            Runner::Pool(finished) => {
                // Disconnects when the worker drops the room: within a tick period,
                // unless the worker is stuck in another room's tick.
                let _ = finished.recv_timeout(std::time::Duration::from_secs(5));
            }
        }
    }
}

impl Drop for Room {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::{Arena, Map};

    /// An arena room of six drones at 60 ticks and 20 snapshots a second: three ticks
    /// between snapshots.
    fn arena_room(staggered: bool) -> (Simulation, RoomHandle) {
        let settings = RoomSettings {
            inbox: 64,
            stagger_snapshots: staggered,
            ..RoomSettings::at_rates(60, 20)
        };
        let game = Arena {
            map: Map::load("embedded").unwrap(),
            drones: 6,
            seed: 1,
        };
        Simulation::new(game, &settings)
    }

    /// Steps the room nine ticks; returns, per tick, which groups' slots changed, and
    /// checks each published snapshot's tick and the snapshot its changes are against.
    fn publications(simulation: &mut Simulation, slots: &mut [SnapshotSlot]) -> Vec<Vec<usize>> {
        (0..9)
            .map(|_| {
                let tick = simulation.tick();
                simulation.step();
                let mut changed = Vec::new();
                for (group, slot) in slots.iter_mut().enumerate() {
                    if !slot.has_changed().unwrap() {
                        continue;
                    }
                    changed.push(group);
                    let snapshot = slot.borrow_and_update().clone().expect("a snapshot");
                    assert_eq!(snapshot.tick, tick);
                    let since = snapshot.changes().map(|changes| changes.since.0);
                    assert_eq!(
                        since,
                        tick.0.checked_sub(3),
                        "tick {tick}: changes are against the group's previous snapshot"
                    );
                }
                changed
            })
            .collect()
    }

    #[test]
    fn a_staggered_room_publishes_each_tick_to_the_group_whose_turn_it_is() {
        let (mut simulation, handle) = arena_room(true);
        assert_eq!(handle.snapshot_groups(), 3);
        let mut slots: Vec<SnapshotSlot> = (0..3).map(|group| handle.snapshot_slot(group)).collect();
        slots.iter_mut().for_each(|slot| slot.mark_unchanged());
        let changed = publications(&mut simulation, &mut slots);
        let expected: Vec<Vec<usize>> = (0..9).map(|tick| vec![tick % 3]).collect();
        assert_eq!(changed, expected);
    }

    #[test]
    fn writers_join_the_group_with_the_fewest_and_leave_it_when_dropped() {
        let (_simulation, handle) = arena_room(true);
        let join = || {
            let (slot, membership) = handle.join_snapshot_group();
            assert!(slot.same_channel(&handle.snapshot_slot(membership.group())));
            membership
        };
        let mut writers: Vec<GroupMembership> = (0..5).map(|_| join()).collect();
        let groups: Vec<usize> = writers.iter().map(GroupMembership::group).collect();
        assert_eq!(groups, [0, 1, 2, 0, 1], "dealt out in turn while the groups are even");
        // Both writers of group 0 leave: the next two joins refill it, then it goes on
        // in turn.
        writers.retain(|writer| writer.group() != 0);
        writers.extend((0..4).map(|_| join()));
        let refills: Vec<usize> = writers[3..].iter().map(GroupMembership::group).collect();
        assert_eq!(refills, [0, 0, 2, 0]);
    }

    #[test]
    fn an_unstaggered_room_publishes_every_third_tick_to_every_client() {
        let (mut simulation, handle) = arena_room(false);
        assert_eq!(handle.snapshot_groups(), 1);
        assert!(handle.join_snapshot_group().0.same_channel(&handle.snapshots()));
        let mut slots = [handle.snapshots()];
        slots[0].mark_unchanged();
        let changed = publications(&mut simulation, &mut slots);
        let expected: Vec<Vec<usize>> = (0..9)
            .map(|tick| if tick % 3 == 0 { vec![0] } else { vec![] })
            .collect();
        assert_eq!(changed, expected);
    }
}
