//! The one place that touches redb: tables, schema migrations and the
//! encryption of secrets. Everything levity keeps lives in `levity.redb`,
//! sealed with a key made in part from the install secret in `levity.key`.

mod crypto;
mod disk;
mod export;
mod files;
mod keys;
mod open;
mod overlay;
mod portable;
mod requests;
mod tables;
mod types;

pub use crypto::{KeySource, SealInfo, SealMode, Sealer, random_bytes};
pub use disk::DiskTrouble;
pub use export::{Imported, MIN_PASSPHRASE};
pub use files::{Paths as DataPaths, create_private, prepare_dir, write_private};
pub use portable::{Change as RowChange, Rows, Shared};
pub use requests::LogBatch;
pub use tables::{Store, shown_setting};
pub use types::*;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} is in use by another levity process")]
    AlreadyOpen(PathBuf),
    #[error("{0}")]
    Sealed(String),
    #[error("no such {what}: {name}")]
    NotFound { what: &'static str, name: String },
    #[error("{0}")]
    Invalid(String),
    /// The file cannot be read as a levity data file; nothing was written to it.
    #[error("{0}")]
    Damaged(String),
    /// Reading or writing the file failed (a full disk, a size limit, EIO).
    #[error("the data file cannot be written or read: {0}; free disk space, levity retries")]
    Disk(String),
    #[error("data file error: {0}")]
    Db(String),
}

/// redb's I/O failures become `Disk`, so the store can recover from them.
fn storage(e: redb::StorageError) -> StoreError {
    match e {
        redb::StorageError::Io(_) | redb::StorageError::PreviousIo => {
            StoreError::Disk(e.to_string())
        }
        other => StoreError::Db(other.to_string()),
    }
}

impl From<redb::StorageError> for StoreError {
    fn from(e: redb::StorageError) -> Self {
        storage(e)
    }
}

impl From<redb::TransactionError> for StoreError {
    fn from(e: redb::TransactionError) -> Self {
        match e {
            redb::TransactionError::Storage(s) => storage(s),
            other => StoreError::Db(other.to_string()),
        }
    }
}

impl From<redb::CommitError> for StoreError {
    fn from(e: redb::CommitError) -> Self {
        match e {
            redb::CommitError::Storage(s) => storage(s),
            other => StoreError::Db(other.to_string()),
        }
    }
}

impl From<redb::TableError> for StoreError {
    fn from(e: redb::TableError) -> Self {
        match e {
            redb::TableError::Storage(s) => storage(s),
            other => StoreError::Db(other.to_string()),
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Db(e.to_string())
    }
}
