//! The directory: where matchmaking finds (or makes) a room and reserves a seat in it.
//!
//! One small trait, [`Directory`], with two implementations:
//! - [`LocalDirectory`]: this node alone, in process (the default; nothing to install);
//! - `RedisDirectory` (`--redis-url`): every node registered in Redis, a seat placed on
//!   the least-loaded node through a request to that node.
//!
//! Only the control plane goes through it: requests and answers of a few hundred bytes.
//! Game traffic goes from the client straight to the node that hosts its room.

use super::Rooms;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use thiserror::Error;

/// What a client asks matchmaking for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceRequest {
    /// The room kind (`arena`, `drift`); `None`: the node's default game.
    pub kind: Option<String>,
    /// A particular room to join; `None`: any room of the kind with a free seat, or a
    /// new one.
    pub room_id: Option<String>,
    /// The player's authenticated identity (the auth token's `sub`; empty when open).
    pub subject: String,
}

/// Where a client goes: the answer of `POST /matchmake`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// The room.
    pub room_id: String,
    /// Its kind.
    pub kind: String,
    /// The WebSocket URL of the node that hosts it.
    pub ws_url: String,
    /// The seat, presented as `?seat=` on that URL.
    pub seat_token: String,
    /// How long the seat is held for.
    pub expires_in_ms: u64,
}

/// A room as `GET /rooms` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomListing {
    /// Its id.
    pub room_id: String,
    /// Its kind.
    pub kind: String,
    /// Connected clients.
    pub clients: usize,
    /// Seats reserved and not yet taken.
    pub reserved: usize,
    /// Most players it takes.
    pub capacity: usize,
    /// The WebSocket URL of its node.
    pub ws_url: String,
    /// Its node's name.
    pub node: String,
}

/// Why matchmaking could not place a client.
#[derive(Clone, Debug, Error, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlaceError {
    /// No such kind.
    #[error("unknown room kind {kind:?}; kinds: {known}")]
    UnknownKind {
        /// What was asked for.
        kind: String,
        /// The kinds there are, comma-separated.
        known: String,
    },
    /// No room has that id (any more).
    #[error("no room {0:?}")]
    UnknownRoom(String),
    /// The room asked for by id has no free seat.
    #[error("room {room:?} is full ({capacity} players)")]
    Full {
        /// The room.
        room: String,
        /// Its capacity.
        capacity: usize,
    },
    /// The node is shutting down and takes no new players.
    #[error("this node is draining")]
    Draining,
    /// The node hosts as many rooms as it may (`[rooms] max_rooms`), and none of the kind
    /// has a free seat.
    #[error("this node hosts its maximum of {0} rooms")]
    NodeFull(usize),
    /// The directory cannot answer now (Redis unreachable, no node answered in time).
    #[error("matchmaking unavailable: {0}")]
    Unavailable(String),
    /// A room could not be started (the OS refused a thread).
    #[error("starting a room: {0}")]
    Start(String),
}

impl PlaceError {
    /// A short name for the refusal counts and the log summary.
    pub fn label(&self) -> &'static str {
        match self {
            PlaceError::UnknownKind { .. } => "unknown room kind",
            PlaceError::UnknownRoom(_) => "unknown room",
            PlaceError::Full { .. } => "room full",
            PlaceError::Draining => "node draining",
            PlaceError::NodeFull(_) => "node full",
            PlaceError::Unavailable(_) => "directory unavailable",
            PlaceError::Start(_) => "room failed to start",
        }
    }

    /// The HTTP status `POST /matchmake` answers with.
    pub fn status(&self) -> u16 {
        match self {
            PlaceError::UnknownKind { .. } | PlaceError::UnknownRoom(_) => 404,
            PlaceError::Full { .. } => 409,
            PlaceError::Draining | PlaceError::NodeFull(_) | PlaceError::Unavailable(_) => 503,
            PlaceError::Start(_) => 500,
        }
    }
}

/// Where matchmaking places seats and `/rooms` finds rooms.
pub trait Directory: Send + Sync + 'static {
    /// Finds or makes a room for `request` on some node, and reserves a seat there.
    fn place(&self, request: PlaceRequest) -> BoxFuture<'_, Result<Placement, PlaceError>>;

    /// Every room on every node.
    fn rooms(&self) -> BoxFuture<'_, Result<Vec<RoomListing>, PlaceError>>;
}

/// This node alone: the directory with no Redis.
pub struct LocalDirectory(pub Arc<Rooms>);

impl Directory for LocalDirectory {
    fn place(&self, request: PlaceRequest) -> BoxFuture<'_, Result<Placement, PlaceError>> {
        Box::pin(async move { self.0.reserve(&request) })
    }

    fn rooms(&self) -> BoxFuture<'_, Result<Vec<RoomListing>, PlaceError>> {
        Box::pin(async move { Ok(self.0.listings()) })
    }
}
