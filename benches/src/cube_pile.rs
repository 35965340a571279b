//! The "cube pile": a 3D rigid-body scene of the shape of Glenn Fiedler's *Snapshot
//! Compression* demo, to measure what tickcast's delta codec costs on bodies with a
//! position and an orientation (the target: at most 8 bytes per changed body).
//!
//! **The scene.** 900 one-metre cubes rest on a floor in a 30 x 30 grid, 1.5 m apart
//! (so the pile spans about 44 m), and one 2 m "player" cube drives through them at
//! 5 m/s, zig-zagging and circling, for 901 bodies at 60 Hz. The player is kinematic;
//! cubes it touches are knocked ahead of it with a little hop and a tumble, knock their
//! neighbours in turn, slide to a stop under Coulomb friction, settle flat on a face and
//! fall asleep (velocity exactly zero, state frozen), as in a physics engine with
//! sleeping. It is cheap and deliberately crude (cubes collide as vertical cylinders of
//! their own width, there is no stacking), but the motion has the properties that matter
//! for bandwidth: a moving front of fast, tumbling bodies, a wake of slowing ones, and
//! most of the world at rest. Everything is deterministic and dependency free: no random
//! numbers, a fixed step, a fixed iteration order.
//!
//! **The wire state.** Each body has one replicated component holding its position and
//! orientation, quantized as Fiedler does (his bounds were ±256 m horizontally at 1/512 m
//! and 9-bit smallest-three quaternions):
//!
//! - position: [`POSITION`], a [`Vec3Quantizer`] of step 1/512 m over ±256 m per axis
//!   (fields within ±131 072, 18 bits absolute);
//! - orientation: [`ORIENTATION`], a smallest-three [`QuatQuantizer`] of 9 bits per sent
//!   component (worst rotation error 0.57°).
//!
//! [`Layout::OneKind`] puts the seven fields in one component kind and
//! [`Layout::TwoKinds`] splits them into a position kind and an orientation kind. An
//! update spends one "changed" bit per held component and then one bit per field of each
//! changed component, so a split costs one bit more for a body that moves and turns and
//! saves two or three for one that only slides or only turns; a spawn of the split costs
//! about four bits more. On this scene the two are within 1% of each other: one kind is
//! smaller against the six-tick baseline (and its full snapshot is 4% smaller), two kinds
//! is 0.4% smaller against the one-tick baseline. [`LAYOUT`] is therefore
//! [`Layout::OneKind`]; the bandwidth bench prints both.
//!
//! **The measurement.** [`Trace::record`] runs the scene and keeps every tick's quantized
//! poses; [`measure`] encodes, for each tick `t`, the delta from tick `t - baseline` to
//! tick `t` exactly as a connection writer does (`diff_into`, the bit-packed
//! `encode_body` with the checksum the server sends by default, and the MessagePack frame
//! envelope `ServerMsg::encode_snapshot_into`), and averages bytes per packet, changed
//! bodies per packet and bytes per changed body. A baseline of one tick is a client that
//! acknowledges everything at once; six ticks is Fiedler's case of a baseline 100 ms old.

use glam::{Quat, Vec2, Vec3};
use std::collections::VecDeque;
use tickcast_shared::quantize::{QuatQuantizer, Vec3Quantizer};
use tickcast_shared::{
    ComponentKind, ComponentState, Components, Delta, EntityState, Fields, InputAck, NetId, ServerMsg, checksum,
    diff_into, encode_body,
};

/// Cubes per side of the grid.
pub const GRID: usize = 30;
/// Cubes in the pile.
pub const CUBES: usize = GRID * GRID;
/// Bodies in the scene: the cubes and the player.
pub const BODIES: usize = CUBES + 1;
/// Simulation steps (and packets) per second.
pub const TICK_RATE: u32 = 60;
/// Ticks [`Trace::record`] is usually asked for: 20 s.
pub const TRACE_TICKS: u32 = 20 * TICK_RATE;
/// Half the edge of a cube, metres.
pub const CUBE_HALF: f32 = 0.5;
/// Half the edge of the player cube, metres.
pub const PLAYER_HALF: f32 = 1.0;
/// Distance between neighbouring cube centres at the start, metres.
pub const SPACING: f32 = 1.5;
/// Speed of the player, metres per second.
pub const PLAYER_SPEED: f32 = 5.0;
/// Fields of one body's pose: `[x, y, z, largest, a, b, c]`.
pub const POSE_FIELDS: usize = 7;

