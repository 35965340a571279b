//! "cubes", the 3D game: players steer pushers that knock a pile of physics cubes about
//! a walled floor. A second game different in kind from the arena (3D positions,
//! quaternion rotations, its own input), written against the engine's declarations
//! only: the [`Game`] trait, [`Replicate`] per component and a declared input.
//!
//! - **Components.** Replicated: [`Position`] (a `Vec3`, 1/512 m), [`Rotation`] (a
//!   smallest-three quaternion, 9 bits a component) and [`Shape`] (cube or pusher).
//!   Not replicated: [`Body`], the physics state (full-precision pose, velocities, sleep),
//!   and the markers [`Cube`] and [`Pusher`].
//! - **Input.** [`CubesInput`] (in `tickcast_shared::cubes`, so the bots share it):
//!   `move_x`, `move_z` in 1/64 steps, `buttons` (dash, jump).
//! - **Systems.** [`steer_pushers`] in `ApplyInputs`; then in `Simulate`, chained:
//!   [`move_pushers`], [`simulate_pile`] (the [`physics`] step, shared with the
//!   bandwidth bench), [`publish_poses`] (what moved, into the replicated components).
//! - **Spawning.** [`Cubes::build`] lays the cubes out in a square grid; each player
//!   gets a pusher on a ring around the pile ([`Cubes::spawn_player`]).
//!
//! y is up; the floor is the x/z plane (see [`physics`]), so interest uses x and z.

pub mod physics;

use crate::room::{ActiveInputs, ClientId, Controlled, Game, Replicated, ReplicationRegistry, RoomClock, TickSystems};
use bevy_ecs::prelude::*;
use glam::{Quat, Vec2, Vec3};
use physics::{Body, ContactGrid, GRAVITY, Physics, flat, lift};
use tickcast_shared::cubes::{CubesInput, buttons};
use tickcast_shared::quantize::{QuatQuantizer, Vec3Quantizer};
use tickcast_shared::{ComponentKind, FieldDecl, Fields, Replicate};

/// Positions: 1/512 m over ±256 m on each axis (Glenn Fiedler's *Snapshot Compression*
/// resolution), fields within ±131 072.
pub const POSITION: Vec3Quantizer = Vec3Quantizer::new(1.0 / 512.0, -256.0, 256.0);
/// Rotations: smallest three with 9 bits per sent component (worst error 0.57°).
pub const ROTATION: QuatQuantizer = QuatQuantizer::new(9);
/// World value of one step of a sent rotation component, `1 / (√2 · 255)`, as the
/// schema announces it (equal to [`QuatQuantizer::step`]; a `const` for the field list).
const ROTATION_STEP: f64 = std::f64::consts::FRAC_1_SQRT_2 / ROTATION.max_field() as f64;

/// Tuning of the cubes game, metres and seconds.
pub mod rules {
    /// Half the edge of a cube.
    pub const CUBE_HALF: f32 = 0.5;
    /// Half the edge of a pusher (a 2 m cube).
    pub const PUSHER_HALF: f32 = 1.0;
    /// Distance between neighbouring cube centres in the starting grid.
    pub const SPACING: f32 = 1.5;
    /// A pusher's speed at full stick.
    pub const PUSHER_SPEED: f32 = 6.0;
    /// A pusher's speed while dashing.
    pub const DASH_SPEED: f32 = 14.0;
    /// How long a dash lasts.
    pub const DASH_SECONDS: f32 = 0.25;
    /// Time from one dash's start to the next one's earliest.
    pub const DASH_COOLDOWN: f32 = 1.0;
    /// Upward speed of a jump: about 1.3 m high, enough to pass over a cube.
    pub const JUMP_SPEED: f32 = 5.0;
    /// Clear floor kept between the pile and the walls: pushers spawn in it.
    pub const MARGIN: f32 = 2.0 * PUSHER_HALF + 1.0;
}

/// The cubes game's setup.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cubes {
    /// Cubes in the pile.
    pub cubes: u32,
    /// Side of the square floor, metres; it spans `±size / 2` on x and z.
    pub size: f32,
    /// Seed of the cubes' starting headings.
    pub seed: u64,
}

