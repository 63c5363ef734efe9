//! What client keys may spend: their limits checked as a request arrives,
//! in memory (no database on the request path). Requests are counted as
//! they start, tokens as they end; a day's requests and a period's spending
//! are read from the Monitor's usage, which survives restarts.

use super::monitor::Monitor;
use crate::cluster::{Link, RETRY_MS, Scope, Want};
use crate::error::{Error, Kind};
use crate::store::{KeyInfo, Period};
use crate::util::{DAY, MINUTE, civil_from_days, day_number, days_from_civil};
use std::collections::HashMap;
use std::sync::Mutex;

/// Each key's use in the current minute and day.
#[derive(Default)]
pub struct Meter {
    keys: Mutex<HashMap<String, Use>>,
}

#[derive(Default)]
struct Use {
    minute: u64,
    minute_requests: u64,
    minute_tokens: u64,
    /// Day number (UTC) `day_requests` counts in.
    day: i64,
    day_requests: u64,
}

impl Use {
    fn roll(&mut self, now: u64) {
        let minute = now - now % MINUTE;
        if self.minute != minute {
            (self.minute, self.minute_requests, self.minute_tokens) = (minute, 0, 0);
        }
    }
}

/// A limit's refusal: 429 with the wait until it resets.
fn spent(message: String, wait_ms: u64) -> Error {
    Error {
        retry_after_ms: Some(wait_ms.max(1_000)),
        ..Error::new(Kind::RateLimited, message)
    }
}

/// The first day of the period `day` falls in, and the first of the next.
pub(crate) fn period(p: Period, day: i64) -> (i64, i64) {
    match p {
        Period::Day => (day, day + 1),
        // 1970-01-01 was a Thursday: Monday is 4 days before a multiple of 7.
        Period::Week => {
            let monday = day - (day + 3).rem_euclid(7);
            (monday, monday + 7)
        }
        Period::Month => {
            let (y, m, _) = civil_from_days(day);
            let next = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            (days_from_civil(y, m, 1), days_from_civil(next.0, next.1, 1))
        }
    }
}

