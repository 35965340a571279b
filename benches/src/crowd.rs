//! A crowd of 10 000 arena entities watched by 1 000 clients, to measure interest
//! management and prioritisation at scale (the case: each client sees about 200
//! entities) and the staleness they give under the default bandwidth budget.
//!
//! **The world.** [`Crowd`] scatters `entities` arena entities (`Transform2`, `Health`,
//! `EntityKind`, as the server captures them, with [`Relevance::Spatial`] metadata) uniformly
//! over a square of side [`SIDE`]. Every `entities / clients`-th entity is a client's
//! player. [`interest_radius`] solves for the radius whose disc, edge effects included,
//! holds `in_view` entities on average (about 33 units for the defaults, close to the
//! server's default of 30). Each snapshot interval ([`TICKS_PER_SNAPSHOT`] ticks at 60 Hz)
//! every player walks at the arena's player speed and a fixed fraction of the drones
//! ([`MOVING_FRACTION`] by default) at drone speed, turning a little each time and
//! bouncing off the edges; the rest stand still, so their state does not change.
//!
//! **The clients.** [`Crowd::view`] makes a `ClientView` with the server's defaults: the
//! computed radius, [`DEFAULT_BUDGET_BYTES`] (256 kbit/s at 30 snapshots/s) and
//! checksums. The interest bench times `ClientView::write_frame` per client per snapshot;
//! [`run_views`] drives many views over many snapshots and [`StalenessReport`] sums up
//! what their `FrameStats` say: the longest a sent change waited, frame sizes and
//! deferrals.
//!
//! **An independent check.** `FrameStats::max_staleness_ticks` only covers changes that
//! were sent; a change that waits forever would never show in it. [`run_views`] therefore
//! also decodes the frames of a sample of clients into a `ClientMirror` and, for every
//! entity in that client's view, tracks since when the mirror has differed from the
//! snapshot ([`Observed`]): the longest any in-view entity was out of date, sent or not.
//!
//! Everything is deterministic for a given seed.

use glam::Vec2;
use std::collections::HashMap;
use std::sync::Arc;
use tickcast_server::game::rules::{DRONE_HEALTH, DRONE_SPEED, PLAYER_HEALTH, PLAYER_SPEED};
use tickcast_server::room::interest::{EntityMeta, InterestGrid, Relevance, Viewer};
use tickcast_server::room::{ClientView, FrameStats, PrepareSettings, Preparer, ViewSettings, WorldSnapshot};
use tickcast_shared::arena::{EntityKind, Health, Transform2};
use tickcast_shared::{
    ClientMirror, ComponentState, Components, EntityState, Fields, NetId, Replicate, ServerMsg, Tick,
};

/// Entities in the crowd.
pub const ENTITIES: usize = 10_000;
/// Clients watching it, each owning one of the entities.
pub const CLIENTS: usize = 1_000;
/// Entities each client should see on average (its own included).
pub const IN_VIEW: f32 = 200.0;
/// Side of the square the crowd stands on, world units.
pub const SIDE: f32 = 400.0;
/// Fraction of the drones that walk; the others stand still. Players always walk.
pub const MOVING_FRACTION: f32 = 0.1;
/// Simulation ticks per second (the server's default).
pub const TICK_RATE: u32 = 60;
/// Ticks between snapshots (the server's default: 30 snapshots per second).
pub const TICKS_PER_SNAPSHOT: u32 = 2;
/// The server's default per-client budget: 256 kbit/s at 30 snapshots per second, in
/// bytes per snapshot (`Config::budget_bytes_per_snapshot`).
pub const DEFAULT_BUDGET_BYTES: usize = 256_000 / 8 / 30;
/// Most a walker turns per snapshot, radians either way.
const MAX_TURN: f32 = 0.3;

/// How a crowd is built.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CrowdSettings {
    /// Entities in the world.
    pub entities: usize,
    /// Clients; every `entities / clients`-th entity is a player.
    pub clients: usize,
    /// Entities each client should see on average.
    pub in_view: f32,
    /// Side of the square world.
    pub side: f32,
    /// Fraction of the drones that walk.
    pub moving_fraction: f32,
    /// Seed of the placement, the walkers and their turns.
    pub seed: u64,
}

