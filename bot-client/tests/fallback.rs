//! The bots over the HTTP fallback against the real server, in process on 127.0.0.1:0:
//! straight over HTTP (`--transport http`); and on `auto` through the fault proxy
//! refusing WebSocket upgrades, as a corporate proxy might, where every bot must fall
//! back and converge with zero mismatches. The server's own side of the fallback is
//! tested in `server/tests/fallback.rs`.

use std::time::Duration;
use tickcast_bots::proxy::{FaultProxy, ProxyConfig};
use tickcast_bots::{BotOptions, Matchmaking, SwarmConfig, Transport, run_swarm_matchmaking, run_swarm_with};
use tickcast_server::RunningServer;
use tickcast_server::config::ServerConfig;

async fn server() -> RunningServer {
    let mut config = ServerConfig::embedded();
    config.bind = "127.0.0.1:0".parse().unwrap();
    config.npcs = 8;
    // Every bot comes from 127.0.0.1.
    config.limits.max_connections_per_ip = 10_000;
    config.validate().unwrap();
    tickcast_server::start(&config).await.unwrap()
}

fn swarm(url: String, bots: usize, seed: u64) -> SwarmConfig {
    SwarmConfig {
        url,
        bots,
        duration: Duration::from_secs(3),
        ramp: Duration::from_millis(400),
        seed,
        ..SwarmConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_play_over_http_with_no_mismatch_and_resume_through_new_sessions() {
    let server = server().await;
    let options = BotOptions {
        transport: Transport::Http,
        chaos_reconnects_per_minute: 20,
        ..BotOptions::default()
    };
    let report = run_swarm_with(swarm(server.ws_url(), 8, 7), options).await;
    println!("{}", report.table());
    report.verdict().expect("the swarm over http passes");
    assert_eq!((report.checksum_mismatches, report.mirror_errors), (0, 0));
    assert!(report.checksums_verified > 100, "{report:?}");
    assert_eq!(report.transports.len(), 1, "{:?}", report.transports);
    assert_eq!(
        (report.transports[0].transport.as_str(), report.transports[0].bots),
        ("http", 8)
    );
    assert!(report.drops > 0, "chaos dropped some sessions");
    assert_eq!(report.resumes, report.drops, "each came back to its player");
    // Every session ends once its bot has gone (the server sees its stream's connection
    // close a moment after the run).
    let open = || {
        server
            .net_stats()
            .fallback_sessions_open
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    for _ in 0..100 {
        if open() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(open(), 0, "sessions left open after the run");
    server.shutdown(Duration::from_secs(3)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_proxy_that_refuses_upgrades_bots_fall_back_and_converge() {
    let server = server().await;
    let mut config = ProxyConfig::new("127.0.0.1:0".parse().unwrap(), server.local_addr().to_string());
    config.refuse_upgrades = true;
    let proxy = FaultProxy::start(config).await.unwrap();
    let url = format!("ws://{}/ws", proxy.local_addr());
    // On auto (the default): WebSocket first, refused with 403 by the proxy, then HTTP.
    let report = run_swarm_with(swarm(url, 10, 11), BotOptions::default()).await;
    println!("{}", report.table());
    report.verdict().expect("the swarm converges over the fallback");
    assert_eq!((report.checksum_mismatches, report.mirror_errors), (0, 0));
    assert_eq!(report.transports.len(), 1, "{:?}", report.transports);
    assert_eq!(
        (report.transports[0].transport.as_str(), report.transports[0].bots),
        ("http", 10)
    );
    let summary = proxy.shutdown().await;
    assert_eq!(summary.upgrades_refused, 10, "each bot tried its WebSocket once");
    server.shutdown(Duration::from_secs(3)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_blocking_proxy_auto_stays_on_the_websocket() {
    let server = server().await;
    let matchmaking = Matchmaking::new(&format!("http://{}", server.local_addr())).unwrap();
    let report = run_swarm_matchmaking(swarm(String::new(), 4, 13), BotOptions::default(), matchmaking).await;
    report.verdict().expect("the swarm passes");
    assert_eq!(report.transports.len(), 1);
    assert_eq!(
        (report.transports[0].transport.as_str(), report.transports[0].bots),
        ("ws", 4)
    );
    server.shutdown(Duration::from_secs(3)).await;
}
