//! `tickcast-bots`: runs a bot swarm against a server, prints the summary table and
//! exits non-zero with a one-line reason unless the server passed. The bots matchmake
//! (`--matchmake`, by default at `http://127.0.0.1:7777`) unless `--url` points them at
//! one WebSocket endpoint. `tickcast-bots proxy` runs the fault proxy
//! ([`tickcast_bots::proxy`]) instead.

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tickcast_bots::matchmake::{DEFAULT_MATCHMAKER, check_ws_url};
use tickcast_bots::proxy::cli::ProxyArgs;
use tickcast_bots::{
    BotOptions, InputsPerWrite, MAX_INPUTS_PER_WRITE, Matchmaking, SwarmConfig, TargetError, TlsTrust, Transport,
    run_swarm_matchmaking, run_swarm_with,
};
use tracing_subscriber::EnvFilter;

/// Headless bot swarm: scripted inputs, mirrored snapshots, checksums, round trips.
///
/// Each bot asks the server's `POST /matchmake` for a seat (`--matchmake`, `--kind`,
/// `--room-id`) and plays wherever it is seated; `--url` instead sends every bot straight
/// to one node's default room.
///
/// Passes (exit 0) only if every bot connected and none failed, no snapshot failed its
/// checksum or could not be applied, every bot received input acks, and each bot's last
/// ack covers every input it sent more than 1 s before the end.
///
/// `tickcast-bots proxy ...` instead runs a TCP fault proxy to put between the bots and
/// a server (see `tickcast-bots proxy --help`).
#[derive(Debug, Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    swarm: Args,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Relay TCP to a server with latency, jitter, a bandwidth cap, stalls and resets.
    Proxy(ProxyArgs),
}

/// The swarm's flags: the default command.
#[derive(Debug, clap::Args)]
struct Args {
    /// WebSocket URL (ws:// or wss://) of a server's game endpoint: every bot joins that
    /// node's default room directly, without matchmaking.
    #[arg(long, value_name = "URL", conflicts_with_all = ["matchmake", "kind", "room_id"])]
    url: Option<String>,
    /// Base URL (http:// or https://) of the server whose `POST /matchmake` seats each
    /// bot; the bots then connect to the seat's node and room. Used unless --url is given.
    /// https trusts as --ca and --insecure say; a `?token=JWT` query is passed along.
    #[arg(long, value_name = "URL", default_value = DEFAULT_MATCHMAKER)]
    matchmake: String,
    /// Room kind (game) to ask matchmaking for, e.g. `arena`; by default the server's
    /// default game.
    #[arg(long, value_name = "KIND")]
    kind: Option<String>,
    /// Room to ask matchmaking for by id, e.g. `arena-3`; by default any room of the kind
    /// with a free seat.
    #[arg(long, value_name = "ID")]
    room_id: Option<String>,
    /// Number of bots.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    bots: u32,
    /// How long all bots play together after the ramp (e.g. `30s`, `2m`).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Spread the bots' connections evenly over this time (e.g. `5s`).
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    ramp: Duration,
    /// Write the report as JSON to this file.
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// Seed of the scripted inputs; the same seed repeats the same inputs.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Inputs per socket write: each input is still its own message, made on its tick,
    /// but only every Nth is flushed, taking those before it along (fewer sends for a
    /// CPU-bound swarm). Round trips count from when each input is made.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1,
        value_parser = clap::value_parser!(u8).range(1..=i64::from(MAX_INPUTS_PER_WRITE))
    )]
    inputs_per_write: u8,
    /// Chaos: each bot drops its connection (no close handshake) this many times a
    /// minute on average, at random, and reconnects with its resume token; the report
    /// counts drops and resumes, and the run must still end with zero mismatches.
    #[arg(long, value_name = "PER_MINUTE", default_value_t = 0)]
    chaos_reconnect: u32,
    /// A bot whose connection is lost (reset, cut) reconnects and resumes its session
    /// instead of failing; the report counts these with the drops.
    #[arg(long)]
    resume: bool,
    /// Join as spectators of the whole world: no player, no inputs; the report's input
    /// figures stay empty and the snapshot figures are what a viewer receives.
    #[arg(long)]
    spectate: bool,
    /// How bots reach the server: `ws` (WebSocket only), `http` (the HTTP fallback only:
    /// a streamed GET down, POSTed batches up) or `auto` (WebSocket first; HTTP if the
    /// upgrade is refused for any reason but the token, or the socket fails before the
    /// Welcome). The report counts bots and round trips per transport.
    #[arg(long, value_name = "ws|http|auto", default_value = "auto")]
    transport: Transport,
    /// Trust the PEM certificate(s) in this file for a wss:// server (e.g. a development
    /// server's own certificate).
    #[arg(long, value_name = "PATH", conflicts_with = "insecure")]
    ca: Option<PathBuf>,
    /// Accept any certificate from a wss:// server: for a development server whose
    /// certificate you do not have. The traffic is still encrypted, but anyone on the
    /// path could pose as the server.
    #[arg(long)]
    insecure: bool,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Proxy(args)) => tickcast_bots::proxy::cli::run(args),
        None => run(cli.swarm),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Where the bots join.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    /// Straight to this WebSocket URL's default room.
    Direct(String),
    /// Each through matchmaking.
    Matchmake(Matchmaking),
}

