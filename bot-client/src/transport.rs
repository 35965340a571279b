//! How a bot reaches the server: its own WebSocket, or the HTTP fallback (`POST
//! /http/connect`, a streamed `GET /http/stream`, `POST /http/send` batches; see "HTTP
//! fallback" in `docs/PROTOCOL.md`), chosen by [`Transport`].
//!
//! Either way the bot talks to a client-role WebSocket ([`Socket`]), so its logic is
//! the same for both. Over the fallback that WebSocket runs over an in-memory pipe whose
//! other end a *bridge* task serves with a server-role WebSocket: it turns the stream's
//! frames into binary frames (and the close frame into a close), and the bot's messages
//! into batches, one `POST` in flight at a time, batching whatever the bot writes
//! meanwhile, so order is kept and a slow round trip costs requests, not messages.
//!
//! A fallback session ends when its stream does, as a WebSocket ends with its socket:
//! the bot sees a close (the server's code and reason) or a lost connection, and
//! resumes with a new session as it would with a new WebSocket.

use futures_util::{SinkExt, StreamExt};
use reqwest::{Client, StatusCode, Url};
use std::fmt;
use std::io;
use std::pin::Pin;
use std::str::FromStr;
use std::task::{Context, Poll};
use std::time::Duration;
use thiserror::Error;
use tickcast_shared::fallback::{StreamDecoder, StreamFrame, push_batch_message};
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

/// Which transport the bots use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Transport {
    /// WebSocket only.
    Ws,
    /// The HTTP fallback only.
    Http,
    /// WebSocket first; the HTTP fallback if the upgrade is refused (for any reason but
    /// a missing or bad token) or the socket fails before the `Welcome`. A bot that fell
    /// back stays on HTTP for the rest of the run, as a client behind a blocking proxy
    /// would.
    #[default]
    Auto,
}

impl FromStr for Transport {
    type Err = TransportParseError;

    fn from_str(text: &str) -> Result<Transport, TransportParseError> {
        match text {
            "ws" => Ok(Transport::Ws),
            "http" => Ok(Transport::Http),
            "auto" => Ok(Transport::Auto),
            other => Err(TransportParseError(other.to_owned())),
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Transport::Ws => "ws",
            Transport::Http => "http",
            Transport::Auto => "auto",
        })
    }
}

/// A transport name other than `ws`, `http` or `auto`.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("unknown transport `{0}`: use ws, http or auto")]
pub struct TransportParseError(pub String);

/// The transport one connection actually used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Used {
    /// A WebSocket.
    Ws,
    /// The HTTP fallback.
    Http,
}

impl Used {
    /// `ws` or `http`, as reports name it.
    pub fn name(self) -> &'static str {
        match self {
            Used::Ws => "ws",
            Used::Http => "http",
        }
    }
}

/// The bytes under a bot's WebSocket: a TCP socket (TLS on top, for `wss://`), or the
/// bot's end of a fallback session's pipe.
#[derive(Debug)]
pub enum BotIo {
    /// A TCP connection to the server.
    Tcp(TcpStream),
    /// The pipe to the HTTP fallback's bridge.
    Fallback(DuplexStream),
}

/// A bot's WebSocket, whichever transport is under it.
pub type Socket = WebSocketStream<MaybeTlsStream<BotIo>>;

impl AsyncRead for BotIo {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            BotIo::Tcp(io) => Pin::new(io).poll_read(cx, buf),
            BotIo::Fallback(io) => Pin::new(io).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for BotIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            BotIo::Tcp(io) => Pin::new(io).poll_write(cx, buf),
            BotIo::Fallback(io) => Pin::new(io).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            BotIo::Tcp(io) => Pin::new(io).poll_flush(cx),
            BotIo::Fallback(io) => Pin::new(io).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            BotIo::Tcp(io) => Pin::new(io).poll_shutdown(cx),
            BotIo::Fallback(io) => Pin::new(io).poll_shutdown(cx),
        }
    }
}

/// Opens a WebSocket to `url` (`ws://`, or `wss://` through `connector`).
pub async fn connect_ws(
    url: &str,
    config: WebSocketConfig,
    connector: Connector,
) -> Result<Socket, tungstenite::Error> {
    let request = url.into_client_request()?;
    let uri = request.uri();
    let host = uri
        .host()
        .ok_or(tungstenite::Error::Url(tungstenite::error::UrlError::NoHostName))?;
    // `[::1]` is how a URL writes an IPv6 host; the socket wants it bare.
    let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
    let port = uri
        .port_u16()
        .or(match uri.scheme_str() {
            Some("wss") => Some(443),
            Some("ws") => Some(80),
            _ => None,
        })
        .ok_or(tungstenite::Error::Url(
            tungstenite::error::UrlError::UnsupportedUrlScheme,
        ))?;
    let socket = TcpStream::connect((host.as_str(), port)).await?;
    socket.set_nodelay(true)?;
    let (socket, _response) =
        tokio_tungstenite::client_async_tls_with_config(request, BotIo::Tcp(socket), Some(config), Some(connector))
            .await?;
    Ok(socket)
}

