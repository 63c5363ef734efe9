//! Google sign-in from the dashboard: the address to send the browser to,
//! and the page Google sends it back to.

use super::{Failure, reply};
use crate::error::Kind;
use crate::server::AppState;
use crate::store::NewAccount;
use poem::http::StatusCode;
use poem::web::{Data, Query};
use poem::{Request, Response, handler};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Serialize, utoipa::ToSchema)]
pub struct OauthStart {
    /// Google's sign-in page, to open in the browser.
    pub url: String,
}

/// Starts a Google sign-in whose callback comes back to this server.
#[utoipa::path(post, path = "/api/oauth/start",
    responses((status = 200, body = OauthStart), (status = 400, body = super::Problem)))]
#[handler]
pub(super) fn oauth_start(req: &Request, Data(state): Data<&Arc<AppState>>) -> Response {
    let snap = state.snapshot.load();
    let host = req
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let redirect = format!("http://{host}/oauth2callback");
    let nonce = crate::util::hex(&crate::store::random_bytes::<16>());
    let url = crate::provider::code_assist::authorize_url(&snap.settings.oauth, &redirect, &nonce)
        .map_err(|msg| Failure::new(Kind::InvalidRequest, msg));
    if url.is_ok() {
        state
            .oauth_pending
            .lock()
            .expect("oauth lock")
            .insert(nonce, redirect);
    }
    reply(StatusCode::OK, url.map(|url| OauthStart { url }))
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// Where Google sends the browser after a dashboard sign-in: the state must
/// be one this server handed out; the new account is added at once.
#[handler]
pub async fn oauth_callback(
    Data(state): Data<&Arc<AppState>>,
    Query(q): Query<Callback>,
) -> Response {
    let page = |status: StatusCode, text: String| {
        // The text holds what Google, the token endpoint or the address
        // bar said: escaped, and the page may run nothing.
        Response::builder()
            .status(status)
            .content_type("text/html; charset=utf-8")
            .header("content-security-policy", "default-src 'none'")
            .body(format!("<!doctype html><meta charset=utf-8><title>levity</title><p>{}</p><p><a href=\"/accounts\">Back to levity</a></p>", escape_html(&text)))
    };
    let redirect = q
        .state
        .as_deref()
        .and_then(|s| state.oauth_pending.lock().expect("oauth lock").remove(s));
    let Some(redirect) = redirect else {
        return page(
            StatusCode::BAD_REQUEST,
            "This sign-in was not started here, or has been used already.".into(),
        );
    };
    if let Some(e) = q.error {
        return page(
            StatusCode::BAD_REQUEST,
            format!("Google refused the sign-in: {e}"),
        );
    }
    let Some(code) = q.code else {
        return page(StatusCode::BAD_REQUEST, "Google sent no code.".into());
    };
    let snap = state.snapshot.load_full();
    let settings = &snap.settings;
    let client = state
        .upstream
        .client_for(settings.upstream_proxy.as_deref());
    let exchange =
        crate::provider::code_assist::exchange_code(&client, &settings.oauth, &code, &redirect);
    let token = match exchange.await {
        Ok(t) => t,
        Err(e) => return page(StatusCode::BAD_GATEWAY, e),
    };
    let new = NewAccount {
        kind: crate::store::ProviderKind::GoogleOauth,
        api_key: token,
        name: None,
        base_url: None,
        models: Vec::new(),
        tier: None,
        proxy: None,
        project: None,
    };
    match state
        .store
        .add_account(new)
        .and_then(|info| state.reload().map(|()| info))
    {
        Ok(info) => page(
            StatusCode::OK,
            format!(
                "Signed in: account `{}` added. You can close this tab.",
                info.name
            ),
        ),
        Err(e) => page(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// Text safe between HTML tags and in attribute values.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
