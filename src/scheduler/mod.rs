//! Which account serves a request.
//!
//! Selection reads an immutable [`Snapshot`] of accounts and settings, swapped
//! whole when anything changes, plus the run-time [`Health`] of each account.
//! `Scheduler::resolve` maps the model to the accounts that can serve it;
//! `Scheduler::next` picks one of them for each attempt, by the scheduling
//! mode, the request's session and each account's quota headroom, and says
//! why, so the request log can tell.

mod health;
mod session;
pub mod zone;

pub use health::{
    AccountHealth, Budget, Effect, Health, Limits, MAX_WAIT_MS, Remaining, Used, capped, now_ms,
};
pub use zone::Zone;

/// Window lengths, in milliseconds.
pub mod health_spans {
    pub use super::health::{DAY, MINUTE};
}
pub use session::session_key;

use crate::config::{Mode, Settings};
use crate::error::{Blame, Error, Kind, Span};
use crate::store::{Account, ProviderKind};
use session::Sessions;
use std::sync::Arc;

/// Everything the request path reads, built once per change.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Accounts in the user's priority order.
    pub accounts: Vec<Arc<Account>>,
    pub settings: Settings,
    /// SHA-256 and name of each client key; empty means the proxy is open
    /// (loopback only).
    pub keys: Vec<([u8; 32], String)>,
}

/// Where one request may go: the upstream model name and the accounts that
/// can serve it, in the user's order.
#[derive(Debug)]
pub struct Route {
    pub model: String,
    pub kind: ProviderKind,
    pub accounts: Vec<Arc<Account>>,
}

/// The scheduler's answer for one attempt.
#[derive(Debug)]
pub enum Next {
    /// Try this account; `why` is for the request log.
    Account {
        account: Arc<Account>,
        why: &'static str,
    },
    /// The session's account rests briefly: wait for it rather than move.
    Wait { ms: u64, account: Arc<Account> },
    /// Nothing can serve now; `ready_at_ms` is the earliest an account returns.
    Exhausted { ready_at_ms: Option<u64> },
}

#[derive(Default)]
pub struct Scheduler {
    pub health: Health,
    sessions: Sessions,
}

