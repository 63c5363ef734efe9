//! Usage counters and the figures read from them: totals per UTC day and
//! per hour, split by account, model and client key, each with a latency
//! histogram so percentiles outlive a restart; and the series, breakdowns
//! and cache hit rates `/api/stats` answers with.

use super::monitor::Entry;
use serde::{Deserialize, Serialize};
use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub const HOUR: u64 = 3_600_000;
pub const DAY: u64 = 86_400_000;
/// Days of usage kept.
pub const KEEP_DAYS: usize = 400;
/// Hours of usage kept: a week.
pub const KEEP_HOURS: usize = 7 * 24;
/// Sessions named in a breakdown; the busiest first.
const SESSIONS_SHOWN: usize = 20;
/// Where the store keeps hours beside days (`YYYY-MM-DD`).
const HOUR_KEY: &str = "hour-";

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Totals {
    pub requests: u64,
    pub errors: u64,
    /// Input tokens, cached ones included.
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Input tokens read from the provider's prompt cache.
    #[serde(default)]
    pub cached_tokens: u64,
    /// Requests whose stream was cut midway and finished all the same
    /// (counted in `requests`, not in `errors`).
    #[serde(default)]
    pub resumed: u64,
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
        self.resumed += u64::from(e.resumed > 0 && e.status < 400);
        self.input_tokens += e.input_tokens;
        self.output_tokens += e.output_tokens;
        self.cached_tokens += e.cached_tokens;
        self.cost_usd += e.cost_usd.unwrap_or(0.0);
        self.saved_usd += e.saved_usd.unwrap_or(0.0);
    }

    fn merge(&mut self, t: &Totals) {
        self.requests += t.requests;
        self.errors += t.errors;
        self.resumed += t.resumed;
        self.input_tokens += t.input_tokens;
        self.output_tokens += t.output_tokens;
        self.cached_tokens += t.cached_tokens;
        self.cost_usd += t.cost_usd;
        self.saved_usd += t.saved_usd;
    }

    /// The share of input read from the prompt cache; none without input.
    fn cache_hit_rate(&self) -> Option<f64> {
        (self.input_tokens > 0).then(|| self.cached_tokens as f64 / self.input_tokens as f64)
    }
}

/// Latencies counted in buckets a sixteenth of an octave wide, so a
/// percentile read from them is within about 2% of the true one while a
/// day's worth takes a few hundred bytes (raw samples would not fit a save).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(transparent)]
pub struct Latency(BTreeMap<u16, u64>);

impl Latency {
    const PER_OCTAVE: f64 = 16.0;

    fn bucket(ms: u64) -> u16 {
        if ms == 0 {
            return 0;
        }
        (Self::PER_OCTAVE * (ms as f64).log2()) as u16 + 1
    }

    /// The geometric middle of a bucket.
    fn middle(bucket: u16) -> u64 {
        if bucket == 0 {
            return 0;
        }
        ((f64::from(bucket) - 0.5) / Self::PER_OCTAVE)
            .exp2()
            .round() as u64
    }

    pub fn add(&mut self, ms: u64) {
        *self.0.entry(Self::bucket(ms)).or_default() += 1;
    }

    /// The nearest-rank percentile `p` (0 to 1); 0 when nothing was counted.
    pub fn percentile(&self, p: f64) -> u64 {
        let count: u64 = self.0.values().sum();
        let rank = ((p * count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (b, n) in &self.0 {
            seen += n;
            if seen >= rank {
                return Self::middle(*b);
            }
        }
        0
    }
}

/// A day's or an hour's usage, whole and broken down.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Usage {
    pub totals: Totals,
    pub by_account: BTreeMap<String, Totals>,
    pub by_model: BTreeMap<String, Totals>,
    pub by_key: BTreeMap<String, Totals>,
    /// Saved before latency was kept with usage: empty.
    #[serde(default)]
    pub latency: Latency,
}

/// The value under `key`, made when missing: the key is copied only then,
/// so counting a request allocates nothing for names already seen.
fn slot<'m, K, Q, V>(map: &'m mut BTreeMap<K, V>, key: &Q) -> &'m mut V
where
    K: Ord + Borrow<Q>,
    Q: Ord + ToOwned<Owned = K> + ?Sized,
    V: Default,
{
    if !map.contains_key(key) {
        map.insert(key.to_owned(), V::default());
    }
    map.get_mut(key).expect("inserted above")
}

