//! `entity_hash` (`tickcast_shared::entity_hash`, the CRC-32 of an entity's little-endian
//! words) against the same bytes hashed by `crc32fast`, on the arena's real entity sizes:
//! whether the hand-rolled CRC still earns its place (`server/src/tuning.rs`).
//!
//! The entities come from a real capture: an arena room of 1 000 drones stepped one
//! second, its published snapshot. A drone is 38 bytes (id, count, `Transform2`,
//! `Health`, `EntityKind`); a player adds `Score` (48 bytes); a projectile has no
//! `Health` (32 bytes). Those two are the captured drone with the component added or
//! removed, quantized by the game's own `Replicate` impls.
//!
//! Timed, per shape (`entity_hash/<variant>/<bytes>`) and over the whole 1 000-drone
//! snapshot (`entity_hash/<variant>/snapshot`, once per snapshot on the server, and what a
//! mirror rehashes on spawns):
//! - `tables`: `entity_hash` as the engine computes it;
//! - `crc32fast_pieces`: one `crc32fast::Hasher::update` per piece (the definition, as the
//!   property test in `shared/src/state.rs` writes it);
//! - `crc32fast_buffer`: the bytes gathered into a stack buffer, then one
//!   `crc32fast::hash` (the fastest way to hand them to `crc32fast`).
//!
//! `cargo bench -p tickcast-benches --bench hash`; for a quick look,
//! `cargo bench -p tickcast-benches --bench hash -- --warm-up-time 0.5 --measurement-time 1`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use tickcast_benches::{WARMUP_TICKS, warmed_simulation};
use tickcast_shared::arena::{EntityKind, Health, Score};
use tickcast_shared::{ComponentState, EntityState, Fields, Replicate, entity_hash};

/// Drones in the captured room.
const DRONES: u32 = 1_000;

/// A way to compute an entity's hash.
type Variant = fn(&EntityState) -> u32;

/// The definition: one hasher update per piece.
fn crc32fast_pieces(entity: &EntityState) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&entity.id.index().to_le_bytes());
    hasher.update(&entity.id.generation().to_le_bytes());
    hasher.update(&(entity.components.len() as u32).to_le_bytes());
    for component in &entity.components {
        hasher.update(&[component.kind.0, component.fields.len() as u8]);
        for field in &component.fields {
            hasher.update(&field.to_le_bytes());
        }
    }
    hasher.finalize()
}

/// The bytes of [`entity_hash`]'s definition, written into `buffer`; `None` if they do
/// not fit (no arena entity comes close).
fn entity_bytes<'a>(entity: &EntityState, buffer: &'a mut [u8; 128]) -> Option<&'a [u8]> {
    let mut at = 0;
    let mut put = |bytes: &[u8]| -> Option<()> {
        buffer.get_mut(at..at + bytes.len())?.copy_from_slice(bytes);
        at += bytes.len();
        Some(())
    };
    put(&entity.id.index().to_le_bytes())?;
    put(&entity.id.generation().to_le_bytes())?;
    put(&(entity.components.len() as u32).to_le_bytes())?;
    for component in &entity.components {
        put(&[component.kind.0, component.fields.len() as u8])?;
        for field in &component.fields {
            put(&field.to_le_bytes())?;
        }
    }
    Some(&buffer[..at])
}

/// The bytes gathered on the stack, then one `crc32fast::hash`.
fn crc32fast_buffer(entity: &EntityState) -> u32 {
    let mut buffer = [0u8; 128];
    match entity_bytes(entity, &mut buffer) {
        Some(bytes) => crc32fast::hash(bytes),
        None => crc32fast_pieces(entity),
    }
}

fn component<T: Replicate>(value: &T) -> ComponentState {
    let mut fields = Fields::new();
    value.quantize(&mut fields);
    ComponentState { kind: T::KIND, fields }
}

/// A captured drone turned into another kind of arena entity.
fn reshaped(drone: &EntityState, kind: EntityKind, health: bool, score: bool) -> EntityState {
    let mut entity = drone.clone();
    entity
        .components
        .retain(|c| c.kind != EntityKind::KIND && (health || c.kind != Health::KIND));
    entity.components.push(component(&kind));
    if score {
        entity.components.push(component(&Score { kills: 7, deaths: 2 }));
    }
    entity.components.sort_by_key(|c| c.kind);
    entity
}

fn hash(c: &mut Criterion) {
    let (_simulation, handle) = warmed_simulation(DRONES, WARMUP_TICKS);
    let snapshot = handle
        .snapshots()
        .borrow()
        .clone()
        .expect("the warm-up published a snapshot");
    let world = snapshot.entities.clone();
    let drone = world[world.len() / 2].clone();
    let shapes = [
        reshaped(&drone, EntityKind::Projectile, false, false),
        drone.clone(),
        reshaped(&drone, EntityKind::Player, true, true),
    ];
    let variants: [(&str, Variant); 3] = [
        ("tables", entity_hash),
        ("crc32fast_pieces", crc32fast_pieces),
        ("crc32fast_buffer", crc32fast_buffer),
    ];
    let mut buffer = [0u8; 128];
    let size = |entity: &EntityState, buffer: &mut [u8; 128]| entity_bytes(entity, buffer).map_or(0, <[u8]>::len);
    for entity in shapes.iter().chain(&world) {
        for (name, variant) in variants {
            assert_eq!(
                variant(entity),
                entity_hash(entity),
                "{name} hashes as the protocol says"
            );
        }
    }
    let world_bytes: usize = world.iter().map(|entity| size(entity, &mut buffer)).sum();
    eprintln!(
        "entity_hash inputs: projectile {} B, drone {} B, player {} B; snapshot {} entities, {} B",
        size(&shapes[0], &mut buffer),
        size(&shapes[1], &mut buffer),
        size(&shapes[2], &mut buffer),
        world.len(),
        world_bytes,
    );

    let mut group = c.benchmark_group("entity_hash");
    for entity in &shapes {
        let bytes = size(entity, &mut buffer);
        group.throughput(Throughput::Bytes(bytes as u64));
        for (name, variant) in variants {
            group.bench_with_input(BenchmarkId::new(name, bytes), entity, |b, entity| {
                b.iter(|| variant(black_box(entity)));
            });
        }
    }
    group.throughput(Throughput::Elements(world.len() as u64));
    for (name, variant) in variants {
        group.bench_with_input(BenchmarkId::new(name, "snapshot"), &world, |b, world| {
            b.iter(|| {
                black_box(world)
                    .iter()
                    .fold(0u32, |sum, entity| sum.wrapping_add(variant(entity)))
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = tickcast_benches::criterion_config(50);
    targets = hash
}
criterion_main!(benches);
