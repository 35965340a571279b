//! Whole-stack, in process: the real server on 127.0.0.1:0 and a swarm of real bots
//! (tickcast-bots' library) playing for a few seconds. Every bot must connect, every
//! snapshot must apply with a matching checksum, and every bot's inputs must be acked.

mod common;

use std::time::Duration;
use tickcast_bots::{BotOptions, InputsPerWrite, SwarmConfig, run_swarm, run_swarm_with};
use tickcast_server::RunningServer;

/// A quiet swarm (no progress bar) of `bots` against `server`.
fn swarm_config(server: &RunningServer, bots: usize, duration: Duration, ramp: Duration, seed: u64) -> SwarmConfig {
    SwarmConfig {
        url: server.ws_url(),
        bots,
        duration,
        ramp,
        seed,
        show_progress: false,
        tls: Default::default(),
    }
}

/// The swarms share two cores; running them one at a time keeps each meaningful.
static ONE_SWARM_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_swarm_plays_without_divergence() {
    let _serial = ONE_SWARM_AT_A_TIME.lock().await;
    let server = common::start_server(|config| config.npcs = 50).await;
    let report = run_swarm(swarm_config(
        &server,
        24,
        Duration::from_secs(3),
        Duration::from_millis(500),
        7,
    ))
    .await;
    println!("{}", report.table());
    report.verdict().expect("the swarm run passes");
    assert_eq!(report.bots_connected, 24);
    assert_eq!(report.checksum_mismatches, 0);
    assert_eq!(report.mirror_errors, 0);
    // 3 s at 30 Hz is 90 snapshots a bot; allow for the ramp and scheduling.
    assert!(
        report.snapshots_applied >= 24 * 60,
        "only {} snapshots applied",
        report.snapshots_applied
    );
    assert_eq!(report.checksums_verified, report.snapshots_applied);
    assert!(report.inputs_acked > 0 && report.inputs_acked <= report.inputs_sent);
    // The round trips second by second are the same round trips as the whole run's.
    let by_second: u64 = report.timeline.iter().map(|second| second.rtt_ms.samples).sum();
    assert_eq!(by_second, report.rtt_ms.samples);
    assert!(
        report.timeline.len() >= 3,
        "a 3.5 s run spans at least 3 seconds: {:?}",
        report.timeline
    );
    let stats = server.shutdown(Duration::from_secs(3)).await;
    assert!(stats.clients_max >= 24, "{stats:?}");
    assert!(stats.ticks >= 180 && stats.net.frames_sent >= report.snapshots_applied);
    assert_eq!(
        stats.net.bytes_out, report.bytes_down,
        "server and bots agree on every payload byte"
    );
    assert!(!stats.timeline.is_empty() && stats.timeline.iter().any(|s| s.clients > 0));
}

/// Bots that put three inputs in each TCP write (`--inputs-per-write 3`): the server
/// reads several input messages per socket read and still applies and acks every one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inputs_batched_three_to_a_write_are_all_applied_and_acked() {
    let _serial = ONE_SWARM_AT_A_TIME.lock().await;
    let server = common::start_server(|config| config.npcs = 20).await;
    let config = swarm_config(&server, 8, Duration::from_secs(2), Duration::from_millis(200), 5);
    let options = BotOptions {
        inputs_per_write: InputsPerWrite::new(3).expect("3 is a valid batch"),
        ..BotOptions::default()
    };
    let report = run_swarm_with(config, options).await;
    println!("{}", report.table());
    report.verdict().expect("the batched swarm passes");
    assert_eq!(report.bots_connected, 8);
    assert_eq!(report.checksum_mismatches, 0);
    // Acks are cumulative: the last ack covers every input sent over a second earlier.
    assert!(
        report.inputs_due > 0 && report.inputs_acked >= report.inputs_due,
        "{report:?}"
    );
    let stats = server.shutdown(Duration::from_secs(3)).await;
    assert_eq!(
        stats.net.bytes_in, report.bytes_up,
        "server read every input byte the bots wrote"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tight_budget_with_interest_still_converges_exactly() {
    let _serial = ONE_SWARM_AT_A_TIME.lock().await;
    let server = common::start_server(|config| {
        config.npcs = 300;
        config.replication.interest_radius = 25.0;
        config.replication.budget_kbps = 32;
    })
    .await;
    let report = run_swarm(swarm_config(
        &server,
        12,
        Duration::from_secs(3),
        Duration::from_millis(300),
        11,
    ))
    .await;
    println!("{}", report.table());
    report.verdict().expect("the swarm run passes under a 32 kbit/s budget");
    assert_eq!(report.checksum_mismatches, 0);
    assert!(
        report.down_kbps_per_bot <= 32.0 * 1.1,
        "budget exceeded: {} kbit/s",
        report.down_kbps_per_bot
    );
    let deferred = server
        .net_stats()
        .entities_deferred
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        deferred > 0,
        "300 moving drones must not fit in 32 kbit/s: the budget was never binding"
    );
    server.shutdown(Duration::from_secs(3)).await;
}

/// With snapshots staggered, half the bots are sent the odd ticks' snapshots: every bot
/// still converges exactly, at the full snapshot rate, and has its inputs acked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swarm_on_staggered_snapshots_converges_at_the_full_rate() {
    let _serial = ONE_SWARM_AT_A_TIME.lock().await;
    let server = common::start_server(|config| {
        config.npcs = 100;
        config.stagger_snapshots = true;
    })
    .await;
    let report = run_swarm(swarm_config(
        &server,
        16,
        Duration::from_secs(3),
        Duration::from_millis(300),
        13,
    ))
    .await;
    println!("{}", report.table());
    report.verdict().expect("the staggered swarm passes");
    assert_eq!(
        (report.bots_connected, report.checksum_mismatches, report.mirror_errors),
        (16, 0, 0)
    );
    assert_eq!(report.checksums_verified, report.snapshots_applied);
    // 3 s at 30 Hz is 90 snapshots a bot; allow for the ramp and scheduling.
    assert!(
        report.snapshots_applied >= 16 * 60,
        "only {} snapshots applied",
        report.snapshots_applied
    );
    assert!(
        report.inputs_due > 0 && report.inputs_acked >= report.inputs_due,
        "{report:?}"
    );
    server.shutdown(Duration::from_secs(3)).await;
}

/// Bots that drop their connections at random (`--chaos-reconnect`) and reconnect with
/// their resume tokens: each gets its own player back every time, and the run still ends
/// with every checksum verified and every input acked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_dropping_at_random_resume_their_players_and_converge() {
    let _serial = ONE_SWARM_AT_A_TIME.lock().await;
    let server = common::start_server(|config| config.npcs = 20).await;
    let config = swarm_config(&server, 10, Duration::from_secs(5), Duration::from_millis(200), 9);
    let options = BotOptions {
        chaos_reconnects_per_minute: 30,
        ..BotOptions::default()
    };
    let report = run_swarm_with(config, options).await;
    println!("{}", report.table());
    report.verdict().expect("the chaotic swarm passes");
    assert_eq!(report.checksum_mismatches, 0);
    // 10 bots at 30 a minute for 5 s: about 25 drops; none at all would be 1 in e^25.
    assert!(report.drops >= 5, "{} drops", report.drops);
    assert_eq!(report.resumes, report.drops, "every drop resumed its own player");
    server.shutdown(Duration::from_secs(3)).await;
}
