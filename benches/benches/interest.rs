//! Interest management and prioritisation at scale (`tickcast_benches::crowd`): 10 000
//! entities, up to 1 000 clients each seeing about 200 of them, the default budget of
//! 256 kbit/s at 30 snapshots per second.
//!
//! Timed:
//! - `interest/grid_build/10000` and `interest/hashes/10000`: the interest grid and the
//!   entity hashes of one snapshot, each built once per snapshot by the first writer that
//!   asks (so shared by every client);
//! - `interest/write_frame/{10,100,1000}`: one client's `ClientView::write_frame` for one
//!   snapshot (interest query, candidates, priority, budget, encode, envelope), in steady
//!   state, with 10, 100 or 1 000 clients' views cycled through in turn (more views, less
//!   of them in cache). Every view is warmed up over several snapshots first. The crowd
//!   moves on one snapshot each time every view has been written, untimed, and each new
//!   snapshot is linked to the one before and has its shared parts (grid, hashes,
//!   changes since the previous snapshot) built before timing, as the room and the first
//!   writer of each snapshot would;
//! - `interest/apply_frame/{10,100,1000}`: the other end, one client's
//!   `ClientMirror::apply_frame` of the frame its view wrote, with 10, 100 or 1 000
//!   clients' mirrors cycled through in turn (a bot swarm keeps a thousand mirrors in
//!   one process). Frames are written and decoded from MessagePack untimed, a snapshot
//!   at a time, after the same warm-up.
//!
//! Printed to stderr (outside the timed code): the staleness under the default budget,
//! from 1 000 views over 100 snapshots after 10 of warm-up (and the warm-up alone: every
//! client joining at once), for 10% and 100% of the drones walking: the max and p99
//! of `FrameStats::max_staleness_ticks`, frame bytes, entities sent and deferred, and the
//! staleness observed by decoding a sample of clients' frames into mirrors.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::{Duration, Instant};
use tickcast_benches::crowd::{
    CLIENTS, Crowd, CrowdSettings, DEFAULT_BUDGET_BYTES, ENTITIES, Observed, StalenessReport, run_views,
};
use tickcast_server::room::interest::InterestGrid;
use tickcast_server::room::{ClientView, Preparer, WorldSnapshot};
use tickcast_shared::{ClientMirror, ServerMsg, SnapshotFrame, entity_hash};

/// Client counts of the sweep.
const SWEEP: [usize; 3] = [10, 100, 1_000];
/// Snapshots the shared per-snapshot work is averaged over.
const RING: usize = 16;
/// Snapshots every view is written before timing (joining takes a few under the budget).
const WARMUP_SNAPSHOTS: usize = 10;
/// Snapshots of the staleness runs, after the warm-up.
const STALENESS_SNAPSHOTS: usize = 100;
/// Every how many clients one is observed through a mirror.
const OBSERVE_EVERY: usize = 20;

fn print_staleness(label: &str, report: &StalenessReport) {
    eprintln!(
        "  {label:<16} staleness max {:>3} ticks, p99 {:>3} | {:>6.1} B/frame (max {:>5}, {} over budget) | \
         {:>5.1} in view, {:>5.1} sent, {:>5.2} deferred per frame ({} of {} frames deferring)",
        report.max_staleness_ticks,
        report.p99_staleness_ticks,
        report.mean_frame_bytes,
        report.max_frame_bytes,
        report.frames_over_budget,
        report.mean_in_view,
        report.mean_sent,
        report.mean_deferred,
        report.frames_deferring,
        report.frames,
    );
}

/// Runs every client for the warm-up and then the measured snapshots; prints both.
fn staleness(moving_fraction: f32) {
    let started = Instant::now();
    let mut crowd = Crowd::new(CrowdSettings {
        moving_fraction,
        ..CrowdSettings::default()
    });
    let mut views = crowd.views(CLIENTS);
    let mut observed: Vec<Observed> = (0..CLIENTS).step_by(OBSERVE_EVERY).map(Observed::new).collect();
    let joining = run_views(&mut crowd, &mut views, WARMUP_SNAPSHOTS, &mut observed);
    let steady = run_views(&mut crowd, &mut views, STALENESS_SNAPSHOTS, &mut observed);
    eprintln!(
        "staleness, {} walking ({:.0}% of the drones and every player), {CLIENTS} clients, budget {DEFAULT_BUDGET_BYTES} \
         B/snapshot, radius {:.1}, {:.1?}:",
        crowd.walkers(),
        moving_fraction * 100.0,
        crowd.radius(),
        started.elapsed(),
    );
    print_staleness(
        "joining (10 snap)",
        &StalenessReport::new(&joining, DEFAULT_BUDGET_BYTES),
    );
    print_staleness(
        "steady (100 snap)",
        &StalenessReport::new(&steady, DEFAULT_BUDGET_BYTES),
    );
    let caught_up = observed.iter().map(|o| o.max_caught_up_ticks).max().unwrap_or(0);
    let pending = observed.iter().map(|o| o.max_pending_ticks).max().unwrap_or(0);
    eprintln!(
        "  observed by {} mirrored clients over all 110 snapshots: longest an in-view entity was out of date \
         before catching up {caught_up} ticks; longest still out of date at the end {pending} ticks",
        observed.len(),
    );
}