/// Positions: 1/512 m over ±256 m on each axis (Fiedler's resolution and horizontal bounds).
pub const POSITION: Vec3Quantizer = Vec3Quantizer::new(1.0 / 512.0, -256.0, 256.0);
/// Orientations: smallest three with 9 bits per sent component (Fiedler's choice).
pub const ORIENTATION: QuatQuantizer = QuatQuantizer::new(9);

/// How a body's pose is laid out in replicated components.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One component, kind 0: `[x, y, z, largest, a, b, c]`.
    OneKind,
    /// Two components: kind 0 `[x, y, z]` and kind 1 `[largest, a, b, c]`.
    TwoKinds,
}

/// The layout the bench reports first: the smaller one on this scene (see the module docs).
pub const LAYOUT: Layout = Layout::OneKind;

impl Layout {
    /// A short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Layout::OneKind => "one kind (7 fields)",
            Layout::TwoKinds => "two kinds (3 + 4 fields)",
        }
    }

    /// An identifier for bench names.
    pub fn id(self) -> &'static str {
        match self {
            Layout::OneKind => "one_kind",
            Layout::TwoKinds => "two_kinds",
        }
    }
}

/// Fixed step, seconds.
const DT: f32 = 1.0 / TICK_RATE as f32;
/// Gravity, m/s².
const GRAVITY: f32 = 9.81;
/// Coulomb friction coefficient of a cube sliding on the floor.
const FRICTION: f32 = 0.5;
/// Normal restitution of cube-cube, cube-player and cube-floor contacts.
const RESTITUTION: f32 = 0.3;
/// Downward speeds below this stop at the floor instead of bouncing, m/s.
const BOUNCE_SPEED: f32 = 0.5;
/// Fraction of its spin a cube on the floor keeps each tick.
const SPIN_DAMPING: f32 = 0.92;
/// Vertical speed a push adds per m/s of impulse: the hop that lets a cube tumble.
const HOP: f32 = 0.12;
/// Tumbling spin a push adds, as a fraction of rolling without slipping.
const TUMBLE: f32 = 0.6;
/// Spin about the vertical axis per m/s of a glancing blow's tangential speed.
const GLANCE_SPIN: f32 = 0.5;
/// Below this spin (rad/s) a cube on the floor settles onto its nearest face.
const SETTLE_SPIN: f32 = 2.0;
/// Fraction of the remaining tilt a settling cube removes each tick.
const SETTLE_RATE: f32 = 0.2;
/// Tilts below this (radians) are removed at once.
const SNAP_TILT: f32 = 1e-3;
/// A cube slower than this (m/s and rad/s), flat on the floor, counts as still.
const SLEEP_SPEED: f32 = 0.05;
/// Largest tilt (radians) of a cube that may fall asleep.
const SLEEP_TILT: f32 = 0.01;
/// Consecutive still ticks before a cube falls asleep.
const SLEEP_TICKS: u32 = 15;
/// Walls at ±this many metres keep everything on the floor.
const WALL: f32 = 60.0;
/// Collision grid cell: one cube width, so touching cubes are in neighbouring cells.
const CELL: f32 = 2.0 * CUBE_HALF;
/// Collision grid cells per side, covering the walls.
const CELLS: usize = (2.0 * WALL / CELL) as usize;
/// Overlaps below this (metres) neither separate nor wake sleeping cubes.
const SLOP: f32 = 1e-3;
/// Where the player starts, outside the pile on its -x side.
const PLAYER_START: Vec2 = Vec2::new(-26.0, 0.3);
/// Beyond this distance from the centre the player steers back towards it.
const PLAYER_ROAM: f32 = 18.0;

/// One rigid body of the scene.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Body {
    /// Centre, metres; z is up and the floor is at z = 0.
    pub position: Vec3,
    /// Linear velocity, m/s.
    pub velocity: Vec3,
    /// Orientation.
    pub orientation: Quat,
    /// Angular velocity, rad/s, world axes.
    pub spin: Vec3,
    /// Asleep: at rest, skipped by the integrator until something touches it.
    pub asleep: bool,
    /// Consecutive ticks it has been still (see [`SLEEP_TICKS`]).
    still: u32,
}

impl Body {
    fn at_rest(position: Vec3, orientation: Quat) -> Body {
        Body {
            position,
            velocity: Vec3::ZERO,
            orientation,
            spin: Vec3::ZERO,
            asleep: true,
            still: SLEEP_TICKS,
        }
    }

    fn wake(&mut self) {
        self.asleep = false;
        self.still = 0;
    }
}

