//! Client keys in the data file: only their SHA-256 and their limits.

use super::StoreError;
use super::crypto::random_bytes;
use super::tables::{KEYS, Store, now, pick_name, sha256};
use super::types::{CreatedKey, KeyHash, KeyInfo, KeyLimits, KeyRecord, hint};
use crate::util::hex;

impl Store {
    fn key_records(&self) -> Result<Vec<KeyRecord>, StoreError> {
        let mut out: Vec<KeyRecord> = self.read_all(KEYS)?;
        out.sort_by(|a, b| (a.info.created, &a.info.name).cmp(&(b.info.created, &b.info.name)));
        Ok(out)
    }

    pub fn keys(&self) -> Result<Vec<KeyInfo>, StoreError> {
        Ok(self.key_records()?.into_iter().map(|r| r.info).collect())
    }

    /// SHA-256 and name of every client key, for the proxy's constant-time check.
    pub fn key_hashes(&self) -> Result<Vec<KeyHash>, StoreError> {
        Ok(self
            .key_records()?
            .into_iter()
            .map(|r| (r.sha256, std::sync::Arc::new(r.info)))
            .collect())
    }

    pub fn create_key(
        &self,
        name: Option<String>,
        limits: KeyLimits,
    ) -> Result<CreatedKey, StoreError> {
        limits.check().map_err(StoreError::Invalid)?;
        let key = format!("sk-lev-{}", hex(&random_bytes::<24>()));
        let rec = self.write_one(KEYS, |existing: Vec<KeyRecord>| {
            let taken: Vec<&str> = existing.iter().map(|r| r.info.name.as_str()).collect();
            let rec = KeyRecord {
                info: KeyInfo {
                    id: format!("key_{}", hex(&random_bytes::<6>())),
                    name: pick_name(name, &taken, "key", "a key")?,
                    hint: hint(&key),
                    created: now(),
                    limits,
                },
                sha256: sha256(key.as_bytes()),
            };
            Ok((rec.info.id.clone(), rec))
        })?;
        Ok(CreatedKey {
            info: rec.info,
            key,
        })
    }

    fn find_key(&self, id_or_name: &str) -> Result<KeyRecord, StoreError> {
        self.key_records()?
            .into_iter()
            .find(|r| r.info.id == id_or_name || r.info.name == id_or_name)
            .ok_or_else(|| StoreError::NotFound {
                what: "client key",
                name: id_or_name.into(),
            })
    }

    /// Replaces a client key's limits.
    pub fn set_key_limits(
        &self,
        id_or_name: &str,
        limits: KeyLimits,
    ) -> Result<KeyInfo, StoreError> {
        limits.check().map_err(StoreError::Invalid)?;
        let mut rec = self.find_key(id_or_name)?;
        rec.info.limits = limits;
        self.put(KEYS, &rec.info.id, &rec)?;
        Ok(rec.info)
    }

    pub fn revoke_key(&self, id_or_name: &str) -> Result<KeyInfo, StoreError> {
        let rec = self.find_key(id_or_name)?;
        self.delete(KEYS, &rec.info.id)?;
        Ok(rec.info)
    }
}
