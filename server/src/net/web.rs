//! The demo page and the browser SDK, embedded in the binary.
//!
//! `assets/web/` holds the TypeScript SDK and the demo; its build output (`dist/`) is
//! committed, so `cargo run` serves a playable page on a machine without Node, and the
//! binary needs no files beside it. CI rebuilds `dist/` and fails if it differs from
//! what is committed.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// `(path under /dist/, contents)`.
const DIST: [(&str, &[u8]); 2] = [
    ("tickcast.js", include_bytes!("../../../assets/web/dist/tickcast.js")),
    ("demo.js", include_bytes!("../../../assets/web/dist/demo.js")),
];

const INDEX: &[u8] = include_bytes!("../../../assets/web/index.html");
const STYLE: &[u8] = include_bytes!("../../../assets/web/style.css");

/// Cached by browsers only briefly: a rebuilt server serves a rebuilt SDK.
const CACHE: &str = "no-cache";

fn file(content_type: &'static str, body: &'static [u8]) -> Response {
    (
        [(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, CACHE)],
        body,
    )
        .into_response()
}

/// `GET /`.
pub(crate) async fn index() -> Response {
    file("text/html; charset=utf-8", INDEX)
}

/// `GET /style.css`.
pub(crate) async fn style() -> Response {
    file("text/css; charset=utf-8", STYLE)
}

/// `GET /dist/{file}`.
pub(crate) async fn dist(Path(name): Path<String>) -> Response {
    match DIST.iter().find(|(path, _)| *path == name) {
        Some((_, body)) => file("text/javascript; charset=utf-8", body),
        None => (StatusCode::NOT_FOUND, "no such file\n").into_response(),
    }
}
