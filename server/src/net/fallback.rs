//! The HTTP fallback transport: a game connection over plain HTTP requests, for networks
//! whose proxies or firewalls block WebSocket upgrades. The wire format is in
//! `docs/PROTOCOL.md` ("HTTP fallback"); the framing in [`tickcast_shared::fallback`].
//!
//! - `POST /http/connect`: admitted exactly as `GET /ws` is ([`arrive`]), and answered
//!   with a session id instead of a 101.
//! - `GET /http/stream?session=ID`: the session's server messages, as a streamed body of
//!   frames, ending with the close (code and reason) the WebSocket would have sent.
//! - `POST /http/send?session=ID`: a batch of client messages.
//!
//! **One connection, whatever the transport.** A session is an in-memory pipe
//! ([`tokio::io::duplex`]). On one end runs a server-role WebSocket with the unchanged
//! [`connection::run`], so the room, the view, validation, rate limits, liveness pings
//! and every close are those of a WebSocket. On the other end a client-role WebSocket is
//! bridged to the HTTP requests: the bridge reads server messages (answering pings as it
//! reads) into a bounded queue that feeds the stream's body, and writes each batch's
//! messages as binary frames.
//!
//! **Bounded.** A client that stops reading the stream fills the body queue
//! ([`STREAM_QUEUE`] frames), then the pipe (`limits.socket_send_buffer_bytes`); the
//! connection's pings then go unanswered and its sends block, and the write timeout
//! drops it, as it drops a stalled WebSocket. Its stream's last frames then get the write
//! timeout to leave; past that, the stream's HTTP connection is closed under it (hyper
//! has no write timeout of its own). A batch is at most [`MAX_BATCH_BYTES`], at
//! most [`SEND_QUEUE`] wait for the pipe, and the table holds at most
//! `limits.max_clients` sessions, each counted against its address's limit for as long
//! as it lives.
//!
//! **Sessions are single-stream.** The stream may be attached once; when it ends (the
//! client went away, or the close was sent) the session ends, and the client comes back
//! with a new session and its resume token, as after a dropped WebSocket, so deltas are
//! always against what it provably holds. A session whose stream is not attached within
//! the handshake timeout ends. Each request after the connect must come from the
//! connect's address, and a token it presents must be the same player's.

use super::admission::{AddressSlot, Refusal};
use super::front::{ConnectionCloser, Front, arrive, query_value, refused};
use super::game_io::GameIo;
use super::{NetStats, connection};
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use bytes::{BufMut, Bytes, BytesMut};
use futures_util::{SinkExt, Stream, StreamExt};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use tickcast_shared::fallback::{self as framing, FRAME_HEADER_BYTES, KIND_CLOSE, KIND_MESSAGE};
use tokio::io::DuplexStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};

/// Opens a session.
pub(crate) const CONNECT_PATH: &str = "/http/connect";
/// A session's server messages.
pub(crate) const STREAM_PATH: &str = "/http/stream";
/// A batch of a session's client messages.
pub(crate) const SEND_PATH: &str = "/http/send";
/// Largest `POST /http/send` body: 64 KiB, far above a second of inputs.
pub const MAX_BATCH_BYTES: usize = 64 * 1024;
/// Frames the bridge may queue ahead of the stream's body: a quarter of a second of
/// snapshots at 30 Hz, for the jitter of HTTP writes; a client that reads no further
/// holds the rest back in the pipe, and its pings go unanswered.
const STREAM_QUEUE: usize = 8;
/// Batches waiting for the pipe: a client posting faster than the connection reads
/// waits, then is told 503.
const SEND_QUEUE: usize = 4;
/// The `session` query parameter.
const SESSION: &str = "session";

/// The live sessions, by id.
#[derive(Default)]
pub(crate) struct Sessions {
    live: Mutex<HashMap<String, Arc<Session>>>,
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Session>>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn find(&self, id: &str) -> Option<Arc<Session>> {
        self.lock().get(id).cloned()
    }

