//! Messages between clients and servers, and their MessagePack encoding.
//!
//! Every message is one binary WebSocket frame holding one MessagePack value, encoded
//! with rmp-serde: structs are arrays of their fields in declaration order, enums are a
//! one-entry map from a one-letter variant name to the variant's value. `docs/PROTOCOL.md`
//! in the repository spells out each message byte by byte.
//!
//! A session is: client `Hello` -> server `Welcome` (or a close frame with the reason),
//! then client `Input`s at the tick rate and server `Snapshot`s at the snapshot rate.

use crate::delta::Delta;
use crate::net_id::NetId;
use crate::tick::Tick;
use serde::{Deserialize, Serialize};
use std::f32::consts::TAU;
use thiserror::Error;

/// Version of this protocol; a client with another version is refused with a reason.
pub const PROTOCOL_VERSION: u16 = 1;

/// Client to server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ClientMsg {
    /// First message of every session.
    #[serde(rename = "h")]
    Hello(Hello),
    /// One tick's worth of player input.
    #[serde(rename = "i")]
    Input(PlayerInput),
}

/// Opens a session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Must equal the server's [`PROTOCOL_VERSION`].
    pub protocol_version: u16,
    /// Display name (the server truncates it to [`MAX_NAME_BYTES`]).
    pub name: String,
}

/// Longest display name the server keeps, in bytes.
pub const MAX_NAME_BYTES: usize = 32;

/// Input button bits.
pub mod buttons {
    /// Fire the weapon.
    pub const FIRE: u8 = 1;
    /// Every bit a client may set.
    pub const ALL: u8 = FIRE;
}

/// One tick of input. The server applies each client's inputs one per tick in `seq`
/// order and acknowledges the last applied `seq` in every snapshot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PlayerInput {
    /// Increases by one per input; wrapping.
    pub seq: u32,
    /// Desired movement, each axis in `[-1, 1]`.
    pub move_x: f32,
    /// Desired movement, each axis in `[-1, 1]`.
    pub move_y: f32,
    /// Aim direction in radians, in `[-2π, 2π]`.
    pub aim: f32,
    /// Held buttons, a set of [`buttons`] bits.
    pub buttons: u8,
}

/// Why an input was refused before it could reach the simulation.
#[derive(Debug, Error, PartialEq)]
pub enum InputError {
    /// NaN or infinity.
    #[error("input field {field} is not finite")]
    NotFinite {
        /// Which field.
        field: &'static str,
    },
    /// Finite but outside the field's range.
    #[error("input field {field} = {value} is out of range")]
    OutOfRange {
        /// Which field.
        field: &'static str,
        /// The value sent.
        value: f32,
    },
    /// Bits outside [`buttons::ALL`].
    #[error("input buttons {0:#04x} include unknown bits")]
    UnknownButtons(u8),
}

impl PlayerInput {
    /// Checks every field; only inputs that pass may reach a simulation.
    pub fn validate(&self) -> Result<(), InputError> {
        let check = |field: &'static str, value: f32, limit: f32| {
            if !value.is_finite() {
                Err(InputError::NotFinite { field })
            } else if value.abs() > limit {
                Err(InputError::OutOfRange { field, value })
            } else {
                Ok(())
            }
        };
        check("move_x", self.move_x, 1.0)?;
        check("move_y", self.move_y, 1.0)?;
        check("aim", self.aim, TAU)?;
        if self.buttons & !buttons::ALL != 0 {
            return Err(InputError::UnknownButtons(self.buttons));
        }
        Ok(())
    }
}

/// Server to client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ServerMsg {
    /// Answer to a valid `Hello`.
    #[serde(rename = "w")]
    Welcome(Welcome),
    /// A delta snapshot.
    #[serde(rename = "s")]
    Snapshot(SnapshotFrame),
}

