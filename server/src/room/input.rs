//! The room's inbox and per-client input buffers.
//!
//! The inbox has two bounded queues: a tokio `mpsc` of [`RoomCommand`]s (joins and
//! leaves, rare, and sent with backpressure) and the input queue, which carries every
//! validated input and is allocated once, up front, so that forwarding an input never
//! allocates (see [`InputSender`]).
//!
//! Connections send validated inputs as they arrive; the tick applies them one per tick
//! per client, in `seq` order, so a burst after a network hiccup replays at the tick rate
//! instead of teleporting the player. A client that stops sending keeps its last input
//! (the usual "hold" rule). Late or duplicate inputs are dropped, and a buffer that
//! overflows drops its oldest input: both are counted.
//!
//! The buffer absorbs jitter, but a client that got ahead once (a burst after a stall,
//! or its clock against the room's) would otherwise keep that lead as a standing delay:
//! sending and applying at the same rate, its queue never drains. So when a client has
//! had inputs waiting after every tick of a [`STANDING_WINDOW_TICKS`] window, its oldest
//! waiting input is folded into the next one (its bit-set fields, the held buttons,
//! carried over, so a shot is never lost) and both are consumed in one tick. A client that batches inputs
//! (several per write) empties its queue between writes and is never folded.

use super::tick_loop::RoomStats;
use super::{ClientId, Joined, Place, Replicated, Replication, Resumed, RoomCommand, tick_loop::RoomClock};
use bevy_ecs::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use thiserror::Error;
use tickcast_shared::Tick;
use tickcast_shared::input::{GameInput, Input, InputField};
use tokio::sync::mpsc;

/// Marks the entity a client controls.
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Controlled(pub ClientId);

/// The connections' end of the room's input queue.
///
/// Inputs are nearly every message a room receives, so they have a queue of their own:
/// two vectors allocated whole when the room starts (a slot is 32 bytes: 2 MiB each at
/// the default `room_inbox` of 65 536) and swapped each tick, so queuing never allocates.
/// tokio's `mpsc` would not do: it allocates a fresh 32-message block whenever more than
/// three blocks' worth wait between two ticks, which with a thousand clients is one
/// allocation per 32 inputs.
///
/// Nor would a lock-free array queue (`std::sync::mpsc::sync_channel`, crossbeam's):
/// a sender claims a slot and then writes it, and a receiver that finds a claimed slot
/// not yet written spins until it is. The tick thread runs at real-time priority, so
/// when the claiming connection task was preempted on the tick's own core, the tick
/// spun (its yields give way to no ordinary thread) until the load balancer moved the
/// sender: ticks of 90 to 200 ms in the 1 000-bot swarm. Behind a mutex the tick
/// *sleeps* if a preempted sender holds the lock, and the sender runs at once.
#[derive(Clone, Debug)]
pub struct InputSender(Arc<InputQueue>);

/// What [`InputSender`] and [`InputReceiver`] share.
#[derive(Debug)]
struct InputQueue {
    /// Inputs waiting for the next tick; never longer than `capacity`.
    waiting: Mutex<Vec<(ClientId, Input)>>,
    capacity: usize,
    /// Set when the room's end is dropped.
    stopped: AtomicBool,
}

/// Why an input could not be queued for the room.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum InputQueueError {
    /// The queue is full (the tick has fallen behind); the input is dropped.
    #[error("the room's input queue is full")]
    Full,
    /// The room has stopped.
    #[error("the room has stopped")]
    Stopped,
}

impl InputSender {
    /// Queues one validated input from `client` without waiting for the tick or
    /// allocating.
    pub fn try_send(&self, client: ClientId, input: Input) -> Result<(), InputQueueError> {
        if self.0.stopped.load(Ordering::Acquire) {
            return Err(InputQueueError::Stopped);
        }
        let mut waiting = self.0.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        if waiting.len() >= self.0.capacity {
            return Err(InputQueueError::Full);
        }
        waiting.push((client, input));
        Ok(())
    }
}

/// The room's end of the input queue.
#[derive(Debug)]
pub(crate) struct InputReceiver {
    queue: Arc<InputQueue>,
    /// The inputs taken by the last [`InputReceiver::take_waiting`]; its allocation is
    /// swapped back into the queue by the next one.
    taken: Vec<(ClientId, Input)>,
}

