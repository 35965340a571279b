//! The arena's systems, in the order they run within `TickSystems::Simulate`:
//! drones pick headings, bodies move and collide with walls, rails (hitscan,
//! lag-compensated) and weapons fire, projectiles fly, hits are resolved, dead players respawn and drones are replenished.

use super::components::{Body, Drone, Health, Player, Projectile, Radius, Respawning, Score, Velocity};
use super::grid::SpatialGrid;
use super::{DroneTarget, GameRng, Kind, Map, rules, spawn_drone, ticks};
use crate::room::{ActiveInputs, Controlled, History, RoomClock};
use bevy_ecs::prelude::*;
use glam::Vec2;
use tickcast_shared::arena::{self, EntityKind, Transform2};
use tickcast_shared::arena::{ArenaInput, buttons};

/// Cell size of the hit-test grid: larger than any target's radius.
const HIT_CELL: f32 = 4.0;

/// Targets bucketed by position, rebuilt each tick.
#[derive(Resource)]
pub struct HitGrid(SpatialGrid);

impl Default for HitGrid {
    fn default() -> Self {
        HitGrid(SpatialGrid::new(HIT_CELL))
    }
}

/// `ApplyInputs`: a client's input becomes its avatar's velocity, facing and trigger.
pub fn steer_players(
    inputs: Res<ActiveInputs>,
    mut players: Query<(&Controlled, &mut Player, &mut Velocity, &mut Body), Without<Respawning>>,
) {
    for (controlled, mut player, mut velocity, mut body) in &mut players {
        let input: ArenaInput = inputs.get(controlled.0);
        let stick = Vec2::new(input.move_x, input.move_y).clamp_length_max(1.0);
        velocity.0 = stick * rules::PLAYER_SPEED;
        body.0.angle = input.aim;
        player.trigger = input.buttons & buttons::FIRE != 0;
    }
}

/// Drones change heading at random intervals.
pub fn wander_drones(
    clock: Res<RoomClock>,
    mut rng: ResMut<GameRng>,
    mut drones: Query<(&mut Drone, &mut Velocity, &mut Body)>,
) {
    let (low, high) = rules::DRONE_TURN_INTERVAL;
    for (mut drone, mut velocity, mut body) in &mut drones {
        if drone.turn_in > 0 {
            drone.turn_in -= 1;
            continue;
        }
        let heading = rng.0.f32() * std::f32::consts::TAU;
        velocity.0 = Vec2::from_angle(heading) * rules::DRONE_SPEED;
        body.0.angle = heading;
        drone.turn_in = ticks(low + rng.0.f32() * (high - low), clock.dt);
    }
}

/// Players and drones that are alive.
type Walkers = (Without<Projectile>, Without<Respawning>);

/// Players and drones move and slide out of walls; drones bounce off them. Positions
/// are snapped to the wire's grid so the server simulates exactly what clients see.
pub fn move_bodies(
    clock: Res<RoomClock>,
    map: Res<Map>,
    mut bodies: Query<(&mut Body, &mut Velocity, &Radius, Has<Drone>), Walkers>,
) {
    for (mut body, mut velocity, radius, is_drone) in &mut bodies {
        if velocity.0 == Vec2::ZERO {
            continue;
        }
        let wanted = body.0.position + velocity.0 * clock.dt;
        let (resolved, touched) = map.resolve_circle(wanted, radius.0);
        if touched && is_drone {
            velocity.0 = -velocity.0;
            body.0.angle = velocity.0.to_angle();
        }
        body.0 = Transform2 {
            position: resolved,
            angle: body.0.angle,
        }
        .quantized();
    }
}

