//! `tickcast-bots`: runs a bot swarm against a server, prints the summary table and
//! exits non-zero with a one-line reason unless the server passed. `tickcast-bots proxy`
//! runs the fault proxy ([`tickcast_bots::proxy`]) instead.

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tickcast_bots::proxy::cli::ProxyArgs;
use tickcast_bots::{BotOptions, InputsPerWrite, MAX_INPUTS_PER_WRITE, SwarmConfig, TlsTrust, run_swarm_with};
use tracing_subscriber::EnvFilter;

/// Headless bot swarm: scripted inputs, mirrored snapshots, checksums, round trips.
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
    /// WebSocket URL of the server's game endpoint.
    #[arg(long, default_value = "ws://127.0.0.1:7777/ws")]
    url: String,
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

fn run(args: Args) -> anyhow::Result<()> {
    let tls = match (&args.ca, args.insecure) {
        (Some(path), _) => TlsTrust::ca_file(path)?,
        (None, true) => TlsTrust::Insecure,
        (None, false) => TlsTrust::WebPki,
    };
    let config = SwarmConfig {
        url: args.url,
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
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let report = runtime.block_on(run_swarm_with(config, options));
    println!("{}", report.table());
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report).context("serializing the report")?;
        std::fs::write(path, json + "\n").with_context(|| format!("writing the report to {}", path.display()))?;
    }
    report.verdict().context("the server did not pass")?;
    println!("pass: {} bots, no checksum mismatches, all inputs acked", report.bots);
    Ok(())
}
