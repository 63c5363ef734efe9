//! The admin API under `/api`: what the CLI uses while a server holds the data
//! file, and what the dashboard reads. Loopback only (see `auth::check_admin`).

use super::{AppState, auth};
use crate::config::Settings;
use crate::error::Broken;
use crate::scheduler::now_ms;
use crate::store::{AccountInfo, AccountPatch, NewAccount, StoreError};
use poem::http::StatusCode;
use poem::web::{Data, Json, Path, Query};
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route, get, handler};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

pub fn routes() -> impl Endpoint {
    Route::new()
        .at("/status", get(get_status))
        .at("/accounts", get(list_accounts).post(add_account))
        .at("/accounts/order", poem::put(reorder))
        .at("/accounts/best", get(best_account))
        .at("/accounts/preferred", poem::put(prefer))
        .at(
            "/accounts/:id",
            poem::delete(remove_account).patch(update_account),
        )
        .at("/accounts/:id/secret", poem::put(replace_secret))
        .at("/accounts/:id/quota", poem::post(refresh_quota))
        .at("/oauth/start", poem::post(oauth_start))
        .at("/route", get(route_of))
        .at("/requests", get(requests))
        .at("/requests/:id", get(request_detail))
        .at("/stats", get(stats))
        .at("/events", get(events))
        .at("/openapi.json", get(openapi))
        .at("/keys", get(list_keys).post(create_key))
        .at("/keys/:id", poem::delete(revoke_key))
        .at("/config", get(get_config).put(set_config))
        .at("/config/schema", get(config_schema))
        .at("/listen", poem::put(set_listen))
        .around(|ep, req: Request| async move {
            let state = req
                .data::<Arc<AppState>>()
                .cloned()
                .expect("state is attached to every route");
            if let Err((status, code, message)) = auth::check_admin(&state, &req) {
                return Ok(error(status, code, message.to_string()));
            }
            if let Err(message) = auth::check_origin(&state, &req) {
                return Ok(error(403, "cross_site", message.to_string()));
            }
            Ok(ep.call(req).await?.into_response())
        })
}

fn error(status: u16, code: &str, message: String) -> Response {
    let body =
        serde_json::json!({"error": {"message": message, "type": "admin_error", "code": code}});
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .content_type("application/json")
        .body(body.to_string())
}

fn store_error(e: StoreError) -> Response {
    let (status, code) = match e {
        StoreError::NotFound { .. } => (404, "not_found"),
        StoreError::Invalid(_) => (400, "invalid"),
        _ => (500, "store_error"),
    };
    error(status, code, e.to_string())
}

fn ok<T: Serialize>(status: StatusCode, value: &T) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(serde_json::to_vec(value).expect("serializable"))
}

/// Runs a store change, then refreshes what the proxy sees.
fn change<T: Serialize>(
    state: &AppState,
    status: StatusCode,
    f: impl FnOnce() -> Result<T, StoreError>,
) -> Response {
    match f().and_then(|v| state.reload().map(|()| v)) {
        Ok(v) => ok(status, &v),
        Err(e) => store_error(e),
    }
}

#[derive(Serialize, Deserialize, Debug)]
pub struct Status {
    pub version: String,
    pub listen: String,
    pub data_file: String,
    pub seal: crate::store::SealMode,
    pub accounts: Vec<crate::store::AccountInfo>,
    pub client_keys: usize,
    pub uptime_secs: u64,
    /// `portable`, `installed` or `chosen`.
    pub storage: String,
    /// This run created the data file.
    pub data_file_new: bool,
    /// Set while the data file refuses writes (a full disk): what failed and
    /// since when. Unsaved changes wait in memory meanwhile.
    #[serde(default)]
    pub disk: Option<crate::store::DiskTrouble>,
}

