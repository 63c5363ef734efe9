//! The admin API under `/api`: what the CLI uses while a server holds the data
//! file, and what the dashboard reads. Loopback only (see `auth::check_admin`).

use super::{AppState, auth};
use crate::config::Settings;
use crate::store::{NewAccount, StoreError};
use poem::http::StatusCode;
use poem::web::{Data, Json, Path};
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route, get, handler};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

pub fn routes() -> impl Endpoint {
    Route::new()
        .at("/status", get(get_status))
        .at("/accounts", get(list_accounts).post(add_account))
        .at("/accounts/:id", poem::delete(remove_account))
        .at("/keys", get(list_keys).post(create_key))
        .at("/keys/:id", poem::delete(revoke_key))
        .at("/config", get(get_config).put(set_config))
        .around(|ep, req: Request| async move {
            let state = req
                .data::<Arc<AppState>>()
                .cloned()
                .expect("state is attached to every route");
            if let Err((status, code, message)) = auth::check_admin(&state, &req) {
                return Ok(error(status, code, message.to_string()));
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
}

#[handler]
fn get_status(Data(state): Data<&Arc<AppState>>) -> Response {
    let accounts = match state.store.account_infos() {
        Ok(a) => a,
        Err(e) => return store_error(e),
    };
    ok(
        StatusCode::OK,
        &Status {
            version: env!("CARGO_PKG_VERSION").into(),
            listen: state.listen.to_string(),
            data_file: state.store.path().display().to_string(),
            seal: state.store.seal_mode(),
            accounts,
            client_keys: state.snapshot.load().key_hashes.len(),
            uptime_secs: state.started.elapsed().as_secs(),
        },
    )
}

#[handler]
fn list_accounts(Data(state): Data<&Arc<AppState>>) -> Response {
    match state.store.account_infos() {
        Ok(a) => ok(StatusCode::OK, &a),
        Err(e) => store_error(e),
    }
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

/// Stored settings with every unset key at its default, so users see all of them.
pub fn effective(mut map: BTreeMap<String, String>) -> BTreeMap<String, String> {
    for (key, default, _) in crate::config::KEYS {
        if !key.contains('<') {
            map.entry(key.to_string())
                .or_insert_with(|| default.to_string());
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
fn set_config(Data(state): Data<&Arc<AppState>>, body: Json<SetConfig>) -> Response {
    if let Err(msg) = Settings::validate(&body.key, &body.value) {
        return error(400, "invalid", msg);
    }
    change(state, StatusCode::OK, || {
        state.store.set_setting(&body.key, &body.value)?;
        Ok(serde_json::json!({"key": body.key, "value": body.value}))
    })
}
