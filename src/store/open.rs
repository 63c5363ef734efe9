//! Opening the data file. Nothing is written to a file levity cannot read:
//! the whole file is first checked through a copy-on-write view (redb's
//! integrity check, the schema version, the key, every table read once),
//! and only a file that passed is opened for real, backed up if a migration
//! is due, migrated and re-sealed in one transaction.

use super::StoreError;
use super::crypto::{KeySource, SealInfo, SealMode, Sealer};
use super::disk::{Db, builder};
use super::files::{self, Paths};
use super::overlay::Overlay;
use super::requests::BODY_AAD;
use super::tables::*;
use super::types::AccountRecord;
use redb::{
    Database, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction,
};
use std::path::Path;
use std::time::Duration;

/// How old the automatic backup may grow before it is written again.
const BACKUP_EVERY: Duration = Duration::from_secs(86_400);

/// What the check of an existing file found.
struct Checked {
    version: u32,
    seal: Option<SealInfo>,
    sealer: Option<Sealer>,
    /// The view the check read, for the backup before a migration.
    view: Database,
    /// redb rolled back a commit that failed its checksums.
    repaired: bool,
}

impl Store {
    /// Opens (or creates) the data file, checks it, migrates it and proves
    /// the key. A file that fails is refused, untouched, with what to do.
    pub fn open(path: &Path, passphrase: Option<&str>) -> Result<Store, StoreError> {
        let paths = Paths::of(path);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            files::prepare_dir(dir)?;
        }
        let (file, fresh) = files::open_data(path)?;
        let checked = if fresh {
            None
        } else {
            Some(check(&file, &paths, passphrase)?)
        };
        let (version, seal) = match &checked {
            Some(c) => (c.version, c.seal.as_ref()),
            None => (0, None),
        };
        // The key from now on: the file's own, or a new one when the file
        // has none yet, moves to a passphrase, or predates the key file.
        let new_key = match (seal, passphrase) {
            (Some(info), Some(pass)) if info.mode == SealMode::Machine => {
                Some(Sealer::create(KeySource::Passphrase(pass))?)
            }
            (Some(info), _) if info.mode == SealMode::Passphrase || info.key_file => None,
            (_, Some(pass)) => Some(Sealer::create(KeySource::Passphrase(pass))?),
            (_, None) => {
                let install = match files::read_key(&paths)? {
                    Some(k) => k,
                    None => files::create_key(&paths)?,
                };
                Some(Sealer::create(KeySource::Machine(&install))?)
            }
        };
        let migrate = version < SCHEMA_VERSION || new_key.is_some();
        let repaired = checked.as_ref().is_some_and(|c| c.repaired);
        if let Some(c) = &checked
            && migrate
        {
            backup(&c.view.begin_read()?, &paths).map_err(|e| {
                StoreError::Disk(format!(
                    "{} needs a migration, and the backup before it could not be written ({e}); \
                     nothing was changed",
                    path.display()
                ))
            })?;
        }
        let (sealer, old_sealer, new_seal) = match (checked, new_key) {
            (Some(c), Some((new, info))) => (new, c.sealer, Some(info)),
            (Some(c), None) => (
                c.sealer.expect("a sealed file's key was proven"),
                None,
                None,
            ),
            (None, Some((new, info))) => (new, None, Some(info)),
            (None, None) => unreachable!("a new file always gets a new key"),
        };

