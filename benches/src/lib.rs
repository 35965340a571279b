//! World builders and shared setup for the tickcast criterion benches.
//!
//! Everything a bench needs outside its timed code lives here, so that it can be unit
//! tested (`cargo test -p tickcast-benches`) and the benches stay short:
//!
//! - the tick bench (`benches/tick.rs`) steps a real arena room: [`warmed_simulation`]
//!   builds it and warms it into steady state, [`time_steps`] times plain or snapshot
//!   ticks separately;
//! - the codec bench (`benches/codec.rs`) diffs and encodes a synthetic but realistic
//!   world: [`arena_world`] builds the state a room with that many drones would capture,
//!   [`move_every`] moves a fraction of it, [`diff_and_encode`] does what a connection
//!   writer does per snapshot (`diff_into` + the bit-packed `encode_body`) and
//!   [`SnapshotSizes`] reports the bytes, against a full-state body and against the naive
//!   plain-MessagePack encoding of the whole world ([`naive_msgpack_len`]).
//!
//! `BENCHMARKS.md` at the repository root has the command and the figures.

pub mod crowd;
pub mod cube_pile;

use std::time::{Duration, Instant};
use tickcast_server::game::rules::{DRONE_HEALTH, DRONE_SPEED};
use tickcast_server::game::{Arena, Map};
use tickcast_server::room::{RoomHandle, RoomSettings, Simulation};
use tickcast_shared::arena::{EntityKind, Health, Transform2};
use tickcast_shared::{
    ComponentState, Components, Delta, EntityState, Fields, InputAck, NetId, Replicate, SnapshotFrame, checksum, diff,
    diff_into, encode_body,
};

/// The criterion settings every bench here uses: 1 s warm-up, 3 s of measurement and
/// `samples` samples, so the whole suite runs in minutes on two cores.
pub fn criterion_config(samples: usize) -> criterion::Criterion {
    criterion::Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(samples)
}

/// Ticks per second of the bench rooms (the server's default).
pub const TICK_RATE: u32 = 60;
/// Snapshots per second of the bench rooms (the server's default): every other tick.
pub const SNAPSHOT_RATE: u32 = 30;
/// Ticks a bench room runs before it is measured: one second of game time, enough for
/// every drone to have picked a heading and for `NetId`s to be assigned.
pub const WARMUP_TICKS: u32 = 60;
/// The embedded map's floor, in world units.
const FLOOR: (f32, f32) = (100.0, 60.0);

/// Room settings of the benches: the server's defaults, with stats logging off.
pub fn room_settings() -> RoomSettings {
    RoomSettings::at_rates(TICK_RATE, SNAPSHOT_RATE)
}

/// An arena room on the embedded map with `drones` drones (so `drones` replicated
/// entities and no clients), stepped `warmup_ticks` times. Keep the returned handle
/// alive while stepping: it holds the snapshot slot's receiver, as a server's
/// connections would.
///
/// # Panics
/// If the embedded map does not load.
pub fn warmed_simulation(drones: u32, warmup_ticks: u32) -> (Simulation, RoomHandle) {
    let arena = Arena {
        map: Map::load("embedded").expect("the embedded map loads"),
        drones,
        seed: 1,
    };
    let (mut simulation, handle) = Simulation::new(arena, &room_settings());
    for _ in 0..warmup_ticks {
        simulation.step();
    }
    (simulation, handle)
}

/// Whether the next [`Simulation::step`] is a snapshot tick (captures and publishes).
/// Mirrors the server's run condition: the tick is a multiple of ticks per snapshot.
pub fn next_step_snapshots(simulation: &Simulation) -> bool {
    let ticks_per_snapshot = (TICK_RATE / SNAPSHOT_RATE).max(1);
    simulation.tick().0.is_multiple_of(ticks_per_snapshot)
}

/// Which ticks [`time_steps`] measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// Every tick in turn: the average of plain and snapshot ticks.
    Any,
    /// Only ticks without a snapshot (inputs and simulation).
    Plain,
    /// Only snapshot ticks: inputs and simulation, then the capture (every replicated
    /// component quantized, every entity hashed, interest metadata) and the publish.
    Snapshot,
}

