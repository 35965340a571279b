//! One client's view of the room: what it holds, what it should see, and which changes
//! fit in this snapshot's byte budget.
//!
//! Each connection's writer owns a [`ClientView`] and calls [`ClientView::write_frame`]
//! once per published snapshot, on a tokio worker (never on the tick thread).
//!
//! Everything a frame is a delta against lives in one store, [`held::HeldStore`]: what
//! the client holds, entity for entity, and the checksum it verified. The store changes
//! only at the end of a frame; the steps that build the frame read it.
//!
//! A client that sees the whole world and holds exactly the previous snapshot's world is
//! *in step*: it is sent one of the snapshot's shared world bodies with its own header,
//! and nothing else is done for it. The predicted body, when the client also held the
//! world the body's motions start from in its frame before; the plain one otherwise.
//! Any other frame is the client's own, built in four steps, each a module with its
//! contract:
//! 1. [`visible`]: the entities the client should see (its area of interest, or the
//!    whole world);
//! 2. [`stale`]: of those, what the client lacks or holds out of date, and what it holds
//!    that left view;
//! 3. [`choose`]: what fits the byte budget, by accumulated priority;
//! 4. [`encode`]: the frame, with the checksum of exactly the state it leaves the
//!    client in, so the client converges exactly on what was sent.
//!
//! Then [`stale::Stale::settle`] marks what was sent, and [`held::HeldStore::commit`]
//! makes it the client's held state.

mod choose;
mod encode;
mod held;
mod settings;
mod stale;
mod visible;

use super::ClientId;
use super::interest::Viewer;
use super::snapshot::{WorldBody, WorldSnapshot};
use choose::{Choice, Frame};
use encode::{Encoder, FrameHeader};
use glam::Vec2;
use held::HeldStore;
use settings::FRAME_OVERHEAD_BYTES;
pub use settings::ViewSettings;
use stale::Stale;
use std::sync::Arc;
use tickcast_shared::{InputAck, NetId, ServerMsg, Spectate, Tick};
use visible::Visible;

/// What one frame carried, for the stats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameStats {
    /// Frame bytes (WebSocket payload).
    pub bytes: usize,
    /// Entities spawned, updated or despawned in it.
    pub entities_sent: usize,
    /// Entities in view with a change that did not fit the budget.
    pub entities_deferred: usize,
    /// Longest a change sent in this frame had waited, in ticks.
    pub max_staleness_ticks: u32,
    /// Entities in view.
    pub in_view: usize,
    /// Whether the body was the snapshot's shared world body.
    pub shared_body: bool,
}

/// A client's replication state: its held store, what its frame headers continue from,
/// and each step's buffers (reused every frame, so a frame allocates nothing in steady
/// state).
pub struct ClientView {
    client: ClientId,
    /// The entity it controls; `None` for a spectator.
    player: Option<NetId>,
    settings: ViewSettings,
    /// Where it looks from: its player's last known position, or a spectator's point.
    viewpoint: Vec2,
    last_tick: Option<Tick>,
    last_ack: Option<u32>,
    held: HeldStore,
    visible: Visible,
    stale: Stale,
    choice: Choice,
    encoder: Encoder,
}

impl ClientView {
    /// A view for `client`, who controls `player`, holding nothing yet.
    pub fn new(client: ClientId, player: NetId, settings: ViewSettings) -> ClientView {
        ClientView::with_player(client, Some(player), settings)
    }

    /// A view for a spectator: the whole world, or the area of interest around a point
    /// (the whole world when the room has no interest radius).
    pub fn spectating(client: ClientId, spectate: Spectate, mut settings: ViewSettings) -> ClientView {
        if spectate == Spectate::World {
            settings.interest_radius = None;
        }
        let mut view = ClientView::with_player(client, None, settings);
        if let Spectate::At([x, y]) = spectate {
            view.viewpoint = Vec2::new(x, y);
        }
        view
    }

    fn with_player(client: ClientId, player: Option<NetId>, settings: ViewSettings) -> ClientView {
        ClientView {
            client,
            player,
            settings,
            viewpoint: Vec2::ZERO,
            last_tick: None,
            last_ack: None,
            held: HeldStore::default(),
            visible: Visible::default(),
            stale: Stale::default(),
            choice: Choice::default(),
            encoder: Encoder::default(),
        }
    }

    /// Entities the client holds.
    pub fn held_len(&self) -> usize {
        self.held.len()
    }

    /// Whether the client sees the whole world (no interest radius, no game rule): only
    /// such a client can take the shared world bodies.
    pub fn sees_whole_world(&self) -> bool {
        self.settings.interest_radius.is_none() && self.settings.rule.is_none()
    }

    /// Whether the client holds exactly the last snapshot's world, so that its next frame
    /// can be the shared world body.
    pub fn in_step(&self) -> bool {
        self.held.world_tick().is_some()
    }

    /// The tick of the last frame written.
    pub fn last_tick(&self) -> Option<Tick> {
        self.last_tick
    }

