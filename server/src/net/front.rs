//! The game port's HTTP front: one listener for the page, health, the game's static
//! data and the WebSocket upgrade, over plain TCP or TLS.
//!
//! Each accepted socket gets a task: the TLS handshake if configured (bounded by the
//! handshake timeout), then hyper's HTTP/1.1 connection serving the axum [`Router`]:
//! - `GET /`, `/style.css`, `/dist/*`: the demo page and the SDK, embedded ([`web`]);
//! - `GET /game.json`: the game's static data (the arena's map and tuning);
//! - `GET /healthz`: JSON for load balancers;
//! - `POST /matchmake`, `GET /rooms`: seats and the room list ([`matchmake`]);
//! - `/ws`: the game WebSocket ([`upgrade`]): the default room, or with `?seat=` the
//!   room a seat is in, or with `?room=` a room to resume a player in;
//! - `POST /http/connect`, `GET /http/stream`, `POST /http/send`: the same game
//!   connection over plain HTTP, for networks that block WebSockets ([`fallback`]).
//!
//! The upgrade is checked here, against RFC 6455 §4.2.1, so that a request that is not a
//! valid upgrade gets the HTTP answer the RFC asks for (400, or 426 naming the version
//! we speak) rather than a dropped socket. A valid one is answered 101 and the upgraded
//! stream goes to [`connection::run`] on the server's task tracker. Who may connect, and
//! to which room, is decided once ([`arrive`]) for both transports.

use super::admission::{AddressSlot, Admission, Admitted, Refusal, SUBPROTOCOL};
use super::connection::Arrival;
use super::game_io::GameIo;
use super::{NetContext, connection, fallback, matchmake, web};
use crate::room::ClientId;
use crate::rooms::{Occupancy, SeatError};
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Version, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tower::ServiceExt;

/// What the routes share.
pub(crate) struct Front {
    /// The connection tasks' context.
    pub context: Arc<NetContext>,
    /// Who may upgrade.
    pub admission: Admission,
    /// The HTTP fallback's sessions.
    pub fallback: fallback::Sessions,
}

/// The game port's routes.
pub(crate) fn router(front: Arc<Front>) -> Router {
    Router::new()
        .route("/", get(web::index))
        .route("/style.css", get(web::style))
        .route("/dist/{file}", get(web::dist))
        .route("/game.json", get(game_json))
        .route("/healthz", get(healthz))
        .route("/matchmake", post(matchmake::matchmake))
        .route("/rooms", get(matchmake::rooms))
        .route(connection::WS_PATH, any(upgrade))
        .route(
            fallback::CONNECT_PATH,
            post(fallback::connect).options(fallback::preflight),
        )
        .route(
            fallback::STREAM_PATH,
            get(fallback::stream).options(fallback::preflight),
        )
        .route(fallback::SEND_PATH, post(fallback::send).options(fallback::preflight))
        .with_state(front)
}

/// Serves one accepted socket: TLS first if configured, then HTTP/1.1 until the client
/// closes, the socket upgrades to a WebSocket, or the server shuts down.
pub(crate) async fn serve_socket(
    socket: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    app: Router,
    context: Arc<NetContext>,
) {
    let _ = socket.set_nodelay(true);
    // Bounds what a client that stops reading can leave queued in our kernel.
    let _ = socket2::SockRef::from(&socket).set_send_buffer_size(context.limits.socket_send_buffer_bytes);
    match tls {
        None => serve_http(socket, peer, app, context).await,
        Some(acceptor) => {
            let handshake = tokio::time::timeout(context.limits.handshake_timeout, acceptor.accept(socket));
            match handshake.await {
                Ok(Ok(stream)) => serve_http(stream, peer, app, context).await,
                Ok(Err(error)) => tracing::debug!(%peer, %error, "tls handshake failed"),
                Err(_) => tracing::debug!(%peer, "tls handshake timed out"),
            }
        }
    }
}

async fn serve_http<S>(io: S, peer: SocketAddr, app: Router, context: Arc<NetContext>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let closer = ConnectionCloser::default();
    let handed = closer.clone();
    let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request.extensions_mut().insert(handed.clone());
        app.clone().oneshot(request.map(Body::new))
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    // A client that opens a socket and sends nothing (or a header a byte a second) is
    // cut off after the handshake timeout, as a stalled WebSocket handshake is.
    http.timer(TokioTimer::new())
        .header_read_timeout(context.limits.handshake_timeout);
    let connection = http.serve_connection(TokioIo::new(io), service).with_upgrades();
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%peer, %error, "http connection ended with an error");
            }
        }
        _ = context.shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), connection).await;
        }
        // Dropping the connection closes the socket, whatever response it is stuck on.
        _ = closer.0.cancelled() => tracing::debug!(%peer, "closed an http connection whose fallback stream stalled"),
    }
}