/// Height of the centre of a cube of half-edge `half` standing on the floor in
/// `orientation`: half its extent along the vertical, so a tumbling cube rises onto its
/// edges instead of sinking into the floor.
fn floor_height(orientation: Quat, half: f32) -> f32 {
    let [x, y, z] = [Vec3::X, Vec3::Y, Vec3::Z].map(|axis| (orientation * axis).z.abs());
    half * (x + y + z)
}

/// The rotation that takes `orientation` to the nearest face-down orientation, and its
/// angle: the local axis closest to the vertical, rotated onto it.
fn tilt_correction(orientation: Quat) -> (Quat, f32) {
    let mut most_vertical = orientation * Vec3::X;
    for axis in [Vec3::Y, Vec3::Z] {
        let candidate = orientation * axis;
        if candidate.z.abs() > most_vertical.z.abs() {
            most_vertical = candidate;
        }
    }
    if most_vertical.z < 0.0 {
        most_vertical = -most_vertical;
    }
    let most_vertical = most_vertical.normalize();
    let angle = most_vertical.z.clamp(-1.0, 1.0).acos();
    (Quat::from_rotation_arc(most_vertical, Vec3::Z), angle)
}

/// The scene: the bodies (index 0 is the player) and the player's steering state.
#[derive(Clone, Debug)]
pub struct CubePile {
    bodies: Vec<Body>,
    starts: Vec<Vec3>,
    tick: u32,
    heading: f32,
    /// Collision grid scratch: cubes sorted by cell (counting sort), and where each cell
    /// starts in that order.
    cell_start: Vec<u32>,
    by_cell: Vec<u32>,
}

impl Default for CubePile {
    fn default() -> Self {
        CubePile::new()
    }
}

impl CubePile {
    /// The scene at tick 0: every cube asleep on its grid point, the player at rest
    /// outside the pile facing it.
    pub fn new() -> CubePile {
        let mut bodies = Vec::with_capacity(BODIES);
        bodies.push(Body {
            asleep: false,
            ..Body::at_rest(PLAYER_START.extend(PLAYER_HALF), Quat::IDENTITY)
        });
        let origin = -(GRID as f32 - 1.0) * SPACING / 2.0;
        for row in 0..GRID {
            for column in 0..GRID {
                let position = Vec3::new(
                    origin + column as f32 * SPACING,
                    origin + row as f32 * SPACING,
                    CUBE_HALF,
                );
                bodies.push(Body::at_rest(position, Quat::IDENTITY));
            }
        }
        CubePile {
            starts: bodies.iter().map(|b| b.position).collect(),
            bodies,
            tick: 0,
            heading: 0.0,
            cell_start: vec![0; CELLS * CELLS + 1],
            by_cell: vec![0; CUBES],
        }
    }

    /// Ticks stepped so far.
    pub fn tick(&self) -> u32 {
        self.tick
    }

    /// The bodies; index 0 is the player, 1.. the cubes.
    pub fn bodies(&self) -> &[Body] {
        &self.bodies
    }

    /// Cubes asleep (at rest, velocity exactly zero).
    pub fn cubes_asleep(&self) -> usize {
        self.bodies[1..].iter().filter(|b| b.asleep).count()
    }

    /// Cubes now more than `metres` (horizontally) from where they started.
    pub fn cubes_displaced(&self, metres: f32) -> usize {
        self.bodies[1..]
            .iter()
            .zip(&self.starts[1..])
            .filter(|(body, start)| body.position.truncate().distance(start.truncate()) > metres)
            .count()
    }

    /// Advances the scene by one tick: the player drives, awake cubes integrate, then
    /// contacts with the player and between cubes are resolved.
    pub fn step(&mut self) {
        self.drive_player();
        for body in &mut self.bodies[1..] {
            if !body.asleep {
                integrate(body);
            }
        }
        self.push_with_player();
        self.collide_cubes();
        self.tick += 1;
    }

    /// The player's steering: a slow left-hand circle with a zig-zag on top, turning back
    /// towards the centre of the pile when it strays beyond [`PLAYER_ROAM`].
    fn drive_player(&mut self) {
        let t = self.tick as f32 * DT;
        let player = &mut self.bodies[0];
        let mut turn = 0.25 + 0.9 * (0.7 * t).sin();
        let position = player.position.truncate();
        if position.length() > PLAYER_ROAM {
            let home = (-position).to_angle();
            let off =
                (home - self.heading + std::f32::consts::PI).rem_euclid(std::f32::consts::TAU) - std::f32::consts::PI;
            turn += 2.0 * off;
        }
        self.heading += turn * DT;
        let velocity = Vec2::from_angle(self.heading) * PLAYER_SPEED;
        player.velocity = velocity.extend(0.0);
        player.spin = Vec3::new(0.0, 0.0, turn);
        player.position += player.velocity * DT;
        player.orientation = Quat::from_rotation_z(self.heading);
    }

