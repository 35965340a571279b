//! The game port's HTTP front over real sockets: the page, the SDK, `/game.json`,
//! `/healthz`, RFC 6455 answers to malformed upgrades, and wss with a CA file, a
//! self-signed certificate and an untrusted one.

mod common;

use common::{Answer, Bystander, WAIT, raw, start_server};
use std::time::Duration;
use tickcast_bots::{SwarmConfig, TlsTrust, run_swarm};
use tickcast_server::RunningServer;

async fn get(server: &RunningServer, path: &str) -> Answer {
    raw(
        server.local_addr(),
        &format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"),
    )
    .await
}

#[tokio::test]
async fn the_game_port_serves_the_page_the_sdk_the_game_data_and_health() {
    let server = start_server(|config| config.npcs = 5).await;
    let page = get(&server, "/").await;
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    assert!(page.body.contains("dist/demo.js"), "the page loads the demo");
    let sdk = get(&server, "/dist/tickcast.js").await;
    assert_eq!(sdk.status, 200);
    assert!(sdk.header("content-type").unwrap().starts_with("text/javascript"));
    assert!(sdk.body.len() > 1000, "the SDK bundle is served");
    assert_eq!(get(&server, "/dist/missing.js").await.status, 404);
    assert_eq!(get(&server, "/nowhere").await.status, 404);

    let game = get(&server, "/game.json").await;
    assert_eq!(game.status, 200);
    let game: serde_json::Value = serde_json::from_str(&game.body).unwrap();
    assert_eq!(game["game"], "arena");
    assert_eq!(
        game["map"]["walls"].as_array().unwrap().len(),
        5,
        "the embedded map's walls"
    );
    assert_eq!(game["tuning"]["player_speed"], 8.0);

    let mut bystander = Bystander::join(&server).await;
    let health = loop {
        let answer = get(&server, "/healthz").await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("content-type"), Some("application/json"));
        let health: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
        // The room counts the join on its next tick.
        if health["clients"] == 1 {
            break health;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(health["status"], "ok");
    assert_eq!(health["entities"], 6, "five drones and the bystander");
    assert!(health["tick_p99_ms"].as_f64().is_some());
    bystander.still_served().await;
    server.shutdown(WAIT).await;
}

const KEY: &str = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
const UPGRADE: &str = "Connection: Upgrade\r\nUpgrade: websocket\r\n";

#[tokio::test]
async fn malformed_upgrades_get_400_or_426_and_the_room_carries_on() {
    let server = start_server(|_| {}).await;
    let mut bystander = Bystander::join(&server).await;
    let addr = server.local_addr();
    let request =
        |method: &str, version: &str, headers: &str| format!("{method} /ws {version}\r\nHost: test\r\n{headers}\r\n");
    let post = raw(
        addr,
        &request(
            "POST",
            "HTTP/1.1",
            &format!("{UPGRADE}Sec-WebSocket-Version: 13\r\n{KEY}"),
        ),
    )
    .await;
    assert_eq!(post.status, 400, "{}", post.body);
    let old_http = raw(
        addr,
        &request(
            "GET",
            "HTTP/1.0",
            &format!("{UPGRADE}Sec-WebSocket-Version: 13\r\n{KEY}"),
        ),
    )
    .await;
    assert_eq!(old_http.status, 400, "{}", old_http.body);
    let no_key = raw(
        addr,
        &request("GET", "HTTP/1.1", &format!("{UPGRADE}Sec-WebSocket-Version: 13\r\n")),
    )
    .await;
    assert_eq!(no_key.status, 400);
    assert!(no_key.body.contains("Sec-WebSocket-Key"), "{}", no_key.body);
    let version_12 = raw(
        addr,
        &request(
            "GET",
            "HTTP/1.1",
            &format!("{UPGRADE}Sec-WebSocket-Version: 12\r\n{KEY}"),
        ),
    )
    .await;
    assert_eq!(version_12.status, 426);
    assert_eq!(version_12.header("sec-websocket-version"), Some("13"));
    let plain_get = raw(addr, &request("GET", "HTTP/1.1", "Connection: close\r\n")).await;
    assert_eq!(plain_get.status, 426);
    assert_eq!(plain_get.header("upgrade"), Some("websocket"));
    bystander.still_served().await;
    server.shutdown(WAIT).await;
}

/// A swarm of three quiet bots for two seconds against `server` with `tls` trust.
async fn swarm(server: &RunningServer, tls: TlsTrust) -> tickcast_bots::SwarmReport {
    run_swarm(SwarmConfig {
        url: server.ws_url(),
        bots: 3,
        duration: Duration::from_secs(2),
        tls,
        ..SwarmConfig::default()
    })
    .await
}

/// Writes a certificate for 127.0.0.1 and its key as PEM into a fresh folder.
fn certificate_files(name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let folder = std::env::temp_dir().join(format!("tickcast-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let (cert, key) = (folder.join("cert.pem"), folder.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    (cert, key)
}

#[tokio::test]
async fn bots_play_over_wss_trusting_a_ca_file_and_refuse_an_unknown_certificate() {
    let (cert, key) = certificate_files("ca");
    let server = start_server(|config| {
        config.tls.cert = Some(cert.clone());
        config.tls.key = Some(key.clone());
    })
    .await;
    assert!(server.ws_url().starts_with("wss://"));
    assert!(server.tls_fingerprints().unwrap().cert_sha256.contains(':'));

    let trusted = swarm(&server, TlsTrust::ca_file(&cert).unwrap()).await;
    println!("{}", trusted.table());
    trusted.verdict().expect("bots trusting the CA file play cleanly");

    let untrusted = swarm(&server, TlsTrust::WebPki).await;
    assert_eq!(
        untrusted.bots_connected, 0,
        "a certificate outside the web PKI is refused"
    );
    assert!(untrusted.verdict().is_err());

    // A plain-ws client on a TLS port gets no game, and the port goes on serving.
    let plain = tokio_tungstenite::connect_async(server.ws_url().replacen("wss://", "ws://", 1));
    assert!(
        tokio::time::timeout(WAIT, plain)
            .await
            .expect("refused in time")
            .is_err()
    );
    swarm(&server, TlsTrust::ca_file(&cert).unwrap())
        .await
        .verdict()
        .expect("still serving after the plain client");
    server.shutdown(WAIT).await;
}

#[tokio::test]
async fn a_self_signed_server_serves_wss_and_https() {
    let server = start_server(|config| config.tls.self_signed = true).await;
    let fingerprints = server.tls_fingerprints().unwrap();
    assert_eq!(
        fingerprints.spki_sha256_base64.as_ref().map(String::len),
        Some(44),
        "base64 of a SHA-256"
    );
    assert!(server.page_url().starts_with("https://"));
    let report = swarm(&server, TlsTrust::Insecure).await;
    report
        .verdict()
        .expect("insecure bots play against a self-signed server");
    server.shutdown(WAIT).await;
}

#[test]
fn a_ca_file_without_certificates_is_refused() {
    let path = std::env::temp_dir().join(format!("tickcast-empty-{}.pem", std::process::id()));
    std::fs::write(&path, "not a certificate\n").unwrap();
    assert!(TlsTrust::ca_file(&path).is_err());
    assert!(TlsTrust::ca_file(std::path::Path::new("/nonexistent/ca.pem")).is_err());
}
