//! The redb tables and every read and write levity makes to them.

use super::StoreError;
use super::crypto::{SealMode, Sealer, random_bytes};
use super::disk::{Db, DiskTrouble};
use super::types::*;
use crate::util::hex;
use redb::{ReadableTable, TableDefinition};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub(super) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
pub(super) const ACCOUNTS: TableDefinition<&str, &[u8]> = TableDefinition::new("accounts");
pub(super) const KEYS: TableDefinition<&str, &[u8]> = TableDefinition::new("client_keys");
pub(super) const SETTINGS: TableDefinition<&str, &str> = TableDefinition::new("settings");
pub(super) const HEALTH: TableDefinition<&str, &[u8]> = TableDefinition::new("health");
pub(super) const USAGE: TableDefinition<&str, &[u8]> = TableDefinition::new("usage");
/// The request log: `{time_ms:013}-{id}` → the Monitor's entry, oldest first.
pub(super) const REQUESTS: TableDefinition<&str, &[u8]> = TableDefinition::new("requests");
/// Request and response bodies, sealed, under the same keys (only when body
/// logging is on).
pub(super) const BODIES: TableDefinition<&str, &[u8]> = TableDefinition::new("bodies");
/// Every byte-valued table, for the checks, backups and re-sealing of `open.rs`.
pub(super) const BYTE_TABLES: [TableDefinition<&str, &[u8]>; 7] =
    [META, ACCOUNTS, KEYS, HEALTH, USAGE, REQUESTS, BODIES];

/// Bumped whenever a table's layout changes; `Store::open` knows every step.
/// 2: the `health` table. 3: the `usage` table. 4: the request log.
/// 5: proxies and secret settings sealed. 6: the `openai-responses` account
/// kind (nothing to convert; an older levity refuses the file cleanly
/// instead of failing on an account it cannot read).
pub const SCHEMA_VERSION: u32 = 6;

pub struct Store {
    pub(super) db: Db,
    pub(super) sealer: Sealer,
    pub(super) path: PathBuf,
    /// Bytes held in `bodies`; counted on the first log write, then kept.
    pub(super) body_bytes: std::sync::Mutex<Option<u64>>,
}

pub(super) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub(super) fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

impl Store {
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn seal_mode(&self) -> SealMode {
        self.sealer.mode
    }

    /// Why the data file is not taking writes (a full disk), if it is not.
    pub fn disk_trouble(&self) -> Option<DiskTrouble> {
        self.db.trouble()
    }

    /// Seals a blob levity hands to clients to keep (reasoning state), with
    /// the data file's key: opaque to them, and tamper-evident.
    pub fn seal_blob(&self, plain: &[u8]) -> Vec<u8> {
        self.sealer.seal(plain, b"client blob")
    }

    pub fn open_blob(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        self.sealer.unseal(sealed, b"client blob").ok()
    }

    /// Every record of a JSON-valued table.
    pub(super) fn read_all<T: DeserializeOwned>(
        &self,
        def: TableDefinition<&str, &[u8]>,
    ) -> Result<Vec<T>, StoreError> {
        self.db.read(|tx| {
            let table = tx.open_table(def)?;
            let mut out = Vec::new();
            for item in table.iter()? {
                let (_, v) = item?;
                out.push(serde_json::from_slice(v.value())?);
            }
            Ok(out)
        })
    }

    pub(super) fn put<T: Serialize>(
        &self,
        def: TableDefinition<&str, &[u8]>,
        key: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        self.db.write(|tx| {
            tx.open_table(def)?
                .insert(key, serde_json::to_vec(value)?.as_slice())?;
            Ok(())
        })
    }

