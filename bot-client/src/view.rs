//! What one bot sees of the world: what its snapshots cost in bytes, how many entities it
//! holds, and how often each held entity is refreshed.
//!
//! Update intervals need to know which entities each snapshot touched:
//! [`ClientMirror::last_delta`] is the delta the mirror just applied, so following it
//! costs O(entities changed) per snapshot and no second decode.

use hdrhistogram::Histogram;
use std::collections::HashMap;
use tickcast_shared::arena::Transform2;
use tickcast_shared::{Applied, ClientMirror, Delta, MirrorError, NetId, Replicate, SnapshotFrame, Tick};

/// Significant figures of the interval histograms: intervals are whole ticks, recorded
/// exactly up to 2047 ticks (34 s at 60 Hz).
const INTERVAL_SIGFIG: u8 = 3;

/// One bot's snapshot figures; the report pools them over bots.
#[derive(Debug)]
pub struct ViewStats {
    /// Snapshot frames received, applied or not.
    pub snapshots: u64,
    /// Their WebSocket payload bytes (the whole MessagePack frame).
    pub snapshot_bytes: u64,
    /// Payload bytes of the applied snapshots that spawned, updated or despawned at
    /// least one entity.
    pub changing_snapshot_bytes: u64,
    /// Entities spawned, updated or despawned by those snapshots.
    pub entities_changed: u64,
    /// Entities held right after applying a snapshot, summed over applied snapshots.
    pub entities_held: u64,
    /// Applied snapshots, the samples `entities_held` sums.
    pub held_samples: u64,
    /// Simulation steps per second from `Welcome` (0 before it): converts the intervals.
    pub tick_rate: u16,
    /// Ticks between consecutive snapshots that touched (spawned or updated) the same
    /// held entity.
    pub update_interval_ticks: Histogram<u64>,
    /// Those intervals between two updates that both changed the entity's
    /// [`Transform2`]: the staleness of moving entities.
    pub staleness_ticks: Histogram<u64>,
}

impl ViewStats {
    /// Nothing seen yet, at `tick_rate` steps per second.
    pub fn new(tick_rate: u16) -> ViewStats {
        ViewStats {
            snapshots: 0,
            snapshot_bytes: 0,
            changing_snapshot_bytes: 0,
            entities_changed: 0,
            entities_held: 0,
            held_samples: 0,
            tick_rate,
            update_interval_ticks: new_interval_histogram(),
            staleness_ticks: new_interval_histogram(),
        }
    }
}

/// An auto-resizing histogram of whole ticks: it stays a few kilobytes while intervals
/// are short, whatever the run length.
fn new_interval_histogram() -> Histogram<u64> {
    Histogram::new(INTERVAL_SIGFIG).expect("constant histogram precision is valid")
}

/// When a held entity was last touched and whether that touch moved it.
#[derive(Clone, Copy, Debug)]
struct Touch {
    tick: Tick,
    moved: bool,
}

/// Follows one bot's snapshots alongside its mirror and fills a [`ViewStats`].
#[derive(Debug)]
pub struct ViewTracker {
    stats: ViewStats,
    /// Last touch of every held entity.
    touches: HashMap<NetId, Touch>,
    /// False after a snapshot that left the mirror partly applied, until the next full
    /// snapshot: touches may have been missed.
    in_sync: bool,
}

impl ViewTracker {
    /// A tracker for a session at `tick_rate` steps per second.
    pub fn new(tick_rate: u16) -> ViewTracker {
        ViewTracker {
            stats: ViewStats::new(tick_rate),
            touches: HashMap::new(),
            in_sync: true,
        }
    }