        file.unlock().ok();
        let mut db = builder().create_file(file).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StoreError::AlreadyOpen(path.into()),
            other => StoreError::Db(format!("cannot open {}: {other}", path.display())),
        })?;
        if repaired {
            // The check rolled a damaged last commit back in its view; do the
            // same to the file, as that view was what passed.
            db.check_integrity()
                .map_err(|e| StoreError::Db(format!("cannot repair {}: {e}", path.display())))?;
        }
        let store = Store {
            db: Db::new(db, path),
            sealer,
            path: path.into(),
            body_bytes: std::sync::Mutex::new(None),
        };
        if migrate {
            store.migrate(version, old_sealer.as_ref(), new_seal.as_ref())?;
        }
        // A new file has nothing to keep yet.
        if let Some(e) = (!fresh)
            .then(|| store.backup_if_due())
            .and_then(Result::err)
        {
            tracing::warn!(error = %e, "cannot write the automatic backup");
        }
        Ok(store)
    }

    /// Writes `levity.redb.bak` when the last one is a day old or missing.
    pub fn backup_if_due(&self) -> Result<(), StoreError> {
        let paths = Paths::of(&self.path);
        let age = std::fs::metadata(&paths.backup)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok());
        if age.is_some_and(|a| a < BACKUP_EVERY) {
            return Ok(());
        }
        self.db.read(|tx| backup(tx, &paths))
    }

    /// Brings the file to SCHEMA_VERSION and its new key in one transaction:
    /// whole or not at all. `old` is the key the secrets are sealed with
    /// now, when `seal` replaces it.
    fn migrate(
        &self,
        from: u32,
        old: Option<&Sealer>,
        seal: Option<&SealInfo>,
    ) -> Result<(), StoreError> {
        self.db.write(|tx| {
            {
                let mut meta = tx.open_table(META)?;
                if let Some(info) = seal {
                    meta.insert("seal", serde_json::to_vec(info)?.as_slice())?;
                }
                meta.insert("schema_version", SCHEMA_VERSION.to_le_bytes().as_slice())?;
            }
            if let Some(old) = old {
                self.reseal(tx, old)?;
            }
            if (1..2).contains(&from) {
                number_accounts(tx)?;
            }
            if from < 5 {
                self.seal_plain_secrets(tx)?;
            }
            // Creating every table up front lets readers assume they exist.
            for def in BYTE_TABLES {
                tx.open_table(def)?;
            }
            tx.open_table(SETTINGS)?;
            Ok(())
        })
    }

    /// Re-encrypts every sealed value from `old` to this store's key.
    fn reseal(&self, tx: &WriteTransaction, old: &Sealer) -> Result<(), StoreError> {
        let mut accounts = tx.open_table(ACCOUNTS)?;
        let mut records = Vec::new();
        for item in accounts.iter()? {
            records.push(serde_json::from_slice::<AccountRecord>(item?.1.value())?);
        }
        for mut rec in records {
            let plain = old.unseal(&rec.sealed_secret, rec.id.as_bytes())?;
            rec.sealed_secret = self.sealer.seal(&plain, rec.id.as_bytes());
            if let Some(sealed) = &rec.sealed_proxy {
                let plain = old.unseal(sealed, &proxy_aad(&rec.id))?;
                rec.sealed_proxy = Some(self.sealer.seal(&plain, &proxy_aad(&rec.id)));
            }
            accounts.insert(rec.id.as_str(), serde_json::to_vec(&rec)?.as_slice())?;
        }
        let mut bodies = tx.open_table(BODIES)?;
        let mut resealed = Vec::new();
        for item in bodies.iter()? {
            let (k, v) = item?;
            let plain = old.unseal(v.value(), BODY_AAD)?;
            resealed.push((k.value().to_string(), self.sealer.seal(&plain, BODY_AAD)));
        }
        for (k, v) in resealed {
            bodies.insert(k.as_str(), v.as_slice())?;
        }
        let mut settings = tx.open_table(SETTINGS)?;
        let mut resealed = Vec::new();
        for item in settings.iter()? {
            let (k, v) = item?;
            if let Some(plain) = unseal_setting_with(old, k.value(), v.value())? {
                resealed.push((k.value().to_string(), plain));
            }
        }
        for (k, plain) in resealed {
            settings.insert(k.as_str(), self.seal_setting(&k, &plain).as_str())?;
        }
        Ok(())
    }

    /// Schema 4 → 5: proxies (which may hold a password) and secret
    /// settings were kept in plain text; they are sealed now.
    fn seal_plain_secrets(&self, tx: &WriteTransaction) -> Result<(), StoreError> {
        let mut accounts = tx.open_table(ACCOUNTS)?;
        let mut records = Vec::new();
        for item in accounts.iter()? {
            let rec = serde_json::from_slice::<AccountRecord>(item?.1.value())?;
            if rec.proxy.is_some() && rec.sealed_proxy.is_none() {
                records.push(rec);
            }
        }
        for mut rec in records {
            let plain = rec.proxy.clone();
            self.set_proxy(&mut rec, plain.as_deref());
            accounts.insert(rec.id.as_str(), serde_json::to_vec(&rec)?.as_slice())?;
        }
        let mut settings = tx.open_table(SETTINGS)?;
        let mut plain = Vec::new();
        for item in settings.iter()? {
            let (k, v) = item?;
            if is_sealed_setting(k.value()) && !v.value().starts_with(SEALED_PREFIX) {
                plain.push((k.value().to_string(), v.value().to_string()));
            }
        }
        for (k, v) in plain {
            settings.insert(k.as_str(), self.seal_setting(&k, &v).as_str())?;
        }
        Ok(())
    }
}