impl InputReceiver {
    /// Takes every input waiting (at most the queue's capacity), oldest first.
    fn take_waiting(&mut self) -> std::vec::Drain<'_, (ClientId, Input)> {
        self.taken.clear();
        {
            let mut waiting = self.queue.waiting.lock().unwrap_or_else(PoisonError::into_inner);
            std::mem::swap(&mut *waiting, &mut self.taken);
        }
        self.taken.drain(..)
    }
}

impl Drop for InputReceiver {
    fn drop(&mut self) {
        self.queue.stopped.store(true, Ordering::Release);
    }
}

/// A queue for up to `capacity` inputs (at least one).
pub(crate) fn input_queue(capacity: usize) -> (InputSender, InputReceiver) {
    let capacity = capacity.max(1);
    let queue = Arc::new(InputQueue {
        waiting: Mutex::new(Vec::with_capacity(capacity)),
        capacity,
        stopped: AtomicBool::new(false),
    });
    let receiver = InputReceiver {
        queue: Arc::clone(&queue),
        taken: Vec::with_capacity(capacity),
    };
    (InputSender(queue), receiver)
}

/// The room's ends of the inbox.
#[derive(Resource)]
pub(crate) struct Inbox {
    receiver: mpsc::Receiver<RoomCommand>,
    inputs: InputReceiver,
    spawn_player: fn(&mut World, ClientId, &str) -> Entity,
    /// Players of connected clients.
    players: FxHashMap<ClientId, Entity>,
    /// Connected spectators: clients without a player.
    spectators: FxHashSet<ClientId>,
    /// Players whose connection dropped, kept until the tick given for their client to
    /// resume; their input buffers stay, so acks continue from the last applied input.
    /// Each holds the place its connection had in the room's capacity, so the seat stays
    /// theirs (see [`Place`]).
    away: FxHashMap<ClientId, (Entity, Tick, Place)>,
    /// How long an away player waits, in ticks (0: players leave with their connection).
    grace_ticks: u32,
    stats: Arc<RoomStats>,
}

impl Inbox {
    pub(crate) fn new(
        receiver: mpsc::Receiver<RoomCommand>,
        inputs: InputReceiver,
        spawn_player: fn(&mut World, ClientId, &str) -> Entity,
        stats: Arc<RoomStats>,
        grace_ticks: u32,
    ) -> Inbox {
        Inbox {
            receiver,
            inputs,
            spawn_player,
            players: FxHashMap::default(),
            spectators: Default::default(),
            away: FxHashMap::default(),
            grace_ticks,
            stats,
        }
    }

    /// Removes `client`'s player and input state for good.
    fn remove(world: &mut World, client: ClientId, entity: Entity) {
        world.despawn(entity);
        world.resource_mut::<InputBuffers>().clients.remove(&client);
        world.resource_mut::<ActiveInputs>().0.remove(&client);
    }
}

