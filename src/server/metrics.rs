//! `GET /metrics`: Prometheus' text exposition format (version 0.0.4,
//! prometheus.io/docs/instrumenting/exposition_formats). Counters and
//! histograms are added to as each request ends (`Monitor::record`, under
//! its lock, no IO); account states are read when scraped. Names follow
//! prometheus.io/docs/practices/naming: a `levity_` prefix, base units
//! (seconds, US dollars) in the name, `_total` on counters.
//!
//! Label values come from clients (model names), so the number of series is
//! bounded: past `MAX_SERIES` label sets, new ones are counted under
//! `model="(other)"`, and values are escaped as the format requires.

use super::monitor::Entry;
use super::{AppState, admin, auth};
use poem::web::Data;
use poem::{Request, Response, handler};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;

/// Label sets kept apart; beyond, new ones fold into one.
const MAX_SERIES: usize = 2_000;
/// Histogram bounds in seconds: model answers take from a fraction of a
/// second to minutes, past the client libraries' default 10 s top.
const BOUNDS: [f64; 13] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0,
];

/// The scrape: guarded by `auth::check_metrics`.
#[handler]
pub fn scrape(Data(state): Data<&Arc<AppState>>, req: &Request) -> Response {
    if let Err((status, code, message)) = auth::check_metrics(state, req) {
        return admin::refusal(status, code, message);
    }
    let accounts: Vec<(String, String, String)> = match admin::accounts_with_state(state) {
        Ok(infos) => infos
            .into_iter()
            .map(|a| (a.name, a.kind.as_str().to_string(), a.state))
            .collect(),
        Err(e) => return admin::refusal(503, "store", &e.to_string()),
    };
    Response::builder()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.monitor.metrics(&accounts))
}

/// protocol, model, account, key.
type Labels = (String, String, String, String);

#[derive(Default)]
struct Histogram {
    /// Observations at or below each of `BOUNDS` (not cumulative here).
    buckets: [u64; BOUNDS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if let Some(i) = BOUNDS.iter().position(|&b| seconds <= b) {
            self.buckets[i] += 1;
        }
        self.count += 1;
        self.sum += seconds;
    }
}

#[derive(Default)]
struct Series {
    requests: u64,
    errors: u64,
    input: u64,
    output: u64,
    cached: u64,
    cost: f64,
    latency: Histogram,
    ttft: Histogram,
}

#[derive(Default)]
pub struct Metrics {
    /// Sorted by labels: looked up without copying them (the lookup runs
    /// under the monitor's lock for every request), copied once per series.
    series: Vec<(Labels, Series)>,
    /// Attempts by account and outcome (`ok`, or whose fault a failure was).
    attempts: BTreeMap<String, BTreeMap<String, u64>>,
    /// How many (account, outcome) series `attempts` holds.
    attempt_series: usize,
}

impl Metrics {
    fn find(&self, key: (&str, &str, &str, &str)) -> Result<usize, usize> {
        self.series.binary_search_by(|(l, _)| {
            (l.0.as_str(), l.1.as_str(), l.2.as_str(), l.3.as_str()).cmp(&key)
        })
    }

    pub fn add(&mut self, e: &Entry) {
        let model = if e.upstream_model.is_empty() {
            &e.model
        } else {
            &e.upstream_model
        };
        let key = (
            e.protocol.as_str(),
            model.as_str(),
            e.account.as_str(),
            e.client_key.as_deref().unwrap_or_default(),
        );
        let key = if self.series.len() >= MAX_SERIES && self.find(key).is_err() {
            ("", "(other)", "", "")
        } else {
            key
        };
        let at = match self.find(key) {
            Ok(at) => at,
            Err(at) => {
                let labels = (key.0.into(), key.1.into(), key.2.into(), key.3.into());
                self.series.insert(at, (labels, Series::default()));
                at
            }
        };
        let s = &mut self.series[at].1;
        s.requests += 1;
        if e.status >= 400 {
            s.errors += 1;
        }
        s.input += e.input_tokens;
        s.output += e.output_tokens;
        s.cached += e.cached_tokens;
        s.cost += e.cost_usd.unwrap_or(0.0);
        s.latency.observe(e.latency_ms as f64 / 1000.0);
        if let Some(ms) = e.ttft_ms {
            s.ttft.observe(ms as f64 / 1000.0);
        }
        for a in &e.attempt_log {
            let room = self.attempt_series < MAX_SERIES;
            let by_outcome = match self.attempts.get_mut(&a.account) {
                Some(m) => m,
                None if room => self.attempts.entry(a.account.clone()).or_default(),
                None => continue,
            };
            match by_outcome.get_mut(&a.class) {
                Some(n) => *n += 1,
                None if room => {
                    by_outcome.insert(a.class.clone(), 1);
                    self.attempt_series += 1;
                }
                None => {}
            }
        }
    }

