//! What the scheduler knows about each account at run time: cool-downs per
//! model, the circuit breaker, re-authentication, requests in flight, usage
//! windows and the upstream's own quota signals.
//!
//! One mutex guards the map; it is held for microseconds to read or update
//! an entry and never across an upstream call. What must survive a restart
//! (cool-downs, breakers, re-auth marks, today's usage) is taken as a
//! serializable snapshot and written to the store by a background task.
//!
//! Times are Unix milliseconds and every sum saturates: no hint or stored
//! value can wrap a time around or rest an account past [`MAX_WAIT_MS`].

use super::zone::Zone;
use crate::config::Limits;
use crate::error::Broken;
use crate::util::{DAY, MINUTE, now_ms};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

mod told;
pub use told::{Told, cool_scope};

/// The longest rest levity gives an account, whatever the upstream asked
/// for: a hostile or broken upstream asking for years gets a week, then the
/// account is tried again.
pub const MAX_WAIT_MS: u64 = 7 * DAY;

/// A wait in milliseconds, capped at [`MAX_WAIT_MS`].
pub fn capped(ms: u64) -> u64 {
    ms.min(MAX_WAIT_MS)
}

/// A cool-down applies to one model, or to the whole account.
pub const ALL_MODELS: &str = "*";

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Cooldown {
    pub until_ms: u64,
    pub reason: String,
    /// Consecutive cool-downs without a hint, for growing back-off steps.
    pub strikes: u32,
}

impl Breaker {
    fn record(&mut self, fault: bool) {
        self.recent = (self.recent << 1) | u16::from(fault);
        self.seen = (self.seen + 1).min(16);
    }

    /// At least `BREAKER_THRESHOLD` faults, and half or more of the recent
    /// outcomes: three in a row on a quiet account, eight of sixteen on a
    /// busy one.
    fn tripped(&self) -> bool {
        let mask = if self.seen >= 16 {
            u16::MAX
        } else {
            (1u16 << self.seen) - 1
        };
        let faults = (self.recent & mask).count_ones();
        faults >= BREAKER_THRESHOLD && faults * 2 >= u32::from(self.seen)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Breaker {
    /// Consecutive server-side failures.
    pub failures: u32,
    /// The last outcomes (1: a fault), newest in the lowest bit, and how
    /// many of the 16 bits hold one: the breaker opens on a share of faults,
    /// so a busy account's scattered faults do not open it.
    #[serde(default)]
    pub recent: u16,
    #[serde(default)]
    pub seen: u8,
    /// Open until this time; then one probe may pass (half-open).
    pub open_until_ms: u64,
    /// Current open period, doubled each time a probe fails.
    pub period_ms: u64,
    /// A half-open probe is in flight.
    #[serde(skip)]
    pub probing: bool,
}

/// Requests and tokens within a window that started at `start_ms`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Window {
    pub start_ms: u64,
    pub requests: u64,
    pub tokens: u64,
}

impl Window {
    /// Starts a new window when `start` (the current window's start) moved.
    fn roll(&mut self, start: u64) {
        if self.start_ms != start {
            *self = Window {
                start_ms: start,
                ..Window::default()
            };
        }
    }
}

/// The start of the minute holding `now`.
pub fn minute_start(now: u64) -> u64 {
    now - now % MINUTE
}

/// The upstream's own statement of what is left, and when it resets.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Remaining {
    pub fraction: f64,
    pub reset_ms: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct AccountHealth {
    pub cooling: HashMap<String, Cooldown>,
    pub breaker: Breaker,
    /// Why the account cannot serve until its owner acts (see `broken`).
    #[serde(alias = "needs_reauth")]
    pub needs_action: Option<String>,
    /// What the owner must do; `None` with a reason is a refused credential
    /// saved before the kinds were told apart.
    #[serde(default)]
    pub broken: Option<Broken>,
    #[serde(skip)]
    pub in_flight: u32,
    pub last_used_ms: u64,
    pub minute: HashMap<String, Window>,
    pub day: HashMap<String, Window>,
    pub remaining: HashMap<String, Remaining>,
    /// Limits the upstream stated for a model when one ran out (Gemini's
    /// `quotaValue`): they win over the tier's defaults.
    #[serde(default)]
    pub learned: HashMap<String, Learned>,
    pub successes: u64,
    pub failures: u64,
    /// Failures lately, decayed on success; lowers the headroom score.
    pub recent_failures: u32,
}

impl AccountHealth {
    /// The cool-down in force for `model`, if any.
    pub fn cooling_for(&self, model: &str, now: u64) -> Option<&Cooldown> {
        [model, ALL_MODELS]
            .iter()
            .filter_map(|m| self.cooling.get(*m))
            .filter(|c| c.until_ms > now)
            .max_by_key(|c| c.until_ms)
    }