    fn remove(&self, id: &str) -> Option<Arc<Session>> {
        self.lock().remove(id)
    }

    /// Ends the session `id` if its stream was never attached.
    fn expire_unattached(&self, id: &str) {
        let mut live = self.lock();
        let unattached = live.get(id).is_some_and(|session| session.downstream_slot().is_some());
        let removed = if unattached { live.remove(id) } else { None };
        drop(live);
        drop(removed);
    }
}

/// One fallback session: what the stream and send requests find by its id.
struct Session {
    /// Who connected: every later request must come from there.
    address: IpAddr,
    /// The authenticated player (empty on an open server).
    subject: String,
    /// Batches for the bridge to write, each already split into messages.
    batches: mpsc::Sender<Vec<Bytes>>,
    /// The frames for the stream's body, until the stream is attached.
    downstream: Mutex<Option<mpsc::Receiver<Bytes>>>,
    /// Closes the stream's HTTP connection, once attached.
    stream_closer: Mutex<Option<ConnectionCloser>>,
    /// Dropped with the session: tells its connection's task that the session is gone.
    _gone: oneshot::Sender<()>,
    /// Counts against the address's limit for as long as the session lives.
    _address_slot: AddressSlot,
    /// Keeps the open-sessions gauge.
    _open: OpenSession,
}

