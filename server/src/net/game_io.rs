//! The byte streams a game connection's WebSocket runs over: a socket that hyper
//! upgraded (`GET /ws`, TCP or TLS), or one end of an in-memory pipe whose other end
//! the HTTP fallback bridges to HTTP requests ([`super::fallback`]).
//!
//! One enum rather than a generic connection task: the reader and writer are written
//! once and compiled once, and the room and the view cannot tell the transports apart.
//! Dispatch is a match per poll; nothing is allocated.

use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};

/// Where a game connection's bytes go.
#[derive(Debug)]
pub(crate) enum GameIo {
    /// An upgraded HTTP/1.1 connection: the WebSocket transport.
    Upgraded(TokioIo<Upgraded>),
    /// The server's end of an HTTP fallback session's pipe.
    Fallback(DuplexStream),
}

impl AsyncRead for GameIo {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            GameIo::Upgraded(io) => Pin::new(io).poll_read(cx, buf),
            GameIo::Fallback(io) => Pin::new(io).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for GameIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            GameIo::Upgraded(io) => Pin::new(io).poll_write(cx, buf),
            GameIo::Fallback(io) => Pin::new(io).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            GameIo::Upgraded(io) => Pin::new(io).poll_write_vectored(cx, bufs),
            GameIo::Fallback(io) => Pin::new(io).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            GameIo::Upgraded(io) => io.is_write_vectored(),
            GameIo::Fallback(io) => io.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            GameIo::Upgraded(io) => Pin::new(io).poll_flush(cx),
            GameIo::Fallback(io) => Pin::new(io).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            GameIo::Upgraded(io) => Pin::new(io).poll_shutdown(cx),
            GameIo::Fallback(io) => Pin::new(io).poll_shutdown(cx),
        }
    }
}
