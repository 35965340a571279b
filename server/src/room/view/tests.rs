//! The view's tests: each step's contract, seen through the frames a client mirror
//! applies.

use super::*;
use crate::room::interest::{EntityMeta, Relevance};
use crate::room::snapshot::{PrepareSettings, Preparer};
use proptest::prelude::*;
use std::sync::Arc;
use tickcast_shared::{ClientMirror, ComponentKind, ComponentState, EntityState, SnapshotFrame};

/// An entity at `x` with one component holding its quantized position and a counter.
fn entity(index: u32, x: i32, counter: i32) -> (EntityState, EntityMeta) {
    let state = EntityState {
        id: NetId::from_parts(index, 1),
        components: [ComponentState {
            kind: ComponentKind(0),
            fields: [x, counter].into_iter().collect(),
        }]
        .into_iter()
        .collect(),
    };
    let meta = EntityMeta {
        position: Some(Vec2::new(x as f32, 0.0)),
        relevance: Relevance::Spatial,
        team: None,
    };
    (state, meta)
}

fn snapshot(tick: u32, entities: &[(u32, i32, i32)]) -> WorldSnapshot {
    let (states, metas) = entities.iter().map(|&(i, x, c)| entity(i, x, c)).unzip();
    WorldSnapshot::new(Tick(tick), states, metas, vec![(1, tick)])
}

/// Prepares each snapshot as the room does, so that views use the shared change sets
/// and world bodies (or leaves each on its own, so views diff everything).
struct Chain {
    preparer: Option<Preparer>,
}

impl Chain {
    fn new(linked: bool) -> Chain {
        Chain {
            preparer: linked.then(|| {
                Preparer::new(PrepareSettings {
                    interest_radius: None,
                    checksums: true,
                    world_body: true,
                })
            }),
        }
    }

    fn next(&mut self, snapshot: WorldSnapshot) -> Arc<WorldSnapshot> {
        match &mut self.preparer {
            Some(preparer) => {
                let acks = vec![(1, snapshot.tick.0)];
                preparer.prepare(snapshot.tick, snapshot.entities, snapshot.metas, acks)
            }
            None => Arc::new(snapshot),
        }
    }
}

fn settings(radius: Option<f32>, budget_bytes: usize) -> ViewSettings {
    ViewSettings {
        interest_radius: radius,
        budget_bytes,
        checksums: true,
        rule: None,
    }
}

/// Runs a view and a client mirror side by side; returns the frame stats.
fn deliver(view: &mut ClientView, mirror: &mut ClientMirror, snapshot: &Arc<WorldSnapshot>) -> FrameStats {
    let mut bytes = Vec::new();
    let stats = view.write_frame(snapshot, &mut bytes);
    let ServerMsg::Snapshot(frame): ServerMsg = ServerMsg::decode(&bytes).unwrap() else {
        panic!("not a snapshot")
    };
    let applied = mirror.apply_frame(&frame).unwrap();
    assert_eq!(applied.tick, snapshot.tick);
    assert!(applied.checksum_verified || frame.body.is_empty());
    assert_eq!(mirror.len(), view.held_len());
    stats
}

/// A view for the player entity 0 with a 10-unit interest radius, and its client's mirror.
fn player_at_origin_view() -> (ClientView, ClientMirror) {
    let view = ClientView::new(1, NetId::from_parts(0, 1), settings(Some(10.0), 10_000));
    (view, ClientMirror::new())
}

fn ids(mirror: &ClientMirror) -> Vec<u32> {
    mirror.entities().map(|e| e.id.index()).collect()
}

