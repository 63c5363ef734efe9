//! One request's attempts over the account pool: the scheduler picks an
//! account, the attempt runs, its failure rests or trips the account, and
//! the next pick follows, queueing while every account rests, until one
//! succeeds or the rules say the client should hear the error.

use super::AppState;
use super::log::RequestLog;
use crate::error::{Error, Kind};
use crate::provider::{self, Call};
use crate::scheduler::{Next, Remaining, Route, Snapshot};
use crate::store::Account;
use crate::util::now_ms;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::{debug, info, warn};

/// One request's journey through the account pool.
#[derive(Clone)]
pub struct Plan {
    pub state: Arc<AppState>,
    pub snap: Arc<Snapshot>,
    pub route: Route,
    pub session: String,
    /// Accounts tried only once no other can serve (where a stream just broke).
    pub avoid: Vec<String>,
    pub deadline: Instant,
    pub timeout: Duration,
    pub id: String,
}

impl Plan {
    /// A plan for `route`, with the deadlines the settings give.
    pub fn new(
        state: &Arc<AppState>,
        snap: Arc<Snapshot>,
        route: Route,
        session: String,
        id: String,
    ) -> Self {
        let s = &snap.settings;
        Plan {
            state: state.clone(),
            timeout: Duration::from_secs(s.request_timeout_secs),
            deadline: Instant::now() + Duration::from_secs(s.request_deadline_secs),
            snap: snap.clone(),
            route,
            session,
            avoid: Vec::new(),
            id,
        }
    }

    /// Resolves `model` on the current snapshot and plans for it.
    pub fn resolve(state: &Arc<AppState>, model: &str, session: String) -> Result<Self, Error> {
        let snap = state.snapshot.load_full();
        let route = state.scheduler.resolve(&snap, model)?;
        let id = crate::util::request_id();
        Ok(Plan::new(state, snap, route, session, id))
    }

    fn call(&self, acc: Arc<Account>) -> Call {
        let (state, id, model) = (self.state.clone(), acc.id.clone(), self.route.model.clone());
        let on_quota: provider::QuotaSignal = Arc::new(move |fraction, reset_ms| {
            state
                .scheduler
                .health
                .remaining(&id, &model, Remaining { fraction, reset_ms });
        });
        Call {
            on_quota: Some(on_quota),
            up: self.state.upstream.clone(),
            proxy: acc
                .proxy
                .clone()
                .or_else(|| self.snap.settings.upstream_proxy.clone()),
            acc,
            model: self.route.model.clone(),
            timeout: self.timeout,
            max_answer: self.snap.settings.answer_max,
            id: self.id.clone(),
            oauth: self.snap.settings.oauth.clone(),
        }
    }

