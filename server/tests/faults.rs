//! Bots through a bad network: the real server on 127.0.0.1:0, the bot swarm, and
//! tickcast-bots' userspace fault proxy between them (the kernel here has no netem).
//!
//! - Latency, jitter and a stall: every bot still converges exactly, and the round trips
//!   the bots measure show the delay.
//! - A bandwidth cap that bites: snapshots arrive in order and checksum-clean, and the
//!   proxy's byte counter shows the cap held.
//! - Resets mid-stream: the cut bots fail cleanly, the server carries on for a client
//!   connected directly, and its connection count returns to 0.
//!
//! Each test runs a swarm for a few to about fifteen seconds; only lower bounds on time
//! are asserted (a delay makes a round trip at least so long). The proxy's own unit
//! tests are in `bot-client/src/proxy/tests.rs`.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;
use tickcast_bots::proxy::{FaultProxy, Faults, ProxyConfig, Stall};
use tickcast_bots::{BotOptions, SwarmConfig, run_swarm, run_swarm_with};
use tickcast_server::RunningServer;

/// The swarms share two cores; running them one at a time keeps each meaningful.
static ONE_SWARM_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A proxy on 127.0.0.1:0 in front of `server`, with `tweak` applied.
async fn proxy_for(server: &RunningServer, tweak: impl FnOnce(&mut ProxyConfig)) -> FaultProxy {
    let mut config = ProxyConfig::new("127.0.0.1:0".parse().unwrap(), server.local_addr().to_string());
    tweak(&mut config);
    FaultProxy::start(config).await.expect("the proxy starts")
}

/// A quiet swarm of `bots` through `proxy`.
fn swarm_through(proxy: &FaultProxy, bots: usize, duration: Duration, ramp: Duration, seed: u64) -> SwarmConfig {
    SwarmConfig {
        url: format!("ws://{}/ws", proxy.local_addr()),
        bots,
        duration,
        ramp,
        seed,
        // No progress bar, the default trust: what the swarm tests use.
        ..SwarmConfig::default()
    }
}

/// Waits (bounded) until the server has no connection open.
async fn wait_for_no_connections(server: &RunningServer) {
    let open = || server.net_stats().connections_open.load(Ordering::Relaxed);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while open() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(open(), 0, "the server still holds connections");
}

/// 100 ms ± 20 ms each way and a 2 s stall at 10 s: the bots converge exactly, every
/// input is acked, and the round trip is at least the two delays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_converge_through_latency_jitter_and_a_stall() {
    let _serial = ONE_SWARM_AT_A_TIME.lock().await;
    let server = common::start_server(|config| config.npcs = 50).await;
    const DELAY: Duration = Duration::from_millis(100);
    const JITTER: Duration = Duration::from_millis(20);
    let proxy = proxy_for(&server, |config| {
        *config = config.clone().with_faults(Faults {
            delay: DELAY,
            jitter: JITTER,
            bandwidth_kbps: None,
            stall: Some(Stall {
                duration: Duration::from_secs(2),
                every: Duration::from_secs(10),
            }),
        });
        config.seed = 7;
    })
    .await;
    // The stall runs from 10 s to 12 s after the proxy started; the bots play until
    // 13.5 s, so the inputs it held (sent more than 1 s before the end) must be acked.
    let report = run_swarm(swarm_through(
        &proxy,
        8,
        Duration::from_secs(13),
        Duration::from_millis(500),
        7,
    ))
    .await;
    println!("{}", report.table());
    let summary = proxy.shutdown().await;
    println!("{}", summary.table());
    report.verdict().expect("the swarm passes through the faulty link");
    assert_eq!(
        (report.bots_connected, report.checksum_mismatches, report.mirror_errors),
        (8, 0, 0)
    );
    assert_eq!(report.checksums_verified, report.snapshots_applied);
    // Every round trip crosses the proxy twice: 2 × 100 ms, give or take the jitter.
    assert!(
        report.rtt_ms.p50 >= 2.0 * DELAY.as_secs_f64() * 1000.0,
        "round trip p50 {} ms is below the two delays",
        report.rtt_ms.p50
    );
    // The stall happened: bytes read just before or during it waited it out.
    assert!(summary.down.max_hold_ms >= 1500.0, "{summary:?}");
    assert!(summary.up.max_hold_ms >= 1500.0, "{summary:?}");
    assert_eq!((summary.connections, summary.resets), (8, 0));
    let stats = server.shutdown(Duration::from_secs(3)).await;
    println!(
        "server: inputs dropped over the rate {}, bytes in {}",
        stats.net.inputs_dropped_rate, stats.net.bytes_in
    );
}