impl Session {
    fn downstream_slot(&self) -> std::sync::MutexGuard<'_, Option<mpsc::Receiver<Bytes>>> {
        self.downstream.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn closer_slot(&self) -> std::sync::MutexGuard<'_, Option<ConnectionCloser>> {
        self.stream_closer.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The open-sessions gauge, up while it lives.
struct OpenSession(Arc<NetStats>);

impl OpenSession {
    fn new(stats: &Arc<NetStats>) -> OpenSession {
        stats.fallback_sessions_open.fetch_add(1, Ordering::Relaxed);
        OpenSession(Arc::clone(stats))
    }
}

impl Drop for OpenSession {
    fn drop(&mut self) {
        self.0.fallback_sessions_open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A new session id: 128 random bits, base64url without padding.
fn session_id() -> String {
    let key = crate::rooms::random_key();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&key[..16])
}

/// A refusal on a fallback endpoint: counted as an upgrade refusal is, answered the same
/// way, with CORS headers for a page that may read it.
fn refuse(front: &Front, headers: &HeaderMap, status: StatusCode, reason: &'static str) -> Response {
    front.context.stats.count_refusal(status.as_u16(), reason);
    with_cors(headers, refused(&Refusal { status, reason }))
}

/// Lets a page from the request's `Origin` read the answer. The origin was checked
/// against the allow-list by admission already; browsers enforce the rest.
fn with_cors(headers: &HeaderMap, mut response: Response) -> Response {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let answer = response.headers_mut();
        answer.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        answer.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}

/// `OPTIONS` on a fallback endpoint: the CORS preflight of a page on another allowed
/// origin (its `Authorization` and binary `Content-Type` make one necessary).
pub(crate) async fn preflight(State(front): State<Arc<Front>>, headers: HeaderMap) -> Response {
    if let Err(refusal) = front.admission.check_origin(&headers) {
        return refuse(&front, &headers, refusal.status, refusal.reason);
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let answer = response.headers_mut();
    answer.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST"),
    );
    answer.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, content-type"),
    );
    answer.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    with_cors(&headers, response)
}

/// `POST /http/connect`: admits as the upgrade does, starts the session's connection and
/// bridge, and answers `{"session": ID}`.
pub(crate) async fn connect(
    State(front): State<Arc<Front>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let headers = request.headers();
    let context = Arc::clone(&front.context);
    // Each live session holds a connection slot, or is on its way out with 1013: more
    // than that many is a flood, not players.
    if front.fallback.lock().len() >= context.limits.max_clients {
        return refuse(&front, headers, StatusCode::SERVICE_UNAVAILABLE, "server is full");
    }
    let arriving = match arrive(&front, headers, request.uri().query(), peer.ip()) {
        Ok(arriving) => arriving,
        Err(refusal) => return with_cors(headers, refused(&refusal)),
    };
    // The connect, the stream's attach and the `Hello` share one deadline, as the
    // upgrade and the `Hello` do.
    let deadline = Instant::now() + context.limits.handshake_timeout;
    let client = context.next_client.fetch_add(1, Ordering::Relaxed);
    let slot = Arc::clone(&context.slots).try_acquire_owned().ok();
    let (arrival, address_slot) = arriving.into_arrival(client);
    let (batches, batches_out) = mpsc::channel(SEND_QUEUE);
    let (frames_in, frames) = mpsc::channel(STREAM_QUEUE);
    let id = session_id();
    let (gone, session_gone) = oneshot::channel();
    let session = Session {
        address: peer.ip(),
        subject: arrival.subject.clone(),
        batches,
        downstream: Mutex::new(Some(frames)),
        stream_closer: Mutex::new(None),
        _gone: gone,
        _address_slot: address_slot,
        _open: OpenSession::new(&context.stats),
    };
    front.fallback.lock().insert(id.clone(), Arc::new(session));
    // What a client that stopped reading may leave in the pipe, as in a socket's kernel
    // send buffer.
    let (server_end, bridge_end) = tokio::io::duplex(context.limits.socket_send_buffer_bytes);
    let server_context = Arc::clone(&context);
    let (ending, ending_id) = (Arc::clone(&front), id.clone());
    context.tracker.spawn(async move {
        let config = Some(server_context.ws_config);
        let write_timeout = server_context.limits.write_timeout;
        let ws = WebSocketStream::from_raw_socket(GameIo::Fallback(server_end), Role::Server, config).await;
        connection::run(ws, peer, arrival, slot, deadline, server_context).await;
        // The connection is over; its last frames have this long to reach the client.
        // A client that stopped reading holds its stream's HTTP connection stuck on a
        // write: close that, as a stalled WebSocket's socket is closed.
        if tokio::time::timeout(write_timeout, session_gone).await.is_err()
            && let Some(session) = ending.fallback.remove(&ending_id)
        {
            tracing::debug!(%peer, "closing a fallback stream that is not being read");
            if let Some(closer) = session.closer_slot().take() {
                closer.close();
            }
        }
    });
    context.tracker.spawn(bridge(bridge_end, frames_in, batches_out));
    let expiring = Arc::clone(&front);
    let expiring_id = id.clone();
    // Not on the tracker: shutdown need not wait for it.
    tokio::spawn(async move {
        tokio::time::sleep_until(deadline).await;
        expiring.fallback.expire_unattached(&expiring_id);
    });
    tracing::debug!(%peer, client, "fallback session opened");
    with_cors(
        headers,
        axum::Json(serde_json::json!({ "session": id })).into_response(),
    )
}

/// The session a stream or send request names, if the request may use it: 404 for an
/// unknown or ended one, 403 from another address, origin or player, 401 for a bad
/// token.
fn owned_session(front: &Front, request: &Request, peer: SocketAddr) -> Result<(String, Arc<Session>), Refusal> {
    let query = request.uri().query();
    let not_found = Refusal {
        status: StatusCode::NOT_FOUND,
        reason: "no such session",
    };
    let id = query_value(query, SESSION).ok_or(not_found.clone())?;
    let session = front.fallback.find(id).ok_or(not_found)?;
    if session.address != peer.ip() {
        return Err(Refusal {
            status: StatusCode::FORBIDDEN,
            reason: "session belongs to another address",
        });
    }
    match front.admission.presented_subject(request.headers(), query)? {
        Some(subject) if subject != session.subject => Err(Refusal {
            status: StatusCode::FORBIDDEN,
            reason: "session belongs to another player",
        }),
        _ => Ok((id.to_owned(), session)),
    }
}

/// `GET /http/stream?session=ID`: the session's frames, once; 409 while a stream is
/// attached.
pub(crate) async fn stream(
    State(front): State<Arc<Front>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (id, session) = match owned_session(&front, &request, peer) {
        Ok(found) => found,
        Err(refusal) => return refuse(&front, request.headers(), refusal.status, refusal.reason),
    };
    let headers = request.headers();
    let Some(frames) = session.downstream_slot().take() else {
        return refuse(&front, headers, StatusCode::CONFLICT, "session already streaming");
    };
    *session.closer_slot() = request.extensions().get::<ConnectionCloser>().cloned();
    let body = Downstream {
        frames,
        _end: SessionEnd {
            front: Arc::clone(&front),
            id,
        },
    };
    let response = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CACHE_CONTROL, "no-store")
        // nginx and others buffer responses unless told not to: frames must flow.
        .header("x-accel-buffering", "no")
        .body(Body::from_stream(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
    with_cors(headers, response)
}

/// `POST /http/send?session=ID`: a batch of messages for the session's connection,
/// which decodes, validates and rate-limits them as WebSocket frames; 204 once they are
/// queued for it.
pub(crate) async fn send(
    State(front): State<Arc<Front>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (_, session) = match owned_session(&front, &request, peer) {
        Ok(found) => found,
        Err(refusal) => return refuse(&front, request.headers(), refusal.status, refusal.reason),
    };
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let too_large = || refuse(&front, headers, StatusCode::PAYLOAD_TOO_LARGE, "batch over 64 KiB");
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BATCH_BYTES as u64) {
        return too_large();
    }
    let limits = &front.context.limits;
    // A body trickled in a byte at a time holds nothing for longer than a handshake.
    let collected = tokio::time::timeout(limits.handshake_timeout, Limited::new(body, MAX_BATCH_BYTES).collect()).await;
    let batch = match collected {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(error)) if error.is::<LengthLimitError>() => return too_large(),
        Ok(Err(_)) => {
            return refuse(
                &front,
                headers,
                StatusCode::BAD_REQUEST,
                "malformed batch: body not read",
            );
        }
        Err(_) => {
            return refuse(
                &front,
                headers,
                StatusCode::REQUEST_TIMEOUT,
                "batch not received within the handshake timeout",
            );
        }
    };
    let messages = match framing::split_batch(&batch) {
        Ok(ranges) => ranges.into_iter().map(|range| batch.slice(range)).collect::<Vec<_>>(),
        Err(error) => {
            // The reason names positions; the log summary counts one label.
            front.context.stats.count_refusal(400, "malformed batch");
            let response = (StatusCode::BAD_REQUEST, format!("malformed batch: {error}\n")).into_response();
            return with_cors(headers, response);
        }
    };
    if !messages.is_empty() {
        match tokio::time::timeout(limits.write_timeout, session.batches.send(messages)).await {
            Ok(Ok(())) => {}
            // The connection has ended: so has the session, whatever the table says yet.
            Ok(Err(_)) => return refuse(&front, headers, StatusCode::NOT_FOUND, "no such session"),
            Err(_) => {
                return refuse(
                    &front,
                    headers,
                    StatusCode::SERVICE_UNAVAILABLE,
                    "session is not keeping up with its batches",
                );
            }
        }
    }
    with_cors(headers, StatusCode::NO_CONTENT.into_response())
}