impl Args {
    /// `--url` if given, otherwise matchmaking as `--matchmake`, `--kind` and `--room-id` say.
    fn target(&self) -> Result<Target, TargetError> {
        if let Some(url) = &self.url {
            check_ws_url(url)?;
            return Ok(Target::Direct(url.clone()));
        }
        let mut matchmaking = Matchmaking::new(&self.matchmake)?;
        matchmaking.kind.clone_from(&self.kind);
        matchmaking.room_id.clone_from(&self.room_id);
        Ok(Target::Matchmake(matchmaking))
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let target = args.target()?;
    let tls = match (&args.ca, args.insecure) {
        (Some(path), _) => TlsTrust::ca_file(path)?,
        (None, true) => TlsTrust::Insecure,
        (None, false) => TlsTrust::WebPki,
    };
    let config = SwarmConfig {
        url: match &target {
            Target::Direct(url) => url.clone(),
            Target::Matchmake(matchmaking) => matchmaking.endpoint().to_string(),
        },
        bots: args.bots as usize,
        duration: args.duration,
        ramp: args.ramp,
        seed: args.seed,
        show_progress: true,
        tls,
    };
    let options = BotOptions {
        inputs_per_write: InputsPerWrite::new(args.inputs_per_write)?,
        chaos_reconnects_per_minute: args.chaos_reconnect,
        resume_lost: args.resume,
        spectate: args.spectate,
        transport: args.transport,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let report = runtime.block_on(async {
        match target {
            Target::Direct(_) => run_swarm_with(config, options).await,
            Target::Matchmake(matchmaking) => run_swarm_matchmaking(config, options, matchmaking).await,
        }
    });
    println!("{}", report.table());
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report).context("serializing the report")?;
        std::fs::write(path, json + "\n").with_context(|| format!("writing the report to {}", path.display()))?;
    }
    report.verdict().context("the server did not pass")?;
    println!("pass: {} bots, no checksum mismatches, all inputs acked", report.bots);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(args: &[&str]) -> Result<Target, String> {
        let cli = Cli::try_parse_from(std::iter::once("tickcast-bots").chain(args.iter().copied()))
            .map_err(|error| error.kind().to_string())?;
        cli.swarm.target().map_err(|error| error.to_string())
    }

    fn matchmaking(server: &str, kind: Option<&str>, room_id: Option<&str>) -> Target {
        let mut matchmaking = Matchmaking::new(server).unwrap();
        matchmaking.kind = kind.map(str::to_owned);
        matchmaking.room_id = room_id.map(str::to_owned);
        Target::Matchmake(matchmaking)
    }

    #[test]
    fn without_a_url_the_bots_matchmake_at_the_local_server() {
        assert_eq!(target(&[]), Ok(matchmaking("http://127.0.0.1:7777", None, None)));
        assert_eq!(
            target(&[
                "--matchmake",
                "https://game.example:8443",
                "--kind",
                "drift",
                "--room-id",
                "drift-2"
            ]),
            Ok(matchmaking("https://game.example:8443", Some("drift"), Some("drift-2")))
        );
        assert_eq!(
            target(&["--kind", "arena"]),
            Ok(matchmaking("http://127.0.0.1:7777", Some("arena"), None))
        );
        assert_eq!(
            target(&["--matchmake", "ws://127.0.0.1:7777/ws"]),
            Err(
                "ws://127.0.0.1:7777/ws is not an http:// or https:// url (to connect to a ws(s) endpoint, use --url)"
                    .to_owned()
            )
        );
    }

    #[test]
    fn a_url_connects_straight_to_it_as_before() {
        assert_eq!(
            target(&["--url", "ws://127.0.0.1:7790/ws", "--bots", "3"]),
            Ok(Target::Direct("ws://127.0.0.1:7790/ws".to_owned()))
        );
        assert_eq!(
            target(&["--url", "wss://127.0.0.1:7790/ws", "--insecure"]),
            Ok(Target::Direct("wss://127.0.0.1:7790/ws".to_owned()))
        );
        assert!(
            target(&["--url", "http://127.0.0.1:7790"])
                .unwrap_err()
                .contains("use --matchmake")
        );
        // A URL and matchmaking flags contradict each other.
        for flag in [
            ["--matchmake", "http://127.0.0.1:7777"],
            ["--kind", "arena"],
            ["--room-id", "arena-1"],
        ] {
            let args = ["--url", "ws://127.0.0.1:7790/ws", flag[0], flag[1]];
            assert_eq!(
                target(&args),
                Err("an argument cannot be used with one or more of the other specified arguments".to_owned()),
                "{args:?}"
            );
        }
    }

    #[test]
    fn the_proxy_subcommand_still_parses() {
        let cli = Cli::try_parse_from(["tickcast-bots", "proxy", "--upstream", "127.0.0.1:7777"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Proxy(_))));
    }
}