#[test]
fn entering_scope_spawns_and_leaving_despawns() {
    let (mut view, mut mirror) = player_at_origin_view();
    // Player at 0; entity 1 near, entity 2 far.
    deliver(
        &mut view,
        &mut mirror,
        &Arc::new(snapshot(2, &[(0, 0, 0), (1, 5, 0), (2, 50, 0)])),
    );
    assert_eq!(ids(&mirror), vec![0, 1]);
    // Entity 2 walks in, entity 1 walks out.
    deliver(
        &mut view,
        &mut mirror,
        &Arc::new(snapshot(4, &[(0, 0, 0), (1, 30, 0), (2, 8, 0)])),
    );
    assert_eq!(ids(&mirror), vec![0, 2]);
    // The player follows entity 1.
    deliver(
        &mut view,
        &mut mirror,
        &Arc::new(snapshot(6, &[(0, 28, 0), (1, 30, 0), (2, 8, 0)])),
    );
    assert_eq!(ids(&mirror), vec![0, 1]);
    assert_eq!(
        mirror.entity(NetId::from_parts(1, 1)).unwrap().components[0].fields[0],
        30
    );
}

/// The stale step's contract: despawns for held entities out of view, candidates in
/// `NetId` order for what the client lacks or holds out of date, and the held store
/// untouched until the commit.
#[test]
fn the_stale_step_lists_changes_in_id_order_and_leaves_the_store_to_the_commit() {
    let (mut view, mut mirror) = player_at_origin_view();
    deliver(
        &mut view,
        &mut mirror,
        &Arc::new(snapshot(2, &[(0, 0, 0), (1, 1, 0), (2, 2, 0), (3, 3, 0)])),
    );
    let (held, checksum) = (view.held_len(), view.held.checksum());
    // Entity 1 walks out, 2 is unchanged, 3 changes, 4 walks in.
    let next = Arc::new(snapshot(4, &[(0, 0, 0), (1, 50, 0), (2, 2, 0), (3, 3, 7), (4, 4, 0)]));
    let viewer = view.viewer(&next);
    view.visible.collect(&next, &viewer, &view.settings);
    assert_eq!(view.visible.indices, vec![0, 2, 3, 4]);
    view.stale.collect(&view.held, &next, &view.visible.indices);
    assert_eq!(view.stale.despawns, vec![NetId::from_parts(1, 1)]);
    let listed: Vec<(u32, bool)> = view
        .stale
        .candidates
        .iter()
        .map(|c| (c.entity, matches!(c.change, stale::Change::Spawn)))
        .collect();
    assert_eq!(listed, vec![(3, false), (4, true)]);
    let next_ids: Vec<u32> = view.stale.next.iter().map(|t| t.id.index()).collect();
    assert_eq!(next_ids, vec![0, 2, 3, 4]);
    assert_eq!((view.held_len(), view.held.checksum()), (held, checksum));
    // The whole frame then leaves the client exactly as the mirror.
    deliver(&mut view, &mut mirror, &next);
    assert_eq!(ids(&mirror), vec![0, 2, 3, 4]);
}

/// The held store's contract across its two forms: a whole-world client in step holds
/// the world's snapshot alone; leaving step lists exactly that world's visible entities,
/// with the checksum the client verified.
#[test]
fn leaving_step_lists_exactly_the_world_the_client_held() {
    let mut chain = Chain::new(true);
    let mut view = ClientView::spectating(1, Spectate::World, settings(None, 100_000));
    let mut mirror = ClientMirror::new();
    for tick in [2, 4, 6] {
        let world = [(0, tick as i32, 0), (1, 5, 0), (2, 9, tick as i32)];
        deliver(&mut view, &mut mirror, &chain.next(snapshot(tick, &world)));
    }
    assert!(view.in_step());
    assert_eq!(view.held.world_tick(), Some(Tick(6)));
    let checksum = view.held.checksum();
    view.held.leave_step();
    assert!(!view.in_step());
    let listed: Vec<(u32, Option<Tick>)> = view
        .held
        .tracked()
        .iter()
        .map(|t| (t.id.index(), t.held.map(|slot| slot.as_of)))
        .collect();
    assert_eq!(listed, vec![(0, Some(Tick(6))), (1, Some(Tick(6))), (2, Some(Tick(6)))]);
    let sum = view
        .held
        .tracked()
        .iter()
        .fold(0u32, |sum, t| sum.wrapping_add(t.held.unwrap().hash));
    assert_eq!((sum, view.held.checksum()), (checksum, checksum));
    assert_eq!(view.held_len(), mirror.len());
}

