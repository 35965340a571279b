//! "arena", the reference game: a 2D top-down arena where players move, aim and fire,
//! projectiles fly and hit, health runs out and players respawn, and NPC drones wander
//! (as many as configured, so entity counts can be scaled for load tests).
//!
//! Everything game-specific lives here; the room engine only sees the [`Game`] trait and
//! the replicated components registered in [`Arena::build`]. [`drift`] is a second, much
//! smaller scene for measurements, built from the arena's components. [`cubes`] is a
//! second game, different in kind: 3D physics cubes that players push about.

pub mod components;
pub mod cubes;
pub mod drift;
pub mod grid;
pub mod map;
mod systems;

use crate::room::{ClientId, Game, History, Replicated, ReplicationRegistry, TickSystems};
use bevy_ecs::prelude::*;
use components::{Body, Drone, Health, Kind, Player, Projectile, Radius, Score, Velocity};
pub use cubes::Cubes;
pub use drift::Drift;
use glam::Vec2;
pub use map::{Map, MapError};
use tickcast_shared::arena::{self, ArenaInput, EntityKind, Transform2};

/// Tuning of the arena's rules, in world units, seconds and ticks at 60 Hz.
pub mod rules {
    /// Player speed at full stick, units per second.
    pub const PLAYER_SPEED: f32 = 8.0;
    /// Player collision radius.
    pub const PLAYER_RADIUS: f32 = 0.6;
    /// Player hit points.
    pub const PLAYER_HEALTH: u8 = 10;
    /// Drone speed, units per second.
    pub const DRONE_SPEED: f32 = 3.0;
    /// Drone collision radius.
    pub const DRONE_RADIUS: f32 = 0.5;
    /// Drone hit points.
    pub const DRONE_HEALTH: u8 = 3;
    /// Projectile speed, units per second.
    pub const PROJECTILE_SPEED: f32 = 30.0;
    /// Projectile collision radius.
    pub const PROJECTILE_RADIUS: f32 = 0.15;
    /// Projectile lifetime, seconds.
    pub const PROJECTILE_LIFETIME: f32 = 1.0;
    /// Seconds between shots.
    pub const FIRE_INTERVAL: f32 = 0.25;
    /// How far the hitscan rail reaches, world units.
    pub const RAIL_RANGE: f32 = 60.0;
    /// Hit points a rail hit takes.
    pub const RAIL_DAMAGE: u8 = 3;
    /// Seconds between rail shots.
    pub const RAIL_INTERVAL: f32 = 0.5;
    /// Seconds a dead player waits to respawn.
    pub const RESPAWN_DELAY: f32 = 2.0;
    /// Seconds between a drone's heading changes (lower and upper bound).
    pub const DRONE_TURN_INTERVAL: (f32, f32) = (0.5, 3.0);
}

/// The arena's setup.
pub struct Arena {
    /// The map.
    pub map: Map,
    /// Drones kept alive at all times.
    pub drones: u32,
    /// Seed of the game's random number generator.
    pub seed: u64,
}

impl Arena {
    /// What a client needs besides snapshots, served as `GET /game.json`: the map (walls
    /// are static, so they are never replicated) and the tuning a client's prediction
    /// steps with.
    pub fn client_info(&self) -> serde_json::Value {
        let point = |p: Vec2| [p.x, p.y];
        let rect = |r: &map::Rect| serde_json::json!({ "min": point(r.min), "max": point(r.max) });
        serde_json::json!({
            "game": <Arena as Game>::NAME,
            "map": {
                "name": self.map.name,
                "bounds": rect(&self.map.bounds),
                "walls": self.map.walls.iter().map(rect).collect::<Vec<_>>(),
                "spawns": self.map.spawns.iter().copied().map(point).collect::<Vec<_>>(),
            },
            "tuning": {
                "player_speed": rules::PLAYER_SPEED,
                "player_radius": rules::PLAYER_RADIUS,
                "drone_radius": rules::DRONE_RADIUS,
                "projectile_radius": rules::PROJECTILE_RADIUS,
                "player_health": rules::PLAYER_HEALTH,
                "drone_health": rules::DRONE_HEALTH,
            },
        })
    }
}

