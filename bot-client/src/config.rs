//! What a swarm run is asked to do: where to connect, how many bots, for how long, and
//! how each bot writes its inputs.

use crate::tls::TlsTrust;
use crate::transport::Transport;
use std::time::Duration;
use thiserror::Error;

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
    /// Which certificates a `wss://` server may present.
    pub tls: TlsTrust,
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
            tls: TlsTrust::default(),
        }
    }
}

/// How every bot of a run talks to the socket; see [`crate::run_swarm_with`].
///
/// Kept apart from [`SwarmConfig`] so that code building a `SwarmConfig` field by field
/// keeps compiling as options are added. Build it from [`BotOptions::default`] with
/// `..BotOptions::default()` for the same reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BotOptions {
    /// Inputs each socket write carries.
    pub inputs_per_write: InputsPerWrite,
    /// Chaos: each bot drops its connection (no close handshake) this many times per
    /// minute on average, at random, and reconnects with its resume token.
    pub chaos_reconnects_per_minute: u32,
    /// Whether a bot whose connection is lost (reset, cut) reconnects and resumes its
    /// session instead of failing.
    pub resume_lost: bool,
    /// Whether bots join as spectators of the whole world: no player, no inputs (as a
    /// broadcast viewer, or a peer comparison's passive clients).
    pub spectate: bool,
    /// WebSocket, the HTTP fallback, or WebSocket first and HTTP if it fails (the
    /// default).
    pub transport: Transport,
}

/// Most inputs one socket write may carry: at 60 Hz, 8 inputs hold the first one back
/// for 7 ticks (117 ms), already more than a game would accept.
pub const MAX_INPUTS_PER_WRITE: u8 = 8;

/// How many inputs a bot puts into one socket write, 1 to [`MAX_INPUTS_PER_WRITE`].
///
/// Each input is still its own `ClientMsg::Input` message, made on its own tick; the bot
/// hands each one to the WebSocket as it is made and flushes only every `N`th, so one
/// TCP write carries `N` messages (as Source's `cl_cmdrate` batches user commands).
/// 1, the default, flushes every input. Batching trades the kernel's per-send cost
/// (which starves a big swarm of CPU) for up to `N - 1` ticks of hold on the oldest input
/// of each write; round trips count from when each input was made, so they show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InputsPerWrite(u8);

impl InputsPerWrite {
    /// One input per write: a flush after every input.
    pub const ONE: InputsPerWrite = InputsPerWrite(1);

    /// `n` inputs per write, if `n` is 1 to [`MAX_INPUTS_PER_WRITE`].
    pub const fn new(n: u8) -> Result<InputsPerWrite, InputsPerWriteError> {
        if n >= 1 && n <= MAX_INPUTS_PER_WRITE {
            Ok(InputsPerWrite(n))
        } else {
            Err(InputsPerWriteError(n))
        }
    }

    /// The number of inputs per write.
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl Default for InputsPerWrite {
    fn default() -> InputsPerWrite {
        InputsPerWrite::ONE
    }
}

impl TryFrom<u8> for InputsPerWrite {
    type Error = InputsPerWriteError;

    fn try_from(n: u8) -> Result<InputsPerWrite, InputsPerWriteError> {
        InputsPerWrite::new(n)
    }
}

impl From<InputsPerWrite> for u8 {
    fn from(n: InputsPerWrite) -> u8 {
        n.get()
    }
}

/// An inputs-per-write count outside 1 to [`MAX_INPUTS_PER_WRITE`].
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
#[error("inputs per write must be 1 to {MAX_INPUTS_PER_WRITE}, not {0}")]
pub struct InputsPerWriteError(pub u8);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_per_write_takes_one_to_eight() {
        assert_eq!(InputsPerWrite::default(), InputsPerWrite::ONE);
        assert_eq!(InputsPerWrite::new(1).map(InputsPerWrite::get), Ok(1));
        assert_eq!(InputsPerWrite::new(8).map(InputsPerWrite::get), Ok(8));
        assert_eq!(InputsPerWrite::new(0), Err(InputsPerWriteError(0)));
        let error = InputsPerWrite::new(9).unwrap_err();
        assert_eq!(error.to_string(), "inputs per write must be 1 to 8, not 9");
        assert_eq!(InputsPerWrite::try_from(3).map(u8::from), Ok(3));
    }
}
