//! The metrics HTTP listener: `GET /metrics` answers the Prometheus exposition of
//! [`Metrics`]; every other path is 404.
//!
//! It is a listener of its own (`[metrics] bind`), not a path on the game port, so the
//! figures can stay on loopback or a private interface while clients reach the game,
//! and a scrape never competes with the WebSocket accept loop. axum serves it; it stops
//! with the rest of the server when the shutdown token is cancelled.

use crate::metrics::{CONTENT_TYPE, Metrics};
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Where the exposition is served.
pub const METRICS_PATH: &str = "/metrics";

/// Serves `GET /metrics` on `listener` until `shutdown` is cancelled, then lets requests
/// in flight finish.
pub async fn serve_metrics(listener: TcpListener, metrics: Arc<Metrics>, shutdown: CancellationToken) {
    let app = Router::new().route(METRICS_PATH, get(scrape)).with_state(metrics);
    if let Err(error) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
    {
        tracing::warn!(%error, "metrics listener failed");
    }
}

async fn scrape(State(metrics): State<Arc<Metrics>>) -> Response {
    match metrics.encode() {
        Ok(body) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response(),
        Err(error) => {
            tracing::warn!(%error, "encoding metrics failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