/// Runs `iters` ticks of `kind` and returns the time they took, for criterion's
/// `iter_custom`. For [`StepKind::Plain`] and [`StepKind::Snapshot`] the other kind of
/// tick is stepped in between, untimed, so the simulation keeps its real cadence.
pub fn time_steps(simulation: &mut Simulation, iters: u64, kind: StepKind) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let wanted = match kind {
            StepKind::Any => None,
            StepKind::Plain => Some(false),
            StepKind::Snapshot => Some(true),
        };
        if wanted.is_some_and(|snapshot| next_step_snapshots(simulation) != snapshot) {
            simulation.step();
        }
        let started = Instant::now();
        simulation.step();
        total += started.elapsed();
    }
    total
}

/// One component, quantized by its `Replicate` impl exactly as the server captures it.
fn component<T: Replicate>(value: &T) -> ComponentState {
    let mut fields = Fields::new();
    value.quantize(&mut fields);
    ComponentState { kind: T::KIND, fields }
}

/// The replicated state of one drone: `Transform2`, `Health` and `EntityKind`, sorted by
/// kind, as the server's capture produces it.
pub fn drone_state(id: NetId, transform: Transform2, health: Health) -> EntityState {
    let components: Components = [component(&transform), component(&health), component(&EntityKind::Drone)]
        .into_iter()
        .collect();
    EntityState { id, components }
}

/// `entities` drones scattered over the embedded map's floor with random facings and
/// health, sorted by `NetId` (slots `1..=entities`, generation 1, as a fresh room's
/// slotmap assigns them). Deterministic for a given `seed`.
pub fn arena_world(entities: usize, seed: u64) -> Vec<EntityState> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..entities)
        .map(|slot| {
            let mut transform = Transform2::default();
            transform.position.x = 0.5 + rng.f32() * (FLOOR.0 - 1.0);
            transform.position.y = 0.5 + rng.f32() * (FLOOR.1 - 1.0);
            transform.angle = rng.f32() * std::f32::consts::TAU;
            let health = Health(1 + rng.u8(..DRONE_HEALTH));
            let id = NetId::from_parts(u32::try_from(slot + 1).expect("fewer than 2^32 entities"), 1);
            drone_state(id, transform.quantized(), health)
        })
        .collect()
}

/// `world` one snapshot interval later for every `stride`-th entity (positions 0,
/// `stride`, 2 * `stride`, ...): each of those turns to a new heading (at least one
/// radian away, so its quantized angle always changes) and moves two ticks at drone speed
/// that way, kept on the floor. Every other entity is left as it was. With `stride` 10,
/// exactly 10% of the entities (rounded up) change, and only their `Transform2`.
///
/// # Panics
/// If `stride` is zero or an entity has no well-formed `Transform2`.
pub fn move_every(world: &[EntityState], stride: usize, seed: u64) -> Vec<EntityState> {
    assert!(stride > 0, "stride must be positive");
    let step = DRONE_SPEED * (TICK_RATE / SNAPSHOT_RATE) as f32 / TICK_RATE as f32;
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut moved = world.to_vec();
    for entity in moved.iter_mut().step_by(stride) {
        let mut transform: Transform2 = entity.get().expect("every bench entity has a Transform2");
        transform.angle = (transform.angle + 1.0 + rng.f32() * 4.0).rem_euclid(std::f32::consts::TAU);
        let (sin, cos) = transform.angle.sin_cos();
        transform.position.x = (transform.position.x + cos * step).clamp(0.5, FLOOR.0 - 0.5);
        transform.position.y = (transform.position.y + sin * step).clamp(0.5, FLOOR.1 - 0.5);
        let at = entity
            .components
            .binary_search_by_key(&Transform2::KIND, |c| c.kind)
            .expect("checked above");
        entity.components[at] = component(&transform);
    }
    moved
}

/// Diffs `current` against `baseline` and encodes the bit-packed body into `out`, as a
/// connection writer does for each new snapshot: `delta` and `out` are cleared and
/// reused, so a steady state allocates nothing. `checksum` is sent as it is (the server
/// keeps it up to date as entities change, it is not recomputed per body).
pub fn diff_and_encode(
    baseline: &[EntityState],
    current: &[EntityState],
    checksum: Option<u32>,
    delta: &mut Delta,
    out: &mut Vec<u8>,
) {
    diff_into(baseline, current, delta);
    out.clear();
    *out = encode_body(checksum, delta, baseline, std::mem::take(out));
}