impl Default for CrowdSettings {
    fn default() -> Self {
        CrowdSettings {
            entities: ENTITIES,
            clients: CLIENTS,
            in_view: IN_VIEW,
            side: SIDE,
            moving_fraction: MOVING_FRACTION,
            seed: 1,
        }
    }
}

/// Expected entities within `radius` of an entity placed uniformly at random on a square
/// of side `side` holding `entities` entities uniformly at random (itself included): the
/// mean area of a disc clipped by the square, `π r² - 8 r³ / 3 L + r⁴ / 2 L²` (for
/// `r <= L / 2`), times the density of the others.
pub fn expected_in_view(entities: usize, radius: f32, side: f32) -> f32 {
    let (r, l) = (f64::from(radius), f64::from(side));
    let area = std::f64::consts::PI * r * r - 8.0 * r.powi(3) / (3.0 * l) + r.powi(4) / (2.0 * l * l);
    (1.0 + (entities as f64 - 1.0) * area / (l * l)) as f32
}

/// The interest radius at which a client sees `in_view` entities on average (see
/// [`expected_in_view`]), found by bisection.
///
/// # Panics
/// If `in_view` needs a radius beyond half the side.
pub fn interest_radius(entities: usize, in_view: f32, side: f32) -> f32 {
    let (mut low, mut high) = (0.0f32, side / 2.0);
    assert!(
        expected_in_view(entities, high, side) >= in_view,
        "{in_view} in view needs a radius beyond half the side"
    );
    for _ in 0..60 {
        let middle = (low + high) / 2.0;
        if expected_in_view(entities, middle, side) < in_view {
            low = middle;
        } else {
            high = middle;
        }
    }
    high
}

/// One entity of the crowd.
#[derive(Clone, Copy, Debug)]
struct Agent {
    position: Vec2,
    heading: f32,
    kind: EntityKind,
    /// Distance per snapshot; zero for those standing still.
    step: f32,
}

/// A crowd and the tick it is at.
#[derive(Clone, Debug)]
pub struct Crowd {
    settings: CrowdSettings,
    radius: f32,
    tick: Tick,
    agents: Vec<Agent>,
    rng: fastrand::Rng,
}

impl Crowd {
    /// A crowd at tick `TICKS_PER_SNAPSHOT` (a snapshot tick), everyone placed.
    ///
    /// # Panics
    /// If there are no clients or more clients than entities.
    pub fn new(settings: CrowdSettings) -> Crowd {
        assert!(settings.clients > 0 && settings.clients <= settings.entities);
        let mut rng = fastrand::Rng::with_seed(settings.seed);
        let stride = settings.entities / settings.clients;
        let seconds_per_snapshot = TICKS_PER_SNAPSHOT as f32 / TICK_RATE as f32;
        let agents = (0..settings.entities)
            .map(|index| {
                let position = Vec2::new(rng.f32(), rng.f32()) * settings.side;
                let heading = rng.f32() * std::f32::consts::TAU;
                let walks = rng.f32() < settings.moving_fraction;
                let is_player = index % stride == 0 && index / stride < settings.clients;
                let (kind, speed) = match (is_player, walks) {
                    (true, _) => (EntityKind::Player, PLAYER_SPEED),
                    (false, true) => (EntityKind::Drone, DRONE_SPEED),
                    (false, false) => (EntityKind::Drone, 0.0),
                };
                Agent {
                    position,
                    heading,
                    kind,
                    step: speed * seconds_per_snapshot,
                }
            })
            .collect();
        Crowd {
            radius: interest_radius(settings.entities, settings.in_view, settings.side),
            settings,
            tick: Tick(TICKS_PER_SNAPSHOT),
            agents,
            rng,
        }
    }

    /// How it was built.
    pub fn settings(&self) -> &CrowdSettings {
        &self.settings
    }

    /// The interest radius giving `in_view` entities per client.
    pub fn radius(&self) -> f32 {
        self.radius
    }

    /// The tick of the next [`Crowd::snapshot`].
    pub fn tick(&self) -> Tick {
        self.tick
    }

