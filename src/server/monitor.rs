//! What the dashboard's Monitor and Usage pages read: live request events
//! for subscribers, usage counters per day, hour, account, model and client
//! key, and the last session requests for the busiest-sessions list (the
//! Monitor page's list is read from the request log). Updated when a request
//! ends, in memory; the background task saves usage and appends the ended
//! requests (with any captured bodies) to the request log.

use super::log::Capture;
use super::usage::{Ledger, Query, SessionMark, Stats, Totals, Usage, UsageSave};
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// Requests kept for the busiest-sessions list, and read back at start.
pub const RECENT: usize = 2_000;
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
    #[serde(skip_serializing_if = "unstored")]
    pub ttft_ms: Option<u64>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub attempts: u32,
    pub why: String,
    pub background: bool,
    pub stream: bool,
    #[serde(skip_serializing_if = "unstored")]
    pub client_key: Option<String>,
    #[serde(skip_serializing_if = "unstored")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "unstored")]
    pub cached_tokens: u64,
    #[serde(default, skip_serializing_if = "unstored")]
    pub reasoning_tokens: u64,
    /// Input written to the provider's prompt cache.
    #[serde(default, skip_serializing_if = "unstored")]
    pub cache_write_tokens: u64,
    /// What the request cost in US dollars, from the upstream's own token
    /// counts and the model's price; absent when the price is unknown.
    #[serde(default, skip_serializing_if = "unstored")]
    pub cost_usd: Option<f64>,
    /// What the provider's prompt cache saved on it, in US dollars.
    #[serde(default, skip_serializing_if = "unstored")]
    pub saved_usd: Option<f64>,
    /// The conversation it belongs to: the client's session id or a hash of
    /// the conversation's start; empty when refused before routing.
    #[serde(default, skip_serializing_if = "unstored")]
    pub session: String,
    /// Times its stream was cut midway and finished from another attempt.
    #[serde(default, skip_serializing_if = "unstored")]
    pub resumed: u32,
    /// Every attempt, in order; empty for a request refused before any.
    #[serde(default, skip_serializing_if = "unstored")]
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
    #[serde(default, skip_serializing_if = "unstored")]
    pub until_ms: Option<u64>,
    pub ms: u64,
    /// It failed after its stream reached the client (the next attempt
    /// finished the answer, or the client heard the error in the stream).
    #[serde(default, skip_serializing_if = "unstored")]
    pub cut: bool,
}

#[derive(Default)]
struct State {
    /// The last `RECENT` requests that belong to a session.
    sessions: VecDeque<SessionMark>,
    ledger: Ledger,
    /// Ended requests not yet in the request log.
    pending: VecDeque<Ended>,
    /// Requests dropped from `pending` before they were written.
    dropped: u64,
    /// `/metrics`' counters since the start.
    metrics: super::metrics::Metrics,
}

/// An ended request and its bodies, if captured; the entry is shared with
/// live subscribers.
pub type Ended = (Arc<Entry>, Option<Box<Capture>>);

thread_local! {
    /// Set while this thread encodes entries for the request log.
    static STORING: Cell<bool> = const { Cell::new(false) };
}

/// Leaves a field at its default out of the request log's stored form;
/// answers keep every field. Only fields that read back as their default
/// when absent (options, `serde(default)`) have it, so older versions read
/// the stored form too.
fn unstored<T: Default + PartialEq>(v: &T) -> bool {
    STORING.with(Cell::get) && *v == T::default()
}

impl Entry {
    /// The entry as the request log stores it: fields at their default
    /// left out (605 bytes become 441 for a plain chat request), as the
    /// log's commit costs CPU by the byte (BENCHMARKS.md, "Where the tail
    /// goes").
    pub fn stored(&self) -> serde_json::Result<Vec<u8>> {
        struct Reset;
        impl Drop for Reset {
            fn drop(&mut self) {
                STORING.set(false);
            }
        }
        STORING.set(true);
        let _reset = Reset;
        serde_json::to_vec(self)
    }

    /// The request log's key: sorts by time.
    pub fn key(&self) -> String {
        format!("{:013}-{}", self.time_ms, self.id)
    }
}

pub struct Monitor {
    state: Mutex<State>,
    live: broadcast::Sender<Arc<Entry>>,
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

impl Monitor {
    /// Records a finished request and tells live subscribers.
    pub fn record(&self, e: Entry, capture: Option<Box<Capture>>) {
        let e = Arc::new(e);
        {
            let mut st = self.state.lock().expect("monitor lock");
            st.ledger.add(&e);
            st.metrics.add(&e);
            if let Some(mark) = SessionMark::of(&e, st.sessions.back()) {
                if st.sessions.len() == RECENT {
                    st.sessions.pop_front();
                }
                st.sessions.push_back(mark);
            }
            if st.pending.len() == PENDING {
                st.pending.pop_front();
                st.dropped += 1;
            }
            st.pending.push_back((e.clone(), capture));
        }
        // No subscriber is fine.
        let _ = self.live.send(e);
    }