/// `TickSystems::ReceiveInputs`: drains the inbox, joins and leaves first, then inputs
/// (an input from a client that has left is ignored). Bounded per tick by each queue's
/// capacity, so a flood cannot stall the tick for longer than one inbox's worth.
pub(crate) fn receive_commands(world: &mut World) {
    world.resource_scope(|world, mut inbox: Mut<Inbox>| {
        let budget = inbox.receiver.max_capacity();
        // Polled with a waker that does nothing, not `try_recv`: when a connection task has
        // begun a send and been preempted before finishing it, `try_recv` parks the calling
        // thread until that task runs again, and the tick must not wait on a connection.
        // A poll sees the command as not there yet; the next tick takes it.
        let mut context = Context::from_waker(Waker::noop());
        for _ in 0..budget {
            let Poll::Ready(Some(command)) = inbox.receiver.poll_recv(&mut context) else {
                break;
            };
            match command {
                RoomCommand::Join {
                    client,
                    name,
                    spectator: true,
                    reply,
                } => {
                    inbox.spectators.insert(client);
                    inbox.stats.spectators.store(inbox.spectators.len(), Ordering::Relaxed);
                    let tick = world.resource::<RoomClock>().tick;
                    let _ = reply.send(Joined { player: None, tick });
                    tracing::debug!(client, name, "spectator joined");
                }
                RoomCommand::Join {
                    client,
                    name,
                    spectator: false,
                    reply,
                } => {
                    let entity = (inbox.spawn_player)(world, client, &name);
                    world.entity_mut(entity).insert(Controlled(client));
                    let player = Replication::assign(world, entity);
                    world.resource_mut::<InputBuffers>().clients.entry(client).or_default();
                    inbox.players.insert(client, entity);
                    inbox.stats.clients.store(inbox.players.len(), Ordering::Relaxed);
                    let tick = world.resource::<RoomClock>().tick;
                    // The connection may have gone already; its Leave follows.
                    let _ = reply.send(Joined {
                        player: Some(player),
                        tick,
                    });
                    tracing::debug!(client, name, "player joined");
                }
                RoomCommand::Leave { client, place } => {
                    if inbox.spectators.remove(&client) {
                        inbox.stats.spectators.store(inbox.spectators.len(), Ordering::Relaxed);
                        continue;
                    }
                    let Some(entity) = inbox.players.remove(&client) else {
                        continue;
                    };
                    if inbox.grace_ticks == 0 {
                        Inbox::remove(world, client, entity);
                    } else {
                        // The player stands still (no input is held for it) and waits.
                        let until = world
                            .resource::<RoomClock>()
                            .tick
                            .offset(inbox.grace_ticks.min(i32::MAX as u32) as i32);
                        world.resource_mut::<ActiveInputs>().0.remove(&client);
                        if let Some(buffer) = world.resource_mut::<InputBuffers>().clients.get_mut(&client) {
                            buffer.pending.clear();
                        }
                        inbox.away.insert(client, (entity, until, place));
                    }
                    inbox.stats.clients.store(inbox.players.len(), Ordering::Relaxed);
                    tracing::debug!(client, "player left");
                }
                RoomCommand::Resume { client, player, reply } => {
                    let answer = match inbox.away.get(&client) {
                        Some(&(entity, _, _))
                            if world.get::<Replicated>(entity).and_then(Replicated::net_id) == Some(player) =>
                        {
                            // Its new connection holds a place of its own: the old one goes.
                            inbox.away.remove(&client);
                            inbox.players.insert(client, entity);
                            inbox.stats.clients.store(inbox.players.len(), Ordering::Relaxed);
                            let tick = world.resource::<RoomClock>().tick;
                            tracing::debug!(client, "player resumed");
                            Resumed::Yes(Joined {
                                player: Some(player),
                                tick,
                            })
                        }
                        Some(_) => Resumed::Gone,
                        None if inbox.players.contains_key(&client) => Resumed::StillConnected,
                        None => Resumed::Gone,
                    };
                    let _ = reply.send(answer);
                }
            }
        }
        // Players whose grace period ran out go now.
        let now = world.resource::<RoomClock>().tick;
        let expired: Vec<ClientId> = inbox
            .away
            .iter()
            .filter(|(_, (_, until, _))| !until.is_after(now))
            .map(|(client, _)| *client)
            .collect();
        for client in expired {
            if let Some((entity, _, _place)) = inbox.away.remove(&client) {
                // The seat is given back as `_place` drops.
                Inbox::remove(world, client, entity);
                tracing::debug!(client, "away player removed after the grace period");
            }
        }
        let mut buffers = world.resource_mut::<InputBuffers>();
        let inbox = &mut *inbox;
        for (client, input) in inbox.inputs.take_waiting() {
            // An away player stands still: inputs its old connection sent before it
            // dropped, drained in the same tick as its departure, are not applied.
            if !inbox.away.contains_key(&client) {
                buffers.push(client, input);
            }
        }
        inbox.stats.inputs_folded.store(buffers.folded, Ordering::Relaxed);
    });
}

/// Inputs received but not applied yet, per client.
#[derive(Resource, Debug)]
pub struct InputBuffers {
    clients: FxHashMap<ClientId, ClientInputs>,
    capacity: usize,
    /// The game's input declaration: how a skipped input folds into the next.
    fields: &'static [InputField],
    /// Inputs dropped because they were older than one already applied or duplicated.
    pub dropped_late: u64,
    /// Inputs dropped because the client's buffer was full.
    pub dropped_overflow: u64,
    /// Inputs folded into the next one to remove a standing delay.
    pub folded: u64,
}