    /// Entities that walk (players and walking drones).
    pub fn walkers(&self) -> usize {
        self.agents.iter().filter(|a| a.step > 0.0).count()
    }

    /// The `NetId` of entity `index`: slots `1..`, generation 1, as a fresh room assigns.
    pub fn net_id(index: usize) -> NetId {
        NetId::from_parts(u32::try_from(index + 1).expect("fewer than 2^32 entities"), 1)
    }

    /// The entity `client` (in `0..clients`) controls.
    pub fn player(&self, client: usize) -> NetId {
        assert!(client < self.settings.clients, "no client {client}");
        Crowd::net_id(client * (self.settings.entities / self.settings.clients))
    }

    /// A view for `client` with the server's defaults: the crowd's radius, `budget_bytes`
    /// per snapshot, checksums on.
    pub fn view(&self, client: usize, budget_bytes: usize) -> ClientView {
        let settings = ViewSettings {
            interest_radius: Some(self.radius),
            budget_bytes,
            checksums: true,
            rule: None,
        };
        ClientView::new(client as u32 + 1, self.player(client), settings)
    }

    /// Views for clients `0..clients` under the default budget.
    pub fn views(&self, clients: usize) -> Vec<ClientView> {
        (0..clients)
            .map(|client| self.view(client, DEFAULT_BUDGET_BYTES))
            .collect()
    }

    /// Moves on one snapshot interval: every walker turns by up to 0.3 radians and walks
    /// its step, reflected at the edges.
    pub fn advance(&mut self) {
        let side = self.settings.side;
        for agent in &mut self.agents {
            if agent.step == 0.0 {
                continue;
            }
            agent.heading = (agent.heading + (self.rng.f32() * 2.0 - 1.0) * MAX_TURN).rem_euclid(std::f32::consts::TAU);
            let mut next = agent.position + Vec2::from_angle(agent.heading) * agent.step;
            let mut direction = Vec2::from_angle(agent.heading);
            for axis in 0..2 {
                if !(0.0..=side).contains(&next[axis]) {
                    next[axis] = next[axis].clamp(0.0, side);
                    direction[axis] = -direction[axis];
                }
            }
            agent.heading = direction.to_angle().rem_euclid(std::f32::consts::TAU);
            agent.position = next;
        }
        self.tick = self.tick.offset(TICKS_PER_SNAPSHOT as i32);
    }

    /// The snapshot a room would capture now: every entity's quantized state, sorted by
    /// `NetId`, and its interest metadata; no input acks.
    pub fn snapshot(&self) -> WorldSnapshot {
        let (entities, metas) = self
            .agents
            .iter()
            .enumerate()
            .map(|(index, agent)| {
                let transform = Transform2 {
                    position: agent.position,
                    angle: agent.heading,
                };
                let health = Health(match agent.kind {
                    EntityKind::Player => PLAYER_HEALTH,
                    _ => DRONE_HEALTH,
                });
                let components: Components = [component(&transform), component(&health), component(&agent.kind)]
                    .into_iter()
                    .collect();
                let meta = EntityMeta {
                    position: Some(agent.position),
                    relevance: Relevance::Spatial,
                    team: None,
                };
                (
                    EntityState {
                        id: Crowd::net_id(index),
                        components,
                    },
                    meta,
                )
            })
            .unzip();
        WorldSnapshot::new(self.tick, entities, metas, Vec::new())
    }
}

impl Crowd {
    /// A preparer as a room with this crowd's interest radius has (checksums on).
    pub fn preparer(&self) -> Preparer {
        Preparer::new(PrepareSettings {
            interest_radius: Some(self.radius),
            checksums: true,
            world_body: true,
        })
    }

    /// The snapshot a room would capture now, prepared by `preparer` as a room prepares
    /// its captures (interest grid, hashes, changes since the two snapshots before);
    /// then moves the crowd on one interval.
    pub fn next_linked(&mut self, preparer: &mut Preparer) -> Arc<WorldSnapshot> {
        let snapshot = self.snapshot();
        self.advance();
        preparer.prepare(snapshot.tick, snapshot.entities, snapshot.metas, Vec::new())
    }
}