/// A 48 kbit/s cap on the snapshots of a busy world (300 drones, whole-world interest,
/// the default 256 kbit/s budget): what arrives still applies cleanly, in order, and the
/// proxy never let more than the cap through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bandwidth_cap_that_bites_keeps_snapshots_clean() {
    let _serial = ONE_SWARM_AT_A_TIME.lock().await;
    let server = common::start_server(|config| {
        config.npcs = 300;
        config.replication.interest_radius = 0.0;
    })
    .await;
    const CAP_KBPS: u32 = 48;
    let proxy = proxy_for(&server, |config| {
        config.down.bandwidth_kbps = Some(CAP_KBPS);
        // A small queue, like a real link's, so the backlog reaches the server's
        // socket instead of waiting in the proxy.
        config.buffer_bytes = 8 * 1024;
    })
    .await;
    let report = run_swarm(swarm_through(
        &proxy,
        4,
        Duration::from_secs(5),
        Duration::from_millis(200),
        3,
    ))
    .await;
    println!("{}", report.table());
    let summary = proxy.shutdown().await;
    println!("{}", summary.table());
    assert_eq!(report.bots_connected, 4, "{:?}", report.failures);
    assert_eq!((report.checksum_mismatches, report.mirror_errors), (0, 0));
    assert!(report.snapshots_applied > 0);
    assert_eq!(report.checksums_verified, report.snapshots_applied);
    // The cap bit: with no delay configured, bytes queued behind it.
    assert!(summary.down.max_hold_ms >= 100.0, "{summary:?}");
    // And held: bytes over each connection's time open, within one bucket's burst.
    assert!(
        summary.down.kbps_per_connection <= f64::from(CAP_KBPS) * 1.2,
        "{summary:?}"
    );
    assert!(summary.down.max_buffered_bytes <= 8 * 1024, "{summary:?}");
    let stats = server.shutdown(Duration::from_secs(3)).await;
    println!(
        "server: frames sent {}, entities deferred {}, slow readers dropped {}, bytes out {}",
        stats.net.frames_sent, stats.net.entities_deferred, stats.net.slow_readers, stats.net.bytes_out
    );
}

/// Connections cut at random (mean lifetime 1.5 s): the cut bots fail with a lost
/// connection, a client connected directly keeps being served, and once the bots are
/// gone the server holds no connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resets_cut_bots_but_not_the_server() {
    let _serial = ONE_SWARM_AT_A_TIME.lock().await;
    let server = common::start_server(|config| config.npcs = 30).await;
    let mut bystander = common::Bystander::join(&server).await;
    let proxy = proxy_for(&server, |config| {
        config.resets.mean_lifetime = Some(Duration::from_millis(1500));
        config.seed = 5;
    })
    .await;
    let report = run_swarm(swarm_through(
        &proxy,
        6,
        Duration::from_secs(4),
        Duration::from_millis(300),
        5,
    ))
    .await;
    println!("{}", report.table());
    let summary = proxy.shutdown().await;
    println!("{}", summary.table());
    assert!(summary.resets > 0, "{summary:?}");
    assert!(report.bots_failed > 0, "no bot was cut: {report:?}");
    assert!(
        report.bots_failed as u64 <= summary.resets,
        "only resets may fail bots: {report:?}"
    );
    // The bots resume only the drops they make themselves (chaos reconnects), so a cut
    // bot reports its connection lost (or, cut in its handshake, its connecting failed).
    for reason in &report.failures {
        assert!(
            ["connection error", "connection ended", "connecting"]
                .iter()
                .any(|lost| reason.starts_with(lost)),
            "unexpected failure: {reason}"
        );
    }
    assert!(report.verdict().is_err());
    // What the bots did receive was exact.
    assert_eq!((report.checksum_mismatches, report.mirror_errors), (0, 0));

    // The server carried on.
    bystander.still_served().await;
    drop(bystander);
    wait_for_no_connections(&server).await;
    server.shutdown(Duration::from_secs(3)).await;
}

/// The same resets, with bots that resume a lost connection (`--resume`): every cut
/// bot reconnects through the proxy with its resume token, gets its own player back,
/// and the run passes with every checksum verified and every input acked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_resets_sessions_resume() {
    let _serial = ONE_SWARM_AT_A_TIME.lock().await;
    let server = common::start_server(|config| config.npcs = 30).await;
    let proxy = proxy_for(&server, |config| {
        config.resets.mean_lifetime = Some(Duration::from_millis(1500));
        config.seed = 5;
    })
    .await;
    let options = BotOptions {
        resume_lost: true,
        ..BotOptions::default()
    };
    let report = run_swarm_with(
        swarm_through(&proxy, 6, Duration::from_secs(4), Duration::from_millis(300), 5),
        options,
    )
    .await;
    println!("{}", report.table());
    let summary = proxy.shutdown().await;
    assert!(summary.resets > 0, "{summary:?}");
    report.verdict().expect("every cut bot resumed and the run passes");
    assert!(report.drops > 0, "the bots saw their connections cut");
    assert_eq!(
        report.resumes, report.drops,
        "each lost connection resumed its own player"
    );
    assert_eq!((report.checksum_mismatches, report.mirror_errors), (0, 0));
    server.shutdown(Duration::from_secs(3)).await;
}

/// A path that goes dead (the proxy holds every byte from 9 s to 17 s): the bots notice
/// the silence by themselves and stop with that reason instead of waiting it out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_detect_a_dead_server() {
    let _serial = ONE_SWARM_AT_A_TIME.lock().await;
    let server = common::start_server(|config| config.npcs = 10).await;
    let proxy = proxy_for(&server, |config| {
        *config = config.clone().with_faults(Faults {
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            bandwidth_kbps: None,
            stall: Some(Stall {
                duration: Duration::from_secs(8),
                every: Duration::from_secs(9),
            }),
        });
    })
    .await;
    let started = tokio::time::Instant::now();
    let report = run_swarm(swarm_through(&proxy, 2, Duration::from_secs(20), Duration::ZERO, 3)).await;
    println!("{}", report.table());
    assert_eq!(report.bots_connected, 2);
    assert_eq!(report.bots_failed, 2);
    for reason in &report.failures {
        assert!(
            reason.starts_with("the server was silent"),
            "unexpected failure: {reason}"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(17),
        "the bots gave up on the silence before the path came back"
    );
    proxy.shutdown().await;
    server.shutdown(Duration::from_secs(3)).await;
}