    /// `/metrics`' exposition, with each account's state (account, kind,
    /// state).
    pub fn metrics(&self, accounts: &[(String, String, String)]) -> String {
        self.state
            .lock()
            .expect("monitor lock")
            .metrics
            .render(accounts)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Entry>> {
        self.live.subscribe()
    }

    /// The figures of `/api/stats`.
    pub fn stats(&self, q: &Query, now_ms: u64) -> Stats {
        let st = self.state.lock().expect("monitor lock");
        st.ledger.stats(q, now_ms, st.sessions.iter())
    }

    /// What client key `name` used from day `from` (`YYYY-MM-DD`, UTC) on.
    pub fn key_totals(&self, name: &str, from: &str) -> Totals {
        let st = self.state.lock().expect("monitor lock");
        st.ledger.key_totals(name, from)
    }

    /// The usage to save, if it changed.
    pub fn take_dirty(&self) -> Option<UsageSave> {
        self.state
            .lock()
            .expect("monitor lock")
            .ledger
            .take_changed()
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
        st.ledger.unsaved();
    }

    /// Usage and the newest logged requests (newest first), from the store.
    pub fn load(&self, usage: Vec<(String, Usage)>, recent: Vec<Entry>) {
        let mut st = self.state.lock().expect("monitor lock");
        st.ledger.load(usage);
        st.sessions.clear();
        for e in recent.iter().take(RECENT).rev() {
            if let Some(mark) = SessionMark::of(e, st.sessions.back()) {
                st.sessions.push_back(mark);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::usage::{DAY, HOUR, KEEP_DAYS, KEEP_HOURS, Split, Step};

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
    fn the_stored_form_leaves_defaults_out_and_reads_back_whole() {
        let mut e = entry(1_795_701_600_000, 200, 120);
        e.attempt_log = vec![Attempt {
            account: "a".into(),
            status: 200,
            class: "ok".into(),
            effect: "none".into(),
            until_ms: None,
            ms: 118,
            cut: false,
        }];
        let stored = e.stored().unwrap();
        let text = String::from_utf8(stored.clone()).unwrap();
        for absent in [
            "ttft_ms",
            "error",
            "cached_tokens",
            "cost_usd",
            "resumed",
            "until_ms",
            "cut",
        ] {
            assert!(!text.contains(absent), "{absent} in {text}");
        }
        assert_eq!(serde_json::from_slice::<Entry>(&stored).unwrap(), e);
        // Answers keep every field, nulls and zeros included.
        let answer = serde_json::to_string(&e).unwrap();
        assert!(answer.contains("\"ttft_ms\":null"), "{answer}");
        assert!(answer.contains("\"cut\":false"), "{answer}");
        assert!(
            stored.len() * 10 < answer.len() * 7,
            "{} against {}",
            stored.len(),
            answer.len()
        );
        // Set fields are stored.
        e.ttft_ms = Some(40);
        e.cached_tokens = 3;
        let back: Entry = serde_json::from_slice(&e.stored().unwrap()).unwrap();
        assert_eq!(back, e);
    }

    fn query(days: usize, step: Step, by: Split) -> Query {
        Query { days, step, by }
    }

    #[test]
    fn stats_add_up_per_day_hour_key_and_session() {
        let m = Monitor::default();
        // 2026-11-26 10:00 UTC.
        let now = 1_795_701_600_000;
        for (i, status) in [200, 200, 200, 502].into_iter().enumerate() {
            let mut e = entry(now + i as u64 * HOUR / 2, status, 100 * (i as u64 + 1));
            e.session = format!("hash:{}", i % 2);
            e.cached_tokens = 4;
            m.record(e, None);
        }
        let at = now + 2 * HOUR;
        let s = serde_json::to_value(m.stats(&query(7, Step::Day, Split::None), at)).unwrap();
        assert_eq!(s["today"]["requests"], 4);
        assert_eq!(s["today"]["errors"], 1);
        assert_eq!(s["today"]["success_rate"], 0.75);
        assert_eq!(s["today"]["p50_ms"], 202, "200 (nearest rank) to within 2%");
        assert_eq!(s["today"]["p95_ms"], 403);
        let days = s["series"].as_array().unwrap();
        assert_eq!(days.len(), 7);
        assert_eq!(days[6]["day"], "2026-11-26");
        assert_eq!(days[6]["requests"], 4);
        assert_eq!(
            days[5]["requests"], 0,
            "a day without requests is a zero point"
        );
        assert_eq!(
            s["by_key"][0],
            serde_json::json!({"name": "k", "requests": 4, "errors": 1, "input_tokens": 40, "output_tokens": 20,
                "cached_tokens": 16, "cost_usd": 0.0, "saved_usd": 0.0, "cache_hit_rate": 0.4, "resumed": 0})
        );
        let sessions = s["by_session"].as_array().unwrap();
        assert_eq!(sessions.len(), 2);
        assert_eq!(sessions[0]["requests"], 2);

        let s = serde_json::to_value(m.stats(&query(1, Step::Hour, Split::Key), at)).unwrap();
        let hours = s["series"].as_array().unwrap();
        assert_eq!(hours.len(), 24);
        let counts: Vec<u64> = hours[21..]
            .iter()
            .map(|h| h["requests"].as_u64().unwrap())
            .collect();
        assert_eq!(
            counts,
            [2, 2, 0],
            "two requests in each of the first two hours"
        );
        assert_eq!(hours[21]["split"][0]["name"], "k");
        assert_eq!(hours[21]["split"][0]["requests"], 2);
        assert_eq!(hours[21]["p95_ms"], 202);
    }

    /// Saves `m`'s changed usage to `store` as the background task does.
    fn save(m: &Monitor, store: &crate::store::Store) -> Option<UsageSave> {
        let u = m.take_dirty()?;
        let rows: Vec<(String, Vec<u8>)> = (u.rows.iter())
            .map(|(k, v)| (k.clone(), serde_json::to_vec(v).unwrap()))
            .collect();
        store.save_usage(&rows, u.whole).unwrap();
        Some(u)
    }

    fn loaded(store: &crate::store::Store) -> Monitor {
        let usage = (store.usage().unwrap().into_iter())
            .map(|(k, v)| (k, serde_json::from_slice(&v).unwrap()))
            .collect();
        let again = Monitor::default();
        again.load(usage, Vec::new());
        again
    }

    #[test]
    fn usage_saves_what_changed_and_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&dir.path().join("t.redb"), None).unwrap();
        let m = Monitor::default();
        let now = 1_795_701_600_000;
        for i in 0..10 {
            m.record(entry(now + i, 200, 50 + i * 10), None);
        }
        let first = save(&m, &store).unwrap();
        assert_eq!(first.rows.len(), 2, "one day and one hour");
        assert!(save(&m, &store).is_none(), "nothing changed since");
        // Over a year, ten days between saves: each save writes those days
        // and hours only, until the oldest fall out and a save writes every
        // row (and drops the pruned ones).
        let (mut parts, mut whole) = (0, 0);
        for d in (1..=(KEEP_DAYS as u64 + 10)).step_by(10) {
            for d in d..d + 10 {
                m.record(entry(now + d * DAY, 200, 80), None);
            }
            let u = save(&m, &store).unwrap();
            if u.whole {
                whole += 1;
            } else {
                parts += 1;
                assert_eq!(u.rows.len(), 20, "from day {d}: ten days and ten hours");
            }
        }
        assert!(
            parts >= 10 && whole >= 1,
            "{parts} saves in part, {whole} whole"
        );
        let at = now + (KEEP_DAYS as u64 + 9) * DAY + 60_000;
        let again = loaded(&store);
        for q in [
            query(KEEP_DAYS, Step::Day, Split::Model),
            query(7, Step::Hour, Split::Account),
        ] {
            let a = serde_json::to_value(m.stats(&q, at)).unwrap();
            let b = serde_json::to_value(again.stats(&q, at)).unwrap();
            assert_eq!(a["today"]["requests"], 1);
            assert_eq!(a, b, "the same figures after a restart");
        }
        assert_eq!(
            store.usage().unwrap().len(),
            KEEP_DAYS + KEEP_HOURS,
            "pruned days and hours are gone from the file too"
        );
        // A failed save is written whole by the next.
        m.record(entry(at, 200, 80), None);
        let lost = m.take_dirty().unwrap();
        assert!(!lost.whole);
        m.requeue(VecDeque::new());
        assert!(save(&m, &store).unwrap().whole);
        let again = loaded(&store);
        let q = query(1, Step::Day, Split::None);
        assert_eq!(
            serde_json::to_value(again.stats(&q, at)).unwrap()["today"]["requests"],
            2
        );
    }

    #[test]
    fn busiest_sessions_are_counted_from_marks_that_share_names() {
        let m = Monitor::default();
        let now = 1_795_701_600_000;
        for i in 0..(RECENT as u64 * 3 / 2 + 30) {
            let mut e = entry(now + i, 200, 10);
            e.session = ["a", "b", ""][i as usize % 3].to_string();
            m.record(e, None);
        }
        let st = m.state.lock().unwrap();
        assert_eq!(
            st.sessions.len(),
            RECENT,
            "bounded, requests without a session not kept"
        );
        drop(st);
        let s =
            serde_json::to_value(m.stats(&query(1, Step::Day, Split::None), now + 60_000)).unwrap();
        let names: Vec<_> = (s["by_session"].as_array().unwrap().iter())
            .map(|n| {
                (
                    n["name"].as_str().unwrap().to_string(),
                    n["requests"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(names, [("a".to_string(), 1000), ("b".to_string(), 1000)]);
        let again = Monitor::default();
        let mut e = entry(now, 200, 10);
        e.session = "a".into();
        let mut f = e.clone();
        f.time_ms += 1;
        again.load(Vec::new(), vec![f, e]);
        let st = again.state.lock().unwrap();
        assert!(
            Arc::ptr_eq(&st.sessions[0].session, &st.sessions[1].session),
            "one session, one name"
        );
    }
}