    /// When `model` can be tried again on this account (now if it can).
    pub fn ready_at(&self, model: &str, now: u64) -> u64 {
        let cool = self.cooling_for(model, now).map_or(0, |c| c.until_ms);
        // While a half-open probe is in flight nobody knows when the account
        // returns: look again shortly (this is also the `Retry-After` a
        // client hears), rather than "never".
        let breaker = if self.breaker.probing {
            now.saturating_add(PROBE_RECHECK_MS)
        } else {
            self.breaker.open_until_ms
        };
        cool.max(breaker).max(now)
    }

    pub fn usable(&self, model: &str, now: u64) -> bool {
        self.needs_action.is_none() && self.ready_at(model, now) <= now
    }

    /// When `model` is back, unless the account waits for its owner.
    pub fn returns_at(&self, model: &str, now: u64) -> Option<u64> {
        self.needs_action
            .is_none()
            .then(|| self.ready_at(model, now))
    }
}

/// Request limits an upstream stated for one model; 0: not stated.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Learned {
    pub rpm: u64,
    pub rpd: u64,
}

#[derive(Default)]
pub struct Health {
    map: Mutex<HashMap<String, AccountHealth>>,
    dirty: AtomicBool,
}

impl Health {
    pub fn with<R>(&self, account: &str, f: impl FnOnce(&mut AccountHealth) -> R) -> R {
        let mut map = self.map.lock().expect("health lock");
        f(map.entry(account.to_string()).or_default())
    }

    fn change<R>(&self, account: &str, f: impl FnOnce(&mut AccountHealth) -> R) -> R {
        self.dirty.store(true, Ordering::Relaxed);
        self.with(account, f)
    }

    pub fn read(&self, account: &str) -> AccountHealth {
        self.with(account, |h| h.clone())
    }

    /// What the accounts of one budget (`budget.ids`: one account, or every
    /// key of one Google Cloud project) used of `model` in the current minute
    /// and day.
    pub fn used(&self, budget: &Budget<'_>, model: &str, now: u64) -> Used {
        let map = self.map.lock().expect("health lock");
        let (minute, day) = (minute_start(now), budget.zone.day_start(now));
        let mut used = Used::default();
        for h in budget.ids.iter().filter_map(|id| map.get(*id)) {
            if let Some(w) = h.minute.get(model).filter(|w| w.start_ms == minute) {
                used.minute_requests += w.requests;
                used.minute_tokens += w.tokens;
            }
            if let Some(w) = h.day.get(model).filter(|w| w.start_ms == day) {
                used.day_requests += w.requests;
                used.day_tokens += w.tokens;
            }
        }
        used
    }

    /// Headroom in [0, 1] for `model` on `account`: what is left of the
    /// tightest limit of its budget, weighted up when the quota resets soon
    /// and down after failures.
    pub fn headroom(
        &self,
        account: &str,
        budget: &Budget<'_>,
        model: &str,
        limits: Limits,
        now: u64,
    ) -> f64 {
        let mut left = self.used(budget, model, now).left(limits);
        self.with(account, |h| {
            if let Some(r) = h.remaining.get(model).filter(|r| r.reset_ms > now) {
                left = left.min(r.fraction.clamp(0.0, 1.0));
            }
            // An hourly or per-minute quota comes back sooner than a daily one.
            let soon = 1.0 + 0.5 * (1.0 - (limits.reset_ms as f64 / DAY as f64).min(1.0));
            left * soon * 0.5f64.powi(h.recent_failures.min(8) as i32)
        })
    }

    pub fn start(&self, account: &str, now: u64) {
        self.with(account, |h| {
            h.in_flight += 1;
            h.last_used_ms = now;
            if h.breaker.open_until_ms > 0 && h.breaker.open_until_ms <= now {
                h.breaker.probing = true;
            }
        });
    }