    /// The exposition, with each account's state (account, kind, state).
    pub fn render(&self, accounts: &[(String, String, String)]) -> String {
        let mut out = String::with_capacity(4096 + self.series.len() * 1024);
        type Figure = fn(&Series) -> f64;
        let counters: [(&str, &str, Figure); 6] = [
            (
                "levity_requests_total",
                "Requests ended, by protocol, model, account and client key.",
                |s| s.requests as f64,
            ),
            (
                "levity_request_errors_total",
                "Requests answered with an error status.",
                |s| s.errors as f64,
            ),
            (
                "levity_input_tokens_total",
                "Input tokens the upstreams counted (cached included).",
                |s| s.input as f64,
            ),
            (
                "levity_output_tokens_total",
                "Output tokens the upstreams counted (reasoning included).",
                |s| s.output as f64,
            ),
            (
                "levity_cached_tokens_total",
                "Input tokens read from the providers' prompt caches.",
                |s| s.cached as f64,
            ),
            (
                "levity_cost_usd_total",
                "What the requests cost in US dollars, at the models' prices.",
                |s| s.cost,
            ),
        ];
        for (name, help, figure) in counters {
            head(&mut out, name, help, "counter");
            for (l, s) in &self.series {
                let _ = writeln!(out, "{name}{{{}}} {}", labels(l), figure(s));
            }
        }
        type Part = fn(&Series) -> &Histogram;
        let histograms: [(&str, &str, Part); 2] = [
            (
                "levity_request_duration_seconds",
                "Time from a request's arrival to its last byte.",
                |s| &s.latency,
            ),
            (
                "levity_time_to_first_token_seconds",
                "Time from a streamed request's arrival to its first byte of answer.",
                |s| &s.ttft,
            ),
        ];
        for (name, help, hist) in histograms {
            head(&mut out, name, help, "histogram");
            for (l, s) in &self.series {
                let h = hist(s);
                if h.count == 0 {
                    continue;
                }
                let l = labels(l);
                let mut below = 0;
                for (bound, n) in BOUNDS.iter().zip(h.buckets) {
                    below += n;
                    let _ = writeln!(out, "{name}_bucket{{{l},le=\"{bound}\"}} {below}");
                }
                let _ = writeln!(out, "{name}_bucket{{{l},le=\"+Inf\"}} {}", h.count);
                let _ = writeln!(out, "{name}_sum{{{l}}} {}", h.sum);
                let _ = writeln!(out, "{name}_count{{{l}}} {}", h.count);
            }
        }
        head(
            &mut out,
            "levity_attempts_total",
            "Upstream attempts by account and outcome: ok, or whose fault a failure was.",
            "counter",
        );
        for (account, outcome, n) in self
            .attempts
            .iter()
            .flat_map(|(a, m)| m.iter().map(move |(o, n)| (a, o, n)))
        {
            let _ = writeln!(
                out,
                "levity_attempts_total{{account=\"{}\",outcome=\"{}\"}} {n}",
                escape(account),
                escape(outcome)
            );
        }
        head(
            &mut out,
            "levity_account_state",
            "1 for each account's present state: active, cooling, disabled, needs-reauth, needs-action.",
            "gauge",
        );
        for (name, kind, state) in accounts {
            let _ = writeln!(
                out,
                "levity_account_state{{account=\"{}\",kind=\"{}\",state=\"{}\"}} 1",
                escape(name),
                escape(kind),
                escape(state)
            );
        }
        out
    }
}

fn head(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn labels((protocol, model, account, key): &Labels) -> String {
    format!(
        "protocol=\"{}\",model=\"{}\",account=\"{}\",key=\"{}\"",
        escape(protocol),
        escape(model),
        escape(account),
        escape(key)
    )
}

/// A label value as the format requires: backslash, double quote and line
/// feed escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(model: &str, status: u16, latency_ms: u64) -> Entry {
        serde_json::from_value(serde_json::json!({
            "id": "r1", "time_ms": 0, "protocol": "openai-chat", "model": model,
            "upstream_model": model, "account": "work", "status": status,
            "latency_ms": latency_ms, "ttft_ms": 120, "input_tokens": 10,
            "output_tokens": 5, "attempts": 1, "why": "", "background": false,
            "stream": true, "client_key": "ci", "error": null, "cached_tokens": 4,
            "cost_usd": 0.25,
        }))
        .unwrap()
    }

    #[test]
    fn hostile_model_names_are_escaped_and_cannot_grow_the_series_without_bound() {
        let mut m = Metrics::default();
        m.add(&entry("evil\"} 1\nlevity_fake 9", 200, 700));
        let text = m.render(&[]);
        assert!(
            text.contains(r#"model="evil\"} 1\nlevity_fake 9""#),
            "{text}"
        );
        assert!(!text.lines().any(|l| l.starts_with("levity_fake")));
        for i in 0..MAX_SERIES + 50 {
            m.add(&entry(&format!("m{i}"), 500, 10));
        }
        assert_eq!(m.series.len(), MAX_SERIES + 1);
        let other = &m.series[m.find(("", "(other)", "", "")).unwrap()].1;
        assert_eq!((other.requests, other.errors), (51, 51));
    }

    #[test]
    fn histograms_are_cumulative_and_end_at_the_count() {
        let mut m = Metrics::default();
        for ms in [40, 700, 700, 400_000] {
            m.add(&entry("gemini-2.5-flash", 200, ms));
        }
        let text = m.render(&[]);
        let line = |le: &str| {
            let want = format!(
                "levity_request_duration_seconds_bucket{{protocol=\"openai-chat\",model=\"gemini-2.5-flash\",account=\"work\",key=\"ci\",le=\"{le}\"}} "
            );
            text.lines()
                .find_map(|l| l.strip_prefix(want.as_str()))
                .unwrap()
                .to_string()
        };
        assert_eq!(line("0.05"), "1");
        assert_eq!(line("0.5"), "1");
        assert_eq!(line("1"), "3");
        assert_eq!(line("300"), "3");
        assert_eq!(line("+Inf"), "4");
        assert!(text.contains("levity_cost_usd_total{protocol=\"openai-chat\",model=\"gemini-2.5-flash\",account=\"work\",key=\"ci\"} 1\n"));
    }
}