impl Usage {
    fn add(&mut self, e: &Entry) {
        self.totals.add(e);
        // A request refused before any attempt spent no account's quota.
        if !e.account.is_empty() {
            slot(&mut self.by_account, e.account.as_str()).add(e);
        }
        // A request refused before routing has only the model it asked for.
        let model = match e.upstream_model.as_str() {
            "" => &e.model,
            m => m,
        };
        slot(&mut self.by_model, model).add(e);
        slot(&mut self.by_key, key_name(e)).add(e);
        self.latency.add(e.latency_ms);
    }

    fn split(&self, by: Split) -> Option<&BTreeMap<String, Totals>> {
        match by {
            Split::Account => Some(&self.by_account),
            Split::Model => Some(&self.by_model),
            Split::Key => Some(&self.by_key),
            Split::None => None,
        }
    }
}

fn key_name(e: &Entry) -> &str {
    e.client_key.as_deref().unwrap_or("(no key)")
}

/// The UTC calendar day of a Unix time in milliseconds.
pub fn day_of(ms: u64) -> String {
    let (y, m, d) = crate::util::civil_from_days((ms / DAY) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The store's key of the hour starting at `h` (Unix ms).
fn hour_key(h: u64) -> String {
    format!("{HOUR_KEY}{h:013}")
}

/// Usage rows to write, keyed as the store keeps them.
#[derive(Debug)]
pub struct UsageSave {
    pub rows: Vec<(String, Usage)>,
    /// `rows` is everything: the store drops the rows it does not list.
    /// Otherwise they are the days and hours that changed, the rest stays.
    pub whole: bool,
}

/// Usage per day and per hour, bounded, and what changed since the last
/// save: a busy second touches one day and one hour, so a save writes those
/// two rows, not a year of them.
#[derive(Default)]
pub struct Ledger {
    /// `YYYY-MM-DD` (UTC) → usage.
    days: BTreeMap<String, Usage>,
    /// Hour start (Unix ms) → usage.
    hours: BTreeMap<u64, Usage>,
    /// The last day counted, as a number and as its key.
    today: Option<(u64, String)>,
    changed_days: BTreeSet<String>,
    changed_hours: BTreeSet<u64>,
    /// The next save writes every row: some were pruned, or a save failed.
    whole: bool,
}

impl Ledger {
    pub fn add(&mut self, e: &Entry) {
        let n = e.time_ms / DAY;
        if self.today.as_ref().is_none_or(|(d, _)| *d != n) {
            self.today = Some((n, day_of(e.time_ms)));
        }
        let (_, day) = self.today.as_ref().expect("set above");
        slot(&mut self.days, day.as_str()).add(e);
        if !self.changed_days.contains(day) {
            self.changed_days.insert(day.clone());
        }
        while self.days.len() > KEEP_DAYS {
            self.days.pop_first();
            self.whole = true;
        }
        let hour = e.time_ms - e.time_ms % HOUR;
        self.hours.entry(hour).or_default().add(e);
        self.changed_hours.insert(hour);
        while self.hours.len() > KEEP_HOURS {
            self.hours.pop_first();
            self.whole = true;
        }
    }

    /// What changed since the last call, if anything did.
    pub fn take_changed(&mut self) -> Option<UsageSave> {
        let days = std::mem::take(&mut self.changed_days);
        let hours = std::mem::take(&mut self.changed_hours);
        let whole = std::mem::take(&mut self.whole);
        if whole {
            let days = self.days.iter().map(|(d, u)| (d.clone(), u.clone()));
            let hours = (self.hours.iter()).map(|(h, u)| (hour_key(*h), u.clone()));
            return Some(UsageSave {
                rows: days.chain(hours).collect(),
                whole,
            });
        }
        if days.is_empty() && hours.is_empty() {
            return None;
        }
        let days = (days.into_iter()).filter_map(|d| self.days.get(&d).cloned().map(|u| (d, u)));
        let hours = (hours.into_iter())
            .filter_map(|h| self.hours.get(&h).map(|u| (hour_key(h), u.clone())));
        Some(UsageSave {
            rows: days.chain(hours).collect(),
            whole,
        })
    }

    /// A save failed: the next one writes everything.
    pub fn unsaved(&mut self) {
        self.whole = true;
    }

    /// Takes back the rows `take_changed` gave, as the store kept them;
    /// keys it does not know are skipped.
    pub fn load(&mut self, saved: impl IntoIterator<Item = (String, Usage)>) {
        for (key, usage) in saved {
            match key.strip_prefix(HOUR_KEY) {
                Some(h) => {
                    if let Ok(h) = h.parse() {
                        self.hours.insert(h, usage);
                    }
                }
                None => {
                    self.days.insert(key, usage);
                }
            }
        }
    }

    /// What client key `name` used from day `from` (`YYYY-MM-DD`, UTC) on.
    pub fn key_totals(&self, name: &str, from: &str) -> Totals {
        let mut sum = Totals::default();
        for (_, day) in self.days.range(from.to_string()..) {
            if let Some(t) = day.by_key.get(name) {
                sum.merge(t);
            }
        }
        sum
    }

    /// The figures of `/api/stats` for `q`, sessions read from `recent`.
    pub fn stats<'m>(
        &self,
        q: &Query,
        now_ms: u64,
        recent: impl Iterator<Item = &'m SessionMark>,
    ) -> Stats {
        let empty = Usage::default();
        let points: Vec<(u64, String, &Usage)> = match q.step {
            Step::Day => (0..q.days as u64)
                .rev()
                .map(|n| {
                    let start = (now_ms - now_ms % DAY).saturating_sub(n * DAY);
                    let day = day_of(start);
                    let usage = self.days.get(&day).unwrap_or(&empty);
                    (start, day, usage)
                })
                .collect(),
            Step::Hour => (0..(q.days as u64 * 24).min(KEEP_HOURS as u64))
                .rev()
                .map(|n| {
                    let start = (now_ms - now_ms % HOUR).saturating_sub(n * HOUR);
                    let usage = self.hours.get(&start).unwrap_or(&empty);
                    (start, day_of(start), usage)
                })
                .collect(),
        };
        // The range starts at the start of its first UTC day.
        let from = (now_ms - now_ms % DAY).saturating_sub((q.days as u64 - 1) * DAY);
        let first_day = day_of(from);
        let in_range = || self.days.range(first_day.clone()..).map(|(_, u)| u);
        let breakdown = |by: Split| {
            let mut all: BTreeMap<String, Totals> = BTreeMap::new();
            for usage in in_range() {
                for (name, t) in usage.split(by).into_iter().flatten() {
                    all.entry(name.clone()).or_default().merge(t);
                }
            }
            all.into_iter().map(|(n, t)| Named::new(n, t)).collect()
        };
        let today = self.days.get(&day_of(now_ms)).unwrap_or(&empty);
        let success_rate = match today.totals.requests {
            0 => 1.0,
            n => 1.0 - today.totals.errors as f64 / n as f64,
        };
        Stats {
            today: Today {
                totals: today.totals.clone(),
                success_rate,
                p50_ms: today.latency.percentile(0.5),
                p95_ms: today.latency.percentile(0.95),
            },
            step: q.step,
            split: q.by,
            series: points
                .into_iter()
                .map(|(start_ms, day, u)| Point {
                    start_ms,
                    day,
                    cache_hit_rate: u.totals.cache_hit_rate(),
                    totals: u.totals.clone(),
                    p50_ms: u.latency.percentile(0.5),
                    p95_ms: u.latency.percentile(0.95),
                    split: (u.split(q.by).into_iter().flatten())
                        .map(|(n, t)| Named::new(n.clone(), t.clone()))
                        .collect(),
                })
                .collect(),
            by_account: breakdown(Split::Account),
            by_model: breakdown(Split::Model),
            by_key: breakdown(Split::Key),
            by_session: sessions(recent.filter(|m| m.time_ms >= from)),
        }
    }
}

/// A request that belongs to a session, as the busiest-sessions list counts
/// it. The Monitor keeps the last few thousand of these rather than whole
/// entries: a dozen small strings per request, made among the burst's
/// short-lived blocks, pinned the allocator's pages long after the burst.
#[derive(Debug)]
pub struct SessionMark {
    time_ms: u64,
    pub(super) session: Arc<str>,
    totals: Totals,
}

impl SessionMark {
    /// `e`'s mark, sharing the session's name with `last` when it is the
    /// same session (the usual case); none for a request without one.
    pub fn of(e: &Entry, last: Option<&SessionMark>) -> Option<SessionMark> {
        if e.session.is_empty() {
            return None;
        }
        let session = match last {
            Some(m) if *m.session == *e.session => m.session.clone(),
            _ => e.session.as_str().into(),
        };
        let mut totals = Totals::default();
        totals.add(e);
        Some(SessionMark {
            time_ms: e.time_ms,
            session,
            totals,
        })
    }
}

/// The busiest sessions among `recent` requests, with their totals.
fn sessions<'m>(recent: impl Iterator<Item = &'m SessionMark>) -> Vec<Named> {
    let mut all: BTreeMap<&str, Totals> = BTreeMap::new();
    for m in recent {
        all.entry(&m.session).or_default().merge(&m.totals);
    }
    let mut list: Vec<Named> = all
        .into_iter()
        .map(|(n, t)| Named::new(n.to_string(), t))
        .collect();
    list.sort_by_key(|n| std::cmp::Reverse(n.totals.requests));
    list.truncate(SESSIONS_SHOWN);
    list
}