    /// Cubes the player overlaps are moved out of it and, if it moves towards them,
    /// knocked away with a hop, a tumble and (for glancing blows) a spin.
    fn push_with_player(&mut self) {
        let (player, cubes) = self.bodies.split_first_mut().expect("the player exists");
        let reach = PLAYER_HALF + CUBE_HALF;
        let centre = player.position.truncate();
        let velocity = player.velocity.truncate();
        for cube in cubes {
            let offset = cube.position.truncate() - centre;
            let distance = offset.length();
            if distance >= reach - SLOP {
                continue;
            }
            let normal = if distance > 1e-4 { offset / distance } else { Vec2::X };
            cube.wake();
            let moved = centre + normal * reach;
            cube.position.x = moved.x;
            cube.position.y = moved.y;
            let approach = velocity.dot(normal);
            let along = cube.velocity.truncate().dot(normal);
            let target = approach * (1.0 + RESTITUTION);
            if approach > 0.0 && along < target {
                let impulse = target - along;
                cube.velocity += (normal * impulse).extend(HOP * impulse);
                let roll_axis = Vec3::Z.cross(normal.extend(0.0));
                cube.spin += roll_axis * (TUMBLE * impulse / CUBE_HALF);
                cube.spin.z += velocity.dot(normal.perp()) * GLANCE_SPIN;
            }
        }
    }

    /// Sorts the cubes into the collision grid, then resolves each overlapping pair that
    /// has at least one awake cube once: separates them and exchanges momentum along the
    /// contact normal, waking the sleeper.
    fn collide_cubes(&mut self) {
        let cell_of = |position: Vec3| -> (usize, usize) {
            let clamp = |v: f32| (((v + WALL) / CELL).floor().max(0.0) as usize).min(CELLS - 1);
            (clamp(position.x), clamp(position.y))
        };
        let cubes = &mut self.bodies[1..];
        self.cell_start.fill(0);
        for cube in cubes.iter() {
            let (x, y) = cell_of(cube.position);
            self.cell_start[y * CELLS + x + 1] += 1;
        }
        for cell in 1..self.cell_start.len() {
            self.cell_start[cell] += self.cell_start[cell - 1];
        }
        let mut fill = self.cell_start.clone();
        for (index, cube) in cubes.iter().enumerate() {
            let (x, y) = cell_of(cube.position);
            let slot = &mut fill[y * CELLS + x];
            self.by_cell[*slot as usize] = index as u32;
            *slot += 1;
        }
        let contact = 2.0 * CUBE_HALF;
        for i in 0..cubes.len() {
            if cubes[i].asleep {
                continue;
            }
            let (cx, cy) = cell_of(cubes[i].position);
            for y in cy.saturating_sub(1)..=(cy + 1).min(CELLS - 1) {
                for x in cx.saturating_sub(1)..=(cx + 1).min(CELLS - 1) {
                    let cell = y * CELLS + x;
                    for at in self.cell_start[cell]..self.cell_start[cell + 1] {
                        let j = self.by_cell[at as usize] as usize;
                        // Each pair once: an awake pair is resolved by its lower index.
                        if j == i || (!cubes[j].asleep && j < i) {
                            continue;
                        }
                        let (a, b) = pair_mut(cubes, i, j);
                        resolve_contact(a, b, contact);
                    }
                }
            }
        }
    }
}

/// Mutable references to two different elements.
fn pair_mut(items: &mut [Body], i: usize, j: usize) -> (&mut Body, &mut Body) {
    debug_assert_ne!(i, j);
    if i < j {
        let (left, right) = items.split_at_mut(j);
        (&mut left[i], &mut right[0])
    } else {
        let (left, right) = items.split_at_mut(i);
        (&mut right[0], &mut left[j])
    }
}

/// Separates two cubes closer than `contact` and bounces them apart.
fn resolve_contact(a: &mut Body, b: &mut Body, contact: f32) {
    if (a.position.z - b.position.z).abs() >= contact {
        return;
    }
    let offset = b.position.truncate() - a.position.truncate();
    let distance = offset.length();
    if distance >= contact - SLOP {
        return;
    }
    let normal = if distance > 1e-4 { offset / distance } else { Vec2::X };
    a.wake();
    b.wake();
    let half_overlap = (contact - distance) / 2.0;
    a.position -= (normal * half_overlap).extend(0.0);
    b.position += (normal * half_overlap).extend(0.0);
    let closing = (b.velocity - a.velocity).truncate().dot(normal);
    if closing < 0.0 {
        let impulse = -(1.0 + RESTITUTION) * closing / 2.0;
        a.velocity -= (normal * impulse).extend(0.0);
        b.velocity += (normal * impulse).extend(0.0);
        let roll_axis = Vec3::Z.cross(normal.extend(0.0));
        b.spin += roll_axis * (TUMBLE * impulse / CUBE_HALF);
        a.spin -= roll_axis * (TUMBLE * impulse / CUBE_HALF) * 0.5;
    }
}

