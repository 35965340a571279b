//! A fixed workload for `valgrind --tool=callgrind`, whose instruction counts hold steady
//! on a noisy machine where wall-clock timings do not. `benches/callgrind.sh` runs it and
//! prints instructions per call of each hot function.
//!
//! Each part does its set-up (and warm-up) untimed and then calls one `#[inline(never)]`
//! wrapper a fixed number of times, so callgrind's `--toggle-collect` on that wrapper
//! counts exactly those calls:
//! - `write_frame`: 100 clients' `ClientView::write_frame` over 20 snapshots of the
//!   10 000-entity crowd (about 200 in view each, 10% walking), after 10 snapshots of
//!   warm-up, the snapshots linked as the room links them (shared changes built first,
//!   untimed, as the first writer of each snapshot would);
//! - `apply_frame`: one client's mirror applying those 20 frames (the bot's decode side);
//! - `apply_moving`: a client of a swarm-like crowd (3 000 entities, 1 000 clients, about
//!   66 in view, every entity walking, so nearly all of the view changes every snapshot)
//!   applying 200 of its frames after 10 of warm-up: the bots' case;
//! - `frames_moving`: the swarm's server side: 100 clients of that swarm-like crowd
//!   writing 20 snapshots each (after 10 of warm-up), and the same with each client
//!   skipping every other snapshot, as writers that fall behind do (`frames_skipping`);
//! - `step`: 60 ticks of the arena with 10 000 drones (half of them snapshot ticks).

use std::sync::Arc;
use tickcast_benches::crowd::{Crowd, CrowdSettings};
use tickcast_benches::warmed_simulation;
use tickcast_server::room::{ClientView, Preparer, WorldSnapshot};
use tickcast_shared::{ClientMirror, ServerMsg, SnapshotFrame};

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
/// Frames counted in the `apply_moving` part.
const MOVING_FRAMES: usize = 200;

fn main() {
    let part = std::env::args().nth(1).unwrap_or_else(|| "all".to_owned());
    if part == "all" || part == "frames" {
        frames();
    }
    if part == "all" || part == "apply_moving" {
        apply_moving();
    }
    if part == "all" || part == "frames_moving" {
        frames_moving(false);
    }
    if part == "all" || part == "frames_skipping" {
        frames_moving(true);
    }
    if part == "all" || part == "step" {
        step();
    }
}

/// The next `count` snapshots of the crowd, linked and with their shared parts built
/// (`Crowd::next_linked`).
fn snapshots(crowd: &mut Crowd, preparer: &mut Preparer, count: usize) -> Vec<Arc<WorldSnapshot>> {
    (0..count).map(|_| crowd.next_linked(preparer)).collect()
}

fn frames() {
    let mut crowd = Crowd::new(CrowdSettings::default());
    let mut out = Vec::new();
    let mut preparer = crowd.preparer();
    let mut views = warmed_writers(&mut crowd, &mut preparer);
    let counted = snapshots(&mut crowd, &mut preparer, SNAPSHOTS);
    let mut bytes = 0;
    for snapshot in &counted {
        for view in &mut views {
            bytes += write_one(view, snapshot, &mut out);
        }
    }
    println!(
        "write_frame: {} calls, {:.1} bytes per frame",
        CLIENTS * SNAPSHOTS,
        bytes as f64 / (CLIENTS * SNAPSHOTS) as f64
    );

    // The client side: a fresh view and mirror for client 0, warmed up, then counted.
    let (_, frames) = client_frames(&mut crowd, &mut preparer, SNAPSHOTS);
    let mut mirror = ClientMirror::new();
    for frame in &frames[..WARMUP_SNAPSHOTS] {
        mirror.apply_frame(frame).expect("warm-up frames apply");
    }
    for frame in &frames[WARMUP_SNAPSHOTS..] {
        apply_one(&mut mirror, frame);
    }
    println!("apply_frame: {SNAPSHOTS} calls, {} entities held", mirror.len());
}

/// Writers for the first [`CLIENTS`] clients of `crowd`, each having written its first
/// [`WARMUP_SNAPSHOTS`] frames (snapshots prepared by `preparer`).
fn warmed_writers(crowd: &mut Crowd, preparer: &mut Preparer) -> Vec<ClientView> {
    let mut views = crowd.views(CLIENTS);
    let mut out = Vec::new();
    for snapshot in snapshots(crowd, preparer, WARMUP_SNAPSHOTS) {
        for view in &mut views {
            view.write_frame(&snapshot, &mut out);
        }
    }
    views
}

