//! The `/metrics` listener over a real socket: scraped with an HTTP client while clients
//! play, the body must be well-formed exposition text whose figures follow the server.

mod common;

use common::{Bystander, WAIT, start_server};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;
use tickcast_server::RunningServer;
use tokio::net::TcpStream;

/// A server with the metrics listener on an ephemeral loopback port.
async fn server_with_metrics() -> RunningServer {
    start_server(|config| {
        config.metrics.enabled = true;
        config.metrics.bind = "127.0.0.1:0".parse().unwrap();
    })
    .await
}

/// `GET path` over HTTP/1.1; returns the status, the Content-Type and the body.
async fn get(addr: SocketAddr, path: &str) -> (u16, String, String) {
    let exchange = async {
        let stream = TcpStream::connect(addr).await.expect("connect to the metrics listener");
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("http handshake");
        tokio::spawn(connection);
        let request = hyper::Request::get(path)
            .header(hyper::header::HOST, addr.to_string())
            .body(Empty::<Bytes>::new())
            .unwrap();
        let response = sender.send_request(request).await.expect("http request");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(hyper::header::CONTENT_TYPE)
            .map(|value| value.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = response.into_body().collect().await.expect("http body").to_bytes();
        (
            status,
            content_type,
            String::from_utf8(body.to_vec()).expect("utf-8 body"),
        )
    };
    tokio::time::timeout(WAIT, exchange).await.expect("scrape timed out")
}

/// Parsed exposition: each sample (`name{labels}`, as written) to its value.
struct Exposition {
    samples: BTreeMap<String, f64>,
}

impl Exposition {
    /// Parses OpenMetrics / Prometheus text strictly enough to catch a malformed body:
    /// every family has one `# HELP` and one `# TYPE` before its samples, every sample
    /// belongs to a declared family (counters as `_total`), names and labels are well
    /// formed, values are numbers, and the body ends with `# EOF`.
    fn parse(body: &str) -> Exposition {
        let mut types: BTreeMap<String, String> = BTreeMap::new();
        let mut helps: BTreeSet<String> = BTreeSet::new();
        let mut samples = BTreeMap::new();
        let mut lines: Vec<&str> = body.lines().collect();
        assert_eq!(lines.pop(), Some("# EOF"), "the body must end with # EOF");
        for line in lines {
            assert!(!line.trim().is_empty(), "blank line in the exposition");
            if let Some(rest) = line.strip_prefix("# ") {
                let mut words = rest.splitn(3, ' ');
                let (keyword, name, text) = (words.next(), words.next(), words.next());
                let name = name.unwrap_or_else(|| panic!("descriptor without a name: {line:?}"));
                let text = text.unwrap_or_else(|| panic!("descriptor without text: {line:?}"));
                assert!(valid_name(name), "bad metric name in {line:?}");
                match keyword {
                    Some("HELP") => assert!(helps.insert(name.to_string()), "second HELP for {name}"),
                    Some("TYPE") => {
                        assert!(
                            ["counter", "gauge", "histogram", "summary", "info", "unknown"].contains(&text),
                            "unknown type in {line:?}"
                        );
                        assert!(helps.contains(name), "TYPE before HELP for {name}");
                        assert!(
                            types.insert(name.to_string(), text.to_string()).is_none(),
                            "second TYPE for {name}"
                        );
                    }
                    Some("UNIT") => assert!(name.ends_with(&format!("_{text}")), "unit not in the name: {line:?}"),
                    _ => panic!("unexpected comment {line:?}"),
                }
                continue;
            }
            let (series, value) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("sample without value: {line:?}"));
            let value: f64 = value
                .parse()
                .unwrap_or_else(|_| panic!("value is not a number: {line:?}"));
            let name = match series.split_once('{') {
                Some((name, labels)) => {
                    let labels = labels
                        .strip_suffix('}')
                        .unwrap_or_else(|| panic!("unclosed labels: {line:?}"));
                    for label in labels.split(',') {
                        let (key, quoted) = label.split_once('=').unwrap_or_else(|| panic!("bad label: {line:?}"));
                        assert!(valid_name(key), "bad label name in {line:?}");
                        assert!(
                            quoted.len() >= 2 && quoted.starts_with('"') && quoted.ends_with('"'),
                            "unquoted label value in {line:?}"
                        );
                    }
                    name
                }
                None => series,
            };
            assert!(valid_name(name), "bad metric name in {line:?}");
            let family = match types.get(name) {
                Some(_) => name,
                None => name
                    .strip_suffix("_total")
                    .filter(|family| types.get(*family).is_some_and(|t| t == "counter"))
                    .unwrap_or_else(|| panic!("sample of an undeclared family: {line:?}")),
            };
            assert!(types.contains_key(family));
            assert!(
                samples.insert(series.to_string(), value).is_none(),
                "duplicate series {series}"
            );
        }
        Exposition { samples }
    }

    fn value(&self, series: &str) -> f64 {
        *self
            .samples
            .get(series)
            .unwrap_or_else(|| panic!("no series {series}; have {:?}", self.samples.keys()))
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

async fn scrape(server: &RunningServer) -> Exposition {
    let addr = server.metrics_addr().expect("metrics are enabled");
    let (status, content_type, body) = get(addr, "/metrics").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    Exposition::parse(&body)
}

/// Scrapes until `done` holds (the figures refresh once a second); panics after the wait.
async fn scrape_until(server: &RunningServer, what: &str, done: impl Fn(&Exposition) -> bool) -> Exposition {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let exposition = scrape(server).await;
        if done(&exposition) {
            return exposition;
        }
        assert!(tokio::time::Instant::now() < deadline, "metrics never showed {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_follow_the_server_while_clients_play() {
    let server = server_with_metrics().await;
    let mut clients = vec![Bystander::join(&server).await, Bystander::join(&server).await];

    // The sampler publishes once a second; wait for a sample taken after both joined.
    let first = scrape_until(&server, "two clients and a second of tick times", |e| {
        e.value("tickcast_clients") == 2.0 && e.value("tickcast_tick_seconds{quantile=\"0.5\"}") > 0.0
    })
    .await;
    for series in [
        "tickcast_tick_seconds{quantile=\"0.5\"}",
        "tickcast_tick_seconds{quantile=\"0.99\"}",
        "tickcast_tick_seconds{quantile=\"1\"}",
        "tickcast_tick_overruns_total",
        "tickcast_ticks_skipped_total",
        "tickcast_connections_total",
        "tickcast_connections_open",
        "tickcast_received_bytes_total",
        "tickcast_sent_bytes_per_second",
        "tickcast_received_bytes_per_second",
        "tickcast_entities_sent_total",
        "tickcast_entities_deferred_total",
        "tickcast_staleness_max_ticks",
        "tickcast_slow_readers_total",
        "tickcast_inputs_dropped_total{reason=\"rate\"}",
        "tickcast_inputs_dropped_total{reason=\"inbox\"}",
    ] {
        let value = first.value(series);
        assert!(value.is_finite() && value >= 0.0, "{series} = {value}");
    }
    let (p50, max) = (
        first.value("tickcast_tick_seconds{quantile=\"0.5\"}"),
        first.value("tickcast_tick_seconds{quantile=\"1\"}"),
    );
    assert!(p50 <= max, "tick quantiles out of order: p50 {p50}, max {max}");
    assert!(
        first.value("tickcast_entities") >= 10.0,
        "8 drones and 2 players are replicated"
    );
    assert!(first.value("tickcast_ticks_total") > 0.0);
    assert!(first.value("tickcast_frames_sent_total") > 0.0);
    assert!(first.value("tickcast_sent_bytes_total") > 0.0);

    // The clients keep playing; counters must move on between two scrapes.
    let ticks = first.value("tickcast_ticks_total");
    let (sent, frames) = (
        first.value("tickcast_sent_bytes_total"),
        first.value("tickcast_frames_sent_total"),
    );
    let receiving = tokio::spawn(async move {
        loop {
            for client in &mut clients {
                client.receive(1).await;
            }
        }
    });
    let second = scrape_until(&server, "ticks going on", |e| e.value("tickcast_ticks_total") > ticks).await;
    assert!(second.value("tickcast_sent_bytes_total") > sent);
    assert!(second.value("tickcast_frames_sent_total") > frames);
    assert_eq!(second.value("tickcast_clients"), 2.0);
    assert_eq!(second.value("tickcast_rooms"), 1.0, "the default room alone");
    assert_eq!(second.value("tickcast_room_connections"), 2.0);
    receiving.abort();

    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn unknown_paths_are_404_and_the_listener_stops_with_the_server() {
    let server = server_with_metrics().await;
    let addr = server.metrics_addr().unwrap();
    assert_eq!(server.metrics_url().unwrap(), format!("http://{addr}/metrics"));
    for path in ["/", "/ws", "/metrics/extra", "/favicon.ico"] {
        let (status, _, _) = get(addr, path).await;
        assert_eq!(status, 404, "GET {path}");
    }
    server.shutdown(Duration::from_secs(2)).await;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the metrics listener still accepts after shutdown"
    );
}

#[tokio::test]
async fn metrics_are_off_unless_enabled() {
    let server = start_server(|_| {}).await;
    assert_eq!(server.metrics_addr(), None);
    assert_eq!(server.metrics_url(), None);
    server.shutdown(Duration::from_secs(2)).await;
}
