//! The shared tables (accounts, client keys, shared settings) as rows any
//! install can take: secrets in plain text, so the caller seals them with a
//! key of its own (cluster mode seals them with the cluster's key before
//! they reach Redis). Rows taken back are sealed again with this file's key.

use super::StoreError;
use super::tables::{ACCOUNTS, KEYS, META, SETTINGS, Store, is_sealed_setting, proxy_aad};
use super::types::AccountRecord;
use redb::ReadableTable;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A table whose rows are shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shared {
    Accounts,
    Keys,
    Settings,
}

impl Shared {
    pub const ALL: [Shared; 3] = [Shared::Accounts, Shared::Keys, Shared::Settings];

    pub fn as_str(self) -> &'static str {
        match self {
            Shared::Accounts => "accounts",
            Shared::Keys => "keys",
            Shared::Settings => "settings",
        }
    }
}

/// A table's rows: key → portable bytes (JSON, secrets in plain text).
pub type Rows = BTreeMap<String, Vec<u8>>;

/// An account as another install can take it.
#[derive(Serialize, Deserialize)]
struct PortableAccount {
    record: AccountRecord,
    secret: String,
    sealed_proxy: Option<String>,
}

/// A row's change: the new bytes, or `None` to remove it.
pub type Change = (String, Option<Vec<u8>>);

const BASE: &str = "cluster_base";

impl Store {
    /// Every row of a shared table in portable form. Settings a row of the
    /// settings table marks per-instance (`shared: false`) are left out.
    pub fn portable_rows(&self, table: Shared) -> Result<Rows, StoreError> {
        let mut out = Rows::new();
        match table {
            Shared::Accounts => {
                for rec in self.read_all::<AccountRecord>(ACCOUNTS)? {
                    let secret = self.sealer.unseal(&rec.sealed_secret, rec.id.as_bytes())?;
                    let proxy = match &rec.sealed_proxy {
                        Some(p) => Some(self.sealer.unseal(p, &proxy_aad(&rec.id))?),
                        None => None,
                    };
                    let id = rec.id.clone();
                    let row = PortableAccount {
                        record: AccountRecord {
                            sealed_secret: Vec::new(),
                            sealed_proxy: None,
                            ..rec
                        },
                        secret: String::from_utf8_lossy(&secret).into_owned(),
                        sealed_proxy: proxy.map(|p| String::from_utf8_lossy(&p).into_owned()),
                    };
                    out.insert(id, serde_json::to_vec(&row)?);
                }
            }
            Shared::Keys => {
                out = self.db.read(|tx| {
                    let mut rows = Rows::new();
                    for item in tx.open_table(KEYS)?.iter()? {
                        let (k, v) = item?;
                        rows.insert(k.value().to_string(), v.value().to_vec());
                    }
                    Ok(rows)
                })?;
            }
            Shared::Settings => {
                for (k, v) in self.settings()? {
                    if crate::config::table::find(&k).is_none_or(|row| row.shared) {
                        out.insert(k, v.into_bytes());
                    }
                }
            }
        }
        Ok(out)
    }

    /// Applies changes to the shared tables in one transaction, sealing
    /// secrets with this file's key: readers see all of them or none (an
    /// account never arrives before the setting it needs). A row that does
    /// not parse is refused before anything is written.
    pub fn apply_rows(&self, changes: &[(Shared, Vec<Change>)]) -> Result<(), StoreError> {
        // Rows as this file stores them, made before the write begins.
        let mut stored: Vec<(Shared, Vec<Change>)> = Vec::with_capacity(changes.len());
        for (table, rows) in changes {
            let mut out = Vec::with_capacity(rows.len());
            for (key, row) in rows {
                let value = match row {
                    None => None,
                    Some(bytes) => Some(self.stored_row(*table, key, bytes)?),
                };
                out.push((key.clone(), value));
            }
            stored.push((*table, out));
        }
        self.db.write(|tx| {
            for (table, rows) in &stored {
                let def = match table {
                    Shared::Accounts => ACCOUNTS,
                    Shared::Keys => KEYS,
                    Shared::Settings => {
                        let mut t = tx.open_table(SETTINGS)?;
                        for (key, value) in rows {
                            match value {
                                None => t.remove(key.as_str())?,
                                Some(v) => {
                                    t.insert(key.as_str(), String::from_utf8_lossy(v).as_ref())?
                                }
                            };
                        }
                        continue;
                    }
                };
                let mut t = tx.open_table(def)?;
                for (key, value) in rows {
                    match value {
                        None => t.remove(key.as_str())?,
                        Some(v) => t.insert(key.as_str(), v.as_slice())?,
                    };
                }
            }
            Ok(())
        })
    }

    /// A portable row as this file stores it: secrets sealed with its key.
    fn stored_row(&self, table: Shared, key: &str, bytes: &[u8]) -> Result<Vec<u8>, StoreError> {
        Ok(match table {
            Shared::Accounts => {
                let p: PortableAccount = serde_json::from_slice(bytes)?;
                if p.record.id != key {
                    return Err(StoreError::Invalid(format!(
                        "account row `{key}` names another id"
                    )));
                }
                let mut rec = p.record;
                rec.sealed_secret = self.sealer.seal(p.secret.as_bytes(), rec.id.as_bytes());
                rec.sealed_proxy = p
                    .sealed_proxy
                    .map(|u| self.sealer.seal(u.as_bytes(), &proxy_aad(&rec.id)));
                serde_json::to_vec(&rec)?
            }
            Shared::Keys => {
                serde_json::from_slice::<super::types::KeyRecord>(bytes)?;
                bytes.to_vec()
            }
            Shared::Settings => {
                let value = String::from_utf8_lossy(bytes);
                if is_sealed_setting(key) {
                    self.seal_setting(key, &value)
                } else {
                    value.into_owned()
                }
                .into_bytes()
            }
        })
    }

    /// What the shared tables held at the last agreement with the cluster,
    /// and the cluster epoch it was made in (sealed: it holds secrets).
    pub fn cluster_base(&self) -> Result<(String, BTreeMap<Shared, Rows>), StoreError> {
        let sealed = self
            .db
            .read(|tx| Ok(tx.open_table(META)?.get(BASE)?.map(|v| v.value().to_vec())))?;
        let Some(sealed) = sealed else {
            return Ok(Default::default());
        };
        let plain = self.sealer.unseal(&sealed, BASE.as_bytes())?;
        Ok(serde_json::from_slice(&plain)?)
    }

    pub fn save_cluster_base(
        &self,
        epoch: &str,
        base: &BTreeMap<Shared, Rows>,
    ) -> Result<(), StoreError> {
        let plain = serde_json::to_vec(&(epoch, base))?;
        let sealed = self.sealer.seal(&plain, BASE.as_bytes());
        self.db.write(|tx| {
            tx.open_table(META)?.insert(BASE, sealed.as_slice())?;
            Ok(())
        })
    }
}