/// Players holding fire shoot when their weapon is ready.
pub fn fire_weapons(
    mut commands: Commands,
    clock: Res<RoomClock>,
    mut players: Query<(Entity, &mut Player, &Body, &Radius), Without<Respawning>>,
) {
    for (entity, mut player, body, radius) in &mut players {
        if player.fire_cooldown > 0 {
            player.fire_cooldown -= 1;
            continue;
        }
        if !player.trigger {
            continue;
        }
        player.fire_cooldown = ticks(rules::FIRE_INTERVAL, clock.dt);
        let direction = Vec2::from_angle(body.0.angle);
        commands.spawn((
            crate::room::Replicated::default(),
            Body(Transform2 {
                position: body.0.position + direction * (radius.0 + rules::PROJECTILE_RADIUS + 0.05),
                angle: body.0.angle,
            }),
            Velocity(direction * rules::PROJECTILE_SPEED),
            Radius(rules::PROJECTILE_RADIUS),
            Kind(EntityKind::Projectile),
            Projectile {
                owner: entity,
                ticks_left: ticks(rules::PROJECTILE_LIFETIME, clock.dt),
            },
        ));
    }
}

/// The hitscan rail: on a press, a ray from the shooter along its aim hits the first
/// live target it crosses, **as the shooter saw the targets**: their bodies are rewound
/// to the tick the input says its client was viewing (clamped into the room's rewind
/// window), so a shot that hit on the shooter's screen hits here despite the latency.
/// The shooter itself, and the walls, are where they are now.
pub fn fire_rails(
    mut commands: Commands,
    (clock, map): (Res<RoomClock>, Res<Map>),
    (inputs, history): (Res<ActiveInputs>, Res<History<Body>>),
    mut shooters: Query<(Entity, &Controlled, &mut Player, &Body), Without<Respawning>>,
    mut targets: Query<(&Radius, &mut Health, Has<Drone>), Walkers>,
    mut scores: Query<&mut Score>,
) {
    for (shooter, controlled, mut player, body) in &mut shooters {
        let input: ArenaInput = inputs.get(controlled.0);
        let held = input.buttons & buttons::RAIL != 0;
        let pressed = held && !player.rail_held;
        player.rail_held = held;
        player.rail_cooldown = player.rail_cooldown.saturating_sub(1);
        if !pressed || player.rail_cooldown > 0 {
            continue;
        }
        player.rail_cooldown = ticks(rules::RAIL_INTERVAL, clock.dt);
        let Some(seen) = history.rewind_tick(inputs.view_tick(controlled.0)) else {
            continue;
        };
        let origin = body.0.position;
        let direction = Vec2::from_angle(body.0.angle);
        let reach = map
            .ray_to_wall(origin, direction)
            .unwrap_or(f32::INFINITY)
            .min(rules::RAIL_RANGE);
        let mut nearest: Option<(f32, Entity)> = None;
        for (target, then) in history.all_at(seen) {
            let Ok((radius, health, _)) = targets.get(target) else {
                continue;
            };
            if target == shooter || health.0.0 == 0 {
                continue;
            }
            // Ray against circle: the closest approach along the ray, then how far in.
            let to_centre = then.0.position - origin;
            let along = to_centre.dot(direction);
            let miss_squared = to_centre.length_squared() - along * along;
            let depth_squared = radius.0 * radius.0 - miss_squared;
            if along < 0.0 || depth_squared < 0.0 {
                continue;
            }
            let distance = along - depth_squared.sqrt();
            if distance <= reach && nearest.is_none_or(|(best, _)| distance < best) {
                nearest = Some((distance, target));
            }
        }
        if let Some((_, target)) = nearest
            && let Ok((_, mut health, is_drone)) = targets.get_mut(target)
        {
            let hit = Hit {
                shooter,
                target,
                is_drone,
            };
            hit.land(&mut commands, &clock, &mut health, rules::RAIL_DAMAGE, &mut scores);
        }
    }
}

/// A hit that takes health: a projectile's or a rail's.
struct Hit {
    shooter: Entity,
    target: Entity,
    is_drone: bool,
}

