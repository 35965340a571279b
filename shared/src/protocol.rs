//! Messages between clients and servers, and their MessagePack encoding.
//!
//! Every message is one binary WebSocket frame holding one MessagePack value, encoded
//! with rmp-serde: structs are arrays of their fields in declaration order, enums are a
//! one-entry map from a one-letter variant name to the variant's value. `docs/PROTOCOL.md`
//! in the repository spells out each message byte by byte.
//!
//! A session is: client `Hello` -> server `Welcome` (or a close frame with the reason),
//! then client `Input`s at the tick rate and server `Snapshot`s at the snapshot rate.

use crate::input::Input;
use crate::net_id::NetId;
use crate::schema::Schema;
use crate::tick::Tick;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Version of this protocol; a client with another version is refused with a reason.
pub const PROTOCOL_VERSION: u16 = 5;

/// Client to server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ClientMsg {
    /// First message of every session.
    #[serde(rename = "h")]
    Hello(Hello),
    /// One tick's worth of player input, in the form the game declares (see
    /// [`crate::input`]).
    #[serde(rename = "i")]
    Input(Input),
}

/// Opens a session.
///
/// Wire: `[protocol_version, name]`; `[protocol_version, name, resume]` to take back the
/// player of a connection that dropped (the `resume` token its `Welcome` carried, or nil);
/// `[protocol_version, name, resume, spectate]` to watch without a player (see
/// [`Spectate`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// Must equal the server's [`PROTOCOL_VERSION`].
    pub protocol_version: u16,
    /// Display name (the server truncates it to [`MAX_NAME_BYTES`]).
    pub name: String,
    /// The resume token of an earlier connection, to take its player back. Written as nil
    /// when absent and a `spectate` follows, so every element keeps its place.
    #[serde(default)]
    pub resume: Option<serde_bytes::ByteBuf>,
    /// Join as a spectator: no player entity, no inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spectate: Option<Spectate>,
}

impl Hello {
    /// A `Hello` of this protocol version for a new player called `name`.
    pub fn new(name: impl Into<String>) -> Hello {
        Hello {
            protocol_version: PROTOCOL_VERSION,
            name: name.into(),
            resume: None,
            spectate: None,
        }
    }

    /// A `Hello` that takes back the player of a dropped connection with the resume
    /// token its `Welcome` carried.
    pub fn resuming(name: impl Into<String>, token: &[u8]) -> Hello {
        Hello {
            resume: Some(serde_bytes::ByteBuf::from(token)),
            ..Hello::new(name)
        }
    }

    /// A `Hello` that joins as a spectator.
    pub fn spectating(name: impl Into<String>, spectate: Spectate) -> Hello {
        Hello {
            spectate: Some(spectate),
            ..Hello::new(name)
        }
    }
}

/// What a spectator watches. A spectator has no player entity and sends no inputs.
///
/// Wire: `[]` for the whole world, `[x, y]` (two floats) for the room's area of interest
/// around that point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Spectate {
    /// Every entity, wherever it is (the room's interest radius does not apply).
    World,
    /// The entities within the room's interest radius of this point (the whole world in
    /// a room without one).
    At([f32; 2]),
}

impl Serialize for Spectate {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Spectate::World => <[f32; 0]>::serialize(&[], serializer),
            Spectate::At(point) => point.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Spectate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let point: Vec<f64> = Vec::deserialize(deserializer)?;
        match point[..] {
            [] => Ok(Spectate::World),
            [x, y] if x.is_finite() && y.is_finite() && x.abs() <= 1e9 && y.abs() <= 1e9 => {
                Ok(Spectate::At([x as f32, y as f32]))
            }
            [_, _] => Err(D::Error::custom("spectate point must be finite")),
            _ => Err(D::Error::custom(format!(
                "spectate takes [] or [x, y], not {} numbers",
                point.len()
            ))),
        }
    }
}