fn interest(c: &mut Criterion) {
    for fraction in [0.1, 1.0] {
        staleness(fraction);
    }

    let mut crowd = Crowd::new(CrowdSettings::default());
    let radius = crowd.radius();
    let ring: Vec<WorldSnapshot> = (0..RING)
        .map(|_| {
            let snapshot = crowd.snapshot();
            crowd.advance();
            snapshot
        })
        .collect();
    let started = Instant::now();
    for snapshot in &ring {
        black_box(InterestGrid::build(&snapshot.metas, radius));
    }
    let grid = started.elapsed() / RING as u32;
    // The whole preparation of each snapshot (hashes, grid, changes since the two
    // snapshots before, the world body), as a room's relay task runs it.
    let mut preparer = crowd.preparer();
    let mut prepare = Duration::ZERO;
    for _ in 0..RING {
        let snapshot = crowd.snapshot();
        crowd.advance();
        let started = Instant::now();
        black_box(preparer.prepare(snapshot.tick, snapshot.entities, snapshot.metas, Vec::new()));
        prepare += started.elapsed();
    }
    let prepare = prepare / RING as u32;
    eprintln!(
        "shared per-snapshot work, {ENTITIES} entities (mean of {RING} snapshots, built before the write_frame \
         timings): interest grid (radius {radius:.1}) {grid:.1?}; the whole preparation {prepare:.1?}"
    );

    let mut group = c.benchmark_group("interest");
    group.bench_function(BenchmarkId::new("grid_build", ENTITIES), |b| {
        b.iter(|| InterestGrid::build(black_box(&ring[0].metas), radius));
    });
    group.bench_function(BenchmarkId::new("hashes", ENTITIES), |b| {
        b.iter(|| {
            black_box(&ring[0].entities)
                .iter()
                .map(entity_hash)
                .collect::<Vec<u32>>()
        });
    });
    drop(ring);

    let mut preparer = crowd.preparer();
    group.throughput(Throughput::Elements(1));
    for clients in SWEEP {
        let mut views: Vec<ClientView> = crowd.views(clients);
        let mut out = Vec::new();
        let mut snapshot = crowd.next_linked(&mut preparer);
        for _ in 0..WARMUP_SNAPSHOTS {
            snapshot = crowd.next_linked(&mut preparer);
            for view in &mut views {
                view.write_frame(&snapshot, &mut out);
            }
        }
        let mut cursor = clients;
        group.bench_with_input(BenchmarkId::new("write_frame", clients), &clients, |b, &clients| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    if cursor == clients {
                        cursor = 0;
                        snapshot = crowd.next_linked(&mut preparer);
                    }
                    let started = Instant::now();
                    let stats = views[cursor].write_frame(black_box(&snapshot), &mut out);
                    total += started.elapsed();
                    black_box(stats);
                    cursor += 1;
                }
                total
            });
        });
    }
    for clients in SWEEP {
        let mut views: Vec<ClientView> = crowd.views(clients);
        let mut mirrors = vec![ClientMirror::new(); clients];
        let mut frames: Vec<SnapshotFrame> = Vec::with_capacity(clients);
        let mut out = Vec::new();
        let mut write_all = |crowd: &mut Crowd, preparer: &mut Preparer, frames: &mut Vec<SnapshotFrame>| {
            let snapshot = crowd.next_linked(preparer);
            frames.clear();
            for view in &mut views {
                view.write_frame(&snapshot, &mut out);
                let Ok(ServerMsg::Snapshot(frame)) = ServerMsg::decode(&out) else {
                    panic!("a view writes snapshot frames")
                };
                frames.push(frame);
            }
        };
        for _ in 0..WARMUP_SNAPSHOTS {
            write_all(&mut crowd, &mut preparer, &mut frames);
            for (mirror, frame) in mirrors.iter_mut().zip(&frames) {
                mirror.apply_frame(frame).expect("a frame applies");
            }
        }
        let mut cursor = clients;
        group.bench_with_input(BenchmarkId::new("apply_frame", clients), &clients, |b, &clients| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    if cursor == clients {
                        cursor = 0;
                        write_all(&mut crowd, &mut preparer, &mut frames);
                    }
                    let started = Instant::now();
                    let applied = mirrors[cursor].apply_frame(black_box(&frames[cursor]));
                    total += started.elapsed();
                    assert!(applied.is_ok_and(|applied| applied.checksum_verified || frames[cursor].body.is_empty()));
                    cursor += 1;
                }
                total
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = tickcast_benches::criterion_config(20);
    targets = interest
}
criterion_main!(benches);