/// The encoded body taking a client from `baseline` to `current`, with the checksum of
/// `current` (an empty `baseline` gives a full snapshot).
pub fn encoded_body(baseline: &[EntityState], current: &[EntityState]) -> Vec<u8> {
    let mut out = Vec::new();
    diff_and_encode(
        baseline,
        current,
        Some(checksum(current)),
        &mut Delta::default(),
        &mut out,
    );
    out
}

/// A snapshot frame as a client receives it: a full snapshot at `tick`, or a delta
/// `tick` ticks after the client's baseline.
pub fn frame(full: bool, tick: u32, body: Vec<u8>) -> SnapshotFrame {
    SnapshotFrame {
        full,
        tick,
        input_ack: InputAck::None,
        body,
    }
}

/// Bytes MessagePack spends on an array header of `len` elements.
fn msgpack_array_header(len: usize) -> usize {
    match len {
        0..=15 => 1,
        16..=0xffff => 3,
        _ => 5,
    }
}

/// Bytes MessagePack spends on the integer `value` in its most compact form (what rmp,
/// under rmp-serde, writes for every integer type).
fn msgpack_int(value: i64) -> usize {
    match value {
        -32..=127 => 1,
        -128..=255 => 2,
        -32_768..=65_535 => 3,
        -2_147_483_648..=4_294_967_295 => 5,
        _ => 9,
    }
}

/// Size of the naive encoding of a world: the whole `Vec<EntityState>` as rmp-serde
/// writes it (structs as arrays, so an entity is `[[index, generation], [[kind, [fields..]], ..]]`),
/// with the same quantized integers but no delta and no bit packing. This is what
/// sending the full state as plain MessagePack every snapshot would cost.
///
/// Computed from the MessagePack rules rather than by rmp-serde itself, so the benches
/// need no serializer of their own; the unit tests pin the rules with byte counts.
pub fn naive_msgpack_len(world: &[EntityState]) -> usize {
    let entity = |e: &EntityState| {
        let id = 1 + msgpack_int(e.id.index().into()) + msgpack_int(e.id.generation().into());
        let components: usize = e
            .components
            .iter()
            .map(|c| {
                let fields: usize = c.fields.iter().map(|f| msgpack_int((*f).into())).sum();
                1 + msgpack_int(c.kind.0.into()) + msgpack_array_header(c.fields.len()) + fields
            })
            .sum();
        1 + id + msgpack_array_header(e.components.len()) + components
    };
    msgpack_array_header(world.len()) + world.iter().map(entity).sum::<usize>()
}

/// What one snapshot of a world costs on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotSizes {
    /// Entities in the world.
    pub entities: usize,
    /// Entities that changed since the baseline.
    pub changed: usize,
    /// Encoded delta body (with checksum), bytes.
    pub delta_bytes: usize,
    /// Encoded full-state body of the same world (no baseline: every entity spawned
    /// whole, same bit-packed codec, with checksum), bytes: what a joining client gets.
    pub full_bytes: usize,
    /// The whole world as plain MessagePack ([`naive_msgpack_len`]), bytes.
    pub naive_bytes: usize,
}

impl SnapshotSizes {
    /// Measures the delta from `baseline` to `current` against a full-state snapshot
    /// and the naive MessagePack encoding of `current`.
    pub fn measure(baseline: &[EntityState], current: &[EntityState]) -> SnapshotSizes {
        SnapshotSizes {
            entities: current.len(),
            changed: diff(baseline, current).entities_changed(),
            delta_bytes: encoded_body(baseline, current).len(),
            full_bytes: encoded_body(&[], current).len(),
            naive_bytes: naive_msgpack_len(current),
        }
    }

    /// Delta bytes per changed entity (the fixed body overhead included).
    pub fn bytes_per_changed(&self) -> f64 {
        self.delta_bytes as f64 / self.changed.max(1) as f64
    }

    /// `bytes` per entity of the world.
    pub fn per_entity(&self, bytes: usize) -> f64 {
        bytes as f64 / self.entities.max(1) as f64
    }