    /// Reads a table's records and writes one made from them, in one write
    /// transaction (redb runs one at a time): two concurrent adds cannot both
    /// take a name.
    pub(super) fn write_one<R: Serialize + DeserializeOwned>(
        &self,
        def: TableDefinition<&str, &[u8]>,
        make: impl FnOnce(Vec<R>) -> Result<(String, R), StoreError>,
    ) -> Result<R, StoreError> {
        self.db.write(|tx| {
            let mut table = tx.open_table(def)?;
            let mut existing = Vec::new();
            for item in table.iter()? {
                existing.push(serde_json::from_slice(item?.1.value())?);
            }
            let (key, rec) = make(existing)?;
            table.insert(key.as_str(), serde_json::to_vec(&rec)?.as_slice())?;
            Ok(rec)
        })
    }

    pub(super) fn delete(
        &self,
        def: TableDefinition<&str, &[u8]>,
        key: &str,
    ) -> Result<(), StoreError> {
        self.db.write(|tx| {
            tx.open_table(def)?.remove(key)?;
            Ok(())
        })
    }

    fn records(&self) -> Result<Vec<AccountRecord>, StoreError> {
        let mut out: Vec<AccountRecord> = self.read_all(ACCOUNTS)?;
        out.sort_by_key(|r| r.order);
        Ok(out)
    }

