//! One client's view of the room: what it holds, what it should see, and which changes
//! fit in this snapshot's byte budget.
//!
//! Each connection's writer owns a [`ClientView`] and calls [`ClientView::write_frame`]
//! once per published snapshot, on a tokio worker (never on the tick thread).
//!
//! A client that sees the whole world and holds exactly the previous snapshot's world is
//! *in step*: it is sent one of the snapshot's shared world bodies with its own header,
//! and nothing else is done for it. The predicted body, when the client also held the
//! world the body's motions start from in its frame before (`stepped_from`); the plain one
//! otherwise. Any other frame is the client's own:
//! 1. interest: the entities near the client's player, plus always-relevant ones;
//! 2. candidates: entities in view that the client lacks (spawn whole) or holds with
//!    different fields (field-level update); entities that left view are despawned.
//!    When the client holds an entity as of the previous snapshot (or, after skipping
//!    one, of the one before), the snapshot's shared changes say whether it changed and
//!    carry the update already encoded; older copies skip unchanged entities by their
//!    `changed_at` tick and diff the rest;
//! 3. priority: when not everything fits the byte budget, each pending candidate adds
//!    to its priority (more when near, when its change is large, much more for the
//!    client's own entity); the highest go first until the budget is spent, the rest
//!    wait with their priority kept, so every entity in view is refreshed within a
//!    bounded staleness;
//! 4. the chosen changes become the client's new held state, and the body carries the
//!    checksum of exactly that state, so the client converges exactly on what was sent.
//!
//! On a WebSocket the client holds exactly what it was sent (reliable, ordered), so the
//! held state is the baseline of the next delta: no acks of snapshots are needed.

use super::ClientId;
use super::interest::{InterestGrid, RelevanceRule, Viewer};
use super::snapshot::{EntityChange, WorldBody, WorldSnapshot, is_visible};
use glam::Vec2;
use std::cmp::Ordering;
use std::sync::Arc;
use tickcast_shared::{
    BodyWriter, Coding, EncodedUpdate, EntityDiff, EntityState, EntityUpdate, InputAck, NetId, ServerMsg, Spectate,
    Tick, diff_entity, spawn_cost_bits, update_cost_bits,
};

/// How a client's view is chosen and paced.
#[derive(Clone, Copy, Debug)]
pub struct ViewSettings {
    /// Radius of the area of interest around the client's player; `None` sends the
    /// whole world.
    pub interest_radius: Option<f32>,
    /// Most frame bytes (WebSocket payload) per snapshot: the per-client bandwidth budget
    /// divided by the snapshot rate.
    pub budget_bytes: usize,
    /// Whether bodies carry the checksum of the client's resulting state.
    pub checksums: bool,
    /// The game's extra relevance rule, if any.
    pub rule: Option<RelevanceRule>,
}

/// Priority weight of the client's own entity: it beats everything else.
const OWN_ENTITY_WEIGHT: f32 = 1000.0;
/// Extra weight of an entity the client does not hold at all yet.
const SPAWN_WEIGHT: f32 = 2.0;
/// Frame bytes outside the body (envelope and header), reserved from the budget.
const FRAME_OVERHEAD_BYTES: usize = 16;
/// Candidates that did not fit before the fill stops looking for smaller ones.
const MAX_SKIPPED: usize = 32;

/// One entity the view tracks: held by the client, pending, or both. Small on purpose:
/// the whole list is merged with what is visible every frame, so the held state itself
/// lives elsewhere (see [`HeldCopy`]) and the entry only points at it.
#[derive(Clone, Copy, Debug)]
struct Tracked {
    id: NetId,
    /// Its index in the snapshot of the frame that last listed it.
    index: u32,
    /// Where the client's copy is, once sent.
    held: Option<HeldSlot>,
    /// Accumulated priority of its pending change.
    priority: f32,
    /// Snapshot tick since which the client's copy has been out of date.
    pending_since: Option<Tick>,
}

/// The client's copy of one entity: where it is, its hash, and the tick of the snapshot
/// it equals.
#[derive(Clone, Copy, Debug)]
struct HeldSlot {
    copy: HeldCopy,
    hash: u32,
    as_of: Tick,
}

/// Where the client's copy of an entity is. A copy equal to the entity in the snapshot
/// of the last frame (everything sent or unchanged, the common case) is that snapshot's
/// entity, kept alive by [`ClientView::last`], so sending an entity copies no state;
/// only a copy left behind (a change deferred by the budget) is stored, when the view
/// moves on to the next snapshot.
#[derive(Clone, Copy, Debug)]
enum HeldCopy {
    /// The entity at this index of [`ClientView::last`].
    InLast(u32),
    /// Slot in [`ClientView::held_states`].
    Stored(u32),
}

/// What a candidate would send.
#[derive(Clone, Copy, Debug)]
enum Change {
    /// The whole entity.
    Spawn,
    /// A field-level update computed for this client: index into [`ClientView::updates`].
    Fields(u32),
    /// The snapshot's shared encoding of the update from the state the client holds,
    /// in its change set since the snapshot of that tick.
    Shared(EncodedUpdate, Tick),
}