/// The game's deterministic random number generator.
#[derive(Resource)]
pub struct GameRng(pub fastrand::Rng);

/// Drones kept alive at all times.
#[derive(Resource, Clone, Copy)]
pub struct DroneTarget(pub u32);

impl Game for Arena {
    const NAME: &'static str = "arena";
    type Input = ArenaInput;

    fn build(self, world: &mut World, schedule: &mut Schedule, replication: &mut ReplicationRegistry) {
        replication
            .replicate::<Body>()
            .replicate::<Health>()
            .replicate::<Kind>()
            .replicate::<Score>()
            .spatial::<Body>(|body| body.0.position);
        world.insert_resource(GameRng(fastrand::Rng::with_seed(self.seed)));
        world.insert_resource(DroneTarget(self.drones));
        world.insert_resource(self.map);
        world.insert_resource(systems::HitGrid::default());
        // Rail shots are resolved where the shooter saw its targets: players and drones,
        // never projectiles.
        History::<Body>::track_only::<Without<Projectile>>(world, schedule);
        for _ in 0..self.drones {
            spawn_drone(world);
        }
        schedule.add_systems(systems::steer_players.in_set(TickSystems::ApplyInputs));
        schedule.add_systems(
            (
                systems::wander_drones,
                systems::move_bodies,
                systems::fire_rails,
                systems::fire_weapons,
                systems::move_projectiles,
                systems::resolve_hits,
                systems::respawn_players,
                systems::replenish_drones,
            )
                .chain()
                .in_set(TickSystems::Simulate),
        );
    }

    fn spawn_player(world: &mut World, client: ClientId, name: &str) -> Entity {
        let position = pick_spawn_point(world);
        world
            .spawn((
                Replicated::default(),
                Body(Transform2 { position, angle: 0.0 }.quantized()),
                Velocity::default(),
                Radius(rules::PLAYER_RADIUS),
                Health(arena::Health(rules::PLAYER_HEALTH)),
                Kind(EntityKind::Player),
                Score::default(),
                Player {
                    name: if name.is_empty() {
                        format!("player-{client}")
                    } else {
                        name.to_string()
                    },
                    fire_cooldown: 0,
                    trigger: false,
                    rail_held: false,
                    rail_cooldown: 0,
                },
            ))
            .id()
    }
}

/// A spawn point from the map, chosen by the game's RNG.
fn pick_spawn_point(world: &mut World) -> Vec2 {
    let count = world.resource::<Map>().spawns.len();
    let at = world.resource_mut::<GameRng>().0.usize(..count);
    world.resource::<Map>().spawns[at]
}

/// A random open point on the floor (falls back to a spawn point on a crowded map).
fn random_open_point(world: &mut World) -> Vec2 {
    let bounds = world.resource::<Map>().bounds;
    for _ in 0..32 {
        let point = {
            let rng = &mut world.resource_mut::<GameRng>().0;
            Vec2::new(rng.f32(), rng.f32()) * (bounds.max - bounds.min) + bounds.min
        };
        if world.resource::<Map>().is_open(point) {
            return point;
        }
    }
    pick_spawn_point(world)
}

/// Spawns one drone at a random open point.
pub fn spawn_drone(world: &mut World) -> Entity {
    let position = random_open_point(world);
    world
        .spawn((
            Replicated::default(),
            Body(Transform2 { position, angle: 0.0 }.quantized()),
            Velocity::default(),
            Radius(rules::DRONE_RADIUS),
            Health(arena::Health(rules::DRONE_HEALTH)),
            Kind(EntityKind::Drone),
            Drone { turn_in: 0 },
        ))
        .id()
}

/// Ticks in `seconds` at `dt` seconds per tick (at least one).
fn ticks(seconds: f32, dt: f32) -> u32 {
    ((seconds / dt).round() as u32).max(1)
}
