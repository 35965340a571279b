//! The cube pile's physics: cubes that pushers knock about, which slide, hop, tumble,
//! settle flat on a face and fall asleep.
//!
//! Shared by the [`super::Cubes`] game and the bandwidth bench's scene
//! (`benches/src/cube_pile.rs`), so the bytes the bench measures are those of the motion
//! the game makes. It is cheap and deliberately crude: cubes collide as vertical
//! cylinders of their own width, there is no stacking, pushers are kinematic (they move
//! as they are told and nothing pushes back). But the motion has what matters for
//! bandwidth and for the eye: a moving front of fast, tumbling bodies, a wake of slowing
//! ones, and most of the world at rest. Everything is deterministic and free of
//! dependencies: no random numbers, a fixed step, the callers' iteration order.
//!
//! **Axes.** y is up and the floor is at `y = 0`; the floor's plane is x/z (three.js's
//! convention). Walls at `±walls` on x and z keep everything on the floor.
//!
//! **Rates.** The constants below are per second, except the per-tick ones, which are
//! stated at 60 Hz; [`Physics::new`] rescales those to its step so that another tick rate
//! plays the same scene.

use bevy_ecs::prelude::*;
use glam::{Quat, Vec2, Vec3};

/// Gravity, m/s².
pub const GRAVITY: f32 = 9.81;
/// Coulomb friction coefficient of a cube sliding on the floor.
const FRICTION: f32 = 0.5;
/// Normal restitution of cube-cube, cube-pusher, cube-floor and cube-wall contacts.
const RESTITUTION: f32 = 0.3;
/// Downward speeds below this stop at the floor instead of bouncing, m/s.
const BOUNCE_SPEED: f32 = 0.5;
/// Fraction of its spin a cube on the floor keeps each tick at 60 Hz.
const SPIN_DAMPING_60: f32 = 0.92;
/// Vertical speed a push adds per m/s of impulse: the hop that lets a cube tumble.
const HOP: f32 = 0.12;
/// Tumbling spin a push adds, as a fraction of rolling without slipping.
const TUMBLE: f32 = 0.6;
/// Spin about the vertical axis per m/s of a glancing blow's tangential speed.
const GLANCE_SPIN: f32 = 0.5;
/// Below this spin (rad/s) a cube on the floor settles onto its nearest face.
const SETTLE_SPIN: f32 = 2.0;
/// Fraction of the remaining tilt a settling cube removes each tick at 60 Hz.
const SETTLE_RATE_60: f32 = 0.2;
/// Tilts below this (radians) are removed at once.
const SNAP_TILT: f32 = 1e-3;
/// A cube slower than this (m/s and rad/s), flat on the floor, counts as still.
const SLEEP_SPEED: f32 = 0.05;
/// Largest tilt (radians) of a cube that may fall asleep.
const SLEEP_TILT: f32 = 0.01;
/// Still time before a cube falls asleep, in ticks at 60 Hz (a quarter second).
const SLEEP_TICKS_60: f32 = 15.0;
/// Overlaps below this (metres) neither separate nor wake sleeping cubes.
pub const SLOP: f32 = 1e-3;

/// One rigid body: a cube, or a pusher (whose motion its owner sets).
#[derive(Component, Clone, Copy, Debug, PartialEq)]
pub struct Body {
    /// Centre, metres.
    pub position: Vec3,
    /// Linear velocity, m/s.
    pub velocity: Vec3,
    /// Orientation.
    pub orientation: Quat,
    /// Angular velocity, rad/s, world axes.
    pub spin: Vec3,
    /// Half the edge, metres.
    pub half: f32,
    /// Asleep: at rest, skipped by the integrator until something touches it.
    pub asleep: bool,
    /// Consecutive ticks it has been still.
    still: u32,
}

impl Body {
    /// A body of half-edge `half` at rest, face down, asleep.
    pub fn at_rest(position: Vec3, orientation: Quat, half: f32) -> Body {
        Body {
            position,
            velocity: Vec3::ZERO,
            orientation,
            spin: Vec3::ZERO,
            half,
            asleep: true,
            still: u32::MAX,
        }
    }

    /// Wakes the body: the integrator moves it again.
    pub fn wake(&mut self) {
        self.asleep = false;
        self.still = 0;
    }

    /// Its position on the floor's plane, `(x, z)`.
    pub fn flat(&self) -> Vec2 {
        flat(self.position)
    }

    /// Whether it touches the floor (within [`SLOP`]) in its orientation.
    pub fn grounded(&self) -> bool {
        self.position.y <= floor_height(self.orientation, self.half) + SLOP
    }
}

/// `v` on the floor's plane: `(x, z)`.
pub fn flat(v: Vec3) -> Vec2 {
    Vec2::new(v.x, v.z)
}