/// One step of an awake cube: gravity, the floor, friction, spin, settling and sleep.
fn integrate(body: &mut Body) {
    body.velocity.z -= GRAVITY * DT;
    body.position += body.velocity * DT;
    body.orientation = (Quat::from_scaled_axis(body.spin * DT) * body.orientation).normalize();
    let floor = floor_height(body.orientation, CUBE_HALF);
    let grounded = body.position.z <= floor + SLOP;
    if grounded {
        body.position.z = floor;
        if body.velocity.z < 0.0 {
            body.velocity.z = if -body.velocity.z > BOUNCE_SPEED {
                -body.velocity.z * RESTITUTION
            } else {
                0.0
            };
        }
        let horizontal = body.velocity.truncate();
        let speed = horizontal.length();
        let slowed = (speed - FRICTION * GRAVITY * DT).max(0.0);
        let horizontal = if speed > 0.0 {
            horizontal * (slowed / speed)
        } else {
            horizontal
        };
        body.velocity.x = horizontal.x;
        body.velocity.y = horizontal.y;
        body.spin *= SPIN_DAMPING;
    }
    for (axis, value) in [(0, body.position.x), (1, body.position.y)] {
        let limit = WALL - 2.0 * CUBE_HALF;
        if value.abs() > limit {
            body.position[axis] = value.clamp(-limit, limit);
            body.velocity[axis] = -body.velocity[axis] * RESTITUTION;
        }
    }
    let mut tilt = f32::INFINITY;
    if grounded && body.spin.length() < SETTLE_SPIN {
        let (correction, angle) = tilt_correction(body.orientation);
        let step = if angle < SNAP_TILT {
            correction
        } else {
            Quat::IDENTITY.slerp(correction, SETTLE_RATE)
        };
        body.orientation = (step * body.orientation).normalize();
        body.position.z = floor_height(body.orientation, CUBE_HALF);
        tilt = if angle < SNAP_TILT {
            0.0
        } else {
            angle * (1.0 - SETTLE_RATE)
        };
    }
    let still =
        grounded && body.velocity.length() < SLEEP_SPEED && body.spin.length() < SLEEP_SPEED && tilt < SLEEP_TILT;
    body.still = if still { body.still + 1 } else { 0 };
    if body.still >= SLEEP_TICKS {
        body.asleep = true;
        body.velocity = Vec3::ZERO;
        body.spin = Vec3::ZERO;
    }
}

/// The quantized pose of a body: `[x, y, z, largest, a, b, c]`.
pub fn pose_fields(body: &Body) -> [i32; POSE_FIELDS] {
    let mut fields = Fields::new();
    POSITION.quantize(body.position, &mut fields);
    ORIENTATION.quantize(body.orientation, &mut fields);
    let mut pose = [0; POSE_FIELDS];
    pose.copy_from_slice(&fields);
    pose
}

/// The `NetId` of body `index` (index 0 is the player): slots `1..=901`, generation 1,
/// as a fresh room's slotmap assigns them.
pub fn net_id(index: usize) -> NetId {
    NetId::from_parts(u32::try_from(index + 1).expect("few bodies"), 1)
}

/// The replicated state of one body in `layout`.
pub fn entity(index: usize, pose: &[i32; POSE_FIELDS], layout: Layout) -> EntityState {
    let component = |kind: u8, fields: &[i32]| ComponentState {
        kind: ComponentKind(kind),
        fields: fields.iter().copied().collect(),
    };
    let components: Components = match layout {
        Layout::OneKind => [component(0, pose)].into_iter().collect(),
        Layout::TwoKinds => [component(0, &pose[..3]), component(1, &pose[3..])]
            .into_iter()
            .collect(),
    };
    EntityState {
        id: net_id(index),
        components,
    }
}

