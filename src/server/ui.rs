//! The dashboard, embedded from `ui/dist` at build time. Hashed assets are
//! cached forever; any other path falls back to `index.html` so client-side
//! routes work. A build without the UI serves a page saying how to build it.

use poem::http::StatusCode;
use poem::web::Path;
use poem::{Response, handler};
use rust_embed::RustEmbed;

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

#[handler]
pub fn serve_index() -> Response {
    index()
}

#[handler]
pub fn ok() -> StatusCode {
    StatusCode::OK
}

#[handler]
pub fn serve_asset(Path(path): Path<String>) -> Response {
    let Some(file) = Assets::get(&path) else {
        // Unknown API paths are errors, not the app shell.
        if path.starts_with("v1/") || path.starts_with("api/") {
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
