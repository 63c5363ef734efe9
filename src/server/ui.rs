//! The dashboard, embedded from `ui/dist` at build time. Hashed assets are
//! cached forever; any other path falls back to `index.html` so client-side
//! routes work. A build without the UI serves a page saying how to build it.

use super::AppState;
use super::auth::host_allowed;
use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{Request, Response, handler};
use rust_embed::RustEmbed;
use std::sync::Arc;

#[derive(RustEmbed)]
#[folder = "ui/dist"]
#[allow_missing = true]
struct Assets;

const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>levity</title>\
<h1>levity is running</h1><p>The dashboard was not built into this binary. \
Build it with <code>make run</code> (or <code>cd ui &amp;&amp; npm ci &amp;&amp; npm run build</code>, \
then rebuild levity).</p><p>The proxy works without it: <code>/v1/chat/completions</code>.</p>";

/// The dashboard loads nothing from elsewhere and cannot be framed.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";

fn index() -> Response {
    match Assets::get("index.html") {
        Some(file) => Response::builder()
            .content_type("text/html; charset=utf-8")
            .header("cache-control", "no-cache")
            .header("content-security-policy", CSP)
            .body(file.data.into_owned()),
        None => Response::builder()
            .content_type("text/html; charset=utf-8")
            .body(NOT_BUILT),
    }
}

/// A page at an unknown name (DNS rebinding) gets nothing.
fn refused() -> Response {
    Response::builder()
        .status(StatusCode::FORBIDDEN)
        .content_type("text/plain")
        .body("this Host may not open the levity dashboard; use localhost or 127.0.0.1")
}

#[handler]
pub fn serve_index(req: &Request, Data(state): Data<&Arc<AppState>>) -> Response {
    if !host_allowed(state, req) {
        return refused();
    }
    index()
}

#[handler]
pub fn ok() -> StatusCode {
    StatusCode::OK
}

#[handler]
pub fn serve_asset(
    req: &Request,
    Path(path): Path<String>,
    Data(state): Data<&Arc<AppState>>,
) -> Response {
    if !host_allowed(state, req) {
        return refused();
    }
    let Some(file) = Assets::get(&path) else {
        // Unknown API paths and paths that climb are errors, not the app shell.
        let climbs =
            path.split(['/', '\\']).any(|seg| seg == ".." || seg == ".") || path.contains('\0');
        if climbs || path.starts_with("v1/") || path.starts_with("api/") {
            return Response::builder()
                .status(StatusCode::NOT_FOUND)
                .content_type("application/json")
                .body(r#"{"error":{"message":"no such route","type":"invalid_request_error","code":"not_found"}}"#);
        }
        return index();
    };
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    Response::builder()
        .content_type(file.metadata.mimetype())
        .header("cache-control", cache)
        .body(file.data.into_owned())
}