#[handler]
fn get_status(Data(state): Data<&Arc<AppState>>) -> Response {
    let accounts = match accounts_with_state(state) {
        Ok(a) => a,
        Err(e) => return store_error(e),
    };
    ok(
        StatusCode::OK,
        &Status {
            version: env!("CARGO_PKG_VERSION").into(),
            listen: state.listen.load().to_string(),
            data_file: state.store.path().display().to_string(),
            seal: state.store.seal_mode(),
            accounts,
            client_keys: state.snapshot.load().keys.len(),
            uptime_secs: state.started.elapsed().as_secs(),
            storage: state.storage.0.to_string(),
            data_file_new: state.storage.1,
            disk: state.store.disk_trouble(),
        },
    )
}

#[handler]
fn list_accounts(Data(state): Data<&Arc<AppState>>) -> Response {
    match accounts_with_state(state) {
        Ok(a) => ok(StatusCode::OK, &a),
        Err(e) => store_error(e),
    }
}

/// Stored accounts with their run-time state: cooling (until when, for which
/// model, why), needing re-authentication, or active; plus health counters.
pub fn accounts_with_state(state: &AppState) -> Result<Vec<AccountInfo>, StoreError> {
    let now = now_ms();
    let snap = state.snapshot.load();
    let mut infos = state.store.account_infos()?;
    for info in &mut infos {
        let h = state.scheduler.health.read(&info.id);
        let quota = snap
            .accounts
            .iter()
            .find(|a| a.id == info.id)
            .map(|a| state.scheduler.quota(&snap, a, now))
            .unwrap_or_default();
        let cooling: Vec<serde_json::Value> = h
            .cooling
            .iter()
            .filter(|(_, c)| c.until_ms > now)
            .map(|(m, c)| serde_json::json!({"model": m, "until_ms": c.until_ms, "reason": c.reason}))
            .collect();
        if !info.enabled {
            info.state = "disabled".into();
        } else if let Some(reason) = &h.needs_action {
            // A refused credential asks for a new one; the rest for the
            // owner's action at the provider.
            info.state = match h.broken {
                None | Some(Broken::Credentials) => "needs-reauth",
                Some(_) => "needs-action",
            }
            .into();
            info.reason.clone_from(reason);
        } else if h.breaker.open_until_ms > now {
            info.state = "cooling".into();
            info.reason = format!("circuit open after {} failures", h.breaker.failures);
        } else if let Some(c) = cooling.first() {
            info.state = "cooling".into();
            info.reason = c["reason"].as_str().unwrap_or_default().to_string();
        }
        info.health = Some(serde_json::json!({
            "cooling": cooling,
            "breaker_open_until_ms": h.breaker.open_until_ms,
            "in_flight": h.in_flight,
            "last_used_ms": h.last_used_ms,
            "successes": h.successes,
            "failures": h.failures,
            "remaining": h.remaining,
            "broken": h.broken,
            "remedy": h.needs_action.as_ref().map(|_| h.broken.unwrap_or(Broken::Credentials).remedy()),
            "quota": quota,
        }));
    }
    Ok(infos)
}

#[handler]
fn update_account(
    Data(state): Data<&Arc<AppState>>,
    Path(id): Path<String>,
    body: Json<AccountPatch>,
) -> Response {
    change(state, StatusCode::OK, || {
        let info = state.store.update_account(&id, body.0)?;
        // Changed settings (a proxy for a region, a tier, a new address)
        // are the owner's answer to a mark: try the account again.
        state.scheduler.health.reauthorized(&info.id);
        Ok(info)
    })
}

#[derive(Deserialize)]
struct NewSecret {
    secret: String,
}

/// A new key or refresh token (re-authentication): clears the re-auth mark.
#[handler]
fn replace_secret(
    Data(state): Data<&Arc<AppState>>,
    Path(id): Path<String>,
    body: Json<NewSecret>,
) -> Response {
    change(state, StatusCode::OK, || {
        let info = state.store.set_secret(&id, body.0.secret.trim())?;
        state.scheduler.health.reauthorized(&info.id);
        state.upstream.tokens().forget(&info.id);
        Ok(info)
    })
}

