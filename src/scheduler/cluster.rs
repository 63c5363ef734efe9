//! What the scheduler does in cluster mode. The attempt's account must
//! also hold a unit of each of its limits' leases (`cluster::lease`), so the
//! instances together keep to them (without a cluster `next` is the
//! scheduler's own pick); rests, marks and session moves are told to the
//! other instances, and theirs taken in.

use super::{Next, Route, Scheduler, Snapshot, Told, health, zone};
use crate::cluster::{Link, News, Scope, Want};
use crate::store::Account;
use crate::util::{DAY, MINUTE};

impl Scheduler {
    /// The account for the next attempt, skipping those already `tried`.
    /// In cluster mode the account must also hold a unit of each limit's
    /// lease: one whose share is on its way is waited for briefly; one
    /// whose window is spent cluster-wide is passed over like a resting one.
    pub fn next(
        &self,
        snap: &Snapshot,
        route: &Route,
        session: &str,
        tried: &[String],
        now: u64,
    ) -> Next {
        let Some(link) = self.link.get() else {
            return self.pick(snap, route, session, tried, now);
        };
        let mut skip = tried.to_vec();
        loop {
            match self.pick(snap, route, session, &skip, now) {
                Next::Account { account, why } => {
                    match self.lease(link, snap, &account, &route.model, now, true) {
                        Ok(()) => return Next::Account { account, why },
                        Err((at, true)) => {
                            return Next::Wait {
                                ms: at.saturating_sub(link.clock(now)).max(1),
                                account,
                                why: "waiting for the cluster to lease a block of the account's limit",
                            };
                        }
                        Err((_, false)) => skip.push(account.id.clone()),
                    }
                }
                other => return other,
            }
        }
    }

    /// Takes (or, with `take` false, only checks) one unit of `account`'s
    /// per-minute and per-day limits for `model` from the cluster's
    /// leases; `Err` says when to look again (cluster clock) and whether a
    /// block is on its way.
    fn lease(
        &self,
        link: &Link,
        snap: &Snapshot,
        account: &Account,
        model: &str,
        now: u64,
        take: bool,
    ) -> Result<(), (u64, bool)> {
        let limits = self.limits(snap, account, model);
        let now = link.clock(now);
        let scope = |day| Scope {
            owner: account.id.clone(),
            model: model.to_string(),
            day,
        };
        let mut wants = Vec::with_capacity(2);
        if limits.rpm > 0 {
            let start = health::minute_start(now);
            wants.push(Want {
                scope: scope(false),
                limit: limits.rpm,
                start,
                end: start + MINUTE,
            });
        }
        if limits.rpd > 0 {
            let zone = zone(account.kind);
            let start = zone.day_start(now);
            // Two hours past a day's length lands in the next day, whether
            // daylight saving made this one 23 or 25 hours long.
            let end = zone.day_start(start + DAY + 2 * 3_600_000);
            wants.push(Want {
                scope: scope(true),
                limit: limits.rpd,
                start,
                end,
            });
        }
        if wants.is_empty() {
            return Ok(());
        }
        let terms = link.terms(snap.settings.cluster_strict);
        if take {
            link.leases.take(&wants, now, terms)
        } else {
            link.leases.peek(&wants, now, terms)
        }
    }

    /// Where a new conversation would go now, taking nothing (no lease, no
    /// session): the route tester.
    pub fn preview(&self, snap: &Snapshot, route: &Route, now: u64) -> Next {
        self.pick(snap, route, "", &[], now)
    }

    /// When `account` can serve `model` again (now if it can), unless it
    /// waits for its owner: its rest, and in cluster mode its leases.
    pub fn returns_at(
        &self,
        snap: &Snapshot,
        account: &Account,
        model: &str,
        now: u64,
    ) -> Option<u64> {
        let back = self
            .health
            .with(&account.id, |h| h.returns_at(model, now))?;
        let Some(link) = self.link.get() else {
            return Some(back);
        };
        match self.lease(link, snap, account, model, now, false) {
            Ok(()) => Some(back),
            Err((at, _)) => Some(back.max(at.saturating_add_signed(-link.offset()))),
        }
    }

    /// A session another instance put on an account.
    pub fn adopt_session(&self, key: &str, account: &str, now: u64) {
        self.sessions.stick(key, account, now);
    }

    /// Every session in use and its account.
    pub fn sessions_in_use(&self, now: u64) -> Vec<(String, String)> {
        self.sessions.all(now)
    }

    /// The owner acted on an account that waited for them: its mark is
    /// cleared here and on every instance of the cluster.
    pub fn reauthorized(&self, account: &str) {
        self.health.reauthorized(account);
        if let Some(link) = self.link.get() {
            link.tell(News::Health {
                account: account.to_string(),
                told: Told::Clear,
            });
        }
    }

    /// Tells the cluster what `account` now knows: rests, trips, marks.
    pub(super) fn tell_news(&self, account: &str, now: u64) {
        if let Some(link) = self.link.get() {
            for told in self.health.news(account, now) {
                link.tell(News::Health {
                    account: account.to_string(),
                    told,
                });
            }
        }
    }
}