    /// Takes one snapshot frame of `payload_bytes` that was just given to `mirror`, with
    /// what applying it returned.
    pub fn on_frame(
        &mut self,
        frame: &SnapshotFrame,
        payload_bytes: usize,
        result: &Result<Applied, MirrorError>,
        mirror: &ClientMirror,
    ) {
        let bytes = payload_bytes as u64;
        self.stats.snapshots += 1;
        self.stats.snapshot_bytes += bytes;
        let tick = match result {
            Ok(applied) => {
                self.stats.held_samples += 1;
                self.stats.entities_held += mirror.len() as u64;
                let changed = applied.entities_changed() as u64;
                if changed > 0 {
                    self.stats.changing_snapshot_bytes += bytes;
                    self.stats.entities_changed += changed;
                }
                applied.tick
            }
            // Applied in full; only the server's checksum disagrees. Keep following.
            Err(MirrorError::ChecksumMismatch { tick, .. }) => *tick,
            // Nothing was applied.
            Err(MirrorError::NoBaseline) => return,
            // Possibly applied in part: the shapes cannot be trusted any more.
            Err(MirrorError::Body(_) | MirrorError::Apply(_)) => {
                self.lose_track();
                return;
            }
        };
        self.follow(frame, tick, mirror);
    }

    /// The figures so far.
    pub fn into_stats(self) -> ViewStats {
        self.stats
    }

    /// Records which entities an applied frame touched.
    fn follow(&mut self, frame: &SnapshotFrame, tick: Tick, mirror: &ClientMirror) {
        if frame.full {
            self.touches.clear();
            self.in_sync = true;
        }
        if self.in_sync {
            self.record(tick, mirror.last_delta(), mirror);
        }
    }

    fn lose_track(&mut self) {
        self.touches.clear();
        self.in_sync = false;
    }

    /// Records the touches of `delta`, just applied to `mirror` at `tick`.
    fn record(&mut self, tick: Tick, delta: &Delta, mirror: &ClientMirror) {
        for id in &delta.despawns {
            // A gap never spans an absence from view.
            self.touches.remove(id);
        }
        for update in &delta.updates {
            let moved = mirror.entity(update.id).is_some_and(|held| {
                update.changes.iter().any(|change| {
                    held.components
                        .get(usize::from(change.component))
                        .is_some_and(|component| component.kind == Transform2::KIND)
                })
            });
            self.touch(update.id, tick, moved);
        }
        for spawn in &delta.spawns {
            // Whether a (re)spawn moved the entity is unknown: it starts no staleness gap.
            self.touch(spawn.id, tick, false);
        }
    }

    fn touch(&mut self, id: NetId, tick: Tick, moved: bool) {
        let Some(previous) = self.touches.insert(id, Touch { tick, moved }) else {
            return;
        };
        let gap = u64::try_from(tick.since(previous.tick)).unwrap_or(0);
        record_growing(&mut self.stats.update_interval_ticks, gap, 1);
        if moved && previous.moved {
            record_growing(&mut self.stats.staleness_ticks, gap, 1);
        }
    }
}