/// Lets a handler close the HTTP connection its request came on, response and all: the
/// fallback's stream closes a client that stopped reading, as a stalled WebSocket's
/// socket is dropped (hyper itself has no write timeout).
#[derive(Clone, Debug, Default)]
pub(crate) struct ConnectionCloser(tokio_util::sync::CancellationToken);

impl ConnectionCloser {
    /// Closes the connection.
    pub(crate) fn close(&self) {
        self.0.cancel();
    }
}

/// `GET /game.json`: the default room's game data; `?kind=K`: kind K's.
async fn game_json(State(front): State<Arc<Front>>, request: Request) -> Response {
    let rooms = &front.context.rooms;
    let kind = query_value(request.uri().query(), "kind").unwrap_or(rooms.default_room().kind);
    match rooms.kind(kind) {
        Some(kind) => ([(header::CONTENT_TYPE, "application/json")], kind.game_json.clone()).into_response(),
        None => (StatusCode::NOT_FOUND, format!("unknown room kind {kind:?}\n")).into_response(),
    }
}

/// The value of `name` in a query string (`a=1&b=2`), undecoded: tokens and ids are
/// URL-safe.
pub(crate) fn query_value<'q>(query: Option<&'q str>, name: &str) -> Option<&'q str> {
    query?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then_some(value)
    })
}

/// `GET /healthz`: 200 with the default room's figures and the node's room count while
/// the node takes players; 503 once it drains or shuts down, so a load balancer stops
/// sending players here.
async fn healthz(State(front): State<Arc<Front>>) -> Response {
    let context = &front.context;
    let default = context.rooms.default_room();
    let room = &default.handle.stats;
    let shutting_down = context.shutdown.is_cancelled() || context.rooms.draining();
    let body = serde_json::json!({
        "status": if shutting_down { "draining" } else { "ok" },
        "node": context.rooms.settings().node,
        "rooms": context.rooms.count(),
        "game": default.handle.schema.game,
        "clients": room.clients.load(Ordering::Relaxed),
        "spectators": room.spectators.load(Ordering::Relaxed),
        "entities": room.entities.load(Ordering::Relaxed),
        "ticks": room.ticks.load(Ordering::Relaxed),
        "tick_p99_ms": room.recent_tick_ms().p99,
        "connections_open": context.stats.connections_open.load(Ordering::Relaxed),
    });
    let status = if shutting_down {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (status, axum::Json(body)).into_response()
}

/// Why an upgrade request was refused before the upgrade.
#[derive(Debug, PartialEq, Eq)]
enum BadUpgrade {
    /// Not a GET over HTTP/1.1.
    Method,
    /// No `Upgrade: websocket` with `Connection: upgrade`: not a WebSocket request.
    NotWebSocket,
    /// A `Sec-WebSocket-Version` other than 13.
    Version,
    /// No valid `Sec-WebSocket-Key`.
    Key,
}

impl BadUpgrade {
    /// A short name for the log summary.
    fn label(&self) -> &'static str {
        match self {
            BadUpgrade::Method => "upgrade not a get over http/1.1",
            BadUpgrade::NotWebSocket => "not a websocket upgrade",
            BadUpgrade::Version => "unsupported websocket version",
            BadUpgrade::Key => "bad sec-websocket-key",
        }
    }

    /// The HTTP answer RFC 6455 §4.2.2 asks for, with a reason in the body.
    fn response(&self) -> Response {
        let (status, reason) = match self {
            BadUpgrade::Method => (StatusCode::BAD_REQUEST, "a websocket upgrade is a GET over HTTP/1.1"),
            BadUpgrade::NotWebSocket => (
                StatusCode::UPGRADE_REQUIRED,
                "this endpoint speaks websocket: send Connection: Upgrade and Upgrade: websocket",
            ),
            BadUpgrade::Version => (
                StatusCode::UPGRADE_REQUIRED,
                "unsupported websocket version; this server speaks 13",
            ),
            BadUpgrade::Key => (StatusCode::BAD_REQUEST, "missing or malformed Sec-WebSocket-Key"),
        };
        let mut response = (status, format!("{reason}\n")).into_response();
        if status == StatusCode::UPGRADE_REQUIRED {
            let headers = response.headers_mut();
            headers.insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
            headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
            headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        }
        response
    }
}

/// Whether a comma-separated header holds `token` (case-insensitively).
fn header_has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| item.trim().eq_ignore_ascii_case(token))
}