/// The point of the floor's plane `p` (`(x, z)`) at height `y`.
pub fn lift(p: Vec2, y: f32) -> Vec3 {
    Vec3::new(p.x, y, p.y)
}

/// Height of the centre of a cube of half-edge `half` standing on the floor in
/// `orientation`: half its extent along the vertical, so a tumbling cube rises onto its
/// edges instead of sinking into the floor.
pub fn floor_height(orientation: Quat, half: f32) -> f32 {
    let [x, y, z] = [Vec3::X, Vec3::Y, Vec3::Z].map(|axis| (orientation * axis).y.abs());
    half * (x + y + z)
}

/// The rotation that takes `orientation` to the nearest face-down orientation, and its
/// angle: the local axis closest to the vertical, rotated onto it.
pub fn tilt_correction(orientation: Quat) -> (Quat, f32) {
    let mut most_vertical = orientation * Vec3::X;
    for axis in [Vec3::Y, Vec3::Z] {
        let candidate = orientation * axis;
        if candidate.y.abs() > most_vertical.y.abs() {
            most_vertical = candidate;
        }
    }
    if most_vertical.y < 0.0 {
        most_vertical = -most_vertical;
    }
    let most_vertical = most_vertical.normalize();
    let angle = most_vertical.y.clamp(-1.0, 1.0).acos();
    (Quat::from_rotation_arc(most_vertical, Vec3::Y), angle)
}

/// The pile's rules at one step and floor size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Physics {
    /// The step, seconds.
    pub dt: f32,
    /// Walls at `±walls` metres on x and z.
    pub walls: f32,
    spin_damping: f32,
    settle_rate: f32,
    sleep_ticks: u32,
}

impl Physics {
    /// The rules stepping `dt` seconds at a time on a floor walled at `±walls` metres.
    pub fn new(dt: f32, walls: f32) -> Physics {
        let ticks_60 = dt * 60.0;
        Physics {
            dt,
            walls,
            spin_damping: SPIN_DAMPING_60.powf(ticks_60),
            settle_rate: 1.0 - (1.0 - SETTLE_RATE_60).powf(ticks_60),
            sleep_ticks: ((SLEEP_TICKS_60 / ticks_60).round() as u32).max(1),
        }
    }

    /// One step of the pile: awake cubes integrate, then every pusher pushes the cubes it
    /// overlaps, then contacts between cubes are resolved. Pushers must have moved
    /// already (they are the callers' to move).
    pub fn step(&self, pushers: &[Body], cubes: &mut [Body], grid: &mut ContactGrid) {
        for cube in cubes.iter_mut().filter(|cube| !cube.asleep) {
            self.integrate(cube);
        }
        for pusher in pushers {
            for cube in cubes.iter_mut() {
                push(pusher, cube);
            }
        }
        grid.collide(cubes);
    }

    /// One step of an awake cube: gravity, the floor, friction, spin, settling and sleep.
    pub fn integrate(&self, body: &mut Body) {
        let dt = self.dt;
        body.velocity.y -= GRAVITY * dt;
        body.position += body.velocity * dt;
        body.orientation = (Quat::from_scaled_axis(body.spin * dt) * body.orientation).normalize();
        let floor = floor_height(body.orientation, body.half);
        let grounded = body.position.y <= floor + SLOP;
        if grounded {
            body.position.y = floor;
            if body.velocity.y < 0.0 {
                body.velocity.y = if -body.velocity.y > BOUNCE_SPEED {
                    -body.velocity.y * RESTITUTION
                } else {
                    0.0
                };
            }
            let horizontal = flat(body.velocity);
            let speed = horizontal.length();
            let slowed = (speed - FRICTION * GRAVITY * dt).max(0.0);
            let horizontal = if speed > 0.0 {
                horizontal * (slowed / speed)
            } else {
                horizontal
            };
            body.velocity = lift(horizontal, body.velocity.y);
            body.spin *= self.spin_damping;
        }
        let limit = self.walls - 2.0 * body.half;
        for axis in [0, 2] {
            let value = body.position[axis];
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
                Quat::IDENTITY.slerp(correction, self.settle_rate)
            };
            body.orientation = (step * body.orientation).normalize();
            body.position.y = floor_height(body.orientation, body.half);
            tilt = if angle < SNAP_TILT {
                0.0
            } else {
                angle * (1.0 - self.settle_rate)
            };
        }
        let still =
            grounded && body.velocity.length() < SLEEP_SPEED && body.spin.length() < SLEEP_SPEED && tilt < SLEEP_TILT;
        body.still = if still { body.still.saturating_add(1) } else { 0 };
        if body.still >= self.sleep_ticks {
            body.asleep = true;
            body.velocity = Vec3::ZERO;
            body.spin = Vec3::ZERO;
        }
    }
}