#[test]
fn an_idle_snapshot_is_seven_bytes() {
    for linked in [false, true] {
        let mut chain = Chain::new(linked);
        let mut view = ClientView::new(1, NetId::from_parts(0, 1), settings(None, 10_000));
        let mut mirror = ClientMirror::new();
        let world = [(0, 0, 0), (1, 5, 0)];
        deliver(&mut view, &mut mirror, &chain.next(snapshot(2, &world)));
        deliver(&mut view, &mut mirror, &chain.next(snapshot(4, &world)));
        let idle = deliver(&mut view, &mut mirror, &chain.next(snapshot(6, &world)));
        assert_eq!(idle.bytes, 7, "linked: {linked}");
        assert_eq!(idle.entities_sent, 0);
    }
}

#[test]
fn a_tight_budget_sends_the_own_entity_first_and_catches_up_with_bounded_staleness() {
    for linked in [false, true] {
        tight_budget_catches_up(linked);
    }
}

fn tight_budget_catches_up(linked: bool) {
    let mut chain = Chain::new(linked);
    let player = NetId::from_parts(0, 1);
    // Room for a handful of spawns per snapshot, not for 200.
    let mut view = ClientView::new(1, player, settings(None, 120));
    let mut mirror = ClientMirror::new();
    let mut world: Vec<(u32, i32, i32)> = (0..200).map(|i| (i, i as i32, 0)).collect();
    let first = deliver(&mut view, &mut mirror, &chain.next(snapshot(2, &world)));
    assert!(first.entities_deferred > 150, "{first:?}");
    assert!(mirror.entity(player).is_some(), "the client's own entity goes first");
    let mut worst = 0;
    for step in 2..400u32 {
        for (index, x, counter) in &mut world {
            // A tenth of the world changes every snapshot.
            if (*index + step) % 10 == 0 {
                *counter += 1;
                *x += 1;
            }
        }
        let stats = deliver(&mut view, &mut mirror, &chain.next(snapshot(step * 2, &world)));
        worst = worst.max(stats.max_staleness_ticks);
        assert!(
            stats.bytes <= 120,
            "frame of {} bytes over a 120-byte budget",
            stats.bytes
        );
    }
    assert_eq!(mirror.len(), 200, "everything in view was eventually sent");
    assert!(worst < 400, "staleness is bounded (worst {worst} ticks)");
    // Once the world stops changing, the client converges to it exactly.
    for step in 400..480u32 {
        deliver(&mut view, &mut mirror, &chain.next(snapshot(step * 2, &world)));
    }
    let held: Vec<EntityState> = mirror.entities().cloned().collect();
    let expected: Vec<EntityState> = world.iter().map(|&(i, x, c)| entity(i, x, c).0).collect();
    assert_eq!(held, expected);
}

/// A writer that skipped a snapshot holds entities as of the one before the
/// previous: it copies the snapshot's shared encodings since then, and its frame is
/// byte for byte the one a diff of every entity gives.
#[test]
fn a_writer_that_skipped_a_snapshot_copies_the_shared_changes_since_two_back() {
    let player = NetId::from_parts(0, 1);
    let worlds: Vec<Vec<(u32, i32, i32)>> = (0..4)
        .map(|step| {
            (0..20)
                .map(|i| (i, i as i32 * 3 + step * (i as i32 % 3), step % 2))
                .collect()
        })
        .collect();
    let mut frames = Vec::new();
    for linked in [true, false] {
        let mut chain = Chain::new(linked);
        let mut view = ClientView::new(1, player, settings(Some(100.0), 10_000));
        let mut mirror = ClientMirror::new();
        let mut last = Vec::new();
        for (step, world) in worlds.iter().enumerate() {
            let snapshot = chain.next(snapshot(2 * step as u32 + 2, world));
            if step == 2 {
                continue;
            }
            last = Vec::new();
            view.write_frame(&snapshot, &mut last);
            let ServerMsg::Snapshot(frame) = ServerMsg::decode(&last).unwrap() else {
                panic!("not a snapshot")
            };
            mirror.apply_frame(&frame).expect("the frame applies");
            if step == 3 {
                assert_eq!(
                    snapshot.changes_since(Tick(4)).is_some(),
                    linked,
                    "the skipped writer has shared changes since the snapshot it holds"
                );
            }
        }
        frames.push(last);
    }
    assert_eq!(frames[0], frames[1]);
}

