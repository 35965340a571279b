//! The fixed-timestep loop that drives a room, and the figures it keeps.
//!
//! Deadlines are absolute (`next += period`), so the loop does not drift however long
//! each tick or sleep takes. A tick that runs past its deadline is an overrun; the loop
//! then runs the next tick at once to catch up, and after a stall longer than
//! [`MAX_CATCH_UP_TICKS`] periods it gives up the backlog rather than fast-forward the game.

use super::{Rates, Simulation};
use bevy_ecs::prelude::*;
use hdrhistogram::Histogram;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tickcast_shared::Tick;

/// How often the last second's tick times are published to [`RoomStats`].
const SAMPLE_PERIOD: Duration = Duration::from_secs(1);

/// Most ticks the loop runs back to back to catch up after a stall.
pub const MAX_CATCH_UP_TICKS: u32 = 5;

/// The room's clock, readable by systems.
#[derive(Resource, Debug, Clone, Copy)]
pub struct RoomClock {
    /// The tick being simulated.
    pub tick: Tick,
    /// Seconds per tick.
    pub dt: f32,
    /// Ticks between one client's snapshots.
    pub ticks_per_snapshot: u32,
    /// Groups the clients are spread over: 1, or `ticks_per_snapshot` when the room
    /// staggers its snapshots. Group `g` is sent the snapshots of the ticks `t` with
    /// `t % ticks_per_snapshot == g`, so each tick the writers of one group wake, not
    /// every writer every other tick: the burst of sends (and of the clients' work on
    /// them) is a group's, and so is its delay to the last client served. The room then
    /// captures every tick instead of every `ticks_per_snapshot`.
    pub snapshot_groups: u32,
}

impl RoomClock {
    /// A clock at tick zero for `rates`, its snapshots staggered or not.
    pub fn new(rates: Rates, staggered: bool) -> RoomClock {
        let ticks_per_snapshot = (rates.tick_rate / rates.snapshot_rate).max(1);
        RoomClock {
            tick: Tick::ZERO,
            dt: 1.0 / rates.tick_rate as f32,
            ticks_per_snapshot,
            snapshot_groups: if staggered { ticks_per_snapshot } else { 1 },
        }
    }

    /// The snapshot group this tick's snapshot goes to, if the tick ends with one.
    pub fn snapshot_group(&self) -> Option<usize> {
        let phase = self.tick.0 % self.ticks_per_snapshot;
        (phase < self.snapshot_groups).then_some(phase as usize)
    }
}

/// Run condition: this tick ends with a snapshot (for some group).
pub(crate) fn is_snapshot_tick(clock: Res<RoomClock>) -> bool {
    clock.snapshot_group().is_some()
}

/// Tick-time percentiles, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct TickSummary {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Longest.
    pub max: f64,
}

/// Figures a room keeps about itself, readable from any thread.
#[derive(Debug, Default)]
pub struct RoomStats {
    /// Ticks run.
    pub ticks: AtomicU64,
    /// Ticks that took longer than the tick period.
    pub overruns: AtomicU64,
    /// Ticks dropped after a stall longer than the catch-up limit.
    pub ticks_skipped: AtomicU64,
    /// Inputs folded into the next to remove a client's standing input delay.
    pub inputs_folded: AtomicU64,
    /// Clients joined now.
    pub clients: AtomicUsize,
    /// Most clients seen at once.
    pub clients_max: AtomicUsize,
    /// Spectators joined now (clients without a player; not in `clients`).
    pub spectators: AtomicUsize,
    /// Replicated entities now.
    pub entities: AtomicUsize,
    /// Most replicated entities seen at once.
    pub entities_max: AtomicUsize,
    /// Tick times over the whole run (refreshed every 64 ticks and at the end).
    pub tick_ms: Mutex<TickSummary>,
    /// Tick times over the last complete second.
    pub recent_tick_ms: Mutex<TickSummary>,
    /// How long after its deadline each tick of the last complete second finished: its
    /// own time plus any wait for the thread (another room's tick on a shared thread, or
    /// the OS scheduling a thread per room among more threads than cores).
    pub recent_delay_ms: Mutex<TickSummary>,
}

impl RoomStats {
    /// Tick times over the whole run.
    pub fn tick_ms(&self) -> TickSummary {
        self.tick_ms.lock().map(|summary| *summary).unwrap_or_default()
    }

