//! Accounts in the admin API: the list with run-time state, adding,
//! changing, ordering, pinning and removing, and the server's status.

use super::{Failure, change, json, reply};
use crate::error::{Broken, Kind};
use crate::scheduler::ModelQuota;
use crate::server::AppState;
use crate::store::{AccountInfo, AccountPatch, NewAccount, StoreError};
use crate::util::now_ms;
use poem::http::StatusCode;
use poem::web::{Data, Json, Path, Query};
use poem::{Response, handler};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Serialize, Deserialize, Debug, utoipa::ToSchema)]
pub struct Status {
    pub version: String,
    pub listen: String,
    /// The addresses other devices reach this server at (`host:port`): this
    /// machine's network addresses when it listens on all of them, the one
    /// address when on one, none on loopback.
    #[serde(default)]
    pub network: Vec<String>,
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

/// The server: version, address, data file, accounts.
#[utoipa::path(get, path = "/api/status", responses((status = 200, body = Status)))]
#[handler]
pub(super) fn get_status(Data(state): Data<&Arc<AppState>>) -> Response {
    let status = accounts_with_state(state).map(|accounts| Status {
        version: env!("CARGO_PKG_VERSION").into(),
        listen: state.listen.load().to_string(),
        network: network_addresses(**state.listen.load()),
        data_file: state.store.path().display().to_string(),
        seal: state.store.seal_mode(),
        accounts,
        client_keys: state.snapshot.load().keys.len(),
        uptime_secs: state.started.elapsed().as_secs(),
        storage: state.storage.0.to_string(),
        data_file_new: state.storage.1,
        disk: state.store.disk_trouble(),
    });
    reply(StatusCode::OK, status.map_err(Failure::from))
}

/// Where other devices find a server listening on `listen`: for a wildcard,
/// every address of this machine's interfaces but loopback and link-local
/// (which need a zone to be dialled), IPv4 first.
fn network_addresses(listen: std::net::SocketAddr) -> Vec<String> {
    let ip = listen.ip();
    if ip.is_loopback() {
        return Vec::new();
    }
    if !ip.is_unspecified() {
        return vec![listen.to_string()];
    }
    let mut ips: Vec<std::net::IpAddr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .map(|i| i.ip())
        .filter(|a| {
            !a.is_loopback()
                // [::] takes IPv4 too (dual stack); 0.0.0.0 IPv4 only.
                && (ip.is_ipv6() || a.is_ipv4())
                && !matches!(a, std::net::IpAddr::V6(v6) if v6.is_unicast_link_local())
        })
        .collect();
    ips.sort_by_key(|a| (a.is_ipv6(), *a));
    ips.dedup();
    ips.into_iter()
        .map(|a| std::net::SocketAddr::new(a, listen.port()).to_string())
        .collect()
}

/// The cluster this instance is in: its instances, and whether each is in
/// sync (`enabled` false when it stands alone).
#[utoipa::path(get, path = "/api/cluster", responses((status = 200, body = crate::cluster::ClusterStatus)))]
#[handler]
pub(super) fn cluster(Data(state): Data<&Arc<AppState>>) -> Response {
    let status = state
        .cluster
        .get()
        .map_or_else(crate::cluster::alone, |c| c.status());
    json(StatusCode::OK, &status)
}

/// Accounts with run-time state (active, cooling, needs-reauth,
/// needs-action, disabled) and health.
#[utoipa::path(get, path = "/api/accounts", responses((status = 200, body = Vec<AccountInfo>)))]
#[handler]
pub(super) fn list_accounts(Data(state): Data<&Arc<AppState>>) -> Response {
    reply(
        StatusCode::OK,
        accounts_with_state(state).map_err(Failure::from),
    )
}

/// An account's run-time health, as `AccountInfo::health` carries it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// The models it rests for, until when and why.
    pub cooling: Vec<Cooling>,
    pub breaker_open_until_ms: u64,
    pub in_flight: u32,
    pub last_used_ms: u64,
    pub successes: u64,
    pub failures: u64,
    /// What the upstream last said is left of each model's quota.
    pub remaining: std::collections::HashMap<String, crate::scheduler::Remaining>,
    /// What the account needs from its owner, when it is marked.
    pub broken: Option<Broken>,
    /// What the owner should do about it.
    pub remedy: Option<&'static str>,
    /// Each model's quota as the scheduler counts it.
    pub quota: Vec<ModelQuota>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Cooling {
    pub model: String,
    pub until_ms: u64,
    pub reason: String,
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
        let cooling: Vec<Cooling> = h
            .cooling
            .iter()
            .filter(|(_, c)| c.until_ms > now)
            .map(|(m, c)| Cooling {
                model: m.clone(),
                until_ms: c.until_ms,
                reason: c.reason.clone(),
            })
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
            info.reason.clone_from(&c.reason);
        }
        let health = Health {
            cooling,
            breaker_open_until_ms: h.breaker.open_until_ms,
            in_flight: h.in_flight,
            last_used_ms: h.last_used_ms,
            successes: h.successes,
            failures: h.failures,
            remaining: h.remaining.clone(),
            broken: h.broken,
            remedy: h
                .needs_action
                .as_ref()
                .map(|_| h.broken.unwrap_or(Broken::Credentials).remedy()),
            quota,
        };
        info.health = Some(serde_json::to_value(health).expect("serializable"));
    }
    Ok(infos)
}

