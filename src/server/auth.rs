//! Who may call what: client keys on the proxy, loopback and Host checks and
//! the admin token on the admin API.

use super::AppState;
use crate::error::{Error, Kind};
use poem::Request;
use sha2::{Digest, Sha256};

/// The client key a request carries, in any of the places clients put it.
fn presented_key(req: &Request) -> Option<&str> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(auth) = header("authorization") {
        let token = auth
            .strip_prefix("Bearer ")
            .or_else(|| auth.strip_prefix("bearer "))
            .unwrap_or(auth);
        return Some(token.trim());
    }
    if let Some(k) = header("x-api-key").or_else(|| header("x-goog-api-key")) {
        return Some(k.trim());
    }
    req.uri()
        .query()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("key="))
}

/// Compares without an early exit, so timing says nothing about the key.
fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether a proxy request may proceed, and with which client key (its
/// name); the error says what to fix.
pub fn check_client(state: &AppState, req: &Request) -> Result<Option<String>, &'static str> {
    client_key(state, req).map(|k| k.map(|k| k.name.clone()))
}

/// The client key of a request that spends, let in by its limits for
/// `model`: its name for the log, or the refusal in words for the client.
pub async fn admit(state: &AppState, req: &Request, model: &str) -> Result<Option<String>, Error> {
    let key = client_key(state, req).map_err(|m| Error::new(Kind::Authentication, m))?;
    if let Some(k) = &key {
        admit_key(state, k, model).await?;
    }
    Ok(key.map(|k| k.name.clone()))
}

/// Lets a request of client key `key` for `model` in by its limits: this
/// instance's counts, and in cluster mode the cluster's.
pub async fn admit_key(
    state: &AppState,
    key: &crate::store::KeyInfo,
    model: &str,
) -> Result<(), Error> {
    let link = state.scheduler.link.get().map(|l| l.as_ref());
    state
        .meter
        .admit(key, model, &state.monitor, link, crate::util::now_ms())?;
    match link {
        Some(link) => {
            let strict = state.snapshot.load().settings.cluster_strict;
            super::keys::Meter::lease(link, key, strict).await
        }
        None => Ok(()),
    }
}

/// The client key a request presents, with its limits; `None` when the
/// proxy has no keys (then only this machine's own names may call).
pub fn client_key(
    state: &AppState,
    req: &Request,
) -> Result<Option<std::sync::Arc<crate::store::KeyInfo>>, &'static str> {
    let snap = state.snapshot.load();
    if snap.keys.is_empty() {
        // Without keys the proxy is open, but only to this machine's own names:
        // a web page cannot reach it through DNS rebinding.
        return if host_allowed(state, req) {
            Ok(None)
        } else {
            Err("this Host is not allowed; call levity as localhost or 127.0.0.1")
        };
    }
    let Some(key) = presented_key(req) else {
        return Err(
            "missing client key: send `Authorization: Bearer <key>` with a key from `levity key create`",
        );
    };
    let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
    // Check every key, so the time taken does not depend on which one matched.
    let matched = snap.keys.iter().fold(None, |found, (h, info)| {
        if ct_eq(h, &digest) {
            Some(info.clone())
        } else {
            found
        }
    });
    if matched.is_some() {
        Ok(matched)
    } else {
        Err("invalid client key: create one with `levity key create`")
    }
}

/// Only this machine's own names, IP addresses (which no DNS rebinding can
/// borrow) and the configured public name may reach the admin API and the
/// dashboard.
pub fn host_allowed(state: &AppState, req: &Request) -> bool {
    let Some(host) = req.headers().get("host").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    let name = name.to_ascii_lowercase();
    name == "localhost"
        || name.parse::<std::net::IpAddr>().is_ok()
        || state
            .snapshot
            .load()
            .settings
            .public_host
            .as_deref()
            .is_some_and(|p| p.eq_ignore_ascii_case(&name))
}

/// Admin calls: a Host of this machine, the admin token from every caller,
/// loopback included (another user or a hostile script on this machine is
/// as much a stranger as another machine; Jupyter does the same), and
/// other machines only when the server listens beyond loopback. Returns
/// (status, code, message) on refusal.
pub fn check_admin(
    state: &AppState,
    req: &Request,
) -> Result<(), (u16, &'static str, &'static str)> {
    if !host_allowed(state, req) {
        return Err((
            403,
            "admin_bad_host",
            "this Host may not call the admin API",
        ));
    }
    let loopback = req
        .remote_addr()
        .as_socket_addr()
        .is_some_and(|a| a.ip().is_loopback());
    if !loopback && !state.exposed() {
        return Err((
            403,
            "admin_loopback_only",
            "the admin API answers only on this machine",
        ));
    }
    let token = req
        .headers()
        .get("x-levity-admin-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let want: [u8; 32] = Sha256::digest(state.admin_token.as_bytes()).into();
    let got: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    if !ct_eq(&want, &got) {
        return Err((
            401,
            "admin_token_required",
            "send the admin token in X-Levity-Admin-Token: open the dashboard with `levity open` (or the address `levity serve --no-open` printed); the CLI reads it from levity.server.json",
        ));
    }
    Ok(())
}

/// `/metrics`: the admin token (in its header, or as a bearer token), or a
/// client key: the admin token changes at every start, and a scraper needs a
/// credential that lasts (Prometheus' `authorization.credentials`). Without
/// one nobody reads it, loopback included: it names accounts and keys.
pub fn check_metrics(
    state: &AppState,
    req: &Request,
) -> Result<(), (u16, &'static str, &'static str)> {
    let admin = check_admin(state, req);
    if admin.is_ok() || !host_allowed(state, req) {
        return admin;
    }
    let want: [u8; 32] = Sha256::digest(state.admin_token.as_bytes()).into();
    let got: [u8; 32] = Sha256::digest(presented_key(req).unwrap_or("").as_bytes()).into();
    if ct_eq(&want, &got) || matches!(client_key(state, req), Ok(Some(_))) {
        return Ok(());
    }
    Err((
        401,
        "metrics_credentials_required",
        "send a client key (`levity key create --name prometheus`) or the admin token as `Authorization: Bearer ...`",
    ))
}

/// State-changing admin calls from a browser must come from levity's own
/// pages: a request whose `Origin` names another site is refused (CSRF).
/// Tools without a browser send no `Origin` and pass.
pub fn check_origin(state: &AppState, req: &Request) -> Result<(), &'static str> {
    if matches!(
        *req.method(),
        poem::http::Method::GET | poem::http::Method::HEAD
    ) {
        return Ok(());
    }
    let Some(origin) = req.headers().get("origin").and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let host = origin.split("://").nth(1).unwrap_or("");
    let host_header = req
        .headers()
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if host.eq_ignore_ascii_case(host_header) && host_allowed(state, req) {
        Ok(())
    } else {
        Err("this change was sent from another site; use levity's own dashboard")
    }
}
