//! What the dashboard's Monitor and Usage pages read: the recent requests (a
//! bounded ring), live request events for subscribers, and usage counters
//! per day, hour, account, model and client key. Updated when a request
//! ends, in memory; the background task saves usage and appends the ended
//! requests (with any captured bodies) to the request log.

use super::log::Capture;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use tokio::sync::broadcast;

/// Requests kept for the Monitor page.
pub const RECENT: usize = 2_000;
/// Latencies kept per hour for percentiles.
const SAMPLES: usize = 4_096;
/// Days of usage kept.
const KEEP_DAYS: usize = 400;
/// Ended requests waiting for the log writer; beyond this (a stuck disk) the
/// oldest are dropped rather than memory growing without bound.
const PENDING: usize = 100_000;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Entry {
    pub id: String,
    pub time_ms: u64,
    pub protocol: String,
    pub model: String,
    pub upstream_model: String,
    pub account: String,
    pub status: u16,
    pub latency_ms: u64,
    pub ttft_ms: Option<u64>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub attempts: u32,
    pub why: String,
    pub background: bool,
    pub stream: bool,
    pub client_key: Option<String>,
    pub error: Option<String>,
    #[serde(default)]
    pub cached_tokens: u64,
    #[serde(default)]
    pub reasoning_tokens: u64,
    /// Input written to the provider's prompt cache.
    #[serde(default)]
    pub cache_write_tokens: u64,
    /// What the request cost in US dollars, from the upstream's own token
    /// counts and the model's price; absent when the price is unknown.
    #[serde(default)]
    pub cost_usd: Option<f64>,
    /// What the provider's prompt cache saved on it, in US dollars.
    #[serde(default)]
    pub saved_usd: Option<f64>,
    /// Every attempt, in order; empty for a request refused before any.
    #[serde(default)]
    pub attempt_log: Vec<Attempt>,
}

/// One attempt of a request on one account.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Attempt {
    pub account: String,
    pub status: u16,
    /// `ok`, or whose fault the failure was: `client`, `account`, `quota`,
    /// `transient`, `model`; `cancelled` when the client went away.
    pub class: String,
    /// What it did to the account: `none`, `rests`, `breaker`, `marked: <what>`.
    pub effect: String,
    /// Until when the account rests, when it does.
    #[serde(default)]
    pub until_ms: Option<u64>,
    pub ms: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Totals {
    pub requests: u64,
    pub errors: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Input tokens read from the provider's prompt cache.
    #[serde(default)]
    pub cached_tokens: u64,
    /// US dollars, over the requests whose price is known.
    #[serde(default)]
    pub cost_usd: f64,
    /// US dollars the prompt cache saved.
    #[serde(default)]
    pub saved_usd: f64,
}

impl Totals {
    fn add(&mut self, e: &Entry) {
        self.requests += 1;
        self.errors += u64::from(e.status >= 400);
        self.input_tokens += e.input_tokens;
        self.output_tokens += e.output_tokens;
        self.cached_tokens += e.cached_tokens;
        self.cost_usd += e.cost_usd.unwrap_or(0.0);
        self.saved_usd += e.saved_usd.unwrap_or(0.0);
    }

    fn merge(&mut self, t: &Totals) {
        self.requests += t.requests;
        self.errors += t.errors;
        self.input_tokens += t.input_tokens;
        self.output_tokens += t.output_tokens;
        self.cached_tokens += t.cached_tokens;
        self.cost_usd += t.cost_usd;
        self.saved_usd += t.saved_usd;
    }
}

