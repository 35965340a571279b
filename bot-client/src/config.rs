//! What a swarm run is asked to do: where to connect, how many bots, for how long.

use std::time::Duration;

/// Parameters of one swarm run; see [`crate::run_swarm`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwarmConfig {
    /// WebSocket URL of the server's game endpoint, e.g. `ws://127.0.0.1:7777/ws`.
    pub url: String,
    /// Number of bots, all on the caller's tokio runtime.
    pub bots: usize,
    /// How long the bots play together once the ramp is over: every bot stops at
    /// `ramp + duration` after the run starts, wherever it is.
    pub duration: Duration,
    /// Bots start spread evenly over this time (bot `i` of `n` after `ramp * i / n`).
    pub ramp: Duration,
    /// Seeds every bot's scripted inputs together with its index, so runs repeat.
    pub seed: u64,
    /// Whether to draw a progress bar on stderr (indicatif hides it anyway when stderr
    /// is not a terminal).
    pub show_progress: bool,
}

impl Default for SwarmConfig {
    fn default() -> SwarmConfig {
        SwarmConfig {
            url: "ws://127.0.0.1:7777/ws".to_owned(),
            bots: 10,
            duration: Duration::from_secs(10),
            ramp: Duration::ZERO,
            seed: 1,
            show_progress: false,
        }
    }
}
