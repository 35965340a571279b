//! The "cube pile": a 3D rigid-body scene of the shape of Glenn Fiedler's *Snapshot
//! Compression* demo, to measure what tickcast's delta codec costs on bodies with a
//! position and an orientation (the target: at most 8 bytes per changed body).
//!
//! **The scene.** 900 one-metre cubes rest on a floor in a 30 x 30 grid, 1.5 m apart
//! (so the pile spans about 44 m), and one 2 m "player" cube drives through them at
//! 5 m/s, zig-zagging and circling, for 901 bodies at 60 Hz. The physics is the cubes
//! game's (`tickcast_server::game::cubes::physics`, y up, the floor on x/z), so what is
//! measured here is what that game sends: the player is kinematic; cubes it touches are
//! knocked ahead of it with a little hop and a tumble, knock their neighbours in turn,
//! slide to a stop under Coulomb friction, settle flat on a face and fall asleep
//! (velocity exactly zero, state frozen), as in a physics engine with sleeping. Only the
//! player's scripted drive is this file's. Everything is deterministic: no random
//! numbers, a fixed step, a fixed iteration order.
//!
//! **The wire state.** Each body has one replicated component holding its position and
//! orientation, quantized as Fiedler does (his bounds were ±256 m horizontally at 1/512 m
//! and 9-bit smallest-three quaternions), with the cubes game's quantizers:
//!
//! - position: [`POSITION`], a [`Vec3Quantizer`] of step 1/512 m over ±256 m per axis
//!   (fields within ±131 072, 18 bits absolute);
//! - orientation: [`ORIENTATION`], a smallest-three [`QuatQuantizer`] of 9 bits per sent
//!   component (worst rotation error 0.57°).
//!
//! [`Layout::OneKind`] puts the seven fields in one component kind and
//! [`Layout::TwoKinds`] splits them into a position kind and an orientation kind (the
//! cubes game's `Position` and `Rotation`). An update spends one "changed" bit per held
//! component and then one bit per field of each changed component, so a split costs one
//! bit more for a body that moves and turns and saves two or three for one that only
//! slides or only turns; a spawn of the split costs about four bits more. On this scene
//! the two are within 2% of each other; [`LAYOUT`] is [`Layout::OneKind`], and the
//! bandwidth bench prints both.
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
pub use tickcast_server::game::cubes::physics::Body;
use tickcast_server::game::cubes::physics::{ContactGrid, Physics, flat, lift};
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
pub const CUBE_HALF: f32 = tickcast_server::game::cubes::rules::CUBE_HALF;
/// Half the edge of the player cube, metres.
pub const PLAYER_HALF: f32 = tickcast_server::game::cubes::rules::PUSHER_HALF;
/// Distance between neighbouring cube centres at the start, metres.
pub const SPACING: f32 = tickcast_server::game::cubes::rules::SPACING;
/// Speed of the player, metres per second.
pub const PLAYER_SPEED: f32 = 5.0;
/// Fields of one body's pose: `[x, y, z, largest, a, b, c]`.
pub const POSE_FIELDS: usize = 7;

/// Positions: 1/512 m over ±256 m on each axis (Fiedler's resolution and horizontal
/// bounds; the cubes game's).
pub const POSITION: Vec3Quantizer = tickcast_server::game::cubes::POSITION;
/// Orientations: smallest three with 9 bits per sent component (Fiedler's choice; the
/// cubes game's).
pub const ORIENTATION: QuatQuantizer = tickcast_server::game::cubes::ROTATION;

/// How a body's pose is laid out in replicated components.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One component, kind 0: `[x, y, z, largest, a, b, c]`.
    OneKind,
    /// Two components: kind 0 `[x, y, z]` and kind 1 `[largest, a, b, c]`.
    TwoKinds,
}

/// The layout the bench reports first (see the module docs).
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
/// Walls at ±this many metres keep everything on the floor.
const WALL: f32 = 60.0;
/// Where the player starts on the floor (`(x, z)`), outside the pile on its -x side.
const PLAYER_START: Vec2 = Vec2::new(-26.0, 0.3);
/// Beyond this distance from the centre the player steers back towards it.
const PLAYER_ROAM: f32 = 18.0;