/// One component, quantized by its `Replicate` impl as the server captures it.
fn component<T: Replicate>(value: &T) -> ComponentState {
    let mut fields = Fields::new();
    value.quantize(&mut fields);
    ComponentState { kind: T::KIND, fields }
}

/// A sampled client's frames decoded into a mirror, and since when each entity in its
/// view has differed from the snapshot: staleness as the client experiences it, whether
/// or not the change was ever sent.
#[derive(Debug)]
pub struct Observed {
    client: usize,
    mirror: ClientMirror,
    /// Entities in view whose mirrored state differs from the snapshot, and the snapshot
    /// tick since which it has.
    stale_since: HashMap<NetId, Tick>,
    visible: Vec<u32>,
    /// Longest an entity was out of date before the client caught up with it, ticks.
    pub max_caught_up_ticks: u32,
    /// Longest an entity in view is out of date now (not caught up yet), ticks.
    pub max_pending_ticks: u32,
}

impl Observed {
    /// Starts observing `client`, which holds nothing yet.
    pub fn new(client: usize) -> Observed {
        Observed {
            client,
            mirror: ClientMirror::new(),
            stale_since: HashMap::new(),
            visible: Vec::new(),
            max_caught_up_ticks: 0,
            max_pending_ticks: 0,
        }
    }

    /// Applies the frame `bytes` the client was sent for `snapshot` and compares every
    /// entity it should see with what it now holds.
    ///
    /// # Panics
    /// If the frame does not decode or apply, or its checksum differs: the view and the
    /// client diverged.
    pub fn observe(&mut self, crowd: &Crowd, snapshot: &WorldSnapshot, bytes: &[u8]) {
        let ServerMsg::Snapshot(frame) = ServerMsg::decode(bytes).expect("a frame decodes") else {
            panic!("a view wrote something other than a snapshot")
        };
        let applied = self.mirror.apply_frame(&frame).expect("a frame applies");
        assert!(applied.checksum_verified || frame.body.is_empty());
        let player = crowd.player(self.client);
        let own = snapshot.index_of(player).expect("players never leave");
        let viewer = Viewer {
            client: self.client as u32 + 1,
            player: Some(player),
            position: snapshot.metas[own].position.expect("every entity is placed"),
            team: None,
        };
        let radius = crowd.radius();
        InterestGrid::build(&snapshot.metas, radius).visible(
            &viewer,
            radius,
            &snapshot.metas,
            None,
            &mut self.visible,
            &mut Vec::new(),
        );
        let tick = snapshot.tick;
        let mut stale_now = HashMap::with_capacity(self.stale_since.len());
        for &index in &self.visible {
            let entity = &snapshot.entities[index as usize];
            let since = self.stale_since.get(&entity.id).copied();
            if self.mirror.entity(entity.id) == Some(entity) {
                if let Some(since) = since {
                    self.max_caught_up_ticks = self.max_caught_up_ticks.max(tick.since(since).max(0) as u32);
                }
            } else {
                stale_now.insert(entity.id, since.unwrap_or(tick));
            }
        }
        self.max_pending_ticks = stale_now
            .values()
            .map(|since| tick.since(*since).max(0) as u32)
            .max()
            .unwrap_or(0);
        self.stale_since = stale_now;
    }

    /// Longest any entity in view has been out of date: caught up or still pending.
    pub fn max_staleness_ticks(&self) -> u32 {
        self.max_caught_up_ticks.max(self.max_pending_ticks)
    }
}

/// Writes one frame per view for each of `snapshots` snapshots of `crowd`, advancing it
/// after each, and returns every frame's stats in order (snapshot by snapshot, view by
/// view). `observed` clients (indices into `views`) also have their frames checked by an
/// [`Observed`] mirror.
pub fn run_views(
    crowd: &mut Crowd,
    views: &mut [ClientView],
    snapshots: usize,
    observed: &mut [Observed],
) -> Vec<FrameStats> {
    let mut stats = Vec::with_capacity(snapshots * views.len());
    let mut out = Vec::new();
    for _ in 0..snapshots {
        let snapshot = Arc::new(crowd.snapshot());
        let mut watch = observed.iter_mut().peekable();
        for (client, view) in views.iter_mut().enumerate() {
            stats.push(view.write_frame(&snapshot, &mut out));
            if let Some(observer) = watch.next_if(|o| o.client == client) {
                observer.observe(crowd, &snapshot, &out);
            }
        }
        crowd.advance();
    }
    stats
}