/// Checks an existing file without writing to it, and proves its key.
fn check(
    file: &std::fs::File,
    paths: &Paths,
    passphrase: Option<&str>,
) -> Result<Checked, StoreError> {
    let path = paths.data.display();
    let damaged = |what: String| {
        let restore = if paths.backup.exists() {
            format!(
                "restore the automatic backup (move {} over it) or one of your own",
                paths.backup.display()
            )
        } else {
            "restore it from a backup".to_string()
        };
        StoreError::Damaged(format!(
            "{path} is damaged ({what}); levity left it untouched. Keep a copy of it, then \
             {restore}, or move it away to start with an empty data file"
        ))
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len == 0 {
        return Err(damaged("it is empty: 0 bytes".into()));
    }
    let mut handle = file
        .try_clone()
        .map_err(|e| StoreError::Db(format!("cannot read {path}: {e}")))?;
    super::overlay::header_fits(&mut handle).map_err(damaged)?;
    let view =
        Overlay::new(handle).map_err(|e| StoreError::Db(format!("cannot read {path}: {e}")))?;
    let mut view = builder()
        .create_with_backend(view)
        .map_err(|e| damaged(format!("not a levity data file, or cut short: {e}")))?;
    let repaired = match view.check_integrity() {
        Ok(clean) => !clean,
        Err(e) => {
            // redb 3.1 panics dropping a database whose check failed (its
            // drop commits while recovery is pending); the view holds only
            // memory and a file handle, and levity stops on this error.
            std::mem::forget(view);
            return Err(damaged(format!("integrity check: {e}")));
        }
    };
    if repaired {
        tracing::warn!(file = %path, "the data file's last change failed its checksums; it opens as it was one change earlier");
    }
    let tx = view.begin_read().map_err(|e| damaged(e.to_string()))?;
    let (version, seal) = read_meta(&tx).map_err(|e| damaged(format!("meta table: {e}")))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::Invalid(format!(
            "{path} was written by a newer levity (schema {version}); upgrade levity to open it"
        )));
    }
    let sealer = match &seal {
        Some(info) => {
            let install = if info.mode == SealMode::Machine && info.key_file {
                Some(files::read_key(paths)?.ok_or_else(|| {
                    StoreError::Sealed(format!(
                        "{path} is sealed with the install key in {key}, and {key} is missing: put \
                         back the {key} that belongs to it (from where you keep your backup of \
                         the data file); levity will not make a new one, as that would lock the \
                         data away for good",
                        key = paths.key.display()
                    ))
                })?)
            } else {
                None
            };
            Some(Sealer::open(info, passphrase, install.as_ref())?)
        }
        None => None,
    };
    read_every_table(&tx, sealer.as_ref()).map_err(|e| damaged(e.to_string()))?;
    drop(tx);
    Ok(Checked {
        version,
        seal,
        sealer,
        view,
        repaired,
    })
}

