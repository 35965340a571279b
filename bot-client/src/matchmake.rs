//! Where a bot plays: straight at a WebSocket URL (a node's default room, as before rooms
//! existed), or wherever the server's `POST /matchmake` seats it.
//!
//! A matchmaking bot asks for a seat itself (so a swarm spreads over rooms and nodes as
//! real players would), then opens the answer's `ws_url?seat=TOKEN`. Seats are
//! single-use: after a drop the bot comes back through `ws_url?room=ROOM_ID` with its
//! resume token, and if that is refused it asks for a new seat.
//!
//! The HTTP is reqwest's (HTTP/1, no proxy), trusting `https://` servers as the bots'
//! `wss://` connections do ([`crate::TlsTrust`]). A refusal (any status but 2xx) keeps its
//! status and the server's reason, for the report; a 503 (a draining node, an unreachable
//! directory) is retried a few times with backoff, as its `Retry-After` asks, never past
//! the end of the run.

use reqwest::header::RETRY_AFTER;
use reqwest::{Client, StatusCode, Url};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use thiserror::Error;
use tokio::time::Instant;

/// Where the bots matchmake unless told otherwise: a local server's game port.
pub const DEFAULT_MATCHMAKER: &str = "http://127.0.0.1:7777";
/// Longest wait for one matchmaking request, connecting included.
pub const MATCHMAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Requests one matchmaking may make: the first, and retries after 503s.
pub const MATCHMAKE_ATTEMPTS: u32 = 4;
/// The wait before the first retry when the 503 names none; it doubles for each further
/// retry, and each wait gets up to half again at random so a swarm does not come back as
/// one.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// A 503 that asks for a longer wait than this ends the matchmaking: a load run that
/// waited that long would measure nothing.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(5);
/// Most characters of a refusal's body kept as its reason.
const MAX_REASON_CHARS: usize = 200;
/// The room a bot joins when it connects straight to a node's `/ws`.
pub const DEFAULT_ROOM: &str = "default";

/// A URL the bots cannot use.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum TargetError {
    /// Not a URL at all.
    #[error("{url:?} is not a url: {reason}")]
    NotAUrl {
        /// What was given.
        url: String,
        /// Why it does not parse.
        reason: String,
    },
    /// A game endpoint URL that is not `ws://` or `wss://`.
    #[error("{0} is not a ws:// or wss:// url (to matchmake at an http(s) server, use --matchmake)")]
    NotWebSocket(String),
    /// A matchmaking URL that is not `http://` or `https://`.
    #[error("{0} is not an http:// or https:// url (to connect to a ws(s) endpoint, use --url)")]
    NotHttp(String),
}

/// Checks that `url` is a `ws://` or `wss://` URL, for bots that connect straight to it.
pub fn check_ws_url(url: &str) -> Result<Url, TargetError> {
    let parsed = parse(url)?;
    match parsed.scheme() {
        "ws" | "wss" => Ok(parsed),
        _ => Err(TargetError::NotWebSocket(url.to_owned())),
    }
}

fn parse(url: &str) -> Result<Url, TargetError> {
    Url::parse(url).map_err(|error| TargetError::NotAUrl {
        url: url.to_owned(),
        reason: error.to_string(),
    })
}

/// What each bot asks `POST /matchmake` for, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matchmaking {
    /// The server's `/matchmake` URL.
    endpoint: Url,
    /// The room kind (the game, e.g. `arena`); `None`: the server's default game.
    pub kind: Option<String>,
    /// A room by id; `None`: any room of the kind with a free seat.
    pub room_id: Option<String>,
}

impl Matchmaking {
    /// Matchmaking at `server`, an `http://` or `https://` URL: the server's base (as
    /// `http://127.0.0.1:7777`, or a path under which it is served) or its `/matchmake`
    /// URL itself. A query is kept, so `?token=JWT` carries a token to a server that asks
    /// for one. Any room kind and room: see the public fields.
    pub fn new(server: &str) -> Result<Matchmaking, TargetError> {
        let mut endpoint = parse(server)?;
        if !matches!(endpoint.scheme(), "http" | "https") {
            return Err(TargetError::NotHttp(server.to_owned()));
        }
        endpoint.set_fragment(None);
        if !endpoint.path().trim_end_matches('/').ends_with("/matchmake") {
            let path = format!("{}/matchmake", endpoint.path().trim_end_matches('/'));
            endpoint.set_path(&path);
        }
        Ok(Matchmaking {
            endpoint,
            kind: None,
            room_id: None,
        })
    }

