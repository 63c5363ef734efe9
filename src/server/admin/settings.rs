//! Settings in the admin API: the settings themselves and their schema,
//! client keys, moving the listener, and the mapping tester.

use super::{Failure, change, json, reply};
use crate::config::Settings;
use crate::config::table::{SETTINGS, Setting};
use crate::error::Kind;
use crate::scheduler::Next;
use crate::server::AppState;
use crate::store::{CreatedKey, KeyInfo, KeyLimits};
use poem::http::StatusCode;
use poem::web::{Data, Json, Path, Query};
use poem::{Response, handler};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Client keys (their hints; the keys themselves are never kept).
#[utoipa::path(get, path = "/api/keys", responses((status = 200, body = Vec<KeyInfo>)))]
#[handler]
pub(super) fn list_keys(Data(state): Data<&Arc<AppState>>) -> Response {
    reply(StatusCode::OK, state.store.keys().map_err(Failure::from))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct NewKey {
    name: Option<String>,
    #[serde(flatten)]
    limits: KeyLimits,
}

/// Create a client key, with its limits; its plaintext is in this answer only.
#[utoipa::path(post, path = "/api/keys", request_body = NewKey,
    responses((status = 201, body = CreatedKey), (status = 400, body = super::Problem)))]
#[handler]
pub(super) fn create_key(Data(state): Data<&Arc<AppState>>, body: Json<NewKey>) -> Response {
    let NewKey { name, limits } = body.0;
    change(state, StatusCode::CREATED, || {
        state.store.create_key(name, limits)
    })
}

/// Replace a client key's limits.
#[utoipa::path(patch, path = "/api/keys/{id}", params(("id" = String, Path)), request_body = KeyLimits,
    responses((status = 200, body = KeyInfo), (status = 400, body = super::Problem), (status = 404, body = super::Problem)))]
#[handler]
pub(super) fn set_key_limits(
    Data(state): Data<&Arc<AppState>>,
    Path(id): Path<String>,
    body: Json<KeyLimits>,
) -> Response {
    change(state, StatusCode::OK, || {
        state.store.set_key_limits(&id, body.0)
    })
}

/// Revoke a client key.
#[utoipa::path(delete, path = "/api/keys/{id}", params(("id" = String, Path)),
    responses((status = 200, body = KeyInfo), (status = 404, body = super::Problem)))]
#[handler]
pub(super) fn revoke_key(Data(state): Data<&Arc<AppState>>, Path(id): Path<String>) -> Response {
    change(state, StatusCode::OK, || state.store.revoke_key(&id))
}

/// Every setting, unset ones at their default, secrets as hints.
#[utoipa::path(get, path = "/api/config", responses((status = 200, body = BTreeMap<String, String>)))]
#[handler]
pub(super) fn get_config(Data(state): Data<&Arc<AppState>>) -> Response {
    reply(
        StatusCode::OK,
        state.store.settings().map(effective).map_err(Failure::from),
    )
}

/// Every setting's row of `config::table`, for the dashboard's forms.
#[utoipa::path(get, path = "/api/config/schema", responses((status = 200, body = Vec<Setting>)))]
#[handler]
pub(super) fn config_schema() -> Response {
    json(StatusCode::OK, &SETTINGS)
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
    for row in SETTINGS {
        if row.prefix().is_none() {
            map.entry(row.key.to_string())
                .or_insert_with(|| row.default.to_string());
        }
    }
    map
}

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct SetConfig {
    pub key: String,
    /// Empty restores the default.
    pub value: String,
    /// Keeps a `model_map` rule whose target is neither a model levity knows
    /// nor one an account lists (refused otherwise, as a likely typo).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force: bool,
}

/// A `model_map` rule's target, checked against the catalogue and what the
/// accounts list: a typo would otherwise be saved and fail every request.
pub fn check_mapping<'a>(
    key: &str,
    value: &str,
    force: bool,
    listed: impl IntoIterator<Item = &'a str>,
) -> Result<(), String> {
    if force || value.is_empty() || !key.starts_with("model_map.") {
        return Ok(());
    }
    crate::catalogue::check_target(value, listed).map_err(|why| {
        format!("{why}; to keep it anyway, save it with force (`--force`, or `\"force\": true` in the API)")
    })
}

/// Change one setting; `listen_host` and `listen_port` move the server at once.
#[utoipa::path(put, path = "/api/config", request_body = SetConfig,
    responses((status = 200, body = SetConfig), (status = 400, body = super::Problem)))]