/// Accepts a session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The server's protocol version.
    pub protocol_version: u16,
    /// This connection's id within the room.
    pub client_id: u32,
    /// The entity this client controls.
    pub player: NetId,
    /// Simulation steps per second.
    pub tick_rate: u16,
    /// Snapshots per second.
    pub snapshot_rate: u16,
    /// The room's tick when the client joined.
    pub tick: Tick,
}

/// A snapshot as sent to one client: a per-client header around a body that every
/// client with the same baseline and view shares byte for byte.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotFrame {
    /// The tick the snapshot was captured at.
    pub tick: Tick,
    /// The tick of the state the delta was taken against; `None` for a full snapshot.
    pub baseline: Option<Tick>,
    /// The last input `seq` the server applied for this client, if any yet.
    pub input_ack: Option<u32>,
    /// A MessagePack-encoded [`SnapshotBody`].
    #[serde(with = "serde_bytes")]
    pub body: Vec<u8>,
}

/// The shared part of a snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotBody {
    /// CRC-32 ([`crate::checksum`]) of the client's view after applying `delta`.
    pub checksum: Option<u32>,
    /// Changes from the baseline.
    pub delta: Delta,
}

/// Borrowed twin of [`ServerMsg::Snapshot`], so a server can wrap a cached body without
/// copying it into a `SnapshotFrame` first. Encodes to the same bytes.
#[derive(Serialize)]
enum ServerMsgRef<'a> {
    #[serde(rename = "s")]
    Snapshot(SnapshotFrameRef<'a>),
}

#[derive(Serialize)]
struct SnapshotFrameRef<'a> {
    tick: Tick,
    baseline: Option<Tick>,
    input_ack: Option<u32>,
    #[serde(with = "serde_bytes")]
    body: &'a [u8],
}

/// A message that could not be decoded.
#[derive(Debug, Error)]
pub enum DecodeError {
    /// Not a valid MessagePack encoding of the expected message.
    #[error("malformed message: {0}")]
    Malformed(#[from] rmp_serde::decode::Error),
    /// A valid message followed by more bytes.
    #[error("{0} trailing bytes after the message")]
    TrailingBytes(usize),
}

/// A message that could not be encoded (only non-serializable values; not expected).
#[derive(Debug, Error)]
#[error("cannot encode message: {0}")]
pub struct EncodeError(#[from] rmp_serde::encode::Error);

fn decode_exact<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    let mut rest = bytes;
    let value = T::deserialize(&mut rmp_serde::Deserializer::new(&mut rest))?;
    match rest.len() {
        0 => Ok(value),
        extra => Err(DecodeError::TrailingBytes(extra)),
    }
}

impl ClientMsg {
    /// Encodes into `out` (appending).
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Ok(rmp_serde::encode::write(out, self)?)
    }

    /// Encodes into a new buffer.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(32);
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Decodes exactly one message from `bytes`; never panics.
    pub fn decode(bytes: &[u8]) -> Result<ClientMsg, DecodeError> {
        decode_exact(bytes)
    }
}

impl ServerMsg {
    /// Encodes into `out` (appending).
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Ok(rmp_serde::encode::write(out, self)?)
    }

    /// Encodes into a new buffer.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Decodes exactly one message from `bytes`; never panics.
    pub fn decode(bytes: &[u8]) -> Result<ServerMsg, DecodeError> {
        decode_exact(bytes)
    }

    /// Encodes a snapshot frame around an already encoded body, appending to `out`.
    /// Equivalent to encoding `ServerMsg::Snapshot` with `body.to_vec()`.
    pub fn encode_snapshot_into(
        tick: Tick,
        baseline: Option<Tick>,
        input_ack: Option<u32>,
        body: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        let frame = SnapshotFrameRef {
            tick,
            baseline,
            input_ack,
            body,
        };
        Ok(rmp_serde::encode::write(out, &ServerMsgRef::Snapshot(frame))?)
    }
}

