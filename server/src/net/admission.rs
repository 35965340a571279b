//! Who may open a game connection, decided before the upgrade so that a refusal is an
//! HTTP status with a reason (RFC 6455 §4.2.2) and costs the server no WebSocket:
//! - **Origin** (`--allowed-origin`, repeatable): a browser page from any other origin
//!   gets 403. Clients that send no `Origin` (native clients, bots) are not browsers and
//!   pass; a browser always sends one.
//! - **Token** (`--auth-secret`): an HS256 JSON Web Token (RFC 7519) signed with the
//!   secret, carrying the player (`sub`), optionally the room (`room`) and an expiry
//!   (`exp`). Presented as the query parameter `token`, as `Authorization: Bearer`
//!   (native clients, the HTTP fallback), or, for browsers (which cannot set headers on
//!   a WebSocket), as the subprotocol `token.<jwt>` next to `tickcast`.
//!   Missing, malformed, forged or expired: 401. Any JWT library mints one, and
//!   `tickcast-server token` does (see `docs/AUTH.md`).
//! - **Connections per address** (`limits.max_connections_per_ip`): one host cannot
//!   take the slots of everyone else; over the limit, 503 with `Retry-After`.

use axum::http::{HeaderMap, StatusCode, header};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use thiserror::Error;

/// The subprotocol a client offers (and the server selects) on the game endpoint.
pub const SUBPROTOCOL: &str = "tickcast";
/// Prefix of the subprotocol that carries a token.
pub const TOKEN_SUBPROTOCOL_PREFIX: &str = "token.";

/// What a token says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The player, as the game's backend names them.
    pub sub: String,
    /// The room or match the token admits to; absent: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
}

/// Why a token could not be made.
#[derive(Debug, Error)]
#[error("signing the token: {0}")]
pub struct MintError(#[from] jsonwebtoken::errors::Error);

/// Signs `claims` with `secret`: what a game backend does after its own login.
pub fn mint(secret: &[u8], claims: &Claims) -> Result<String, MintError> {
    Ok(jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret)?,
    )?)
}

/// Claims for `player`, optionally bound to `room`, valid for `ttl` from now.
pub fn claims_for(player: &str, room: Option<&str>, ttl: Duration) -> Claims {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Claims {
        sub: player.to_owned(),
        room: room.map(str::to_owned),
        exp: (now + ttl).as_secs(),
    }
}

/// A refusal before the upgrade: the status and a reason for the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// 401, 403 or 503.
    pub status: StatusCode,
    /// Why, in a few words.
    pub reason: &'static str,
}

impl Refusal {
    const fn new(status: StatusCode, reason: &'static str) -> Refusal {
        Refusal { status, reason }
    }
}

/// Connections open per address, shared by every connection task.
#[derive(Debug, Default)]
struct PerAddress {
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's place in its address's count; gives it back when dropped.
#[derive(Debug)]
pub struct AddressSlot {
    counts: Arc<PerAddress>,
    address: IpAddr,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.counts.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

/// The admission rules of the game endpoint.
pub struct Admission {
    allowed_origins: Vec<String>,
    key: Option<DecodingKey>,
    validation: Validation,
    room: String,
    max_per_address: usize,
    per_address: Arc<PerAddress>,
}

/// What an admitted upgrade carries into its connection.
#[derive(Debug)]
pub struct Admitted {
    /// The token's claims, when the server checks tokens.
    pub claims: Option<Claims>,
    /// Whether the client offered the `tickcast` subprotocol (the answer must select it).
    pub subprotocol: bool,
    /// Held for as long as the connection lives.
    pub slot: AddressSlot,
}

impl Admission {
    /// Rules for the room `room`: tokens signed with `secret` (none: open), pages from
    /// `allowed_origins` (empty: any), at most `max_per_address` connections per address.
    pub fn new(secret: Option<&[u8]>, allowed_origins: &[String], room: &str, max_per_address: usize) -> Admission {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Admission {
            allowed_origins: allowed_origins
                .iter()
                .map(|o| o.trim_end_matches('/').to_owned())
                .collect(),
            // Only an empty secret fails to be a key, and an empty secret means "open".
            key: secret
                .filter(|secret| !secret.is_empty())
                .and_then(|secret| DecodingKey::from_secret(secret).ok()),
            validation,
            room: room.to_owned(),
            max_per_address,
            per_address: Arc::default(),
        }
    }

    /// Decides on one upgrade request from `address` to the default room.
    pub fn admit(&self, headers: &HeaderMap, query: Option<&str>, address: IpAddr) -> Result<Admitted, Refusal> {
        self.admit_to(headers, query, address, &[&self.room])
    }