    /// How many times smaller the delta is than `bytes` (the full or naive size).
    pub fn ratio(&self, bytes: usize) -> f64 {
        bytes as f64 / self.delta_bytes.max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use tickcast_shared::HeldShape;
    use tickcast_shared::{ClientMirror, HeldEntity, decode_body};

    #[test]
    fn arena_world_is_sorted_well_formed_and_deterministic() {
        let world = arena_world(1_000, 7);
        assert_eq!(world.len(), 1_000);
        assert!(
            world.windows(2).all(|w| w[0].id < w[1].id),
            "sorted by NetId, no duplicates"
        );
        assert!(world.iter().all(EntityState::is_well_formed));
        assert!(world.iter().all(|e| e.get::<EntityKind>() == Some(EntityKind::Drone)));
        assert!(
            world
                .iter()
                .all(|e| e.get::<Health>().is_some_and(|h| (1..=3).contains(&h.0)))
        );
        assert_eq!(world, arena_world(1_000, 7));
        assert_ne!(world, arena_world(1_000, 8));
    }

    #[test]
    fn arena_world_has_the_shape_of_a_real_capture() {
        let (_simulation, handle) = warmed_simulation(8, 2);
        let snapshot = handle
            .snapshots()
            .borrow()
            .clone()
            .expect("tick 0 published a snapshot");
        let shape =
            |e: &EntityState| -> Vec<(u8, usize)> { e.components.iter().map(|c| (c.kind.0, c.fields.len())).collect() };
        assert_eq!(snapshot.entities.len(), 8);
        for (real, synthetic) in snapshot.entities.iter().zip(arena_world(8, 1).iter()) {
            assert_eq!(shape(real), shape(synthetic));
            assert_eq!(
                real.id, synthetic.id,
                "a fresh room assigns slots 1.. with generation 1"
            );
        }
    }

    #[test]
    fn moving_every_tenth_entity_changes_exactly_ten_percent() {
        let baseline = arena_world(1_000, 1);
        let current = move_every(&baseline, 10, 2);
        let delta = diff(&baseline, &current);
        assert!(delta.spawns.is_empty() && delta.despawns.is_empty());
        assert_eq!(delta.updates.len(), 100);
        for (n, update) in delta.updates.iter().enumerate() {
            assert_eq!(update.id, baseline[n * 10].id);
            assert!(!update.changes.is_empty());
            assert!(
                update.changes.iter().all(|change| change.component == 0),
                "only the transform (the first component) changes"
            );
            assert!(
                update.changes.iter().any(|change| change.field == 2),
                "the facing always changes"
            );
        }
        assert_eq!(diff(&baseline, &move_every(&baseline, 1, 2)).updates.len(), 1_000);
    }

    #[test]
    fn delta_is_smaller_than_full_state_and_reaches_current() {
        let baseline = arena_world(1_000, 1);
        let current = move_every(&baseline, 10, 2);
        let sizes = SnapshotSizes::measure(&baseline, &current);
        assert_eq!(sizes.changed, 100);
        assert!(sizes.delta_bytes > 0);
        assert!(sizes.delta_bytes < sizes.full_bytes / 5, "{sizes:?}");
        assert!(sizes.full_bytes < sizes.naive_bytes, "{sizes:?}");
        assert!(sizes.ratio(sizes.naive_bytes) > 5.0);

        let mut mirror = ClientMirror::new();
        assert!(
            mirror
                .apply_frame(&frame(true, 0, encoded_body(&[], &baseline)))
                .unwrap()
                .checksum_verified
        );
        let applied = mirror
            .apply_frame(&frame(false, 2, encoded_body(&baseline, &current)))
            .unwrap();
        assert!(applied.checksum_verified);
        assert_eq!((applied.updated, applied.spawned, applied.despawned), (100, 0, 0));
        assert!(mirror.entities().eq(current.iter()));
    }

    #[test]
    fn diff_and_encode_reuses_its_buffers_and_decodes_against_the_baseline() {
        let baseline = arena_world(200, 3);
        let current = move_every(&baseline, 10, 4);
        let (mut delta, mut out) = (Delta::default(), Vec::new());
        diff_and_encode(&baseline, &current, Some(7), &mut delta, &mut out);
        let first = out.clone();
        diff_and_encode(&baseline, &current, Some(7), &mut delta, &mut out);
        assert_eq!(out, first, "a second encode replaces, never appends");
        assert_eq!(delta, diff(&baseline, &current));
        let held: BTreeMap<NetId, HeldEntity> = baseline.iter().map(|e| (e.id, HeldEntity::new(e.clone()))).collect();
        let decoded = decode_body(&out, &held, &Delta::default()).unwrap();
        assert_eq!((decoded.checksum, decoded.delta), (Some(7), delta));
    }

    #[test]
    fn baseline_shape_answers_like_a_mirror() {
        let world = arena_world(50, 5);
        let held: BTreeMap<NetId, HeldEntity> = world.iter().map(|e| (e.id, HeldEntity::new(e.clone()))).collect();
        let shape: &[EntityState] = &world;
        for id in world
            .iter()
            .map(|e| e.id)
            .chain([NetId::from_parts(999, 1), NetId::from_parts(3, 3)])
        {
            assert_eq!(shape.components(id), held.components(id), "{id}");
            for component in 0..4 {
                assert_eq!(
                    shape.fields(id, component),
                    held.fields(id, component),
                    "{id} {component}"
                );
            }
        }
    }

    #[test]
    fn msgpack_sizes_follow_the_spec() {
        // Integers: positive fixint, negative fixint, then 1 + 1, 2, 4 or 8 bytes.
        let cases = [
            (0, 1),
            (127, 1),
            (128, 2),
            (255, 2),
            (256, 3),
            (65_535, 3),
            (65_536, 5),
            (-1, 1),
            (-32, 1),
            (-33, 2),
            (-128, 2),
            (-129, 3),
            (-32_768, 3),
            (-32_769, 5),
            (i64::from(i32::MIN), 5),
            (1 << 32, 9),
        ];
        for (value, bytes) in cases {
            assert_eq!(msgpack_int(value), bytes, "{value}");
        }
        assert_eq!(
            (
                msgpack_array_header(15),
                msgpack_array_header(16),
                msgpack_array_header(70_000)
            ),
            (1, 3, 5)
        );
        // [[5, 1], [[0, [1000, -3, 4095]], [1, [3]], [2, [1]]]]:
        // 1 + (1 + 1 + 1) + 1 + (1 + 1 + 1 + 3 + 1 + 3) + (1 + 1 + 1 + 1) * 2 = 23
        let entity = drone_state(
            NetId::from_parts(5, 1),
            Transform2::dequantize(&[1000, -3, 4095]).unwrap(),
            Health(3),
        );
        assert_eq!(entity.components[0].fields.as_slice(), &[1000, -3, 4095]);
        assert_eq!(naive_msgpack_len(std::slice::from_ref(&entity)), 1 + 23);
        assert_eq!(naive_msgpack_len(&[]), 1);
    }

    #[test]
    fn warmed_room_replicates_every_drone_and_snapshots_every_other_tick() {
        let (mut simulation, handle) = warmed_simulation(50, 3);
        assert_eq!(simulation.replicated_entities(), 50);
        let mut snapshots = handle.snapshots();
        snapshots.mark_unchanged();
        for _ in 0..4 {
            let predicted = next_step_snapshots(&simulation);
            simulation.step();
            assert_eq!(snapshots.has_changed().unwrap(), predicted);
            snapshots.mark_unchanged();
        }
    }

    #[test]
    fn time_steps_runs_the_kind_of_tick_asked_for() {
        let (mut simulation, _handle) = warmed_simulation(10, 0);
        let before = simulation.tick().0;
        time_steps(&mut simulation, 3, StepKind::Any);
        assert_eq!(simulation.tick().0, before + 3);
        for kind in [StepKind::Plain, StepKind::Snapshot] {
            for _ in 0..3 {
                let before = simulation.tick().0;
                time_steps(&mut simulation, 1, kind);
                let ran = simulation.tick().0 - 1;
                assert_eq!(
                    ran.is_multiple_of(2),
                    kind == StepKind::Snapshot,
                    "{kind:?} ran tick {ran}"
                );
                assert!(simulation.tick().0 - before <= 2);
            }
        }
    }
}