impl Hit {
    /// Takes `damage` from the target; a kill scores for the shooter, removes a drone
    /// and sends a player to respawn.
    fn land(
        &self,
        commands: &mut Commands,
        clock: &RoomClock,
        health: &mut Health,
        damage: u8,
        scores: &mut Query<&mut Score>,
    ) {
        health.0 = arena::Health(health.0.0.saturating_sub(damage));
        if health.0.0 > 0 {
            return;
        }
        if let Ok(mut score) = scores.get_mut(self.shooter) {
            score.0.kills += 1;
        }
        if self.is_drone {
            commands.entity(self.target).despawn();
        } else {
            if let Ok(mut score) = scores.get_mut(self.target) {
                score.0.deaths += 1;
            }
            commands.entity(self.target).insert(Respawning {
                ticks_left: ticks(rules::RESPAWN_DELAY, clock.dt),
            });
        }
    }
}

/// Projectiles fly straight and fizzle in walls, off the floor or when spent.
pub fn move_projectiles(
    mut commands: Commands,
    clock: Res<RoomClock>,
    map: Res<Map>,
    mut projectiles: Query<(Entity, &mut Projectile, &mut Body, &Velocity)>,
) {
    for (entity, mut projectile, mut body, velocity) in &mut projectiles {
        body.0.position += velocity.0 * clock.dt;
        projectile.ticks_left = projectile.ticks_left.saturating_sub(1);
        if projectile.ticks_left == 0 || !map.is_open(body.0.position) {
            commands.entity(entity).despawn();
        }
    }
}

/// Projectiles that touch a player or drone (other than their owner) deal one point of
/// damage and vanish. A kill scores for the owner; dead players wait to respawn, dead
/// drones are removed (and replenished later).
pub fn resolve_hits(
    mut commands: Commands,
    clock: Res<RoomClock>,
    mut grid: ResMut<HitGrid>,
    projectiles: Query<(Entity, &Projectile, &Body)>,
    mut targets: Query<(Entity, &Body, &Radius, &mut Health, Has<Drone>), Walkers>,
    mut scores: Query<&mut Score>,
) {
    if projectiles.is_empty() {
        return;
    }
    grid.0.clear();
    for (entity, body, radius, health, _) in &targets {
        if health.0.0 > 0 {
            grid.0.insert(entity, body.0.position, radius.0);
        }
    }
    for (shot, projectile, body) in &projectiles {
        let hit = grid
            .0
            .near(body.0.position, rules::PROJECTILE_RADIUS)
            .find(|(target, centre, radius)| {
                *target != projectile.owner
                    && centre.distance_squared(body.0.position) <= (radius + rules::PROJECTILE_RADIUS).powi(2)
            });
        let Some(&(target, _, _)) = hit else { continue };
        commands.entity(shot).despawn();
        let Ok((_, _, _, mut health, is_drone)) = targets.get_mut(target) else {
            continue;
        };
        if health.0.0 == 0 {
            continue; // already killed this tick by another hit
        }
        let hit = Hit {
            shooter: projectile.owner,
            target,
            is_drone,
        };
        hit.land(&mut commands, &clock, &mut health, 1, &mut scores);
    }
}

/// Dead players come back at a spawn point with full health.
pub fn respawn_players(
    mut commands: Commands,
    map: Res<Map>,
    mut rng: ResMut<GameRng>,
    mut dead: Query<(Entity, &mut Respawning, &mut Body, &mut Health, &mut Velocity)>,
) {
    for (entity, mut respawning, mut body, mut health, mut velocity) in &mut dead {
        respawning.ticks_left = respawning.ticks_left.saturating_sub(1);
        if respawning.ticks_left > 0 {
            continue;
        }
        let spawn = map.spawns[rng.0.usize(..map.spawns.len())];
        body.0 = Transform2 {
            position: spawn,
            angle: 0.0,
        }
        .quantized();
        health.0 = arena::Health(rules::PLAYER_HEALTH);
        velocity.0 = Vec2::ZERO;
        commands.entity(entity).remove::<Respawning>();
    }
}