    /// Decides on one upgrade request from `address` to a room a token with a `room`
    /// claim must name by one of `rooms` (its id or its kind).
    pub fn admit_to(
        &self,
        headers: &HeaderMap,
        query: Option<&str>,
        address: IpAddr,
        rooms: &[&str],
    ) -> Result<Admitted, Refusal> {
        self.check_origin(headers)?;
        let (token, subprotocol) = presented_token(headers, query);
        let claims = match &self.key {
            None => None,
            Some(key) => Some(self.check_token(key, token.as_deref(), rooms)?),
        };
        let slot = self.take_slot(address)?;
        Ok(Admitted {
            claims,
            subprotocol,
            slot,
        })
    }

    /// Decides on an upgrade that presents a seat: the seat stands for the token (its
    /// player was authenticated when it was reserved), so only the origin and the
    /// address's count are checked here.
    pub fn admit_seated(&self, headers: &HeaderMap, address: IpAddr) -> Result<Admitted, Refusal> {
        self.check_origin(headers)?;
        let (_, subprotocol) = presented_token(headers, None);
        let slot = self.take_slot(address)?;
        Ok(Admitted {
            claims: None,
            subprotocol,
            slot,
        })
    }

    /// Checks the token of a plain HTTP request (`POST /matchmake`): from an
    /// `Authorization: Bearer` header or the query's `token`. `None` on an open server.
    pub fn authorize(
        &self,
        headers: &HeaderMap,
        query: Option<&str>,
        rooms: &[&str],
    ) -> Result<Option<Claims>, Refusal> {
        self.check_origin(headers)?;
        let Some(key) = &self.key else {
            return Ok(None);
        };
        let token = presented_token(headers, query).0;
        self.check_token(key, token.as_deref(), rooms).map(Some)
    }

    /// The player a request of an admitted session presents itself as (the HTTP
    /// fallback's stream and sends): the `sub` of its token, checked for its signature
    /// but neither its expiry nor its room, since a session may outlive the token that
    /// opened it, as a WebSocket does. `None` on an open server or without a token.
    pub fn presented_subject(&self, headers: &HeaderMap, query: Option<&str>) -> Result<Option<String>, Refusal> {
        self.check_origin(headers)?;
        let (Some(key), (Some(token), _)) = (&self.key, presented_token(headers, query)) else {
            return Ok(None);
        };
        let mut validation = self.validation.clone();
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["sub"]);
        jsonwebtoken::decode::<SubjectOnly>(&token, key, &validation)
            .map(|data| Some(data.claims.sub))
            .map_err(|_| Refusal::new(StatusCode::UNAUTHORIZED, "the token is malformed or forged"))
    }

    /// Refuses a page from an origin not on the allow-list (403); clients that send no
    /// `Origin` are not browsers and pass.
    pub fn check_origin(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return Ok(());
        };
        if self.allowed_origins.is_empty() {
            return Ok(());
        }
        let origin = origin.to_str().unwrap_or_default();
        if self.allowed_origins.iter().any(|allowed| allowed == origin) {
            Ok(())
        } else {
            Err(Refusal::new(StatusCode::FORBIDDEN, "origin not allowed"))
        }
    }

    fn check_token(&self, key: &DecodingKey, token: Option<&str>, rooms: &[&str]) -> Result<Claims, Refusal> {
        let token = token.ok_or(Refusal::new(StatusCode::UNAUTHORIZED, "a token is required"))?;
        let claims = jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .map_err(|error| {
                use jsonwebtoken::errors::ErrorKind;
                let reason = match error.kind() {
                    ErrorKind::ExpiredSignature => "the token has expired",
                    ErrorKind::InvalidSignature => "the token's signature is not valid",
                    ErrorKind::MissingRequiredClaim(_) => "the token lacks sub or exp",
                    _ => "the token is malformed",
                };
                Refusal::new(StatusCode::UNAUTHORIZED, reason)
            })?
            .claims;
        match &claims.room {
            Some(room) if !rooms.contains(&room.as_str()) => {
                Err(Refusal::new(StatusCode::FORBIDDEN, "the token is for another room"))
            }
            _ => Ok(claims),
        }
    }

    fn take_slot(&self, address: IpAddr) -> Result<AddressSlot, Refusal> {
        let mut open = self.per_address.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(address).or_default();
        if *count >= self.max_per_address {
            return Err(Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many connections from this address",
            ));
        }
        *count += 1;
        Ok(AddressSlot {
            counts: Arc::clone(&self.per_address),
            address,
        })
    }
}

/// A token's `sub` alone, for [`Admission::presented_subject`].
#[derive(Deserialize)]
struct SubjectOnly {
    sub: String,
}

