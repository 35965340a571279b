//! `POST /matchmake` and `GET /rooms`: the HTTP side of the directory.
//!
//! Matchmaking checks the player's token (when the server has an auth secret), asks the
//! directory for a seat (this node, or the least-loaded node through Redis) and answers
//! where to connect. Every refusal is a status with a JSON `{"error": reason}`:
//! 400 malformed request, 401/403 token, 404 unknown kind or room, 409 full room,
//! 503 draining or directory unavailable (with `Retry-After`).

use super::front::{Front, query_value};
use crate::rooms::{PlaceError, PlaceRequest};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// Largest matchmaking request body: a kind and a room id.
const MAX_BODY_BYTES: usize = 1024;

/// How long a placement may take before the client is told to try again (a remote
/// node's answer through Redis included).
const PLACE_TIMEOUT: Duration = Duration::from_secs(5);

/// The body of `POST /matchmake`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MatchmakeBody {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    room_id: Option<String>,
}

/// A refusal: the status and `{"error": reason}`.
fn error(status: StatusCode, reason: impl Into<String>) -> Response {
    let mut response = (status, axum::Json(serde_json::json!({ "error": reason.into() }))).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// `POST /matchmake`.
pub(crate) async fn matchmake(State(front): State<Arc<Front>>, request: Request) -> Response {
    let context = &front.context;
    let query = request.uri().query().map(str::to_owned);
    let headers = request.headers().clone();
    let body = match axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(_) => {
            context.stats.count_refusal(413, "matchmake body too large");
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request body is over {MAX_BODY_BYTES} bytes"),
            );
        }
    };
    // An empty body asks for any room of the default kind.
    let parsed: MatchmakeBody = if body.iter().all(u8::is_ascii_whitespace) {
        MatchmakeBody {
            kind: None,
            room_id: None,
        }
    } else {
        match serde_json::from_slice(&body) {
            Ok(parsed) => parsed,
            Err(why) => {
                context.stats.count_refusal(400, "malformed matchmake request");
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("malformed request: {why}; send {{\"kind\": \"arena\"}}"),
                );
            }
        }
    };
    let names: Vec<&str> = parsed
        .room_id
        .iter()
        .chain(parsed.kind.iter())
        .map(String::as_str)
        .collect();
    let claims = match front.admission.authorize(&headers, query.as_deref(), &names) {
        Ok(claims) => claims,
        Err(refusal) => {
            context.stats.count_refusal(refusal.status.as_u16(), refusal.reason);
            return error(refusal.status, refusal.reason);
        }
    };
    let request = PlaceRequest {
        kind: parsed.kind,
        room_id: parsed.room_id,
        subject: claims.map(|claims| claims.sub).unwrap_or_default(),
    };
    let placed = tokio::time::timeout(PLACE_TIMEOUT, context.directory.place(request)).await;
    let placed = placed.unwrap_or_else(|_| Err(PlaceError::Unavailable("no answer in time".to_owned())));
    match placed {
        Ok(placement) => (StatusCode::OK, axum::Json(placement)).into_response(),
        Err(refusal) => {
            let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            context.stats.count_refusal(status.as_u16(), refusal.label());
            error(status, refusal.to_string())
        }
    }
}

/// `GET /rooms`: every room the directory knows, `?kind=K` for one kind's.
pub(crate) async fn rooms(State(front): State<Arc<Front>>, request: Request) -> Response {
    let kind = query_value(request.uri().query(), "kind").map(str::to_owned);
    let listed = tokio::time::timeout(PLACE_TIMEOUT, front.context.directory.rooms()).await;
    match listed.unwrap_or_else(|_| Err(PlaceError::Unavailable("no answer in time".to_owned()))) {
        Ok(mut rooms) => {
            if let Some(kind) = kind {
                rooms.retain(|room| room.kind == kind);
            }
            axum::Json(serde_json::json!({ "rooms": rooms })).into_response()
        }
        Err(refusal) => error(StatusCode::SERVICE_UNAVAILABLE, refusal.to_string()),
    }
}