/// The stream's body: the bridge's frames; ends the session when dropped (the client
/// went away, or the last frame was sent).
struct Downstream {
    frames: mpsc::Receiver<Bytes>,
    _end: SessionEnd,
}

impl Stream for Downstream {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.frames.poll_recv(cx).map(|frame| frame.map(Ok))
    }
}

/// Removes its session from the table when dropped.
struct SessionEnd {
    front: Arc<Front>,
    id: String,
}

impl Drop for SessionEnd {
    fn drop(&mut self) {
        drop(self.front.fallback.remove(&self.id));
    }
}

/// The bridge's WebSocket settings: a client role reading the server's messages, which
/// may be large (a whole world's snapshot); a small read buffer, as tungstenite zero-fills
/// it before every read.
fn bridge_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(4 * 1024)
}

/// Runs a session's client end until the connection ends, the client goes away or the
/// session is removed: server messages become frames (the close, the last one), and
/// batches become binary frames. Dropping the pipe's end tells the connection the peer
/// has gone, as a closed socket would.
async fn bridge(io: DuplexStream, frames: mpsc::Sender<Bytes>, mut batches: mpsc::Receiver<Vec<Bytes>>) {
    let ws = WebSocketStream::from_raw_socket(io, Role::Client, Some(bridge_config())).await;
    let (mut sink, mut stream) = ws.split();
    let downstream = async {
        let mut closed = false;
        // tungstenite answers pings (and the close) as it reads: reading on after the
        // close flushes the reply, and the stream ends when the connection does.
        while let Some(Ok(message)) = stream.next().await {
            let frame = match message {
                Message::Binary(payload) if !closed => message_frame(&payload),
                Message::Close(close) if !closed => {
                    closed = true;
                    close_frame(close.as_ref())
                }
                _ => continue,
            };
            if frames.send(frame).await.is_err() {
                return;
            }
        }
    };
    let upstream = async {
        while let Some(messages) = batches.recv().await {
            for message in messages {
                if sink.feed(Message::Binary(message)).await.is_err() {
                    // The connection is ending; the downstream side delivers its close.
                    return std::future::pending().await;
                }
            }
            if sink.flush().await.is_err() {
                return std::future::pending().await;
            }
        }
    };
    tokio::select! {
        () = downstream => {}
        () = upstream => {}
        () = frames.closed() => {}
    }
}