/// Why a fallback session could not be opened.
#[derive(Debug, Error)]
pub enum FallbackError {
    /// The URL is not a `ws://` or `wss://` URL.
    #[error("{0} is not a ws:// or wss:// url")]
    BadUrl(String),
    /// The server answered with a status instead of a session or a stream.
    #[error("server refused the http fallback: {status}{}", parenthesized(.reason))]
    Refused {
        /// The status.
        status: StatusCode,
        /// The reason in the body.
        reason: String,
    },
    /// The request failed before an answer: connecting, TLS, a timeout.
    #[error("http fallback request failed: {0}")]
    Request(String),
    /// A 200 whose body is not `{"session": ID}`.
    #[error("http fallback connect answered without a session id")]
    NoSession,
}

fn parenthesized(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(" ({reason})")
    }
}

impl FallbackError {
    /// The status, if the server refused.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            FallbackError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Longest wait for the connect request and each send.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest frame a bot accepts from the stream: the server's frames are snapshots of
/// kilobytes.
const MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;
/// Each direction of the pipe between the bot and its bridge.
const PIPE_BYTES: usize = 64 * 1024;

/// The HTTP client the fallback sessions of a run share: as the matchmaking client, but
/// with no total timeout, which would cut the streams.
pub fn fallback_client(tls: &crate::TlsTrust) -> Result<Client, reqwest::Error> {
    crate::matchmake::client_builder(tls, REQUEST_TIMEOUT).build()
}

/// The fallback endpoint `endpoint` (`connect`, `stream`, `send`) of the game endpoint
/// `ws_url`: `ws://host:port/ws?q` becomes `http://host:port/http/connect?q` (the
/// WebSocket path's last segment is replaced, so a prefix before it is kept).
pub fn fallback_url(ws_url: &str, endpoint: &str) -> Result<Url, FallbackError> {
    let bad = || FallbackError::BadUrl(ws_url.to_owned());
    let mut url = Url::parse(ws_url).map_err(|_| bad())?;
    let scheme = match url.scheme() {
        "ws" => "http",
        "wss" => "https",
        _ => return Err(bad()),
    };
    url.set_scheme(scheme).map_err(|()| bad())?;
    let base = url.path().rsplit_once('/').map_or("", |(base, _)| base).to_owned();
    url.set_path(&format!("{base}/http/{endpoint}"));
    Ok(url)
}

/// Opens a fallback session for the game endpoint `ws_url` (its query, `seat=`, `room=`
/// or `token=`, goes along) and returns the bot's WebSocket onto it.
pub async fn connect_http(client: &Client, ws_url: &str, config: WebSocketConfig) -> Result<Socket, FallbackError> {
    let request_error =
        |error: reqwest::Error| FallbackError::Request(crate::matchmake::error_chain(&error.without_url()));
    let connect_url = fallback_url(ws_url, "connect")?;
    let token = connect_url
        .query_pairs()
        .find(|(key, _)| key == "token")
        .map(|(_, value)| value.into_owned());
    let answer = client
        .post(connect_url.clone())
        .timeout(REQUEST_TIMEOUT)
        .send()
        .await
        .map_err(request_error)?;
    let answer = refused_unless_ok(answer).await?;
    let session: serde_json::Value = answer.json().await.map_err(|_| FallbackError::NoSession)?;
    let session = session["session"].as_str().ok_or(FallbackError::NoSession)?.to_owned();
    let session_url = |endpoint: &str| {
        let mut url = fallback_url(ws_url, endpoint)?;
        url.set_query(None);
        url.query_pairs_mut().append_pair("session", &session);
        if let Some(token) = &token {
            url.query_pairs_mut().append_pair("token", token);
        }
        Ok::<Url, FallbackError>(url)
    };
    let stream = client.get(session_url("stream")?).send().await.map_err(request_error)?;
    let stream = refused_unless_ok(stream).await?;
    let (bot_end, bridge_end) = tokio::io::duplex(PIPE_BYTES);
    tokio::spawn(bridge(bridge_end, stream, client.clone(), session_url("send")?));
    Ok(WebSocketStream::from_raw_socket(
        MaybeTlsStream::Plain(BotIo::Fallback(bot_end)),
        Role::Client,
        Some(config),
    )
    .await)
}

/// The response if it is a 200; otherwise its status and reason as a refusal.
async fn refused_unless_ok(response: reqwest::Response) -> Result<reqwest::Response, FallbackError> {
    let status = response.status();
    if status == StatusCode::OK {
        return Ok(response);
    }
    let reason = response.text().await.unwrap_or_default().trim().to_owned();
    Err(FallbackError::Refused { status, reason })
}

/// Serves the bridge's end of the pipe until the session or the bot's WebSocket ends.
async fn bridge(io: DuplexStream, mut stream: reqwest::Response, client: Client, send_url: Url) {
    let ws = WebSocketStream::from_raw_socket(io, Role::Server, None).await;
    let (mut sink, mut from_bot) = ws.split();
    let downstream = async {
        let mut decoder = StreamDecoder::new(MAX_FRAME_BYTES);
        loop {
            let chunk = match stream.chunk().await {
                Ok(Some(chunk)) => chunk,
                // The body ended without a close frame, or broke: a lost connection.
                Ok(None) | Err(_) => return,
            };
            decoder.push(&chunk);
            loop {
                match decoder.next_frame() {
                    Ok(Some(StreamFrame::Message(payload))) => {
                        if sink.send(Message::Binary(payload.into())).await.is_err() {
                            return;
                        }
                    }
                    Ok(Some(StreamFrame::Close { code, reason })) => {
                        // Passed on as the WebSocket would have carried it: 1005 ("no
                        // code") is a close without a payload (tungstenite refuses 1005
                        // on the wire as a protocol error), and a reason fits a control
                        // frame's 123 bytes.
                        let frame = (code != 1005).then(|| CloseFrame {
                            code: CloseCode::from(code),
                            reason: truncate_utf8(&reason, 123).to_owned().into(),
                        });
                        let _ = sink.send(Message::Close(frame)).await;
                        return;
                    }
                    Ok(None) => break,
                    Err(error) => {
                        tracing::debug!(%error, "fallback stream broke its framing");
                        return;
                    }
                }
            }
        }
    };
    let upstream = async {
        let mut batch = Vec::new();
        let mut in_flight: Option<Pin<Box<dyn Future<Output = bool> + Send>>> = None;
        let mut bot_closed = false;
        loop {
            tokio::select! {
                message = from_bot.next(), if !bot_closed => match message {
                    Some(Ok(Message::Binary(payload))) => push_batch_message(&mut batch, &payload),
                    // The bot closes (the run is over): reading on sends tungstenite's
                    // reply and then ends; what the bot sent before goes out, then the
                    // session ends with the stream.
                    None | Some(Err(_)) => bot_closed = true,
                    Some(Ok(_)) => {}
                },
                sent = async {
                    match in_flight.as_mut() {
                        Some(request) => request.await,
                        None => std::future::pending().await,
                    }
                }, if in_flight.is_some() => {
                    in_flight = None;
                    if !sent {
                        return;
                    }
                }
            }
            if in_flight.is_none() {
                if !batch.is_empty() {
                    in_flight = Some(Box::pin(post(
                        client.clone(),
                        send_url.clone(),
                        std::mem::take(&mut batch),
                    )));
                } else if bot_closed {
                    return;
                }
            }
        }
    };
    tokio::select! {
        () = downstream => {}
        () = upstream => {}
    }
}

/// One `POST /http/send`; whether the server took it (204).
async fn post(client: Client, url: Url, batch: Vec<u8>) -> bool {
    let sent = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
        .timeout(REQUEST_TIMEOUT)
        .body(batch)
        .send()
        .await;
    match sent {
        Ok(response) if response.status() == StatusCode::NO_CONTENT => true,
        Ok(response) => {
            tracing::debug!(status = %response.status(), "fallback send refused");
            false
        }
        Err(error) => {
            tracing::debug!(%error, "fallback send failed");
            false
        }
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn truncate_utf8(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_reasons_are_cut_to_a_control_frame_on_a_character_boundary() {
        let long = "é".repeat(100);
        let cut = truncate_utf8(&long, 123);
        assert_eq!(cut.len(), 122, "61 two-byte characters, not half of the 62nd");
        assert_eq!(truncate_utf8("short", 123), "short");
    }

    #[test]
    fn transports_parse_and_print_by_name() {
        for name in ["ws", "http", "auto"] {
            assert_eq!(name.parse::<Transport>().unwrap().to_string(), name);
        }
        assert_eq!(Transport::default(), Transport::Auto);
        assert_eq!(
            "sse".parse::<Transport>().unwrap_err().to_string(),
            "unknown transport `sse`: use ws, http or auto"
        );
    }

    #[test]
    fn fallback_urls_follow_the_websocket_url() {
        let url = |ws: &str, endpoint: &str| fallback_url(ws, endpoint).map(|url| url.to_string());
        assert_eq!(
            url("ws://127.0.0.1:7777/ws?seat=abc", "connect").unwrap(),
            "http://127.0.0.1:7777/http/connect?seat=abc"
        );
        assert_eq!(
            url("wss://game.example/play/ws", "stream").unwrap(),
            "https://game.example/play/http/stream"
        );
        assert!(url("http://127.0.0.1:7777", "connect").is_err());
    }
}