    /// Tick times over the last complete second.
    pub fn recent_tick_ms(&self) -> TickSummary {
        self.recent_tick_ms.lock().map(|summary| *summary).unwrap_or_default()
    }

    /// Tick completion delays over the last complete second.
    pub fn recent_delay_ms(&self) -> TickSummary {
        self.recent_delay_ms.lock().map(|summary| *summary).unwrap_or_default()
    }
}

fn summarize(histogram: &Histogram<u64>) -> TickSummary {
    let ms = |micros: u64| micros as f64 / 1000.0;
    TickSummary {
        p50: ms(histogram.value_at_quantile(0.5)),
        p99: ms(histogram.value_at_quantile(0.99)),
        max: ms(histogram.max()),
    }
}

/// One room's ticking: its simulation, deadline and figures. A dedicated thread
/// ([`run`]) or a shared one ([`super::pool`]) calls [`Ticker::tick`] at each deadline.
pub(crate) struct Ticker {
    simulation: Simulation,
    stats: Arc<RoomStats>,
    period: Duration,
    whole_run: Histogram<u64>,
    this_interval: Histogram<u64>,
    delays: Histogram<u64>,
    /// When the next tick is due.
    pub deadline: Instant,
    next_sample: Instant,
}

impl Ticker {
    pub(crate) fn new(simulation: Simulation, rates: Rates, stats: Arc<RoomStats>) -> Ticker {
        let new_histogram = || Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds");
        let now = Instant::now();
        Ticker {
            simulation,
            stats,
            period: Duration::from_secs_f64(1.0 / f64::from(rates.tick_rate)),
            whole_run: new_histogram(),
            this_interval: new_histogram(),
            delays: new_histogram(),
            deadline: now,
            next_sample: now + SAMPLE_PERIOD,
        }
    }

    /// Runs one tick, records it and moves the deadline on.
    pub(crate) fn tick(&mut self) {
        let stats = &*self.stats;
        let started = Instant::now();
        self.simulation.step();
        let took = started.elapsed();
        let micros = took.as_micros().clamp(1, 60_000_000) as u64;
        self.whole_run.saturating_record(micros);
        self.this_interval.saturating_record(micros);
        let delay = Instant::now().saturating_duration_since(self.deadline);
        self.delays
            .saturating_record(delay.as_micros().clamp(1, 60_000_000) as u64);
        if took > self.period {
            stats.overruns.fetch_add(1, Ordering::Relaxed);
        }
        stats.ticks.fetch_add(1, Ordering::Relaxed);
        let entities = self.simulation.replicated_entities();
        stats.entities.store(entities, Ordering::Relaxed);
        stats.entities_max.fetch_max(entities, Ordering::Relaxed);
        stats
            .clients_max
            .fetch_max(stats.clients.load(Ordering::Relaxed), Ordering::Relaxed);

        self.deadline += self.period;
        let now = Instant::now();
        if now > self.deadline && now - self.deadline > self.period * MAX_CATCH_UP_TICKS {
            let behind = ((now - self.deadline).as_secs_f64() / self.period.as_secs_f64()) as u64;
            stats.ticks_skipped.fetch_add(behind, Ordering::Relaxed);
            tracing::warn!(behind, "room stalled; skipping the backlog instead of catching up");
            self.deadline = now;
        }
        if now >= self.next_sample {
            self.next_sample += SAMPLE_PERIOD;
            if let Ok(mut recent) = stats.recent_tick_ms.lock() {
                *recent = summarize(&self.this_interval);
            }
            if let Ok(mut recent) = stats.recent_delay_ms.lock() {
                *recent = summarize(&self.delays);
            }
            self.this_interval.reset();
            self.delays.reset();
        }
        if stats.ticks.load(Ordering::Relaxed).is_multiple_of(64)
            && let Ok(mut summary) = stats.tick_ms.lock()
        {
            *summary = summarize(&self.whole_run);
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        if let Ok(mut summary) = self.stats.tick_ms.lock() {
            *summary = summarize(&self.whole_run);
        }
    }
}

/// Runs ticks on this thread until `stop` is set.
pub(crate) fn run(mut ticker: Ticker, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        ticker.tick();
        let now = Instant::now();
        if now < ticker.deadline {
            std::thread::sleep(ticker.deadline - now);
        }
    }
}