/// A kind-1 frame.
fn message_frame(payload: &[u8]) -> Bytes {
    let mut frame = BytesMut::with_capacity(FRAME_HEADER_BYTES + payload.len());
    frame.put_u8(KIND_MESSAGE);
    frame.put_u32(u32::try_from(payload.len()).unwrap_or(u32::MAX));
    frame.put_slice(payload);
    frame.freeze()
}

/// The kind-2 frame for the connection's close frame (1005, "no status", if it had no
/// code).
fn close_frame(close: Option<&CloseFrame>) -> Bytes {
    let (code, reason) = close.map_or((1005, ""), |close| (u16::from(close.code), close.reason.as_str()));
    let mut frame = BytesMut::with_capacity(FRAME_HEADER_BYTES + 2 + reason.len());
    frame.put_u8(KIND_CLOSE);
    frame.put_u32(u32::try_from(2 + reason.len()).unwrap_or(u32::MAX));
    frame.put_u16(code);
    frame.put_slice(reason.as_bytes());
    frame.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickcast_shared::fallback::{StreamDecoder, StreamFrame};
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

    #[test]
    fn frames_are_what_the_shared_decoder_reads() {
        let mut decoder = StreamDecoder::new(1024);
        decoder.push(&message_frame(b"snapshot"));
        let close = CloseFrame {
            code: CloseCode::Policy,
            reason: "input flood: more than 240 inputs in one second".into(),
        };
        decoder.push(&close_frame(Some(&close)));
        assert_eq!(
            decoder.next_frame(),
            Ok(Some(StreamFrame::Message(b"snapshot".to_vec())))
        );
        assert_eq!(
            decoder.next_frame(),
            Ok(Some(StreamFrame::Close {
                code: 1008,
                reason: "input flood: more than 240 inputs in one second".to_owned()
            }))
        );
    }

    #[test]
    fn session_ids_are_128_bits_of_base64url() {
        let id = session_id();
        assert_eq!(id.len(), 22);
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_ne!(id, session_id());
    }
}