    pub fn success(&self, account: &str, zone: Zone, model: &str, tokens: u64, now: u64) {
        self.change(account, |h| {
            h.in_flight = h.in_flight.saturating_sub(1);
            h.successes += 1;
            h.recent_failures = h.recent_failures.saturating_sub(1);
            // A probe that passes closes the breaker with a clean slate.
            if h.breaker.probing || h.breaker.open_until_ms > 0 {
                h.breaker = Breaker::default();
            } else {
                h.breaker.record(false);
                h.breaker.failures = 0;
            }
            h.cooling.retain(|m, c| c.until_ms > now && m != model);
            h.count(zone, model, 1, tokens, now);
        });
    }

    /// Adds tokens counted after the attempt (a stream's usage arrives at its end).
    pub fn add_tokens(&self, account: &str, zone: Zone, model: &str, tokens: u64, now: u64) {
        self.change(account, |h| h.count(zone, model, 0, tokens, now));
    }

    /// Ends an attempt nobody waits for any more (the client went away). It
    /// says nothing of the account: only its in-flight count and a half-open
    /// probe are released, so the next request may probe again.
    pub fn abandon(&self, account: &str) {
        self.with(account, |h| {
            h.in_flight = h.in_flight.saturating_sub(1);
            h.breaker.probing = false;
        });
    }

    /// Ends an attempt that failed; `effect` says what the failure means.
    /// Returns when the account is usable again, if it now rests.
    pub fn failure(&self, account: &str, model: &str, effect: Effect, now: u64) -> Option<u64> {
        self.change(account, |h| {
            h.in_flight = h.in_flight.saturating_sub(1);
            // Whatever the failure, the probe is over: a probe answered by a
            // 429 or a client error must not leave the account unprobeable.
            let probed = std::mem::take(&mut h.breaker.probing);
            if effect != Effect::None {
                h.failures += 1;
                h.recent_failures = (h.recent_failures + 1).min(16);
            }
            h.apply(model, effect, probed, now)
        })
    }

    /// Rests an account that shares a quota with one that just ran out of
    /// it (another key of the same project): no attempt of its own ended.
    pub fn share(&self, account: &str, model: &str, effect: Effect, now: u64) {
        self.change(account, |h| h.apply(model, effect, false, now));
    }
}

impl AccountHealth {
    fn count(&mut self, zone: Zone, model: &str, requests: u64, tokens: u64, now: u64) {
        for (w, start) in [
            (
                self.minute.entry(model.into()).or_default(),
                minute_start(now),
            ),
            (
                self.day.entry(model.into()).or_default(),
                zone.day_start(now),
            ),
        ] {
            w.roll(start);
            w.requests += requests;
            w.tokens += tokens;
        }
    }

    /// What a failure does; `probed` says it ended a half-open probe.
    fn apply(&mut self, model: &str, effect: Effect, probed: bool, now: u64) -> Option<u64> {
        let h = self;
        match effect {
            Effect::Cool {
                scope_model,
                hint_ms,
                base_ms,
                reason,
                not_before,
            } => {
                let key = cool_scope(scope_model, model).to_string();
                let prev = h
                    .cooling
                    .get(&key)
                    .filter(|c| c.until_ms.saturating_add(2 * base_ms.max(60_000)) > now);
                // A failure while the account already rests was in flight
                // when the rest began: the same trouble, not a new strike.
                let resting = prev.filter(|c| c.until_ms > now);
                let strikes = match (prev, resting) {
                    (_, Some(c)) => c.strikes,
                    (Some(c), None) => c.strikes + 1,
                    (None, None) => 0,
                };
                // The upstream's own delay, up to a week; without one, growing steps.
                let hint_ms = hint_ms.map(capped);
                let wait = hint_ms.unwrap_or_else(|| base_ms.saturating_mul(1 << strikes.min(12)));
                let until = match (resting, hint_ms) {
                    (Some(c), None) => c.until_ms,
                    (Some(c), Some(_)) => now.saturating_add(wait).max(c.until_ms),
                    (None, _) => now.saturating_add(wait),
                }
                // A day's quota is back at the day's reset, whatever the
                // hint says (Gemini's RetryInfo says seconds).
                .max(not_before.map_or(0, |t| t.min(now.saturating_add(MAX_WAIT_MS))));
                h.cooling.insert(
                    key,
                    Cooldown {
                        until_ms: until,
                        reason,
                        strikes: if hint_ms.is_some() { 0 } else { strikes },
                    },
                );
                Some(until)
            }
            Effect::Fault => {
                h.breaker.failures += 1;
                h.breaker.record(true);
                if probed || h.breaker.tripped() {
                    let period = if probed {
                        h.breaker.period_ms.saturating_mul(2).min(BREAKER_MAX_MS)
                    } else {
                        BREAKER_OPEN_MS
                    };
                    let until = now.saturating_add(period);
                    h.breaker = Breaker {
                        open_until_ms: until,
                        period_ms: period,
                        probing: false,
                        ..h.breaker.clone()
                    };
                    Some(until)
                } else {
                    None
                }
            }
            Effect::Broken { what, reason } => {
                h.needs_action = Some(reason);
                h.broken = Some(what);
                None
            }
            Effect::None => None,
        }
    }
}

