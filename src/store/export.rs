//! `levity export` / `levity import`: the shared tables (accounts with their
//! secrets, client keys as hashes, shared settings and mappings) in one file
//! sealed with a passphrase the user gives, for another install to merge.
//! The file is JSON: what the passphrase's key was derived with (argon2 salt
//! and a check value, as a passphrase-sealed data file records), and the
//! rows sealed with AES-256-GCM-SIV. Nothing in it is readable without the
//! passphrase.

use super::crypto::{KeySource, SealInfo, Sealer};
use super::portable::{Rows, Shared};
use super::{Store, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Binds the sealed rows to this format.
const AAD: &[u8] = b"levity export v1";
/// A passphrase shorter than this is refused: the file holds every key.
pub const MIN_PASSPHRASE: usize = 8;

#[derive(Serialize, Deserialize)]
struct File {
    levity_export: u32,
    seal: SealInfo,
    /// Hex of the sealed rows.
    rows: String,
}

/// What an import did.
#[derive(Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Imported {
    pub accounts_added: usize,
    pub accounts_updated: usize,
    pub keys_added: usize,
    pub keys_updated: usize,
    pub settings: usize,
    /// Imported accounts and keys renamed because this install has another
    /// by that name: (old, new).
    pub renamed: Vec<(String, String)>,
}

type Tables = BTreeMap<Shared, BTreeMap<String, String>>;

impl Store {
    /// Every shared row, sealed with `passphrase`.
    pub fn export_sealed(&self, passphrase: &str) -> Result<Vec<u8>, StoreError> {
        if passphrase.chars().count() < MIN_PASSPHRASE {
            return Err(StoreError::Invalid(format!(
                "the export's passphrase needs at least {MIN_PASSPHRASE} characters: the file holds every account's key"
            )));
        }
        let mut tables = Tables::new();
        for table in Shared::ALL {
            let rows = self.portable_rows(table)?;
            let rows = rows
                .into_iter()
                .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
                .collect();
            tables.insert(table, rows);
        }
        let (sealer, seal) = Sealer::create(KeySource::Passphrase(passphrase))?;
        let sealed = sealer.seal(&serde_json::to_vec(&tables)?, AAD);
        let file = File {
            levity_export: 1,
            seal,
            rows: crate::util::hex(&sealed),
        };
        Ok(serde_json::to_vec_pretty(&file)?)
    }

    /// Merges an export into this file: rows by id (an account or key that
    /// is here already is updated), settings set. An account or key whose
    /// name another one here has is renamed. Nothing changes unless the
    /// whole file opens.
    pub fn import_sealed(&self, bytes: &[u8], passphrase: &str) -> Result<Imported, StoreError> {
        let not_export = || StoreError::Invalid("this is not a levity export file".into());
        let file: File = serde_json::from_slice(bytes).map_err(|_| not_export())?;
        if file.levity_export != 1 {
            return Err(StoreError::Invalid(format!(
                "this export is format {}, newer than this levity reads (1): update levity",
                file.levity_export
            )));
        }
        let sealer = Sealer::open(&file.seal, Some(passphrase), None).map_err(|_| {
            StoreError::Invalid(
                "the passphrase does not match the one this export was sealed with".into(),
            )
        })?;
        let sealed = crate::util::from_hex(&file.rows).ok_or_else(not_export)?;
        let plain = sealer.unseal(&sealed, AAD).map_err(|_| not_export())?;
        let mut tables: Tables = serde_json::from_slice(&plain).map_err(|_| not_export())?;
        let mut report = Imported::default();
        let mut changes = Vec::new();
        for (table, path) in [(Shared::Accounts, "/record/name"), (Shared::Keys, "/name")] {
            let rows = tables.remove(&table).unwrap_or_default();
            let here = self.portable_rows(table)?;
            let merged = merge_named(rows, &here, path)?;
            let rows = merged.rows.into_iter().map(|(k, v)| (k, Some(v))).collect();
            changes.push((table, rows));
            report.renamed.extend(merged.renamed);
            let counts = (merged.added, merged.updated);
            match table {
                Shared::Accounts => (report.accounts_added, report.accounts_updated) = counts,
                _ => (report.keys_added, report.keys_updated) = counts,
            }
        }
        let settings: Vec<_> = tables
            .remove(&Shared::Settings)
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, v)| crate::config::Settings::validate(k, v).is_ok())
            .map(|(k, v)| (k, Some(v.into_bytes())))
            .collect();
        report.settings = settings.len();
        changes.push((Shared::Settings, settings));
        // One transaction: a failure (a full disk) leaves this file as it was.
        self.apply_rows(&changes)?;
        Ok(report)
    }
}

/// Rows of one table to write: a name another row here has gets a suffix.
struct Merged {
    rows: Vec<(String, Vec<u8>)>,
    /// (old, new) names.
    renamed: Vec<(String, String)>,
    added: usize,
    updated: usize,
}

fn merge_named(
    rows: BTreeMap<String, String>,
    here: &Rows,
    name_at: &str,
) -> Result<Merged, StoreError> {
    let name_of = |v: &serde_json::Value| {
        v.pointer(name_at)
            .and_then(|n| n.as_str())
            .map(str::to_string)
    };
    let mut taken: BTreeSet<String> = BTreeSet::new();
    for (id, row) in here {
        if !rows.contains_key(id)
            && let Some(name) = name_of(&serde_json::from_slice(row)?)
        {
            taken.insert(name);
        }
    }
    let (mut added, mut updated) = (0, 0);
    let mut out = Vec::new();
    let mut renamed = Vec::new();
    for (id, row) in rows {
        let mut value: serde_json::Value = serde_json::from_str(&row)?;
        if here.contains_key(&id) {
            updated += 1;
        } else {
            added += 1;
        }
        if let Some(name) = name_of(&value) {
            let mut new = name.clone();
            let mut n = 1;
            while taken.contains(&new) {
                new = if n == 1 {
                    format!("{name}-imported")
                } else {
                    format!("{name}-imported-{n}")
                };
                n += 1;
            }
            if new != name {
                *value.pointer_mut(name_at).expect("named") = serde_json::json!(new);
                renamed.push((name, new.clone()));
            }
            taken.insert(new);
        }
        out.push((id, serde_json::to_vec(&value)?));
    }
    Ok(Merged {
        rows: out,
        renamed,
        added,
        updated,
    })
}