#[handler]
fn reorder(Data(state): Data<&Arc<AppState>>, body: Json<Vec<String>>) -> Response {
    change(state, StatusCode::OK, || state.store.reorder(&body.0))
}

#[derive(Deserialize)]
struct BestQuery {
    model: String,
}

/// The account new sessions for `model` would get now, with its headroom.
#[handler]
fn best_account(Data(state): Data<&Arc<AppState>>, Query(q): Query<BestQuery>) -> Response {
    let snap = state.snapshot.load_full();
    let route = match state.scheduler.resolve(&snap, &q.model) {
        Ok(r) => r,
        Err(e) => return error(e.status(), "no_route", e.message),
    };
    match state.scheduler.best(&snap, &route, now_ms()) {
        Some((acc, score)) => ok(
            StatusCode::OK,
            &serde_json::json!({"model": route.model, "account": {"id": acc.id, "name": acc.name}, "score": score}),
        ),
        None => error(
            503,
            "none_ready",
            format!("no account can serve `{}` right now", route.model),
        ),
    }
}

#[derive(Deserialize)]
struct Prefer {
    /// An account id or name; empty or absent unpins.
    account: Option<String>,
}

/// Pins the account new sessions go to while it can serve.
#[handler]
fn prefer(Data(state): Data<&Arc<AppState>>, body: Json<Prefer>) -> Response {
    let account = body.0.account.unwrap_or_default();
    if !account.is_empty()
        && !state
            .snapshot
            .load()
            .accounts
            .iter()
            .any(|a| a.id == account || a.name == account)
    {
        return error(404, "not_found", format!("no such account: {account}"));
    }
    change(state, StatusCode::OK, || {
        state.store.set_setting("preferred_account", &account)?;
        Ok(serde_json::json!({"preferred_account": account}))
    })
}

#[handler]
fn add_account(Data(state): Data<&Arc<AppState>>, body: Json<NewAccount>) -> Response {
    change(state, StatusCode::CREATED, || {
        state.store.add_account(body.0)
    })
}

#[handler]
fn remove_account(Data(state): Data<&Arc<AppState>>, Path(id): Path<String>) -> Response {
    change(state, StatusCode::OK, || state.store.remove_account(&id))
}

#[handler]
fn list_keys(Data(state): Data<&Arc<AppState>>) -> Response {
    match state.store.keys() {
        Ok(k) => ok(StatusCode::OK, &k),
        Err(e) => store_error(e),
    }
}

#[derive(Deserialize)]
struct NewKey {
    name: Option<String>,
}

#[handler]
fn create_key(Data(state): Data<&Arc<AppState>>, body: Json<NewKey>) -> Response {
    change(state, StatusCode::CREATED, || {
        state.store.create_key(body.0.name)
    })
}

#[handler]
fn revoke_key(Data(state): Data<&Arc<AppState>>, Path(id): Path<String>) -> Response {
    change(state, StatusCode::OK, || state.store.revoke_key(&id))
}

#[handler]
fn get_config(Data(state): Data<&Arc<AppState>>) -> Response {
    match state.store.settings() {
        Ok(map) => ok(StatusCode::OK, &effective(map)),
        Err(e) => store_error(e),
    }
}

/// Every setting's row of `config::table`, for the dashboard's forms.
#[handler]
fn config_schema() -> Response {
    ok(StatusCode::OK, &crate::config::table::SETTINGS)
}

/// Stored settings with every unset key at its default, so users see all of
/// them; secrets as hints (`crate::store::shown_setting`).
pub fn effective(map: BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut map: BTreeMap<String, String> = map
        .into_iter()
        .map(|(k, v)| {
            let shown = crate::store::shown_setting(&k, &v);
            (k, shown)
        })
        .collect();
    for row in crate::config::table::SETTINGS {
        if row.prefix().is_none() {
            map.entry(row.key.to_string())
                .or_insert_with(|| row.default.to_string());
        }
    }
    map
}