/// Checks an upgrade request (RFC 6455 §4.2.1) and returns its `Sec-WebSocket-Accept`.
fn check_upgrade(method: &Method, version: Version, headers: &HeaderMap) -> Result<String, BadUpgrade> {
    if method != Method::GET || version < Version::HTTP_11 {
        return Err(BadUpgrade::Method);
    }
    if !header_has_token(headers, header::CONNECTION, "upgrade")
        || !header_has_token(headers, header::UPGRADE, "websocket")
    {
        return Err(BadUpgrade::NotWebSocket);
    }
    if headers.get(header::SEC_WEBSOCKET_VERSION).map(HeaderValue::as_bytes) != Some(b"13") {
        return Err(BadUpgrade::Version);
    }
    let key = headers.get(header::SEC_WEBSOCKET_KEY).ok_or(BadUpgrade::Key)?;
    // A base64 nonce of 16 bytes: 24 characters ending in "==".
    let key_bytes = key.as_bytes();
    let well_formed = key_bytes.len() == 24
        && key_bytes.ends_with(b"==")
        && key_bytes[..22]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/');
    if !well_formed {
        return Err(BadUpgrade::Key);
    }
    Ok(derive_accept_key(key_bytes))
}

/// [`check_upgrade`] for the `upgrade_request` fuzz target (`shared/fuzz`): the accept
/// value, or the status of the answer the refusal gets. Not an API.
#[doc(hidden)]
pub fn check_upgrade_for_fuzzing(method: &Method, version: Version, headers: &HeaderMap) -> Result<String, StatusCode> {
    check_upgrade(method, version, headers).map_err(|refusal| refusal.response().status())
}

/// Where an admitted game connection goes and what it carries there, as `/ws` and
/// `POST /http/connect` both decide it ([`arrive`]).
pub(crate) struct Arriving {
    /// The admission's verdict: claims, subprotocol, the address's slot.
    pub admitted: Admitted,
    /// The room, and the connection's place in it.
    pub occupancy: Occupancy,
    /// The player a seat was reserved for (the seat stands for the token).
    pub seat_subject: Option<String>,
    /// Whether it may only resume a player (`?room=`), not join anew.
    pub resume_only: bool,
}

impl Arriving {
    /// The connection's [`Arrival`] as client `client`, and the slot in its address's
    /// count, to hold for as long as the connection (or fallback session) lives.
    pub(crate) fn into_arrival(self, client: ClientId) -> (Arrival, AddressSlot) {
        let subject = self
            .seat_subject
            .or(self.admitted.claims.map(|claims| claims.sub))
            .unwrap_or_default();
        let arrival = Arrival {
            client,
            subject,
            occupancy: self.occupancy,
            resume_only: self.resume_only,
        };
        (arrival, self.admitted.slot)
    }
}

/// Decides where a game connection from `address` goes, by the request's query
/// (`seat=`, `room=`, `token=`) and headers (`Origin`, a token): the room of its seat
/// (the seat stands for the token), a room it comes back to (`?room=`, to resume a
/// player), or the default room. A refusal is counted here, and is the same for every
/// transport.
pub(crate) fn arrive(
    front: &Front,
    headers: &HeaderMap,
    query: Option<&str>,
    address: IpAddr,
) -> Result<Arriving, Refusal> {
    let rooms = &front.context.rooms;
    let admission = &front.admission;
    let arriving = match (query_value(query, "seat"), query_value(query, "room")) {
        (Some(seat), _) => admission.admit_seated(headers, address).and_then(|admitted| {
            let (occupancy, subject) = rooms.claim(seat).map_err(|error| seat_refusal(&error))?;
            Ok(Arriving {
                admitted,
                occupancy,
                seat_subject: Some(subject),
                resume_only: false,
            })
        }),
        (None, room) => {
            let comeback = room.filter(|id| *id != crate::rooms::DEFAULT_ROOM);
            let occupancy = match comeback {
                Some(id) => rooms.rejoin(id).ok_or(Refusal {
                    status: StatusCode::NOT_FOUND,
                    reason: "no such room on this node",
                }),
                None if rooms.draining() => Err(Refusal {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    reason: "this node is draining",
                }),
                None => Ok(rooms.join_default()),
            };
            occupancy.and_then(|occupancy| {
                let entry = occupancy.room();
                let admitted = admission.admit_to(headers, query, address, &[&entry.id, entry.kind])?;
                Ok(Arriving {
                    admitted,
                    occupancy,
                    seat_subject: None,
                    resume_only: comeback.is_some(),
                })
            })
        }
    };
    arriving.inspect_err(|refusal| {
        front
            .context
            .stats
            .count_refusal(refusal.status.as_u16(), refusal.reason)
    })
}

