//! Browser pages on other origins: the proxy answers those the user listed
//! in `cors_origins` (preflight included) and no others; the admin API and
//! the dashboard never carry CORS headers, so no page elsewhere can read them.
//!
//! A page need not read an answer to spend quota: a "simple" cross-site
//! POST (`text/plain`, a form, `Origin: null` from a sandboxed frame) is
//! sent without a preflight. So the proxy refuses a foreign `Origin` outright,
//! keys or no keys, and bodies not declared JSON, which no browser sends
//! cross-site without asking first.

use super::AppState;
use super::wire::Wire;
use crate::error::{Error, Kind};
use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Endpoint, IntoResponse, Request, Response};
use std::sync::Arc;

/// JSON, or a `+json` type; multipart only where the OpenAI API takes it
/// (image edits), which a foreign page cannot reach past the origin check.
fn declared_json(req: &Request) -> bool {
    let Some(ct) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
        || (essence == "multipart/form-data" && req.uri().path() == "/v1/images/edits")
}

pub async fn cors<E: Endpoint>(ep: E, req: Request) -> poem::Result<Response> {
    let Some(wire) = Wire::of_path(req.uri().path()) else {
        return Ok(ep.call(req).await?.into_response());
    };
    let refuse =
        |_: &Request, kind: Kind, message: String| Ok(wire.error(&Error::new(kind, message)));
    if req.method() == Method::POST && !declared_json(&req) {
        return refuse(
            &req,
            Kind::NotJson,
            "send the request body as JSON with `Content-Type: application/json`".into(),
        );
    }
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(|o| o.trim_end_matches('/').to_ascii_lowercase());
    let Some(origin) = origin else {
        return Ok(ep.call(req).await?.into_response());
    };
    let Some(state) = req.data::<Arc<AppState>>().cloned() else {
        return Ok(ep.call(req).await?.into_response());
    };
    let listed = {
        let list = &state.snapshot.load().settings.cors_origins;
        list.iter().any(|o| o == "*" || *o == origin)
    };
    // The dashboard's own pages (same origin, a name of this machine).
    let own = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|host| {
            origin
                .strip_prefix("http://")
                .is_some_and(|o| o.eq_ignore_ascii_case(host))
                && super::auth::host_allowed(&state, &req)
        });
    let allowed = listed;
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
    if !allowed && !own {
        return refuse(
            &req,
            Kind::PermissionDenied,
            format!(
                "{origin} may not call this proxy from a browser; add it to the cors_origins setting"
            ),
        );
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