    /// Runs `attempt` on the accounts the scheduler picks until one succeeds,
    /// the failure is one no other account could avoid, or the attempt count
    /// or deadline runs out. Waits for a resting account where the rules say so.
    pub async fn run<T, F, Fut>(&self, log: &mut RequestLog, mut attempt: F) -> Result<T, Error>
    where
        F: FnMut(Call) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let sched = &self.state.scheduler;
        let settings = &self.snap.settings;
        let model = self.route.model.as_str();
        let mut tried: Vec<String> = self.avoid.clone();
        let mut attempts = 0;
        let mut last: Option<Error> = None;
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(last
                    .unwrap_or_else(|| Error::new(Kind::Timeout, "the request deadline passed")));
            }
            match sched.next(&self.snap, &self.route, &self.session, &tried, now_ms()) {
                Next::Account { account, why } => {
                    attempts += 1;
                    log.attempt(&account, why);
                    let started = sched.started(&account, now_ms());
                    let result = tokio::time::timeout(left, attempt(self.call(account.clone())))
                        .await
                        .unwrap_or_else(|_| {
                            Err(Error::new(Kind::Timeout, "the request deadline passed"))
                        });
                    started.settle();
                    let e = match result {
                        Ok(v) => {
                            log.attempt_ok();
                            sched.succeeded(
                                &self.snap,
                                &account,
                                model,
                                &self.session,
                                0,
                                now_ms(),
                            );
                            return Ok(v);
                        }
                        Err(e) => e,
                    };
                    let (effect, until) = sched.failed(&self.snap, &account, model, &e, now_ms());
                    log.attempt_failed(&e, &effect, until);
                    warn!(req = %self.id, account = %account.name, status = e.status(), effect = ?effect, error = %e, "attempt failed");
                    if account.kind.descriptor().reports_quota && e.kind == Kind::RateLimited {
                        super::background::refresh_soon(self.state.clone(), account.clone());
                    }
                    if !e.retryable() || attempts >= settings.max_attempts {
                        return Err(final_error(e));
                    }
                    tried.push(account.id.clone());
                    last = Some(e);
                }
                Next::Wait { ms, account, why } => {
                    if Duration::from_millis(ms) >= left {
                        return Err(last.unwrap_or_else(|| {
                            Error::new(Kind::Timeout, "the request deadline passed")
                        }));
                    }
                    // A cluster's lease block arrives within milliseconds and may be
                    // waited for many times a second: a line only when debugging.
                    if ms >= 1_000 {
                        info!(req = %self.id, account = %account.name, wait_ms = ms, "{why}");
                    } else {
                        debug!(req = %self.id, account = %account.name, wait_ms = ms, "{why}");
                    }
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    // Back from its rest, the account may be tried again.
                    tried.retain(|id| *id != account.id);
                }
                Next::Exhausted { .. } => {
                    // Every account rests (or was tried): queue for the first
                    // one back if that is soon enough, else say when to retry.
                    let now = now_ms();
                    let ready = self
                        .route
                        .accounts
                        .iter()
                        .filter_map(|a| sched.returns_at(&self.snap, a, model, now));
                    let wait = ready.min().map(|t| t.saturating_sub(now));
                    match wait {
                        Some(w)
                            if w > 0
                                && w <= settings.queue_timeout_secs.saturating_mul(1000)
                                && Duration::from_millis(w) < left =>
                        {
                            info!(req = %self.id, wait_ms = w, "every account rests; queued for the first one back");
                            tokio::time::sleep(Duration::from_millis(w)).await;
                            tried.clear();
                        }
                        Some(w) if w > 0 => return Err(exhausted(&self.route, w, last)),
                        // Every account was tried and none rests (a 500, a
                        // dropped connection): try them again, after a pause
                        // that grows, while attempts remain.
                        Some(_) if attempts < settings.max_attempts => {
                            let pause = Duration::from_millis(100 * u64::from(attempts));
                            if pause >= left {
                                return Err(final_error(last.unwrap_or_else(|| {
                                    Error::new(Kind::Timeout, "the request deadline passed")
                                })));
                            }
                            tokio::time::sleep(pause).await;
                            tried.clear();
                        }
                        _ => {
                            return Err(final_error(last.unwrap_or_else(|| {
                                Error::new(Kind::Unavailable, format!("no account can serve `{model}`: every one waits for its owner (see the dashboard's Accounts page) or is disabled"))
                            })));
                        }
                    }
                }
            }
        }
    }
}

/// What the client sees when every account rests past the queue deadline.
fn exhausted(route: &Route, wait_ms: u64, last: Option<Error>) -> Error {
    let why = last
        .map(|e| format!(" (last: {})", e.message))
        .unwrap_or_default();
    Error {
        retry_after_ms: Some(wait_ms),
        ..Error::new(
            Kind::RateLimited,
            format!(
                "every account that serves `{}` is resting; the first is back in {} s{why}",
                route.model,
                wait_ms.div_ceil(1000)
            ),
        )
    }
}

/// The last failure as the client should see it: an account's trouble is
/// levity's problem, never a 401 or 400 that would blame the client.
fn final_error(e: Error) -> Error {
    if e.kind == Kind::PermissionDenied {
        let remedy = match e.blame {
            Some(crate::error::Blame::Account(what)) => what.remedy(),
            _ => "replace its key or sign in again",
        };
        return Error {
            kind: Kind::Unavailable,
            message: format!(
                "no account could serve the request; one needs its owner ({remedy}): {}",
                e.message
            ),
            ..e
        };
    }
    e
}