#[derive(Serialize, Deserialize)]
pub struct SetConfig {
    pub key: String,
    pub value: String,
}

#[handler]
async fn set_config(Data(state): Data<&Arc<AppState>>, body: Json<SetConfig>) -> Response {
    if let Err(msg) = Settings::validate(&body.key, &body.value) {
        return error(400, "invalid", msg);
    }
    if body.key == "listen_host" || body.key == "listen_port" {
        let mut to = **state.listen.load();
        match body.key.as_str() {
            "listen_host" => to.set_ip(crate::config::parse_host(&body.value).unwrap_or(to.ip())),
            _ => to.set_port(body.value.parse().unwrap_or(to.port())),
        }
        return move_to(state, to).await;
    }
    change(state, StatusCode::OK, || {
        state.store.set_setting(&body.key, &body.value)?;
        let value = crate::store::shown_setting(&body.key, &body.value);
        Ok(serde_json::json!({"key": body.key, "value": value}))
    })
}

#[derive(Deserialize)]
struct Listen {
    host: String,
    port: u16,
}

/// Moves the server to another address and port at once, and keeps them.
#[handler]
async fn set_listen(Data(state): Data<&Arc<AppState>>, body: Json<Listen>) -> Response {
    let Some(ip) = crate::config::parse_host(&body.host) else {
        return error(
            400,
            "invalid",
            format!(
                "`{}` is not an IP address; use 127.0.0.1 (this machine) or 0.0.0.0 (the network)",
                body.host
            ),
        );
    };
    if body.port == 0 {
        return error(
            400,
            "invalid",
            "the port is a number from 1 to 65535".into(),
        );
    }
    move_to(state, std::net::SocketAddr::new(ip, body.port)).await
}

async fn move_to(state: &Arc<AppState>, to: std::net::SocketAddr) -> Response {
    let bound = match state.relisten(to).await {
        Ok(a) => a,
        Err(msg) => return error(409, "cannot_listen", msg),
    };
    let saved = state
        .store
        .set_setting("listen_host", &bound.ip().to_string())
        .and_then(|()| {
            state
                .store
                .set_setting("listen_port", &bound.port().to_string())
        })
        .and_then(|()| state.reload());
    if let Err(e) = saved {
        return store_error(e);
    }
    // The page at the new origin has storage of its own, so it is handed the
    // admin token; whoever moved the server got here with it already.
    let token = &state.admin_token;
    ok(
        StatusCode::OK,
        &serde_json::json!({"listen": bound.to_string(), "admin_token": token}),
    )
}

/// Reads a Google account's quota now.
#[handler]
async fn refresh_quota(Data(state): Data<&Arc<AppState>>, Path(id): Path<String>) -> Response {
    let Some(acc) = state
        .snapshot
        .load()
        .accounts
        .iter()
        .find(|a| a.id == id || a.name == id)
        .cloned()
    else {
        return error(404, "not_found", format!("no such account: {id}"));
    };
    if acc.kind != crate::store::ProviderKind::GoogleOauth {
        return error(
            400,
            "invalid",
            "only Google accounts report quota; other accounts are counted locally".into(),
        );
    }
    super::background::refresh(state, acc).await;
    match accounts_with_state(state) {
        Ok(list) => ok(
            StatusCode::OK,
            &list.into_iter().find(|a| a.id == id || a.name == id),
        ),
        Err(e) => store_error(e),
    }
}

