//! Usage counters and the figures read from them: totals per UTC day and
//! per hour, split by account, model and client key, each with a latency
//! histogram so percentiles outlive a restart; and the series, breakdowns
//! and cache hit rates `/api/stats` answers with.

use super::monitor::Entry;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

impl Usage {
    fn add(&mut self, e: &Entry) {
        self.totals.add(e);
        // A request refused before any attempt spent no account's quota.
        if !e.account.is_empty() {
            self.by_account.entry(e.account.clone()).or_default().add(e);
        }
        // A request refused before routing has only the model it asked for.
        let model = match e.upstream_model.as_str() {
            "" => &e.model,
            m => m,
        };
        self.by_model.entry(model.to_string()).or_default().add(e);
        self.by_key.entry(key_name(e).into()).or_default().add(e);
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

/// Usage per day and per hour, bounded.
#[derive(Default)]
pub struct Ledger {
    /// `YYYY-MM-DD` (UTC) → usage.
    days: BTreeMap<String, Usage>,
    /// Hour start (Unix ms) → usage.
    hours: BTreeMap<u64, Usage>,
}

impl Ledger {
    pub fn add(&mut self, e: &Entry) {
        self.days.entry(day_of(e.time_ms)).or_default().add(e);
        while self.days.len() > KEEP_DAYS {
            self.days.pop_first();
        }
        let hour = e.time_ms - e.time_ms % HOUR;
        self.hours.entry(hour).or_default().add(e);
        while self.hours.len() > KEEP_HOURS {
            self.hours.pop_first();
        }
    }

    /// Everything, keyed as the store keeps it.
    pub fn saved(&self) -> Vec<(String, Usage)> {
        let days = self.days.iter().map(|(d, u)| (d.clone(), u.clone()));
        let hours = (self.hours.iter()).map(|(h, u)| (format!("{HOUR_KEY}{h:013}"), u.clone()));
        days.chain(hours).collect()
    }

    /// Takes back what `saved` gave; keys it does not know are skipped.
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
    pub fn stats<'e>(
        &self,
        q: &Query,
        now_ms: u64,
        recent: impl Iterator<Item = &'e Entry>,
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
            by_session: sessions(recent.filter(|e| e.time_ms >= from)),
        }
    }
}

/// The busiest sessions among `recent` requests, with their totals.
fn sessions<'e>(recent: impl Iterator<Item = &'e Entry>) -> Vec<Named> {
    let mut all: BTreeMap<&str, Totals> = BTreeMap::new();
    for e in recent.filter(|e| !e.session.is_empty()) {
        all.entry(&e.session).or_default().add(e);
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
    /// The busiest sessions among the recent requests of the range.
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
