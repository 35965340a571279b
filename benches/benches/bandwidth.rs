//! Bandwidth of the delta codec on the "cube pile" (`tickcast_benches::cube_pile`), the
//! scene of Glenn Fiedler's *Snapshot Compression*: 901 bodies with position and
//! orientation at 60 Hz, one pushing the others, most at rest.
//!
//! Printed to stderr before the benches (computed outside the timed code, over a 20 s
//! trace): for a baseline one tick old and one six ticks old (Fiedler's case), mean bytes
//! per packet, kbit/s at 60 packets per second, changed bodies per packet and bytes per
//! changed body, for both pose layouts; the full snapshot a joining client gets and the
//! idle snapshot, both written by a real `ClientView`; and what a whole-world client in
//! step is sent through a real `Preparer`, predicted bodies against plain ones.
//!
//! Timed: `bandwidth/diff_encode_{one_kind,two_kinds}/{1,6}`, what a connection writer
//! does per packet (the delta, the bit-packed body, the frame envelope) for each layout
//! and baseline, cycling through the busiest two seconds of the trace, with checksums
//! computed beforehand (the server keeps them incrementally).
//!
//! The arena-world comparison (1 000 entities, 10% moving, bytes per changed entity and
//! the ratio against naive MessagePack) is printed by the codec bench, not repeated here.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;
use tickcast_benches::cube_pile::{
    BODIES, BandwidthReport, LAYOUT, Layout, PacketScratch, TICK_RATE, TRACE_TICKS, Trace, measure, write_packet,
};
use tickcast_server::room::interest::{EntityMeta, Relevance};
use tickcast_server::room::{ClientView, PrepareSettings, Preparer, ViewSettings, WorldSnapshot};
use tickcast_shared::{EntityState, InputAck, ServerMsg, Spectate, Tick, checksum};

/// Baseline ages measured, ticks: every packet acknowledged at once, and Fiedler's 100 ms.
const BASELINES: [usize; 2] = [1, 6];
/// Ticks of the trace the timed benches cycle through: two seconds.
const WINDOW: usize = 2 * TICK_RATE as usize;

fn print_report(report: &BandwidthReport) {
    eprintln!(
        "  {:<25} {:>2}-tick | {:>7.1} B/packet {:>7.1} kbit/s | {:>5.1} changed/packet | {:>5.2} B/changed \
         ({:>4.2} B delta only) | max {:>5} B | {} of {} packets idle",
        report.layout.name(),
        report.baseline_ticks,
        report.packet_bytes,
        report.kbps(),
        report.changed,
        report.bytes_per_changed(),
        report.delta_bytes_per_changed(),
        report.max_packet_bytes,
        report.idle_packets,
        report.packets,
    );
}

/// A view of the whole pile that the budget never limits, with checksums.
const WHOLE_WORLD: ViewSettings = ViewSettings {
    interest_radius: None,
    budget_bytes: 1 << 20,
    checksums: true,
    rule: None,
};

/// Interest metadata of `count` bodies: none placed (the pile has no interest radius).
fn unplaced(count: usize) -> Vec<EntityMeta> {
    vec![
        EntityMeta {
            position: None,
            relevance: Relevance::Spatial,
            team: None,
        };
        count
    ]
}

/// The frames a `ClientView` writes for the pile's world at two consecutive ticks with no
/// change in between: the full snapshot a joining client gets, then the idle one.
fn view_frames(world: &[EntityState]) -> (usize, usize) {
    let metas = unplaced(world.len());
    let mut view = ClientView::new(1, world[0].id, WHOLE_WORLD);
    let mut out = Vec::new();
    let full = view.write_frame(
        &Arc::new(WorldSnapshot::new(Tick(600), world.to_vec(), metas.clone(), Vec::new())),
        &mut out,
    );
    let idle = view.write_frame(
        &Arc::new(WorldSnapshot::new(Tick(601), world.to_vec(), metas, Vec::new())),
        &mut out,
    );
    assert_eq!(full.entities_sent, BODIES, "the whole pile fits the budget");
    (full.bytes, idle.bytes)
}

