//! Rate limits held across instances: each window's budget (an account's
//! requests a minute or a day for one model, a client key's) is leased to
//! instances in blocks from one Redis counter, so together they never pass
//! it. The request path only counts against the blocks it holds; a
//! background task leases the next block before this one runs out, and the
//! next minute's first block before the minute turns.

use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::Notify;

/// How soon a request waiting for a block looks again.
pub const RETRY_MS: u64 = 25;
/// How long before a minute ends its next block is leased.
const PREFETCH_MS: u64 = 5_000;

/// One window's budget: whose, for which model (empty for a client key),
/// and whether per day or per minute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    pub owner: String,
    pub model: String,
    pub day: bool,
}

/// A window a request needs one unit of. Times are the cluster's clock.
#[derive(Debug, Clone)]
pub struct Want {
    pub scope: Scope,
    pub limit: u64,
    pub start: u64,
    pub end: u64,
}

#[derive(Debug, Default)]
struct Lease {
    start: u64,
    end: u64,
    limit: u64,
    granted: u64,
    used: u64,
    /// The cluster's counter reached the limit: nothing more this window.
    spent: bool,
    /// Granted on this instance's own authority while Redis was away.
    local: u64,
    /// The next window's first block, leased ahead: (start, granted).
    next: Option<(u64, u64)>,
}

impl Lease {
    fn roll(&mut self, w: &Want) {
        self.limit = w.limit;
        if self.start == w.start {
            return;
        }
        let ahead = self.next.take().filter(|(s, _)| *s == w.start);
        *self = Lease {
            start: w.start,
            end: w.end,
            limit: w.limit,
            granted: ahead.map_or(0, |(_, g)| g),
            ..Lease::default()
        };
    }
}

/// A block to ask the cluster for.
#[derive(Debug, Clone)]
pub struct Ask {
    pub scope: Scope,
    pub start: u64,
    pub end: u64,
    pub limit: u64,
    pub block: u64,
    /// For the window after the current one.
    pub ahead: bool,
}

#[derive(Default)]
pub struct Leases {
    map: Mutex<HashMap<Scope, Lease>>,
    /// Woken when a lease runs low, so the next block is asked for now.
    pub wake: Notify,
}

/// What a lease is taken under: whether Redis answers, how many instances
/// share the limits, and whether an instance alone may spend its share.
/// With Redis away an instance spends its even share of each window on its
/// own authority, unless `strict`.
#[derive(Debug, Clone, Copy)]
pub struct Terms {
    pub up: bool,
    pub instances: usize,
    pub strict: bool,
}

/// How many of a window's units one lease takes: a quarter of an even share.
pub fn block(limit: u64, instances: usize) -> u64 {
    (limit / (4 * instances.max(1) as u64)).max(1)
}

impl Leases {
    /// Takes one unit of every window in `wants`, or none: `Err` says when
    /// (cluster clock) to look again, and whether the wait is only for a
    /// block on its way (`true`) rather than for the window's end.
    pub fn take(&self, wants: &[Want], now: u64, terms: Terms) -> Result<(), (u64, bool)> {
        self.admit(wants, now, terms, true)
    }

    /// What `take` would say, taking nothing.
    pub fn peek(&self, wants: &[Want], now: u64, terms: Terms) -> Result<(), (u64, bool)> {
        self.admit(wants, now, terms, false)
    }