/// Keeps the drone count at its target (a destroyed drone reappears elsewhere).
pub fn replenish_drones(world: &mut World) {
    let target = world.resource::<DroneTarget>().0 as usize;
    let alive = world.query_filtered::<(), With<Drone>>().iter(world).count();
    for _ in alive..target {
        spawn_drone(world);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::Arena;
    use crate::room::{Game, ReplicationRegistry, TickSystems};
    use tickcast_shared::input::GameInput;

    /// A world and schedule with the arena and a clock, without a room thread.
    fn arena(drones: u32) -> (World, Schedule) {
        let mut world = World::new();
        let mut schedule = Schedule::default();
        schedule.configure_sets((TickSystems::ApplyInputs, TickSystems::Simulate).chain());
        let game = Arena {
            map: Map::load("embedded").unwrap(),
            drones,
            seed: 7,
        };
        game.build(&mut world, &mut schedule, &mut ReplicationRegistry::default());
        world.insert_resource(ActiveInputs::default());
        world.insert_resource(RoomClock::new(
            crate::room::Rates {
                tick_rate: 60,
                snapshot_rate: 30,
            },
            false,
        ));
        (world, schedule)
    }

    #[test]
    fn a_player_moves_where_its_input_points_and_stays_in_bounds() {
        let (mut world, mut schedule) = arena(0);
        let player = Arena::spawn_player(&mut world, 1, "p");
        world.entity_mut(player).insert(Controlled(1));
        let start = world.get::<Body>(player).unwrap().0.position;
        world.resource_mut::<ActiveInputs>().0.insert(
            1,
            ArenaInput {
                move_x: 1.0,
                ..ArenaInput::default()
            }
            .to_input(0, None),
        );
        schedule.run(&mut world);
        let moved = world.get::<Body>(player).unwrap().0.position;
        assert!(
            (moved.x - start.x - rules::PLAYER_SPEED / 60.0).abs() < 0.011,
            "{start} -> {moved}"
        );
        for _ in 0..600 {
            schedule.run(&mut world);
        }
        let end = world.get::<Body>(player).unwrap().0.position;
        assert!(end.x <= 100.0 - rules::PLAYER_RADIUS + 1e-3, "{end}");
    }

    #[test]
    fn shots_kill_a_player_who_then_respawns_and_the_shooter_scores() {
        let (mut world, mut schedule) = arena(0);
        let shooter = Arena::spawn_player(&mut world, 1, "shooter");
        let victim = Arena::spawn_player(&mut world, 2, "victim");
        world.entity_mut(shooter).insert(Controlled(1));
        world.entity_mut(victim).insert(Controlled(2));
        world.get_mut::<Body>(shooter).unwrap().0.position = Vec2::new(30.0, 50.0);
        world.get_mut::<Body>(victim).unwrap().0.position = Vec2::new(36.0, 50.0);
        world.resource_mut::<ActiveInputs>().0.insert(
            1,
            ArenaInput {
                buttons: buttons::FIRE,
                ..ArenaInput::default()
            }
            .to_input(0, None),
        );
        let mut died = false;
        for _ in 0..60 * 6 {
            schedule.run(&mut world);
            died |= world.get::<Respawning>(victim).is_some();
            if died && world.get::<Respawning>(victim).is_none() {
                break;
            }
        }
        assert!(died, "ten hits at 4 shots per second kill within 3 s");
        assert_eq!(world.get::<Score>(shooter).unwrap().0.kills, 1);
        assert_eq!(world.get::<Score>(victim).unwrap().0.deaths, 1);
        assert_eq!(
            world.get::<Health>(victim).unwrap().0.0,
            rules::PLAYER_HEALTH,
            "respawned whole"
        );
    }

    #[test]
    fn drones_wander_and_are_replenished() {
        let (mut world, mut schedule) = arena(20);
        let positions = |world: &mut World| -> Vec<Vec2> {
            world
                .query_filtered::<&Body, With<Drone>>()
                .iter(world)
                .map(|b| b.0.position)
                .collect()
        };
        let before = positions(&mut world);
        for _ in 0..30 {
            schedule.run(&mut world);
        }
        let after = positions(&mut world);
        assert_eq!(after.len(), 20);
        assert!(before.iter().zip(&after).any(|(a, b)| a != b), "drones move");
        let victim = world
            .query_filtered::<Entity, With<Drone>>()
            .iter(&world)
            .next()
            .unwrap();
        world.despawn(victim);
        schedule.run(&mut world);
        assert_eq!(positions(&mut world).len(), 20);
    }
}
