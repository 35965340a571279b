//! The `tickcast-server` binary: parse flags, run the arena room until Ctrl-C or
//! SIGTERM, then close every client with 1001 and print the run's figures.

use anyhow::Context;
use clap::Parser;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;
use tickcast_server::config::{Args, Command, ServerConfig};
use tickcast_server::net::admission;
use tickcast_server::tuning;
use tracing_subscriber::EnvFilter;

/// mimalloc rather than glibc's malloc; why, and the measurement, in
/// [`tickcast_server::tuning`]. Installed here because only a binary may choose.
#[global_allocator]
static ALLOCATOR: tuning::Allocator = tuning::ALLOCATOR;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(Command::Token {
        secret,
        player,
        room,
        ttl,
    }) = &args.command
    {
        let claims = admission::claims_for(player, room.as_deref(), *ttl);
        println!("{}", admission::mint(secret.as_bytes(), &claims)?);
        return Ok(());
    }
    tracing_subscriber::fmt()
        .with_ansi(std::io::stdout().is_terminal())
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    let config = ServerConfig::from_args(&args).context("loading configuration")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(serve(config, args.stats_json.clone()))
}

async fn serve(config: ServerConfig, stats_json: Option<std::path::PathBuf>) -> anyhow::Result<()> {
    let server = tickcast_server::start(&config).await.context("starting the server")?;
    if config.access.auth_secret.is_empty() {
        tracing::info!("auth is off: anyone can join (--auth-secret to require player tokens)");
    }
    if !config.access.allowed_origins.is_empty() {
        tracing::info!(origins = ?config.access.allowed_origins, "only pages from these origins may connect");
    }
    if !config.tls.enabled() {
        tracing::info!("tls is off: clients connect over plain ws (--tls-cert/--tls-key or --tls-self-signed for wss)");
    }
    if let Some(fingerprints) = server.tls_fingerprints() {
        tracing::info!(
            cert_sha256 = %fingerprints.cert_sha256,
            spki_sha256_base64 = %fingerprints.spki_sha256_base64.as_deref().unwrap_or("-"),
            "tls certificate"
        );
    }
    tracing::info!(page = %server.page_url(), "open the page to play");
    tracing::info!(
        url = %server.ws_url(),
        tick_rate = config.tick_rate,
        snapshot_rate = config.snapshot_rate,
        staggered = config.stagger_snapshots,
        npcs = config.npcs,
        "tickcast listening"
    );
    if let Some(url) = server.metrics_url() {
        tracing::info!(%url, "serving metrics");
    }
    wait_for_signal().await?;
    let drain = config.rooms.drain_timeout;
    if !drain.is_zero() {
        tracing::info!(
            ?drain,
            rooms = server.rooms().count(),
            "draining: no new players; rooms play on until empty"
        );
        let emptied = server.drain(drain).await;
        tracing::info!(emptied, "drained");
    }
    tracing::info!("shutting down");
    let net = std::sync::Arc::clone(server.net_stats());
    let open = net.connections_open.load(std::sync::atomic::Ordering::Relaxed);
    // Orchestrators give a stopping process a few seconds: close everyone with 1001 and
    // wait at most 1.5 s for their goodbyes, so the process exits within 2 s.
    let report = server.shutdown(Duration::from_millis(1500)).await;
    tracing::info!(
        connections_open = open,
        closed_with_1001 = net.closes_with(1001),
        "closed every connection"
    );
    tracing::info!(
        ticks = report.ticks,
        overruns = report.overruns,
        tick_p50_ms = report.tick_ms.p50,
        tick_p99_ms = report.tick_ms.p99,
        tick_max_ms = report.tick_ms.max,
        clients_max = report.clients_max,
        entities_max = report.entities_max,
        bytes_in = report.net.bytes_in,
        bytes_out = report.net.bytes_out,
        "stopped"
    );
    if let Some(path) = stats_json {
        let json = serde_json::to_string_pretty(&report).context("serializing the stats report")?;
        std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?;
        tracing::info!(path = %path.display(), "wrote stats report");
    }
    Ok(())
}

async fn wait_for_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("installing the SIGTERM handler")?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result.context("waiting for ctrl-c"),
            _ = terminate.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.context("waiting for ctrl-c")
    }
}