/// Balance mode moves a session once its account's headroom falls below this.
const MIN_HEADROOM: f64 = 0.05;

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
    /// Resolves `requested` to an upstream model and the accounts that serve it.
    pub fn resolve(&self, snap: &Snapshot, requested: &str) -> Result<Route, Error> {
        let invalid = |why: String| Error {
            param: Some("model".into()),
            ..Error::new(Kind::InvalidRequest, why)
        };
        if let Some(why) = crate::canonical::model_name_error(requested) {
            return Err(invalid(why));
        }
        // Google's resource form names the same model.
        let requested = requested.strip_prefix("models/").unwrap_or(requested);
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
        // A mapping rule's target is checked too: settings come from files
        // and other instances as well as from `config set`.
        if let Some(why) = crate::canonical::model_name_error(&model) {
            return Err(invalid(format!("{why} (the target of a model_map rule)")));
        }

        let listed: Vec<Arc<Account>> = enabled()
            .filter(|a| a.kind.lists_models() && a.models.iter().any(|m| m == &model))
            .cloned()
            .collect();
        let (kind, accounts) = if !listed.is_empty() {
            // Mixed wires are translated (as Chat, for the kind's sake).
            let kind = listed[0].kind;
            let kind = if listed.iter().all(|a| a.kind == kind) {
                kind
            } else {
                ProviderKind::Openai
            };
            (kind, listed)
        } else if model.starts_with("gemini-") {
            let gemini: Vec<_> = enabled()
                .filter(|a| matches!(a.kind, ProviderKind::Gemini | ProviderKind::GoogleOauth))
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
        Ok(Route {
            model,
            kind,
            accounts,
        })
    }

    /// Picks the account for the next attempt, skipping those already `tried`.
    pub fn next(
        &self,
        snap: &Snapshot,
        route: &Route,
        session: &str,
        tried: &[String],
        now: u64,
    ) -> Next {
        let settings = &snap.settings;
        let model = route.model.as_str();
        let open: Vec<&Arc<Account>> = route
            .accounts
            .iter()
            .filter(|a| !tried.contains(&a.id))
            .collect();
        let usable: Vec<&Arc<Account>> = open
            .iter()
            .copied()
            .filter(|a| self.health.with(&a.id, |h| h.usable(model, now)))
            .collect();
        let headroom = |a: &Account| {
            self.health.headroom(
                &a.id,
                &budget(snap, a),
                model,
                self.limits(snap, a, model),
                now,
            )
        };
        let best = |accounts: &[&Arc<Account>]| -> Option<Arc<Account>> {
            // Highest headroom; the user's order breaks ties (stable max).
            let mut best: Option<(&Arc<Account>, f64)> = None;
            for a in accounts {
                let h = headroom(a);
                if best.is_none_or(|(_, b)| h > b + 1e-9) {
                    best = Some((a, h));
                }
            }
            best.map(|(a, _)| (*a).clone())
        };
        let pinned = settings
            .preferred_account
            .as_deref()
            .and_then(|p| usable.iter().find(|a| a.id == p || a.name == p));
        let sticky = match settings.mode {
            Mode::Performance => None,
            _ => self.sessions.get(session, now),
        };
        let on_sticky = sticky
            .as_deref()
            .and_then(|id| usable.iter().find(|a| a.id == id));

        let pick = match settings.mode {
            Mode::Performance => {
                let busy = |a: &Account| self.health.with(&a.id, |h| h.in_flight);
                let least = usable.iter().map(|a| busy(a)).min();
                let idle: Vec<&Arc<Account>> = usable
                    .iter()
                    .copied()
                    .filter(|a| Some(busy(a)) == least)
                    .collect();
                best(&idle).map(|a| (a, "least in flight"))
            }
            Mode::CacheFirst => match on_sticky {
                Some(a) => Some(((*a).clone(), "session's account")),
                None => {
                    // The session's account rests only briefly (even right after
                    // failing this request): wait for it, keep the cache.
                    let resting = sticky
                        .as_deref()
                        .and_then(|id| route.accounts.iter().find(|a| a.id == id));
                    if let Some(a) = resting {
                        let ready = self.health.with(&a.id, |h| h.returns_at(model, now));
                        if let Some(ready) = ready
                            && ready > now
                            && ready - now <= settings.cache_first_wait_secs.saturating_mul(1000)
                        {
                            return Next::Wait {
                                ms: ready - now,
                                account: (*a).clone(),
                            };
                        }
                    }
                    pinned
                        .map(|a| ((*a).clone(), "pinned"))
                        .or_else(|| best(&usable).map(|a| (a, "most headroom")))
                }
            },
            Mode::Balance => match on_sticky.filter(|a| headroom(a) >= MIN_HEADROOM) {
                Some(a) => Some(((*a).clone(), "session's account")),
                None => pinned
                    .map(|a| ((*a).clone(), "pinned"))
                    .or_else(|| best(&usable).map(|a| (a, "most headroom"))),
            },
        };
        match pick {
            Some((account, why)) => Next::Account { account, why },
            None => Next::Exhausted {
                ready_at_ms: open
                    .iter()
                    .filter_map(|a| self.health.with(&a.id, |h| h.returns_at(model, now)))
                    .min(),
            },
        }
    }

    /// An attempt on `account` begins. Unless `Started::settle` is called
    /// (before `succeeded` or `failed`), dropping the guard abandons it: a
    /// client that cancelled leaves no in-flight count or probe behind.
    pub fn started<'a>(&'a self, account: &'a Account, now: u64) -> Started<'a> {
        self.health.start(&account.id, now);
        Started {
            health: &self.health,
            account: &account.id,
            settled: false,
        }
    }

    /// An attempt succeeded: the session sticks to the account.
    pub fn succeeded(
        &self,
        snap: &Snapshot,
        account: &Account,
        model: &str,
        session: &str,
        tokens: u64,
        now: u64,
    ) {
        self.health
            .success(&account.id, zone(account.kind), model, tokens, now);
        if snap.settings.mode != Mode::Performance {
            self.sessions.stick(session, &account.id, now);
        }
    }

    /// Tokens of an answer that finished after its attempt was counted.
    pub fn tokens(&self, account: &str, kind: ProviderKind, model: &str, tokens: u64, now: u64) {
        self.health
            .add_tokens(account, zone(kind), model, tokens, now);
    }

    /// An attempt failed: rest, trip or mark the account as the failure says;
    /// a spent quota rests every account that shares it. Returns the effect
    /// and until when the account rests, for the request log.
    pub fn failed(
        &self,
        snap: &Snapshot,
        account: &Account,
        model: &str,
        err: &Error,
        now: u64,
    ) -> (Effect, Option<u64>) {
        let effect = classify(account.kind, err, now);
        let until = self.health.failure(&account.id, model, effect.clone(), now);
        if let Some(Blame::Quota(span)) = err.blame {
            for id in budget(snap, account).ids {
                if let Some(limit) = err.quota_limit {
                    self.health.learn(id, model, span == Span::Day, limit);
                }
                if id != account.id {
                    self.health.share(id, model, effect.clone(), now);
                }
            }
        }
        (effect, until)
    }

    /// The limits `account` is held against for `model`: its tier's (kind
    /// aware, `tier_limits.*` when set), but what the upstream stated.
    pub fn limits(&self, snap: &Snapshot, account: &Account, model: &str) -> Limits {
        let mut limits = snap.settings.limits(account.kind, account.tier);
        if let Some(l) = self
            .health
            .with(&account.id, |h| h.learned.get(model).copied())
        {
            if l.rpm > 0 {
                limits.rpm = l.rpm;
            }
            if l.rpd > 0 {
                limits.rpd = l.rpd;
            }
        }
        limits
    }

    /// The account new sessions would get for `model` now, with its score.
    pub fn best(&self, snap: &Snapshot, route: &Route, now: u64) -> Option<(Arc<Account>, f64)> {
        route
            .accounts
            .iter()
            .filter(|a| self.health.with(&a.id, |h| h.usable(&route.model, now)))
            .map(|a| {
                (
                    a.clone(),
                    self.health.headroom(
                        &a.id,
                        &budget(snap, a),
                        &route.model,
                        self.limits(snap, a, &route.model),
                        now,
                    ),
                )
            })
            .fold(
                None,
                |best: Option<(Arc<Account>, f64)>, (a, h)| match best {
                    Some((_, b)) if b + 1e-9 >= h => best,
                    _ => Some((a, h)),
                },
            )
    }
}

