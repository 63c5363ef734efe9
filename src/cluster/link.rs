//! What the request path sees of the cluster: whether Redis is reachable,
//! the cluster's clock, the leases, and a queue of news for the other
//! instances. Nothing here waits on Redis.

use super::lease::Leases;
use crate::scheduler::Told;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use tokio::sync::mpsc;

/// News waiting to be sent; past this, news is dropped (the next resync
/// carries the state anyway).
const BACKLOG: usize = 8_192;

/// Something this instance learnt that the others should.
#[derive(Debug, Clone)]
pub enum News {
    /// An account's rest, trip or mark (times in this machine's clock).
    Health { account: String, told: Told },
    /// A session is on an account now.
    Session { key: String, account: String },
}

pub struct Link {
    up: AtomicBool,
    /// The cluster's clock (Redis server time) minus this machine's.
    offset_ms: AtomicI64,
    /// Instances seen lately, this one included.
    instances: AtomicUsize,
    out: mpsc::Sender<News>,
    pub leases: Leases,
    pub spend: Spend,
}

impl Link {
    pub fn new() -> (Link, mpsc::Receiver<News>) {
        let (out, rx) = mpsc::channel(BACKLOG);
        let link = Link {
            up: AtomicBool::new(false),
            offset_ms: AtomicI64::new(0),
            instances: AtomicUsize::new(1),
            out,
            leases: Leases::default(),
            spend: Spend::default(),
        };
        (link, rx)
    }

    /// Whether Redis answers and this instance's mirror is current.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    pub(super) fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::Release);
    }

    /// `local` (Unix ms on this machine) on the cluster's clock.
    pub fn clock(&self, local: u64) -> u64 {
        local.saturating_add_signed(self.offset())
    }

    pub fn offset(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }

    pub(super) fn set_offset(&self, ms: i64) {
        self.offset_ms.store(ms, Ordering::Relaxed);
    }

    /// The terms leases are taken under now.
    pub fn terms(&self, strict: bool) -> super::Terms {
        super::Terms {
            up: self.is_up(),
            instances: self.instances(),
            strict,
        }
    }

    pub fn instances(&self) -> usize {
        self.instances.load(Ordering::Relaxed).max(1)
    }

    pub(super) fn set_instances(&self, n: usize) {
        self.instances.store(n.max(1), Ordering::Relaxed);
    }

    /// Queues news for the other instances; dropped while Redis is away
    /// (the resync on its return carries it).
    pub fn tell(&self, news: News) {
        if self.is_up() {
            let _ = self.out.try_send(news);
        }
    }
}

/// What client keys spent across the cluster: tokens a minute and dollars
/// a day, counted in Redis after each request (a limit on tokens or money
/// is checked as a request arrives and known only as it ends, as on one
/// instance), and the cluster's totals as last read.
#[derive(Default)]
pub struct Spend {
    pending: std::sync::Mutex<Vec<Spent>>,
    totals: std::sync::Mutex<std::collections::HashMap<String, KeyTotals>>,
}

/// One request's spending, on the cluster's clock.
#[derive(Debug, Clone)]
pub struct Spent {
    pub key: String,
    pub minute: u64,
    pub day: i64,
    pub tokens: u64,
    pub usd: f64,
}

/// A key's spending across the cluster in one minute and one budget period.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct KeyTotals {
    pub minute: u64,
    pub minute_tokens: u64,
    /// The first day (UTC day number) of the period `usd` covers.
    pub period_start: i64,
    pub usd: f64,
}

impl Spend {
    pub fn add(&self, spent: Spent) {
        self.pending.lock().expect("spend lock").push(spent);
    }

    pub(super) fn drain(&self) -> Vec<Spent> {
        std::mem::take(&mut *self.pending.lock().expect("spend lock"))
    }

    pub(super) fn set(&self, key: &str, totals: KeyTotals) {
        self.totals
            .lock()
            .expect("spend lock")
            .insert(key.to_string(), totals);
    }

    /// The cluster's tokens for `key` in `minute`, and its dollars in the
    /// period that starts on `period_start`, as last read.
    pub fn totals(&self, key: &str, minute: u64, period_start: i64) -> (u64, f64) {
        let t = self.totals.lock().expect("spend lock").get(key).copied();
        let t = t.unwrap_or_default();
        (
            if t.minute == minute {
                t.minute_tokens
            } else {
                0
            },
            if t.period_start == period_start {
                t.usd
            } else {
                0.0
            },
        )
    }
}