/// Records `count` samples of `value` in an auto-resizing histogram, growing it as needed
/// (the `saturating_*` methods never grow one; they clamp to its current top).
pub fn record_growing(histogram: &mut Histogram<u64>, value: u64, count: u64) {
    if histogram.record_n(value, count).is_err() {
        // Only when growing would overflow `usize`: clamp instead.
        histogram.saturating_record_n(value, count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use tickcast_shared::HeldEntity;
    use tickcast_shared::arena::Health;
    use tickcast_shared::{
        ComponentKind, ComponentState, EntityState, Fields, InputAck, apply, checksum, diff, encode_body,
    };

    /// Snapshot ticks apart at the test's rate.
    const TICKS_PER_SNAPSHOT: u32 = 2;

    fn entity(index: u32, components: &[(ComponentKind, &[i32])]) -> EntityState {
        EntityState {
            id: NetId::from_parts(index, 1),
            components: components
                .iter()
                .map(|(kind, fields)| ComponentState {
                    kind: *kind,
                    fields: Fields::from_slice(fields),
                })
                .collect(),
        }
    }

    /// A drone at `x` (Transform only).
    fn drone(index: u32, x: i32) -> EntityState {
        entity(index, &[(Transform2::KIND, &[x, 0, 0])])
    }

    /// A pillar that never moves, with `hp` hit points.
    fn pillar(index: u32, hp: i32) -> EntityState {
        entity(index, &[(Transform2::KIND, &[500, 500, 0]), (Health::KIND, &[hp])])
    }

    /// Encodes worlds as a server would (against what it sent) and feeds them through a
    /// mirror and a tracker.
    struct Session {
        held: BTreeMap<NetId, HeldEntity>,
        sent: Vec<EntityState>,
        mirror: ClientMirror,
        tracker: ViewTracker,
        frames: u32,
    }

    impl Session {
        fn new(tick_rate: u16) -> Session {
            Session {
                held: BTreeMap::new(),
                sent: Vec::new(),
                mirror: ClientMirror::new(),
                tracker: ViewTracker::new(tick_rate),
                frames: 0,
            }
        }

        /// Sends `world`, with a checksum off by `lie`; returns the frame's payload size.
        fn send_with(&mut self, world: &[EntityState], lie: u32) -> usize {
            let full = self.frames == 0;
            let delta = diff(&self.sent, world);
            let body = if delta.is_empty() && !full {
                Vec::new()
            } else {
                encode_body(Some(checksum(world) ^ lie), &delta, &self.held, Vec::new())
            };
            apply(&mut self.held, &mut 0, &delta).unwrap();
            self.sent = world.to_vec();
            let tick = if full { 1000 } else { TICKS_PER_SNAPSHOT };
            let mut bytes = Vec::new();
            tickcast_shared::ServerMsg::encode_snapshot_into(full, tick, InputAck::None, &body, &mut bytes);
            let frame = SnapshotFrame {
                full,
                tick,
                input_ack: InputAck::None,
                body,
            };
            let result = self.mirror.apply_frame(&frame);
            self.tracker.on_frame(&frame, bytes.len(), &result, &self.mirror);
            self.frames += 1;
            bytes.len()
        }

        fn send(&mut self, world: &[EntityState]) -> usize {
            self.send_with(world, 0)
        }

        fn stats(&self) -> &ViewStats {
            &self.tracker.stats
        }
    }

    /// Every recorded value with its count, in ticks.
    fn recorded(histogram: &Histogram<u64>) -> Vec<(u64, u64)> {
        histogram
            .iter_recorded()
            .map(|value| (value.value_iterated_to(), value.count_at_value()))
            .collect()
    }

    #[test]
    fn moving_entities_give_staleness_and_static_ones_only_update_intervals() {
        let mut session = Session::new(60);
        // Snapshot 0 spawns both; the drone moves every snapshot, the pillar is hit at 3.
        for n in 0..6 {
            let hp = if n < 3 { 100 } else { 90 };
            session.send(&[drone(1, n * 10), pillar(2, hp)]);
        }
        let stats = session.stats();
        // Drone: spawn then 5 moves, 5 gaps of one snapshot; only the last 4 join two moves.
        // Pillar: spawn at 0, hit at 3: one gap of three snapshots.
        assert_eq!(recorded(&stats.update_interval_ticks), [(2, 5), (6, 1)]);
        assert_eq!(recorded(&stats.staleness_ticks), [(2, 4)]);
        assert_eq!(stats.held_samples, 6);
        assert_eq!(stats.entities_held, 12);
    }

    #[test]
    fn a_non_transform_change_breaks_the_staleness_chain() {
        let mut session = Session::new(60);
        session.send(&[pillar(1, 100)]);
        // Moves, only hit, moves, moves.
        session.send(&[entity(1, &[(Transform2::KIND, &[1, 0, 0]), (Health::KIND, &[100])])]);
        session.send(&[entity(1, &[(Transform2::KIND, &[1, 0, 0]), (Health::KIND, &[90])])]);
        session.send(&[entity(1, &[(Transform2::KIND, &[2, 0, 0]), (Health::KIND, &[90])])]);
        session.send(&[entity(1, &[(Transform2::KIND, &[3, 0, 0]), (Health::KIND, &[80])])]);
        assert_eq!(recorded(&session.stats().update_interval_ticks), [(2, 4)]);
        assert_eq!(recorded(&session.stats().staleness_ticks), [(2, 1)]);
    }

    #[test]
    fn a_gap_never_spans_an_absence_and_idle_frames_change_nothing() {
        let mut session = Session::new(20);
        let changing_0 = session.send(&[drone(1, 0), drone(2, 0)]);
        let changing_1 = session.send(&[drone(1, 1), drone(2, 1)]);
        // Drone 2 leaves view, nothing changes for a while, then it comes back.
        let changing_2 = session.send(&[drone(1, 1)]);
        let idle_1 = session.send(&[drone(1, 1)]);
        let idle_2 = session.send(&[drone(1, 1)]);
        let changing_3 = session.send(&[drone(1, 1), drone(2, 5)]);
        let changing_4 = session.send(&[drone(1, 1), drone(2, 6)]);
        let changing_5 = session.send(&[drone(1, 1), drone(2, 7)]);
        let stats = session.stats();
        // Drone 1: touched at 0 and 1 only. Drone 2: 0 -> 1, then respawned at 5, moved at
        // 6 and 7; only 6 -> 7 joins two moves.
        assert_eq!(recorded(&stats.update_interval_ticks), [(2, 4)]);
        assert_eq!(recorded(&stats.staleness_ticks), [(2, 1)]);
        assert_eq!(stats.snapshots, 8);
        let changing = changing_0 + changing_1 + changing_2 + changing_3 + changing_4 + changing_5;
        assert_eq!(stats.snapshot_bytes as usize, changing + idle_1 + idle_2);
        assert_eq!(stats.changing_snapshot_bytes as usize, changing);
        // 2 spawns, 2 updates, 1 despawn, 1 spawn, 1 update, 1 update.
        assert_eq!(stats.entities_changed, 8);
        assert_eq!(stats.entities_held, 2 + 2 + 1 + 1 + 1 + 2 + 2 + 2);
        assert_eq!(idle_1, 7, "an idle frame is the 7-byte envelope");
    }

    #[test]
    fn tracking_survives_checksum_mismatches_but_not_a_broken_body() {
        let mut session = Session::new(60);
        session.send(&[drone(1, 0)]);
        session.send_with(&[drone(1, 1)], 1);
        session.send_with(&[drone(1, 2)], 1);
        assert_eq!(session.mirror.len(), 1);
        assert_eq!(recorded(&session.stats().staleness_ticks), [(2, 1)]);
        assert_eq!(
            session.stats().held_samples,
            1,
            "mismatched snapshots are not applied cleanly"
        );
        assert_eq!(session.stats().snapshots, 3);

        // A body naming a slot the mirror does not hold stops tracking until a full frame.
        let bogus = SnapshotFrame {
            full: false,
            tick: TICKS_PER_SNAPSHOT,
            input_ack: InputAck::None,
            body: encode_body(None, &diff(&[drone(7, 0)], &[]), &BTreeMap::new(), Vec::new()),
        };
        let result = session.mirror.apply_frame(&bogus);
        assert!(matches!(result, Err(MirrorError::Body(_))), "{result:?}");
        session.tracker.on_frame(&bogus, 9, &result, &session.mirror);
        assert!(!session.tracker.in_sync);
        assert!(session.tracker.touches.is_empty());
        session.send(&[drone(1, 3)]);
        assert_eq!(recorded(&session.stats().update_interval_ticks), [(2, 2)]);

        // A full frame starts over.
        session.frames = 0;
        session.held.clear();
        session.sent.clear();
        session.send(&[drone(1, 10)]);
        session.send(&[drone(1, 11)]);
        assert!(session.tracker.in_sync);
        assert_eq!(recorded(&session.stats().update_interval_ticks), [(2, 3)]);
    }

    #[test]
    fn long_gaps_are_recorded_not_clamped() {
        let mut tracker = ViewTracker::new(60);
        let id = NetId::from_parts(1, 1);
        tracker.touch(id, Tick(u32::MAX - 10), true);
        // Ten minutes at 60 Hz, across the wrap of the tick counter.
        tracker.touch(id, Tick(35_989), true);
        let stats = tracker.into_stats();
        let max = stats.update_interval_ticks.max();
        assert!(max.abs_diff(36_000) <= 36, "{max}");
        assert_eq!(stats.staleness_ticks.max(), max);
    }

    #[test]
    fn a_delta_before_any_full_snapshot_is_only_counted() {
        let mut tracker = ViewTracker::new(60);
        let mirror = ClientMirror::new();
        let frame = SnapshotFrame {
            full: false,
            tick: 2,
            input_ack: InputAck::None,
            body: Vec::new(),
        };
        tracker.on_frame(&frame, 7, &Err(MirrorError::NoBaseline), &mirror);
        let stats = tracker.into_stats();
        assert_eq!((stats.snapshots, stats.snapshot_bytes, stats.held_samples), (1, 7, 0));
    }
}
