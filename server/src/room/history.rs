//! Lag compensation: a short history of a component, and the rewind query over it.
//!
//! A client shows the world some way in the past: a snapshot takes half a round trip to
//! arrive, and the client renders behind the newest one to interpolate. A player who aims
//! at a moving target aims where the target *was* on their screen. So an input carries
//! the tick the client was viewing ([`ActiveInputs::view_tick`](super::ActiveInputs)),
//! and a game that resolves an instant action (a hitscan shot, a melee swing) asks
//! "where was entity E at tick T" of a [`History`], not of the present world.
//!
//! A game opts in per component with [`History::track`]: at the end of every snapshot
//! tick (the only ticks a client is ever shown) the room records each replicated
//! entity's value of that component, keeping the last
//! [`RoomSettings::rewind_window`](super::RoomSettings) worth of ticks.
//! [`History::rewind_tick`] maps a view tick to the recorded tick nearest it, clamped
//! into the window: a client can never reach further back than the server allows (the
//! bound on how much a laggy or lying client can rewrite the past), nor into a future it
//! could not have seen.
//!
//! Memory and work are bounded: the window holds a frame of `(Entity, C)` pairs per
//! snapshot tick in it, whose vectors are reused from the frame that falls out, so
//! recording does not allocate once the room's entity count is steady. Recording is a
//! copy per entity and snapshot tick; a lookup scans one frame (measured in
//! BENCHMARKS.md, "Lag compensation").

use super::{Replicated, RoomClock, TickSystems};
use bevy_ecs::prelude::*;
use bevy_ecs::query::QueryFilter;
use std::collections::VecDeque;
use tickcast_shared::Tick;

/// How many ticks back rooms keep history, from [`RoomSettings::rewind_window`](super::RoomSettings).
#[derive(Resource, Clone, Copy, Debug)]
pub struct RewindWindow(pub u32);

/// The recent values of component `C` of every replicated entity, tick by tick.
#[derive(Resource)]
pub struct History<C: Component + Clone> {
    /// How many ticks before the newest recorded one are kept.
    window: u32,
    /// Oldest first; each frame in the order the query walked the world (unsorted:
    /// recording is a cost on every snapshot tick, a lookup only on an instant action).
    frames: VecDeque<(Tick, Vec<(Entity, C)>)>,
}

impl<C: Component + Clone> History<C> {
    /// An empty history keeping the frames of the last `window` ticks.
    pub fn new(window: u32) -> History<C> {
        History {
            window,
            frames: VecDeque::new(),
        }
    }

    /// Records `C` every tick into a `History<C>` resource, for the game's systems to
    /// rewind. Call it from [`Game::build`](super::Game::build); the window is the room's
    /// (see [`RewindWindow`]).
    pub fn track(world: &mut World, schedule: &mut Schedule) {
        History::<C>::track_only::<()>(world, schedule);
    }

    /// As [`History::track`], but only of the replicated entities that match the query
    /// filter `F`: the ones an instant action can hit. Recording is a copy per entity on
    /// every snapshot tick, so leaving out what no rewind asks about (projectiles, say:
    /// `With<Health>` or `Without<Projectile>`) saves that copy and shortens each scan.
    pub fn track_only<F: QueryFilter + 'static>(world: &mut World, schedule: &mut Schedule) {
        let window = world.get_resource::<RewindWindow>().map_or(0, |window| window.0);
        world.insert_resource(History::<C>::new(window));
        // Recorded as a snapshot tick ends, after the game's systems: the state the
        // snapshot shows.
        schedule.add_systems(
            record::<C, F>
                .in_set(TickSystems::Snapshot)
                .run_if(super::tick_loop::is_snapshot_tick),
        );
    }

    /// Appends the values of `tick` (after every tick recorded so far), dropping the
    /// frames that fall out of the window.
    pub fn record(&mut self, tick: Tick, values: impl IntoIterator<Item = (Entity, C)>) {
        let mut spare = None;
        while let Some((oldest, _)) = self.frames.front()
            && tick.since(*oldest) > self.window as i32
        {
            spare = self.frames.pop_front().map(|(_, frame)| frame);
        }
        let mut frame = spare.unwrap_or_default();
        frame.clear();
        frame.extend(values);
        self.frames.push_back((tick, frame));
    }

    /// The oldest and newest ticks held, if any.
    pub fn span(&self) -> Option<(Tick, Tick)> {
        Some((self.frames.front()?.0, self.frames.back()?.0))
    }

    /// The tick a rewind to `view` uses: the recorded tick nearest `view` (the older of
    /// two as near), so `view` clamped into the ticks held; the newest when the client
    /// did not say. `None` before the first recorded tick.
    pub fn rewind_tick(&self, view: Option<Tick>) -> Option<Tick> {
        let (_, newest) = self.span()?;
        let Some(view) = view else { return Some(newest) };
        self.frames
            .iter()
            .map(|(tick, _)| *tick)
            .min_by_key(|tick| tick.since(view).unsigned_abs())
    }

    /// Where `entity`'s `C` was at `tick`: `None` if the tick is not held or the entity
    /// did not exist then. A scan of the tick's frame: for a few lookups a tick (a shot);
    /// to test many entities, walk [`History::all_at`] once.
    pub fn at(&self, entity: Entity, tick: Tick) -> Option<&C> {
        self.frame(tick)?
            .iter()
            .find(|(held, _)| *held == entity)
            .map(|(_, value)| value)
    }

    /// Every entity's `C` at `tick` (empty if the tick is not held).
    pub fn all_at(&self, tick: Tick) -> impl Iterator<Item = (Entity, &C)> {
        self.frame(tick)
            .into_iter()
            .flatten()
            .map(|(entity, value)| (*entity, value))
    }

    fn frame(&self, tick: Tick) -> Option<&[(Entity, C)]> {
        self.frames
            .iter()
            .find(|(held, _)| *held == tick)
            .map(|(_, frame)| frame.as_slice())
    }
}