impl Cubes {
    /// Smallest floor side accepted, metres.
    pub const MIN_SIZE: f32 = 8.0;
    /// Largest floor side accepted, metres: positions are quantized within ±256 m.
    pub const MAX_SIZE: f32 = 500.0;

    /// Most cubes whose starting grid fits a floor of side `size` with
    /// [`rules::MARGIN`] of clear floor around it.
    pub fn most_cubes(size: f32) -> u32 {
        let free = size / 2.0 - rules::MARGIN - rules::CUBE_HALF;
        if free < 0.0 {
            return 0;
        }
        let per_side = (2.0 * free / rules::SPACING).floor() as u32 + 1;
        per_side * per_side
    }

    /// Cubes on a side of the starting grid.
    fn per_side(&self) -> u32 {
        (f64::from(self.cubes).sqrt().ceil() as u32).max(1)
    }

    /// Half the extent of the starting grid, centre to outer edge.
    fn pile_half_extent(&self) -> f32 {
        (self.per_side() - 1) as f32 * rules::SPACING / 2.0 + rules::CUBE_HALF
    }

    /// What a client needs besides snapshots, served as `GET /game.json`: the floor
    /// (its x/z bounds), the axes and the sizes of what the snapshots carry.
    pub fn client_info(&self) -> serde_json::Value {
        let walls = self.size / 2.0;
        serde_json::json!({
            "game": <Cubes as Game>::NAME,
            "map": {
                "name": "cubes",
                "bounds": { "min": [-walls, -walls], "max": [walls, walls] },
                "walls": [],
                "spawns": [],
            },
            "axes": { "up": "y", "floor": ["x", "z"] },
            "shapes": ["cube", "pusher"],
            "tuning": {
                "cubes": self.cubes,
                "cube_half": rules::CUBE_HALF,
                "pusher_half": rules::PUSHER_HALF,
                "pusher_speed": rules::PUSHER_SPEED,
                "dash_speed": rules::DASH_SPEED,
                "jump_speed": rules::JUMP_SPEED,
            },
        })
    }
}

/// Where a body is (replicated). Fields: `[x, y, z]` in 1/512 m ([`POSITION`]); y is up.
#[derive(Component, Clone, Copy, Debug, Default, PartialEq)]
pub struct Position(pub Vec3);

impl Replicate for Position {
    const KIND: ComponentKind = ComponentKind(0);
    const NAME: &'static str = "Position";
    const FIELDS: &'static [FieldDecl] = &[
        FieldDecl::linear("x", POSITION.axis().step() as f64),
        FieldDecl::linear("y", POSITION.axis().step() as f64),
        FieldDecl::linear("z", POSITION.axis().step() as f64),
    ];

    fn quantize(&self, out: &mut Fields) {
        POSITION.quantize(self.0, out);
    }

    fn dequantize(fields: &[i32]) -> Option<Self> {
        POSITION.dequantize(fields).map(Position)
    }
}

/// How a body is turned (replicated). Fields: `[largest, a, b, c]`, smallest three
/// ([`ROTATION`]): `largest` (0..=3, in x, y, z, w order) is the component left out, and
/// `a, b, c` the others in order, each `integer × step`; the one left out is
/// `sqrt(1 - a² - b² - c²)`.
#[derive(Component, Clone, Copy, Debug, Default, PartialEq)]
pub struct Rotation(pub Quat);

impl Replicate for Rotation {
    const KIND: ComponentKind = ComponentKind(1);
    const NAME: &'static str = "Rotation";
    const FIELDS: &'static [FieldDecl] = &[
        FieldDecl::integer("largest"),
        FieldDecl::linear("a", ROTATION_STEP),
        FieldDecl::linear("b", ROTATION_STEP),
        FieldDecl::linear("c", ROTATION_STEP),
    ];

    fn quantize(&self, out: &mut Fields) {
        ROTATION.quantize(self.0, out);
    }

    fn dequantize(fields: &[i32]) -> Option<Self> {
        ROTATION.dequantize(fields).map(Rotation)
    }
}

/// What a body is (replicated). Fields: `[0 = cube, 1 = pusher]`.
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A 1 m cube of the pile.
    Cube,
    /// A player's 2 m pusher.
    Pusher,
}