    /// Every account with its secret decrypted, in the user's order.
    pub fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.records()?
            .into_iter()
            .map(|r| {
                let secret = self.sealer.unseal(&r.sealed_secret, r.id.as_bytes())?;
                let proxy = self.proxy_of(&r)?;
                Ok(Account {
                    secret: Secret::new(String::from_utf8_lossy(&secret).into_owned()),
                    tier: r.tier.unwrap_or(r.kind.default_tier()),
                    id: r.id,
                    name: r.name,
                    kind: r.kind,
                    base_url: r.base_url,
                    models: r.models,
                    enabled: r.enabled,
                    proxy,
                    project: r.project,
                })
            })
            .collect()
    }

    pub fn account_infos(&self) -> Result<Vec<AccountInfo>, StoreError> {
        Ok(self.records()?.into_iter().map(info_of).collect())
    }

    pub fn add_account(&self, new: NewAccount) -> Result<AccountInfo, StoreError> {
        let api_key = new.api_key.trim();
        if api_key.is_empty() {
            return Err(StoreError::Invalid("--api-key must not be empty".into()));
        }
        let base_url = match new.base_url.as_deref().map(str::trim) {
            Some(url) if !url.is_empty() => checked_url(url)?,
            _ if new.kind.descriptor().needs_base_url => {
                return Err(StoreError::Invalid(format!(
                    "an {} account needs --base-url (the URL up to and including /v1)",
                    new.kind.as_str()
                )));
            }
            _ => new.kind.default_base_url().to_string(),
        };
        let proxy = validate_proxy(new.proxy)?;
        let rec = self.write_one(ACCOUNTS, |existing: Vec<AccountRecord>| {
            let taken: Vec<&str> = existing.iter().map(|r| r.name.as_str()).collect();
            let name = pick_name(new.name, &taken, new.kind.as_str(), "an account")?;
            let id = format!("acc_{}", hex(&random_bytes::<6>()));
            let mut rec = AccountRecord {
                sealed_secret: self.sealer.seal(api_key.as_bytes(), id.as_bytes()),
                key_hint: hint(api_key),
                id,
                name,
                kind: new.kind,
                base_url,
                models: new
                    .models
                    .into_iter()
                    .map(|m| m.trim().to_string())
                    .filter(|m| !m.is_empty())
                    .collect(),
                enabled: true,
                created: now(),
                order: existing.iter().map(|r| r.order + 1).max().unwrap_or(0),
                tier: new.tier,
                proxy: None,
                sealed_proxy: None,
                project: new.project.filter(|p| !p.trim().is_empty()),
            };
            self.set_proxy(&mut rec, proxy.as_deref());
            Ok((rec.id.clone(), rec))
        })?;
        Ok(info_of(rec))
    }

    fn find_account(&self, id_or_name: &str) -> Result<AccountRecord, StoreError> {
        self.records()?
            .into_iter()
            .find(|r| r.id == id_or_name || r.name == id_or_name)
            .ok_or_else(|| StoreError::NotFound {
                what: "account",
                name: id_or_name.into(),
            })
    }

    /// Changes an account's settings (enabled, tier, name, proxy, models).
    pub fn update_account(
        &self,
        id_or_name: &str,
        patch: AccountPatch,
    ) -> Result<AccountInfo, StoreError> {
        let rec = self.write_one(ACCOUNTS, |existing: Vec<AccountRecord>| {
            let names: Vec<String> = existing.iter().map(|r| r.name.clone()).collect();
            let taken: Vec<&str> = names.iter().map(String::as_str).collect();
            let mut rec = existing
                .into_iter()
                .find(|r| r.id == id_or_name || r.name == id_or_name)
                .ok_or_else(|| StoreError::NotFound {
                    what: "account",
                    name: id_or_name.into(),
                })?;
            if let Some(enabled) = patch.enabled {
                rec.enabled = enabled;
            }
            if let Some(tier) = patch.tier {
                rec.tier = Some(tier);
            }
            if let Some(name) = patch
                .name
                .map(|n| n.trim().to_string())
                .filter(|n| *n != rec.name)
            {
                rec.name = pick_name(Some(name), &taken, rec.kind.as_str(), "an account")?;
            }
            // The shown form sent back unchanged keeps the stored proxy.
            if let Some(proxy) = patch.proxy.filter(|p| Some(p) != rec.proxy.as_ref()) {
                self.set_proxy(&mut rec, validate_proxy(Some(proxy))?.as_deref());
            }
            if let Some(url) = patch.base_url {
                rec.base_url = checked_url(url.trim())?;
            }
            if let Some(models) = patch.models {
                rec.models = models
                    .into_iter()
                    .map(|m| m.trim().to_string())
                    .filter(|m| !m.is_empty())
                    .collect();
            }
            Ok((rec.id.clone(), rec))
        })?;
        Ok(info_of(rec))
    }

    /// Replaces an account's secret (a new key, or a new refresh token after
    /// re-authentication).
    pub fn set_secret(&self, id_or_name: &str, secret: &str) -> Result<AccountInfo, StoreError> {
        let mut rec = self.find_account(id_or_name)?;
        rec.sealed_secret = self.sealer.seal(secret.as_bytes(), rec.id.as_bytes());
        rec.key_hint = hint(secret);
        self.put(ACCOUNTS, &rec.id, &rec)?;
        Ok(info_of(rec))
    }

    /// Puts accounts in the given order (ids or names); unlisted ones follow.
    pub fn reorder(&self, ids: &[String]) -> Result<Vec<AccountInfo>, StoreError> {
        let mut records = self.records()?;
        for id in ids {
            if !records.iter().any(|r| &r.id == id || &r.name == id) {
                return Err(StoreError::NotFound {
                    what: "account",
                    name: id.clone(),
                });
            }
        }
        let position = |r: &AccountRecord| {
            ids.iter()
                .position(|i| *i == r.id || *i == r.name)
                .unwrap_or(usize::MAX)
        };
        records.sort_by_key(|r| (position(r), r.order));
        self.db.write(|tx| {
            let mut table = tx.open_table(ACCOUNTS)?;
            for (i, rec) in records.iter_mut().enumerate() {
                rec.order = i as u64;
                table.insert(rec.id.as_str(), serde_json::to_vec(&*rec)?.as_slice())?;
            }
            Ok(())
        })?;
        Ok(records.into_iter().map(info_of).collect())
    }

    fn raw(&self, def: TableDefinition<&str, &[u8]>) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.db.read(|tx| {
            let table = tx.open_table(def)?;
            let mut out = Vec::new();
            for item in table.iter()? {
                let (k, v) = item?;
                out.push((k.value().to_string(), v.value().to_vec()));
            }
            Ok(out)
        })
    }

    /// Replaces a table's content in one transaction.
    fn replace(
        &self,
        def: TableDefinition<&str, &[u8]>,
        entries: &[(String, Vec<u8>)],
    ) -> Result<(), StoreError> {
        self.db.write(|tx| {
            let mut table = tx.open_table(def)?;
            table.retain(|_, _| false)?;
            for (k, v) in entries {
                table.insert(k.as_str(), v.as_slice())?;
            }
            Ok(())
        })
    }

    /// The saved run-time health of every account (cool-downs, breakers, ...).
    pub fn health(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.raw(HEALTH)
    }

    /// Saves run-time health; accounts not listed are dropped.
    pub fn save_health(&self, entries: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        self.replace(HEALTH, entries)
    }

    /// Usage per day, as the dashboard's Usage page keeps it.
    pub fn usage(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.raw(USAGE)
    }

    /// Writes usage rows: all of them when `whole` (rows not listed are
    /// dropped), else only the days and hours that changed.
    pub fn save_usage(&self, rows: &[(String, Vec<u8>)], whole: bool) -> Result<(), StoreError> {
        if whole {
            return self.replace(USAGE, rows);
        }
        self.db.write(|tx| {
            let mut table = tx.open_table(USAGE)?;
            for (k, v) in rows {
                table.insert(k.as_str(), v.as_slice())?;
            }
            Ok(())
        })
    }

    pub fn remove_account(&self, id_or_name: &str) -> Result<AccountInfo, StoreError> {
        let rec = self.find_account(id_or_name)?;
        self.delete(ACCOUNTS, &rec.id)?;
        Ok(info_of(rec))
    }

    /// Every stored setting as text, secrets unsealed; `config::Settings`
    /// gives them types. Users see them through `shown_setting`.
    pub fn settings(&self) -> Result<BTreeMap<String, String>, StoreError> {
        self.db.read(|tx| {
            let table = tx.open_table(SETTINGS)?;
            let mut out = BTreeMap::new();
            for item in table.iter()? {
                let (k, v) = item?;
                let value = self.unseal_setting(k.value(), v.value())?;
                out.insert(k.value().to_string(), value);
            }
            Ok(out)
        })
    }

    /// Sets a setting; an empty value removes it (back to its default).
    /// Secret settings are sealed; their hint, sent back unchanged (a form
    /// saved as shown), keeps the stored value.
    pub fn set_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.db.write(|tx| {
            let mut table = tx.open_table(SETTINGS)?;
            if value.is_empty() {
                table.remove(key)?;
            } else if is_sealed_setting(key) {
                let current = match table.get(key)? {
                    Some(v) => Some(self.unseal_setting(key, v.value())?),
                    None => None,
                };
                if current.is_none_or(|c| shown_setting(key, &c) != value) {
                    table.insert(key, self.seal_setting(key, value).as_str())?;
                }
            } else {
                table.insert(key, value)?;
            }
            Ok(())
        })
    }

    /// A secret setting as stored: `sealed:` and the hex of its ciphertext,
    /// bound to its key.
    pub(super) fn seal_setting(&self, key: &str, value: &str) -> String {
        let aad = format!("setting:{key}");
        format!(
            "{SEALED_PREFIX}{}",
            hex(&self.sealer.seal(value.as_bytes(), aad.as_bytes()))
        )
    }

    fn unseal_setting(&self, key: &str, stored: &str) -> Result<String, StoreError> {
        Ok(unseal_setting_with(&self.sealer, key, stored)?.unwrap_or_else(|| stored.to_string()))
    }

    /// Keeps the proxy sealed, and its shown form (no password) beside it.
    pub(super) fn set_proxy(&self, rec: &mut AccountRecord, proxy: Option<&str>) {
        rec.proxy = proxy.map(shown_proxy);
        rec.sealed_proxy = proxy.map(|p| self.sealer.seal(p.as_bytes(), &proxy_aad(&rec.id)));
    }

    fn proxy_of(&self, rec: &AccountRecord) -> Result<Option<String>, StoreError> {
        match &rec.sealed_proxy {
            Some(sealed) => {
                let plain = self.sealer.unseal(sealed, &proxy_aad(&rec.id))?;
                Ok(Some(String::from_utf8_lossy(&plain).into_owned()))
            }
            None => Ok(rec.proxy.clone()),
        }
    }
}