#[test]
fn frames_stay_within_the_budget_in_a_sparse_world() {
    // 2 000 entities spread over 200 000 slots: index gaps cost more than the estimate.
    let player = NetId::from_parts(0, 1);
    let mut view = ClientView::new(1, player, settings(None, 300));
    let mut mirror = ClientMirror::new();
    let mut world: Vec<(u32, i32, i32)> = (0..2000).map(|i| (i * 100, (i % 50) as i32, 0)).collect();
    for step in 1..60u32 {
        for (slot, _, counter) in &mut world {
            *counter += (*slot as i32 + step as i32) % 3;
        }
        let stats = deliver(&mut view, &mut mirror, &Arc::new(snapshot(step * 2, &world)));
        assert!(
            stats.bytes <= 300,
            "frame of {} bytes over a 300-byte budget",
            stats.bytes
        );
        assert!(stats.entities_deferred > 0);
    }
}

/// Steady movers: from the third frame on, an in-step client's body is the predicted
/// one, a fraction of the plain one, and the client still holds exactly the world.
#[test]
fn steady_movers_cost_a_fraction_in_the_predicted_world_body() {
    let mut chain = Chain::new(true);
    let mut view = ClientView::spectating(1, Spectate::World, settings(None, 100_000));
    let mut mirror = ClientMirror::new();
    let mut sizes = Vec::new();
    for step in 0..6u32 {
        let world: Vec<(u32, i32, i32)> = (1..=50).map(|i| (i, (i * 10 + step * 37) as i32, 0)).collect();
        let snapshot = chain.next(snapshot(2 * step + 2, &world));
        let stats = deliver(&mut view, &mut mirror, &snapshot);
        let plain = snapshot.world_body().map(|body| body.body.len());
        sizes.push((stats.bytes, plain));
    }
    for &(bytes, plain) in &sizes[2..] {
        let plain = plain.expect("a plain body too");
        assert!(
            bytes * 2 < plain,
            "predicted frame of {bytes} bytes against a plain body of {plain}: {sizes:?}"
        );
    }
}

/// The body of an encoded snapshot frame.
fn frame_body(bytes: &[u8]) -> Vec<u8> {
    match ServerMsg::decode(bytes).unwrap() {
        ServerMsg::Snapshot(frame) => frame.body,
        other => panic!("not a snapshot: {other:?}"),
    }
}

/// A rule that hides nothing, but makes a view's visibility its own: such a view
/// never uses the shared world body.
fn shows_all(_: &Viewer, _: &EntityMeta) -> bool {
    true
}