/// Decodes a body's position and orientation back from its replicated state, as a client
/// would; `None` if the fields are not a valid pose in `layout`.
pub fn decode_pose(entity: &EntityState, layout: Layout) -> Option<(Vec3, Quat)> {
    let fields: Vec<i32> = match layout {
        Layout::OneKind => entity.component(ComponentKind(0))?.fields.to_vec(),
        Layout::TwoKinds => {
            let mut fields = entity.component(ComponentKind(0))?.fields.to_vec();
            fields.extend_from_slice(&entity.component(ComponentKind(1))?.fields);
            fields
        }
    };
    if fields.len() != POSE_FIELDS {
        return None;
    }
    Some((
        POSITION.dequantize(&fields[..3])?,
        ORIENTATION.dequantize(&fields[3..])?,
    ))
}

/// Every tick's quantized poses of a run of the scene.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// `poses[t][body]`, for ticks `0..=ticks`.
    poses: Vec<Vec<[i32; POSE_FIELDS]>>,
}

impl Trace {
    /// Runs a fresh [`CubePile`] for `ticks` ticks and keeps ticks `0..=ticks`.
    pub fn record(ticks: u32) -> Trace {
        let mut pile = CubePile::new();
        let mut poses = Vec::with_capacity(ticks as usize + 1);
        poses.push(pile.bodies().iter().map(pose_fields).collect());
        for _ in 0..ticks {
            pile.step();
            poses.push(pile.bodies().iter().map(pose_fields).collect());
        }
        Trace { poses }
    }

    /// The last tick recorded.
    pub fn last_tick(&self) -> usize {
        self.poses.len() - 1
    }

    /// The quantized poses at `tick`.
    pub fn poses(&self, tick: usize) -> &[[i32; POSE_FIELDS]] {
        &self.poses[tick]
    }

    /// The replicated world at `tick`, sorted by `NetId`, in `layout`.
    pub fn world(&self, tick: usize, layout: Layout) -> Vec<EntityState> {
        self.poses[tick]
            .iter()
            .enumerate()
            .map(|(index, pose)| entity(index, pose, layout))
            .collect()
    }

    /// Bodies whose quantized pose differs between ticks `from` and `to`.
    pub fn changed_between(&self, from: usize, to: usize) -> usize {
        self.poses[from]
            .iter()
            .zip(&self.poses[to])
            .filter(|(a, b)| a != b)
            .count()
    }
}

/// Reusable buffers of [`write_packet`].
#[derive(Debug, Default)]
pub struct PacketScratch {
    /// The delta, cleared and refilled per packet.
    pub delta: Delta,
    /// The encoded body.
    pub body: Vec<u8>,
}

/// Writes into `out` (cleared first) the frame a connection writer sends to take a client
/// from `baseline` to `current`, `ticks` ticks later: the delta, its bit-packed body with
/// `checksum` (the server's is kept incrementally, so it is passed in), and the
/// MessagePack envelope with an input ack. A body with no change is empty and carries no
/// checksum, as the server sends it. Returns the bodies changed (spawned, updated or
/// despawned).
pub fn write_packet(
    baseline: &[EntityState],
    current: &[EntityState],
    ticks: u32,
    checksum: Option<u32>,
    scratch: &mut PacketScratch,
    out: &mut Vec<u8>,
) -> usize {
    diff_into(baseline, current, &mut scratch.delta);
    let mut body = std::mem::take(&mut scratch.body);
    body.clear();
    scratch.body = if scratch.delta.is_empty() {
        body
    } else {
        encode_body(checksum, &scratch.delta, baseline, body)
    };
    out.clear();
    ServerMsg::encode_snapshot_into(false, ticks, InputAck::Advance(1), &scratch.body, out);
    scratch.delta.entities_changed()
}

/// What the packets of a trace cost at one baseline age, averaged over its packets.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BandwidthReport {
    /// The pose layout measured.
    pub layout: Layout,
    /// Age of the baseline, ticks.
    pub baseline_ticks: usize,
    /// Packets measured: one per tick from `baseline_ticks` to the end of the trace.
    pub packets: usize,
    /// Mean packet (frame) bytes: envelope, body and checksum.
    pub packet_bytes: f64,
    /// Mean body bytes without the checksum: the delta alone.
    pub delta_bytes: f64,
    /// Largest packet, bytes.
    pub max_packet_bytes: usize,
    /// Mean bodies changed per packet.
    pub changed: f64,
    /// Packets with no change (an idle frame).
    pub idle_packets: usize,
}

impl BandwidthReport {
    /// Mean bandwidth at one packet per tick, kbit/s.
    pub fn kbps(&self) -> f64 {
        self.packet_bytes * 8.0 * f64::from(TICK_RATE) / 1000.0
    }

    /// Packet bytes per changed body (all of a packet's bytes over all bodies changed).
    pub fn bytes_per_changed(&self) -> f64 {
        self.packet_bytes / self.changed.max(f64::MIN_POSITIVE)
    }

