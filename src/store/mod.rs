//! The one place that touches redb: tables, schema migrations and the
//! encryption of secrets. Everything levity keeps lives in `levity.redb`.

mod crypto;
mod tables;
mod types;

pub use crypto::{SealMode, random_bytes};
pub use tables::{LogBatch, Store};
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
    #[error("data file error: {0}")]
    Db(String),
}

macro_rules! db_error {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Db(e.to_string())
            }
        }
    )*};
}
db_error!(
    redb::Error,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    serde_json::Error
);