    fn admit(
        &self,
        wants: &[Want],
        now: u64,
        terms: Terms,
        commit: bool,
    ) -> Result<(), (u64, bool)> {
        let Terms {
            up,
            instances,
            strict,
        } = terms;
        let mut map = self.map.lock().expect("leases lock");
        let mut blocked: Option<(u64, bool)> = None;
        let mut low = false;
        for w in wants {
            // Looked up before inserting: the scope is cloned once per window.
            if !map.contains_key(&w.scope) {
                map.insert(w.scope.clone(), Lease::default());
            }
            let l = map.get_mut(&w.scope).expect("just inserted");
            l.roll(w);
            if l.used >= l.granted && !up && !strict {
                let share = (w.limit / instances.max(1) as u64).max(1);
                if l.granted < share {
                    l.local += share - l.granted;
                    l.granted = share;
                }
            }
            if l.used >= l.granted {
                low = true;
                let at = if l.spent || !up {
                    (l.end, false)
                } else {
                    (now + RETRY_MS, true)
                };
                blocked = Some(blocked.map_or(at, |b| if at.0 > b.0 { at } else { b }));
            }
        }
        if let Some(at) = blocked {
            drop(map);
            if low {
                self.wake.notify_one();
            }
            return Err(at);
        }
        if !commit {
            return Ok(());
        }
        for w in wants {
            let l = map.get_mut(&w.scope).expect("rolled above");
            l.used += 1;
            low |= l.granted - l.used <= block(l.limit, instances) / 2;
        }
        drop(map);
        if low {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// The blocks worth asking for now.
    pub fn asks(&self, now: u64, instances: usize) -> Vec<Ask> {
        let map = self.map.lock().expect("leases lock");
        let mut out = Vec::new();
        for (scope, l) in map.iter().filter(|(_, l)| now < l.end) {
            let block = block(l.limit, instances);
            if !l.spent && l.granted.saturating_sub(l.used) <= block / 2 {
                out.push(Ask {
                    scope: scope.clone(),
                    start: l.start,
                    end: l.end,
                    limit: l.limit,
                    block,
                    ahead: false,
                });
            }
            let length = l.end - l.start;
            if !scope.day && l.used > 0 && l.next.is_none() && now + PREFETCH_MS >= l.end {
                out.push(Ask {
                    scope: scope.clone(),
                    start: l.end,
                    end: l.end + length,
                    limit: l.limit,
                    block,
                    ahead: true,
                });
            }
        }
        out
    }

    /// What the cluster granted for `ask`: `allowed` units, and whether its
    /// counter reached the limit.
    pub fn granted(&self, ask: &Ask, allowed: u64, spent: bool) {
        let mut map = self.map.lock().expect("leases lock");
        let Some(l) = map.get_mut(&ask.scope) else {
            return;
        };
        if ask.ahead {
            l.next = Some((ask.start, allowed));
        } else if l.start == ask.start {
            l.granted += allowed;
            l.spent |= spent;
        }
    }

    /// What was spent on this instance's own authority while Redis was away,
    /// per window still open: reported to the counters when Redis is back.
    pub fn take_local(&self, now: u64) -> Vec<Ask> {
        let mut map = self.map.lock().expect("leases lock");
        map.retain(|_, l| now < l.end || l.next.is_some_and(|(s, _)| now < s + (l.end - l.start)));
        map.iter_mut()
            .filter(|(_, l)| l.local > 0 && now < l.end)
            .map(|(scope, l)| Ask {
                scope: scope.clone(),
                start: l.start,
                end: l.end,
                limit: l.limit,
                block: std::mem::take(&mut l.local),
                ahead: false,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn terms(up: bool, instances: usize, strict: bool) -> Terms {
        Terms {
            up,
            instances,
            strict,
        }
    }
    const T3: Terms = terms(true, 3, false);
    const T1: Terms = terms(true, 1, false);
    const ALONE3: Terms = terms(false, 3, false);
    const STRICT3: Terms = terms(false, 3, true);

    fn want(limit: u64) -> Want {
        Want {
            scope: Scope {
                owner: "acc".into(),
                model: "m".into(),
                day: false,
            },
            limit,
            start: 60_000,
            end: 120_000,
        }
    }

    #[test]
    fn nothing_is_taken_beyond_what_was_granted() {
        let leases = Leases::default();
        let w = [want(10)];
        assert_eq!(leases.take(&w, 60_001, T3), Err((60_026, true)));
        let asks = leases.asks(60_001, 3);
        assert_eq!(asks.len(), 1);
        assert_eq!(asks[0].block, 1);
        leases.granted(&asks[0], 1, false);
        assert!(leases.take(&w, 60_002, T3).is_ok());
        assert!(leases.take(&w, 60_003, T3).is_err());
        // The counter is spent: wait for the window's end.
        leases.granted(&leases.asks(60_004, 3)[0], 0, true);
        assert_eq!(leases.take(&w, 60_005, T3), Err((120_000, false)));
    }

    #[test]
    fn without_redis_an_instance_spends_its_share_unless_strict() {
        let leases = Leases::default();
        let w = [want(30)];
        for _ in 0..10 {
            assert!(leases.take(&w, 60_001, ALONE3).is_ok());
        }
        assert_eq!(leases.take(&w, 60_001, ALONE3), Err((120_000, false)));
        assert_eq!(leases.take_local(60_002)[0].block, 10);
        let strict = Leases::default();
        assert!(strict.take(&w, 60_001, STRICT3).is_err());
    }

    #[test]
    fn the_next_minute_is_leased_ahead() {
        let leases = Leases::default();
        let w = [want(100)];
        let first = &leases.asks(60_000, 1);
        assert!(first.is_empty(), "nothing asked before a first use");
        assert!(leases.take(&w, 60_001, T1).is_err());
        leases.granted(&leases.asks(60_001, 1)[0], 25, false);
        assert!(leases.take(&w, 116_000, T1).is_ok());
        let ahead: Vec<Ask> = leases
            .asks(116_000, 1)
            .into_iter()
            .filter(|a| a.ahead)
            .collect();
        assert_eq!(ahead[0].start, 120_000);
        leases.granted(&ahead[0], 25, false);
        let next = [Want {
            start: 120_000,
            end: 180_000,
            ..want(100)
        }];
        assert!(leases.take(&next, 120_001, T1).is_ok());
    }
}