/// A stored setting's plain text if it is sealed; `None` if it is not.
pub(super) fn unseal_setting_with(
    sealer: &Sealer,
    key: &str,
    stored: &str,
) -> Result<Option<String>, StoreError> {
    let Some(sealed) = stored.strip_prefix(SEALED_PREFIX) else {
        return Ok(None);
    };
    let aad = format!("setting:{key}");
    let bytes = crate::util::from_hex(sealed)
        .ok_or_else(|| StoreError::Db(format!("setting `{key}` is damaged")))?;
    let plain = sealer.unseal(&bytes, aad.as_bytes())?;
    Ok(Some(String::from_utf8_lossy(&plain).into_owned()))
}

pub(super) const SEALED_PREFIX: &str = "sealed:";

pub(super) fn is_sealed_setting(key: &str) -> bool {
    crate::config::table::find(key).is_some_and(|row| row.sealed())
}

/// What users see of a setting: secrets as hints, proxies without their password.
pub fn shown_setting(key: &str, value: &str) -> String {
    match key {
        "upstream_proxy" => shown_proxy(value),
        _ if is_sealed_setting(key) && !value.is_empty() => hint(value),
        _ => value.to_string(),
    }
}

pub(super) fn proxy_aad(id: &str) -> Vec<u8> {
    format!("{id}\0proxy").into_bytes()
}

