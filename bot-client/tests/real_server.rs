//! The swarm through matchmaking against the real server, in process on 127.0.0.1:0: each
//! bot posts `/matchmake`, takes its seat, is dropped now and then and comes back to its
//! room with its resume token; every bot must pass and the report must say where they
//! played. (The server's own side of matchmaking is tested in `server/tests/`.) Bots also
//! play the cubes game, the 3D one, with the script its `Welcome` schema picks: in a
//! server's default room and in matchmade rooms of kind `cubes`.

use std::time::Duration;
use tickcast_bots::{BotOptions, Matchmaking, SwarmConfig, run_swarm_matchmaking, run_swarm_with};
use tickcast_server::config::{GameChoice, ServerConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matchmade_bots_play_resume_and_report_their_rooms_on_the_real_server() {
    let mut config = ServerConfig::embedded();
    config.bind = "127.0.0.1:0".parse().unwrap();
    config.npcs = 8;
    // Every bot comes from 127.0.0.1.
    config.limits.max_connections_per_ip = 10_000;
    config.validate().unwrap();
    let server = tickcast_server::start(&config).await.unwrap();

    let bots = 12;
    let swarm = SwarmConfig {
        bots,
        duration: Duration::from_secs(3),
        ramp: Duration::from_millis(500),
        seed: 3,
        ..SwarmConfig::default()
    };
    let options = BotOptions {
        chaos_reconnects_per_minute: 20,
        ..BotOptions::default()
    };
    let matchmaking = Matchmaking::new(&format!("http://{}", server.local_addr())).unwrap();
    let report = run_swarm_matchmaking(swarm, options, matchmaking).await;
    println!("{}", report.table());
    report.verdict().expect("the matchmade swarm passes");

    assert_eq!(report.matchmake_ms.samples, bots as u64, "one seat per bot");
    assert!(report.drops > 0, "{report:?}");
    assert_eq!(report.resumes, report.drops, "every dropped bot resumed in its room");
    assert!(!report.rooms.is_empty());
    for room in &report.rooms {
        assert_eq!(room.ws_url, server.ws_url(), "{room:?}");
        assert_ne!(room.room_id, "default", "matchmaking never seats in the default room");
        assert_eq!(room.mismatches, 0);
    }
    assert_eq!(report.rooms.iter().map(|room| room.bots).sum::<usize>(), bots);
    server.shutdown(Duration::from_secs(3)).await;
}

/// A server whose default room plays the cubes game (a 144-cube pile), as
/// `tickcast-server --game cubes` runs it.
async fn cubes_server() -> tickcast_server::RunningServer {
    let mut config = ServerConfig::embedded();
    config.bind = "127.0.0.1:0".parse().unwrap();
    config.game = GameChoice::Cubes;
    config.cubes.count = 144;
    config.limits.max_connections_per_ip = 10_000;
    config.validate().unwrap();
    tickcast_server::start(&config).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_play_the_cubes_game_in_the_default_room_with_no_mismatch() {
    let server = cubes_server().await;
    let swarm = SwarmConfig {
        url: server.ws_url(),
        bots: 8,
        duration: Duration::from_secs(3),
        ramp: Duration::from_millis(400),
        seed: 5,
        ..SwarmConfig::default()
    };
    let report = run_swarm_with(swarm, BotOptions::default()).await;
    println!("{}", report.table());
    report.verdict().expect("the cubes swarm passes");
    assert_eq!((report.checksum_mismatches, report.mirror_errors), (0, 0));
    assert!(report.checksums_verified > 100, "{report:?}");
    // The bots' pushers moved cubes: snapshots carried changes, not just idle frames.
    assert!(report.bytes_per_changed_entity > 0.0, "{report:?}");
    assert!(report.inputs_acked > 0, "{report:?}");
    server.shutdown(Duration::from_secs(3)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_matchmade_into_cubes_rooms_play_them_with_no_mismatch() {
    let mut config = ServerConfig::embedded();
    config.bind = "127.0.0.1:0".parse().unwrap();
    config.npcs = 8;
    config.cubes.count = 100;
    config.limits.max_connections_per_ip = 10_000;
    config.validate().unwrap();
    let server = tickcast_server::start(&config).await.unwrap();
    let swarm = SwarmConfig {
        bots: 6,
        duration: Duration::from_secs(3),
        ramp: Duration::from_millis(300),
        seed: 6,
        ..SwarmConfig::default()
    };
    let mut matchmaking = Matchmaking::new(&format!("http://{}", server.local_addr())).unwrap();
    matchmaking.kind = Some("cubes".to_owned());
    let report = run_swarm_matchmaking(swarm, BotOptions::default(), matchmaking).await;
    println!("{}", report.table());
    report.verdict().expect("the matchmade cubes swarm passes");
    assert!(!report.rooms.is_empty());
    for room in &report.rooms {
        assert!(room.room_id.starts_with("cubes-"), "{room:?}");
        assert_eq!(room.mismatches, 0);
    }
    assert!(report.checksums_verified > 50, "{report:?}");
    server.shutdown(Duration::from_secs(3)).await;
}
