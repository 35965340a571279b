//! Several nodes on a real Redis, in process: matchmaking on one node places players on
//! the others and their seats work there; `/rooms` shows every node's rooms; a node that
//! shuts down leaves the directory at once, and one that drains is no longer chosen;
//! Redis lost during a run leaves rooms playing while matchmaking answers 503 with a
//! reason, until Redis is back on the same port; Redis unreachable at start is a clear
//! error, and the binary exits non-zero.
//!
//! Each test starts its own `redis-server` on a free loopback port (no persistence) and
//! stops it. Without `redis-server` the tests that need it are skipped with a message,
//! except under `CI=true`, where that is a failure: CI installs it (`.ci/setup.sh`).
//! Killing a node with SIGKILL and 300 bots over three release processes are the
//! whole-program check in `.ci/scaleout.sh`.

mod common;

use common::matchmaking::*;
use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tickcast_server::config::{GameChoice, KindConfig, ServerConfig};
use tickcast_server::{RunningServer, StartError};
use tickcast_shared::{ClientMirror, Hello};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A `redis-server` of this test's own, on a loopback port.
struct Redis {
    port: u16,
    child: Option<Child>,
}

impl Redis {
    /// Starts one on a free port; `None` (after saying why) when `redis-server` is not
    /// installed and this is not CI.
    async fn start() -> Option<Redis> {
        let installed = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !installed {
            let ci = std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false");
            assert!(
                !ci,
                "redis-server is not installed, and CI must run these tests: see .ci/setup.sh"
            );
            eprintln!("skipping: redis-server is not installed (apt-get install redis-server)");
            return None;
        }
        let mut redis = Redis {
            port: free_port(),
            child: None,
        };
        redis.restart().await;
        Some(redis)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// (Re)starts it on its port and waits until it answers.
    async fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(std::env::temp_dir())
            .stdout(Stdio::null())
            .spawn()
            .expect("starting redis-server");
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + WAIT;
        while !self.pings().await {
            assert!(tokio::time::Instant::now() < deadline, "redis-server did not answer");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn pings(&self) -> bool {
        let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await else {
            return false;
        };
        let mut answer = [0u8; 7];
        stream.write_all(b"PING\r\n").await.is_ok()
            && tokio::time::timeout(WAIT, stream.read_exact(&mut answer))
                .await
                .is_ok_and(|read| read.is_ok())
            && &answer == b"+PONG\r\n"
    }

    /// Kills it, as a lost Redis.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port nothing listens on (as far as anyone can know without holding it).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A node named `node` in the directory at `redis`, with arena rooms of `capacity`.
fn node_config(redis: &str, node: &str, capacity: usize) -> impl FnOnce(&mut ServerConfig) {
    let (redis, node) = (redis.to_owned(), node.to_owned());
    move |config| {
        config.rooms.redis_url = redis;
        config.rooms.node_id = node;
        config.rooms.capacity = capacity;
        config.rooms.kinds.insert(
            GameChoice::Arena,
            KindConfig {
                capacity: Some(capacity),
                ..KindConfig::default()
            },
        );
        config.rooms.tick_threads = 2;
    }
}

/// `GET /rooms`: matchmade room id to its node (the default rooms all share one id).
async fn rooms(server: &RunningServer) -> BTreeMap<String, String> {
    let answer = get(server, "/rooms").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let value: Value = serde_json::from_str(&answer.body).unwrap();
    value["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|room| field(room, "room_id") != "default")
        .map(|room| (field(room, "room_id").to_owned(), field(room, "node").to_owned()))
        .collect()
}

/// `GET /rooms` on `server` until `done` holds, or a panic after [`WAIT`]: records are
/// rewritten within 100 ms of a placement, not with it.
async fn rooms_until(
    server: &RunningServer,
    what: &str,
    done: impl Fn(&BTreeMap<String, String>) -> bool,
) -> BTreeMap<String, String> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let listed = rooms(server).await;
        if done(&listed) {
            return listed;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: {listed:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn healthz_ticks(server: &RunningServer) -> u64 {
    let answer = get(server, "/healthz").await;
    let value: Value = serde_json::from_str(&answer.body).unwrap();
    value["ticks"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn matchmaking_on_one_node_places_players_on_every_node() {
    let Some(redis) = Redis::start().await else { return };
    let a = start_server(node_config(&redis.url(), "node-a", 2)).await;
    let b = start_server(node_config(&redis.url(), "node-b", 2)).await;
    let c = start_server(node_config(&redis.url(), "node-c", 2)).await;
    let node_of: BTreeMap<String, &str> = [(a.ws_url(), "node-a"), (b.ws_url(), "node-b"), (c.ws_url(), "node-c")]
        .into_iter()
        .collect();
    // Twelve players through node a alone: the least-loaded node each time, so about
    // four on each node, in rooms of two; each seat works on the node that hosts it.
    let mut players = Vec::new();
    let mut per_node: BTreeMap<&str, usize> = BTreeMap::new();
    let mut placed: BTreeMap<String, String> = BTreeMap::new();
    for index in 0..12 {
        let placement = place(&a, r#"{"kind": "arena"}"#).await;
        let node = node_of[field(&placement, "ws_url")];
        *per_node.entry(node).or_default() += 1;
        placed.insert(field(&placement, "room_id").to_owned(), node.to_owned());
        let (ws, welcome) = take_seat(&placement, Hello::new(format!("p{index}"))).await;
        assert_eq!(welcome.schema.game, "arena");
        players.push((ws, ClientMirror::new()));
    }
    assert_eq!(per_node.len(), 3, "every node got players: {per_node:?}");
    // Loads are read from records up to 100 ms old, each node adding what it placed
    // since; a placement that races a record's write can be counted once too few.
    assert!(per_node.values().all(|&count| (3..=5).contains(&count)), "{per_node:?}");
    for (ws, mirror) in &mut players {
        verified_snapshot(ws, mirror).await;
    }
    // Every node lists every node's rooms, each with its node.
    for server in [&a, &b, &c] {
        rooms_until(server, "every room with its node", |listed| *listed == placed).await;
    }
    // A room asked for by id is found on its node, whichever node is asked: full ones
    // refused with 409, one with a free seat placed there.
    let (room_on_c, _) = placed.iter().find(|(_, node)| *node == "node-c").unwrap();
    let answer = matchmake(&b, &format!(r#"{{"room_id": "{room_on_c}"}}"#)).await;
    assert_eq!(answer.status, 409, "{}", answer.body);
    assert!(reason(&answer).contains("is full"), "{}", answer.body);
    let placement = place(&a, "{}").await;
    let (room, node) = (field(&placement, "room_id"), node_of[field(&placement, "ws_url")]);
    // Asked of a node other than its host, which knows it from the host's record.
    let asked = [&a, &b, &c]
        .into_iter()
        .find(|server| node_of[&server.ws_url()] != node)
        .unwrap();
    rooms_until(asked, "the new room listed", |listed| listed.contains_key(room)).await;
    let again = place(asked, &format!(r#"{{"room_id": "{room}"}}"#)).await;
    assert_eq!(field(&again, "ws_url"), field(&placement, "ws_url"), "{again}");
    take_seat(&again, Hello::new("by-id")).await;
    // Refusals keep their status across nodes.
    let answer = matchmake(&a, r#"{"kind": "chess"}"#).await;
    assert_eq!(answer.status, 404, "{}", answer.body);
    assert!(reason(&answer).contains("unknown room kind"), "{}", answer.body);
    let answer = matchmake(&b, r#"{"room_id": "arena-nope"}"#).await;
    assert_eq!(answer.status, 404, "{}", answer.body);
    // A node that shuts down leaves at once: its rooms are no longer listed, and new
    // players go to the others.
    players.clear();
    let c_url = c.ws_url();
    c.shutdown(Duration::from_millis(500)).await;
    let listed = rooms(&a).await;
    assert!(listed.values().all(|node| node != "node-c"), "{listed:?}");
    for _ in 0..6 {
        let placement = place(&b, r#"{"kind": "arena"}"#).await;
        assert_ne!(field(&placement, "ws_url"), c_url);
    }
    // A draining node (SIGTERM with a drain timeout) says so in its record within
    // 100 ms, and is no longer chosen; asked itself, it places players on the others.
    b.rooms().drain();
    tokio::time::sleep(Duration::from_millis(300)).await;
    for server in [&a, &b, &a, &b] {
        let placement = place(server, r#"{"kind": "arena"}"#).await;
        assert_eq!(field(&placement, "ws_url"), a.ws_url());
    }
    a.shutdown(Duration::from_millis(500)).await;
    b.shutdown(Duration::from_millis(500)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_lost_during_a_run_leaves_rooms_playing_and_matchmaking_comes_back_with_it() {
    let Some(mut redis) = Redis::start().await else { return };
    let server = start_server(node_config(&redis.url(), "solo", 4)).await;
    let placement = place(&server, "{}").await;
    let (mut player, _) = take_seat(&placement, Hello::new("p")).await;
    let mut mirror = ClientMirror::new();
    verified_snapshot(&mut player, &mut mirror).await;

    redis.stop();
    // Rooms never touch Redis: the default room ticks on, the matchmade one keeps
    // sending snapshots that verify.
    let ticks = healthz_ticks(&server).await;
    for _ in 0..30 {
        let frame = next_snapshot(&mut player).await;
        mirror.apply_frame(&frame).expect("mirror diverged");
    }
    verified_snapshot(&mut player, &mut mirror).await;
    assert!(healthz_ticks(&server).await > ticks, "the default room stopped ticking");
    // Matchmaking and the room list answer 503 with the reason.
    let answer = matchmake(&server, "{}").await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    let reason = reason(&answer);
    assert!(reason.starts_with("matchmaking unavailable: redis: "), "{reason}");
    assert!(answer.header("retry-after").is_some());
    assert_eq!(get(&server, "/rooms").await.status, 503);

    // Back on the same port (empty: nothing persisted): the node registers itself again
    // and matchmaking works, without a restart of the node.
    redis.restart().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let placement = loop {
        let answer = matchmake(&server, "{}").await;
        if answer.status == 200 {
            break serde_json::from_str::<Value>(&answer.body).unwrap();
        }
        assert_eq!(answer.status, 503, "{}", answer.body);
        assert!(
            tokio::time::Instant::now() < deadline,
            "matchmaking did not come back: {}",
            answer.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let (mut second, _) = take_seat(&placement, Hello::new("q")).await;
    verified_snapshot(&mut second, &mut ClientMirror::new()).await;
    // The heartbeat is back too: the node is in Redis again, its rooms listed.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let listed = rooms(&server).await;
        if listed.contains_key(field(&placement, "room_id")) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{listed:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    verified_snapshot(&mut player, &mut mirror).await;
    server.shutdown(Duration::from_millis(500)).await;
}

#[tokio::test]
async fn redis_unreachable_at_start_is_a_clear_error() {
    let url = format!("redis://127.0.0.1:{}", free_port());
    let mut config = ServerConfig::embedded();
    config.bind = "127.0.0.1:0".parse().unwrap();
    config.rooms.redis_url = url.clone();
    let error = match tickcast_server::start(&config).await {
        Ok(_) => panic!("started without redis"),
        Err(error) => error,
    };
    assert!(matches!(error, StartError::Redis(_)), "{error:?}");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("connecting to redis at {url}: ")),
        "{message}"
    );

    // The binary says so and exits non-zero.
    let output = Command::new(env!("CARGO_BIN_EXE_tickcast-server"))
        .args(["--bind", "127.0.0.1:0", "--redis-url", &url])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("error: starting the server: connecting to redis at {url}: ")),
        "{stderr}"
    );

    // Not a Redis URL at all: said as much.
    config.rooms.redis_url = "http://example.invalid".into();
    let message = match tickcast_server::start(&config).await {
        Ok(_) => panic!("started with a bad url"),
        Err(error) => error.to_string(),
    };
    assert!(
        message.starts_with("redis url \"http://example.invalid\" is not valid"),
        "{message}"
    );
}