proptest! {
    /// Whole-world clients in step are sent the snapshot's shared bodies (plain, then
    /// predicted once the client's motion matches), which take the client to exactly
    /// the state its own diff would: across spawns, despawns, hidden entities, changes
    /// and skipped snapshots. Where the plain shared body is sent, it is byte for byte
    /// the client's own.
    #[test]
    fn the_shared_world_bodies_reach_what_a_body_of_the_clients_own_does(
        worlds in prop::collection::vec(
            prop::collection::btree_map(1u32..30, (-60i32..60, 0i32..3, any::<bool>()), 0..20), 1..14),
        skipped in prop::collection::vec(prop::bool::weighted(0.2), 14),
    ) {
        let mut chain = Chain::new(true);
        let own = ViewSettings { rule: Some(shows_all), ..settings(None, 100_000) };
        let mut shared = ClientView::spectating(1, Spectate::World, settings(Some(10.0), 100_000));
        let mut separate = ClientView::spectating(1, Spectate::World, own);
        let (mut mirror, mut own) = (ClientMirror::new(), ClientMirror::new());
        let mut in_step_frames = 0;
        for (step, world) in worlds.iter().enumerate() {
            let (entities, metas) = world
                .iter()
                .map(|(&i, &(x, c, hidden))| {
                    let (state, mut meta) = entity(i, x, c);
                    if hidden {
                        meta.relevance = Relevance::Hidden;
                    }
                    (state, meta)
                })
                .unzip();
            let snapshot = chain.next(WorldSnapshot::new(Tick(2 * step as u32 + 2), entities, metas, Vec::new()));
            if skipped[step] {
                continue;
            }
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let stats = shared.write_frame(&snapshot, &mut a);
            in_step_frames += usize::from(stats.shared_body);
            separate.write_frame(&snapshot, &mut b);
            prop_assert!(!separate.in_step());
            for (bytes, mirror) in [(&a, &mut mirror), (&b, &mut own)] {
                let ServerMsg::Snapshot(frame) = ServerMsg::decode(bytes).unwrap() else { panic!("not a snapshot") };
                let applied = mirror.apply_frame(&frame);
                prop_assert!(applied.is_ok(), "{:?}", applied);
            }
            let plain = snapshot.world_body().is_some_and(|body| body.body == frame_body(&a));
            prop_assert!(!plain || a == b, "a plain shared body is the client's own");
            prop_assert!(mirror.entities().eq(own.entities()));
            prop_assert_eq!(mirror.len(), shared.held_len());
            prop_assert_eq!(stats.in_view, world.values().filter(|(_, _, hidden)| !hidden).count());
        }
        // Every frame right after another is the shared body (after a skipped snapshot
        // the body since the previous one does not apply, and the view diffs).
        let followed_a_frame = (1..worlds.len()).filter(|&i| !skipped[i] && !skipped[i - 1]).count();
        prop_assert_eq!(in_step_frames, followed_a_frame);
    }

    /// Arbitrary worlds, viewpoints, radii and budgets: every frame applies cleanly
    /// with a matching checksum, whatever enters or leaves scope.
    #[test]
    fn the_mirror_always_matches_what_the_view_sent(
        worlds in prop::collection::vec(
            prop::collection::btree_map(1u32..40, (-60i32..60, 0i32..3), 0..30), 1..12),
        player_xs in prop::collection::vec(-60i32..60, 12),
        radius in prop_oneof![Just(None), (5.0f32..80.0).prop_map(Some)],
        budget in 40usize..2000,
        linked: bool,
        skipped in prop::collection::vec(any::<bool>(), 12),
    ) {
        let mut chain = Chain::new(linked);
        let player = NetId::from_parts(0, 1);
        let mut view = ClientView::new(1, player, settings(radius, budget));
        let mut mirror = ClientMirror::new();
        for (step, world) in worlds.iter().enumerate() {
            let mut entities = vec![(0, player_xs[step], 0)];
            entities.extend(world.iter().map(|(&i, &(x, c))| (i, x, c)));
            let snapshot = chain.next(snapshot(2 * step as u32 + 2, &entities));
            if skipped[step] {
                // A writer that fell behind: this snapshot is never written.
                continue;
            }
            let mut bytes = Vec::new();
            let stats = view.write_frame(&snapshot, &mut bytes);
            // Over budget only when one entity alone (plus despawns) does not fit.
            prop_assert!(stats.bytes <= budget.max(100) || stats.entities_sent <= 1 || budget < 100,
                "{} bytes over a budget of {}", stats.bytes, budget);
            let ServerMsg::Snapshot(frame): ServerMsg = ServerMsg::decode(&bytes).unwrap() else {
                panic!("not a snapshot")
            };
            let frame: SnapshotFrame = frame;
            let applied = mirror.apply_frame(&frame);
            prop_assert!(applied.is_ok(), "{:?}", applied);
            prop_assert!(mirror.entity(player).is_some());
            prop_assert_eq!(mirror.len(), view.held_len());
        }
    }
}