/// Client 0's next [`WARMUP_SNAPSHOTS`] + `counted` frames from a fresh view, as bytes and
/// decoded.
fn client_frames(crowd: &mut Crowd, preparer: &mut Preparer, counted: usize) -> (Vec<Vec<u8>>, Vec<SnapshotFrame>) {
    let mut view = crowd.view(0, tickcast_benches::crowd::DEFAULT_BUDGET_BYTES);
    let mut out = Vec::new();
    let bytes: Vec<Vec<u8>> = snapshots(crowd, preparer, WARMUP_SNAPSHOTS + counted)
        .iter()
        .map(|snapshot| {
            view.write_frame(snapshot, &mut out);
            out.clone()
        })
        .collect();
    let decoded = bytes
        .iter()
        .map(|bytes| match ServerMsg::decode(bytes) {
            Ok(ServerMsg::Snapshot(frame)) => frame,
            other => panic!("not a snapshot frame: {other:?}"),
        })
        .collect();
    (bytes, decoded)
}

/// One frame written: the function callgrind counts for the server side.
#[inline(never)]
fn write_one(view: &mut ClientView, snapshot: &Arc<WorldSnapshot>, out: &mut Vec<u8>) -> usize {
    view.write_frame(snapshot, out).bytes
}

/// The swarm-like crowd of [`apply_moving`], everyone walking.
fn moving_crowd() -> Crowd {
    Crowd::new(CrowdSettings {
        entities: 3_000,
        clients: 1_000,
        in_view: 66.0,
        moving_fraction: 1.0,
        ..CrowdSettings::default()
    })
}

/// 100 writers of the moving crowd; with `skipping`, each writes every other snapshot
/// (half of them the even ones, half the odd), so it holds entities two snapshots old.
fn frames_moving(skipping: bool) {
    let mut crowd = moving_crowd();
    let mut out = Vec::new();
    let mut preparer = crowd.preparer();
    let mut views = warmed_writers(&mut crowd, &mut preparer);
    let counted = snapshots(&mut crowd, &mut preparer, SNAPSHOTS);
    let (mut calls, mut bytes) = (0, 0);
    for (at, snapshot) in counted.iter().enumerate() {
        for (client, view) in views.iter_mut().enumerate() {
            if skipping && (client + at) % 2 == 0 {
                continue;
            }
            bytes += write_one(view, snapshot, &mut out);
            calls += 1;
        }
    }
    let part = if skipping { "frames_skipping" } else { "frames_moving" };
    println!(
        "{part}: {calls} calls, {:.1} bytes per frame",
        bytes as f64 / f64::from(calls)
    );
}

/// One frame applied: the function callgrind counts for the client side.
#[inline(never)]
fn apply_one(mirror: &mut ClientMirror, frame: &SnapshotFrame) {
    let applied = mirror.apply_frame(frame).expect("frames apply");
    assert!(applied.checksum_verified, "checksums match");
}

/// The swarm's client side: what one bot's mirror does with each snapshot when everyone
/// in its view walks.
fn apply_moving() {
    let mut crowd = moving_crowd();
    let mut preparer = crowd.preparer();
    let (frames, decoded) = client_frames(&mut crowd, &mut preparer, MOVING_FRAMES);
    let mut mirror = ClientMirror::new();
    for frame in &decoded[..WARMUP_SNAPSHOTS] {
        mirror.apply_frame(frame).expect("warm-up frames apply");
    }
    let mut changed = 0;
    for frame in &decoded[WARMUP_SNAPSHOTS..] {
        changed += apply_moving_one(&mut mirror, frame);
    }
    let bytes: usize = frames[WARMUP_SNAPSHOTS..].iter().map(Vec::len).sum();
    println!(
        "apply_moving: {MOVING_FRAMES} calls, {} entities held, {:.1} changed and {:.1} bytes per frame",
        mirror.len(),
        changed as f64 / MOVING_FRAMES as f64,
        bytes as f64 / MOVING_FRAMES as f64
    );
}

/// One frame of the moving crowd applied; returns the entities it changed.
#[inline(never)]
fn apply_moving_one(mirror: &mut ClientMirror, frame: &SnapshotFrame) -> usize {
    let applied = mirror.apply_frame(frame).expect("frames apply");
    assert!(applied.checksum_verified, "checksums match");
    applied.entities_changed()
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
