//! Resume tokens: what a client presents in its next `Hello` to take its player back
//! after its connection dropped.
//!
//! A token names the client id and the player, and is signed (HMAC-SHA256) with a key
//! made at start, over those, the room and the player's authenticated identity (the auth
//! token's `sub`, empty on an open server). So it cannot be forged, it is bound to its
//! player and room, and it is worthless to anyone authenticated as someone else. It expires with its
//! player: the room keeps an away player for the resume grace period only, and a
//! restarted server has a new key.

use crate::room::ClientId;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use tickcast_shared::NetId;

type HmacSha256 = Hmac<Sha256>;

/// Bytes of the token before its signature: client id, slot index, generation.
const BODY: usize = 12;
/// Bytes of a token: body and HMAC-SHA256.
pub const TOKEN_BYTES: usize = BODY + 32;

/// Makes and checks resume tokens with this server's key.
pub struct ResumeKeys {
    key: [u8; 32],
}

impl ResumeKeys {
    /// A key from the system's secure random source.
    pub fn random() -> ResumeKeys {
        ResumeKeys {
            key: crate::rooms::random_key(),
        }
    }

    fn mac(&self, body: &[u8], room: &str, subject: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("hmac takes any key length");
        mac.update(body);
        // The room's length first, so that no room and subject pair reads as another.
        mac.update(&(room.len() as u64).to_le_bytes());
        mac.update(room.as_bytes());
        mac.update(subject.as_bytes());
        mac
    }

    /// The token for `client`, controlling `player` in `room`, authenticated as `subject`.
    pub fn token(&self, client: ClientId, player: NetId, room: &str, subject: &str) -> Vec<u8> {
        let mut token = Vec::with_capacity(TOKEN_BYTES);
        token.extend_from_slice(&client.to_le_bytes());
        token.extend_from_slice(&player.index().to_le_bytes());
        token.extend_from_slice(&player.generation().to_le_bytes());
        let signature = self.mac(&token, room, subject).finalize().into_bytes();
        token.extend_from_slice(&signature);
        token
    }

    /// The client and player a token names, if it is one of ours for `room` and `subject`.
    pub fn verify(&self, token: &[u8], room: &str, subject: &str) -> Option<(ClientId, NetId)> {
        if token.len() != TOKEN_BYTES {
            return None;
        }
        let (body, signature) = token.split_at(BODY);
        self.mac(body, room, subject).verify_slice(signature).ok()?;
        let word = |at: usize| u32::from_le_bytes([body[at], body[at + 1], body[at + 2], body[at + 3]]);
        Some((word(0), NetId::from_parts(word(4), word(8))))
    }
}

/// The live connection of each joined client. A resume for a client whose connection
/// is still open (the client saw it die; the server has not yet, as after a silent
/// network drop) ends that connection, so the resume can take the player over at once
/// instead of waiting for the ping deadline.
#[derive(Debug, Default)]
pub struct Sessions {
    live: Mutex<HashMap<ClientId, Session>>,
}

/// One connection's registration in [`Sessions`].
#[derive(Clone, Debug)]
pub struct Session {
    /// Set when another connection resumes this client; its writer checks it on every
    /// wake-up and closes.
    pub taken_over: Arc<AtomicBool>,
    /// Which connection registered (a client id outlives its connections).
    connection: u64,
}

impl Sessions {
    /// Registers `connection` as `client`'s live connection.
    pub fn open(&self, client: ClientId, connection: u64) -> Session {
        let session = Session {
            taken_over: Arc::new(AtomicBool::new(false)),
            connection,
        };
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        live.insert(client, session.clone());
        session
    }

    /// Forgets `client`'s connection, if `session` is still the one registered.
    pub fn close(&self, client: ClientId, session: &Session) {
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        if live
            .get(&client)
            .is_some_and(|current| current.connection == session.connection)
        {
            live.remove(&client);
        }
    }

    /// Ends `client`'s live connection, if it has one.
    pub fn take_over(&self, client: ClientId) {
        let live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(session) = live.get(&client) {
            session.taken_over.store(true, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_only_unaltered_and_for_its_subject() {
        let keys = ResumeKeys::random();
        let player = NetId::from_parts(7, 3);
        let token = keys.token(42, player, "arena-1", "alice");
        assert_eq!(keys.verify(&token, "arena-1", "alice"), Some((42, player)));
        assert_eq!(
            keys.verify(&token, "arena-1", "mallory"),
            None,
            "bound to its player's identity"
        );
        assert_eq!(keys.verify(&token, "arena-2", "alice"), None, "bound to its room");
        let mut altered = token.clone();
        altered[0] ^= 1;
        assert_eq!(keys.verify(&altered, "arena-1", "alice"), None, "another client id");
        assert_eq!(keys.verify(&token[..20], "arena-1", "alice"), None);
        assert_eq!(
            ResumeKeys::random().verify(&token, "arena-1", "alice"),
            None,
            "another server's key"
        );
    }
}