impl SnapshotBody {
    /// Encodes into `out` (appending).
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Ok(rmp_serde::encode::write(out, self)?)
    }

    /// Decodes exactly one body; never panics.
    pub fn decode(bytes: &[u8]) -> Result<SnapshotBody, DecodeError> {
        decode_exact(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hello_has_a_stable_byte_layout() {
        let hello = ClientMsg::Hello(Hello {
            protocol_version: 1,
            name: "ab".into(),
        });
        // {"h": [1, "ab"]}
        assert_eq!(
            hello.encode().unwrap(),
            [0x81, 0xa1, b'h', 0x92, 0x01, 0xa2, b'a', b'b']
        );
    }

    #[test]
    fn borrowed_snapshot_encoding_matches_owned() {
        let body = SnapshotBody {
            checksum: Some(7),
            delta: Delta::default(),
        };
        let mut body_bytes = Vec::new();
        body.encode_into(&mut body_bytes).unwrap();
        let mut borrowed = Vec::new();
        ServerMsg::encode_snapshot_into(Tick(9), Some(Tick(8)), Some(3), &body_bytes, &mut borrowed).unwrap();
        let owned = ServerMsg::Snapshot(SnapshotFrame {
            tick: Tick(9),
            baseline: Some(Tick(8)),
            input_ack: Some(3),
            body: body_bytes.clone(),
        });
        assert_eq!(borrowed, owned.encode().unwrap());
        assert_eq!(ServerMsg::decode(&borrowed).unwrap(), owned);
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = ClientMsg::Input(PlayerInput::default()).encode().unwrap();
        bytes.push(0);
        assert!(matches!(ClientMsg::decode(&bytes), Err(DecodeError::TrailingBytes(1))));
    }

    #[test]
    fn a_huge_length_prefix_is_an_error_not_an_allocation() {
        // Snapshot body whose delta claims 2^32-1 spawns.
        let bytes = [0x92, 0xc0, 0x93, 0xdd, 0xff, 0xff, 0xff, 0xff];
        assert!(SnapshotBody::decode(&bytes).is_err());
    }

    #[test]
    fn input_validation_names_the_field() {
        let nan = PlayerInput {
            move_x: f32::NAN,
            ..PlayerInput::default()
        };
        assert_eq!(nan.validate(), Err(InputError::NotFinite { field: "move_x" }));
        let fast = PlayerInput {
            move_y: 2.0,
            ..PlayerInput::default()
        };
        assert_eq!(
            fast.validate().unwrap_err().to_string(),
            "input field move_y = 2 is out of range"
        );
        let buttons = PlayerInput {
            buttons: 0x80,
            ..PlayerInput::default()
        };
        assert!(buttons.validate().is_err());
        assert!(PlayerInput::default().validate().is_ok());
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = ClientMsg::decode(&bytes);
            let _ = ServerMsg::decode(&bytes);
            let _ = SnapshotBody::decode(&bytes);
        }

        #[test]
        fn decoding_mutated_snapshots_never_panics(
            world in crate::delta::tests::world(),
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        ) {
            let body = SnapshotBody { checksum: Some(1), delta: crate::diff(&[], &world) };
            let mut bytes = Vec::new();
            body.encode_into(&mut bytes).unwrap();
            for (at, value) in flips {
                let at = at.index(bytes.len());
                bytes[at] = value;
            }
            let _ = SnapshotBody::decode(&bytes);
        }

        #[test]
        fn inputs_round_trip(seq: u32, move_x in -1.0f32..1.0, move_y in -1.0f32..1.0, aim in -6.0f32..6.0, fire: bool) {
            let input = PlayerInput { seq, move_x, move_y, aim, buttons: u8::from(fire) };
            let decoded = ClientMsg::decode(&ClientMsg::Input(input).encode().unwrap()).unwrap();
            prop_assert_eq!(decoded, ClientMsg::Input(input));
        }
    }
}
