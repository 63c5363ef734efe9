//! The async runtime, and when its workers hand freed memory back.
//!
//! mimalloc (the executable's allocator) gives a page back only when the
//! thread that owns it collects: a block freed by another thread (a
//! connection the pool drops, a body a stream let go) waits in its page
//! until then. A worker that is parked never collects, so a server that
//! went quiet kept the memory of its busiest moment (45 MB a minute after
//! load, BENCHMARKS.md section 6, against 13 MB idle).
//!
//! So each worker collects as it parks: at most once a second while busy,
//! and once more whenever [`tidy_all`] asks, which the background loop does
//! when a busy spell ends (`server::background`). That call also wakes the
//! parked workers, so the ones that did nothing since are asked too.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Bumped by [`tidy_all`]; a worker that parks and sees a new value collects.
static EPOCH: AtomicU64 = AtomicU64::new(0);

/// Tidying while busy costs a clock read per park otherwise.
const BUSY_TIDY_EVERY: Duration = Duration::from_secs(1);

/// How long [`tidy_all`] keeps a worker waiting for the others.
const HOLD_AT_MOST: Duration = Duration::from_millis(20);

/// The multi-threaded runtime, its workers tidying as they park.
pub fn build() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_park(on_park)
        .build()
}

fn on_park() {
    thread_local! {
        static LAST: Cell<Option<Instant>> = const { Cell::new(None) };
        static SEEN: Cell<u64> = const { Cell::new(0) };
    }
    let epoch = EPOCH.load(Ordering::Acquire);
    let now = Instant::now();
    let asked = SEEN.get() != epoch;
    let due = LAST
        .get()
        .is_none_or(|t| now.duration_since(t) >= BUSY_TIDY_EVERY);
    if !asked && !due {
        return;
    }
    SEEN.set(epoch);
    LAST.set(Some(now));
    collect();
}

/// This thread's heap gives its free pages back.
fn collect() {
    // SAFETY: collects the calling thread's own heap; nothing is handed over.
    unsafe { libmimalloc_sys::mi_collect(true) };
    #[cfg(test)]
    tests::collected();
}

/// Asks every worker to collect the next time it parks, and makes each one
/// run and park again, the ones asleep included: one task per worker, each
/// holding its thread until all have started, so no two share a worker.
/// Bounded: a worker busy elsewhere is not waited for past `HOLD_AT_MOST`.
pub async fn tidy_all() {
    EPOCH.fetch_add(1, Ordering::AcqRel);
    let workers = tokio::runtime::Handle::current().metrics().num_workers();
    let started = Arc::new(AtomicUsize::new(0));
    let holds: Vec<_> = (0..workers)
        .map(|_| {
            let started = started.clone();
            tokio::spawn(async move {
                started.fetch_add(1, Ordering::AcqRel);
                let deadline = Instant::now() + HOLD_AT_MOST;
                while started.load(Ordering::Acquire) < workers && Instant::now() < deadline {
                    std::thread::yield_now();
                }
            })
        })
        .collect();
    for hold in holds {
        let _ = hold.await;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::Mutex;
    use std::thread::ThreadId;

    /// The threads that collected since the test last looked.
    static COLLECTED: Mutex<Option<HashSet<ThreadId>>> = Mutex::new(None);

    pub(super) fn collected() {
        if let Some(set) = COLLECTED.lock().unwrap().as_mut() {
            set.insert(std::thread::current().id());
        }
    }

    /// After a busy spell each worker has parked and tidied already; a
    /// later `tidy_all` must reach every one of them again, the ones asleep
    /// included, without waiting for the once-a-second tidy.
    #[test]
    fn tidy_all_reaches_every_worker() {
        let workers = 4;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .on_thread_park(super::on_park)
            .build()
            .unwrap();
        let ids: HashSet<ThreadId> = rt.block_on(async {
            // A busy spell on every worker, then quiet: each has tidied.
            let tasks: Vec<_> = (0..64)
                .map(|_| {
                    tokio::spawn(async {
                        std::thread::sleep(std::time::Duration::from_millis(2));
                        std::thread::current().id()
                    })
                })
                .collect();
            let mut ids = HashSet::new();
            for t in tasks {
                ids.insert(t.await.unwrap());
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            ids
        });
        assert_eq!(ids.len(), workers, "the spell ran on every worker");
        for round in 0..3 {
            *COLLECTED.lock().unwrap() = Some(HashSet::new());
            rt.block_on(async {
                tokio::spawn(super::tidy_all()).await.unwrap();
                // Well under the once-a-second tidy.
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            });
            let got = COLLECTED.lock().unwrap().take().unwrap();
            assert!(
                ids.is_subset(&got),
                "round {round}: {} of {workers} workers tidied",
                ids.intersection(&got).count()
            );
        }
    }
}