fn read_meta(tx: &ReadTransaction) -> Result<(u32, Option<SealInfo>), StoreError> {
    let meta = match tx.open_table(META) {
        Ok(m) => m,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok((0, None)),
        Err(e) => return Err(e.into()),
    };
    let version = match meta.get("schema_version")? {
        Some(v) => u32::from_le_bytes(
            v.value()
                .try_into()
                .map_err(|_| StoreError::Db("schema_version is not 4 bytes".into()))?,
        ),
        None => 0,
    };
    let seal = match meta.get("seal")? {
        Some(v) => Some(serde_json::from_slice(v.value())?),
        None => None,
    };
    Ok((version, seal))
}

/// Reads every entry once, so damage surfaces now rather than inside a
/// request; account secrets are unsealed to prove them whole.
fn read_every_table(tx: &ReadTransaction, sealer: Option<&Sealer>) -> Result<(), StoreError> {
    for def in BYTE_TABLES {
        visit(tx, def, |_, _| Ok(()))?;
    }
    visit(tx, SETTINGS, |_, _| Ok(()))?;
    visit(tx, ACCOUNTS, |_, v| {
        let rec: serde_json::Value = serde_json::from_slice(v)?;
        let id = rec["id"].as_str().unwrap_or_default();
        let sealed: Vec<u8> = serde_json::from_value(rec["sealed_secret"].clone())?;
        match sealer {
            Some(s) => s.unseal(&sealed, id.as_bytes()).map(drop),
            None => Err(StoreError::Db("accounts without a seal".into())),
        }
    })
}

/// Calls `f` on every entry of a table that exists.
fn visit<V: redb::Value + 'static>(
    tx: &ReadTransaction,
    def: TableDefinition<&str, V>,
    mut f: impl FnMut(&str, V::SelfType<'_>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let table = match tx.open_table(def) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    for item in table.iter()? {
        let (k, v) = item?;
        f(k.value(), v.value())?;
    }
    Ok(())
}

/// Copies every table to a fresh file beside the data file, then puts it in
/// place of `levity.redb.bak` (0600, sealed with the same key).
fn backup(tx: &ReadTransaction, paths: &Paths) -> Result<(), StoreError> {
    files::replace_private(&paths.backup, |file| {
        let copied = (|| {
            let out = builder()
                .create_file(file)
                .map_err(|e| StoreError::Disk(e.to_string()))?;
            let w = out.begin_write()?;
            for def in BYTE_TABLES {
                copy(tx, &w, def)?;
            }
            copy(tx, &w, SETTINGS)?;
            // redb syncs the file as it commits.
            w.commit()?;
            Ok::<_, StoreError>(())
        })();
        copied.map_err(std::io::Error::other)
    })
    .map_err(|e| StoreError::Disk(format!("cannot write {}: {e}", paths.backup.display())))
}

fn copy<V: redb::Value + 'static>(
    from: &ReadTransaction,
    to: &WriteTransaction,
    def: TableDefinition<&str, V>,
) -> Result<(), StoreError> {
    let mut out = to.open_table(def)?;
    visit(from, def, |k, v| {
        out.insert(k, v)?;
        Ok(())
    })
}

/// Schema 1 → 2: accounts gained a user-chosen order; they keep the order
/// they were added in.
fn number_accounts(tx: &WriteTransaction) -> Result<(), StoreError> {
    let mut table = tx.open_table(ACCOUNTS)?;
    let mut records: Vec<(String, serde_json::Value)> = Vec::new();
    for item in table.iter()? {
        let (k, v) = item?;
        records.push((k.value().to_string(), serde_json::from_slice(v.value())?));
    }
    records.sort_by_key(|(id, r)| (r["created"].as_u64().unwrap_or(0), id.clone()));
    for (i, (id, mut rec)) in records.into_iter().enumerate() {
        if rec.get("order").is_none() {
            rec["order"] = serde_json::json!(i);
            table.insert(id.as_str(), serde_json::to_vec(&rec)?.as_slice())?;
        }
    }
    Ok(())
}