impl Replicate for Shape {
    const KIND: ComponentKind = ComponentKind(2);
    const NAME: &'static str = "Shape";
    const FIELDS: &'static [FieldDecl] = &[FieldDecl::integer("shape")];

    fn quantize(&self, out: &mut Fields) {
        out.push(*self as i32);
    }

    fn dequantize(fields: &[i32]) -> Option<Self> {
        match *fields {
            [0] => Some(Shape::Cube),
            [1] => Some(Shape::Pusher),
            _ => None,
        }
    }
}

/// A cube of the pile.
#[derive(Component, Clone, Copy, Debug)]
pub struct Cube;

/// A player's pusher: kinematic, it goes where its stick says and knocks cubes away.
#[derive(Component, Clone, Copy, Debug, Default)]
pub struct Pusher {
    /// Ticks of the current dash left.
    pub dash_left: u32,
    /// Ticks until the next dash may start.
    pub cooldown: u32,
}

/// Buffers [`simulate_pile`] and [`move_pushers`] keep between ticks: the bodies copied
/// out of the world for the physics step, and its contact grid.
#[derive(Resource)]
struct PileScratch {
    cubes: Vec<Body>,
    pushers: Vec<Body>,
    grid: ContactGrid,
}

impl Game for Cubes {
    const NAME: &'static str = "cubes";
    type Input = CubesInput;

    fn build(self, world: &mut World, schedule: &mut Schedule, replication: &mut ReplicationRegistry) {
        replication
            .replicate::<Position>()
            .replicate::<Rotation>()
            .replicate::<Shape>()
            .spatial::<Position>(|position| flat(position.0));
        let walls = self.size / 2.0;
        world.insert_resource(Floor { walls });
        world.insert_resource(PileScratch {
            cubes: Vec::with_capacity(self.cubes as usize),
            pushers: Vec::new(),
            grid: ContactGrid::new(walls, 2.0 * rules::CUBE_HALF),
        });
        world.insert_resource(Ring(self.pile_half_extent()));
        // A square grid, filled row by row, centred on the origin; each cube turned about
        // the vertical by a seeded angle so the pile does not look machined.
        let mut rng = fastrand::Rng::with_seed(self.seed);
        let per_side = self.per_side();
        let origin = -((per_side - 1) as f32) * rules::SPACING / 2.0;
        for at in 0..self.cubes {
            let (row, column) = (at / per_side, at % per_side);
            let position = Vec3::new(
                origin + column as f32 * rules::SPACING,
                rules::CUBE_HALF,
                origin + row as f32 * rules::SPACING,
            );
            let heading = Quat::from_rotation_y(rng.f32() * std::f32::consts::FRAC_PI_2);
            spawn_body(world, Body::at_rest(position, heading, rules::CUBE_HALF), Shape::Cube).insert(Cube);
        }
        schedule.add_systems(steer_pushers.in_set(TickSystems::ApplyInputs));
        schedule.add_systems(
            (move_pushers, simulate_pile, publish_poses)
                .chain()
                .in_set(TickSystems::Simulate),
        );
    }

    fn spawn_player(world: &mut World, client: ClientId, _name: &str) -> Entity {
        // Players spread round a ring between the pile and the walls, each a golden angle
        // on from the last, facing the pile.
        let walls = world.resource::<Floor>().walls;
        let radius = (world.resource::<Ring>().0 + walls) / 2.0;
        let angle = client as f32 * 2.399_963;
        let at = Vec2::from_angle(angle) * radius;
        let mut body = Body::at_rest(lift(at, rules::PUSHER_HALF), facing(-at), rules::PUSHER_HALF);
        body.wake();
        spawn_body(world, body, Shape::Pusher).insert(Pusher::default()).id()
    }
}

/// Half the extent of the starting pile: players spawn beyond it.
#[derive(Resource, Clone, Copy)]
struct Ring(f32);

/// The walls stand at `±walls` metres on x and z.
#[derive(Resource, Clone, Copy)]
struct Floor {
    walls: f32,
}

impl Floor {
    /// The physics at this tick's step. Made per tick (two `powf`s) because the room's
    /// clock, and so the step, is set up after [`Game::build`].
    fn physics(&self, clock: &RoomClock) -> Physics {
        Physics::new(clock.dt, self.walls)
    }
}