/// Change an account's settings; a change tries a marked account again.
#[utoipa::path(patch, path = "/api/accounts/{id}", request_body = AccountPatch,
    params(("id" = String, Path)), responses((status = 200, body = AccountInfo), (status = 404, body = super::Problem)))]
#[handler]
pub(super) fn update_account(
    Data(state): Data<&Arc<AppState>>,
    Path(id): Path<String>,
    body: Json<AccountPatch>,
) -> Response {
    change(state, StatusCode::OK, || {
        let info = state.store.update_account(&id, body.0)?;
        // Changed settings (a proxy for a region, a tier, a new address)
        // are the owner's answer to a mark: try the account again.
        state.scheduler.reauthorized(&info.id);
        Ok(info)
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct NewSecret {
    secret: String,
}

/// A new key or refresh token (re-authentication): clears the re-auth mark.
#[utoipa::path(put, path = "/api/accounts/{id}/secret", request_body = NewSecret,
    params(("id" = String, Path)), responses((status = 200, body = AccountInfo), (status = 404, body = super::Problem)))]
#[handler]
pub(super) fn replace_secret(
    Data(state): Data<&Arc<AppState>>,
    Path(id): Path<String>,
    body: Json<NewSecret>,
) -> Response {
    change(state, StatusCode::OK, || {
        let info = state.store.set_secret(&id, body.0.secret.trim())?;
        state.scheduler.reauthorized(&info.id);
        state.upstream.tokens().forget(&info.id);
        Ok(info)
    })
}

/// Put accounts in this order (ids).
#[utoipa::path(put, path = "/api/accounts/order", request_body = Vec<String>,
    responses((status = 200, body = Vec<AccountInfo>)))]
#[handler]
pub(super) fn reorder(Data(state): Data<&Arc<AppState>>, body: Json<Vec<String>>) -> Response {
    change(state, StatusCode::OK, || state.store.reorder(&body.0))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub(super) struct BestQuery {
    /// The model a new session would ask for.
    model: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Best {
    /// The upstream model, after mapping.
    pub model: String,
    pub account: AccountRef,
    /// Its headroom (0 to 1).
    pub score: f64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AccountRef {
    pub id: String,
    pub name: String,
}

/// The account new sessions for `model` would get now, with its headroom.
#[utoipa::path(get, path = "/api/accounts/best", params(BestQuery),
    responses((status = 200, body = Best), (status = 503, body = super::Problem)))]
#[handler]
pub(super) fn best_account(
    Data(state): Data<&Arc<AppState>>,
    Query(q): Query<BestQuery>,
) -> Response {
    let snap = state.snapshot.load_full();
    let best = state.scheduler.resolve(&snap, &q.model).and_then(|route| {
        match state.scheduler.best(&snap, &route, now_ms()) {
            Some((acc, score)) => Ok(Best {
                model: route.model.clone(),
                account: AccountRef {
                    id: acc.id.clone(),
                    name: acc.name.clone(),
                },
                score,
            }),
            None => Err(crate::error::Error::new(
                Kind::Unavailable,
                format!("no account can serve `{}` right now", route.model),
            )),
        }
    });
    reply(StatusCode::OK, best.map_err(Failure::from))
}

#[derive(Deserialize, Serialize, utoipa::ToSchema)]
pub struct Prefer {
    /// The pinned account's id or name; empty when none is.
    preferred_account: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct PreferBody {
    /// An account id or name; empty or absent unpins.
    account: Option<String>,
}

/// Pins the account new sessions go to while it can serve.
#[utoipa::path(put, path = "/api/accounts/preferred", request_body = PreferBody,
    responses((status = 200, body = Prefer), (status = 404, body = super::Problem)))]