/// Starts a Google sign-in whose callback comes back to this server.
#[handler]
fn oauth_start(req: &Request, Data(state): Data<&Arc<AppState>>) -> Response {
    let snap = state.snapshot.load();
    let host = req
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let redirect = format!("http://{host}/oauth2callback");
    let nonce = crate::protocol::hex(&crate::store::random_bytes::<16>());
    match crate::provider::code_assist::authorize_url(&snap.settings.oauth, &redirect, &nonce) {
        Ok(url) => {
            state
                .oauth_pending
                .lock()
                .expect("oauth lock")
                .insert(nonce, redirect);
            ok(StatusCode::OK, &serde_json::json!({"url": url}))
        }
        Err(msg) => error(400, "oauth_not_configured", msg),
    }
}

#[derive(Deserialize)]
struct RouteQuery {
    model: String,
}

/// What a model name would go to: the mapping tester.
#[handler]
fn route_of(Data(state): Data<&Arc<AppState>>, Query(q): Query<RouteQuery>) -> Response {
    let snap = state.snapshot.load_full();
    match state.scheduler.resolve(&snap, &q.model) {
        Ok(r) => ok(
            StatusCode::OK,
            &serde_json::json!({"model": q.model, "upstream_model": r.model, "kind": r.kind.as_str(),
                "accounts": r.accounts.iter().map(|a| a.name.clone()).collect::<Vec<_>>()}),
        ),
        Err(e) => error(e.status(), "no_route", e.message),
    }
}

/// A page of the request log, and what to keep of it.
#[derive(Deserialize, Default)]
struct Page {
    limit: Option<usize>,
    /// Entries older than this key (`time_ms` to 13 digits, `-`, id).
    before: Option<String>,
    /// `ok` (< 400), `error` (≥ 400) or one status.
    status: Option<String>,
    client_key: Option<String>,
    /// The requested or the upstream model.
    model: Option<String>,
    account: Option<String>,
    since: Option<u64>,
    until: Option<u64>,
}

impl Page {
    fn keeps(&self, e: &crate::server::monitor::Entry) -> bool {
        let status = match self.status.as_deref() {
            None | Some("") => true,
            Some("ok") => e.status < 400,
            Some("error") => e.status >= 400,
            Some(n) => n.parse::<u16>().is_ok_and(|n| n == e.status),
        };
        let same = |want: &Option<String>, got: &str| {
            want.as_deref().is_none_or(|w| w.is_empty() || w == got)
        };
        status
            && same(&self.client_key, e.client_key.as_deref().unwrap_or(""))
            && (same(&self.model, &e.model) || same(&self.model, &e.upstream_model))
            && same(&self.account, &e.account)
    }
}

/// The request log, newest first, from the whole retention: paged with
/// `before`, filtered by status, client key, model, account and time.
#[handler]
async fn requests(Data(state): Data<&Arc<AppState>>, Query(q): Query<Page>) -> Response {
    // Requests that just ended may still be waiting for the log writer.
    super::background::save(state).await;
    let state = state.clone();
    let page = tokio::task::spawn_blocking(move || {
        let limit = q.limit.unwrap_or(200).clamp(1, 2_000);
        let from = q.since.map(|t| format!("{t:013}")).unwrap_or_default();
        let mut to = q.until.map_or_else(
            || "~".to_string(),
            |t| format!("{:013}", t.saturating_add(1)),
        );
        if let Some(before) = q
            .before
            .as_deref()
            .filter(|b| !b.is_empty() && *b < to.as_str())
        {
            to = before.to_string();
        }
        state.store.requests_page(&from, &to, limit, |raw| {
            serde_json::from_slice(raw).is_ok_and(|e| q.keeps(&e))
        })
    })
    .await;
    match page {
        Ok(Ok(rows)) => {
            let entries: Vec<crate::server::monitor::Entry> = rows
                .iter()
                .filter_map(|r| serde_json::from_slice(r).ok())
                .collect();
            ok(StatusCode::OK, &entries)
        }
        Ok(Err(e)) => store_error(e),
        Err(_) => error(500, "store", "reading the request log failed".into()),
    }
}