/// Moves `cube` out of `pusher` if they overlap and, if the pusher moves towards it,
/// knocks it away with a hop, a tumble and (for a glancing blow) a spin. A pusher above
/// or below the cube (it jumped) passes over it.
pub fn push(pusher: &Body, cube: &mut Body) {
    let vertical_reach = pusher.half + cube.half;
    if (pusher.position.y - cube.position.y).abs() >= vertical_reach - SLOP {
        return;
    }
    let reach = pusher.half + cube.half;
    let centre = pusher.flat();
    let velocity = flat(pusher.velocity);
    let offset = cube.flat() - centre;
    let distance = offset.length();
    if distance >= reach - SLOP {
        return;
    }
    let normal = if distance > 1e-4 { offset / distance } else { Vec2::X };
    cube.wake();
    let moved = centre + normal * reach;
    cube.position.x = moved.x;
    cube.position.z = moved.y;
    let approach = velocity.dot(normal);
    let along = flat(cube.velocity).dot(normal);
    let target = approach * (1.0 + RESTITUTION);
    if approach > 0.0 && along < target {
        let impulse = target - along;
        cube.velocity += lift(normal * impulse, HOP * impulse);
        let roll_axis = Vec3::Y.cross(lift(normal, 0.0));
        cube.spin += roll_axis * (TUMBLE * impulse / cube.half);
        cube.spin.y += velocity.dot(normal.perp()) * GLANCE_SPIN;
    }
}

/// Separates two cubes that overlap and bounces them apart, waking both.
fn resolve_contact(a: &mut Body, b: &mut Body) {
    let contact = a.half + b.half;
    if (a.position.y - b.position.y).abs() >= contact {
        return;
    }
    let offset = b.flat() - a.flat();
    let distance = offset.length();
    if distance >= contact - SLOP {
        return;
    }
    let normal = if distance > 1e-4 { offset / distance } else { Vec2::X };
    a.wake();
    b.wake();
    let half_overlap = (contact - distance) / 2.0;
    a.position -= lift(normal * half_overlap, 0.0);
    b.position += lift(normal * half_overlap, 0.0);
    let closing = flat(b.velocity - a.velocity).dot(normal);
    if closing < 0.0 {
        let impulse = -(1.0 + RESTITUTION) * closing / 2.0;
        a.velocity -= lift(normal * impulse, 0.0);
        b.velocity += lift(normal * impulse, 0.0);
        let roll_axis = Vec3::Y.cross(lift(normal, 0.0));
        b.spin += roll_axis * (TUMBLE * impulse / b.half);
        a.spin -= roll_axis * (TUMBLE * impulse / a.half) * 0.5;
    }
}

/// A uniform grid over the floor that finds touching cubes: cubes are sorted into cells
/// (a counting sort, into buffers kept between steps) and each is checked against the
/// cubes of its own and the eight neighbouring cells.
#[derive(Clone, Debug)]
pub struct ContactGrid {
    walls: f32,
    cell: f32,
    cells: usize,
    /// Where each cell starts in `by_cell` (one more entry than cells).
    cell_start: Vec<u32>,
    /// Cubes by cell.
    by_cell: Vec<u32>,
    /// Scratch copy of `cell_start` while filling.
    fill: Vec<u32>,
}

impl ContactGrid {
    /// A grid over the floor within `±walls` whose cells are `cell` metres wide: the
    /// widest cube's edge, so touching cubes are in neighbouring cells.
    pub fn new(walls: f32, cell: f32) -> ContactGrid {
        let cells = ((2.0 * walls / cell).ceil() as usize).max(1);
        ContactGrid {
            walls,
            cell,
            cells,
            cell_start: vec![0; cells * cells + 1],
            by_cell: Vec::new(),
            fill: Vec::new(),
        }
    }

    fn cell_of(&self, position: Vec3) -> (usize, usize) {
        let clamp = |v: f32| (((v + self.walls) / self.cell).floor().max(0.0) as usize).min(self.cells - 1);
        (clamp(position.x), clamp(position.z))
    }

