//! Which account serves a request.
//!
//! Selection reads an immutable [`Snapshot`] of accounts and settings, swapped
//! whole when anything changes, so no lock or database access sits on the
//! request path. This first scheduler resolves the model to a provider family
//! and rotates among that family's accounts; the full scheduler (stickiness,
//! quotas, cool-downs) replaces `Scheduler::route` behind the same interface.

use crate::config::Settings;
use crate::error::{Error, Kind};
use crate::store::{Account, ProviderKind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Everything the request path reads, built once per change.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub accounts: Vec<Arc<Account>>,
    pub settings: Settings,
    /// SHA-256 of each client key; empty means the proxy is open (loopback only).
    pub key_hashes: Vec<[u8; 32]>,
}

/// Where one request goes: the upstream model name and the accounts to try, in order.
#[derive(Debug)]
pub struct Route {
    pub model: String,
    pub kind: ProviderKind,
    pub accounts: Vec<Arc<Account>>,
}

#[derive(Debug, Default)]
pub struct Scheduler {
    next: AtomicUsize,
}

/// Gemini models levity lists for Gemini accounts; any `gemini-*` name is served.
pub const GEMINI_MODELS: &[&str] = &[
    "gemini-3-pro-preview",
    "gemini-3-flash-preview",
    "gemini-2.5-pro",
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
    "gemini-2.0-flash",
];

/// Where Claude Code's model names go when no Anthropic account serves them
/// and no user rule says otherwise; `levity config set model_map.<name>`
/// overrides any of them.
pub const CLAUDE_DEFAULTS: &[(&str, &str)] = &[
    ("claude-*opus*", "gemini-2.5-pro"),
    ("claude-*sonnet*", "gemini-2.5-flash"),
    ("claude-*haiku*", "gemini-2.5-flash-lite"),
    ("claude-*", "gemini-2.5-flash"),
];

impl Scheduler {
    /// Resolves `requested` to an upstream model and orders the accounts that serve it.
    pub fn route(&self, snap: &Snapshot, requested: &str) -> Result<Route, Error> {
        let enabled = || snap.accounts.iter().filter(|a| a.enabled);
        let has = |kind| enabled().any(|a| a.kind == kind);
        let model = match snap.settings.map_model(requested) {
            Some(mapped) => mapped,
            // Claude names stay as they are for an Anthropic account.
            None if requested.starts_with("claude-") && !has(ProviderKind::Anthropic) => {
                crate::config::glob_map(CLAUDE_DEFAULTS, requested).unwrap_or(requested)
            }
            None => requested,
        }
        .to_string();

        let listed: Vec<Arc<Account>> = enabled()
            .filter(|a| a.kind == ProviderKind::Openai && a.models.iter().any(|m| m == &model))
            .cloned()
            .collect();
        let (kind, mut accounts) = if !listed.is_empty() {
            (ProviderKind::Openai, listed)
        } else if model.starts_with("gemini-") {
            let gemini: Vec<_> = enabled()
                .filter(|a| a.kind == ProviderKind::Gemini)
                .cloned()
                .collect();
            if gemini.is_empty() {
                return Err(Error::new(
                    Kind::Unavailable,
                    format!(
                        "no Gemini account can serve `{model}`: add one with \
                         `levity account add gemini --api-key KEY`"
                    ),
                ));
            }
            (ProviderKind::Gemini, gemini)
        } else if model.starts_with("claude-") {
            let anthropic: Vec<_> = enabled()
                .filter(|a| a.kind == ProviderKind::Anthropic)
                .cloned()
                .collect();
            if anthropic.is_empty() {
                return Err(Error::new(
                    Kind::Unavailable,
                    format!(
                        "no Anthropic account can serve `{model}`: add one with \
                         `levity account add anthropic --api-key KEY`, or map the name to another \
                         model: `levity config set model_map.{model} gemini-2.5-flash`"
                    ),
                ));
            }
            (ProviderKind::Anthropic, anthropic)
        } else {
            return Err(Error {
                param: Some("model".into()),
                ..Error::new(
                    Kind::NotFound,
                    format!(
                        "model `{requested}` is not served: no account lists it and no model_map rule \
                         maps it; add a rule such as `levity config set model_map.{requested} gemini-2.5-flash`"
                    ),
                )
            });
        };
        let start = self.next.fetch_add(1, Ordering::Relaxed) % accounts.len();
        accounts.rotate_left(start);
        accounts.truncate(snap.settings.max_attempts.max(1) as usize);
        Ok(Route {
            model,
            kind,
            accounts,
        })
    }
}

/// Model ids to advertise on `GET /v1/models`.
pub fn model_ids(snap: &Snapshot) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    let mut push = |id: &str| {
        if !ids.iter().any(|i| i == id) {
            ids.push(id.to_string());
        }
    };
    for a in snap.accounts.iter().filter(|a| a.enabled) {
        match a.kind {
            ProviderKind::Gemini => GEMINI_MODELS.iter().for_each(|m| push(m)),
            ProviderKind::Openai => a.models.iter().for_each(|m| push(m)),
            ProviderKind::Anthropic => {}
        }
    }
    for (pattern, _) in &snap.settings.model_map {
        if !pattern.contains('*') {
            push(pattern);
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Secret;

    fn account(name: &str, kind: ProviderKind, models: &[&str]) -> Arc<Account> {
        Arc::new(Account {
            id: name.into(),
            name: name.into(),
            kind,
            base_url: String::new(),
            models: models.iter().map(|m| m.to_string()).collect(),
            enabled: true,
            secret: Secret::new("k".into()),
        })
    }

    #[test]
    fn rotates_and_maps() {
        let mut map = std::collections::BTreeMap::new();
        map.insert(
            "model_map.gpt-4o*".to_string(),
            "gemini-2.5-flash".to_string(),
        );
        let snap = Snapshot {
            accounts: vec![
                account("g1", ProviderKind::Gemini, &[]),
                account("g2", ProviderKind::Gemini, &[]),
                account("ds", ProviderKind::Openai, &["deepseek-chat"]),
            ],
            settings: Settings::from_map(&map),
            key_hashes: Vec::new(),
        };
        let s = Scheduler::default();
        let a = s.route(&snap, "gpt-4o-mini").unwrap();
        let b = s.route(&snap, "gpt-4o-mini").unwrap();
        assert_eq!(a.model, "gemini-2.5-flash");
        assert_ne!(a.accounts[0].name, b.accounts[0].name, "rotation");
        assert_eq!(a.accounts.len(), 2);
        let ds = s.route(&snap, "deepseek-chat").unwrap();
        assert_eq!(
            (ds.kind, ds.accounts[0].name.as_str()),
            (ProviderKind::Openai, "ds")
        );
        assert_eq!(s.route(&snap, "nope").unwrap_err().status(), 404);
        let empty = Snapshot::default();
        assert_eq!(s.route(&empty, "gemini-2.5-pro").unwrap_err().status(), 503);
    }
}