/// Longest display name the server keeps, in bytes.
pub const MAX_NAME_BYTES: usize = 32;

/// Server to client.
///
/// Encoded as a flat MessagePack array whose first element is the message tag:
/// `[0, Welcome fields...]` or `[1, Snapshot fields...]`, so an idle snapshot costs seven
/// bytes in all.
#[derive(Clone, Debug, PartialEq)]
pub enum ServerMsg {
    /// Answer to a valid `Hello` (tag 0).
    Welcome(Welcome),
    /// A delta snapshot (tag 1).
    Snapshot(SnapshotFrame),
}

/// Tag of [`ServerMsg::Welcome`].
pub const WELCOME_TAG: u8 = 0;
/// Tag of [`ServerMsg::Snapshot`].
pub const SNAPSHOT_TAG: u8 = 1;

/// Accepts a session.
#[derive(Clone, Debug, PartialEq)]
pub struct Welcome {
    /// The server's protocol version.
    pub protocol_version: u16,
    /// This connection's id within the room.
    pub client_id: u32,
    /// The entity this client controls; nil for a spectator.
    pub player: Option<NetId>,
    /// Simulation steps per second.
    pub tick_rate: u16,
    /// Snapshots per second.
    pub snapshot_rate: u16,
    /// The room's tick when the client joined.
    pub tick: Tick,
    /// What the game's components and input hold.
    pub schema: Schema,
    /// Presented in a later `Hello`, takes this player back after a dropped connection
    /// (within the server's grace period). Opaque to clients.
    pub resume: Vec<u8>,
}

/// How a snapshot acknowledges inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputAck {
    /// No input applied yet.
    None,
    /// The last applied input `seq`.
    Absolute(u32),
    /// How far the last applied `seq` advanced since the previous ack on this connection.
    Advance(u32),
}

/// A snapshot as sent to one client: a per-client header around a body that every
/// client with the same baseline and view shares byte for byte.
///
/// Wire: `[1, flags, tick, ack, body]` with `flags` bit 0 = full, bit 1 = ack absolute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotFrame {
    /// A full snapshot (the client clears its world first) rather than a delta against
    /// the previous snapshot on this connection.
    pub full: bool,
    /// Full: the snapshot's tick. Delta: ticks since the baseline.
    pub tick: u32,
    /// The input acknowledgement.
    pub input_ack: InputAck,
    /// The bit-packed body (see [`crate::delta::encode_body`]); empty when nothing
    /// changed, in which case there is no checksum either.
    pub body: Vec<u8>,
}

const FLAG_FULL: u8 = 1;
const FLAG_ACK_ABSOLUTE: u8 = 2;

fn snapshot_flags(full: bool, ack: InputAck) -> (u8, Option<u32>) {
    let mut flags = if full { FLAG_FULL } else { 0 };
    let ack = match ack {
        InputAck::None => None,
        InputAck::Absolute(seq) => {
            flags |= FLAG_ACK_ABSOLUTE;
            Some(seq)
        }
        InputAck::Advance(by) => Some(by),
    };
    (flags, ack)
}

impl Serialize for ServerMsg {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        match self {
            ServerMsg::Welcome(welcome) => {
                let mut tuple = serializer.serialize_tuple(9)?;
                tuple.serialize_element(&WELCOME_TAG)?;
                tuple.serialize_element(&welcome.protocol_version)?;
                tuple.serialize_element(&welcome.client_id)?;
                tuple.serialize_element(&welcome.player)?;
                tuple.serialize_element(&welcome.tick_rate)?;
                tuple.serialize_element(&welcome.snapshot_rate)?;
                tuple.serialize_element(&welcome.tick)?;
                tuple.serialize_element(&welcome.schema)?;
                tuple.serialize_element(serde_bytes::Bytes::new(&welcome.resume))?;
                tuple.end()
            }
            ServerMsg::Snapshot(frame) => {
                let (flags, ack) = snapshot_flags(frame.full, frame.input_ack);
                let mut tuple = serializer.serialize_tuple(5)?;
                tuple.serialize_element(&SNAPSHOT_TAG)?;
                tuple.serialize_element(&flags)?;
                tuple.serialize_element(&frame.tick)?;
                tuple.serialize_element(&ack)?;
                tuple.serialize_element(serde_bytes::Bytes::new(&frame.body))?;
                tuple.end()
            }
        }
    }
}