/// Spawns a replicated body with its physics state and the pose clients see.
fn spawn_body(world: &mut World, body: Body, shape: Shape) -> EntityWorldMut<'_> {
    world.spawn((
        Replicated::default(),
        Position(body.position),
        Rotation(body.orientation),
        shape,
        body,
    ))
}

/// The rotation about the vertical that turns a pusher's front (its local +x) towards
/// `direction` on the floor (`(x, z)`).
fn facing(direction: Vec2) -> Quat {
    // A turn by θ about +y takes +x to (cos θ, 0, -sin θ).
    Quat::from_rotation_y(-direction.y.atan2(direction.x))
}

/// Ticks in `seconds` at `dt` seconds per tick (at least one).
fn ticks(seconds: f32, dt: f32) -> u32 {
    ((seconds / dt).round() as u32).max(1)
}

/// Each pusher takes its client's input: the stick sets its velocity on the floor, dash
/// starts a burst of speed (if cooled down), jump leaves the floor.
pub fn steer_pushers(
    clock: Res<RoomClock>,
    inputs: Res<ActiveInputs>,
    mut pushers: Query<(&Controlled, &mut Pusher, &mut Body)>,
) {
    for (controlled, mut pusher, mut body) in &mut pushers {
        let input: CubesInput = inputs.get(controlled.0);
        let stick = Vec2::new(input.move_x, input.move_z).clamp_length_max(1.0);
        pusher.cooldown = pusher.cooldown.saturating_sub(1);
        pusher.dash_left = pusher.dash_left.saturating_sub(1);
        if input.buttons & buttons::DASH != 0 && pusher.cooldown == 0 {
            pusher.dash_left = ticks(rules::DASH_SECONDS, clock.dt);
            pusher.cooldown = ticks(rules::DASH_COOLDOWN, clock.dt);
        }
        let speed = if pusher.dash_left > 0 {
            rules::DASH_SPEED
        } else {
            rules::PUSHER_SPEED
        };
        let vertical = if input.buttons & buttons::JUMP != 0 && body.grounded() && body.velocity.y <= 0.0 {
            rules::JUMP_SPEED
        } else {
            body.velocity.y
        };
        let velocity = lift(stick * speed, vertical);
        if body.velocity != velocity {
            body.velocity = velocity;
        }
        if stick != Vec2::ZERO {
            let turned = facing(stick);
            if body.orientation != turned {
                body.orientation = turned;
            }
        }
    }
}

/// Pushers move as steered (falling back to the floor after a jump), stay within the
/// walls, and step apart where they overlap one another.
fn move_pushers(
    clock: Res<RoomClock>,
    floor: Res<Floor>,
    mut scratch: ResMut<PileScratch>,
    mut pushers: Query<&mut Body, With<Pusher>>,
) {
    let dt = clock.dt;
    let scratch = &mut *scratch;
    scratch.pushers.clear();
    for mut body in &mut pushers {
        if body.velocity == Vec3::ZERO && body.grounded() {
            // Standing still: leave the component untouched, so nothing is republished.
            scratch.pushers.push(*body);
            continue;
        }
        let mut moved = *body;
        moved.velocity.y -= GRAVITY * dt;
        moved.position += moved.velocity * dt;
        if moved.position.y <= moved.half {
            moved.position.y = moved.half;
            moved.velocity.y = 0.0;
        }
        let limit = floor.walls - moved.half;
        moved.position.x = moved.position.x.clamp(-limit, limit);
        moved.position.z = moved.position.z.clamp(-limit, limit);
        *body = moved;
        scratch.pushers.push(moved);
    }
    // Pushers are all kinematic: an overlapping pair is simply moved apart, half each.
    let count = scratch.pushers.len();
    let mut separated = false;
    for i in 0..count {
        for j in i + 1..count {
            let (a, b) = (scratch.pushers[i], scratch.pushers[j]);
            let reach = a.half + b.half;
            let offset = b.flat() - a.flat();
            let distance = offset.length();
            if distance >= reach - physics::SLOP || (a.position.y - b.position.y).abs() >= reach {
                continue;
            }
            let normal = if distance > 1e-4 { offset / distance } else { Vec2::X };
            let shift = lift(normal * (reach - distance) / 2.0, 0.0);
            scratch.pushers[i].position -= shift;
            scratch.pushers[j].position += shift;
            separated = true;
        }
    }
    if separated {
        for (mut body, moved) in pushers.iter_mut().zip(&scratch.pushers) {
            if *body != *moved {
                *body = *moved;
            }
        }
    }
}