/// Ticks over which a client's fewest waiting inputs must stay above zero before one is
/// folded away: half a second at 60 Hz.
pub const STANDING_WINDOW_TICKS: u16 = 30;

#[derive(Debug)]
struct ClientInputs {
    pending: VecDeque<Input>,
    last_applied: Option<u32>,
    /// Fewest inputs left waiting after a tick, in the current window.
    fewest_waiting: usize,
    /// Ticks into the current window.
    window_ticks: u16,
}

impl Default for ClientInputs {
    fn default() -> ClientInputs {
        ClientInputs {
            pending: VecDeque::new(),
            last_applied: None,
            fewest_waiting: usize::MAX,
            window_ticks: 0,
        }
    }
}

/// Whether `seq` comes after `other` in wrapping order.
fn seq_after(seq: u32, other: u32) -> bool {
    (seq.wrapping_sub(other) as i32) > 0
}

impl InputBuffers {
    /// Buffers with room for `capacity` pending inputs per client, of the game input
    /// declared by `fields`.
    pub fn new(capacity: usize, fields: &'static [InputField]) -> InputBuffers {
        InputBuffers {
            clients: FxHashMap::default(),
            capacity,
            fields,
            dropped_late: 0,
            dropped_overflow: 0,
            folded: 0,
        }
    }

    /// Queues an input in `seq` order; inputs from unknown clients are ignored.
    pub fn push(&mut self, client: ClientId, input: Input) {
        let Some(buffer) = self.clients.get_mut(&client) else {
            return;
        };
        let stale = buffer.last_applied.is_some_and(|last| !seq_after(input.seq, last));
        let position = buffer
            .pending
            .iter()
            .rposition(|queued| !seq_after(queued.seq, input.seq));
        let duplicate = position.is_some_and(|at| buffer.pending[at].seq == input.seq);
        if stale || duplicate {
            self.dropped_late += 1;
            return;
        }
        buffer.pending.insert(position.map_or(0, |at| at + 1), input);
        if buffer.pending.len() > self.capacity {
            buffer.pending.pop_front();
            self.dropped_overflow += 1;
        }
    }

    /// Takes each client's next input into `active`, first folding the oldest into it
    /// when the client has kept a standing queue for a whole window.
    fn advance(&mut self, active: &mut ActiveInputs) {
        for (client, buffer) in &mut self.clients {
            buffer.window_ticks += 1;
            if buffer.window_ticks >= STANDING_WINDOW_TICKS {
                if buffer.fewest_waiting > 0 && buffer.pending.len() >= 2 {
                    let skipped = buffer.pending.pop_front().expect("two are waiting");
                    let next = buffer.pending.front_mut().expect("two are waiting");
                    skipped.fold_into(next, self.fields);
                    self.folded += 1;
                }
                buffer.window_ticks = 0;
                buffer.fewest_waiting = usize::MAX;
            }
            if let Some(next) = buffer.pending.pop_front() {
                buffer.last_applied = Some(next.seq);
                active.0.insert(*client, next);
            }
            buffer.fewest_waiting = buffer.fewest_waiting.min(buffer.pending.len());
        }
    }

    /// The last applied `seq` of each client, sorted by client.
    pub fn acks(&self) -> Vec<(ClientId, u32)> {
        let mut acks: Vec<_> = self
            .clients
            .iter()
            .filter_map(|(client, buffer)| buffer.last_applied.map(|seq| (*client, seq)))
            .collect();
        acks.sort_unstable();
        acks
    }
}

/// The input each client's entity acts on this tick.
#[derive(Resource, Debug, Default)]
pub struct ActiveInputs(pub FxHashMap<ClientId, Input>);

impl ActiveInputs {
    /// `client`'s input this tick as the game's type (neutral if it sent none yet).
    pub fn get<I: GameInput>(&self, client: ClientId) -> I {
        self.0
            .get(&client)
            .map_or_else(I::default, |input| I::from_values(input.values()))
    }

