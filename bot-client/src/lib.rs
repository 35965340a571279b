//! tickcast-bots: a headless swarm of scripted clients that load a tickcast server and
//! check it.
//!
//! Every bot joins through the server's matchmaking (its own seat, in whichever room and
//! node it is given) or straight at a WebSocket URL (that node's default room), and speaks
//! the real protocol over its own WebSocket: `Hello`, then one scripted input per tick
//! (flushed every [`BotOptions::inputs_per_write`] inputs), while every snapshot goes
//! through a [`tickcast_shared::ClientMirror`] whose checksum must match the server's.
//! Input acks give the round trip; snapshot sizes and the entities each snapshot touched
//! give bandwidth and staleness. The run ends with a [`SwarmReport`] whose
//! [`SwarmReport::verdict`] says whether the server passed, and where the bots played.
//!
//! - [`config`]: [`SwarmConfig`], what to run, and [`BotOptions`], how bots write.
//! - `swarm`: [`run_swarm`], [`run_swarm_with`] and [`run_swarm_matchmaking`], scheduling
//!   bots and collecting outcomes.
//! - `bot`: one bot's session, from matchmaking or connect to close.
//! - [`matchmake`]: where bots play: a WebSocket URL's default room, or the seat
//!   `POST /matchmake` gives each bot ([`Matchmaking`]); resuming in a room after a drop.
//! - [`script`]: deterministic scripted inputs.
//! - `acks`: input send times, round trips and cumulative acks.
//! - `live`: running counters and the progress bar.
//! - `view`: snapshot sizes, entities in view and how often each is refreshed.
//! - `outcome`: what one bot measured and [`LatencySummary`], shared by `bot`,
//!   [`timeline`] and [`report`]; data flows one way, bot → timeline → report.
//! - [`report`]: the report, its verdict and its table.
//! - [`tls`]: which certificates a `wss://` (or `https://` matchmaking) server may present.
//! - [`transport`]: a WebSocket, or the HTTP fallback for networks that block them
//!   (`--transport ws|http|auto`); the bot's logic is the same over both.
//! - [`proxy`]: a TCP fault proxy (delay, jitter, bandwidth cap, stalls, resets) to put
//!   between the bots and a server; also the `tickcast-bots proxy` subcommand.
//!
//! ```no_run
//! # async fn example() {
//! let report = tickcast_bots::run_swarm(tickcast_bots::SwarmConfig::default()).await;
//! println!("{}", report.table());
//! assert!(report.verdict().is_ok());
//! # }
//! ```

mod acks;
mod bot;
pub mod config;
mod live;
pub mod matchmake;
mod outcome;
pub mod proxy;
pub mod report;
pub mod script;
mod swarm;
pub mod timeline;
pub mod tls;
pub mod transport;
mod view;

pub use config::{BotOptions, InputsPerWrite, InputsPerWriteError, MAX_INPUTS_PER_WRITE, SwarmConfig};
pub use matchmake::{Matchmaking, TargetError};
pub use report::{LatencySummary, SwarmReport, VerdictError};
pub use script::InputScript;
pub use swarm::{run_swarm, run_swarm_matchmaking, run_swarm_with};
pub use tls::{TlsTrust, TlsTrustError};
pub use transport::Transport;