    /// Resolves each overlapping pair of `cubes` with at least one awake cube once:
    /// separates them and exchanges momentum along the contact normal, waking the sleeper.
    pub fn collide(&mut self, cubes: &mut [Body]) {
        let cells = self.cells;
        self.cell_start.fill(0);
        for cube in cubes.iter() {
            let (x, z) = self.cell_of(cube.position);
            self.cell_start[z * cells + x + 1] += 1;
        }
        for cell in 1..self.cell_start.len() {
            self.cell_start[cell] += self.cell_start[cell - 1];
        }
        self.fill.clear();
        self.fill.extend_from_slice(&self.cell_start);
        self.by_cell.resize(cubes.len(), 0);
        for (index, cube) in cubes.iter().enumerate() {
            let (x, z) = self.cell_of(cube.position);
            let slot = &mut self.fill[z * cells + x];
            self.by_cell[*slot as usize] = index as u32;
            *slot += 1;
        }
        for i in 0..cubes.len() {
            if cubes[i].asleep {
                continue;
            }
            let (cx, cz) = self.cell_of(cubes[i].position);
            for z in cz.saturating_sub(1)..=(cz + 1).min(cells - 1) {
                for x in cx.saturating_sub(1)..=(cx + 1).min(cells - 1) {
                    let cell = z * cells + x;
                    for at in self.cell_start[cell]..self.cell_start[cell + 1] {
                        let j = self.by_cell[at as usize] as usize;
                        // Each pair once: an awake pair is resolved by its lower index.
                        if j == i || (!cubes[j].asleep && j < i) {
                            continue;
                        }
                        let (a, b) = pair_mut(cubes, i, j);
                        resolve_contact(a, b);
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

#[cfg(test)]
mod tests {
    use super::*;

    const DT: f32 = 1.0 / 60.0;

    #[test]
    fn a_dropped_tilted_cube_lands_settles_flat_and_sleeps() {
        let physics = Physics::new(DT, 20.0);
        let mut cube = Body::at_rest(Vec3::new(0.0, 3.0, 0.0), Quat::from_rotation_x(0.4), 0.5);
        cube.wake();
        for _ in 0..600 {
            physics.integrate(&mut cube);
            if cube.asleep {
                break;
            }
        }
        assert!(cube.asleep, "{cube:?}");
        assert_eq!((cube.velocity, cube.spin), (Vec3::ZERO, Vec3::ZERO));
        assert!(tilt_correction(cube.orientation).1 < SLEEP_TILT);
        assert!((cube.position.y - 0.5).abs() < 0.01, "{cube:?}");
    }

    #[test]
    fn a_moving_pusher_knocks_a_cube_ahead_and_a_jumping_one_passes_over() {
        let mut pusher = Body::at_rest(Vec3::new(0.0, 1.0, 0.0), Quat::IDENTITY, 1.0);
        pusher.velocity = Vec3::new(5.0, 0.0, 0.0);
        let mut cube = Body::at_rest(Vec3::new(1.2, 0.5, 0.0), Quat::IDENTITY, 0.5);
        push(&pusher, &mut cube);
        assert!(!cube.asleep);
        assert!((cube.position.x - 1.5).abs() < 1e-6, "{cube:?}");
        assert!(cube.velocity.x > 5.0 && cube.velocity.y > 0.0, "{cube:?}");
        // Rolling forward along +x spins about -z.
        assert!(cube.spin.z < 0.0, "{cube:?}");

        let mut high = pusher;
        high.position.y = 2.6;
        let mut other = Body::at_rest(Vec3::new(1.2, 0.5, 0.0), Quat::IDENTITY, 0.5);
        push(&high, &mut other);
        assert!(other.asleep && other.position.x == 1.2);
    }

    #[test]
    fn cubes_that_overlap_are_separated_and_nothing_leaves_the_walls() {
        let physics = Physics::new(DT, 5.0);
        let mut grid = ContactGrid::new(5.0, 1.0);
        let mut cubes: Vec<Body> = (0..10)
            .map(|i| {
                let mut cube = Body::at_rest(Vec3::new(-4.0 + 0.3 * i as f32, 0.5, 0.1), Quat::IDENTITY, 0.5);
                cube.wake();
                cube.velocity = Vec3::new(-8.0, 0.0, 3.0);
                cube
            })
            .collect();
        for _ in 0..600 {
            physics.step(&[], &mut cubes, &mut grid);
        }
        for (i, a) in cubes.iter().enumerate() {
            assert!(a.flat().abs().max_element() <= 5.0 - 1.0 + 1e-4, "{a:?}");
            for b in &cubes[i + 1..] {
                assert!(a.flat().distance(b.flat()) > 0.9, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn other_tick_rates_keep_the_per_second_behaviour() {
        let at_60 = Physics::new(1.0 / 60.0, 10.0);
        let at_30 = Physics::new(1.0 / 30.0, 10.0);
        assert_eq!(at_60.sleep_ticks, 15);
        assert_eq!(at_30.sleep_ticks, 8);
        assert!((at_30.spin_damping - 0.92f32 * 0.92).abs() < 1e-5);
        assert!((at_60.settle_rate - 0.2).abs() < 1e-6);
    }
}
