//! The Connect page's "Set up": `levity connect` from the dashboard, with
//! the change shown first (`crate::connect`).

use super::{Failure, reply};
use crate::connect::{Env, Target, Tool};
use crate::error::Kind;
use crate::server::AppState;
use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{Response, handler};
use serde::Serialize;
use std::sync::Arc;

#[derive(Serialize, utoipa::ToSchema)]
pub struct ConnectPreview {
    pub tool: &'static str,
    pub label: &'static str,
    /// The file the tool reads.
    pub file: String,
    pub exists: bool,
    /// The change as a unified diff, the new key shown as a placeholder.
    pub diff: String,
    pub after: &'static str,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Connected {
    pub tool: &'static str,
    pub file: String,
    /// The file as it was, kept beside it.
    pub backup: Option<String>,
    /// The shell command that puts it back.
    pub undo: String,
    /// The client key made for the tool (revoke it to cut the tool off).
    pub key_name: String,
    pub after: &'static str,
}

fn tool_of(name: &str) -> Result<&'static Tool, Failure> {
    crate::connect::find(name).ok_or_else(|| {
        Failure::new(
            Kind::NotFound,
            format!("no tool `{name}`; one of {}", crate::connect::names()),
        )
    })
}

fn env() -> Result<Env, Failure> {
    Env::real().ok_or_else(|| {
        Failure::new(
            Kind::Internal,
            "no home folder to find the tool's config in",
        )
    })
}

/// Where tools on this machine reach the server, and what it serves.
fn target(state: &AppState, key: String) -> Target {
    let mut at = **state.listen.load();
    if at.ip().is_unspecified() {
        at.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let snap = state.snapshot.load();
    let accounts = snap.accounts.iter().filter(|a| a.enabled);
    Target {
        url: format!("http://{at}"),
        key,
        models: crate::connect::served_models(accounts.map(|a| (a.kind, a.models.as_slice()))),
    }
}

/// What `levity connect TOOL` would write; nothing changes.
#[utoipa::path(get, path = "/api/connect/{tool}", params(("tool" = String, Path)),
    responses((status = 200, body = ConnectPreview), (status = 404, body = super::Problem), (status = 400, body = super::Problem)))]
#[handler]
pub(super) fn preview(Data(state): Data<&Arc<AppState>>, Path(tool): Path<String>) -> Response {
    const KEY: &str = "sk-lev-(a new key)";
    let preview = tool_of(&tool).and_then(|tool| {
        let plan = tool
            .plan(&env()?, &target(state, KEY.into()))
            .map_err(|m| Failure::new(Kind::InvalidRequest, m))?;
        Ok(ConnectPreview {
            tool: tool.name,
            label: tool.label,
            file: plan.file.display().to_string(),
            exists: plan.before.is_some(),
            diff: plan.diff(KEY),
            after: tool.after,
        })
    });
    reply(StatusCode::OK, preview)
}

/// Writes the tool's config with a new client key, the old file kept.
#[utoipa::path(post, path = "/api/connect/{tool}", params(("tool" = String, Path)),
    responses((status = 200, body = Connected), (status = 404, body = super::Problem), (status = 400, body = super::Problem)))]
#[handler]
pub(super) fn apply(Data(state): Data<&Arc<AppState>>, Path(tool): Path<String>) -> Response {
    let done = tool_of(&tool).and_then(|tool| {
        let env = env()?;
        let invalid = |m: String| Failure::new(Kind::InvalidRequest, m);
        // Refused before a key exists when the file cannot be merged.
        tool.plan(&env, &target(state, String::new()))
            .map_err(invalid)?;
        state.writable().map_err(Failure)?;
        let now = crate::util::now_ms() / 1000;
        let created = state
            .store
            .create_key(Some(format!("{}-{now}", tool.name)), Default::default())?;
        state.reload()?;
        let plan = tool
            .plan(&env, &target(state, created.key.clone()))
            .map_err(invalid)?;
        let written = plan
            .write(now)
            .map_err(|m| Failure::new(Kind::Internal, m))?;
        Ok(Connected {
            tool: tool.name,
            file: plan.file.display().to_string(),
            backup: written.backup.map(|b| b.display().to_string()),
            undo: written.undo,
            key_name: created.info.name,
            after: tool.after,
        })
    });
    reply(StatusCode::OK, done)
}