    /// The tick `client` was viewing when it sent this tick's input, if it said.
    pub fn view_tick(&self, client: ClientId) -> Option<Tick> {
        self.0.get(&client).and_then(|input| input.view_tick)
    }
}

/// `TickSystems::ApplyInputs` (first): each client's next buffered input becomes active.
pub(crate) fn advance_inputs(mut buffers: ResMut<InputBuffers>, mut active: ResMut<ActiveInputs>) {
    buffers.advance(&mut active);
}

#[cfg(test)]
mod tests {
    use super::*;

    use tickcast_shared::arena::{ArenaInput, buttons};

    fn input(seq: u32) -> Input {
        ArenaInput::default().to_input(seq, None)
    }

    /// The seq of `client`'s active input.
    fn active_seq(active: &ActiveInputs, client: ClientId) -> u32 {
        active.0[&client].seq
    }

    #[test]
    fn the_input_queue_is_bounded_keeps_order_and_reports_a_stopped_room() {
        let (sender, mut receiver) = input_queue(3);
        for seq in 0..3 {
            sender.try_send(seq, input(seq)).expect("room for three");
        }
        assert_eq!(sender.try_send(9, input(9)), Err(InputQueueError::Full));
        let taken: Vec<u32> = receiver.take_waiting().map(|(_, input)| input.seq).collect();
        assert_eq!(taken, [0, 1, 2], "oldest first, the refused one not among them");
        assert_eq!(receiver.take_waiting().count(), 0);
        sender.clone().try_send(4, input(4)).expect("room again after a take");
        let taken: Vec<(u32, u32)> = receiver
            .take_waiting()
            .map(|(client, input)| (client, input.seq))
            .collect();
        assert_eq!(taken, [(4, 4)]);
        drop(receiver);
        assert_eq!(sender.try_send(5, input(5)), Err(InputQueueError::Stopped));
    }

    #[test]
    fn inputs_sent_from_many_threads_while_the_room_takes_them_all_arrive_once() {
        let (sender, mut receiver) = input_queue(1024);
        let senders: Vec<_> = (0..4u32)
            .map(|client| {
                let sender = sender.clone();
                std::thread::spawn(move || {
                    let mut seq = 0;
                    while seq < 2_000 {
                        match sender.try_send(client, input(seq)) {
                            Ok(()) => seq += 1,
                            Err(InputQueueError::Full) => std::thread::yield_now(),
                            Err(InputQueueError::Stopped) => panic!("the room is still running"),
                        }
                    }
                })
            })
            .collect();
        let mut next = [0u32; 4];
        while next.iter().any(|seq| *seq < 2_000) {
            for (client, input) in receiver.take_waiting() {
                assert_eq!(
                    input.seq, next[client as usize],
                    "each client's inputs in order, none lost"
                );
                next[client as usize] += 1;
            }
            std::thread::yield_now();
        }
        for sender in senders {
            sender.join().expect("a sender finished");
        }
        assert_eq!(receiver.take_waiting().count(), 0, "none twice");
    }

    #[test]
    fn inputs_apply_in_seq_order_one_per_tick() {
        let mut buffers = InputBuffers::new(4, ArenaInput::FIELDS);
        buffers.clients.insert(1, ClientInputs::default());
        for seq in [2, 0, 1] {
            buffers.push(1, input(seq));
        }
        let mut active = ActiveInputs::default();
        for expected in 0..3 {
            buffers.advance(&mut active);
            assert_eq!(active_seq(&active, 1), expected);
        }
        assert_eq!(buffers.acks(), vec![(1, 2)]);
        buffers.advance(&mut active);
        assert_eq!(active_seq(&active, 1), 2, "no new input: the last one holds");
    }

    #[test]
    fn late_duplicate_and_overflowing_inputs_are_dropped_and_counted() {
        let mut buffers = InputBuffers::new(2, ArenaInput::FIELDS);
        buffers.clients.insert(1, ClientInputs::default());
        buffers.push(1, input(5));
        buffers.advance(&mut ActiveInputs::default());
        buffers.push(1, input(5));
        buffers.push(1, input(4));
        assert_eq!(buffers.dropped_late, 2);
        for seq in 6..9 {
            buffers.push(1, input(seq));
        }
        assert_eq!(buffers.dropped_overflow, 1);
        let mut active = ActiveInputs::default();
        buffers.advance(&mut active);
        assert_eq!(
            active_seq(&active, 1),
            7,
            "the oldest pending input was the one dropped"
        );
        buffers.push(2, input(1));
        assert!(
            buffers.acks().iter().all(|(client, _)| *client == 1),
            "unknown clients are ignored"
        );
    }