/// The accounts whose usage counts against one quota, and the zone its day
/// is counted in.
pub struct Budget<'a> {
    pub ids: Vec<&'a str>,
    pub zone: Zone,
}

/// Requests and tokens one budget used of a model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Used {
    pub minute_requests: u64,
    pub minute_tokens: u64,
    pub day_requests: u64,
    pub day_tokens: u64,
}

impl Used {
    /// What is left (0 to 1) of the tightest of `limits` (0: no limit).
    pub fn left(&self, limits: Limits) -> f64 {
        [
            (self.minute_requests, limits.rpm),
            (self.minute_tokens, limits.tpm),
            (self.day_requests, limits.rpd),
        ]
        .into_iter()
        .filter(|(_, limit)| *limit > 0)
        .map(|(used, limit)| 1.0 - (used as f64 / limit as f64).min(1.0))
        .fold(1.0, f64::min)
    }
}

impl Health {
    /// Records a limit the upstream stated for `model`.
    pub fn learn(&self, account: &str, model: &str, per_day: bool, limit: u64) {
        self.change(account, |h| {
            let l = h.learned.entry(model.to_string()).or_default();
            if per_day {
                l.rpd = limit;
            } else {
                l.rpm = limit;
            }
        });
    }

    /// Records the upstream's own quota signal for `model`.
    pub fn remaining(&self, account: &str, model: &str, r: Remaining) {
        self.change(account, |h| {
            h.remaining.insert(model.to_string(), r);
        });
    }

    /// Clears the mark of an account that waited for its owner: its secret
    /// or settings changed, or the owner asked to try it again.
    pub fn reauthorized(&self, account: &str) {
        self.change(account, |h| {
            h.needs_action = None;
            h.broken = None;
        });
    }

    /// The persistent part of every account's health, if anything changed.
    pub fn take_dirty(&self) -> Option<HashMap<String, AccountHealth>> {
        if !self.dirty.swap(false, Ordering::Relaxed) {
            return None;
        }
        Some(self.map.lock().expect("health lock").clone())
    }

    /// Marks health unsaved again, after a save failed.
    pub fn touch(&self) {
        self.dirty.store(true, Ordering::Relaxed);
    }

    /// Takes saved health back, with rests cut to a week from now: a file
    /// written before the cap (or edited) cannot rest an account forever.
    pub fn load(&self, mut saved: HashMap<String, AccountHealth>) {
        let latest = now_ms().saturating_add(MAX_WAIT_MS);
        for h in saved.values_mut() {
            for c in h.cooling.values_mut() {
                c.until_ms = c.until_ms.min(latest);
            }
            h.breaker.open_until_ms = h.breaker.open_until_ms.min(latest);
        }
        *self.map.lock().expect("health lock") = saved;
    }
}

/// Server failures (in a row on a quiet account) that open its breaker.
pub const BREAKER_THRESHOLD: u32 = 3;
pub const BREAKER_OPEN_MS: u64 = 30_000;
const BREAKER_MAX_MS: u64 = 600_000;
/// How soon to look again at an account whose half-open probe is in flight.
const PROBE_RECHECK_MS: u64 = 1_000;

/// What a failed attempt does to the account.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Rest the account (or only this model) for the hinted time, or for a
    /// growing multiple of `base_ms` when the upstream gave no hint; never
    /// before `not_before` (a day quota's reset).
    Cool {
        scope_model: bool,
        hint_ms: Option<u64>,
        base_ms: u64,
        reason: String,
        not_before: Option<u64>,
    },
    /// A server-side fault: counts toward the circuit breaker.
    Fault,
    /// The account cannot serve until its owner acts.
    Broken { what: Broken, reason: String },
    /// Nothing the account did (a bad request).
    None,
}

#[cfg(test)]
mod tests;