/// The scene: the bodies (index 0 is the player) and the player's steering state.
#[derive(Clone, Debug)]
pub struct CubePile {
    bodies: Vec<Body>,
    starts: Vec<Vec3>,
    tick: u32,
    heading: f32,
    physics: Physics,
    grid: ContactGrid,
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
        let mut player = Body::at_rest(lift(PLAYER_START, PLAYER_HALF), Quat::IDENTITY, PLAYER_HALF);
        player.wake();
        bodies.push(player);
        let origin = -(GRID as f32 - 1.0) * SPACING / 2.0;
        for row in 0..GRID {
            for column in 0..GRID {
                let position = Vec3::new(
                    origin + column as f32 * SPACING,
                    CUBE_HALF,
                    origin + row as f32 * SPACING,
                );
                bodies.push(Body::at_rest(position, Quat::IDENTITY, CUBE_HALF));
            }
        }
        CubePile {
            starts: bodies.iter().map(|b| b.position).collect(),
            bodies,
            tick: 0,
            heading: 0.0,
            physics: Physics::new(DT, WALL),
            grid: ContactGrid::new(WALL, 2.0 * CUBE_HALF),
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

    /// Cubes now more than `metres` (on the floor) from where they started.
    pub fn cubes_displaced(&self, metres: f32) -> usize {
        self.bodies[1..]
            .iter()
            .zip(&self.starts[1..])
            .filter(|(body, start)| body.flat().distance(flat(**start)) > metres)
            .count()
    }

    /// Advances the scene by one tick: the player drives, then the cubes game's physics
    /// steps the pile with the player as its pusher.
    pub fn step(&mut self) {
        self.drive_player();
        let (player, cubes) = self.bodies.split_first_mut().expect("the player exists");
        self.physics.step(std::slice::from_ref(player), cubes, &mut self.grid);
        self.tick += 1;
    }

    /// The player's steering: a slow circle with a zig-zag on top, turning back towards
    /// the centre of the pile when it strays beyond [`PLAYER_ROAM`].
    fn drive_player(&mut self) {
        let t = self.tick as f32 * DT;
        let player = &mut self.bodies[0];
        let mut turn = 0.25 + 0.9 * (0.7 * t).sin();
        let position = player.flat();
        if position.length() > PLAYER_ROAM {
            let home = (-position).to_angle();
            let off =
                (home - self.heading + std::f32::consts::PI).rem_euclid(std::f32::consts::TAU) - std::f32::consts::PI;
            turn += 2.0 * off;
        }
        self.heading += turn * DT;
        let velocity = Vec2::from_angle(self.heading) * PLAYER_SPEED;
        player.velocity = lift(velocity, 0.0);
        player.spin = Vec3::new(0.0, -turn, 0.0);
        player.position += player.velocity * DT;
        // A turn by θ about +y takes +x to (cos θ, 0, -sin θ): face the heading.
        player.orientation = Quat::from_rotation_y(-self.heading);
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
    use tickcast_server::game::cubes::physics::tilt_correction;
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
                *seen |= (cube.orientation * Vec3::Y).y < 0.985;
            }
        }
        let displaced = pile.cubes_displaced(0.5);
        assert!(displaced >= 60, "only {displaced} cubes moved more than 0.5 m");
        let tumbled = tumbled.iter().filter(|t| **t).count();
        assert!(tumbled >= 40, "only {tumbled} cubes tumbled");
        assert!(pile.bodies()[0].flat().distance(PLAYER_START) > 5.0);
        assert!(
            pile.bodies()
                .iter()
                .all(|b| b.position.is_finite() && b.flat().abs().max_element() < WALL)
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
            assert!((cube.position.y - CUBE_HALF).abs() < 0.01, "{cube:?}");
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
                let mut again = *body;
                (again.position, again.orientation) = (position, orientation);
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
