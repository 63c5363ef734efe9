//! The open redb database and its recovery from a failed write. After an
//! I/O error (a full disk, a file size limit) redb refuses every later
//! transaction, reads included, until the file is opened again; so the
//! store reopens it at once, remembers the trouble for `/api/status`, and
//! clears it on the next write that lands.

use super::StoreError;
use redb::{Database, ReadTransaction, ReadableDatabase, WriteTransaction};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

/// The data file's page cache. redb keeps every page a commit wrote in it
/// until it is full (`PagedCachedFile::flush_write_buffer`), so a busy
/// request log fills it whatever its size, and it stays resident. Nothing on
/// the request path reads the file; the dashboard's reads of the log fall
/// through to the kernel's page cache.
pub(super) const CACHE_BYTES: usize = 1 << 20;

/// While the file cannot be reopened, how often to try again.
const REOPEN_EVERY: Duration = Duration::from_secs(2);

/// Why the data file is not taking writes, and since when.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct DiskTrouble {
    pub error: String,
    /// Unix milliseconds of the first failure in a row.
    pub since_ms: u64,
}

pub(super) struct Db {
    path: PathBuf,
    /// `None` while the file could not be reopened.
    db: RwLock<Option<Database>>,
    trouble: Mutex<Option<DiskTrouble>>,
    last_reopen: Mutex<Option<Instant>>,
}

/// redb's builder with levity's settings: redb caches up to 1 GiB by
/// default, and the request log should not become resident memory.
pub(super) fn builder() -> redb::Builder {
    let mut b = redb::Builder::new();
    b.set_cache_size(CACHE_BYTES);
    b
}

impl Db {
    pub fn new(db: Database, path: &Path) -> Db {
        Db {
            path: path.into(),
            db: RwLock::new(Some(db)),
            trouble: Mutex::new(None),
            last_reopen: Mutex::new(None),
        }
    }

    pub fn trouble(&self) -> Option<DiskTrouble> {
        self.trouble
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Runs `f` on the database, reopening it first if an earlier failure
    /// closed it, and after an I/O failure.
    fn with<R>(&self, f: impl FnOnce(&Database) -> Result<R, StoreError>) -> Result<R, StoreError> {
        if self.read_lock().is_none() {
            self.reopen(false);
        }
        let result = match self.read_lock().as_ref() {
            Some(db) => f(db),
            None => Err(StoreError::Disk(match self.trouble() {
                Some(t) => t.error,
                None => "the data file is closed".into(),
            })),
        };
        if let Err(StoreError::Disk(e)) = &result {
            self.failed(e);
        }
        result
    }

    /// A read that meets another thread's failed write (redb refuses every
    /// transaction after one until the file is reopened) is tried once more
    /// on the file `with` reopened: the dashboard's reads go on during a
    /// full disk.
    pub fn read<R>(
        &self,
        f: impl Fn(&ReadTransaction) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        match self.with(|db| f(&db.begin_read()?)) {
            Err(StoreError::Disk(_)) => self.with(|db| f(&db.begin_read()?)),
            r => r,
        }
    }

    /// One write transaction: committed whole, or not at all.
    pub fn write<R>(
        &self,
        f: impl FnOnce(&WriteTransaction) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let r = self.with(|db| {
            let tx = db.begin_write()?;
            let r = f(&tx)?;
            tx.commit()?;
            Ok(r)
        })?;
        if let Some(t) = self
            .trouble
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            tracing::info!(file = %self.path.display(), since_ms = t.since_ms, "the data file takes writes again");
        }
        Ok(r)
    }

    fn read_lock(&self) -> std::sync::RwLockReadGuard<'_, Option<Database>> {
        self.db.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn failed(&self, error: &str) {
        {
            let mut t = self.trouble.lock().unwrap_or_else(PoisonError::into_inner);
            match t.as_mut() {
                Some(t) => t.error = error.into(),
                None => {
                    tracing::warn!(file = %self.path.display(), error, "the data file refused a write; levity keeps unsaved data in memory and retries");
                    *t = Some(DiskTrouble {
                        error: error.into(),
                        since_ms: crate::util::now_ms(),
                    });
                }
            }
        }
        self.reopen(true);
    }

    /// Drops the database (redb lets go of the file) and opens it again,
    /// which repairs the last commit where it needs to.
    fn reopen(&self, now: bool) {
        let mut last = self
            .last_reopen
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !now && last.is_some_and(|t| t.elapsed() < REOPEN_EVERY) {
            return;
        }
        *last = Some(Instant::now());
        let mut db = self.db.write().unwrap_or_else(PoisonError::into_inner);
        drop(db.take());
        match builder().open(&self.path) {
            Ok(d) => *db = Some(d),
            Err(e) => {
                tracing::warn!(file = %self.path.display(), error = %e, "cannot reopen the data file yet");
            }
        }
    }
}