    /// The URL each bot posts to.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// The request body: only the fields asked for.
    fn request(&self) -> MatchRequest<'_> {
        MatchRequest {
            kind: self.kind.as_deref(),
            room_id: self.room_id.as_deref(),
        }
    }
}

impl Default for Matchmaking {
    fn default() -> Matchmaking {
        Matchmaking::new(DEFAULT_MATCHMAKER).expect("the default matchmaker is an http url")
    }
}

/// The body of `POST /matchmake`.
#[derive(Debug, Serialize)]
struct MatchRequest<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    room_id: Option<&'a str>,
}

/// A 200 answer of `POST /matchmake`.
#[derive(Debug, Deserialize)]
struct SeatAnswer {
    room_id: String,
    ws_url: String,
    seat_token: String,
}

/// A refusal's body: `{"error": "reason"}`.
#[derive(Debug, Deserialize)]
struct RefusalAnswer {
    error: String,
}

/// The room a bot plays in, and the node's game endpoint that hosts it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// The room's id (`default` for a node's default room).
    pub room_id: String,
    /// The node's WebSocket URL, as matchmaking answered or `--url` gave it.
    pub ws_url: String,
}

impl Placement {
    /// The default room of the node at `ws_url`: where a bot that connects straight to a
    /// URL plays.
    pub fn default_room(ws_url: &str) -> Placement {
        Placement {
            room_id: DEFAULT_ROOM.to_owned(),
            ws_url: ws_url.to_owned(),
        }
    }

    /// Where to take a seat: `ws_url?seat=TOKEN`.
    pub fn seat_url(&self, seat_token: &str) -> Result<Url, TargetError> {
        self.with_query("seat", seat_token)
    }

    /// Where to come back to the room after a drop, with a resume token:
    /// `ws_url?room=ROOM_ID`.
    pub fn room_url(&self) -> Result<Url, TargetError> {
        self.with_query("room", &self.room_id)
    }

    fn with_query(&self, key: &str, value: &str) -> Result<Url, TargetError> {
        let mut url = check_ws_url(&self.ws_url)?;
        url.query_pairs_mut().append_pair(key, value);
        Ok(url)
    }

    /// The node, as `host:port` of its WebSocket URL (the whole URL if it has no host).
    pub fn node(&self) -> String {
        node_of(&self.ws_url)
    }
}

/// `host:port` of a WebSocket URL, the port filled in from the scheme if the URL leaves it
/// out; the URL as given if it has no host.
pub fn node_of(ws_url: &str) -> String {
    let Ok(url) = Url::parse(ws_url) else {
        return ws_url.to_owned();
    };
    let port = url.port().or(match url.scheme() {
        "ws" => Some(80),
        "wss" => Some(443),
        _ => url.port_or_known_default(),
    });
    match (url.host_str(), port) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => ws_url.to_owned(),
    }
}

/// A seat matchmaking gave.
#[derive(Debug)]
pub struct Seat {
    /// Where it is.
    pub placement: Placement,
    /// The single-use token that takes it.
    pub token: String,
    /// How long the request that got it took.
    pub latency: Duration,
    /// Requests refused with 503 and retried before it.
    pub retries: u32,
}

/// Why a bot got no seat.
#[derive(Debug, Error)]
pub enum MatchmakeError {
    /// The request failed before any answer: connecting, TLS, a timeout.
    #[error("matchmaking at {url}: {message}")]
    Request {
        /// The endpoint.
        url: String,
        /// The error and its causes.
        message: String,
    },
    /// The server answered with a status other than 2xx.
    #[error("matchmaking refused: {status}{}{}", parenthesized(.reason), after_attempts(*.attempts))]
    Refused {
        /// The status of the last answer.
        status: StatusCode,
        /// The server's reason: its JSON `error`, or its text; empty when it gave none.
        reason: String,
        /// Requests made (more than one after 503s).
        attempts: u32,
    },
    /// A 2xx answer that is not a seat.
    #[error("matchmaking answered {0}")]
    BadAnswer(String),
}

fn parenthesized(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(" ({reason})")
    }
}

fn after_attempts(attempts: u32) -> String {
    if attempts > 1 {
        format!(" after {attempts} attempts")
    } else {
        String::new()
    }
}

