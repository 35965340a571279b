//! The `upgrade_request` target: what the game port decides on any request to `/ws`.
//!
//! The bytes are parsed as an HTTP/1.x request head with `httparse` (the parser under
//! hyper, which the server runs) and built into an `http::Request` as hyper would (a
//! request hyper would refuse before routing, such as an invalid header, is dropped).
//! Then, in the server's order (`upgrade` in `server/src/net/front.rs`):
//! 1. the RFC 6455 check, `tickcast_server::net::check_upgrade_for_fuzzing` (the private
//!    `check_upgrade` and the refusal's answer);
//! 2. if it passes, admission, `tickcast_server::net::admission::Admission::admit`, with
//!    tokens required and an origin allow-list: the `Origin` header, the
//!    `Sec-WebSocket-Protocol` list, the query's `token=` and the JWT in it (base64,
//!    JSON header, HS256 signature, claims).

use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, Version};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::OnceLock;
use tickcast_server::net::admission::Admission;

/// The HS256 secret the fuzz target's server checks tokens with (the seeds' tokens are
/// signed with it).
pub const SECRET: &[u8] = b"tickcast fuzzing secret";
/// The one origin the fuzz target's server lets connect.
pub const ORIGIN: &str = "http://127.0.0.1:7777";
/// The fuzz target's room.
pub const ROOM: &str = "arena";

/// One admission for the whole run, as a server has. One connection per address: every
/// admitted slot is dropped before the next input, so a 503 means a slot was not given
/// back.
fn admission() -> &'static Admission {
    static ADMISSION: OnceLock<Admission> = OnceLock::new();
    ADMISSION.get_or_init(|| Admission::new(Some(SECRET), &[ORIGIN.to_owned()], ROOM, 1))
}

/// Most headers parsed, as hyper's default.
const MAX_HEADERS: usize = 100;

/// Parses `data` as a request head and decides on it as the server does; never panics.
/// Checks that an accepted upgrade had a well-formed key and yields a 28-character accept
/// value, that a refusal is a 400 or a 426 (400 for anything but a GET over HTTP/1.1),
/// and that admission answers only 401 or 403 and admits only with claims for this room.
pub fn upgrade_request(data: &[u8]) {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut head = httparse::Request::new(&mut headers);
    let Ok(httparse::Status::Complete(_)) = head.parse(data) else {
        return;
    };
    let (Some(method), Some(path), Some(version)) = (head.method, head.path, head.version) else {
        return;
    };
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return;
    };
    let Ok(uri) = path.parse::<Uri>() else {
        return;
    };
    let version = if version == 1 {
        Version::HTTP_11
    } else {
        Version::HTTP_10
    };
    let mut map = HeaderMap::new();
    for header in head.headers.iter() {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(header.name.as_bytes()),
            HeaderValue::from_bytes(header.value),
        ) else {
            return;
        };
        map.append(name, value);
    }
    let mut request = http::Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = version;
    *request.headers_mut() = map;

    let verdict =
        tickcast_server::net::check_upgrade_for_fuzzing(request.method(), request.version(), request.headers());
    match verdict {
        Ok(accept) => {
            let key = request
                .headers()
                .get(http::header::SEC_WEBSOCKET_KEY)
                .expect("accepted without a key");
            assert_eq!(key.len(), 24, "accepted a key that is not 16 bytes of base64");
            assert_eq!(accept.len(), 28, "an accept value that is not a base64 SHA-1");
            assert!(request.method() == Method::GET && request.version() == Version::HTTP_11);
        }
        Err(status) => {
            assert!(
                status == StatusCode::BAD_REQUEST || status == StatusCode::UPGRADE_REQUIRED,
                "refused with {status}"
            );
            if request.method() != Method::GET || request.version() != Version::HTTP_11 {
                assert_eq!(status, StatusCode::BAD_REQUEST);
            }
            return;
        }
    }
    let address = IpAddr::V4(Ipv4Addr::LOCALHOST);
    match admission().admit(request.headers(), request.uri().query(), address) {
        Ok(admitted) => {
            let claims = admitted.claims.as_ref().expect("admitted without checking the token");
            assert!(
                claims.room.as_deref().is_none_or(|room| room == ROOM),
                "admitted to another room"
            );
        }
        Err(refusal) => assert!(
            refusal.status == StatusCode::UNAUTHORIZED || refusal.status == StatusCode::FORBIDDEN,
            "admission refused with {}: {} (a 503 means an address slot was not given back)",
            refusal.status,
            refusal.reason
        ),
    }
}