/// `TickSystems::Snapshot`: records this tick's values of `C` (of the entities `F` lets
/// through).
fn record<C: Component + Clone, F: QueryFilter>(
    clock: Res<RoomClock>,
    mut history: ResMut<History<C>>,
    entities: Query<(Entity, &C), (With<Replicated>, F)>,
) {
    history.record(
        clock.tick,
        entities.iter().map(|(entity, value)| (entity, value.clone())),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Component, Clone, Copy, Debug, PartialEq)]
    struct X(i32);

    fn entities(n: u32) -> Vec<Entity> {
        let mut world = World::new();
        (0..n).map(|_| world.spawn_empty().id()).collect()
    }

    #[test]
    fn a_history_answers_within_its_window_and_forgets_what_left_it() {
        let e = entities(3);
        let mut history = History::<X>::new(3);
        assert_eq!(history.rewind_tick(Some(Tick(5))), None, "nothing recorded yet");
        for tick in 10..20u32 {
            // Entity 2 exists only from tick 17 on; values are tick * 10 + entity.
            let alive = if tick >= 17 { 3 } else { 2 };
            history.record(
                Tick(tick),
                (0..alive).rev().map(|i| (e[i], X(tick as i32 * 10 + i as i32))),
            );
        }
        assert_eq!(history.span(), Some((Tick(16), Tick(19))));
        assert_eq!(history.at(e[1], Tick(17)), Some(&X(171)));
        assert_eq!(history.at(e[2], Tick(16)), None, "not yet spawned then");
        assert_eq!(history.at(e[2], Tick(18)), Some(&X(182)));
        assert_eq!(history.at(e[0], Tick(15)), None, "out of the window");
        assert_eq!(history.all_at(Tick(16)).count(), 2);
        assert_eq!(
            history.rewind_tick(Some(Tick(3))),
            Some(Tick(16)),
            "too old: the oldest"
        );
        assert_eq!(
            history.rewind_tick(Some(Tick(40))),
            Some(Tick(19)),
            "the future: the newest"
        );
        assert_eq!(history.rewind_tick(Some(Tick(18))), Some(Tick(18)));
        assert_eq!(history.rewind_tick(None), Some(Tick(19)));
    }

    #[test]
    fn snapshot_ticks_only_a_view_between_two_takes_the_nearest() {
        let e = entities(1);
        let mut history = History::<X>::new(6);
        for tick in (0..20u32).step_by(2) {
            history.record(Tick(tick), [(e[0], X(tick as i32))]);
        }
        assert_eq!(history.span(), Some((Tick(12), Tick(18))), "six ticks back from 18");
        assert_eq!(
            history.rewind_tick(Some(Tick(15))),
            Some(Tick(14)),
            "a tie takes the older"
        );
        assert_eq!(history.rewind_tick(Some(Tick(17))), Some(Tick(16)));
        assert_eq!(history.at(e[0], Tick(15)), None, "no frame of an odd tick");
        assert_eq!(history.at(e[0], Tick(16)), Some(&X(16)));
    }

    #[derive(Component)]
    struct Target;

    /// `track_only`'s recorder: of the replicated entities, only those the filter lets
    /// through are kept.
    #[test]
    fn a_filtered_history_records_only_what_its_filter_lets_through() {
        use bevy_ecs::system::RunSystemOnce;
        let mut world = World::new();
        world.insert_resource(RoomClock {
            tick: Tick(4),
            dt: 1.0 / 60.0,
            ticks_per_snapshot: 2,
            snapshot_groups: 1,
        });
        world.insert_resource(History::<X>::new(10));
        let target = world.spawn((Replicated::default(), X(1), Target)).id();
        let other = world.spawn((Replicated::default(), X(2))).id();
        let unreplicated = world.spawn((X(3), Target)).id();
        world.run_system_once(record::<X, With<Target>>).unwrap();
        let history = world.resource::<History<X>>();
        assert_eq!(history.at(target, Tick(4)), Some(&X(1)));
        assert_eq!(history.at(other, Tick(4)), None, "filtered out");
        assert_eq!(history.at(unreplicated, Tick(4)), None, "not replicated");
        assert_eq!(history.all_at(Tick(4)).count(), 1);
    }

    #[test]
    fn ticks_wrap() {
        let e = entities(1);
        let mut history = History::<X>::new(2);
        for tick in [u32::MAX - 1, u32::MAX, 0, 1] {
            history.record(Tick(tick), [(e[0], X(tick as i32))]);
        }
        assert_eq!(history.span(), Some((Tick(u32::MAX), Tick(1))));
        assert_eq!(history.at(e[0], Tick(0)), Some(&X(0)));
        assert_eq!(history.rewind_tick(Some(Tick(u32::MAX - 5))), Some(Tick(u32::MAX)));
    }
}