/// The HTTP client every bot of a run shares for matchmaking: [`client_builder`] with
/// [`MATCHMAKE_TIMEOUT`] for the connect and for the whole request.
pub fn http_client(tls: &crate::TlsTrust) -> Result<Client, reqwest::Error> {
    client_builder(tls, MATCHMAKE_TIMEOUT)
        .timeout(MATCHMAKE_TIMEOUT)
        .build()
}

/// How the bots' HTTP clients are made: HTTP/1 (the game port's), no proxy (the bots'
/// WebSockets use none), `tls` for `https://`, `connect_timeout` to connect.
pub fn client_builder(tls: &crate::TlsTrust, connect_timeout: std::time::Duration) -> reqwest::ClientBuilder {
    let mut config = tls.client_config();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Client::builder()
        .use_preconfigured_tls(config)
        .no_proxy()
        .http1_only()
        .tcp_nodelay(true)
        .connect_timeout(connect_timeout)
        .user_agent(concat!("tickcast-bots/", env!("CARGO_PKG_VERSION")))
}

/// Asks for a seat, retrying 503s (up to [`MATCHMAKE_ATTEMPTS`] requests) while the wait
/// they ask for is at most [`MAX_RETRY_WAIT`] and ends before `deadline`.
pub async fn matchmake(client: &Client, matchmaking: &Matchmaking, deadline: Instant) -> Result<Seat, MatchmakeError> {
    let endpoint = matchmaking.endpoint();
    let request_error = |error: reqwest::Error| MatchmakeError::Request {
        url: endpoint.to_string(),
        message: error_chain(&error.without_url()),
    };
    let mut attempts = 0;
    loop {
        attempts += 1;
        let sent_at = Instant::now();
        let response = client
            .post(endpoint.clone())
            .json(&matchmaking.request())
            .send()
            .await
            .map_err(request_error)?;
        let status = response.status();
        let retry_after = retry_after(response.headers().get(RETRY_AFTER));
        let body = response.bytes().await.map_err(request_error)?;
        let latency = sent_at.elapsed();
        if status.is_success() {
            let (placement, token) = seat_from(&body)?;
            return Ok(Seat {
                placement,
                token,
                latency,
                retries: attempts - 1,
            });
        }
        let refused = MatchmakeError::Refused {
            status,
            reason: refusal_reason(&body),
            attempts,
        };
        if status != StatusCode::SERVICE_UNAVAILABLE || attempts >= MATCHMAKE_ATTEMPTS {
            return Err(refused);
        }
        let wait = retry_after.unwrap_or_else(|| backoff(attempts));
        if wait > MAX_RETRY_WAIT {
            return Err(refused);
        }
        let wait = wait + jitter(wait.max(FIRST_BACKOFF) / 2);
        if Instant::now() + wait >= deadline {
            return Err(refused);
        }
        tracing::debug!(%status, ?wait, "matchmaking unavailable, retrying");
        tokio::time::sleep(wait).await;
    }
}

/// The placement and seat token of a 200 answer, checked.
fn seat_from(body: &[u8]) -> Result<(Placement, String), MatchmakeError> {
    let answer: SeatAnswer = serde_json::from_slice(body)
        .map_err(|error| MatchmakeError::BadAnswer(format!("a body that is not a seat: {error}")))?;
    if answer.seat_token.is_empty() {
        return Err(MatchmakeError::BadAnswer("an empty seat token".to_owned()));
    }
    check_ws_url(&answer.ws_url)
        .map_err(|_| MatchmakeError::BadAnswer(format!("a ws_url that is not ws:// or wss://: {}", answer.ws_url)))?;
    let placement = Placement {
        room_id: answer.room_id,
        ws_url: answer.ws_url,
    };
    Ok((placement, answer.seat_token))
}