#[handler]
pub(super) async fn set_config(
    Data(state): Data<&Arc<AppState>>,
    body: Json<SetConfig>,
) -> Response {
    let snap = state.snapshot.load();
    let listed = snap
        .accounts
        .iter()
        .flat_map(|a| a.models.iter().map(String::as_str));
    if let Err(msg) = Settings::validate(&body.key, &body.value)
        .and_then(|()| check_mapping(&body.key, &body.value, body.force, listed))
    {
        return reply::<()>(StatusCode::OK, Err(Failure::new(Kind::InvalidRequest, msg)));
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
        Ok(SetConfig {
            key: body.key.clone(),
            value,
            force: false,
        })
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct Listen {
    host: String,
    port: u16,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Moved {
    /// The address now listened on.
    pub listen: String,
    /// For the page at the new origin, whose storage is its own.
    pub admin_token: String,
}

/// Moves the server to another address and port at once, and keeps them.
#[utoipa::path(put, path = "/api/listen", request_body = Listen,
    responses((status = 200, body = Moved), (status = 400, body = super::Problem), (status = 409, body = super::Problem)))]
#[handler]
pub(super) async fn set_listen(Data(state): Data<&Arc<AppState>>, body: Json<Listen>) -> Response {
    let Some(ip) = crate::config::parse_host(&body.host) else {
        let why = format!(
            "`{}` is not an IP address; use 127.0.0.1 (this machine) or 0.0.0.0 (the network)",
            body.host
        );
        return reply::<()>(StatusCode::OK, Err(Failure::new(Kind::InvalidRequest, why)));
    };
    if body.port == 0 {
        let why = Failure::new(Kind::InvalidRequest, "the port is a number from 1 to 65535");
        return reply::<()>(StatusCode::OK, Err(why));
    }
    move_to(state, std::net::SocketAddr::new(ip, body.port)).await
}

async fn move_to(state: &Arc<AppState>, to: std::net::SocketAddr) -> Response {
    let bound = match state.relisten(to).await {
        Ok(a) => a,
        Err(msg) => return reply::<()>(StatusCode::OK, Err(Failure::new(Kind::Conflict, msg))),
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
    // The page at the new origin has storage of its own, so it is handed the
    // admin token; whoever moved the server got here with it already.
    let moved = saved.map(|()| Moved {
        listen: bound.to_string(),
        admin_token: state.admin_token.clone(),
    });
    reply(StatusCode::OK, moved.map_err(Failure::from))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub(super) struct RouteQuery {
    /// A model name as a client would send it.
    model: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RouteView {
    pub model: String,
    pub upstream_model: String,
    /// The upstream kind that serves it.
    pub kind: &'static str,
    /// The accounts that could, by name, in the user's order.
    pub accounts: Vec<String>,
    /// Each of them for this model now.
    pub candidates: Vec<Candidate>,
    /// The account a new conversation would go to now (the preferred
    /// account when it can serve), and why; none while every one rests.
    pub first: Option<String>,
    pub why: Option<&'static str>,
    /// When the first account returns, while none can serve.
    pub ready_at_ms: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Candidate {
    pub name: String,
    /// `ready`, `resting` (until `until_ms`) or `needs-action` (waits for
    /// its owner).
    pub state: &'static str,
    pub until_ms: Option<u64>,
    /// The user's preferred account.
    pub preferred: bool,
}

/// What a model name would go to: the mapping tester.
#[utoipa::path(get, path = "/api/route", params(RouteQuery),
    responses((status = 200, body = RouteView), (status = 404, body = super::Problem)))]
#[handler]
pub(super) fn route_of(Data(state): Data<&Arc<AppState>>, Query(q): Query<RouteQuery>) -> Response {
    let snap = state.snapshot.load_full();
    let now = crate::util::now_ms();
    let preferred = snap.settings.preferred_account.as_deref();
    let route = state.scheduler.resolve(&snap, &q.model).map(|r| {
        let candidates = r
            .accounts
            .iter()
            .map(|a| {
                let back = state.scheduler.returns_at(&snap, a, &r.model, now);
                Candidate {
                    name: a.name.clone(),
                    state: match back {
                        None => "needs-action",
                        Some(at) if at > now => "resting",
                        Some(_) => "ready",
                    },
                    until_ms: back.filter(|&at| at > now),
                    preferred: preferred.is_some_and(|p| p == a.id || p == a.name),
                }
            })
            .collect();
        let (first, why, ready_at_ms) = match state.scheduler.preview(&snap, &r, now) {
            Next::Account { account, why } | Next::Wait { account, why, .. } => {
                (Some(account.name.clone()), Some(why), None)
            }
            Next::Exhausted { ready_at_ms } => (None, None, ready_at_ms),
        };
        RouteView {
            model: q.model.clone(),
            upstream_model: r.model.clone(),
            kind: r.kind.as_str(),
            accounts: r.accounts.iter().map(|a| a.name.clone()).collect(),
            candidates,
            first,
            why,
            ready_at_ms,
        }
    });
    reply(StatusCode::OK, route.map_err(Failure::from))
}

/// The model catalogue: what levity knows of each model it can route, for
/// the mapping editor (and anyone choosing a target).
#[utoipa::path(get, path = "/api/models", responses((status = 200, body = Vec<crate::catalogue::Model>)))]
#[handler]
pub(super) fn catalogue() -> Response {
    json(StatusCode::OK, &crate::catalogue::MODELS)
}
