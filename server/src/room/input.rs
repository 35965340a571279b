//! The room's inbox and per-client input buffers.
//!
//! Connections send validated inputs as they arrive; the tick applies them one per tick
//! per client, in `seq` order, so a burst after a network hiccup replays at the tick rate
//! instead of teleporting the player. A client that stops sending keeps its last input
//! (the usual "hold" rule). Late or duplicate inputs are dropped, and a buffer that
//! overflows drops its oldest input: both are counted.

use super::tick_loop::RoomStats;
use super::{ClientId, Joined, Replication, RoomCommand, tick_loop::RoomClock};
use bevy_ecs::prelude::*;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tickcast_shared::PlayerInput;
use tokio::sync::mpsc;

/// Marks the entity a client controls.
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Controlled(pub ClientId);

/// The inbox end of the room's command channel.
#[derive(Resource)]
pub(crate) struct Inbox {
    receiver: mpsc::Receiver<RoomCommand>,
    spawn_player: fn(&mut World, ClientId, &str) -> Entity,
    players: HashMap<ClientId, Entity>,
    stats: Arc<RoomStats>,
}

impl Inbox {
    pub(crate) fn new(
        receiver: mpsc::Receiver<RoomCommand>,
        spawn_player: fn(&mut World, ClientId, &str) -> Entity,
        stats: Arc<RoomStats>,
    ) -> Inbox {
        Inbox {
            receiver,
            spawn_player,
            players: HashMap::new(),
            stats,
        }
    }
}

/// `TickSystems::ReceiveInputs`: drains the inbox. Bounded per tick by the channel's
/// capacity, so a flood cannot stall the tick for longer than one inbox's worth.
pub(crate) fn receive_commands(world: &mut World) {
    world.resource_scope(|world, mut inbox: Mut<Inbox>| {
        let budget = inbox.receiver.max_capacity();
        for _ in 0..budget {
            let Ok(command) = inbox.receiver.try_recv() else { break };
            match command {
                RoomCommand::Join { client, name, reply } => {
                    let entity = (inbox.spawn_player)(world, client, &name);
                    world.entity_mut(entity).insert(Controlled(client));
                    let player = Replication::assign(world, entity);
                    world.resource_mut::<InputBuffers>().clients.entry(client).or_default();
                    inbox.players.insert(client, entity);
                    inbox.stats.clients.store(inbox.players.len(), Ordering::Relaxed);
                    let tick = world.resource::<RoomClock>().tick;
                    // The connection may have gone already; its Leave follows.
                    let _ = reply.send(Joined { player, tick });
                    tracing::debug!(client, name, "player joined");
                }
                RoomCommand::Input { client, input } => {
                    world.resource_mut::<InputBuffers>().push(client, input);
                }
                RoomCommand::Leave { client } => {
                    if let Some(entity) = inbox.players.remove(&client) {
                        world.despawn(entity);
                    }
                    world.resource_mut::<InputBuffers>().clients.remove(&client);
                    world.resource_mut::<ActiveInputs>().0.remove(&client);
                    inbox.stats.clients.store(inbox.players.len(), Ordering::Relaxed);
                    tracing::debug!(client, "player left");
                }
            }
        }
    });
}

/// Inputs received but not applied yet, per client.
#[derive(Resource, Debug)]
pub struct InputBuffers {
    clients: HashMap<ClientId, ClientInputs>,
    capacity: usize,
    /// Inputs dropped because they were older than one already applied or duplicated.
    pub dropped_late: u64,
    /// Inputs dropped because the client's buffer was full.
    pub dropped_overflow: u64,
}

#[derive(Debug, Default)]
struct ClientInputs {
    pending: VecDeque<PlayerInput>,
    last_applied: Option<u32>,
}

/// Whether `seq` comes after `other` in wrapping order.
fn seq_after(seq: u32, other: u32) -> bool {
    (seq.wrapping_sub(other) as i32) > 0
}

impl InputBuffers {
    /// Buffers with room for `capacity` pending inputs per client.
    pub fn new(capacity: usize) -> InputBuffers {
        InputBuffers {
            clients: HashMap::new(),
            capacity,
            dropped_late: 0,
            dropped_overflow: 0,
        }
    }

    /// Queues an input in `seq` order; inputs from unknown clients are ignored.
    pub fn push(&mut self, client: ClientId, input: PlayerInput) {
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

    /// Takes each client's next input into `active`.
    fn advance(&mut self, active: &mut ActiveInputs) {
        for (client, buffer) in &mut self.clients {
            if let Some(next) = buffer.pending.pop_front() {
                buffer.last_applied = Some(next.seq);
                active.0.insert(*client, next);
            }
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
pub struct ActiveInputs(pub HashMap<ClientId, PlayerInput>);

impl ActiveInputs {
    /// `client`'s input this tick (neutral if it sent none yet).
    pub fn get(&self, client: ClientId) -> PlayerInput {
        self.0.get(&client).copied().unwrap_or_default()
    }
}

/// `TickSystems::ApplyInputs` (first): each client's next buffered input becomes active.
pub(crate) fn advance_inputs(mut buffers: ResMut<InputBuffers>, mut active: ResMut<ActiveInputs>) {
    buffers.advance(&mut active);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(seq: u32) -> PlayerInput {
        PlayerInput {
            seq,
            ..PlayerInput::default()
        }
    }

    #[test]
    fn inputs_apply_in_seq_order_one_per_tick() {
        let mut buffers = InputBuffers::new(4);
        buffers.clients.insert(1, ClientInputs::default());
        for seq in [2, 0, 1] {
            buffers.push(1, input(seq));
        }
        let mut active = ActiveInputs::default();
        for expected in 0..3 {
            buffers.advance(&mut active);
            assert_eq!(active.get(1).seq, expected);
        }
        assert_eq!(buffers.acks(), vec![(1, 2)]);
        buffers.advance(&mut active);
        assert_eq!(active.get(1).seq, 2, "no new input: the last one holds");
    }

    #[test]
    fn late_duplicate_and_overflowing_inputs_are_dropped_and_counted() {
        let mut buffers = InputBuffers::new(2);
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
        assert_eq!(active.get(1).seq, 7, "the oldest pending input was the one dropped");
        buffers.push(2, input(1));
        assert!(
            buffers.acks().iter().all(|(client, _)| *client == 1),
            "unknown clients are ignored"
        );
    }

    #[test]
    fn seq_order_wraps() {
        let mut buffers = InputBuffers::new(4);
        buffers.clients.insert(1, ClientInputs::default());
        buffers.push(1, input(1));
        buffers.push(1, input(u32::MAX));
        buffers.push(1, input(0));
        let mut active = ActiveInputs::default();
        let mut order = Vec::new();
        for _ in 0..3 {
            buffers.advance(&mut active);
            order.push(active.get(1).seq);
        }
        assert_eq!(order, vec![u32::MAX, 0, 1]);
    }
}