/// The day a provider's per-day quotas count in: Google's resets at
/// midnight Pacific (see `zone`), the others state none.
pub fn zone(kind: ProviderKind) -> Zone {
    match kind {
        ProviderKind::Gemini | ProviderKind::GoogleOauth => Zone::Pacific,
        ProviderKind::Anthropic | ProviderKind::Openai | ProviderKind::OpenaiResponses => Zone::Utc,
    }
}

/// The accounts that spend one quota with `account`: Gemini's limits apply
/// per Google Cloud project, not per key (ai.google.dev/gemini-api/docs/
/// rate-limits), Anthropic's per organization (docs.claude.com/en/api/
/// rate-limits), so keys the user grouped under one `--project` share
/// theirs. A Google sign-in's project is Code Assist's, whose quota is the
/// user's own: it shares nothing.
pub fn budget<'a>(snap: &'a Snapshot, account: &'a Account) -> Budget<'a> {
    let zone = zone(account.kind);
    let ids = match &account.project {
        Some(project) if account.kind != ProviderKind::GoogleOauth => snap
            .accounts
            .iter()
            .filter(|a| a.kind == account.kind && a.project.as_ref() == Some(project))
            .map(|a| a.id.as_str())
            .collect(),
        _ => vec![account.id.as_str()],
    };
    // An account not (yet) in the snapshot still counts itself.
    let ids = if ids.is_empty() {
        vec![account.id.as_str()]
    } else {
        ids
    };
    Budget { ids, zone }
}

/// How long a model this account cannot serve is left alone before it is
/// tried again (the account may gain it, as a tier changes).
const MODEL_REST_MS: u64 = 3_600_000;

/// One model's quota on one account, as the scheduler counts it: what its
/// budget used in the current minute and day, against the tier's limits.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ModelQuota {
    pub model: String,
    pub used: Used,
    pub rpm: u64,
    pub tpm: u64,
    pub rpd: u64,
    /// When the minute and the day windows start again.
    pub minute_reset_ms: u64,
    pub day_reset_ms: u64,
    /// What is left of the tightest limit (0 to 1), the figure new sessions
    /// are sent by.
    pub left: f64,
    /// The accounts that share it (one, or the keys of one project).
    pub shared_with: usize,
}

