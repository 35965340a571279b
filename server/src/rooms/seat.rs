//! Seat tokens: what `POST /matchmake` hands a client, and the WebSocket upgrade takes
//! back as `?seat=`.
//!
//! A token names the room, a seat number, its expiry and the player's authenticated
//! identity (the auth token's `sub`, empty on an open server), signed with HMAC-SHA256
//! under a key the node makes at start. The node that reserved the seat is the node that
//! checks it (a seat is always for a room on the node that signed it), so nodes share no
//! key. The signature makes a token unforgeable; the expiry bounds how long a reserved
//! seat is held; single use is the registry's part (it forgets a seat once claimed).
//!
//! The text form is URL-safe base64 (no padding) of
//! `version:u8, seat:u64, expires_unix_ms:u64, room_len:u8, room, subject, mac[32]`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use thiserror::Error;

type HmacSha256 = Hmac<Sha256>;

const VERSION: u8 = 1;
const MAC_BYTES: usize = 32;
/// Version, seat, expiry, room length.
const FIXED: usize = 1 + 8 + 8 + 1;
/// Longest token accepted, in characters: room ids and subjects are short.
const MAX_TEXT: usize = 1024;

/// What a seat token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seat {
    /// The room the seat is in.
    pub room: String,
    /// The seat's number within the node, random.
    pub seat: u64,
    /// When the reservation ends, milliseconds since the Unix epoch.
    pub expires_unix_ms: u64,
    /// Who it was reserved for (the auth token's `sub`; empty on an open server).
    pub subject: String,
}

/// Why a seat token was refused.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum SeatError {
    /// Not a token of ours, or altered.
    #[error("seat token invalid")]
    Invalid,
    /// Signed by us, but past its expiry.
    #[error("seat token expired")]
    Expired,
    /// Already claimed by an earlier connection.
    #[error("seat already used")]
    AlreadyUsed,
    /// Its room is gone (disposed), or lives on another node.
    #[error("the seat's room is not on this node")]
    NoSuchRoom,
}

/// Signs and checks seat tokens with this node's key.
pub struct SeatKeys {
    key: [u8; 32],
}

impl SeatKeys {
    /// A key from the system's secure random source.
    pub fn random() -> SeatKeys {
        SeatKeys { key: random_key() }
    }

    fn mac(&self, body: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("hmac takes any key length");
        mac.update(body);
        mac
    }

    /// The token for `seat`.
    pub fn sign(&self, seat: &Seat) -> String {
        let room = &seat.room.as_bytes()[..seat.room.len().min(u8::MAX as usize)];
        let mut bytes = Vec::with_capacity(FIXED + room.len() + seat.subject.len() + MAC_BYTES);
        bytes.push(VERSION);
        bytes.extend_from_slice(&seat.seat.to_le_bytes());
        bytes.extend_from_slice(&seat.expires_unix_ms.to_le_bytes());
        bytes.push(room.len() as u8);
        bytes.extend_from_slice(room);
        bytes.extend_from_slice(seat.subject.as_bytes());
        let signature = self.mac(&bytes).finalize().into_bytes();
        bytes.extend_from_slice(&signature);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// What `token` says, without checking its signature: which room it names, so that
    /// a token for a room this node does not host gets "not here" rather than "forged".
    pub fn read(text: &str) -> Result<Seat, SeatError> {
        if text.len() > MAX_TEXT {
            return Err(SeatError::Invalid);
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| SeatError::Invalid)?;
        let (body, _) = split(&bytes)?;
        parse(body)
    }

    /// What `token` says, if we signed it and it has not expired at `now_unix_ms`.
    pub fn verify(&self, text: &str, now_unix_ms: u64) -> Result<Seat, SeatError> {
        if text.len() > MAX_TEXT {
            return Err(SeatError::Invalid);
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| SeatError::Invalid)?;
        let (body, signature) = split(&bytes)?;
        self.mac(body).verify_slice(signature).map_err(|_| SeatError::Invalid)?;
        let seat = parse(body)?;
        if seat.expires_unix_ms <= now_unix_ms {
            return Err(SeatError::Expired);
        }
        Ok(seat)
    }
}

fn split(bytes: &[u8]) -> Result<(&[u8], &[u8]), SeatError> {
    if bytes.len() < FIXED + MAC_BYTES {
        return Err(SeatError::Invalid);
    }
    Ok(bytes.split_at(bytes.len() - MAC_BYTES))
}

fn parse(body: &[u8]) -> Result<Seat, SeatError> {
    if body.len() < FIXED || body[0] != VERSION {
        return Err(SeatError::Invalid);
    }
    let word = |at: usize| {
        let mut word = [0u8; 8];
        word.copy_from_slice(&body[at..at + 8]);
        u64::from_le_bytes(word)
    };
    let room_len = usize::from(body[17]);
    let rest = &body[FIXED..];
    if rest.len() < room_len {
        return Err(SeatError::Invalid);
    }
    let (room, subject) = rest.split_at(room_len);
    let text = |bytes: &[u8]| String::from_utf8(bytes.to_vec()).map_err(|_| SeatError::Invalid);
    Ok(Seat {
        seat: word(1),
        expires_unix_ms: word(9),
        room: text(room)?,
        subject: text(subject)?,
    })
}

/// A 256-bit key from the system's secure random source (aws-lc's, which does not fail
/// on Linux; if it did, the key would stay zeroed and the error would be logged).
pub fn random_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    let random = rustls::crypto::aws_lc_rs::default_provider().secure_random;
    if random.fill(&mut key).is_err() {
        tracing::error!("no secure random source: signed tokens are forgeable");
    }
    key
}

/// Milliseconds since the Unix epoch now.
pub fn now_unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seat() -> Seat {
        Seat {
            room: "arena-1a2b3c".to_owned(),
            seat: 42,
            expires_unix_ms: 10_000,
            subject: "alice".to_owned(),
        }
    }

    #[test]
    fn a_signed_seat_reads_back_until_it_expires() {
        let keys = SeatKeys::random();
        let token = keys.sign(&seat());
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(keys.verify(&token, 9_999), Ok(seat()));
        assert_eq!(SeatKeys::read(&token), Ok(seat()));
        assert_eq!(keys.verify(&token, 10_000), Err(SeatError::Expired));
    }

    #[test]
    fn forged_altered_and_foreign_tokens_are_invalid() {
        let keys = SeatKeys::random();
        let token = keys.sign(&seat());
        assert_eq!(
            SeatKeys::random().verify(&token, 0),
            Err(SeatError::Invalid),
            "another node's key"
        );
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        bytes[1] ^= 1; // another seat number
        assert_eq!(keys.verify(&URL_SAFE_NO_PAD.encode(&bytes), 0), Err(SeatError::Invalid));
        for garbage in ["", "x", "!!!!", &"A".repeat(2000), &token[..token.len() - 4]] {
            assert_eq!(keys.verify(garbage, 0), Err(SeatError::Invalid), "{garbage:.20}");
        }
    }
}
