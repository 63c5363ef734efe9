//! Which account serves a request.
//!
//! Selection reads an immutable [`Snapshot`] of accounts and settings, swapped
//! whole when anything changes, plus the run-time [`Health`] of each account.
//! `Scheduler::resolve` maps the model to the accounts that can serve it;
//! `Scheduler::next` picks one of them for each attempt, by the scheduling
//! mode, the request's session and each account's quota headroom, and says
//! why, so the request log can tell.

mod cluster;
mod health;
mod session;
pub mod zone;

pub use health::{
    AccountHealth, Budget, Effect, Health, MAX_WAIT_MS, Remaining, Told, Used, capped, cool_scope,
};
pub use session::{SESSION_IDLE_MS, session_key, shown_session};
pub use zone::Zone;

use crate::catalogue::{self, Family};
use crate::cluster::{Link, News};
use crate::config::{Limits, Mode, Settings};
use crate::error::{Blame, Error, Kind, Span};
use crate::store::{Account, ProviderKind};
use session::Sessions;
use std::sync::{Arc, OnceLock};

/// Everything the request path reads, built once per change.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Accounts in the user's priority order.
    pub accounts: Vec<Arc<Account>>,
    pub settings: Settings,
    /// SHA-256 and name of each client key; empty means the proxy is open
    /// (loopback only).
    pub keys: Vec<crate::store::KeyHash>,
}

/// Where one request may go: the upstream model name and the accounts that
/// can serve it, in the user's order.
#[derive(Debug, Clone)]
pub struct Route {
    pub model: String,
    /// The first account's kind; a request passes through natively only
    /// where every account has it.
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
    /// The session's account rests briefly (or its share of a cluster-wide
    /// limit is on its way): wait for it rather than move. `why` is for the
    /// log.
    Wait {
        ms: u64,
        account: Arc<Account>,
        why: &'static str,
    },
    /// Nothing can serve now; `ready_at_ms` is the earliest an account returns.
    Exhausted { ready_at_ms: Option<u64> },
}

#[derive(Default)]
pub struct Scheduler {
    pub health: Health,
    sessions: Sessions,
    /// In cluster mode: news for the other instances, and the leases that
    /// hold limits across them.
    pub link: OnceLock<Arc<Link>>,
}

/// Balance mode moves a session once its account's headroom falls below this.
const MIN_HEADROOM: f64 = 0.05;

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
        let serving = |family| {
            enabled()
                .filter(move |a| a.kind.descriptor().family == Some(family))
                .cloned()
        };
        let model = match snap.settings.map_model(requested) {
            Some(mapped) => mapped,
            // Claude names stay as they are where a Claude account serves them.
            None if catalogue::family_of(requested) == Some(Family::Claude)
                && serving(Family::Claude).next().is_none() =>
            {
                crate::config::glob_map(catalogue::STAND_INS, requested).unwrap_or(requested)
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
            // Mixed wires are translated: a request passes through only
            // where every account speaks the client's protocol.
            (listed[0].kind, listed)
        } else if let Some(family) = catalogue::family_of(&model).filter(|&f| f != Family::Gpt) {
            let accounts: Vec<_> = serving(family).collect();
            let Some(first) = accounts.first() else {
                return Err(Error::new(Kind::Unavailable, no_account(family, &model)));
            };
            (first.kind, accounts)
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

    /// The account for the next attempt by mode, session and headroom,
    /// skipping those already `tried` (`next` adds the cluster's leases).
    fn pick(
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
                                why: "waiting for the session's account (cache-first)",
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
                    .filter_map(|a| self.returns_at(snap, a, model, now))
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
        if snap.settings.mode != Mode::Performance
            && self.sessions.stick(session, &account.id, now)
            && let Some(link) = self.link.get()
        {
            link.tell(News::Session {
                key: session.to_string(),
                account: account.id.clone(),
            });
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
                    self.tell_news(id, now);
                }
            }
        }
        if effect != Effect::None {
            self.tell_news(&account.id, now);
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

/// The day a provider's per-day quotas count in (its descriptor's zone).
pub fn zone(kind: ProviderKind) -> Zone {
    kind.descriptor().zone
}

/// What to tell a user whose request names a family no account serves.
fn no_account(family: Family, model: &str) -> String {
    match family {
        Family::Claude => format!(
            "no Anthropic account can serve `{model}`: add one with \
             `levity account add anthropic --api-key KEY`, or map the name to another \
             model: `levity config set model_map.{model} gemini-2.5-flash`"
        ),
        Family::Gemini => format!(
            "no Gemini account can serve `{model}`: add one with \
             `levity account add gemini --api-key KEY`"
        ),
        Family::Gpt => format!(
            "no account lists `{model}`: add it with `levity account add openai ... --models {model}`"
        ),
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
        Some(project) if account.kind.descriptor().shares_project_quota.is_some() => snap
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
                    minute_reset_ms: health::minute_start(now) + crate::util::MINUTE,
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
    let google = kind.descriptor().quota_per_model;
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
        let d = a.kind.descriptor();
        if d.lists_models {
            a.models.iter().for_each(|m| push(m));
        }
        if let Some(family) = d.family {
            catalogue::listed(family).for_each(&mut push);
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
mod tests;
