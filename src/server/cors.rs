//! Browser pages on other origins: the proxy answers those the user listed
//! in `cors_origins` (preflight included) and no others; the admin API and
//! the dashboard never carry CORS headers, so no page elsewhere can read them.

use super::AppState;
use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Endpoint, IntoResponse, Request, Response};
use std::sync::Arc;

/// Paths the proxy serves (the rest is the admin API and the dashboard).
fn is_proxy(path: &str) -> bool {
    path.starts_with("/v1/")
        || path.starts_with("/v1beta/")
        || matches!(
            path,
            "/chat/completions" | "/responses" | "/messages" | "/models"
        )
}

pub async fn cors<E: Endpoint>(ep: E, req: Request) -> poem::Result<Response> {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(|o| o.trim_end_matches('/').to_ascii_lowercase());
    let (Some(origin), true) = (origin, is_proxy(req.uri().path())) else {
        return Ok(ep.call(req).await?.into_response());
    };
    let allowed = req.data::<Arc<AppState>>().is_some_and(|state| {
        let list = &state.snapshot.load().settings.cors_origins;
        list.iter().any(|o| o == "*" || *o == origin)
    });
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        if !allowed {
            return Ok(Response::builder()
                .status(StatusCode::FORBIDDEN)
                .content_type("text/plain")
                .body(format!(
                    "{origin} may not call this proxy from a browser; add it to the cors_origins setting"
                )));
        }
        let asked = req
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .cloned()
            .unwrap_or_else(|| HeaderValue::from_static("authorization, content-type"));
        let mut resp = Response::builder()
            .status(StatusCode::NO_CONTENT)
            .header(header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, OPTIONS")
            .header(header::ACCESS_CONTROL_ALLOW_HEADERS, asked)
            .header(header::ACCESS_CONTROL_MAX_AGE, "600")
            .finish();
        allow(&mut resp, &origin);
        return Ok(resp);
    }
    let mut resp = ep.call(req).await?.into_response();
    if allowed {
        allow(&mut resp, &origin);
    }
    Ok(resp)
}

fn allow(resp: &mut Response, origin: &str) {
    if let Ok(v) = HeaderValue::from_str(origin) {
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        h.insert(header::VARY, HeaderValue::from_static("origin"));
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("retry-after"),
        );
    }
}
