//! What instances of a cluster tell each other about an account: rests,
//! breaker trips and marks. Taking one in only ever lengthens a rest, so
//! messages that cross or arrive twice agree.

use super::{ALL_MODELS, AccountHealth, Cooldown, Health};
use crate::error::Broken;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Told {
    /// `model` (or `*`, the whole account) rests until `cooldown.until_ms`.
    Cool { model: String, cooldown: Cooldown },
    /// The breaker is open until `until_ms`.
    Trip { until_ms: u64, period_ms: u64 },
    /// The account waits for its owner.
    Mark {
        what: Option<Broken>,
        reason: String,
    },
    /// The owner acted: the mark is gone.
    Clear,
}

impl Told {
    /// The same news with its times moved by `by` milliseconds (from one
    /// clock to another).
    pub fn shifted(mut self, by: i64) -> Told {
        let shift = |t: &mut u64| *t = t.saturating_add_signed(by);
        match &mut self {
            Told::Cool { cooldown, .. } => shift(&mut cooldown.until_ms),
            Told::Trip { until_ms, .. } => shift(until_ms),
            Told::Mark { .. } | Told::Clear => {}
        }
        self
    }

    /// What it is about, so newer news of the same kind replaces older.
    pub fn topic(&self) -> String {
        match self {
            Told::Cool { model, .. } => format!("cool\x1f{model}"),
            Told::Trip { .. } => "trip".into(),
            Told::Mark { .. } | Told::Clear => "mark".into(),
        }
    }
}

impl Health {
    /// Takes in what another instance learnt.
    pub fn told(&self, account: &str, news: Told) {
        self.change(account, |h| match news {
            Told::Cool { model, cooldown } => {
                let c = h.cooling.entry(model).or_default();
                if cooldown.until_ms > c.until_ms {
                    *c = cooldown;
                }
            }
            Told::Trip {
                until_ms,
                period_ms,
            } => {
                if until_ms > h.breaker.open_until_ms {
                    h.breaker.open_until_ms = until_ms;
                    h.breaker.period_ms = h.breaker.period_ms.max(period_ms);
                }
            }
            Told::Mark { what, reason } => {
                h.needs_action = Some(reason);
                h.broken = what;
            }
            Told::Clear => {
                h.needs_action = None;
                h.broken = None;
            }
        });
    }

    /// What this instance knows of `account` that others should: its rests
    /// in force, an open breaker, a mark.
    pub fn news(&self, account: &str, now: u64) -> Vec<Told> {
        self.with(account, |h| news_of(h, now))
    }

    /// The news of every account, for a cluster that lost what it knew.
    pub fn all_news(&self, now: u64) -> Vec<(String, Told)> {
        let map = self.map.lock().expect("health lock");
        map.iter()
            .flat_map(|(id, h)| news_of(h, now).into_iter().map(|t| (id.clone(), t)))
            .collect()
    }
}

fn news_of(h: &AccountHealth, now: u64) -> Vec<Told> {
    let mut out: Vec<Told> = h
        .cooling
        .iter()
        .filter(|(_, c)| c.until_ms > now)
        .map(|(m, c)| Told::Cool {
            model: m.clone(),
            cooldown: c.clone(),
        })
        .collect();
    if h.breaker.open_until_ms > now {
        out.push(Told::Trip {
            until_ms: h.breaker.open_until_ms,
            period_ms: h.breaker.period_ms,
        });
    }
    if let Some(reason) = &h.needs_action {
        out.push(Told::Mark {
            what: h.broken,
            reason: reason.clone(),
        });
    }
    out
}

/// The scope a cool-down of `model` is kept under.
pub fn cool_scope(scope_model: bool, model: &str) -> &str {
    if scope_model { model } else { ALL_MODELS }
}
