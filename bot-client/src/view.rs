//! What one bot sees of the world: what its snapshots cost in bytes, how many entities it
//! holds, and how often each held entity is refreshed.
//!
//! Update intervals need to know which entities each snapshot touched:
//! [`ClientMirror::last_delta`] is the delta the mirror just applied, so following it
//! needs no second decode. The last touch of each held entity lives in a vector sorted by
//! `NetId`, like the delta's lists, so following a snapshot is one merge of sorted lists
//! (no hashing), and intervals are counted in a small array of whole ticks that is poured
//! into the histograms once, at the end (the histograms come out the same). Each entry
//! also remembers where the entity's [`Transform2`] is among its components, taken from
//! the spawn that gave the entity its shape (updates never change it), so telling whether
//! an update moved the entity needs no look at the mirror.

use hdrhistogram::Histogram;
use tickcast_shared::arena::Transform2;
use tickcast_shared::{
    Applied, ClientMirror, Delta, EntityState, FieldDelta, MirrorError, NetId, Replicate, SnapshotFrame, Tick,
};

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

/// Intervals below this many ticks are counted in an array (at 60 Hz, about a second:
/// nearly every interval of a healthy run).
const COUNTED_TICKS: usize = 64;

/// Whole-tick intervals on their way into a histogram: counted by value below
/// [`COUNTED_TICKS`], recorded straight away above. Recording a value `n` times is what
/// [`TickCounts::flush_into`] does with each count, so the histogram ends up the same as
/// if every interval had been recorded one by one, at a fraction of the cost.
#[derive(Debug)]
struct TickCounts {
    counts: [u64; COUNTED_TICKS],
}

impl TickCounts {
    fn new() -> TickCounts {
        TickCounts {
            counts: [0; COUNTED_TICKS],
        }
    }

    fn record(&mut self, ticks: u64, histogram: &mut Histogram<u64>) {
        match usize::try_from(ticks).ok().and_then(|at| self.counts.get_mut(at)) {
            Some(count) => *count += 1,
            None => record_growing(histogram, ticks, 1),
        }
    }

    /// Moves the counts into `histogram`.
    fn flush_into(&mut self, histogram: &mut Histogram<u64>) {
        for (ticks, count) in self.counts.iter_mut().enumerate() {
            if *count > 0 {
                record_growing(histogram, ticks as u64, *count);
                *count = 0;
            }
        }
    }
}

/// `id` as one integer in `NetId` order (slot index, then generation).
fn sort_key(id: NetId) -> u64 {
    (u64::from(id.index()) << 32) | u64::from(id.generation())
}

/// When a held entity was last touched and whether that touch moved it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Touch {
    tick: Tick,
    moved: bool,
}

/// The last touch of one held entity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Tracked {
    /// [`sort_key`] of the entity.
    key: u64,
    touch: Touch,
    /// Position of its [`Transform2`] among its components, if it has one: an update
    /// moved the entity if it changed that component.
    transform: Option<u8>,
}

/// Where `entity`'s [`Transform2`] is among its components.
fn transform_position(entity: &EntityState) -> Option<u8> {
    let at = entity.components.iter().position(|c| c.kind == Transform2::KIND)?;
    u8::try_from(at).ok()
}

/// Whether `changes` change the component at `transform`.
fn moves(changes: &[FieldDelta], transform: Option<u8>) -> bool {
    transform.is_some_and(|at| changes.iter().any(|change| change.component == at))
}

/// The entry of `key`, searched in `touches` from `at` on (leaving `at` there for the
/// next, larger key), then among the entities first touched this frame (`added`, sorted
/// by key), where `new` is inserted if it is in neither. Returns the entry and whether it
/// was there before.
#[inline]
fn entry<'a>(
    touches: &'a mut [Tracked],
    added: &'a mut Vec<Tracked>,
    at: &mut usize,
    new: Tracked,
) -> (&'a mut Tracked, bool) {
    while touches.get(*at).is_some_and(|held| held.key < new.key) {
        *at += 1;
    }
    if touches.get(*at).is_some_and(|held| held.key == new.key) {
        return (&mut touches[*at], true);
    }
    match added.binary_search_by_key(&new.key, |added| added.key) {
        Ok(found) => (&mut added[found], true),
        Err(before) => {
            added.insert(before, new);
            (&mut added[before], false)
        }
    }
}

