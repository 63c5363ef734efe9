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