/// Mean frame bytes a whole-world client in step with the pile is sent per tick over the
/// trace (a 1-tick baseline): with the predicted world bodies it takes, and with the
/// plain ones (each changed field against its held value) in their place.
fn world_body_bytes(trace: &Trace, layout: Layout) -> (f64, f64) {
    let mut preparer = Preparer::new(PrepareSettings {
        interest_radius: None,
        checksums: true,
        world_body: true,
    });
    let mut view = ClientView::spectating(1, Spectate::World, WHOLE_WORLD);
    let (mut predicted, mut plain, mut frames) = (0usize, 0usize, 0usize);
    let mut out = Vec::new();
    for tick in 0..=trace.last_tick() {
        let world = trace.world(tick, layout);
        let metas = unplaced(world.len());
        let snapshot = preparer.prepare(Tick(tick as u32), world, metas, Vec::new());
        let stats = view.write_frame(&snapshot, &mut out);
        // From the third frame on the client is in step for two frames running.
        if tick < 2 {
            continue;
        }
        assert!(stats.shared_body, "an in-step client takes a shared body");
        let Ok(ServerMsg::Snapshot(frame)) = ServerMsg::decode(&out) else {
            panic!("a view writes snapshot frames")
        };
        let envelope = out.len() - frame.body.len();
        predicted += out.len();
        plain += envelope + snapshot.world_body().map_or(0, |body| body.body.len());
        frames += 1;
    }
    (predicted as f64 / frames as f64, plain as f64 / frames as f64)
}

fn bandwidth(c: &mut Criterion) {
    let started = Instant::now();
    let trace = Trace::record(TRACE_TICKS);
    eprintln!(
        "cube pile: {BODIES} bodies, {TICK_RATE} Hz, {} s traced in {:.2?}; positions 1/512 m over ±256 m, \
         orientations smallest-three 9 bits; frames carry the checksum (5 bytes of body)",
        TRACE_TICKS / TICK_RATE,
        started.elapsed(),
    );
    for layout in [LAYOUT, Layout::TwoKinds] {
        for baseline in BASELINES {
            print_report(&measure(&trace, layout, baseline));
        }
    }
    eprintln!("  (Fiedler's published result for his trace, 6-tick baseline: about 532 B/packet, 255 kbit/s)");
    for layout in [LAYOUT, Layout::TwoKinds] {
        let (full, idle) = view_frames(&trace.world(trace.last_tick(), layout));
        eprintln!(
            "  {:<25} full snapshot of the pile (a joining client, ClientView): {full} B; idle snapshot: {idle} B \
             ({:.2} kbit/s at 60 Hz)",
            layout.name(),
            idle as f64 * 8.0 * 60.0 / 1000.0,
        );
    }
    for layout in [LAYOUT, Layout::TwoKinds] {
        let (predicted, plain) = world_body_bytes(&trace, layout);
        eprintln!(
            "  {:<25} whole-world client in step, 1-tick baseline: predicted bodies {predicted:.1} B/packet \
             ({:.1} kbit/s), plain {plain:.1} B/packet ({:.1} kbit/s): {:.2}x",
            layout.name(),
            predicted * 8.0 * 60.0 / 1000.0,
            plain * 8.0 * 60.0 / 1000.0,
            predicted / plain,
        );
    }
    let mut envelope = Vec::new();
    ServerMsg::encode_snapshot_into(false, 1, InputAck::None, &[], &mut envelope);
    eprintln!("  bare snapshot envelope with an empty body: {} B", envelope.len());

    // The busiest two seconds: the window with the most changed bodies.
    let changed: Vec<usize> = (1..=trace.last_tick())
        .map(|t| trace.changed_between(t - 1, t))
        .collect();
    let start = (BASELINES[1]..=trace.last_tick() - WINDOW)
        .max_by_key(|&s| changed[s..s + WINDOW].iter().sum::<usize>())
        .expect("the trace is longer than the window");

    let mut group = c.benchmark_group("bandwidth");
    group.throughput(Throughput::Elements(BODIES as u64));
    let (mut scratch, mut out) = (PacketScratch::default(), Vec::new());
    for layout in [LAYOUT, Layout::TwoKinds] {
        let worlds: Vec<Vec<EntityState>> = (start - BASELINES[1]..start + WINDOW)
            .map(|t| trace.world(t, layout))
            .collect();
        let sums: Vec<u32> = worlds.iter().map(|w| checksum(w.iter())).collect();
        for baseline in BASELINES {
            let mut next = 0;
            let id = BenchmarkId::new(format!("diff_encode_{}", layout.id()), baseline);
            group.bench_function(id, |b| {
                b.iter(|| {
                    let current = BASELINES[1] + next;
                    next = (next + 1) % WINDOW;
                    let changed = write_packet(
                        black_box(&worlds[current - baseline]),
                        black_box(&worlds[current]),
                        baseline as u32,
                        Some(sums[current]),
                        &mut scratch,
                        &mut out,
                    );
                    black_box((changed, out.len()))
                });
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = tickcast_benches::criterion_config(20);
    targets = bandwidth
}
criterion_main!(benches);