/// What many frames of many clients add up to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StalenessReport {
    /// Frames summed up.
    pub frames: usize,
    /// Largest `FrameStats::max_staleness_ticks`: the longest a sent change waited.
    pub max_staleness_ticks: u32,
    /// 99th percentile of `FrameStats::max_staleness_ticks` over frames.
    pub p99_staleness_ticks: u32,
    /// Frames that sent a change which had waited at least one snapshot.
    pub frames_with_staleness: usize,
    /// Mean frame bytes.
    pub mean_frame_bytes: f64,
    /// Largest frame, bytes.
    pub max_frame_bytes: usize,
    /// Frames larger than the budget.
    pub frames_over_budget: usize,
    /// Mean entities in view.
    pub mean_in_view: f64,
    /// Mean entities sent (spawned, updated or despawned) per frame.
    pub mean_sent: f64,
    /// Mean entities deferred per frame (in view, changed, did not fit).
    pub mean_deferred: f64,
    /// Frames that deferred at least one entity.
    pub frames_deferring: usize,
}

impl StalenessReport {
    /// Sums up `frames` against a budget of `budget_bytes` per frame.
    pub fn new(frames: &[FrameStats], budget_bytes: usize) -> StalenessReport {
        let count = frames.len().max(1) as f64;
        let mut staleness: Vec<u32> = frames.iter().map(|f| f.max_staleness_ticks).collect();
        staleness.sort_unstable();
        let p99 = staleness
            .get((staleness.len() * 99).div_ceil(100).saturating_sub(1))
            .copied()
            .unwrap_or(0);
        let sum = |field: fn(&FrameStats) -> usize| frames.iter().map(field).sum::<usize>() as f64 / count;
        StalenessReport {
            frames: frames.len(),
            max_staleness_ticks: staleness.last().copied().unwrap_or(0),
            p99_staleness_ticks: p99,
            frames_with_staleness: frames.iter().filter(|f| f.max_staleness_ticks > 0).count(),
            mean_frame_bytes: sum(|f| f.bytes),
            max_frame_bytes: frames.iter().map(|f| f.bytes).max().unwrap_or(0),
            frames_over_budget: frames.iter().filter(|f| f.bytes > budget_bytes).count(),
            mean_in_view: sum(|f| f.in_view),
            mean_sent: sum(|f| f.entities_sent),
            mean_deferred: sum(|f| f.entities_deferred),
            frames_deferring: frames.iter().filter(|f| f.entities_deferred > 0).count(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> CrowdSettings {
        CrowdSettings {
            entities: 1_000,
            clients: 50,
            in_view: 60.0,
            side: 100.0,
            moving_fraction: 0.2,
            seed: 3,
        }
    }

    #[test]
    fn the_radius_gives_the_asked_for_crowd_in_view() {
        let radius = interest_radius(ENTITIES, IN_VIEW, SIDE);
        assert!((expected_in_view(ENTITIES, radius, SIDE) - IN_VIEW).abs() < 0.01);
        assert!((28.0..40.0).contains(&radius), "{radius}");
        let crowd = Crowd::new(CrowdSettings::default());
        let snapshot = crowd.snapshot();
        let grid = InterestGrid::build(&snapshot.metas, crowd.radius());
        let mut visible = Vec::new();
        let mut total = 0;
        for client in 0..CLIENTS {
            let own = snapshot.index_of(crowd.player(client)).unwrap();
            let viewer = Viewer {
                client: 1,
                player: Some(crowd.player(client)),
                position: snapshot.metas[own].position.unwrap(),
                team: None,
            };
            grid.visible(
                &viewer,
                crowd.radius(),
                &snapshot.metas,
                None,
                &mut visible,
                &mut Vec::new(),
            );
            assert!(visible.binary_search(&(own as u32)).is_ok());
            total += visible.len();
        }
        let mean = total as f32 / CLIENTS as f32;
        assert!(
            (IN_VIEW * 0.93..IN_VIEW * 1.07).contains(&mean),
            "{mean} in view on average"
        );
    }

    #[test]
    fn the_crowd_is_well_formed_and_walkers_walk() {
        let mut crowd = Crowd::new(small());
        let first = crowd.snapshot();
        assert_eq!(first.entities.len(), 1_000);
        assert!(first.entities.windows(2).all(|w| w[0].id < w[1].id));
        assert!(first.entities.iter().all(EntityState::is_well_formed));
        let players = (0..50).map(|c| crowd.player(c)).collect::<Vec<_>>();
        for (entity, meta) in first.entities.iter().zip(&first.metas) {
            let kind = entity.get::<EntityKind>().unwrap();
            assert_eq!(kind == EntityKind::Player, players.contains(&entity.id));
            let transform = entity.get::<Transform2>().unwrap();
            assert!(transform.position.distance(meta.position.unwrap()) < 0.01);
        }
        let walkers = crowd.walkers();
        assert!((50 + 150..50 + 230).contains(&walkers), "{walkers} walkers");
        crowd.advance();
        let second = crowd.snapshot();
        assert_eq!(second.tick, Tick(first.tick.0 + TICKS_PER_SNAPSHOT));
        let changed = first
            .entities
            .iter()
            .zip(&second.entities)
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(changed, walkers);
        assert!(second.metas.iter().all(|m| {
            let p = m.position.unwrap();
            (0.0..=100.0).contains(&p.x) && (0.0..=100.0).contains(&p.y)
        }));
        let again = Crowd::new(small());
        assert_eq!(again.snapshot().entities, first.entities);
    }

    #[test]
    fn views_stay_in_step_with_their_clients_and_staleness_is_what_clients_see() {
        let mut crowd = Crowd::new(small());
        let clients = 20;
        let mut views: Vec<ClientView> = (0..clients).map(|c| crowd.view(c, 300)).collect();
        let mut observed: Vec<Observed> = (0..clients).step_by(3).map(Observed::new).collect();
        let frames = run_views(&mut crowd, &mut views, 40, &mut observed);
        assert_eq!(frames.len(), 40 * clients);
        let report = StalenessReport::new(&frames, 300);
        // A tight budget: the first frames defer most of the view, later ones catch up.
        assert!(report.frames_deferring > 0, "{report:?}");
        assert!(report.max_staleness_ticks > 0, "{report:?}");
        let steady = StalenessReport::new(&frames[20 * clients..], 300);
        assert!(steady.mean_deferred < report.mean_deferred, "{steady:?} {report:?}");
        for (client, observer) in (0..clients).step_by(3).zip(&observed) {
            let sent: u32 = frames
                .iter()
                .skip(client)
                .step_by(clients)
                .map(|f| f.max_staleness_ticks)
                .max()
                .unwrap();
            // What the client saw catch up is exactly what the view reports it sent late.
            assert_eq!(observer.max_caught_up_ticks, sent, "client {client}");
            assert!(observer.max_staleness_ticks() >= sent);
        }
    }

    #[test]
    fn the_report_sums_up_frames() {
        let frame = |bytes, staleness, deferred| FrameStats {
            bytes,
            entities_sent: 2,
            entities_deferred: deferred,
            max_staleness_ticks: staleness,
            in_view: 10,
            shared_body: false,
        };
        let mut frames: Vec<FrameStats> = (0..99).map(|_| frame(100, 0, 0)).collect();
        frames.push(frame(2_000, 8, 3));
        let report = StalenessReport::new(&frames, 1_066);
        assert_eq!(report.frames, 100);
        assert_eq!((report.max_staleness_ticks, report.p99_staleness_ticks), (8, 0));
        assert_eq!((report.frames_over_budget, report.frames_deferring), (1, 1));
        assert_eq!(report.max_frame_bytes, 2_000);
        assert!((report.mean_frame_bytes - 119.0).abs() < 1e-9);
        frames.push(frame(100, 6, 0));
        assert_eq!(StalenessReport::new(&frames, 1_066).p99_staleness_ticks, 6);
    }
}