/// The token from the query (`token=`), an `Authorization: Bearer` header or a
/// `token.<jwt>` subprotocol, in that order, and whether the `tickcast` subprotocol was
/// offered.
fn presented_token(headers: &HeaderMap, query: Option<&str>) -> (Option<String>, bool) {
    let offered: Vec<&str> = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    let from_protocol = offered
        .iter()
        .find_map(|protocol| protocol.strip_prefix(TOKEN_SUBPROTOCOL_PREFIX))
        .map(str::to_owned);
    let from_query = query.and_then(|query| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix("token="))
            .map(str::to_owned)
    });
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::to_owned);
    (from_query.or(bearer).or(from_protocol), offered.contains(&SUBPROTOCOL))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| (name.clone(), HeaderValue::from_str(value).unwrap()))
            .collect()
    }

    #[test]
    fn a_signed_token_admits_and_a_forged_or_expired_one_does_not() {
        let admission = Admission::new(Some(b"secret"), &[], "arena", 8);
        let good = mint(b"secret", &claims_for("p1", None, Duration::from_secs(60))).unwrap();
        let admitted = admission
            .admit(&HeaderMap::new(), Some(&format!("token={good}")), LOCAL)
            .unwrap();
        assert_eq!(admitted.claims.unwrap().sub, "p1");

        let forged = mint(b"other", &claims_for("p1", None, Duration::from_secs(60))).unwrap();
        let refusal = admission
            .admit(&HeaderMap::new(), Some(&format!("token={forged}")), LOCAL)
            .unwrap_err();
        assert_eq!(
            refusal,
            Refusal::new(StatusCode::UNAUTHORIZED, "the token's signature is not valid")
        );

        let mut old = claims_for("p1", None, Duration::ZERO);
        old.exp -= 60;
        let expired = mint(b"secret", &old).unwrap();
        let refusal = admission
            .admit(&HeaderMap::new(), Some(&format!("token={expired}")), LOCAL)
            .unwrap_err();
        assert_eq!(refusal.reason, "the token has expired");

        let refusal = admission.admit(&HeaderMap::new(), None, LOCAL).unwrap_err();
        assert_eq!(refusal.status, StatusCode::UNAUTHORIZED);
        let refusal = admission
            .admit(&HeaderMap::new(), Some("token=abc.def"), LOCAL)
            .unwrap_err();
        assert_eq!(refusal.reason, "the token is malformed");

        let other_room = mint(b"secret", &claims_for("p1", Some("lobby"), Duration::from_secs(60))).unwrap();
        let refusal = admission
            .admit(&HeaderMap::new(), Some(&format!("token={other_room}")), LOCAL)
            .unwrap_err();
        assert_eq!(refusal.status, StatusCode::FORBIDDEN);
    }

    #[test]
    fn a_browser_presents_its_token_as_a_subprotocol() {
        let admission = Admission::new(Some(b"secret"), &[], "arena", 8);
        let token = mint(b"secret", &claims_for("p2", Some("arena"), Duration::from_secs(60))).unwrap();
        let offered = headers(&[(header::SEC_WEBSOCKET_PROTOCOL, &format!("tickcast, token.{token}"))]);
        let admitted = admission.admit(&offered, None, LOCAL).unwrap();
        assert!(admitted.subprotocol);
        assert_eq!(admitted.claims.unwrap().sub, "p2");
    }

    #[test]
    fn only_listed_origins_pass_and_clients_without_one_are_not_browsers() {
        let admission = Admission::new(None, &["https://game.example/".to_owned()], "arena", 8);
        let from = |origin: &str| admission.admit(&headers(&[(header::ORIGIN, origin)]), None, LOCAL);
        assert!(from("https://game.example").is_ok());
        assert_eq!(from("https://evil.example").unwrap_err().status, StatusCode::FORBIDDEN);
        assert!(admission.admit(&HeaderMap::new(), None, LOCAL).is_ok());
    }

    #[test]
    fn each_address_has_its_own_limit_and_slots_come_back() {
        let admission = Admission::new(None, &[], "arena", 2);
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        let first = admission.admit(&HeaderMap::new(), None, LOCAL).unwrap();
        let _second = admission.admit(&HeaderMap::new(), None, LOCAL).unwrap();
        let refusal = admission.admit(&HeaderMap::new(), None, LOCAL).unwrap_err();
        assert_eq!(refusal.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            admission.admit(&HeaderMap::new(), None, other).is_ok(),
            "another address is not affected"
        );
        drop(first);
        assert!(
            admission.admit(&HeaderMap::new(), None, LOCAL).is_ok(),
            "a closed connection frees its slot"
        );
    }
}