fn date(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

impl Meter {
    /// Lets one request of `key` for `model` in, or says which limit stops
    /// it, in words that name the key and when it may try again.
    /// In cluster mode (`link`) the tokens and dollars the other instances
    /// counted weigh too.
    pub fn admit(
        &self,
        key: &KeyInfo,
        model: &str,
        monitor: &Monitor,
        link: Option<&Link>,
        now: u64,
    ) -> Result<(), Error> {
        let l = &key.limits;
        let name = &key.name;
        let today = (now / DAY) as i64;
        let cluster = |period_start: i64| {
            link.map_or((0, 0.0), |link| {
                let at = link.clock(now);
                link.spend.totals(name, at - at % MINUTE, period_start)
            })
        };
        if let Some(last) = l.expires.as_deref().and_then(day_number)
            && today > last
        {
            return Err(Error::new(
                Kind::Authentication,
                format!(
                    "client key `{name}` expired after {}; ask for a new one",
                    date(last)
                ),
            ));
        }
        if !l.models.is_empty() && !l.models.iter().any(|p| crate::config::glob(p, model)) {
            return Err(Error {
                param: Some("model".into()),
                ..Error::new(
                    Kind::PermissionDenied,
                    format!(
                        "client key `{name}` may not use `{model}`; it may use {}",
                        l.models.join(", ")
                    ),
                )
            });
        }
        if let Some(budget) = l.budget_usd {
            let p = l.period.unwrap_or(Period::Month);
            let (start, end) = period(p, today);
            let used = monitor
                .key_totals(name, &date(start))
                .cost_usd
                .max(cluster(start).1);
            if used >= budget {
                let reset_ms = end as u64 * DAY;
                return Err(spent(
                    format!(
                        "client key `{name}` has spent its ${budget:.2} budget for this {}; it starts again on {} (UTC)",
                        p.as_str(),
                        date(end)
                    ),
                    reset_ms.saturating_sub(now),
                ));
            }
        }
        let mut keys = self.keys.lock().expect("meter lock");
        let usage = keys.entry(name.clone()).or_default();
        usage.roll(now);
        if usage.day != today {
            // A new day, or the first request since a start: what the
            // request log counted today is the day's use so far.
            usage.day = today;
            usage.day_requests = monitor.key_totals(name, &date(today)).requests;
        }
        let next_minute = usage.minute + MINUTE - now;
        if let Some(rpd) = l.rpd
            && usage.day_requests >= rpd
        {
            let wait = (today as u64 + 1) * DAY - now;
            return Err(spent(
                format!(
                    "client key `{name}` may send {rpd} requests a day; it has, until midnight UTC"
                ),
                wait,
            ));
        }
        if let Some(rpm) = l.rpm
            && usage.minute_requests >= rpm
        {
            return Err(spent(
                format!("client key `{name}` may send {rpm} requests a minute; wait for the next"),
                next_minute,
            ));
        }
        if let Some(tpm) = l.tpm
            && usage.minute_tokens.max(cluster(today).0) >= tpm
        {
            return Err(spent(
                format!("client key `{name}` may use {tpm} tokens a minute; wait for the next"),
                next_minute,
            ));
        }
        usage.minute_requests += 1;
        usage.day_requests += 1;
        Ok(())
    }

    /// In cluster mode: takes one unit of the key's requests a minute and a
    /// day from the cluster's leases, waiting briefly for a block on its
    /// way, so the instances together keep to them.
    pub async fn lease(link: &Link, key: &KeyInfo, strict: bool) -> Result<(), Error> {
        let l = &key.limits;
        let scope = |day| Scope {
            owner: format!("key-{}", key.id),
            model: String::new(),
            day,
        };
        loop {
            let now = link.clock(crate::util::now_ms());
            let minute = now - now % MINUTE;
            let day = now - now % DAY;
            let mut wants = Vec::with_capacity(2);
            if let Some(rpm) = l.rpm {
                wants.push(Want {
                    scope: scope(false),
                    limit: rpm,
                    start: minute,
                    end: minute + MINUTE,
                });
            }
            if let Some(rpd) = l.rpd {
                wants.push(Want {
                    scope: scope(true),
                    limit: rpd,
                    start: day,
                    end: day + DAY,
                });
            }
            if wants.is_empty() {
                return Ok(());
            }
            match link.leases.take(&wants, now, link.terms(strict)) {
                Ok(()) => return Ok(()),
                Err((_, true)) => {
                    tokio::time::sleep(std::time::Duration::from_millis(RETRY_MS)).await
                }
                Err((at, false)) => {
                    return Err(spent(
                        format!(
                            "client key `{}` has sent what its limits allow across the cluster's instances; wait for the next window",
                            key.name
                        ),
                        at.saturating_sub(now),
                    ));
                }
            }
        }
    }

    /// Counts the tokens a request of `key` used, as it ends.
    pub fn tokens(&self, key: &str, tokens: u64, now: u64) {
        let mut keys = self.keys.lock().expect("meter lock");
        let usage = keys.entry(key.to_string()).or_default();
        usage.roll(now);
        usage.minute_tokens += tokens;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_start_on_their_day() {
        let day = day_number("2026-12-06").unwrap(); // a Sunday
        assert_eq!(period(Period::Day, day), (day, day + 1));
        let (monday, next) = period(Period::Week, day);
        assert_eq!(
            (date(monday), date(next)),
            ("2026-11-30".into(), "2026-12-07".into())
        );
        let (first, next) = period(Period::Month, day);
        assert_eq!(
            (date(first), date(next)),
            ("2026-12-01".into(), "2027-01-01".into())
        );
        assert_eq!(day_number("2026-02-30"), None);
    }
}
