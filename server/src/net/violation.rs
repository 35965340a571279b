//! Protocol violations and the close frame each one earns.
//!
//! A violation closes only the offending connection, with a precise close code and a
//! reason the client can show; the room and every other connection carry on.

use thiserror::Error;
use tickcast_shared::{DecodeError, InputError};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// Something a client did that ends its connection.
#[derive(Debug, Error)]
pub enum Violation {
    /// The protocol is binary-only.
    #[error("text frames are not supported; send binary MessagePack frames")]
    TextFrame,
    /// A binary frame that is not a valid message.
    #[error("undecodable message: {0}")]
    Undecodable(#[from] DecodeError),
    /// Anything but `Hello` as the first message.
    #[error("the first message must be hello")]
    MessageBeforeHello,
    /// `Hello` after the handshake.
    #[error("hello was already received")]
    SecondHello,
    /// An input from a client that joined as a spectator.
    #[error("spectators send no inputs")]
    SpectatorInput,
    /// A client speaking another protocol version.
    #[error("protocol version {client} is not supported; this server speaks version {server}")]
    VersionMismatch {
        /// The client's version.
        client: u16,
        /// Ours.
        server: u16,
    },
    /// A frame or message over the size limit.
    #[error("message too large: {0}")]
    TooLarge(String),
    /// An input with non-finite or out-of-range values.
    #[error("invalid input: {0}")]
    InvalidInput(#[from] InputError),
    /// Inputs far beyond the allowed rate.
    #[error("input flood: more than {0} inputs in one second")]
    Flood(u32),
    /// No `Hello` in time.
    #[error("no hello within the handshake timeout")]
    HandshakeTimeout,
    /// The connection limit is reached.
    #[error("server is full")]
    ServerFull,
    /// A `Hello` with a resume token this server did not issue to this player.
    #[error("invalid resume token")]
    BadResumeToken,
    /// A connection to a matchmade room (`?room=`) that did not resume a player there.
    #[error("joining a room needs a seat from /matchmake")]
    SeatNeeded,
    /// A frame that breaks RFC 6455: a reserved opcode or bit, an unmasked client
    /// frame, a fragmented or oversized control frame.
    #[error("websocket protocol error: {0}")]
    Protocol(String),
    /// Text that is not UTF-8 (in a close frame's reason).
    #[error("invalid utf-8 in a frame")]
    InvalidUtf8,
    /// An input `seq` too far from the previous one to be the next input of a live
    /// stream (the room could never buffer the gap).
    #[error("input seq {seq} is {distance} away from the previous {previous}; seqs must increase by one")]
    SeqOutOfWindow {
        /// The seq sent.
        seq: u32,
        /// The previous seq from this client.
        previous: u32,
        /// How far apart, in wrapping order.
        distance: i64,
    },
}

impl Violation {
    /// The WebSocket close code for this violation.
    pub fn close_code(&self) -> CloseCode {
        match self {
            Violation::TextFrame => CloseCode::Unsupported,
            Violation::Undecodable(_) | Violation::InvalidInput(_) | Violation::InvalidUtf8 => CloseCode::Invalid,
            Violation::MessageBeforeHello
            | Violation::SecondHello
            | Violation::SpectatorInput
            | Violation::Flood(_)
            | Violation::HandshakeTimeout
            | Violation::SeqOutOfWindow { .. }
            | Violation::BadResumeToken
            | Violation::SeatNeeded => CloseCode::Policy,
            Violation::VersionMismatch { .. } | Violation::Protocol(_) => CloseCode::Protocol,
            Violation::TooLarge(_) => CloseCode::Size,
            Violation::ServerFull => CloseCode::Again,
        }
    }

    /// A short name for the log summary (the close reason itself may name values).
    pub fn label(&self) -> &'static str {
        match self {
            Violation::TextFrame => "text frame",
            Violation::Undecodable(_) => "undecodable message",
            Violation::MessageBeforeHello => "message before hello",
            Violation::SecondHello => "second hello",
            Violation::SpectatorInput => "spectator input",
            Violation::VersionMismatch { .. } => "protocol version mismatch",
            Violation::TooLarge(_) => "message too large",
            Violation::InvalidInput(_) => "invalid input",
            Violation::Flood(_) => "input flood",
            Violation::HandshakeTimeout => "no hello in time",
            Violation::ServerFull => "server full",
            Violation::Protocol(_) => "websocket protocol error",
            Violation::InvalidUtf8 => "invalid utf-8",
            Violation::SeqOutOfWindow { .. } => "input seq out of window",
            Violation::BadResumeToken => "invalid resume token",
            Violation::SeatNeeded => "no seat",
        }
    }

    /// The close frame: code plus this violation's message as the reason.
    pub fn close_frame(&self) -> CloseFrame {
        close_frame(self.close_code(), &self.to_string())
    }
}

/// A close frame whose reason is cut to the 123 bytes a close frame can carry.
pub fn close_frame(code: CloseCode, reason: &str) -> CloseFrame {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    CloseFrame {
        code,
        reason: reason[..end].into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_rfc_6455() {
        assert_eq!(u16::from(Violation::TextFrame.close_code()), 1003);
        assert_eq!(u16::from(Violation::SecondHello.close_code()), 1008);
        assert_eq!(u16::from(Violation::SpectatorInput.close_code()), 1008);
        assert_eq!(u16::from(Violation::TooLarge(String::new()).close_code()), 1009);
        assert_eq!(u16::from(Violation::ServerFull.close_code()), 1013);
        let mismatch = Violation::VersionMismatch { client: 9, server: 1 };
        assert_eq!(
            mismatch.close_frame().reason.as_str(),
            "protocol version 9 is not supported; this server speaks version 1"
        );
    }

    #[test]
    fn long_reasons_are_cut_on_a_char_boundary() {
        let frame = close_frame(CloseCode::Policy, &"é".repeat(100));
        assert!(frame.reason.len() <= 123);
        assert!(frame.reason.as_str().chars().all(|c| c == 'é'));
    }
}