impl Scheduler {
    /// Every model `account` (or its budget) used today or learnt a limit
    /// for, with its quota.
    pub fn quota(&self, snap: &Snapshot, account: &Account, now: u64) -> Vec<ModelQuota> {
        let budget = budget(snap, account);
        let day = budget.zone.day_start(now);
        let mut models: Vec<String> = budget
            .ids
            .iter()
            .flat_map(|id| {
                self.health.with(id, |h| {
                    h.day
                        .iter()
                        .filter(|(_, w)| w.start_ms == day)
                        .map(|(m, _)| m.clone())
                        .chain(h.learned.keys().cloned())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        models.sort();
        models.dedup();
        models
            .into_iter()
            .map(|model| {
                let limits = self.limits(snap, account, &model);
                let used = self.health.used(&budget, &model, now);
                let left = used.left(limits);
                ModelQuota {
                    used,
                    rpm: limits.rpm,
                    tpm: limits.tpm,
                    rpd: limits.rpd,
                    minute_reset_ms: health::minute_start(now) + health_spans::MINUTE,
                    day_reset_ms: budget.zone.next_day(now),
                    left,
                    shared_with: budget.ids.len(),
                    model,
                }
            })
            .collect()
    }
}

/// What an upstream failure means for the account: the taxonomy's blame
/// where the upstream answered, else what the failure looks like (a
/// connection that failed, a deadline).
pub fn classify(kind: ProviderKind, err: &Error, now: u64) -> Effect {
    let hint_ms = err.retry_after_ms;
    // Google quotas are per model; other hosts rate-limit the key.
    let google = matches!(kind, ProviderKind::Gemini | ProviderKind::GoogleOauth);
    match err.blame {
        Some(Blame::Client) => return Effect::None,
        Some(Blame::Account(what)) => {
            return Effect::Broken {
                what,
                reason: err.message.clone(),
            };
        }
        Some(Blame::Model) => {
            return Effect::Cool {
                scope_model: true,
                hint_ms: None,
                base_ms: MODEL_REST_MS,
                reason: format!("model not available to this account: {}", err.message),
                not_before: None,
            };
        }
        Some(Blame::Quota(span)) => {
            let next_day = zone(kind).next_day(now);
            let (not_before, what) = match span {
                Span::Minute => (None, "rate limited"),
                Span::Day => (Some(next_day), "daily quota spent"),
                Span::Stated if hint_ms.is_none() => (Some(next_day), "quota spent"),
                Span::Stated => (None, "quota spent"),
            };
            return Effect::Cool {
                scope_model: google,
                hint_ms,
                base_ms: 5_000,
                reason: format!("{what}: {}", err.message),
                not_before,
            };
        }
        Some(Blame::Transient) | None => {}
    }
    match (err.kind, err.upstream_status) {
        (Kind::RateLimited, _) => Effect::Cool {
            scope_model: google,
            hint_ms,
            base_ms: 5_000,
            reason: format!("rate limited: {}", err.message),
            not_before: None,
        },
        (_, Some(503 | 529)) => Effect::Cool {
            scope_model: false,
            hint_ms,
            base_ms: 1_000,
            reason: format!("overloaded: {}", err.message),
            not_before: None,
        },
        (Kind::PermissionDenied, _) => Effect::Broken {
            what: crate::error::Broken::Credentials,
            reason: err.message.clone(),
        },
        (Kind::Upstream | Kind::Timeout, _) => Effect::Fault,
        (_, Some(500..=599)) => Effect::Fault,
        _ => Effect::None,
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
            ProviderKind::Gemini | ProviderKind::GoogleOauth => {
                GEMINI_MODELS.iter().for_each(|m| push(m))
            }
            ProviderKind::Openai | ProviderKind::OpenaiResponses => {
                a.models.iter().for_each(|m| push(m))
            }
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

/// An attempt in flight; see `Scheduler::started`.
#[must_use = "dropping the guard abandons the attempt"]
pub struct Started<'a> {
    health: &'a health::Health,
    account: &'a str,
    settled: bool,
}

impl Started<'_> {
    /// The attempt ended and its outcome is about to be recorded.
    pub fn settle(mut self) {
        self.settled = true;
    }
}

impl Drop for Started<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.health.abandon(self.account);
        }
    }
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
            tier: kind.default_tier(),
            proxy: None,
            project: None,
        })
    }

    #[test]
    fn maps_and_resolves() {
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
            keys: Vec::new(),
        };
        let s = Scheduler::default();
        let a = s.resolve(&snap, "gpt-4o-mini").unwrap();
        assert_eq!(a.model, "gemini-2.5-flash");
        assert_eq!(a.accounts.len(), 2);
        let ds = s.resolve(&snap, "deepseek-chat").unwrap();
        assert_eq!(
            (ds.kind, ds.accounts[0].name.as_str()),
            (ProviderKind::Openai, "ds")
        );
        assert_eq!(s.resolve(&snap, "nope").unwrap_err().status(), 404);
        let empty = Snapshot::default();
        assert_eq!(
            s.resolve(&empty, "gemini-2.5-pro").unwrap_err().status(),
            503
        );
    }

    fn pool(mode: &str) -> (Scheduler, Snapshot, Route) {
        let mut map = std::collections::BTreeMap::new();
        map.insert("scheduling".to_string(), mode.to_string());
        let snap = Snapshot {
            accounts: vec![
                account("a", ProviderKind::Gemini, &[]),
                account("b", ProviderKind::Gemini, &[]),
            ],
            settings: Settings::from_map(&map),
            keys: Vec::new(),
        };
        let s = Scheduler::default();
        let route = s.resolve(&snap, "gemini-2.5-flash").unwrap();
        (s, snap, route)
    }

    fn pick(s: &Scheduler, snap: &Snapshot, route: &Route, session: &str, now: u64) -> String {
        match s.next(snap, route, session, &[], now) {
            Next::Account { account, .. } => account.id.clone(),
            other => format!("{other:?}"),
        }
    }

    fn serve(s: &Scheduler, snap: &Snapshot, route: &Route, session: &str, now: u64) -> String {
        let id = pick(s, snap, route, session, now);
        let acc = snap.accounts.iter().find(|a| a.id == id).unwrap();
        s.started(acc, now).settle();
        s.succeeded(snap, acc, &route.model, session, 100, now);
        id
    }

    fn rest(s: &Scheduler, id: &str, ms: u64, now: u64) {
        let effect = Effect::Cool {
            scope_model: false,
            hint_ms: Some(ms),
            base_ms: 1000,
            reason: "test".into(),
            not_before: None,
        };
        s.health.start(id, now);
        s.health.failure(id, "gemini-2.5-flash", effect, now);
    }

    #[test]
    fn balance_sticks_sessions_and_sends_new_ones_to_headroom() {
        let (s, snap, route) = pool("balance");
        let first = serve(&s, &snap, &route, "s1", 0);
        assert_eq!(first, "a", "ties go to the user's order");
        for t in 1..4 {
            assert_eq!(serve(&s, &snap, &route, "s1", t), "a", "the session stays");
        }
        assert_eq!(
            serve(&s, &snap, &route, "s2", 5),
            "b",
            "a new session goes where there is headroom"
        );
        rest(&s, "a", 60_000, 6);
        assert_eq!(
            serve(&s, &snap, &route, "s1", 7),
            "b",
            "balance moves a session off a resting account"
        );
    }

    #[test]
    fn cache_first_waits_for_a_briefly_resting_account() {
        let (s, snap, route) = pool("cache-first");
        assert_eq!(serve(&s, &snap, &route, "s1", 0), "a");
        rest(&s, "a", 10_000, 1);
        assert!(matches!(
            s.next(&snap, &route, "s1", &[], 2),
            Next::Wait { ms: 9_999, .. }
        ));
        rest(&s, "a", 120_000, 3);
        assert_eq!(
            pick(&s, &snap, &route, "s1", 4),
            "b",
            "too long a rest: move"
        );
    }

    #[test]
    fn performance_spreads_by_load() {
        let (s, snap, route) = pool("performance");
        std::mem::forget(s.started(&snap.accounts[0], 0));
        assert_eq!(pick(&s, &snap, &route, "s1", 1), "b", "least in flight");
        std::mem::forget(s.started(&snap.accounts[1], 1));
        std::mem::forget(s.started(&snap.accounts[1], 1));
        assert_eq!(pick(&s, &snap, &route, "s1", 2), "a");
    }

    #[test]
    fn nothing_usable_reports_when_something_returns() {
        let (s, snap, route) = pool("balance");
        rest(&s, "a", 5_000, 0);
        rest(&s, "b", 3_000, 0);
        assert!(matches!(
            s.next(&snap, &route, "x", &[], 1),
            Next::Exhausted {
                ready_at_ms: Some(3_000)
            }
        ));
    }
}
