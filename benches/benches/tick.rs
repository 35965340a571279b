//! Criterion benches of one room tick: the arena on the embedded map with 1 000, 10 000
//! and 100 000 drones (one replicated entity each, no clients): the scaling curve.
//!
//! Each world is built and stepped [`WARMUP_TICKS`] times outside the timed code. At 60
//! ticks and 30 snapshots per second every other tick is a snapshot tick, so each size
//! has three benches: `tick/any` times every step in turn (the average a room sees),
//! `tick/plain` only ticks without a snapshot (inputs and simulation) and
//! `tick/snapshot` only snapshot ticks (plus capture, entity hashes and publish). The
//! throughput is in replicated entities, so criterion also reports time per entity.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tickcast_benches::{StepKind, WARMUP_TICKS, time_steps, warmed_simulation};

/// Drone counts swept: 1k, 10k and 100k entities, to show the tick grows linearly.
const DRONES: [u32; 3] = [1_000, 10_000, 100_000];

fn tick(c: &mut Criterion) {
    let mut group = c.benchmark_group("tick");
    for drones in DRONES {
        let (mut simulation, _handle) = warmed_simulation(drones, WARMUP_TICKS);
        let entities = simulation.replicated_entities();
        assert_eq!(entities, drones as usize, "every drone is replicated after warm-up");
        group.throughput(Throughput::Elements(entities as u64));
        // A 100k tick takes tens of milliseconds: fewer samples keep the run short.
        group.sample_size(if drones >= 100_000 { 10 } else { 30 });
        for (name, kind) in [
            ("any", StepKind::Any),
            ("plain", StepKind::Plain),
            ("snapshot", StepKind::Snapshot),
        ] {
            group.bench_with_input(BenchmarkId::new(name, drones), &kind, |b, &kind| {
                b.iter_custom(|iters| time_steps(&mut simulation, iters, kind));
            });
        }
        eprintln!(
            "tick: {drones} drones -> {} replicated entities after {} ticks",
            simulation.replicated_entities(),
            simulation.tick().0
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = tickcast_benches::criterion_config(30);
    targets = tick
}
criterion_main!(benches);