/// `/ws`: answers 101 and hands the upgraded stream to a connection task, or refuses
/// with the status the RFC asks for.
async fn upgrade(
    State(front): State<Arc<Front>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
) -> Response {
    let context = Arc::clone(&front.context);
    let accept = match check_upgrade(request.method(), request.version(), request.headers()) {
        Ok(accept) => accept,
        Err(refusal) => {
            let response = refusal.response();
            context.stats.count_refusal(response.status().as_u16(), refusal.label());
            return response;
        }
    };
    let arriving = match arrive(&front, request.headers(), request.uri().query(), peer.ip()) {
        Ok(arriving) => arriving,
        Err(refusal) => return refused(&refusal),
    };
    let subprotocol = arriving.admitted.subprotocol;
    // The upgrade and the `Hello` share one deadline, as before the front existed.
    let deadline = Instant::now() + context.limits.handshake_timeout;
    let on_upgrade = hyper::upgrade::on(&mut request);
    let client = context.next_client.fetch_add(1, Ordering::Relaxed);
    let slot = Arc::clone(&context.slots).try_acquire_owned().ok();
    context.tracker.clone().spawn(async move {
        let upgraded = match tokio::time::timeout_at(deadline, on_upgrade).await {
            Ok(Ok(upgraded)) => upgraded,
            Ok(Err(error)) => return tracing::debug!(%peer, %error, "websocket upgrade failed"),
            Err(_) => return tracing::debug!(%peer, "websocket upgrade timed out"),
        };
        let io = GameIo::Upgraded(TokioIo::new(upgraded));
        let ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(context.ws_config)).await;
        // Held until the connection ends: its address's count goes down with it.
        let (arrival, _address_slot) = arriving.into_arrival(client);
        connection::run(ws, peer, arrival, slot, deadline, context).await;
    });
    let mut response = Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept);
    if subprotocol {
        // A browser that offered subprotocols (to carry its token) fails the connection
        // unless the answer selects one of them.
        response = response.header(header::SEC_WEBSOCKET_PROTOCOL, SUBPROTOCOL);
    }
    response
        .body(Body::empty())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// How a seat that cannot be taken is refused before the upgrade.
fn seat_refusal(error: &SeatError) -> Refusal {
    let status = match error {
        SeatError::Invalid | SeatError::Expired => StatusCode::UNAUTHORIZED,
        SeatError::AlreadyUsed => StatusCode::FORBIDDEN,
        SeatError::NoSuchRoom => StatusCode::NOT_FOUND,
    };
    let reason = match error {
        SeatError::Invalid => "seat token invalid",
        SeatError::Expired => "seat token expired",
        SeatError::AlreadyUsed => "seat already used",
        SeatError::NoSuchRoom => "the seat's room is not on this node",
    };
    Refusal { status, reason }
}

/// The HTTP answer to a refused upgrade (or fallback request): its status, the reason
/// as the body, and for 503 when to try again.
pub(crate) fn refused(refusal: &Refusal) -> Response {
    let mut response = (refusal.status, format!("{}\n", refusal.reason)).into_response();
    if refusal.status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| (header::HeaderName::from_static(name), HeaderValue::from_static(value)))
            .collect()
    }

    const GOOD: [(&str, &str); 4] = [
        ("connection", "keep-alive, Upgrade"),
        ("upgrade", "websocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    #[test]
    fn the_rfc_example_key_is_accepted() {
        let accept = check_upgrade(&Method::GET, Version::HTTP_11, &headers(&GOOD));
        // RFC 6455 §1.3.
        assert_eq!(accept.as_deref(), Ok("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    }

    #[test]
    fn malformed_upgrades_are_told_why() {
        let check = |method: Method, version: Version, pairs: &[(&'static str, &'static str)]| {
            check_upgrade(&method, version, &headers(pairs)).unwrap_err()
        };
        assert_eq!(check(Method::POST, Version::HTTP_11, &GOOD), BadUpgrade::Method);
        assert_eq!(check(Method::GET, Version::HTTP_10, &GOOD), BadUpgrade::Method);
        assert_eq!(
            check(Method::GET, Version::HTTP_11, &GOOD[2..]),
            BadUpgrade::NotWebSocket
        );
        let mut old = GOOD;
        old[2] = ("sec-websocket-version", "12");
        assert_eq!(check(Method::GET, Version::HTTP_11, &old), BadUpgrade::Version);
        assert_eq!(check(Method::GET, Version::HTTP_11, &GOOD[..3]), BadUpgrade::Key);
        let mut short = GOOD;
        short[3] = ("sec-websocket-key", "c2hvcnQ=");
        assert_eq!(check(Method::GET, Version::HTTP_11, &short), BadUpgrade::Key);
        let response = BadUpgrade::Version.response();
        assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
        assert_eq!(response.headers()[header::SEC_WEBSOCKET_VERSION], "13");
    }
}