/// Follows one bot's snapshots alongside its mirror and fills a [`ViewStats`].
#[derive(Debug)]
pub struct ViewTracker {
    stats: ViewStats,
    /// Last touch of every held entity, sorted by key.
    touches: Vec<Tracked>,
    /// Touches of entities not in `touches`, during one frame; sorted by key.
    added: Vec<Tracked>,
    /// The previous `touches` allocation, reused by the next merge.
    spare: Vec<Tracked>,
    /// Update intervals not yet in `stats.update_interval_ticks`.
    intervals: TickCounts,
    /// Staleness intervals not yet in `stats.staleness_ticks`.
    staleness: TickCounts,
    /// False after a snapshot that left the mirror partly applied, until the next full
    /// snapshot: touches may have been missed.
    in_sync: bool,
}

impl ViewTracker {
    /// A tracker for a session at `tick_rate` steps per second.
    pub fn new(tick_rate: u16) -> ViewTracker {
        ViewTracker {
            stats: ViewStats::new(tick_rate),
            touches: Vec::new(),
            added: Vec::new(),
            spare: Vec::new(),
            intervals: TickCounts::new(),
            staleness: TickCounts::new(),
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
    pub fn into_stats(mut self) -> ViewStats {
        self.flush();
        self.stats
    }

    /// Moves the counted intervals into the histograms.
    fn flush(&mut self) {
        self.intervals.flush_into(&mut self.stats.update_interval_ticks);
        self.staleness.flush_into(&mut self.stats.staleness_ticks);
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

    /// Records the touches of `delta`, just applied to `mirror` at `tick`. The held
    /// touches and each of the delta's lists are sorted by id, so each list is one walk
    /// along the touches; lists apply in the mirror's order (despawns, updates, spawns).
    fn record(&mut self, tick: Tick, delta: &Delta, mirror: &ClientMirror) {
        if !delta.despawns.is_empty() {
            // A gap never spans an absence from view.
            let mut gone = delta.despawns.iter().map(|id| sort_key(*id)).peekable();
            self.touches.retain(|held| {
                while gone.next_if(|gone| *gone < held.key).is_some() {}
                gone.next_if_eq(&held.key).is_none()
            });
        }
        self.added.clear();
        let mut at = 0;
        for update in &delta.updates {
            let new = Tracked {
                key: sort_key(update.id),
                touch: Touch { tick, moved: false },
                transform: None,
            };
            let (entry, known) = entry(&mut self.touches, &mut self.added, &mut at, new);
            if !known {
                // First seen since tracking (re)started: the mirror knows its shape.
                entry.transform = mirror.entity(update.id).and_then(transform_position);
            }
            let moved = moves(&update.changes, entry.transform);
            let previous = std::mem::replace(&mut entry.touch, Touch { tick, moved });
            self.touched(known.then_some(previous), tick, moved);
        }
        let mut at = 0;
        for spawn in &delta.spawns {
            // Whether a (re)spawn moved the entity is unknown: it starts no staleness gap.
            let new = Tracked {
                key: sort_key(spawn.id),
                touch: Touch { tick, moved: false },
                transform: transform_position(spawn),
            };
            let (entry, known) = entry(&mut self.touches, &mut self.added, &mut at, new);
            let previous = std::mem::replace(entry, new).touch;
            self.touched(known.then_some(previous), tick, false);
        }
        if !self.added.is_empty() {
            let mut merged = std::mem::take(&mut self.spare);
            merged.clear();
            merged.reserve(self.touches.len() + self.added.len());
            let mut added = self.added.drain(..).peekable();
            for held in &self.touches {
                while let Some(new) = added.next_if(|new| new.key < held.key) {
                    merged.push(new);
                }
                merged.push(*held);
            }
            merged.extend(added);
            self.spare = std::mem::replace(&mut self.touches, merged);
        }
    }

    /// A touch at `tick` of an entity last touched at `previous`: records the interval
    /// between them, if any, and returns the new touch.
    #[inline]
    fn touched(&mut self, previous: Option<Touch>, tick: Tick, moved: bool) -> Touch {
        if let Some(previous) = previous {
            let gap = u64::try_from(tick.since(previous.tick)).unwrap_or(0);
            self.intervals.record(gap, &mut self.stats.update_interval_ticks);
            if moved && previous.moved {
                self.staleness.record(gap, &mut self.stats.staleness_ticks);
            }
        }
        Touch { tick, moved }
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

        fn stats(&mut self) -> &ViewStats {
            self.tracker.flush();
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
        let first = tracker.touched(None, Tick(u32::MAX - 10), true);
        // Ten minutes at 60 Hz, across the wrap of the tick counter.
        tracker.touched(Some(first), Tick(35_989), true);
        let stats = tracker.into_stats();
        let max = stats.update_interval_ticks.max();
        assert!(max.abs_diff(36_000) <= 36, "{max}");
        assert_eq!(stats.staleness_ticks.max(), max);
    }

    /// The tracker's last touches, without the shapes.
    fn touches(tracker: &ViewTracker) -> Vec<(u64, Touch)> {
        tracker.touches.iter().map(|held| (held.key, held.touch)).collect()
    }

    /// The tracker as it was before the sorted merge: a hash map of last touches, every
    /// interval recorded in the histograms as it happens.
    struct HashMapTracker {
        touches: std::collections::HashMap<NetId, Touch>,
        intervals: Histogram<u64>,
        staleness: Histogram<u64>,
    }

    impl HashMapTracker {
        fn record(&mut self, tick: Tick, delta: &Delta, mirror: &ClientMirror) {
            for id in &delta.despawns {
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
                self.touch(spawn.id, tick, false);
            }
        }

        fn touch(&mut self, id: NetId, tick: Tick, moved: bool) {
            let Some(previous) = self.touches.insert(id, Touch { tick, moved }) else {
                return;
            };
            let gap = u64::try_from(tick.since(previous.tick)).unwrap_or(0);
            record_growing(&mut self.intervals, gap, 1);
            if moved && previous.moved {
                record_growing(&mut self.staleness, gap, 1);
            }
        }
    }

    /// A random next state of `world`: drones move or stop, pillars get hit, crates (health
    /// and no transform) get hit without moving, entities leave, come back with a new
    /// generation or change their set of components (gaining or losing a transform too).
    fn step(rng: &mut fastrand::Rng, world: &mut BTreeMap<u32, (u32, EntityState)>) {
        for index in 0..40 {
            match (world.get_mut(&index), rng.u8(0..10)) {
                (None, 0..4) => {
                    let generation = rng.u32(0..4) * 2 + 1;
                    let mut spawned = if rng.u8(0..4) == 0 {
                        entity(index, &[(Health::KIND, &[50])])
                    } else {
                        drone(index, rng.i32(-50..50))
                    };
                    spawned.id = NetId::from_parts(index, generation);
                    world.insert(index, (generation, spawned));
                }
                (None, _) => {}
                (Some(_), 0) => {
                    world.remove(&index);
                }
                (Some((_, entity)), 1) => {
                    let has_transform = entity.components[0].kind == Transform2::KIND;
                    match (has_transform, entity.components.len()) {
                        // Drone to pillar, pillar to drone.
                        (true, 1) => entity.components.push(pillar(index, 100).components[1].clone()),
                        (true, _) => entity.components.truncate(1),
                        // A crate gains a transform: a pillar, its shape replaced.
                        (false, _) => entity.components.insert(0, drone(index, 0).components[0].clone()),
                    }
                }
                (Some((_, entity)), 2) => {
                    if let Some(health) = entity.components.last_mut().filter(|c| c.kind == Health::KIND) {
                        health.fields[0] -= 1;
                    }
                }
                (Some((_, entity)), 3..7) if entity.components[0].kind == Transform2::KIND => {
                    entity.components[0].fields[rng.usize(0..3)] += rng.i32(1..4);
                }
                // A pillar loses its transform: a crate.
                (Some((_, entity)), 7) if entity.components.len() == 2 => {
                    entity.components.remove(0);
                }
                (Some(_), _) => {}
            }
        }
    }

    #[test]
    fn the_merge_counts_the_same_intervals_as_a_hash_map_of_touches() {
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..30 {
            let mut tracker = ViewTracker::new(60);
            let mut reference = HashMapTracker {
                touches: std::collections::HashMap::new(),
                intervals: Histogram::new(INTERVAL_SIGFIG).unwrap(),
                staleness: Histogram::new(INTERVAL_SIGFIG).unwrap(),
            };
            let mut session = Session::new(60);
            let mut world = BTreeMap::new();
            let mut tick = Tick(u32::MAX - 500);
            for _ in 0..200 {
                step(&mut rng, &mut world);
                let states: Vec<EntityState> = world.values().map(|(_, entity)| entity.clone()).collect();
                if rng.u8(0..50) == 0 {
                    // Start over with a full snapshot.
                    session.frames = 0;
                    session.held.clear();
                    session.sent.clear();
                    reference.touches.clear();
                    tracker.touches.clear();
                }
                session.send(&states);
                // Mostly a snapshot every 2 ticks, sometimes a long gap.
                tick = tick.offset(if rng.u8(0..20) == 0 { rng.i32(60..200) } else { 2 });
                let delta = session.mirror.last_delta();
                reference.record(tick, delta, &session.mirror);
                tracker.record(tick, delta, &session.mirror);
                let touched: Vec<(u64, Touch)> = {
                    let mut all: Vec<_> = reference.touches.iter().map(|(id, touch)| (*id, *touch)).collect();
                    all.sort_by_key(|(id, _)| *id);
                    all.into_iter().map(|(id, touch)| (sort_key(id), touch)).collect()
                };
                assert_eq!(touches(&tracker), touched);
            }
            let stats = tracker.into_stats();
            assert!(!reference.intervals.is_empty() && !reference.staleness.is_empty());
            assert!(
                reference.intervals.max() >= COUNTED_TICKS as u64,
                "long gaps are covered"
            );
            assert_eq!(recorded(&stats.update_interval_ticks), recorded(&reference.intervals));
            assert_eq!(recorded(&stats.staleness_ticks), recorded(&reference.staleness));
        }
    }

    #[test]
    fn deltas_no_server_sends_are_followed_like_the_hash_map_too() {
        // Updates of entities never spawned, an entity updated and respawned or despawned
        // and respawned in one delta, repeated entries: each list sorted, anything else
        // goes.
        let mut rng = fastrand::Rng::with_seed(11);
        let mirror = ClientMirror::new();
        let mut tracker = ViewTracker::new(60);
        let mut reference = HashMapTracker {
            touches: std::collections::HashMap::new(),
            intervals: Histogram::new(INTERVAL_SIGFIG).unwrap(),
            staleness: Histogram::new(INTERVAL_SIGFIG).unwrap(),
        };
        let ids = |rng: &mut fastrand::Rng| {
            let mut ids: Vec<NetId> = (0..rng.usize(0..6))
                .map(|_| NetId::from_parts(rng.u32(0..12), rng.u32(0..2) * 2 + 1))
                .collect();
            ids.sort();
            ids
        };
        for frame in 0..2_000 {
            let delta = Delta {
                despawns: ids(&mut rng),
                updates: ids(&mut rng)
                    .into_iter()
                    .map(|id| tickcast_shared::EntityUpdate {
                        id,
                        changes: Default::default(),
                    })
                    .collect(),
                spawns: ids(&mut rng)
                    .into_iter()
                    .map(|id| EntityState {
                        id,
                        components: Default::default(),
                    })
                    .collect(),
            };
            let tick = Tick(frame * 2 + rng.u32(0..2));
            reference.record(tick, &delta, &mirror);
            tracker.record(tick, &delta, &mirror);
            let mut touched: Vec<(NetId, Touch)> = reference.touches.iter().map(|(id, touch)| (*id, *touch)).collect();
            touched.sort_by_key(|(id, _)| *id);
            let touched: Vec<(u64, Touch)> = touched.into_iter().map(|(id, touch)| (sort_key(id), touch)).collect();
            assert_eq!(touches(&tracker), touched, "frame {frame}: {delta:?}");
        }
        let stats = tracker.into_stats();
        assert_eq!(recorded(&stats.update_interval_ticks), recorded(&reference.intervals));
    }

    #[test]
    fn counted_ticks_pour_into_the_histogram_as_if_recorded_one_by_one() {
        let mut rng = fastrand::Rng::with_seed(3);
        let mut counts = TickCounts::new();
        let (mut counted, mut direct) = (new_interval_histogram(), new_interval_histogram());
        for _ in 0..10_000 {
            let ticks = match rng.u8(0..4) {
                0 => rng.u64(..),
                1 => rng.u64(0..10_000),
                _ => rng.u64(0..80),
            };
            counts.record(ticks, &mut counted);
            record_growing(&mut direct, ticks, 1);
        }
        counts.flush_into(&mut counted);
        assert_eq!(recorded(&counted), recorded(&direct));
        assert_eq!((counted.len(), counted.max()), (direct.len(), direct.max()));
        // Flushing again adds nothing.
        counts.flush_into(&mut counted);
        assert_eq!(counted.len(), direct.len());
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
