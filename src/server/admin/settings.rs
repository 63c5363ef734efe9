//! Settings in the admin API: the settings themselves and their schema,
//! client keys, moving the listener, and the mapping tester.

use super::{Failure, change, json, reply};
use crate::config::Settings;
use crate::config::table::{SETTINGS, Setting};
use crate::error::Kind;
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
}

/// Change one setting; `listen_host` and `listen_port` move the server at once.
#[utoipa::path(put, path = "/api/config", request_body = SetConfig,
    responses((status = 200, body = SetConfig), (status = 400, body = super::Problem)))]
#[handler]
pub(super) async fn set_config(
    Data(state): Data<&Arc<AppState>>,
    body: Json<SetConfig>,
) -> Response {
    if let Err(msg) = Settings::validate(&body.key, &body.value) {
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
    /// The accounts that could, by name.
    pub accounts: Vec<String>,
}

/// What a model name would go to: the mapping tester.
#[utoipa::path(get, path = "/api/route", params(RouteQuery),
    responses((status = 200, body = RouteView), (status = 404, body = super::Problem)))]
#[handler]
pub(super) fn route_of(Data(state): Data<&Arc<AppState>>, Query(q): Query<RouteQuery>) -> Response {
    let snap = state.snapshot.load_full();
    let route = state.scheduler.resolve(&snap, &q.model).map(|r| RouteView {
        model: q.model.clone(),
        upstream_model: r.model.clone(),
        kind: r.kind.as_str(),
        accounts: r.accounts.iter().map(|a| a.name.clone()).collect(),
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