/// A refusal's reason: the JSON body's `error`, else its text (shortened), else nothing.
pub(crate) fn refusal_reason(body: &[u8]) -> String {
    if let Ok(refusal) = serde_json::from_slice::<RefusalAnswer>(body) {
        return refusal.error;
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(MAX_REASON_CHARS) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}

/// A `Retry-After` in seconds (its HTTP-date form is not used by the server, and is
/// ignored: the backoff applies).
fn retry_after(value: Option<&reqwest::header::HeaderValue>) -> Option<Duration> {
    let seconds: u64 = value?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

/// The wait before retry `attempt` (1 after the first request) when the server names none.
fn backoff(attempt: u32) -> Duration {
    FIRST_BACKOFF.saturating_mul(1 << attempt.saturating_sub(1).min(8))
}

/// A random wait from zero to `most`.
fn jitter(most: Duration) -> Duration {
    most.mul_f64(fastrand::f64())
}

/// An error with its causes: `error sending request: tcp connect error: connection refused`.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matchmaking_endpoint_is_the_servers_matchmake_url() {
        let endpoint = |server: &str| Matchmaking::new(server).map(|m| m.endpoint().to_string());
        assert_eq!(
            endpoint("http://127.0.0.1:7777"),
            Ok("http://127.0.0.1:7777/matchmake".to_owned())
        );
        assert_eq!(
            endpoint("http://127.0.0.1:7777/"),
            Ok("http://127.0.0.1:7777/matchmake".to_owned())
        );
        assert_eq!(
            endpoint("https://game.example/eu/"),
            Ok("https://game.example/eu/matchmake".to_owned())
        );
        assert_eq!(
            endpoint("https://game.example/eu"),
            Ok("https://game.example/eu/matchmake".to_owned())
        );
        assert_eq!(endpoint("http://h:1/matchmake"), Ok("http://h:1/matchmake".to_owned()));
        assert_eq!(
            endpoint("http://h:1/matchmake/"),
            Ok("http://h:1/matchmake/".to_owned())
        );
        // A token in the query goes along; a fragment does not.
        assert_eq!(
            endpoint("http://h:1/?token=abc#x"),
            Ok("http://h:1/matchmake?token=abc".to_owned())
        );
        assert_eq!(
            Matchmaking::default().endpoint().as_str(),
            "http://127.0.0.1:7777/matchmake"
        );
    }

    #[test]
    fn matchmaking_takes_only_http_urls_and_direct_connections_only_ws_urls() {
        assert_eq!(
            Matchmaking::new("ws://127.0.0.1:7777/ws"),
            Err(TargetError::NotHttp("ws://127.0.0.1:7777/ws".to_owned()))
        );
        assert!(matches!(
            Matchmaking::new("127.0.0.1:7777"),
            Err(TargetError::NotAUrl { .. })
        ));
        assert!(matches!(
            Matchmaking::new("localhost:7777"),
            Err(TargetError::NotHttp(_))
        ));
        assert!(matches!(Matchmaking::new("no url"), Err(TargetError::NotAUrl { .. })));
        assert!(check_ws_url("ws://127.0.0.1:7777/ws").is_ok());
        assert!(check_ws_url("wss://game.example/ws").is_ok());
        let error = check_ws_url("http://127.0.0.1:7777").unwrap_err();
        assert_eq!(
            error.to_string(),
            "http://127.0.0.1:7777 is not a ws:// or wss:// url (to matchmake at an http(s) server, use --matchmake)"
        );
        assert!(matches!(check_ws_url(""), Err(TargetError::NotAUrl { .. })));
    }

    #[test]
    fn the_request_body_names_only_what_was_asked_for() {
        let mut matchmaking = Matchmaking::default();
        assert_eq!(serde_json::to_string(&matchmaking.request()).unwrap(), "{}");
        matchmaking.kind = Some("arena".to_owned());
        assert_eq!(
            serde_json::to_string(&matchmaking.request()).unwrap(),
            r#"{"kind":"arena"}"#
        );
        matchmaking.room_id = Some("arena-3".to_owned());
        assert_eq!(
            serde_json::to_string(&matchmaking.request()).unwrap(),
            r#"{"kind":"arena","room_id":"arena-3"}"#
        );
    }

    #[test]
    fn seats_and_rooms_are_query_parameters_of_the_answered_ws_url() {
        let placement = Placement {
            room_id: "arena 3&x".to_owned(),
            ws_url: "wss://node-2.example:8443/ws".to_owned(),
        };
        assert_eq!(
            placement.seat_url("AbC-_9").unwrap().as_str(),
            "wss://node-2.example:8443/ws?seat=AbC-_9"
        );
        assert_eq!(
            placement.room_url().unwrap().as_str(),
            "wss://node-2.example:8443/ws?room=arena+3%26x"
        );
        assert_eq!(placement.node(), "node-2.example:8443");
        let with_query = Placement {
            room_id: "r".to_owned(),
            ws_url: "ws://127.0.0.1:7777/ws?v=1".to_owned(),
        };
        assert_eq!(
            with_query.seat_url("t").unwrap().as_str(),
            "ws://127.0.0.1:7777/ws?v=1&seat=t"
        );
        assert_eq!(node_of("ws://127.0.0.1/ws"), "127.0.0.1:80");
        assert_eq!(node_of("wss://[::1]/ws"), "[::1]:443");
        assert_eq!(node_of("not a url"), "not a url");
        let direct = Placement::default_room("ws://127.0.0.1:7790/ws");
        assert_eq!(
            (direct.room_id.as_str(), direct.node()),
            ("default", "127.0.0.1:7790".to_owned())
        );
    }

    #[test]
    fn a_seat_answer_is_checked() {
        let (placement, token) = seat_from(
            br#"{"room_id": "arena-3", "kind": "arena", "ws_url": "ws://127.0.0.1:7777/ws",
                 "seat_token": "c2VhdA", "expires_in_ms": 15000, "later": true}"#,
        )
        .unwrap();
        assert_eq!(placement.room_id, "arena-3");
        assert_eq!(placement.ws_url, "ws://127.0.0.1:7777/ws");
        assert_eq!(token, "c2VhdA");
        let bad = |body: &[u8]| seat_from(body).unwrap_err().to_string();
        assert!(bad(b"not json").starts_with("matchmaking answered a body that is not a seat: "));
        assert!(bad(br#"{"room_id": "r", "ws_url": "ws://h/ws"}"#).contains("seat_token"));
        assert_eq!(
            bad(br#"{"room_id": "r", "ws_url": "http://h/ws", "seat_token": "t"}"#),
            "matchmaking answered a ws_url that is not ws:// or wss://: http://h/ws"
        );
        assert_eq!(
            bad(br#"{"room_id": "r", "ws_url": "ws://h/ws", "seat_token": ""}"#),
            "matchmaking answered an empty seat token"
        );
    }

    #[test]
    fn refusals_keep_their_status_and_reason() {
        let refused = |status: u16, body: &[u8], attempts| MatchmakeError::Refused {
            status: StatusCode::from_u16(status).unwrap(),
            reason: refusal_reason(body),
            attempts,
        };
        assert_eq!(
            refused(404, br#"{"error": "unknown room kind"}"#, 1).to_string(),
            "matchmaking refused: 404 Not Found (unknown room kind)"
        );
        assert_eq!(
            refused(503, br#"{"error": "node is draining"}"#, 4).to_string(),
            "matchmaking refused: 503 Service Unavailable (node is draining) after 4 attempts"
        );
        assert_eq!(
            refused(409, b"  room is full\n", 1).to_string(),
            "matchmaking refused: 409 Conflict (room is full)"
        );
        assert_eq!(
            refused(500, b"", 1).to_string(),
            "matchmaking refused: 500 Internal Server Error"
        );
        let long = refusal_reason("é".repeat(500).as_bytes());
        assert_eq!(long.chars().count(), MAX_REASON_CHARS + 3);
    }

    #[test]
    fn retries_wait_as_asked_or_back_off() {
        let header = |value: &'static str| reqwest::header::HeaderValue::from_static(value);
        assert_eq!(retry_after(Some(&header("2"))), Some(Duration::from_secs(2)));
        assert_eq!(retry_after(Some(&header(" 0 "))), Some(Duration::ZERO));
        assert_eq!(retry_after(Some(&header("Wed, 21 Oct 2015 07:28:00 GMT"))), None);
        assert_eq!(retry_after(None), None);
        let waits: Vec<u128> = (1..=4).map(|attempt| backoff(attempt).as_millis()).collect();
        assert_eq!(waits, [250, 500, 1000, 2000]);
        assert!(backoff(u32::MAX) <= Duration::from_secs(64));
        for _ in 0..100 {
            assert!(jitter(Duration::from_millis(10)) <= Duration::from_millis(10));
        }
    }

    #[test]
    fn the_client_takes_the_bots_tls_configuration() {
        // reqwest takes a rustls ClientConfig of its own rustls version only; another would
        // fail here as an unknown TLS backend.
        for trust in [crate::TlsTrust::WebPki, crate::TlsTrust::Insecure] {
            http_client(&trust).expect("the client builds");
        }
    }

    #[test]
    fn error_chains_name_each_cause_once() {
        #[derive(Debug, Error)]
        #[error("outer")]
        struct Outer(#[source] Inner);
        #[derive(Debug, Error)]
        #[error("inner: {0}")]
        struct Inner(#[source] std::io::Error);
        let error = Outer(Inner(std::io::Error::other("refused")));
        assert_eq!(error_chain(&error), "outer: inner: refused");
    }
}