/// An outbound proxy URL, checked; empty means none.
fn validate_proxy(proxy: Option<String>) -> Result<Option<String>, StoreError> {
    match proxy
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
    {
        None => Ok(None),
        Some(p)
            if ["http://", "https://", "socks5://", "socks5h://"]
                .iter()
                .any(|s| p.starts_with(s)) =>
        {
            Ok(Some(p))
        }
        Some(p) => Err(StoreError::Invalid(format!(
            "proxy `{p}` must start with http://, https://, socks5:// or socks5h://"
        ))),
    }
}

/// The given name, or the first free `{prefix}-N`; a taken name is refused.
pub(super) fn pick_name(
    given: Option<String>,
    taken: &[&str],
    prefix: &str,
    what: &str,
) -> Result<String, StoreError> {
    match given
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
    {
        Some(n) if taken.contains(&n.as_str()) => Err(StoreError::Invalid(format!(
            "{what} named `{n}` exists already; pick another --name"
        ))),
        Some(n) => Ok(n),
        None => Ok((1..)
            .map(|i| format!("{prefix}-{i}"))
            .find(|n| !taken.contains(&n.as_str()))
            .expect("an unused name exists")),
    }
}

fn info_of(r: AccountRecord) -> AccountInfo {
    AccountInfo {
        state: if r.enabled { "active" } else { "disabled" }.into(),
        reason: String::new(),
        tier: r.tier.unwrap_or(r.kind.default_tier()),
        id: r.id,
        name: r.name,
        kind: r.kind,
        base_url: r.base_url,
        models: r.models,
        enabled: r.enabled,
        key_hint: r.key_hint,
        created: r.created,
        proxy: r.proxy,
        project: r.project,
        health: None,
    }
}

/// A provider's base URL as stored: http(s), no trailing slash.
fn checked_url(url: &str) -> Result<String, StoreError> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(StoreError::Invalid(format!(
            "--base-url must start with http:// or https://, got `{url}`"
        )));
    }
    Ok(url.trim_end_matches('/').to_string())
}