/// The pile's physics step ([`Physics::step`]) over every cube, with every pusher as it
/// now stands. The cubes are copied out, stepped and copied back; only those that changed
/// are written, so resting cubes stay unchanged for [`publish_poses`].
fn simulate_pile(
    clock: Res<RoomClock>,
    floor: Res<Floor>,
    mut scratch: ResMut<PileScratch>,
    mut cubes: Query<&mut Body, (With<Cube>, Without<Pusher>)>,
) {
    let PileScratch {
        cubes: stepped,
        pushers,
        grid,
    } = &mut *scratch;
    stepped.clear();
    stepped.extend(cubes.iter().copied());
    floor.physics(&clock).step(pushers, stepped, grid);
    // Query iteration visits the same entities in the same order while nothing is
    // spawned or removed, which holds within this system.
    for (mut body, after) in cubes.iter_mut().zip(stepped.iter()) {
        if *body != *after {
            *body = *after;
        }
    }
}

/// Copies the pose of every body that changed this tick into its replicated
/// [`Position`] and [`Rotation`].
fn publish_poses(mut bodies: Query<(&Body, &mut Position, &mut Rotation), Changed<Body>>) {
    for (body, mut position, mut rotation) in &mut bodies {
        position.0 = body.position;
        rotation.0 = body.orientation;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::room::{RoomSettings, Simulation};

    fn settings() -> RoomSettings {
        RoomSettings {
            inbox: 16,
            ..RoomSettings::at_rates(60, 20)
        }
    }

    #[test]
    fn the_rotation_step_is_the_quantizers() {
        assert_eq!(ROTATION_STEP, ROTATION.step());
        assert_eq!(<Rotation as Replicate>::FIELDS.len(), QuatQuantizer::FIELDS);
    }

    #[test]
    fn components_round_trip_their_fields() {
        let mut fields = Fields::new();
        let rotation = Rotation(ROTATION.snap(Quat::from_euler(glam::EulerRot::YXZ, 0.3, 1.0, -2.0)));
        rotation.quantize(&mut fields);
        assert_eq!(Rotation::dequantize(&fields), Some(rotation));
        fields.clear();
        Position(Vec3::new(1.5, 0.5, -20.25)).quantize(&mut fields);
        assert_eq!(fields.as_slice(), [768, 256, -10368]);
        assert_eq!(Shape::dequantize(&[1]), Some(Shape::Pusher));
        assert_eq!(Shape::dequantize(&[2]), None);
    }

    #[test]
    fn the_floor_fits_its_cubes() {
        assert_eq!(Cubes::most_cubes(4.0), 0);
        let most = Cubes::most_cubes(48.0);
        let game = Cubes {
            cubes: most,
            size: 48.0,
            seed: 1,
        };
        assert!(game.pile_half_extent() + rules::MARGIN <= 24.0, "{most}");
        let one_more = Cubes {
            cubes: (game.per_side() + 1).pow(2),
            ..game
        };
        assert!(one_more.pile_half_extent() + rules::MARGIN > 24.0);
    }

    #[test]
    fn a_still_pile_stays_still_and_keeps_its_layout() {
        let game = Cubes {
            cubes: 50,
            size: 40.0,
            seed: 3,
        };
        let (mut simulation, _handle) = Simulation::new(game, &settings());
        let before = poses(&mut simulation.world);
        for _ in 0..120 {
            simulation.step();
        }
        assert_eq!(poses(&mut simulation.world), before);
        assert_eq!(before.len(), 50);
        // Row by row, 1.5 m apart, on the floor.
        assert!(before.iter().all(|(p, _)| (p.y - rules::CUBE_HALF).abs() < 1e-6));
    }

    fn poses(world: &mut World) -> Vec<(Vec3, Quat)> {
        world
            .query::<(&Position, &Rotation)>()
            .iter(world)
            .map(|(p, r)| (p.0, r.0))
            .collect()
    }
}