/// Takes the next element of a message array, or fails naming it.
fn element<'de, A: serde::de::SeqAccess<'de>, T: Deserialize<'de>>(seq: &mut A, what: &str) -> Result<T, A::Error> {
    use serde::de::Error;
    seq.next_element()?
        .ok_or_else(|| A::Error::custom(format!("missing {what}")))
}

impl<'de> Deserialize<'de> for ServerMsg {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ServerMsg;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a server message array")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<ServerMsg, A::Error> {
                use serde::de::Error;
                let tag: u8 = element(&mut seq, "tag")?;
                let message = match tag {
                    WELCOME_TAG => ServerMsg::Welcome(Welcome {
                        protocol_version: element(&mut seq, "protocol_version")?,
                        client_id: element(&mut seq, "client_id")?,
                        player: element(&mut seq, "player")?,
                        tick_rate: element(&mut seq, "tick_rate")?,
                        snapshot_rate: element(&mut seq, "snapshot_rate")?,
                        tick: element(&mut seq, "tick")?,
                        schema: element(&mut seq, "schema")?,
                        resume: element::<_, serde_bytes::ByteBuf>(&mut seq, "resume")?.into_vec(),
                    }),
                    SNAPSHOT_TAG => {
                        let flags: u8 = element(&mut seq, "flags")?;
                        if flags & !(FLAG_FULL | FLAG_ACK_ABSOLUTE) != 0 {
                            return Err(A::Error::custom(format!("unknown snapshot flags {flags:#04x}")));
                        }
                        let tick: u32 = element(&mut seq, "tick")?;
                        let ack: Option<u32> = element(&mut seq, "input ack")?;
                        let body: serde_bytes::ByteBuf = element(&mut seq, "body")?;
                        let input_ack = match ack {
                            None => InputAck::None,
                            Some(seq) if flags & FLAG_ACK_ABSOLUTE != 0 => InputAck::Absolute(seq),
                            Some(by) => InputAck::Advance(by),
                        };
                        ServerMsg::Snapshot(SnapshotFrame {
                            full: flags & FLAG_FULL != 0,
                            tick,
                            input_ack,
                            body: body.into_vec(),
                        })
                    }
                    other => return Err(A::Error::custom(format!("unknown server message tag {other}"))),
                };
                if seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    return Err(A::Error::custom("extra elements in server message"));
                }
                Ok(message)
            }
        }
        deserializer.deserialize_seq(Visitor)
    }
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

/// Decodes exactly one `T` from `bytes`, refusing trailing bytes.
///
/// The deserializer reads straight from the slice: rmp-serde's reader-based
/// `Deserializer::new` allocates a scratch buffer on every call, which would cost the
/// server one allocation per inbound message.
fn decode_exact<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    let mut deserializer = rmp_serde::Deserializer::from_read_ref(bytes);
    let value = T::deserialize(&mut deserializer)?;
    if is_exhausted(&mut deserializer) {
        return Ok(value);
    }
    // Refusing the message, so the allocation no longer matters: decode again with the
    // reader-based deserializer, which tells how many bytes it left.
    let mut rest = bytes;
    T::deserialize(&mut rmp_serde::Deserializer::new(&mut rest))?;
    Err(DecodeError::TrailingBytes(rest.len()))
}

