//! The steady-state send path allocates nothing per message: a counting global
//! allocator watches `ClientView::write_frame` (interest query, diff against held state,
//! priority, budget, bit-packed encode, frame header) over a real arena room's snapshots.

use std::sync::Arc;
use tickcast_server::game::{Arena, Map};
use tickcast_server::room::{ClientView, Rates, RoomSettings, Simulation, ViewSettings, WorldSnapshot};

/// Snapshots of an arena room with `drones` wandering, one per snapshot tick.
fn snapshots(drones: u32, count: usize) -> Vec<Arc<WorldSnapshot>> {
    let settings = RoomSettings {
        rates: Rates {
            tick_rate: 60,
            snapshot_rate: 30,
        },
        inbox: 64,
        input_buffer: 16,
    };
    let game = Arena {
        map: Map::load("embedded").unwrap(),
        drones,
        seed: 3,
    };
    let (mut simulation, handle) = Simulation::new(game, &settings);
    let mut published = handle.snapshots.clone();
    let mut out = Vec::new();
    while out.len() < count {
        simulation.step();
        if published.has_changed().unwrap() {
            out.extend(published.borrow_and_update().clone());
        }
    }
    out
}

#[test]
fn writing_frames_allocates_nothing_per_message_in_steady_state() {
    let radius = 30.0;
    let snapshots = snapshots(400, 400);
    for snapshot in &snapshots {
        // Shared per-snapshot work, done once by the first writer, not per message.
        snapshot.interest_grid(radius);
        snapshot.hashes();
    }
    // A viewer that owns a drone, so its viewpoint moves through the world.
    let player = snapshots[0].entities[0].id;
    let mut view = ClientView::new(
        1,
        player,
        ViewSettings {
            interest_radius: Some(radius),
            budget_bytes: 1066,
            checksums: true,
            rule: None,
        },
    );
    let mut frame = Vec::with_capacity(2048);
    for snapshot in &snapshots[..300] {
        view.write_frame(snapshot, &mut frame);
    }
    let mut bytes = 0;
    let counted = allocation_counter::measure(|| {
        for snapshot in &snapshots[300..] {
            bytes += view.write_frame(snapshot, &mut frame).bytes;
        }
    });
    let allocations = counted.count_total;
    eprintln!("allocations in 100 frames: {allocations}, bytes {bytes}");
    assert!(bytes > 100 * 7, "the frames carried changes ({bytes} bytes)");
    // Growing a scratch buffer to a new peak is allowed; allocating per frame is not.
    assert!(allocations <= 5, "{allocations} allocations in 100 frames");
}
