//! The `tickcast-server` binary: parse flags, run the arena room until Ctrl-C or
//! SIGTERM, then close every client with 1001 and print the run's figures.

use anyhow::Context;
use clap::Parser;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tickcast_server::config::{Args, ServerConfig};
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    let config = ServerConfig::from_args(&args).context("loading configuration")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime
        .block_on(serve(config))
        .inspect_err(|error| eprintln!("error: {error:#}"))
}

async fn serve(config: ServerConfig) -> anyhow::Result<()> {
    let server = tickcast_server::start(&config).await.context("starting the server")?;
    tracing::info!(
        url = %server.ws_url(),
        tick_rate = config.tick_rate,
        snapshot_rate = config.snapshot_rate,
        npcs = config.npcs,
        "tickcast listening"
    );
    wait_for_signal().await?;
    tracing::info!("shutting down");
    let (net, room) = (
        std::sync::Arc::clone(server.net_stats()),
        std::sync::Arc::clone(server.room_stats()),
    );
    server.shutdown(Duration::from_secs(3)).await;
    let tick_ms = room.tick_ms.lock().map(|summary| *summary).unwrap_or_default();
    tracing::info!(
        ticks = room.ticks.load(Ordering::Relaxed),
        overruns = room.overruns.load(Ordering::Relaxed),
        tick_p50_ms = tick_ms.p50,
        tick_p99_ms = tick_ms.p99,
        tick_max_ms = tick_ms.max,
        clients_max = room.clients_max.load(Ordering::Relaxed),
        entities_max = room.entities_max.load(Ordering::Relaxed),
        bytes_in = net.bytes_in.load(Ordering::Relaxed),
        bytes_out = net.bytes_out.load(Ordering::Relaxed),
        "stopped"
    );
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
