//! Resume tokens: what a client presents in its next `Hello` to take its player back
//! after its connection dropped.
//!
//! A token names the client id and the player, and is signed (HMAC-SHA256) with a key
//! made at start, over those and the player's authenticated identity (the auth token's
//! `sub`, empty on an open server). So it cannot be forged, it is bound to its player,
//! and it is worthless to anyone authenticated as someone else. It expires with its
//! player: the room keeps an away player for the resume grace period only, and a
//! restarted server has a new key.

use crate::room::ClientId;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use tickcast_shared::NetId;
use tokio_util::sync::CancellationToken;

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
        let mut key = [0u8; 32];
        // A failed source leaves the key zeroed: tokens still work, but could be forged
        // by someone who knows that; aws-lc's source does not fail on Linux.
        let random = rustls::crypto::aws_lc_rs::default_provider().secure_random;
        if random.fill(&mut key).is_err() {
            tracing::error!("no secure random source: resume tokens are forgeable");
        }
        ResumeKeys { key }
    }

    fn mac(&self, body: &[u8], subject: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("hmac takes any key length");
        mac.update(body);
        mac.update(subject.as_bytes());
        mac
    }

    /// The token for `client`, controlling `player`, authenticated as `subject`.
    pub fn token(&self, client: ClientId, player: NetId, subject: &str) -> Vec<u8> {
        let mut token = Vec::with_capacity(TOKEN_BYTES);
        token.extend_from_slice(&client.to_le_bytes());
        token.extend_from_slice(&player.index().to_le_bytes());
        token.extend_from_slice(&player.generation().to_le_bytes());
        let signature = self.mac(&token, subject).finalize().into_bytes();
        token.extend_from_slice(&signature);
        token
    }

    /// The client and player a token names, if it is one of ours for `subject`.
    pub fn verify(&self, token: &[u8], subject: &str) -> Option<(ClientId, NetId)> {
        if token.len() != TOKEN_BYTES {
            return None;
        }
        let (body, signature) = token.split_at(BODY);
        self.mac(body, subject).verify_slice(signature).ok()?;
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
    /// Cancelled when another connection resumes this client.
    pub taken_over: CancellationToken,
    /// Which connection registered (a client id outlives its connections).
    connection: u64,
}

impl Sessions {
    /// Registers `connection` as `client`'s live connection.
    pub fn open(&self, client: ClientId, connection: u64) -> Session {
        let session = Session {
            taken_over: CancellationToken::new(),
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
            session.taken_over.cancel();
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
        let token = keys.token(42, player, "alice");
        assert_eq!(keys.verify(&token, "alice"), Some((42, player)));
        assert_eq!(keys.verify(&token, "mallory"), None, "bound to its player's identity");
        let mut altered = token.clone();
        altered[0] ^= 1;
        assert_eq!(keys.verify(&altered, "alice"), None, "another client id");
        assert_eq!(keys.verify(&token[..20], "alice"), None);
        assert_eq!(
            ResumeKeys::random().verify(&token, "alice"),
            None,
            "another server's key"
        );
    }
}
