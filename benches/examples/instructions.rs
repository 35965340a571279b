//! A fixed workload for `valgrind --tool=callgrind`, whose instruction counts hold steady
//! on a noisy machine where wall-clock timings do not. `benches/callgrind.sh` runs it and
//! prints instructions per call of each hot function.
//!
//! Each part does its set-up untimed and then calls one function a fixed number of times,
//! so callgrind's `--toggle-collect` on that function counts exactly those calls:
//! - `write_frame`: 100 clients' `ClientView::write_frame` over 20 snapshots of the
//!   10 000-entity crowd (about 200 in view each, 10% walking), after 10 snapshots of
//!   warm-up, the snapshots linked as the room links them (shared changes built first,
//!   untimed, as the first writer of each snapshot would);
//! - `apply_frame`: one client's mirror applying those 20 frames (the bot's decode side);
//! - `step`: 60 ticks of the arena with 10 000 drones (half of them snapshot ticks).

use std::sync::Arc;
use tickcast_benches::crowd::{Crowd, CrowdSettings};
use tickcast_benches::warmed_simulation;
use tickcast_server::room::{ClientView, WorldSnapshot};
use tickcast_shared::{ClientMirror, ServerMsg};

/// Clients whose frames are written per snapshot.
const CLIENTS: usize = 100;
/// Snapshots written before counting.
const WARMUP_SNAPSHOTS: usize = 10;
/// Snapshots counted.
const SNAPSHOTS: usize = 20;
/// Drones in the `step` part.
const DRONES: u32 = 10_000;
/// Ticks counted in the `step` part.
const TICKS: usize = 60;

fn main() {
    let part = std::env::args().nth(1).unwrap_or_else(|| "all".to_owned());
    if part == "all" || part == "frames" {
        frames();
    }
    if part == "all" || part == "step" {
        step();
    }
}

/// The next `count` snapshots of the crowd, linked and with their shared parts built
/// (`Crowd::next_linked`).
fn snapshots(crowd: &mut Crowd, last: &mut Option<Arc<WorldSnapshot>>, count: usize) -> Vec<Arc<WorldSnapshot>> {
    (0..count).map(|_| crowd.next_linked(last)).collect()
}

fn frames() {
    let mut crowd = Crowd::new(CrowdSettings::default());
    let mut views: Vec<ClientView> = crowd.views(CLIENTS);
    let mut out = Vec::new();
    let mut last = None;
    for snapshot in snapshots(&mut crowd, &mut last, WARMUP_SNAPSHOTS) {
        for view in &mut views {
            view.write_frame(&snapshot, &mut out);
        }
    }
    let counted = snapshots(&mut crowd, &mut last, SNAPSHOTS);
    let mut bytes = 0;
    for snapshot in &counted {
        for view in &mut views {
            bytes += view.write_frame(snapshot, &mut out).bytes;
        }
    }
    println!(
        "write_frame: {} calls, {:.1} bytes per frame",
        CLIENTS * SNAPSHOTS,
        bytes as f64 / (CLIENTS * SNAPSHOTS) as f64
    );

    // The client side: a fresh view and mirror for client 0, warmed up, then counted.
    let mut view = crowd.view(0, tickcast_benches::crowd::DEFAULT_BUDGET_BYTES);
    let mut mirror = ClientMirror::new();
    let frames: Vec<Vec<u8>> = snapshots(&mut crowd, &mut last, WARMUP_SNAPSHOTS + SNAPSHOTS)
        .iter()
        .map(|snapshot| {
            view.write_frame(snapshot, &mut out);
            out.clone()
        })
        .collect();
    let decode = |bytes: &[u8]| match ServerMsg::decode(bytes) {
        Ok(ServerMsg::Snapshot(frame)) => frame,
        other => panic!("not a snapshot frame: {other:?}"),
    };
    for bytes in &frames[..WARMUP_SNAPSHOTS] {
        mirror.apply_frame(&decode(bytes)).expect("warm-up frames apply");
    }
    for bytes in &frames[WARMUP_SNAPSHOTS..] {
        apply_one(&mut mirror, &decode(bytes));
    }
    println!("apply_frame: {SNAPSHOTS} calls, {} entities held", mirror.len());
}

/// One frame applied: the function callgrind counts for the client side.
#[inline(never)]
fn apply_one(mirror: &mut ClientMirror, frame: &tickcast_shared::SnapshotFrame) {
    let applied = mirror.apply_frame(frame).expect("frames apply");
    assert!(applied.checksum_verified, "checksums match");
}

fn step() {
    let (mut simulation, _handle) = warmed_simulation(DRONES, 60);
    for _ in 0..TICKS {
        step_one(&mut simulation);
    }
    println!("step: {TICKS} ticks of {DRONES} drones");
}

/// One tick: the function callgrind counts for the simulation.
#[inline(never)]
fn step_one(simulation: &mut tickcast_server::room::Simulation) {
    simulation.step();
}