/// How long each point of a series is.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    #[default]
    Day,
    /// Kept for the last week only.
    Hour,
}

/// What each point of a series is split by.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    #[default]
    None,
    Account,
    Model,
    Key,
}

/// What `/api/stats` is asked.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Query {
    /// How many days back (1 to 400; 7 by default).
    #[serde(default = "seven")]
    pub days: usize,
    /// `day` (the default) or `hour` (the last week at most).
    #[serde(default)]
    pub step: Step,
    /// Split each point by `account`, `model` or `key`; `none` by default.
    #[serde(default)]
    pub by: Split,
}

fn seven() -> usize {
    7
}

/// Usage over some days, as the Usage and Overview pages show it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Stats {
    pub today: Today,
    pub step: Step,
    pub split: Split,
    /// One point per day or hour of the range, oldest first, with no gaps.
    pub series: Vec<Point>,
    pub by_account: Vec<Named>,
    pub by_model: Vec<Named>,
    pub by_key: Vec<Named>,
    /// The busiest sessions in the range, counted over the last 2,000
    /// requests that belong to a session.
    pub by_session: Vec<Named>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Today {
    #[serde(flatten)]
    pub totals: Totals,
    pub success_rate: f64,
    pub p50_ms: u64,
    pub p95_ms: u64,
}

