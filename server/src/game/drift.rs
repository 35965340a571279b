//! "drift": bodies bouncing in a square box at one steady speed, and nothing else.
//!
//! The scene of the side-by-side comparison with Colyseus (`benches/peer.py`) and of the
//! bandwidth figures: every body moves every tick, so every snapshot changes every entity,
//! the worst case for a delta codec and the common case of a busy game (projectiles,
//! physics piles). A joining player gets a body of its own that its stick steers at the
//! same speed; spectators just watch.

use super::components::{Body, Kind, Velocity};
use crate::room::{ActiveInputs, ClientId, Controlled, Game, Replicated, ReplicationRegistry, RoomClock, TickSystems};
use bevy_ecs::prelude::*;
use glam::Vec2;
use tickcast_shared::arena::{ArenaInput, EntityKind, Transform2};

/// The drift scene's setup.
#[derive(Clone, Copy, Debug)]
pub struct Drift {
    /// Bodies bouncing around.
    pub bodies: u32,
    /// Their speed, world units per second.
    pub speed: f32,
    /// Side of the square box, world units; it spans `[0, size]` on both axes.
    pub size: f32,
    /// Seed of the starting positions and headings.
    pub seed: u64,
}

impl Drift {
    /// What a client needs besides snapshots, served as `GET /game.json`: the box and
    /// the speed.
    pub fn client_info(&self) -> serde_json::Value {
        serde_json::json!({
            "game": <Drift as Game>::NAME,
            "map": {
                "name": "drift",
                "bounds": { "min": [0.0, 0.0], "max": [self.size, self.size] },
                "walls": [],
                "spawns": [[self.size / 2.0, self.size / 2.0]],
            },
            "tuning": { "speed": self.speed },
        })
    }
}

/// The box and the speed, for the systems.
#[derive(Resource, Clone, Copy)]
struct Scene {
    size: f32,
    speed: f32,
}

/// A body a client steers.
#[derive(Component)]
struct Steered;

impl Game for Drift {
    const NAME: &'static str = "drift";
    /// The arena's input: the stick steers a player's body (the rest is unused).
    type Input = ArenaInput;

    fn build(self, world: &mut World, schedule: &mut Schedule, replication: &mut ReplicationRegistry) {
        replication
            .replicate::<Body>()
            .replicate::<Kind>()
            .spatial::<Body>(|body| body.0.position);
        world.insert_resource(Scene {
            size: self.size,
            speed: self.speed,
        });
        let mut rng = fastrand::Rng::with_seed(self.seed);
        for _ in 0..self.bodies {
            let position = Vec2::new(rng.f32(), rng.f32()) * self.size;
            let heading = rng.f32() * std::f32::consts::TAU;
            let velocity = Vec2::from_angle(heading) * self.speed;
            world.spawn((
                Replicated::default(),
                Body(
                    Transform2 {
                        position,
                        angle: heading,
                    }
                    .quantized(),
                ),
                Velocity(velocity),
                Kind(EntityKind::Drone),
            ));
        }
        schedule.add_systems(steer.in_set(TickSystems::ApplyInputs));
        schedule.add_systems(bounce.in_set(TickSystems::Simulate));
    }

    fn spawn_player(world: &mut World, _client: ClientId, _name: &str) -> Entity {
        let size = world.resource::<Scene>().size;
        let position = Vec2::splat(size / 2.0);
        world
            .spawn((
                Replicated::default(),
                Body(Transform2 { position, angle: 0.0 }.quantized()),
                Velocity::default(),
                Kind(EntityKind::Player),
                Steered,
            ))
            .id()
    }
}

/// Players' bodies go where their sticks point, at the scene's speed.
fn steer(
    scene: Res<Scene>,
    inputs: Res<ActiveInputs>,
    mut players: Query<(&Controlled, &mut Velocity), With<Steered>>,
) {
    for (controlled, mut velocity) in &mut players {
        let input: ArenaInput = inputs.get(controlled.0);
        velocity.0 = Vec2::new(input.move_x, input.move_y).clamp_length_max(1.0) * scene.speed;
    }
}

/// Every body moves on, reflected off the box's sides.
fn bounce(clock: Res<RoomClock>, scene: Res<Scene>, mut bodies: Query<(&mut Body, &mut Velocity)>) {
    for (mut body, mut velocity) in &mut bodies {
        if velocity.0 == Vec2::ZERO {
            continue;
        }
        let mut position = body.0.position + velocity.0 * clock.dt;
        let mut angle = body.0.angle;
        for axis in 0..2 {
            let outside = if position[axis] < 0.0 {
                Some(0.0)
            } else if position[axis] > scene.size {
                Some(scene.size)
            } else {
                None
            };
            if let Some(side) = outside {
                position[axis] = 2.0 * side - position[axis];
                velocity.0[axis] = -velocity.0[axis];
                // Heading changes only here, so the arctangent runs once a bounce.
                angle = velocity.0.to_angle();
            }
        }
        body.0 = Transform2 {
            position: position.clamp(Vec2::ZERO, Vec2::splat(scene.size)),
            angle,
        }
        .quantized();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::room::{RoomSettings, Simulation};

    #[test]
    fn bodies_stay_in_the_box_and_keep_their_speed() {
        let settings = RoomSettings {
            inbox: 16,
            ..RoomSettings::at_rates(60, 20)
        };
        let drift = Drift {
            bodies: 50,
            speed: 100.0,
            size: 200.0,
            seed: 7,
        };
        let (mut simulation, _handle) = Simulation::new(drift, &settings);
        let start: Vec<Vec2> = positions(&mut simulation.world);
        for _ in 0..600 {
            simulation.step();
        }
        let world = &mut simulation.world;
        for (body, velocity) in world.query::<(&Body, &Velocity)>().iter(world) {
            let p = body.0.position;
            assert!((0.0..=200.0).contains(&p.x) && (0.0..=200.0).contains(&p.y), "{p}");
            assert!((velocity.0.length() - 100.0).abs() < 0.01);
        }
        // Ten seconds at 100 u/s in a 200-unit box: everything has bounced and moved.
        let moved = positions(world)
            .iter()
            .zip(&start)
            .filter(|(a, b)| a.distance(**b) > 1.0)
            .count();
        assert!(moved >= 49, "{moved} of 50 bodies moved");
    }

    fn positions(world: &mut World) -> Vec<Vec2> {
        world.query::<&Body>().iter(world).map(|body| body.0.position).collect()
    }
}
