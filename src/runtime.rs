//! The async runtime, and when its workers hand freed memory back.
//!
//! mimalloc (the executable's allocator) gives a page back only when the
//! thread that owns it collects: a block freed by another thread (a
//! connection the pool drops, a body a stream let go) waits in its page
//! until then. A worker that is parked never collects, so without a nudge a
//! server that went quiet keeps pages its busiest moment freed.
//!
//! So each worker collects as it parks: at most once a second while busy,
//! and once more whenever [`tidy_all`] asks, which the background loop does
//! when a busy spell ends (`server::background`). That call also wakes the
//! parked workers, so the ones that did nothing since are asked too. What
//! stays after that is fragmentation: pages kept by a few long-lived blocks.
//!
//! Bookkeeping (the request log, usage and health saves, the daily backup)
//! runs on one thread of its own at a lower priority, [`in_background`]:
//! writing a busy second's request log takes tens of milliseconds of CPU,
//! and on a machine whose cores are all busy that time was taken from the
//! requests in flight (1 % of them waited over a millisecond).

use std::cell::Cell;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, mpsc};
use std::time::{Duration, Instant};

/// Bumped by [`tidy_all`]; a worker that parks and sees a new value collects.
static EPOCH: AtomicU64 = AtomicU64::new(0);

/// Tidying while busy costs a clock read per park otherwise.
const BUSY_TIDY_EVERY: Duration = Duration::from_secs(1);

/// How long [`tidy_all`] keeps a worker waiting for the others.
const HOLD_AT_MOST: Duration = Duration::from_millis(20);

/// The multi-threaded runtime, its workers tidying as they park; `workers`
/// as tokio counts them when `None` (one per core, `TOKIO_WORKER_THREADS`).
pub fn build(workers: Option<usize>) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = workers {
        builder.worker_threads(n);
    }
    builder.enable_all().on_thread_park(on_park).build()
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

/// The bookkeeping thread's niceness: the scheduler gives it about a tenth
/// of a core that requests also want, and all of an idle one.
const BOOKKEEPING_NICE: i32 = 10;

type Job = Box<dyn FnOnce() + Send>;

/// Runs `job` on the bookkeeping thread, after the jobs sent before it, and
/// gives its result back; `None` if it panicked.
pub async fn in_background<T: Send + 'static>(
    job: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    static LANE: OnceLock<mpsc::Sender<Job>> = OnceLock::new();
    let lane = LANE.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("levity-bookkeeping".into())
            .spawn(move || {
                lower_priority();
                for job in rx {
                    // A panic is the job's to report (its answer never comes).
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
                    // It never parks like a worker, so it tidies after each job.
                    collect();
                }
            })
            .expect("the bookkeeping thread starts");
        tx
    });
    let (tx, rx) = tokio::sync::oneshot::channel();
    lane.send(Box::new(move || {
        let _ = tx.send(job());
    }))
    .ok()?;
    rx.await.ok()
}

/// Lowers the calling thread's priority: on Linux the nice value is the
/// thread's own (setpriority(2), "Bugs" and NPTL notes); elsewhere it would be
/// the whole process's, so nothing is done.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain system call on the calling thread; failure leaves the
    // priority as it was, which is only slower for requests, not wrong.
    unsafe {
        // Never raises it: a levity started with `nice 19` stays there.
        if libc::getpriority(libc::PRIO_PROCESS, 0) < BOOKKEEPING_NICE {
            libc::setpriority(libc::PRIO_PROCESS, 0, BOOKKEEPING_NICE);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::{Arc, Mutex};
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
        let rt = super::build(Some(workers)).unwrap();
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

    #[tokio::test]
    async fn bookkeeping_runs_in_order_at_a_lower_priority_and_outlives_a_panic() {
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let jobs: Vec<_> = (0..20)
            .map(|i| {
                let order = order.clone();
                super::in_background(move || order.lock().unwrap().push(i))
            })
            .collect();
        for job in jobs {
            job.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), (0..20).collect::<Vec<_>>());
        assert_eq!(
            super::in_background(|| panic!("a job fails")).await,
            None::<()>
        );
        let name = super::in_background(|| std::thread::current().name().map(String::from)).await;
        assert_eq!(
            name.unwrap().as_deref(),
            Some("levity-bookkeeping"),
            "still there after the panic"
        );
        #[cfg(target_os = "linux")]
        {
            // SAFETY: reads the calling thread's nice value.
            let nice =
                super::in_background(|| unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }).await;
            let here = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
            assert_eq!(
                nice,
                Some(super::BOOKKEEPING_NICE.max(here)),
                "the workers keep theirs ({here})"
            );
        }
    }
}