    /// Runs `ticks` ticks of client 1 sending `per_tick(tick)` new inputs each tick;
    /// returns the applied seqs and the folded count.
    fn run_client(ticks: u32, first_burst: u32, per_tick: impl Fn(u32) -> u32) -> (Vec<u32>, u64) {
        let mut buffers = InputBuffers::new(16, ArenaInput::FIELDS);
        buffers.clients.insert(1, ClientInputs::default());
        let mut seq = 0;
        for _ in 0..first_burst {
            buffers.push(1, input(seq));
            seq += 1;
        }
        let mut active = ActiveInputs::default();
        let mut applied = Vec::new();
        for tick in 0..ticks {
            for _ in 0..per_tick(tick) {
                buffers.push(1, input(seq));
                seq += 1;
            }
            buffers.advance(&mut active);
            applied.push(active_seq(&active, 1));
        }
        (applied, buffers.folded)
    }

    #[test]
    fn a_standing_queue_is_folded_away_one_input_per_window() {
        // Three inputs ahead, then one per tick: the lead of 3 would last forever.
        let window = u32::from(STANDING_WINDOW_TICKS);
        let (applied, folded) = run_client(window * 5, 3, |_| 1);
        assert_eq!(folded, 3, "one fold per window while inputs kept waiting");
        // The last applied input is the newest sent: no delay left.
        let newest_sent = window * 5 + 3 - 1;
        assert_eq!(*applied.last().unwrap(), newest_sent);
    }

    #[test]
    fn a_client_sending_in_pairs_every_other_tick_is_never_folded() {
        let (applied, folded) = run_client(u32::from(STANDING_WINDOW_TICKS) * 6, 0, |tick| {
            if tick % 2 == 0 { 2 } else { 0 }
        });
        assert_eq!(folded, 0);
        assert!(
            applied.windows(2).all(|pair| pair[1] == pair[0] + 1),
            "every input applied in turn"
        );
    }

    #[test]
    fn a_folded_input_keeps_its_buttons() {
        let mut buffers = InputBuffers::new(16, ArenaInput::FIELDS);
        buffers.clients.insert(1, ClientInputs::default());
        let mut active = ActiveInputs::default();
        let mut seq = 0;
        // Two ahead for a whole window; then a shot is the oldest waiting input.
        buffers.push(1, input(0));
        buffers.push(1, input(1));
        seq += 2;
        for _ in 0..STANDING_WINDOW_TICKS - 1 {
            buffers.push(1, input(seq));
            seq += 1;
            buffers.advance(&mut active);
        }
        let oldest_waiting = buffers.clients[&1].pending[0].seq;
        buffers.clients.get_mut(&1).unwrap().pending[0] = ArenaInput {
            buttons: buttons::FIRE,
            ..ArenaInput::default()
        }
        .to_input(oldest_waiting, None);
        buffers.push(1, input(seq));
        buffers.advance(&mut active);
        assert_eq!(buffers.folded, 1);
        assert_eq!(
            active_seq(&active, 1),
            oldest_waiting + 1,
            "the input after the shot is applied"
        );
        assert_eq!(
            active.get::<ArenaInput>(1).buttons,
            buttons::FIRE,
            "the shot is carried over"
        );
    }

    #[test]
    fn seq_order_wraps() {
        let mut buffers = InputBuffers::new(4, ArenaInput::FIELDS);
        buffers.clients.insert(1, ClientInputs::default());
        buffers.push(1, input(1));
        buffers.push(1, input(u32::MAX));
        buffers.push(1, input(0));
        let mut active = ActiveInputs::default();
        let mut order = Vec::new();
        for _ in 0..3 {
            buffers.advance(&mut active);
            order.push(active_seq(&active, 1));
        }
        assert_eq!(order, vec![u32::MAX, 0, 1]);
    }
}