/// A change that could go in this frame. Candidates are listed in `NetId` order (the
/// order of the merge), which is the order the body needs.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    /// Index into the new tracked list.
    tracked: u32,
    /// Index into the snapshot's entities.
    entity: u32,
    priority: f32,
    cost_bits: u32,
    change: Change,
    /// Whether it goes in this frame.
    chosen: bool,
}

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

/// A client's replication state.
pub struct ClientView {
    client: ClientId,
    /// The entity it controls; `None` for a spectator.
    player: Option<NetId>,
    settings: ViewSettings,
    /// Set while the client holds exactly this snapshot's visible entities, in a
    /// whole-world view: its next frame is then one of the next snapshot's shared
    /// [`WorldBody`]s, and `tracked`, `last` and the held copies are not kept up to date
    /// until it falls out of step (see [`ClientView::leave_step`]).
    in_step: Option<Arc<WorldSnapshot>>,
    /// The tick of the world the client held in step before its last frame, when that
    /// frame also left it in step: then the motion it remembers runs from that world to
    /// `in_step`'s, and a predicted world body built on the same two worlds fits it.
    stepped_from: Option<Tick>,
    /// What the client holds or should hold, sorted by `NetId`.
    tracked: Vec<Tracked>,
    /// The snapshot of the last frame: where [`HeldCopy::InLast`] copies are.
    last: Option<Arc<WorldSnapshot>>,
    /// The client's copies that [`ClientView::last`] does not have, by
    /// [`HeldCopy::Stored`] slot.
    held_states: Vec<EntityState>,
    /// Slots of `held_states` no longer in use.
    free_slots: Vec<u32>,
    last_tick: Option<Tick>,
    last_ack: Option<u32>,
    checksum: u32,
    viewpoint: Vec2,
    // Scratch space reused every frame.
    visible: Vec<u32>,
    /// Scratch bitset of [`InterestGrid::visible`](super::interest::InterestGrid::visible).
    visible_marks: Vec<u64>,
    next: Vec<Tracked>,
    candidates: Vec<Candidate>,
    updates: Vec<EntityUpdate>,
    /// Candidate indices by descending priority, built only when not everything fits.
    by_priority: Vec<u32>,
    despawns: Vec<NetId>,
    /// Snapshot indices of the chosen spawns.
    spawns: Vec<u32>,
    body: Vec<u8>,
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
            in_step: None,
            stepped_from: None,
            tracked: Vec::new(),
            last: None,
            held_states: Vec::new(),
            free_slots: Vec::new(),
            last_tick: None,
            last_ack: None,
            checksum: 0,
            viewpoint: Vec2::ZERO,
            visible: Vec::new(),
            visible_marks: Vec::new(),
            next: Vec::new(),
            candidates: Vec::new(),
            updates: Vec::new(),
            by_priority: Vec::new(),
            despawns: Vec::new(),
            spawns: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Entities the client holds.
    pub fn held_len(&self) -> usize {
        match &self.in_step {
            Some(snapshot) => snapshot.visible,
            None => self.tracked.iter().filter(|t| t.held.is_some()).count(),
        }
    }

    /// Whether the client sees the whole world (no interest radius, no game rule): only
    /// such a client can take the shared world bodies.
    pub fn sees_whole_world(&self) -> bool {
        self.settings.interest_radius.is_none() && self.settings.rule.is_none()
    }

    /// Whether the client holds exactly the last snapshot's world, so that its next frame
    /// can be the shared world body.
    pub fn in_step(&self) -> bool {
        self.in_step.is_some()
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
        let stepped_from = self.in_step.as_ref().map(|held| held.tick);
        if let Some(stats) = self.write_shared_frame(snapshot, out) {
            self.stepped_from = stepped_from;
            return stats;
        }
        self.leave_step();
        let tick = snapshot.tick;
        let viewer = self.viewer(snapshot);
        self.collect_visible(snapshot, &viewer);
        self.despawns.clear();
        self.merge_and_collect_candidates(snapshot, tick);

        let header = self.header(snapshot);
        let mut stats = self.select_within_budget(snapshot, &viewer, tick, header, out);
        stats.in_view = self.visible.len();
        self.move_copies_to(snapshot);
        std::mem::swap(&mut self.tracked, &mut self.next);
        self.end_frame(snapshot);
        stats.bytes = out.len();
        // Everything visible was sent in a whole-world view: the client now holds exactly
        // the snapshot's world, and stays in step while it takes the shared bodies.
        if self.sees_whole_world() && stats.entities_deferred == 0 {
            self.in_step = Some(Arc::clone(snapshot));
            self.stepped_from = stepped_from;
        } else {
            self.stepped_from = None;
        }
        stats
    }

