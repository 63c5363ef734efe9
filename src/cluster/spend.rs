//! Client keys' tokens and dollars counted across the cluster: each
//! instance adds what its requests spent to per-minute and per-day counters
//! twice a second and reads the totals of the keys that have such limits.

use super::link::{KeyTotals, Spent};
use super::run::{Con, failed};
use super::{Cluster, PREFIX};
use crate::util::{DAY, MINUTE, now_ms};

/// Kept a little longer than the longest budget period (a month).
const DAY_COUNTER_TTL_S: u64 = 40 * 86_400;

fn counter(key: &str, what: &str, at: impl std::fmt::Display) -> String {
    format!("{PREFIX}k:{}:{what}:{at}", super::opaque(&[key]))
}

/// Notes what a request of client key `key` spent, as it ends.
pub fn record(c: &Cluster, key: &str, tokens: u64, usd: f64) {
    let now = c.link.clock(now_ms());
    c.link.spend.add(Spent {
        key: key.to_string(),
        minute: now - now % MINUTE,
        day: (now / DAY) as i64,
        tokens,
        usd,
    });
}

/// Adds this instance's spending to the counters, then reads the totals of
/// every key with a limit on tokens or money.
pub(super) async fn exchange(c: &Cluster, con: &mut Con) -> Result<(), String> {
    let Some(state) = c.state.upgrade() else {
        return Ok(());
    };
    let mut pipe = redis::pipe();
    for s in c.link.spend.drain() {
        let minute = counter(&s.key, "t", s.minute);
        pipe.cmd("INCRBY").arg(&minute).arg(s.tokens).ignore();
        pipe.cmd("PEXPIRE").arg(&minute).arg(2 * MINUTE).ignore();
        if s.usd > 0.0 {
            let day = counter(&s.key, "usd", s.day);
            pipe.cmd("INCRBYFLOAT").arg(&day).arg(s.usd).ignore();
            pipe.cmd("EXPIRE").arg(&day).arg(DAY_COUNTER_TTL_S).ignore();
        }
    }
    let now = c.link.clock(now_ms());
    let (minute, today) = (now - now % MINUTE, (now / DAY) as i64);
    let snap = state.snapshot.load();
    let limited: Vec<_> = snap
        .keys
        .iter()
        .map(|(_, k)| k)
        .filter(|k| k.limits.tpm.is_some() || k.limits.budget_usd.is_some())
        .collect();
    let mut reads = Vec::new();
    for k in &limited {
        let period = k.limits.period.unwrap_or(crate::store::Period::Month);
        let (start, _) = crate::server::key_period(period, today);
        pipe.cmd("GET").arg(counter(&k.name, "t", minute));
        let days: Vec<String> = (start..=today)
            .map(|d| counter(&k.name, "usd", d))
            .collect();
        pipe.cmd("MGET").arg(&days);
        reads.push((k.name.clone(), start));
    }
    if pipe.is_empty() {
        return Ok(());
    }
    let answers: Vec<redis::Value> = pipe.query_async(con).await.map_err(failed)?;
    for ((name, start), pair) in reads.into_iter().zip(answers.chunks(2)) {
        let tokens: Option<u64> = redis::from_redis_value_ref(&pair[0]).map_err(failed)?;
        let days: Vec<Option<f64>> = redis::from_redis_value_ref(&pair[1]).map_err(failed)?;
        c.link.spend.set(
            &name,
            KeyTotals {
                minute,
                minute_tokens: tokens.unwrap_or(0),
                period_start: start,
                usd: days.into_iter().flatten().sum(),
            },
        );
    }
    Ok(())
}