#[handler]
pub(super) fn prefer(Data(state): Data<&Arc<AppState>>, body: Json<PreferBody>) -> Response {
    let account = body.0.account.unwrap_or_default();
    if !account.is_empty()
        && !state
            .snapshot
            .load()
            .accounts
            .iter()
            .any(|a| a.id == account || a.name == account)
    {
        let missing = Failure::new(Kind::NotFound, format!("no such account: {account}"));
        return reply::<()>(StatusCode::OK, Err(missing));
    }
    change(state, StatusCode::OK, || {
        state.store.set_setting("preferred_account", &account)?;
        Ok(Prefer {
            preferred_account: account,
        })
    })
}

/// Add an account.
#[utoipa::path(post, path = "/api/accounts", request_body = NewAccount,
    responses((status = 201, body = AccountInfo), (status = 400, body = super::Problem)))]
#[handler]
pub(super) fn add_account(Data(state): Data<&Arc<AppState>>, body: Json<NewAccount>) -> Response {
    change(state, StatusCode::CREATED, || {
        state.store.add_account(body.0)
    })
}

/// Remove an account.
#[utoipa::path(delete, path = "/api/accounts/{id}", params(("id" = String, Path)),
    responses((status = 200, body = AccountInfo), (status = 404, body = super::Problem)))]
#[handler]
pub(super) fn remove_account(
    Data(state): Data<&Arc<AppState>>,
    Path(id): Path<String>,
) -> Response {
    change(state, StatusCode::OK, || state.store.remove_account(&id))
}

/// Reads a Google account's quota now.
#[utoipa::path(post, path = "/api/accounts/{id}/quota", params(("id" = String, Path)),
    responses((status = 200, body = AccountInfo), (status = 400, body = super::Problem), (status = 404, body = super::Problem)))]
#[handler]
pub(super) async fn refresh_quota(
    Data(state): Data<&Arc<AppState>>,
    Path(id): Path<String>,
) -> Response {
    let Some(acc) = state
        .snapshot
        .load()
        .accounts
        .iter()
        .find(|a| a.id == id || a.name == id)
        .cloned()
    else {
        let missing = Failure::new(Kind::NotFound, format!("no such account: {id}"));
        return reply::<()>(StatusCode::OK, Err(missing));
    };
    if !acc.kind.descriptor().reports_quota {
        let why = Failure::new(
            Kind::InvalidRequest,
            "only Google accounts report quota; other accounts are counted locally",
        );
        return reply::<()>(StatusCode::OK, Err(why));
    }
    crate::server::background::refresh(state, acc).await;
    let found = accounts_with_state(state)
        .map(|list| list.into_iter().find(|a| a.id == id || a.name == id));
    reply(StatusCode::OK, found.map_err(Failure::from))
}

/// An upstream kind as the dashboard's account forms need it: what it is
/// called and what an account of it must or may have (its descriptor).
#[derive(Serialize, utoipa::ToSchema)]
pub struct KindView {
    pub name: &'static str,
    pub label: crate::config::table::Text,
    pub default_base_url: &'static str,
    /// Accounts must name their host (`base_url`).
    pub needs_base_url: bool,
    /// Accounts list the models they serve (`models`).
    pub lists_models: bool,
    pub default_tier: crate::store::Tier,
    /// The provider reports its quota (the account can be asked for it).
    pub reports_quota: bool,
    /// Accounts come from a browser sign-in (a refresh token).
    pub signs_in: bool,
    /// What a `project` groups for this kind: keys that share one quota.
    pub project_hint: Option<crate::config::table::Text>,
}

/// The upstream kinds levity can hold accounts of.
#[utoipa::path(get, path = "/api/kinds", responses((status = 200, body = Vec<KindView>)))]
#[handler]
pub(super) fn kinds() -> Response {
    let kinds: Vec<KindView> = crate::store::ProviderKind::ALL
        .iter()
        .map(|k| {
            let d = k.descriptor();
            KindView {
                name: d.name,
                label: d.label,
                default_base_url: d.default_base_url,
                needs_base_url: d.needs_base_url,
                lists_models: d.lists_models,
                default_tier: d.default_tier,
                reports_quota: d.reports_quota,
                signs_in: d.signs_in,
                project_hint: d.shares_project_quota,
            }
        })
        .collect();
    super::json(StatusCode::OK, &kinds)
}