    /// Delta bytes per changed body (no envelope, no checksum): the codec's own cost.
    pub fn delta_bytes_per_changed(&self) -> f64 {
        self.delta_bytes / self.changed.max(f64::MIN_POSITIVE)
    }
}

/// Encodes every packet of `trace` against the state `baseline_ticks` older, with the
/// checksum the server sends by default, and averages the costs.
///
/// # Panics
/// If `baseline_ticks` is zero or not shorter than the trace.
pub fn measure(trace: &Trace, layout: Layout, baseline_ticks: usize) -> BandwidthReport {
    assert!(baseline_ticks > 0 && baseline_ticks <= trace.last_tick());
    let mut window: VecDeque<Vec<EntityState>> = (0..baseline_ticks).map(|t| trace.world(t, layout)).collect();
    let (mut scratch, mut out) = (PacketScratch::default(), Vec::new());
    let mut report = BandwidthReport {
        layout,
        baseline_ticks,
        packets: 0,
        packet_bytes: 0.0,
        delta_bytes: 0.0,
        max_packet_bytes: 0,
        changed: 0.0,
        idle_packets: 0,
    };
    let (mut packet_total, mut delta_total, mut changed_total) = (0usize, 0usize, 0usize);
    for tick in baseline_ticks..=trace.last_tick() {
        let current = trace.world(tick, layout);
        let baseline = window.pop_front().expect("the window holds the baseline");
        let changed = write_packet(
            &baseline,
            &current,
            baseline_ticks as u32,
            Some(checksum(&current)),
            &mut scratch,
            &mut out,
        );
        packet_total += out.len();
        report.max_packet_bytes = report.max_packet_bytes.max(out.len());
        changed_total += changed;
        if changed == 0 {
            report.idle_packets += 1;
        } else {
            delta_total += encode_body(None, &scratch.delta, baseline.as_slice(), Vec::new()).len();
        }
        report.packets += 1;
        window.push_back(current);
    }
    let packets = report.packets as f64;
    report.packet_bytes = packet_total as f64 / packets;
    report.delta_bytes = delta_total as f64 / packets;
    report.changed = changed_total as f64 / packets;
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickcast_shared::{ClientMirror, SnapshotFrame, diff};

    #[test]
    fn the_scene_is_deterministic() {
        assert_eq!(Trace::record(240), Trace::record(240));
        let (mut a, mut b) = (CubePile::new(), CubePile::new());
        for _ in 0..240 {
            a.step();
            b.step();
        }
        assert_eq!(a.bodies(), b.bodies());
    }

    #[test]
    fn the_player_moves_cubes_which_slide_and_tumble() {
        let mut pile = CubePile::new();
        let mut tumbled = vec![false; CUBES];
        for _ in 0..10 * TICK_RATE {
            pile.step();
            for (seen, cube) in tumbled.iter_mut().zip(&pile.bodies()[1..]) {
                // Tilted by more than 10 degrees: on an edge or tumbling.
                *seen |= (cube.orientation * Vec3::Z).z < 0.985;
            }
        }
        let displaced = pile.cubes_displaced(0.5);
        assert!(displaced >= 60, "only {displaced} cubes moved more than 0.5 m");
        let tumbled = tumbled.iter().filter(|t| **t).count();
        assert!(tumbled >= 40, "only {tumbled} cubes tumbled");
        assert!(pile.bodies()[0].position.distance(PLAYER_START.extend(PLAYER_HALF)) > 5.0);
        assert!(
            pile.bodies()
                .iter()
                .all(|b| b.position.is_finite() && b.position.truncate().abs().max_element() < WALL)
        );
    }

    #[test]
    fn most_cubes_are_at_rest_and_flat_after_a_while() {
        let mut pile = CubePile::new();
        for _ in 0..TRACE_TICKS {
            pile.step();
        }
        let asleep = pile.cubes_asleep();
        assert!(asleep >= CUBES * 9 / 10, "only {asleep} of {CUBES} cubes are asleep");
        for cube in pile.bodies()[1..].iter().filter(|b| b.asleep) {
            assert_eq!((cube.velocity, cube.spin), (Vec3::ZERO, Vec3::ZERO));
            let (_, tilt) = tilt_correction(cube.orientation);
            assert!(tilt < 0.02, "a sleeping cube is tilted by {tilt} rad");
            assert!((cube.position.z - CUBE_HALF).abs() < 0.01, "{cube:?}");
        }
        // Asleep means frozen on the wire too.
        let before: Vec<[i32; POSE_FIELDS]> = pile.bodies().iter().map(pose_fields).collect();
        let sleepers: Vec<bool> = pile.bodies().iter().map(|b| b.asleep).collect();
        pile.step();
        for ((body, pose), was_asleep) in pile.bodies().iter().zip(&before).zip(sleepers) {
            if was_asleep && body.asleep {
                assert_eq!(&pose_fields(body), pose);
            }
        }
    }

    #[test]
    fn poses_round_trip_through_the_quantizers_in_both_layouts() {
        let mut pile = CubePile::new();
        for _ in 0..150 {
            pile.step();
        }
        let position_error = POSITION.axis().max_error() * 3f32.sqrt() + 1e-5;
        for layout in [Layout::OneKind, Layout::TwoKinds] {
            for (index, body) in pile.bodies().iter().enumerate() {
                let pose = pose_fields(body);
                let state = entity(index, &pose, layout);
                assert!(state.is_well_formed());
                let (position, orientation) = decode_pose(&state, layout).expect("a valid pose");
                assert!(position.distance(body.position) <= position_error);
                // Same rotation up to sign, within the 9-bit bound of 0.57 degrees.
                assert!(
                    orientation.angle_between(body.orientation) < 0.0105,
                    "{orientation} {body:?}"
                );
                // Idempotent: a client re-quantizing what it decoded gets the same fields.
                let again = Body {
                    position,
                    orientation,
                    ..*body
                };
                assert_eq!(pose_fields(&again), pose);
            }
        }
    }

    #[test]
    fn packets_apply_on_a_client_and_cost_what_is_reported() {
        let full_frame = |world: &[EntityState]| {
            let body = encode_body(Some(checksum(world)), &diff(&[], world), &[][..], Vec::new());
            let mut out = Vec::new();
            ServerMsg::encode_snapshot_into(true, 0, InputAck::None, &body, &mut out);
            out
        };
        let frame = |bytes: &[u8]| match ServerMsg::decode(bytes).expect("a valid frame") {
            ServerMsg::Snapshot(frame) => frame,
            other => panic!("not a snapshot: {other:?}"),
        };
        let trace = Trace::record(90);
        for layout in [Layout::OneKind, Layout::TwoKinds] {
            let mut mirror = ClientMirror::new();
            let first = trace.world(0, layout);
            mirror
                .apply_frame(&frame(&full_frame(&first)))
                .expect("the full snapshot applies");
            let (mut scratch, mut out) = (PacketScratch::default(), Vec::new());
            let mut previous = first;
            let mut changed_total = 0;
            for tick in 1..=trace.last_tick() {
                let current = trace.world(tick, layout);
                let changed = write_packet(&previous, &current, 1, Some(checksum(&current)), &mut scratch, &mut out);
                assert_eq!(changed, trace.changed_between(tick - 1, tick));
                changed_total += changed;
                let frame: SnapshotFrame = frame(&out);
                let applied = mirror.apply_frame(&frame).expect("the delta applies");
                assert!(applied.checksum_verified || changed == 0);
                assert!(mirror.entities().eq(current.iter()));
                previous = current;
            }
            assert!(changed_total > 0, "something moved");
            let report = measure(&trace, layout, 1);
            assert_eq!(report.packets, trace.last_tick());
            assert!((report.changed * report.packets as f64 - changed_total as f64).abs() < 1e-6);
            // A six-tick delta also applies to a client holding the six-tick-old state.
            let mut late = ClientMirror::new();
            let old = trace.world(trace.last_tick() - 6, layout);
            late.apply_frame(&frame(&full_frame(&old)))
                .expect("the full snapshot applies");
            let current = trace.world(trace.last_tick(), layout);
            write_packet(&old, &current, 6, Some(checksum(&current)), &mut scratch, &mut out);
            assert!(late.apply_frame(&frame(&out)).expect("applies").checksum_verified);
            assert!(late.entities().eq(current.iter()));
        }
    }

    #[test]
    fn the_layouts_cost_about_the_same_and_one_kind_wins_at_six_ticks() {
        let trace = Trace::record(300);
        for baseline in [1, 6] {
            let one = measure(&trace, Layout::OneKind, baseline);
            let two = measure(&trace, Layout::TwoKinds, baseline);
            assert_eq!(one.changed, two.changed);
            assert!(
                (one.packet_bytes / two.packet_bytes - 1.0).abs() < 0.02,
                "{one:?} {two:?}"
            );
            if baseline == 6 {
                assert!(one.packet_bytes <= two.packet_bytes, "{one:?} {two:?}");
            }
        }
        assert_eq!(LAYOUT, Layout::OneKind);
    }
}
