//! Criterion benches of the delta codec on a 1 000-entity arena world of which 10% of the
//! entities moved since the baseline (the case).
//!
//! - `codec/diff_encode`: what a connection writer does per snapshot: `diff_into` and the
//!   bit-packed `encode_body`, reusing the delta and the output buffer;
//! - `codec/diff` and `codec/encode`: the two halves alone;
//! - `codec/full_encode`: a full-state body of the same world (what a joining client gets);
//! - `codec/decode_apply`: what a client does: decode the body against its mirror, apply
//!   it and verify the (incrementally kept) checksum, via `ClientMirror::apply_frame`;
//! - `codec/checksum`: the checksum of the whole world recomputed from scratch, the cost
//!   the incremental checksum avoids.
//!
//! Snapshot sizes (bytes per snapshot, per changed entity, and against the full-state
//! body and the naive plain-MessagePack world) are printed to stderr before the benches.

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use tickcast_benches::{SnapshotSizes, arena_world, diff_and_encode, encoded_body, frame, move_every};
use tickcast_shared::{ClientMirror, Delta, checksum, diff, diff_into, encode_body};

/// Entities in the world.
const ENTITIES: usize = 1_000;
/// Every `STRIDE`-th entity moves: 10%.
const STRIDE: usize = 10;

fn print_sizes(label: &str, sizes: &SnapshotSizes) {
    eprintln!(
        "codec sizes ({label}): {} entities, {} changed: delta body {} B ({:.1} B per changed entity); \
         full-state body {} B ({:.1} B per entity, {:.1}x the delta); \
         naive MessagePack world {} B ({:.1} B per entity, {:.1}x the delta)",
        sizes.entities,
        sizes.changed,
        sizes.delta_bytes,
        sizes.bytes_per_changed(),
        sizes.full_bytes,
        sizes.per_entity(sizes.full_bytes),
        sizes.ratio(sizes.full_bytes),
        sizes.naive_bytes,
        sizes.per_entity(sizes.naive_bytes),
        sizes.ratio(sizes.naive_bytes),
    );
}

fn codec(c: &mut Criterion) {
    let baseline = arena_world(ENTITIES, 1);
    let current = move_every(&baseline, STRIDE, 2);
    let sizes = SnapshotSizes::measure(&baseline, &current);
    print_sizes("10% moved", &sizes);
    print_sizes(
        "all moved, as drones do in the live arena",
        &SnapshotSizes::measure(&baseline, &move_every(&baseline, 1, 2)),
    );

    let mut group = c.benchmark_group("codec");
    group.throughput(Throughput::Elements(ENTITIES as u64));
    let sum = Some(checksum(&current));
    let (mut delta, mut out) = (Delta::default(), Vec::new());

    group.bench_function(BenchmarkId::new("diff_encode", ENTITIES), |b| {
        b.iter(|| {
            diff_and_encode(black_box(&baseline), black_box(&current), sum, &mut delta, &mut out);
            black_box(out.len())
        });
    });
    group.bench_function(BenchmarkId::new("diff", ENTITIES), |b| {
        b.iter(|| {
            diff_into(black_box(&baseline), black_box(&current), &mut delta);
            black_box(delta.updates.len())
        });
    });
    let moved = diff(&baseline, &current);
    group.bench_function(BenchmarkId::new("encode", ENTITIES), |b| {
        b.iter(|| {
            out.clear();
            out = encode_body(sum, black_box(&moved), baseline.as_slice(), std::mem::take(&mut out));
            black_box(out.len())
        });
    });
    group.bench_function(BenchmarkId::new("full_encode", ENTITIES), |b| {
        b.iter(|| {
            diff_and_encode(&[], black_box(&current), sum, &mut delta, &mut out);
            black_box(out.len())
        });
    });

    let mut mirror = ClientMirror::new();
    mirror
        .apply_frame(&frame(true, 0, encoded_body(&[], &baseline)))
        .expect("the full snapshot applies");
    let delta_frame = frame(false, 2, encoded_body(&baseline, &current));
    assert_eq!(delta_frame.body.len(), sizes.delta_bytes);
    group.bench_function(BenchmarkId::new("decode_apply", ENTITIES), |b| {
        b.iter_batched(
            || mirror.clone(),
            |mut mirror| {
                let applied = mirror.apply_frame(black_box(&delta_frame)).expect("the delta applies");
                assert!(applied.checksum_verified);
                mirror
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function(BenchmarkId::new("checksum", ENTITIES), |b| {
        b.iter(|| checksum(black_box(&current)));
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = tickcast_benches::criterion_config(30);
    targets = codec
}
criterion_main!(benches);