    /// Writes one of the snapshot's shared world bodies with this client's header, if the
    /// client is in step with the snapshot it applies to and the frame fits the budget:
    /// the predicted body when the client's motion is the one it was built on, else the
    /// plain one.
    fn write_shared_frame(&mut self, snapshot: &Arc<WorldSnapshot>, out: &mut Vec<u8>) -> Option<FrameStats> {
        let held = self.in_step.as_ref()?.tick;
        let header = self.header(snapshot);
        let fits = |shared: &&WorldBody| {
            shared.since == held
                && shared.checksummed == self.settings.checksums
                && shared.body.len() + FRAME_OVERHEAD_BYTES <= self.settings.budget_bytes
        };
        let predicted = snapshot
            .predicted_world_body()
            .filter(|shared| shared.base.is_some() && shared.base == self.stepped_from);
        let shared = predicted.filter(fits).or_else(|| snapshot.world_body().filter(fits))?;
        out.clear();
        ServerMsg::encode_snapshot_into(header.full, header.tick, header.ack, &shared.body, out);
        self.checksum = shared.checksum;
        self.in_step = Some(Arc::clone(snapshot));
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

    /// Out of step with the shared bodies: rebuilds the tracked list from the snapshot the
    /// client holds, every visible entity held as of it.
    fn leave_step(&mut self) {
        let Some(held) = self.in_step.take() else { return };
        self.tracked.clear();
        self.free_slots.clear();
        self.free_slots.extend(0..self.held_states.len() as u32);
        for (index, meta) in held.metas.iter().enumerate() {
            if is_visible(meta) {
                self.tracked.push(Tracked {
                    id: held.ids[index],
                    index: index as u32,
                    held: Some(HeldSlot {
                        copy: HeldCopy::InLast(index as u32),
                        hash: held.hashes[index],
                        as_of: held.tick,
                    }),
                    priority: 0.0,
                    pending_since: None,
                });
            }
        }
        self.last = Some(held);
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

    fn collect_visible(&mut self, snapshot: &WorldSnapshot, viewer: &Viewer) {
        match self.settings.interest_radius {
            Some(radius) => {
                // A room with an interest radius prepares the grid; built here only for
                // a snapshot made by hand (tests, benches).
                let built;
                let grid = match snapshot.interest_grid() {
                    Some(grid) => grid,
                    None => {
                        built = InterestGrid::build(&snapshot.metas, radius);
                        &built
                    }
                };
                grid.visible(
                    viewer,
                    radius,
                    &snapshot.metas,
                    self.settings.rule,
                    &mut self.visible,
                    &mut self.visible_marks,
                );
                if let Some(own) = self.player.and_then(|player| snapshot.index_of(player)) {
                    let own = own as u32;
                    if let Err(at) = self.visible.binary_search(&own) {
                        self.visible.insert(at, own);
                    }
                }
            }
            None => {
                self.visible.clear();
                self.visible.extend(
                    snapshot
                        .metas
                        .iter()
                        .enumerate()
                        .filter(|(_, meta)| is_visible(meta))
                        .filter(|(_, meta)| self.settings.rule.is_none_or(|rule| rule(viewer, meta)))
                        .map(|(index, _)| index as u32),
                );
            }
        }
    }

    /// Merges the tracked list with what is visible now: despawns what left view, and
    /// lists every entity in view whose held copy is missing or out of date.
    fn merge_and_collect_candidates(&mut self, snapshot: &WorldSnapshot, tick: Tick) {
        self.next.clear();
        self.candidates.clear();
        self.updates.clear();
        let mut old = 0;
        let mut visible = 0;
        loop {
            let order = match (self.tracked.get(old), self.visible.get(visible)) {
                (None, None) => break,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(tracked), Some(&index)) => tracked.id.cmp(&snapshot.ids[index as usize]),
            };
            match order {
                Ordering::Less => {
                    // Left view (or despawned): the client drops it.
                    let tracked = self.tracked[old];
                    old += 1;
                    if let Some(held) = tracked.held {
                        self.checksum = self.checksum.wrapping_sub(held.hash);
                        self.despawns.push(tracked.id);
                        if let HeldCopy::Stored(slot) = held.copy {
                            self.free_slots.push(slot);
                        }
                    }
                }
                Ordering::Greater => {
                    let index = self.visible[visible] as usize;
                    visible += 1;
                    self.next.push(Tracked {
                        id: snapshot.ids[index],
                        index: index as u32,
                        held: None,
                        priority: 0.0,
                        pending_since: None,
                    });
                    self.add_candidate(snapshot, index, Pending::Spawn, tick);
                }
                Ordering::Equal => {
                    let mut tracked = self.tracked[old];
                    let index = self.visible[visible] as usize;
                    tracked.index = index as u32;
                    old += 1;
                    visible += 1;
                    let change = match tracked.held {
                        None => Some(Pending::Spawn),
                        Some(held) => self.change_since(snapshot, index, held),
                    };
                    if change.is_none() {
                        tracked.priority = 0.0;
                        tracked.pending_since = None;
                    }
                    self.next.push(tracked);
                    if let Some(change) = change {
                        self.add_candidate(snapshot, index, change, tick);
                    }
                }
            }
        }
    }

    /// How entity `index` differs from the client's copy, or `None` if it does not.
    /// Cheap when the snapshot's shared [`SnapshotChanges`](super::snapshot::SnapshotChanges)
    /// (or, for a copy one snapshot older, [`ChangesTwoBack`](super::snapshot::ChangesTwoBack))
    /// cover the copy's age; a diff otherwise.
    fn change_since(&self, snapshot: &WorldSnapshot, index: usize, held: HeldSlot) -> Option<Pending> {
        if !snapshot.changed_at[index].is_after(held.as_of) {
            return None;
        }
        if let Some(changes) = snapshot.changes_since(held.as_of) {
            match changes.entities[index] {
                EntityChange::Same => return None,
                EntityChange::Update {
                    encoded,
                    magnitude_bits,
                } => return Some(Pending::Shared(encoded, magnitude_bits, changes.since)),
                EntityChange::New => {}
            }
        }
        match diff_entity(self.held_state(held.copy), &snapshot.entities[index]) {
            EntityDiff::Same => None,
            EntityDiff::Update(update) => Some(Pending::Fields(update)),
            EntityDiff::Replace => Some(Pending::Spawn),
        }
    }

    fn add_candidate(&mut self, snapshot: &WorldSnapshot, entity: usize, change: Pending, tick: Tick) {
        let tracked_index = self.next.len() - 1;
        let tracked = &mut self.next[tracked_index];
        tracked.pending_since.get_or_insert(tick);
        // The change's priority weight is only needed when not everything fits, so
        // `weigh_candidates` computes it then; the size part is kept for it here.
        let (size, cost_bits, change) = match (change, tracked.held) {
            (Pending::Fields(update), Some(held)) => {
                let cost = update_cost_bits(&update, self.held_state(held.copy));
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

    /// Adds this snapshot's weight to each candidate's accumulated priority (more when
    /// near, when its change is large, much more for the client's own entity): until
    /// now [`Candidate::priority`] held only the size part of the weight.
    fn weigh_candidates(&mut self, snapshot: &WorldSnapshot, viewer: &Viewer) {
        for candidate in &mut self.candidates {
            let tracked = &mut self.next[candidate.tracked as usize];
            let weight = if Some(tracked.id) == self.player {
                OWN_ENTITY_WEIGHT
            } else {
                let position = snapshot.metas[candidate.entity as usize].position;
                let nearness = match (self.settings.interest_radius, position) {
                    (Some(radius), Some(position)) => {
                        1.0 - 0.75 * (position.distance(viewer.position) / radius).min(1.0)
                    }
                    _ => 1.0,
                };
                nearness * candidate.priority
            };
            tracked.priority += weight;
            candidate.priority = tracked.priority;
        }
    }

    /// Chooses the highest-priority candidates whose frame fits the budget, writes that
    /// frame into `out`, and commits what it carries as the client's held state.
    ///
    /// The choice is made on estimated costs, then checked against the real encoded
    /// frame: while it is over budget, the lowest-priority choice goes back to waiting.
    /// A frame always carries at least the top candidate, so an entity larger than the
    /// whole budget is still sent. When everything is estimated to fit (the common case)
    /// nothing is sorted.
    fn select_within_budget(
        &mut self,
        snapshot: &WorldSnapshot,
        viewer: &Viewer,
        tick: Tick,
        header: FrameHeader,
        out: &mut Vec<u8>,
    ) -> FrameStats {
        let mut stats = FrameStats::default();
        let budget_bits = self.settings.budget_bytes.saturating_sub(FRAME_OVERHEAD_BYTES) * 8;
        let mut used_bits = 32 + 8 + self.despawns.len() * tickcast_shared::delta::DESPAWN_COST_BITS;
        let wanted_bits: usize = self.candidates.iter().map(|c| c.cost_bits as usize).sum();
        self.by_priority.clear();
        let mut chosen = 0;
        if used_bits + wanted_bits <= budget_bits {
            for candidate in &mut self.candidates {
                candidate.chosen = true;
            }
            chosen = self.candidates.len();
        } else {
            self.weigh_candidates(snapshot, viewer);
            self.sort_by_priority();
            let mut skipped = 0;
            for &at in &self.by_priority {
                let candidate = &mut self.candidates[at as usize];
                let cost = candidate.cost_bits as usize;
                let fits = used_bits + cost <= budget_bits;
                if (fits || chosen == 0) && skipped < MAX_SKIPPED {
                    used_bits += cost;
                    candidate.chosen = true;
                    chosen += 1;
                } else {
                    skipped += usize::from(!fits);
                }
            }
        }
        loop {
            let checksum = self.write_chosen(snapshot, header, out);
            if out.len() <= self.settings.budget_bytes || chosen <= 1 {
                self.checksum = checksum;
                break;
            }
            // Over budget: the lowest-priority choice waits.
            if self.by_priority.is_empty() {
                self.weigh_candidates(snapshot, viewer);
                self.sort_by_priority();
            }
            let candidates = &mut self.candidates;
            if let Some(&at) = self
                .by_priority
                .iter()
                .rev()
                .find(|&&at| candidates[at as usize].chosen)
            {
                candidates[at as usize].chosen = false;
                chosen -= 1;
            }
        }
        for candidate in &self.candidates {
            let tracked = &mut self.next[candidate.tracked as usize];
            if !candidate.chosen {
                stats.entities_deferred += 1;
                continue;
            }
            if let Some(since) = tracked.pending_since.take() {
                stats.max_staleness_ticks = stats.max_staleness_ticks.max(tick.since(since).max(0) as u32);
            }
            tracked.priority = 0.0;
            let entity = candidate.entity as usize;
            // The copy itself moves to this snapshot in `move_copies_to`.
            let copy = match tracked.held {
                Some(held) => held.copy,
                None => HeldCopy::InLast(entity as u32),
            };
            tracked.held = Some(HeldSlot {
                copy,
                hash: snapshot.hashes[entity],
                as_of: tick,
            });
        }
        stats.entities_sent = self.despawns.len() + self.candidates.iter().filter(|c| c.chosen).count();
        stats
    }

    /// The client's copy at `copy`.
    fn held_state(&self, copy: HeldCopy) -> &EntityState {
        match copy {
            HeldCopy::InLast(index) => {
                let last = self.last.as_ref().expect("copies in the last snapshot come with it");
                &last.entities[index as usize]
            }
            HeldCopy::Stored(slot) => &self.held_states[slot as usize],
        }
    }

    /// Ends a frame: every copy equal to its entity in `snapshot` (sent now, or
    /// unchanged) points into `snapshot`, and as of it; a copy left behind in the old
    /// last snapshot (its change deferred) is stored before that snapshot is let go.
    fn move_copies_to(&mut self, snapshot: &Arc<WorldSnapshot>) {
        for tracked in &mut self.next {
            let Some(held) = &mut tracked.held else { continue };
            if tracked.pending_since.is_none() {
                if let HeldCopy::Stored(slot) = held.copy {
                    self.free_slots.push(slot);
                }
                held.copy = HeldCopy::InLast(tracked.index);
                held.as_of = snapshot.tick;
            } else if let HeldCopy::InLast(index) = held.copy {
                let last = self.last.as_ref().expect("copies in the last snapshot come with it");
                let state = &last.entities[index as usize];
                let slot = match self.free_slots.pop() {
                    Some(slot) => {
                        self.held_states[slot as usize].clone_from(state);
                        slot
                    }
                    None => {
                        self.held_states.push(state.clone());
                        self.held_states.len() as u32 - 1
                    }
                };
                held.copy = HeldCopy::Stored(slot);
            }
        }
        self.last = Some(Arc::clone(snapshot));
    }

    /// Fills [`ClientView::by_priority`]: candidates by descending priority, ties by
    /// snapshot order.
    fn sort_by_priority(&mut self) {
        let candidates = &self.candidates;
        self.by_priority.clear();
        self.by_priority.extend(0..candidates.len() as u32);
        self.by_priority.sort_unstable_by(|&a, &b| {
            let (a, b) = (&candidates[a as usize], &candidates[b as usize]);
            b.priority.total_cmp(&a.priority).then(a.entity.cmp(&b.entity))
        });
    }

    /// Writes the frame carrying the despawns and the chosen candidates into `out`;
    /// returns the checksum the client will hold after applying it.
    fn write_chosen(&mut self, snapshot: &WorldSnapshot, header: FrameHeader, out: &mut Vec<u8>) -> u32 {
        let mut checksum = self.checksum;
        let hashes = &snapshot.hashes;
        let mut updates = 0;
        self.spawns.clear();
        // Candidates are in `NetId` order, so the body's lists come out sorted.
        for candidate in self.candidates.iter().filter(|c| c.chosen) {
            match candidate.change {
                Change::Spawn => self.spawns.push(candidate.entity),
                Change::Fields(_) | Change::Shared(..) => updates += 1,
            }
            if let Some(held) = self.next[candidate.tracked as usize].held {
                checksum = checksum.wrapping_sub(held.hash);
            }
            checksum = checksum.wrapping_add(hashes[candidate.entity as usize]);
        }
        let mut body = std::mem::take(&mut self.body);
        body.clear();
        if !(self.despawns.is_empty() && updates == 0 && self.spawns.is_empty()) {
            let sum = self.settings.checksums.then_some(checksum);
            let mut writer = BodyWriter::new(body, sum, Coding::Plain, &self.despawns, updates);
            for candidate in self.candidates.iter().filter(|c| c.chosen) {
                let id = snapshot.ids[candidate.entity as usize];
                match candidate.change {
                    Change::Spawn => {}
                    Change::Shared(encoded, since) => {
                        let changes = snapshot
                            .changes_since(since)
                            .expect("shared changes come from this snapshot");
                        writer.encoded_update(id, encoded, &changes.encoded);
                    }
                    Change::Fields(update) => {
                        // Updates never change an entity's shape: the held copy has it.
                        let held = self.next[candidate.tracked as usize].held;
                        let state = held.map(|held| self.held_state(held.copy));
                        writer.update(&self.updates[update as usize], |component| {
                            state
                                .and_then(|state| state.components.get(component))
                                .map(|c| c.fields.len())
                        });
                    }
                }
            }
            body = writer.finish(self.spawns.iter().map(|&index| &snapshot.entities[index as usize]));
        }
        out.clear();
        ServerMsg::encode_snapshot_into(header.full, header.tick, header.ack, &body, out);
        self.body = body;
        checksum
    }
}

/// The per-client part of a frame, fixed before the body is chosen.
#[derive(Clone, Copy, Debug)]
struct FrameHeader {
    full: bool,
    tick: u32,
    ack: InputAck,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::room::interest::{EntityMeta, Relevance};
    use crate::room::snapshot::{PrepareSettings, Preparer};
    use proptest::prelude::*;
    use std::sync::Arc;
    use tickcast_shared::{ClientMirror, ComponentKind, ComponentState, ServerMsg, SnapshotFrame};

    /// An entity at `x` with one component holding its quantized position and a counter.
    fn entity(index: u32, x: i32, counter: i32) -> (EntityState, EntityMeta) {
        let state = EntityState {
            id: NetId::from_parts(index, 1),
            components: [ComponentState {
                kind: ComponentKind(0),
                fields: [x, counter].into_iter().collect(),
            }]
            .into_iter()
            .collect(),
        };
        let meta = EntityMeta {
            position: Some(Vec2::new(x as f32, 0.0)),
            relevance: Relevance::Spatial,
            team: None,
        };
        (state, meta)
    }

    fn snapshot(tick: u32, entities: &[(u32, i32, i32)]) -> WorldSnapshot {
        let (states, metas) = entities.iter().map(|&(i, x, c)| entity(i, x, c)).unzip();
        WorldSnapshot::new(Tick(tick), states, metas, vec![(1, tick)])
    }

    /// Prepares each snapshot as the room does, so that views use the shared change sets
    /// and world bodies (or leaves each on its own, so views diff everything).
    struct Chain {
        preparer: Option<Preparer>,
    }

    impl Chain {
        fn new(linked: bool) -> Chain {
            Chain {
                preparer: linked.then(|| {
                    Preparer::new(PrepareSettings {
                        interest_radius: None,
                        checksums: true,
                        world_body: true,
                    })
                }),
            }
        }

        fn next(&mut self, snapshot: WorldSnapshot) -> Arc<WorldSnapshot> {
            match &mut self.preparer {
                Some(preparer) => {
                    let acks = vec![(1, snapshot.tick.0)];
                    preparer.prepare(snapshot.tick, snapshot.entities, snapshot.metas, acks)
                }
                None => Arc::new(snapshot),
            }
        }
    }

    fn settings(radius: Option<f32>, budget_bytes: usize) -> ViewSettings {
        ViewSettings {
            interest_radius: radius,
            budget_bytes,
            checksums: true,
            rule: None,
        }
    }

    /// Runs a view and a client mirror side by side; returns the frame stats.
    fn deliver(view: &mut ClientView, mirror: &mut ClientMirror, snapshot: &Arc<WorldSnapshot>) -> FrameStats {
        let mut bytes = Vec::new();
        let stats = view.write_frame(snapshot, &mut bytes);
        let ServerMsg::Snapshot(frame): ServerMsg = ServerMsg::decode(&bytes).unwrap() else {
            panic!("not a snapshot")
        };
        let applied = mirror.apply_frame(&frame).unwrap();
        assert_eq!(applied.tick, snapshot.tick);
        assert!(applied.checksum_verified || frame.body.is_empty());
        assert_eq!(mirror.len(), view.held_len());
        stats
    }

    fn ids(mirror: &ClientMirror) -> Vec<u32> {
        mirror.entities().map(|e| e.id.index()).collect()
    }

    #[test]
    fn entering_scope_spawns_and_leaving_despawns() {
        let player = NetId::from_parts(0, 1);
        let mut view = ClientView::new(1, player, settings(Some(10.0), 10_000));
        let mut mirror = ClientMirror::new();
        // Player at 0; entity 1 near, entity 2 far.
        deliver(
            &mut view,
            &mut mirror,
            &Arc::new(snapshot(2, &[(0, 0, 0), (1, 5, 0), (2, 50, 0)])),
        );
        assert_eq!(ids(&mirror), vec![0, 1]);
        // Entity 2 walks in, entity 1 walks out.
        deliver(
            &mut view,
            &mut mirror,
            &Arc::new(snapshot(4, &[(0, 0, 0), (1, 30, 0), (2, 8, 0)])),
        );
        assert_eq!(ids(&mirror), vec![0, 2]);
        // The player follows entity 1.
        deliver(
            &mut view,
            &mut mirror,
            &Arc::new(snapshot(6, &[(0, 28, 0), (1, 30, 0), (2, 8, 0)])),
        );
        assert_eq!(ids(&mirror), vec![0, 1]);
        assert_eq!(
            mirror.entity(NetId::from_parts(1, 1)).unwrap().components[0].fields[0],
            30
        );
    }

    #[test]
    fn an_idle_snapshot_is_seven_bytes() {
        for linked in [false, true] {
            let mut chain = Chain::new(linked);
            let mut view = ClientView::new(1, NetId::from_parts(0, 1), settings(None, 10_000));
            let mut mirror = ClientMirror::new();
            let world = [(0, 0, 0), (1, 5, 0)];
            deliver(&mut view, &mut mirror, &chain.next(snapshot(2, &world)));
            deliver(&mut view, &mut mirror, &chain.next(snapshot(4, &world)));
            let idle = deliver(&mut view, &mut mirror, &chain.next(snapshot(6, &world)));
            assert_eq!(idle.bytes, 7, "linked: {linked}");
            assert_eq!(idle.entities_sent, 0);
        }
    }

    #[test]
    fn a_tight_budget_sends_the_own_entity_first_and_catches_up_with_bounded_staleness() {
        for linked in [false, true] {
            tight_budget_catches_up(linked);
        }
    }

    fn tight_budget_catches_up(linked: bool) {
        let mut chain = Chain::new(linked);
        let player = NetId::from_parts(0, 1);
        // Room for a handful of spawns per snapshot, not for 200.
        let mut view = ClientView::new(1, player, settings(None, 120));
        let mut mirror = ClientMirror::new();
        let mut world: Vec<(u32, i32, i32)> = (0..200).map(|i| (i, i as i32, 0)).collect();
        let first = deliver(&mut view, &mut mirror, &chain.next(snapshot(2, &world)));
        assert!(first.entities_deferred > 150, "{first:?}");
        assert!(mirror.entity(player).is_some(), "the client's own entity goes first");
        let mut worst = 0;
        for step in 2..400u32 {
            for (index, x, counter) in &mut world {
                // A tenth of the world changes every snapshot.
                if (*index + step) % 10 == 0 {
                    *counter += 1;
                    *x += 1;
                }
            }
            let stats = deliver(&mut view, &mut mirror, &chain.next(snapshot(step * 2, &world)));
            worst = worst.max(stats.max_staleness_ticks);
            assert!(
                stats.bytes <= 120,
                "frame of {} bytes over a 120-byte budget",
                stats.bytes
            );
        }
        assert_eq!(mirror.len(), 200, "everything in view was eventually sent");
        assert!(worst < 400, "staleness is bounded (worst {worst} ticks)");
        // Once the world stops changing, the client converges to it exactly.
        for step in 400..480u32 {
            deliver(&mut view, &mut mirror, &chain.next(snapshot(step * 2, &world)));
        }
        let held: Vec<EntityState> = mirror.entities().cloned().collect();
        let expected: Vec<EntityState> = world.iter().map(|&(i, x, c)| entity(i, x, c).0).collect();
        assert_eq!(held, expected);
    }

    /// A writer that skipped a snapshot holds entities as of the one before the
    /// previous: it copies the snapshot's shared encodings since then, and its frame is
    /// byte for byte the one a diff of every entity gives.
    #[test]
    fn a_writer_that_skipped_a_snapshot_copies_the_shared_changes_since_two_back() {
        let player = NetId::from_parts(0, 1);
        let worlds: Vec<Vec<(u32, i32, i32)>> = (0..4)
            .map(|step| {
                (0..20)
                    .map(|i| (i, i as i32 * 3 + step * (i as i32 % 3), step % 2))
                    .collect()
            })
            .collect();
        let mut frames = Vec::new();
        for linked in [true, false] {
            let mut chain = Chain::new(linked);
            let mut view = ClientView::new(1, player, settings(Some(100.0), 10_000));
            let mut mirror = ClientMirror::new();
            let mut last = Vec::new();
            for (step, world) in worlds.iter().enumerate() {
                let snapshot = chain.next(snapshot(2 * step as u32 + 2, world));
                if step == 2 {
                    continue;
                }
                last = Vec::new();
                view.write_frame(&snapshot, &mut last);
                let ServerMsg::Snapshot(frame) = ServerMsg::decode(&last).unwrap() else {
                    panic!("not a snapshot")
                };
                mirror.apply_frame(&frame).expect("the frame applies");
                if step == 3 {
                    assert_eq!(
                        snapshot.changes_since(Tick(4)).is_some(),
                        linked,
                        "the skipped writer has shared changes since the snapshot it holds"
                    );
                }
            }
            frames.push(last);
        }
        assert_eq!(frames[0], frames[1]);
    }

    #[test]
    fn frames_stay_within_the_budget_in_a_sparse_world() {
        // 2 000 entities spread over 200 000 slots: index gaps cost more than the estimate.
        let player = NetId::from_parts(0, 1);
        let mut view = ClientView::new(1, player, settings(None, 300));
        let mut mirror = ClientMirror::new();
        let mut world: Vec<(u32, i32, i32)> = (0..2000).map(|i| (i * 100, (i % 50) as i32, 0)).collect();
        for step in 1..60u32 {
            for (slot, _, counter) in &mut world {
                *counter += (*slot as i32 + step as i32) % 3;
            }
            let stats = deliver(&mut view, &mut mirror, &Arc::new(snapshot(step * 2, &world)));
            assert!(
                stats.bytes <= 300,
                "frame of {} bytes over a 300-byte budget",
                stats.bytes
            );
            assert!(stats.entities_deferred > 0);
        }
    }

    /// Steady movers: from the third frame on, an in-step client's body is the predicted
    /// one, a fraction of the plain one, and the client still holds exactly the world.
    #[test]
    fn steady_movers_cost_a_fraction_in_the_predicted_world_body() {
        let mut chain = Chain::new(true);
        let mut view = ClientView::spectating(1, Spectate::World, settings(None, 100_000));
        let mut mirror = ClientMirror::new();
        let mut sizes = Vec::new();
        for step in 0..6u32 {
            let world: Vec<(u32, i32, i32)> = (1..=50).map(|i| (i, (i * 10 + step * 37) as i32, 0)).collect();
            let snapshot = chain.next(snapshot(2 * step + 2, &world));
            let stats = deliver(&mut view, &mut mirror, &snapshot);
            let plain = snapshot.world_body().map(|body| body.body.len());
            sizes.push((stats.bytes, plain));
        }
        for &(bytes, plain) in &sizes[2..] {
            let plain = plain.expect("a plain body too");
            assert!(
                bytes * 2 < plain,
                "predicted frame of {bytes} bytes against a plain body of {plain}: {sizes:?}"
            );
        }
    }

    /// The body of an encoded snapshot frame.
    fn frame_body(bytes: &[u8]) -> Vec<u8> {
        match ServerMsg::decode(bytes).unwrap() {
            ServerMsg::Snapshot(frame) => frame.body,
            other => panic!("not a snapshot: {other:?}"),
        }
    }

    /// A rule that hides nothing, but makes a view's visibility its own: such a view
    /// never uses the shared world body.
    fn shows_all(_: &Viewer, _: &EntityMeta) -> bool {
        true
    }

    proptest! {
        /// Whole-world clients in step are sent the snapshot's shared bodies (plain, then
        /// predicted once the client's motion matches), which take the client to exactly
        /// the state its own diff would: across spawns, despawns, hidden entities, changes
        /// and skipped snapshots. Where the plain shared body is sent, it is byte for byte
        /// the client's own.
        #[test]
        fn the_shared_world_bodies_reach_what_a_body_of_the_clients_own_does(
            worlds in prop::collection::vec(
                prop::collection::btree_map(1u32..30, (-60i32..60, 0i32..3, any::<bool>()), 0..20), 1..14),
            skipped in prop::collection::vec(prop::bool::weighted(0.2), 14),
        ) {
            let mut chain = Chain::new(true);
            let own = ViewSettings { rule: Some(shows_all), ..settings(None, 100_000) };
            let mut shared = ClientView::spectating(1, Spectate::World, settings(Some(10.0), 100_000));
            let mut separate = ClientView::spectating(1, Spectate::World, own);
            let (mut mirror, mut own) = (ClientMirror::new(), ClientMirror::new());
            let mut in_step_frames = 0;
            for (step, world) in worlds.iter().enumerate() {
                let (entities, metas) = world
                    .iter()
                    .map(|(&i, &(x, c, hidden))| {
                        let (state, mut meta) = entity(i, x, c);
                        if hidden {
                            meta.relevance = Relevance::Hidden;
                        }
                        (state, meta)
                    })
                    .unzip();
                let snapshot = chain.next(WorldSnapshot::new(Tick(2 * step as u32 + 2), entities, metas, Vec::new()));
                if skipped[step] {
                    continue;
                }
                let (mut a, mut b) = (Vec::new(), Vec::new());
                let stats = shared.write_frame(&snapshot, &mut a);
                in_step_frames += usize::from(stats.shared_body);
                separate.write_frame(&snapshot, &mut b);
                prop_assert!(!separate.in_step());
                for (bytes, mirror) in [(&a, &mut mirror), (&b, &mut own)] {
                    let ServerMsg::Snapshot(frame) = ServerMsg::decode(bytes).unwrap() else { panic!("not a snapshot") };
                    let applied = mirror.apply_frame(&frame);
                    prop_assert!(applied.is_ok(), "{:?}", applied);
                }
                let plain = snapshot.world_body().is_some_and(|body| body.body == frame_body(&a));
                prop_assert!(!plain || a == b, "a plain shared body is the client's own");
                prop_assert!(mirror.entities().eq(own.entities()));
                prop_assert_eq!(mirror.len(), shared.held_len());
                prop_assert_eq!(stats.in_view, world.values().filter(|(_, _, hidden)| !hidden).count());
            }
            // Every frame right after another is the shared body (after a skipped snapshot
            // the body since the previous one does not apply, and the view diffs).
            let followed_a_frame = (1..worlds.len()).filter(|&i| !skipped[i] && !skipped[i - 1]).count();
            prop_assert_eq!(in_step_frames, followed_a_frame);
        }

        /// Arbitrary worlds, viewpoints, radii and budgets: every frame applies cleanly
        /// with a matching checksum, whatever enters or leaves scope.
        #[test]
        fn the_mirror_always_matches_what_the_view_sent(
            worlds in prop::collection::vec(
                prop::collection::btree_map(1u32..40, (-60i32..60, 0i32..3), 0..30), 1..12),
            player_xs in prop::collection::vec(-60i32..60, 12),
            radius in prop_oneof![Just(None), (5.0f32..80.0).prop_map(Some)],
            budget in 40usize..2000,
            linked: bool,
            skipped in prop::collection::vec(any::<bool>(), 12),
        ) {
            let mut chain = Chain::new(linked);
            let player = NetId::from_parts(0, 1);
            let mut view = ClientView::new(1, player, settings(radius, budget));
            let mut mirror = ClientMirror::new();
            for (step, world) in worlds.iter().enumerate() {
                let mut entities = vec![(0, player_xs[step], 0)];
                entities.extend(world.iter().map(|(&i, &(x, c))| (i, x, c)));
                let snapshot = chain.next(snapshot(2 * step as u32 + 2, &entities));
                if skipped[step] {
                    // A writer that fell behind: this snapshot is never written.
                    continue;
                }
                let mut bytes = Vec::new();
                let stats = view.write_frame(&snapshot, &mut bytes);
                // Over budget only when one entity alone (plus despawns) does not fit.
                prop_assert!(stats.bytes <= budget.max(100) || stats.entities_sent <= 1 || budget < 100,
                    "{} bytes over a budget of {}", stats.bytes, budget);
                let ServerMsg::Snapshot(frame): ServerMsg = ServerMsg::decode(&bytes).unwrap() else {
                    panic!("not a snapshot")
                };
                let frame: SnapshotFrame = frame;
                let applied = mirror.apply_frame(&frame);
                prop_assert!(applied.is_ok(), "{:?}", applied);
                prop_assert!(mirror.entity(player).is_some());
                prop_assert_eq!(mirror.len(), view.held_len());
            }
        }
    }
}