/// One logged request, with its bodies when body logging kept them.
#[handler]
async fn request_detail(Data(state): Data<&Arc<AppState>>, Path(id): Path<String>) -> Response {
    // A request that just ended may still be waiting for the log writer.
    super::background::save(state).await;
    let state = state.clone();
    let found = tokio::task::spawn_blocking(move || {
        let Some((key, entry)) = state.store.find_request(&id)? else {
            return Ok(None);
        };
        let bodies = state.store.request_bodies(&key)?;
        Ok::<_, StoreError>(Some((
            entry,
            bodies,
            state.snapshot.load().settings.log.bodies,
        )))
    })
    .await;
    match found {
        Ok(Ok(Some((entry, bodies, logging)))) => {
            let parse = |b: &[u8]| serde_json::from_slice::<serde_json::Value>(b).ok();
            ok(
                StatusCode::OK,
                &serde_json::json!({"entry": parse(&entry), "bodies": bodies.as_deref().and_then(parse),
                    "body_logging": logging}),
            )
        }
        Ok(Ok(None)) => error(
            404,
            "not_found",
            "no such request in the log (it may be older than the retention)".into(),
        ),
        Ok(Err(e)) => error(500, "store", e.to_string()),
        Err(_) => error(500, "store", "reading the request log failed".into()),
    }
}

#[derive(Deserialize)]
struct Days {
    days: Option<usize>,
}

#[handler]
fn stats(Data(state): Data<&Arc<AppState>>, Query(q): Query<Days>) -> Response {
    ok(
        StatusCode::OK,
        &state
            .monitor
            .stats(q.days.unwrap_or(7).clamp(1, 400), now_ms()),
    )
}

/// Live events for the dashboard: each finished request, and account states
/// when they change (checked every two seconds).
#[handler]
fn events(Data(state): Data<&Arc<AppState>>) -> Response {
    let mut live = state.monitor.subscribe();
    let mut stopping = state.stopping.subscribe();
    // A weak handle: an open dashboard does not keep a stopped server alive.
    let state = Arc::downgrade(state);
    let stream = async_stream_of(move |tx| async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(2));
        let mut last = String::new();
        loop {
            let frame = tokio::select! {
                _ = stopping.wait_for(|s| *s) => break,
                got = live.recv() => match got {
                    Ok(entry) => format!("event: request\ndata: {}\n\n", serde_json::to_string(&entry).expect("serializable")),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => break,
                },
                _ = tick.tick() => {
                    let Some(state) = state.upgrade() else { break };
                    let Ok(list) = accounts_with_state(&state) else { continue };
                    let json = serde_json::to_string(&list).expect("serializable");
                    // Only the parts that change with state, not the counters.
                    let key: String = list.iter().map(|a| format!("{}{}{}{}", a.id, a.state, a.reason, a.enabled)).collect();
                    if key == last {
                        ": keep-alive\n\n".to_string()
                    } else {
                        last = key;
                        format!("event: accounts\ndata: {json}\n\n")
                    }
                }
            };
            if tx.send(frame).await.is_err() {
                break;
            }
        }
    });
    Response::builder()
        .content_type("text/event-stream")
        .header("cache-control", "no-cache")
        .body(poem::Body::from_bytes_stream(stream))
}

/// A byte stream fed by a task through a channel; the task stops when the
/// client goes away.
fn async_stream_of<F, Fut>(
    task: F,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<String>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<String>(64);
    tokio::spawn(task(tx));
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|s| (Ok(bytes::Bytes::from(s)), rx))
    })
}

/// The admin API, described as OpenAPI for the dashboard and other tools.
#[handler]
fn openapi() -> Response {
    Response::builder()
        .content_type("application/json")
        .body(include_str!("openapi.json"))
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
        Response::builder()
            .status(status)
            .content_type("text/html; charset=utf-8")
            .body(format!("<!doctype html><meta charset=utf-8><title>levity</title><p>{text}</p><p><a href=\"/accounts\">Back to levity</a></p>"))
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