/// A day or an hour of a series.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Point {
    /// The start, Unix milliseconds (UTC).
    pub start_ms: u64,
    /// Its UTC day, `YYYY-MM-DD`.
    pub day: String,
    #[serde(flatten)]
    pub totals: Totals,
    pub cache_hit_rate: Option<f64>,
    pub p50_ms: u64,
    pub p95_ms: u64,
    /// Its totals per account, model or key, as the query asked.
    pub split: Vec<Named>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Named {
    pub name: String,
    #[serde(flatten)]
    pub totals: Totals,
    /// Cached input over all input; none without input.
    pub cache_hit_rate: Option<f64>,
}

impl Named {
    fn new(name: String, totals: Totals) -> Self {
        Named {
            name,
            cache_hit_rate: totals.cache_hit_rate(),
            totals,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_from_the_histogram_are_close_to_the_samples() {
        let mut l = Latency::default();
        for ms in 1..=1000 {
            l.add(ms);
        }
        for (p, want) in [(0.5, 500.0), (0.95, 950.0), (0.99, 990.0)] {
            let got = l.percentile(p) as f64;
            assert!(
                (got - want).abs() / want < 0.025,
                "p{p}: {got}, want {want}"
            );
        }
        assert_eq!(Latency::default().percentile(0.5), 0);
        l.add(0);
        l.add(u64::MAX);
        assert!(
            l.percentile(1.0) > 1 << 62,
            "the largest value has a bucket"
        );
        let json = serde_json::to_string(&l).unwrap();
        assert_eq!(serde_json::from_str::<Latency>(&json).unwrap(), l);
    }

    #[test]
    fn days_are_utc_calendar_days() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(1_795_701_600_000), "2026-11-26");
        assert_eq!(day_of(951_782_400_000), "2000-02-29");
    }

    #[test]
    fn a_day_saved_before_latency_was_kept_still_loads() {
        let old = r#"{"totals":{"requests":1,"errors":0,"input_tokens":2,"output_tokens":3},
            "by_account":{},"by_model":{},"by_key":{}}"#;
        let u: Usage = serde_json::from_str(old).unwrap();
        assert_eq!(u.totals.requests, 1);
        assert_eq!(u.latency.percentile(0.5), 0);
    }
}
