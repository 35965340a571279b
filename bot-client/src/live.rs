//! Counters every bot bumps while it runs, and the progress bar that shows them.
//!
//! The final figures come from each bot's own outcome; these atomics only feed the
//! progress bar, so relaxed ordering is enough.

use indicatif::{ProgressBar, ProgressStyle};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How often the progress bar is redrawn.
const REFRESH: Duration = Duration::from_millis(250);

/// Swarm-wide running totals.
#[derive(Debug, Default)]
pub struct LiveCounters {
    connected: AtomicU64,
    failed: AtomicU64,
    snapshots: AtomicU64,
    checksum_mismatches: AtomicU64,
    mirror_errors: AtomicU64,
}

impl LiveCounters {
    /// A bot got its `Welcome`.
    pub fn bot_connected(&self) {
        self.connected.fetch_add(1, Ordering::Relaxed);
    }

    /// A bot failed.
    pub fn bot_failed(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
    }

    /// A bot applied `count` more snapshots (bots report them in batches, so that a
    /// thousand of them do not all write this one cache line 30 times a second).
    pub fn snapshots_applied(&self, count: u64) {
        self.snapshots.fetch_add(count, Ordering::Relaxed);
    }

    /// A bot's mirror disagreed with a snapshot's checksum.
    pub fn checksum_mismatch(&self) {
        self.checksum_mismatches.fetch_add(1, Ordering::Relaxed);
    }

    /// A bot could not apply a snapshot for another reason.
    pub fn mirror_error(&self) {
        self.mirror_errors.fetch_add(1, Ordering::Relaxed);
    }
}

/// Draws the progress bar until aborted: the run's elapsed share, connected and failed
/// bots, snapshots per second and mismatches.
pub fn spawn_progress_bar(live: Arc<LiveCounters>, bots: usize, run_length: Duration) -> (ProgressBar, JoinHandle<()>) {
    let bar = ProgressBar::new(run_length.as_millis().max(1) as u64);
    if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed:>4} [{bar:30}] {msg}") {
        bar.set_style(style.progress_chars("=> "));
    }
    let task_bar = bar.clone();
    let task = tokio::spawn(async move {
        let started = Instant::now();
        let mut refresh = tokio::time::interval(REFRESH);
        let (mut last_snapshots, mut last_at) = (0, started);
        loop {
            let now = refresh.tick().await;
            let snapshots = live.snapshots.load(Ordering::Relaxed);
            let seconds = now.duration_since(last_at).as_secs_f64();
            let per_second = if seconds > 0.0 {
                (snapshots - last_snapshots) as f64 / seconds
            } else {
                0.0
            };
            (last_snapshots, last_at) = (snapshots, now);
            task_bar.set_position(now.duration_since(started).as_millis() as u64);
            task_bar.set_message(format!(
                "connected {}/{bots}, failed {}, {per_second:.0} snapshots/s, mismatches {}, mirror errors {}",
                live.connected.load(Ordering::Relaxed),
                live.failed.load(Ordering::Relaxed),
                live.checksum_mismatches.load(Ordering::Relaxed),
                live.mirror_errors.load(Ordering::Relaxed),
            ));
        }
    });
    (bar, task)
}
