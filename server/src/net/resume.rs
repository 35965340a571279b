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