/// Usage over some days, as the Usage page shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Stats {
    pub today: Today,
    pub days: Vec<Dated>,
    /// Latency per hour, for the hours kept.
    pub hours: Vec<Hour>,
    pub by_account: Vec<Named>,
    pub by_model: Vec<Named>,
    pub by_key: Vec<Named>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Today {
    #[serde(flatten)]
    pub totals: Totals,
    pub success_rate: f64,
    pub p50_ms: u64,
    pub p95_ms: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Dated {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    #[serde(flatten)]
    pub totals: Totals,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Named {
    pub name: String,
    #[serde(flatten)]
    pub totals: Totals,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Hour {
    pub hour_ms: u64,
    pub requests: u64,
    pub p50_ms: u64,
    pub p95_ms: u64,
}

/// One day's usage, whole and broken down.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Day {
    pub totals: Totals,
    pub by_account: BTreeMap<String, Totals>,
    pub by_model: BTreeMap<String, Totals>,
    pub by_key: BTreeMap<String, Totals>,
}

#[derive(Default)]
struct State {
    recent: VecDeque<Entry>,
    /// `YYYY-MM-DD` (UTC) → usage.
    days: BTreeMap<String, Day>,
    /// Hour start (Unix ms) → latencies.
    hours: BTreeMap<u64, Vec<u64>>,
    dirty: bool,
    /// Ended requests not yet in the request log.
    pending: VecDeque<Ended>,
    /// Requests dropped from `pending` before they were written.
    dropped: u64,
}

/// An ended request and its bodies, if captured.
pub type Ended = (Entry, Option<Box<Capture>>);

impl Entry {
    /// The request log's key: sorts by time.
    pub fn key(&self) -> String {
        format!("{:013}-{}", self.time_ms, self.id)
    }
}

pub struct Monitor {
    state: Mutex<State>,
    live: broadcast::Sender<Entry>,
    /// Held by a save of what is pending, from taking it to writing it (or
    /// putting it back), so a save that finds nothing knows nothing is in
    /// flight either.
    pub saving: tokio::sync::Mutex<()>,
}

impl Default for Monitor {
    fn default() -> Self {
        Monitor {
            state: Mutex::default(),
            live: broadcast::channel(256).0,
            saving: tokio::sync::Mutex::new(()),
        }
    }
}

/// The UTC calendar day of a Unix time in milliseconds.
pub fn day_of(ms: u64) -> String {
    let (y, m, d) = crate::util::civil_from_days((ms / 86_400_000) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

impl Monitor {
    /// Records a finished request and tells live subscribers.
    pub fn record(&self, e: Entry, capture: Option<Box<Capture>>) {
        {
            let mut st = self.state.lock().expect("monitor lock");
            let day = st.days.entry(day_of(e.time_ms)).or_default();
            day.totals.add(&e);
            // A request refused before any attempt spent no account's quota.
            if !e.account.is_empty() {
                day.by_account.entry(e.account.clone()).or_default().add(&e);
            }
            day.by_model
                .entry(e.upstream_model.clone())
                .or_default()
                .add(&e);
            day.by_key
                .entry(e.client_key.clone().unwrap_or_else(|| "(no key)".into()))
                .or_default()
                .add(&e);
            while st.days.len() > KEEP_DAYS {
                st.days.pop_first();
            }
            let hour = e.time_ms - e.time_ms % 3_600_000;
            let samples = st.hours.entry(hour).or_default();
            if samples.len() < SAMPLES {
                samples.push(e.latency_ms);
            }
            while st.hours.len() > 48 {
                st.hours.pop_first();
            }
            if st.recent.len() == RECENT {
                st.recent.pop_front();
            }
            st.recent.push_back(e.clone());
            st.dirty = true;
            if st.pending.len() == PENDING {
                st.pending.pop_front();
                st.dropped += 1;
            }
            st.pending.push_back((e.clone(), capture));
        }
        // No subscriber is fine.
        let _ = self.live.send(e);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Entry> {
        self.live.subscribe()
    }

    /// The newest `limit` requests, newest first.
    pub fn recent(&self, limit: usize) -> Vec<Entry> {
        let st = self.state.lock().expect("monitor lock");
        st.recent.iter().rev().take(limit).cloned().collect()
    }

    /// Usage over the last `days` days (UTC), as the Usage page shows it.
    pub fn stats(&self, days: usize, now_ms: u64) -> Stats {
        let st = self.state.lock().expect("monitor lock");
        let wanted: Vec<String> = (0..days.max(1) as u64)
            .rev()
            .map(|d| day_of(now_ms.saturating_sub(d * 86_400_000)))
            .collect();
        let empty = Day::default();
        let picked: Vec<(&String, &Day)> = wanted
            .iter()
            .map(|d| (d, st.days.get(d).unwrap_or(&empty)))
            .collect();
        let merge = |pick: fn(&Day) -> &BTreeMap<String, Totals>| {
            let mut all: BTreeMap<String, Totals> = BTreeMap::new();
            for (_, day) in &picked {
                for (name, t) in pick(day) {
                    all.entry(name.clone()).or_default().merge(t);
                }
            }
            all.into_iter()
                .map(|(name, totals)| Named { name, totals })
                .collect()
        };
        let today_key = day_of(now_ms);
        let today = st.days.get(&today_key).cloned().unwrap_or_default().totals;
        let today_start = now_ms - now_ms % 86_400_000;
        let mut lat: Vec<u64> = st
            .hours
            .range(today_start..)
            .flat_map(|(_, v)| v.iter().copied())
            .collect();
        lat.sort_unstable();
        let hours = st
            .hours
            .iter()
            .map(|(h, v)| {
                let mut v = v.clone();
                v.sort_unstable();
                Hour {
                    hour_ms: *h,
                    requests: v.len() as u64,
                    p50_ms: percentile(&v, 0.5),
                    p95_ms: percentile(&v, 0.95),
                }
            })
            .collect();
        let success_rate = if today.requests == 0 {
            1.0
        } else {
            1.0 - today.errors as f64 / today.requests as f64
        };
        Stats {
            today: Today {
                totals: today,
                success_rate,
                p50_ms: percentile(&lat, 0.5),
                p95_ms: percentile(&lat, 0.95),
            },
            days: picked
                .iter()
                .map(|(d, day)| Dated {
                    day: (*d).clone(),
                    totals: day.totals.clone(),
                })
                .collect(),
            hours,
            by_account: merge(|d| &d.by_account),
            by_model: merge(|d| &d.by_model),
            by_key: merge(|d| &d.by_key),
        }
    }

    /// What client key `name` used from day `from` (`YYYY-MM-DD`, UTC) on.
    pub fn key_totals(&self, name: &str, from: &str) -> Totals {
        let st = self.state.lock().expect("monitor lock");
        let mut sum = Totals::default();
        for (_, day) in st.days.range(from.to_string()..) {
            if let Some(t) = day.by_key.get(name) {
                sum.merge(t);
            }
        }
        sum
    }

    /// The daily usage to save, if it changed.
    pub fn take_dirty(&self) -> Option<BTreeMap<String, Day>> {
        let mut st = self.state.lock().expect("monitor lock");
        if !st.dirty {
            return None;
        }
        st.dirty = false;
        Some(st.days.clone())
    }

    /// Ended requests for the request log, and how many were dropped
    /// unwritten since the last call.
    pub fn take_pending(&self) -> (VecDeque<Ended>, u64) {
        let mut st = self.state.lock().expect("monitor lock");
        (
            std::mem::take(&mut st.pending),
            std::mem::take(&mut st.dropped),
        )
    }

    /// Puts requests back after the request log could not be written, ahead
    /// of newer ones, to be retried with usage on the next save; the same
    /// bound applies, dropping the oldest.
    pub fn requeue(&self, mut unsaved: VecDeque<Ended>) {
        let mut st = self.state.lock().expect("monitor lock");
        unsaved.extend(std::mem::take(&mut st.pending));
        while unsaved.len() > PENDING {
            unsaved.pop_front();
            st.dropped += 1;
        }
        st.pending = unsaved;
        st.dirty = true;
    }

    /// Usage and the newest logged requests (newest first), from the store.
    pub fn load(&self, days: BTreeMap<String, Day>, recent: Vec<Entry>) {
        let mut st = self.state.lock().expect("monitor lock");
        st.days = days;
        st.recent = recent.into_iter().take(RECENT).rev().collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(time_ms: u64, status: u16, latency_ms: u64) -> Entry {
        Entry {
            id: "r".into(),
            time_ms,
            protocol: "openai-chat".into(),
            model: "m".into(),
            upstream_model: "u".into(),
            account: "a".into(),
            status,
            latency_ms,
            ttft_ms: None,
            input_tokens: 10,
            output_tokens: 5,
            attempts: 1,
            why: "most headroom".into(),
            background: false,
            stream: false,
            client_key: Some("k".into()),
            ..Entry::default()
        }
    }

    #[test]
    fn days_are_utc_calendar_days() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(1_795_701_600_000), "2026-11-26");
        assert_eq!(day_of(951_782_400_000), "2000-02-29");
    }

    #[test]
    fn stats_add_up() {
        let m = Monitor::default();
        let now = 1_795_701_600_000;
        for (i, status) in [200, 200, 200, 502].into_iter().enumerate() {
            m.record(entry(now + i as u64, status, 100 * (i as u64 + 1)), None);
        }
        let s = serde_json::to_value(m.stats(7, now + 10)).unwrap();
        assert_eq!(s["today"]["requests"], 4);
        assert_eq!(s["today"]["errors"], 1);
        assert_eq!(s["today"]["success_rate"], 0.75);
        assert_eq!(s["today"]["p50_ms"], 300);
        assert_eq!(s["today"]["p95_ms"], 400);
        assert_eq!(s["days"].as_array().unwrap().len(), 7);
        assert_eq!(
            s["by_key"][0],
            serde_json::json!({"name": "k", "requests": 4, "errors": 1, "input_tokens": 40, "output_tokens": 20,
                "cached_tokens": 0, "cost_usd": 0.0, "saved_usd": 0.0})
        );
        assert_eq!(m.recent(2)[0].latency_ms, 400, "newest first");
    }
}