    /// Writes this client's frame for `snapshot` into `out` (cleared first) and commits
    /// its content as the client's new held state.
    ///
    /// A client in step with the world is sent the snapshot's shared world body; any
    /// other gets a body of its own: visible -> stale -> choose within budget -> encode.
    pub fn write_frame(&mut self, snapshot: &Arc<WorldSnapshot>, out: &mut Vec<u8>) -> FrameStats {
        let stepped_from = self.held.world_tick();
        if let Some(stats) = self.write_shared_frame(snapshot, stepped_from, out) {
            return stats;
        }
        self.held.leave_step();
        let viewer = self.viewer(snapshot);
        self.visible.collect(snapshot, &viewer, &self.settings);
        self.stale.collect(&self.held, snapshot, &self.visible.indices);
        let frame = Frame {
            snapshot,
            viewer: &viewer,
            settings: &self.settings,
            header: self.header(snapshot),
        };
        let checksum = self
            .choice
            .within_budget(&frame, &mut self.stale, &self.held, &mut self.encoder, out);
        let settled = self.stale.settle(snapshot);
        // Everything visible was sent in a whole-world view: the client then holds
        // exactly the snapshot's world, and stays in step while it takes the shared
        // bodies.
        let world = self.sees_whole_world() && settled.deferred == 0;
        let stale = &mut self.stale;
        self.held
            .commit(&mut stale.next, &stale.freed, snapshot, checksum, world, stepped_from);
        self.end_frame(snapshot);
        FrameStats {
            bytes: out.len(),
            entities_sent: self.stale.despawns.len() + settled.sent,
            entities_deferred: settled.deferred,
            max_staleness_ticks: settled.max_staleness_ticks,
            in_view: self.visible.indices.len(),
            shared_body: false,
        }
    }

    /// Writes one of the snapshot's shared world bodies with this client's header, if the
    /// client is in step with the snapshot it applies to and the frame fits the budget:
    /// the predicted body when the client's motion is the one it was built on, else the
    /// plain one.
    fn write_shared_frame(
        &mut self,
        snapshot: &Arc<WorldSnapshot>,
        held: Option<Tick>,
        out: &mut Vec<u8>,
    ) -> Option<FrameStats> {
        let held = held?;
        let header = self.header(snapshot);
        let fits = |shared: &&WorldBody| {
            shared.since == held
                && shared.checksummed == self.settings.checksums
                && shared.body.len() + FRAME_OVERHEAD_BYTES <= self.settings.budget_bytes
        };
        let stepped_from = self.held.stepped_from();
        let predicted = snapshot
            .predicted_world_body()
            .filter(|shared| shared.base.is_some() && shared.base == stepped_from);
        let shared = predicted.filter(fits).or_else(|| snapshot.world_body().filter(fits))?;
        out.clear();
        ServerMsg::encode_snapshot_into(header.full, header.tick, header.ack, &shared.body, out);
        self.held.step_to(snapshot, shared.checksum, Some(held));
        self.end_frame(snapshot);
        Some(FrameStats {
            bytes: out.len(),
            entities_sent: shared.entities_sent,
            entities_deferred: 0,
            max_staleness_ticks: 0,
            in_view: snapshot.visible,
            shared_body: true,
        })
    }

    /// This client's frame header for `snapshot`: ticks since its last frame and the
    /// input ack.
    fn header(&self, snapshot: &WorldSnapshot) -> FrameHeader {
        let full = self.last_tick.is_none();
        FrameHeader {
            full,
            tick: match self.last_tick {
                None => snapshot.tick.0,
                Some(last) => snapshot.tick.since(last).max(0) as u32,
            },
            ack: match (snapshot.input_ack(self.client), self.last_ack) {
                (None, _) => InputAck::None,
                (Some(seq), Some(last)) if !full => {
                    if seq == last {
                        InputAck::None
                    } else {
                        InputAck::Advance(seq.wrapping_sub(last))
                    }
                }
                (Some(seq), _) => InputAck::Absolute(seq),
            },
        }
    }

    /// Records that the client was sent `snapshot`'s frame.
    fn end_frame(&mut self, snapshot: &WorldSnapshot) {
        if let Some(seq) = snapshot.input_ack(self.client) {
            self.last_ack = Some(seq);
        }
        self.last_tick = Some(snapshot.tick);
    }

    /// Where the client looks from: its player's position, or the last one known (for a
    /// spectator, its point).
    fn viewer(&mut self, snapshot: &WorldSnapshot) -> Viewer {
        let mut team = None;
        if let Some(index) = self.player.and_then(|player| snapshot.index_of(player)) {
            let meta = &snapshot.metas[index];
            if let Some(position) = meta.position {
                self.viewpoint = position;
            }
            team = meta.team;
        }
        Viewer {
            client: self.client,
            player: self.player,
            position: self.viewpoint,
            team,
        }
    }
}

#[cfg(test)]
mod tests;