/// Whether a slice deserializer has consumed all of its input.
///
/// The slice deserializer does not say where it stopped, so this asks it for an
/// `Option`: that reads one marker byte, which fails exactly when no byte is left (any
/// byte is a marker), and the visitor accepts whatever it finds without reading on.
fn is_exhausted(deserializer: &mut rmp_serde::Deserializer<rmp_serde::decode::ReadRefReader<'_, [u8]>>) -> bool {
    struct AnyMarker;
    impl<'de> serde::de::Visitor<'de> for AnyMarker {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("any MessagePack marker")
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_some<D: serde::Deserializer<'de>>(self, _rest: D) -> Result<(), D::Error> {
            Ok(())
        }
    }
    serde::Deserializer::deserialize_option(deserializer, AnyMarker).is_err()
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
    /// Equivalent to encoding `ServerMsg::Snapshot` with `body.to_vec()`, without the copy.
    pub fn encode_snapshot_into(full: bool, tick: u32, input_ack: InputAck, body: &[u8], out: &mut Vec<u8>) {
        use rmp::encode;
        let (flags, ack) = snapshot_flags(full, input_ack);
        // Writes into a Vec cannot fail.
        let _ = encode::write_array_len(out, 5);
        let _ = encode::write_uint(out, u64::from(SNAPSHOT_TAG));
        let _ = encode::write_uint(out, u64::from(flags));
        let _ = encode::write_uint(out, u64::from(tick));
        match ack {
            Some(ack) => {
                let _ = encode::write_uint(out, u64::from(ack));
            }
            None => {
                let _ = encode::write_nil(out);
            }
        }
        let _ = encode::write_bin(out, body);
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
            ..Hello::new("ab")
        });
        // {"h": [1, "ab", nil]}
        assert_eq!(
            hello.encode().unwrap(),
            [0x81, 0xa1, b'h', 0x93, 0x01, 0xa2, b'a', b'b', 0xc0]
        );
        // {"h": [1, "ab"]}, as clients of earlier versions of this crate write it.
        assert_eq!(
            ClientMsg::decode(&[0x81, 0xa1, b'h', 0x92, 0x01, 0xa2, b'a', b'b']).unwrap(),
            hello
        );
        // {"h": [1, "ab", bin(07)]}
        let resuming = ClientMsg::Hello(Hello {
            resume: Some(serde_bytes::ByteBuf::from(vec![7])),
            ..Hello::new("ab")
        });
        let bytes = resuming.encode().unwrap();
        assert_eq!(bytes[3], 0x93, "three elements");
        assert_eq!(&bytes[bytes.len() - 3..], [0xc4, 0x01, 0x07]);
        assert_eq!(ClientMsg::decode(&bytes).unwrap(), resuming);
    }

    #[test]
    fn spectate_is_an_empty_array_or_a_point() {
        // {"h": [5, "", nil, []]}
        let world = ClientMsg::Hello(Hello::spectating("", Spectate::World));
        let bytes = world.encode().unwrap();
        assert_eq!(bytes, [0x81, 0xa1, b'h', 0x94, 0x05, 0xa0, 0xc0, 0x90]);
        assert_eq!(ClientMsg::decode(&bytes).unwrap(), world);
        let at = ClientMsg::Hello(Hello::spectating("", Spectate::At([1.5, -2.0])));
        let bytes = at.encode().unwrap();
        assert_eq!(&bytes[6..8], [0xc0, 0x92], "nil resume, then a two-element array");
        assert_eq!(ClientMsg::decode(&bytes).unwrap(), at);
        // Integers and float 64 are numbers too.
        let ints = [0x81, 0xa1, b'h', 0x94, 0x03, 0xa0, 0xc0, 0x92, 0x01, 0xcb];
        let mut ints = ints.to_vec();
        ints.extend_from_slice(&2.5f64.to_be_bytes());
        let ClientMsg::Hello(hello) = ClientMsg::decode(&ints).unwrap() else {
            panic!("not a hello")
        };
        assert_eq!(hello.spectate, Some(Spectate::At([1.0, 2.5])));
        // One number, three numbers, or a NaN are refused, naming what is wrong.
        for (tail, reason) in [
            (vec![0x91, 0x01], "not 1 numbers"),
            (vec![0x93, 0x01, 0x02, 0x03], "not 3 numbers"),
            (
                [vec![0x92, 0x01, 0xcb], f64::NAN.to_be_bytes().to_vec()].concat(),
                "finite",
            ),
        ] {
            let mut bytes = vec![0x81, 0xa1, b'h', 0x94, 0x03, 0xa0, 0xc0];
            bytes.extend_from_slice(&tail);
            let error = ClientMsg::decode(&bytes).unwrap_err().to_string();
            assert!(error.contains(reason), "{error}");
        }
    }

    #[test]
    fn borrowed_snapshot_encoding_matches_owned_and_idle_is_seven_bytes() {
        for (full, ack) in [
            (true, InputAck::Absolute(70_000)),
            (false, InputAck::Advance(2)),
            (false, InputAck::None),
        ] {
            let body = vec![0xab; 300];
            let mut borrowed = Vec::new();
            ServerMsg::encode_snapshot_into(full, 9, ack, &body, &mut borrowed);
            let owned = ServerMsg::Snapshot(SnapshotFrame {
                full,
                tick: 9,
                input_ack: ack,
                body,
            });
            assert_eq!(borrowed, owned.encode().unwrap());
            assert_eq!(ServerMsg::decode(&borrowed).unwrap(), owned);
        }
        let mut idle = Vec::new();
        ServerMsg::encode_snapshot_into(false, 2, InputAck::Advance(2), &[], &mut idle);
        assert_eq!(idle, [0x95, 0x01, 0x00, 0x02, 0x02, 0xc4, 0x00]);
    }

    #[test]
    fn welcome_round_trips_and_unknown_tags_are_refused() {
        let welcome = ServerMsg::Welcome(Welcome {
            protocol_version: 3,
            client_id: 3,
            player: Some(NetId::from_parts(4, 1)),
            tick_rate: 60,
            snapshot_rate: 30,
            tick: Tick(99),
            schema: Schema::default(),
            resume: vec![0xab],
        });
        let bytes = welcome.encode().unwrap();
        // [0, 3, 3, [4, 1], 60, 30, 99, ["", [], []], bin(ab)]
        assert_eq!(
            bytes,
            [
                0x99, 0x00, 0x03, 0x03, 0x92, 0x04, 0x01, 0x3c, 0x1e, 0x63, 0x93, 0xa0, 0x90, 0x90, 0xc4, 0x01, 0xab
            ]
        );
        assert_eq!(ServerMsg::decode(&bytes).unwrap(), welcome);
        assert!(ServerMsg::decode(&[0x92, 0x07, 0x00]).is_err());
        assert!(
            ServerMsg::decode(&[0x95, 0x01, 0x80, 0x02, 0xc0, 0xc4, 0x00]).is_err(),
            "unknown flag bits"
        );
    }

    #[test]
    fn float_64_and_integers_are_accepted_for_input_values() {
        // {"i": [7, nil, 1, -0.5 as float 64, 0.25 as float 32, 1]}: what a JavaScript
        // MessagePack encoder writes by default (whole numbers as integers, others as
        // float 64).
        let mut bytes = vec![0x81, 0xa1, b'i', 0x96, 0x07, 0xc0, 0x01, 0xcb];
        bytes.extend_from_slice(&(-0.5f64).to_be_bytes());
        bytes.push(0xca);
        bytes.extend_from_slice(&0.25f32.to_be_bytes());
        bytes.push(0x01);
        let expected = Input::with_values(7, None, &[1.0, -0.5, 0.25, 1.0]);
        assert_eq!(ClientMsg::decode(&bytes).unwrap(), ClientMsg::Input(expected));
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = ClientMsg::Input(Input::default()).encode().unwrap();
        bytes.push(0);
        assert!(matches!(ClientMsg::decode(&bytes), Err(DecodeError::TrailingBytes(1))));
    }

    #[test]
    fn a_huge_length_prefix_is_an_error_not_an_allocation() {
        // A snapshot whose body claims 2^32-1 bytes.
        let bytes = [0x95, 0x01, 0x00, 0x02, 0xc0, 0xc6, 0xff, 0xff, 0xff, 0xff];
        assert!(ServerMsg::decode(&bytes).is_err());
    }

    /// The reader-based decoding `decode_exact` replaced: the reference it must agree with.
    fn decode_with_reader<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
        let mut rest = bytes;
        let value = T::deserialize(&mut rmp_serde::Deserializer::new(&mut rest)).map_err(|error| error.to_string())?;
        match rest.len() {
            0 => Ok(value),
            extra => Err(format!("{extra} trailing")),
        }
    }

    fn same_outcome<T: PartialEq + std::fmt::Debug>(new: Result<T, DecodeError>, old: Result<T, String>) -> bool {
        match (new, old) {
            (Ok(new), Ok(old)) => new == old,
            (Err(DecodeError::TrailingBytes(n)), Err(old)) => old == format!("{n} trailing"),
            (Err(DecodeError::Malformed(_)), Err(old)) => !old.ends_with(" trailing"),
            _ => false,
        }
    }

    proptest! {
        #[test]
        fn slice_decoding_agrees_with_reader_decoding(
            seq: u32,
            cut in 0usize..40,
            flip in 0usize..40,
            noise: u8,
            tail in prop::collection::vec(any::<u8>(), 0..4),
        ) {
            let messages = [
                ClientMsg::Input(Input::with_values(seq, None, &[0.5, 0.0, 0.0, 0.0])).encode().unwrap(),
                ClientMsg::Hello(Hello::new("név")).encode().unwrap(),
            ];
            for valid in messages {
                // Truncated, corrupted in one byte, and extended variants of a valid message.
                let mut bytes = valid[..cut.min(valid.len())].to_vec();
                if let Some(byte) = bytes.get_mut(flip) {
                    *byte ^= noise;
                }
                bytes.extend_from_slice(&tail);
                prop_assert!(same_outcome(ClientMsg::decode(&bytes), decode_with_reader::<ClientMsg>(&bytes)));
            }
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics_and_matches_reader_decoding(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            prop_assert!(same_outcome(ClientMsg::decode(&bytes), decode_with_reader::<ClientMsg>(&bytes)));
            prop_assert!(same_outcome(ServerMsg::decode(&bytes), decode_with_reader::<ServerMsg>(&bytes)));
        }

        #[test]
        fn any_bytes_after_a_message_are_counted_as_trailing(
            seq: u32,
            name in "[a-z]{0,40}",
            trailing in prop::collection::vec(any::<u8>(), 1..64),
        ) {
            let hello = ClientMsg::Hello(Hello::new(name));
            let input = ClientMsg::Input(Input::with_values(seq, Some(Tick(seq)), &[0.0; 4]));
            let idle = ServerMsg::Snapshot(SnapshotFrame {
                full: false,
                tick: seq,
                input_ack: InputAck::None,
                body: Vec::new(),
            });
            for mut bytes in [hello.encode().unwrap(), input.encode().unwrap()] {
                bytes.extend_from_slice(&trailing);
                prop_assert!(
                    matches!(ClientMsg::decode(&bytes), Err(DecodeError::TrailingBytes(n)) if n == trailing.len())
                );
            }
            let mut bytes = idle.encode().unwrap();
            bytes.extend_from_slice(&trailing);
            prop_assert!(
                matches!(ServerMsg::decode(&bytes), Err(DecodeError::TrailingBytes(n)) if n == trailing.len())
            );
        }
    }
}
