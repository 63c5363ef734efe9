//! The files around the data: the folder and file kept private to their
//! owner, the install secret in the key file, and the names of both beside
//! `levity.redb`.

use super::StoreError;
use super::crypto::random_bytes;
use crate::util::hex;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The data file and the files levity keeps beside it.
pub struct Paths {
    pub data: PathBuf,
    /// The install secret: `levity.key` beside `levity.redb`.
    pub key: PathBuf,
    /// The automatic backup: `levity.redb.bak`.
    pub backup: PathBuf,
}

impl Paths {
    pub fn of(data: &Path) -> Paths {
        let mut backup = data.as_os_str().to_owned();
        backup.push(".bak");
        Paths {
            data: data.into(),
            key: data.with_extension("key"),
            backup: backup.into(),
        }
    }
}

/// Creates the data folder readable by its owner only, or tightens an
/// existing one. Shared folders (sticky, like /tmp) are left alone: the
/// files inside are private on their own.
pub fn prepare_dir(dir: &Path) -> Result<(), StoreError> {
    if !dir.exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        return builder
            .create(dir)
            .map_err(|e| StoreError::Db(format!("cannot create {}: {e}", dir.display())));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)
            .map(|m| m.permissions().mode())
            .unwrap_or(0);
        if mode & 0o077 != 0 && mode & 0o1000 == 0 {
            match std::fs::set_permissions(dir, PermissionsExt::from_mode(mode & 0o700)) {
                Ok(()) => tracing::info!(
                    dir = %dir.display(),
                    "made the data folder private to its owner (it was open to other users)"
                ),
                Err(e) => tracing::warn!(
                    dir = %dir.display(),
                    error = %e,
                    "the data folder is open to other users and cannot be tightened"
                ),
            }
        }
    }
    Ok(())
}

/// Makes an existing file readable and writable by its owner only.
fn tighten(path: &Path, file: &File) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let Ok(mode) = file.metadata().map(|m| m.permissions().mode()) else {
            return;
        };
        if mode & 0o077 != 0 {
            match file.set_permissions(PermissionsExt::from_mode(0o600)) {
                Ok(()) => tracing::info!(
                    file = %path.display(),
                    "made the file private to its owner (0600; other users could read it)"
                ),
                Err(e) => tracing::warn!(
                    file = %path.display(),
                    error = %e,
                    "the file is readable by other users and cannot be tightened"
                ),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (path, file);
}

/// Options for a new file only its owner can read.
fn private() -> OpenOptions {
    let mut opts = OpenOptions::new();
    opts.read(true).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts
}

/// Opens the data file and takes redb's lock on it (the same exclusive lock
/// redb takes), so it can be checked before redb opens it. `true` when the
/// file was created now.
pub(super) fn open_data(path: &Path) -> Result<(File, bool), StoreError> {
    let cannot = |e: std::io::Error| StoreError::Db(format!("cannot open {}: {e}", path.display()));
    let (file, fresh) = match private().create_new(true).open(path) {
        Ok(f) => (f, true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .map_err(cannot)?;
            tighten(path, &f);
            (f, false)
        }
        Err(e) => return Err(cannot(e)),
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Err(StoreError::AlreadyOpen(path.into())),
        Err(std::fs::TryLockError::Error(e)) if e.kind() == std::io::ErrorKind::Unsupported => {}
        Err(std::fs::TryLockError::Error(e)) => return Err(cannot(e)),
    }
    Ok((file, fresh))
}

/// The install secret, if the key file exists.
pub(super) fn read_key(paths: &Paths) -> Result<Option<[u8; 32]>, StoreError> {
    let mut file = match OpenOptions::new().read(true).open(&paths.key) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(StoreError::Sealed(format!(
                "cannot read the key file {}: {e}",
                paths.key.display()
            )));
        }
    };
    tighten(&paths.key, &file);
    let mut text = String::new();
    std::io::Read::read_to_string(&mut file, &mut text).ok();
    crate::util::from_hex(text.trim())
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .map(Some)
        .ok_or_else(|| {
            StoreError::Sealed(format!(
                "the key file {} is damaged (it should hold 64 hex digits): put back the copy \
                 that belongs to {}",
                paths.key.display(),
                paths.data.display()
            ))
        })
}

/// Writes a new install secret, whole or not at all, before any data is
/// sealed with it.
pub(super) fn create_key(paths: &Paths) -> Result<[u8; 32], StoreError> {
    let secret = random_bytes::<32>();
    write_private(&paths.key, format!("{}\n", hex(&secret)).as_bytes()).map_err(|e| {
        StoreError::Disk(format!(
            "cannot write the key file {}: {e}",
            paths.key.display()
        ))
    })?;
    tracing::info!(file = %paths.key.display(), "created the install key; back it up with the data file");
    Ok(secret)
}

/// Makes a rename in `path`'s folder durable.
pub(super) fn sync_dir(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Writes `body` as the whole of `path`, readable by its owner only
/// (`replace_private`).
pub fn write_private(path: &Path, body: &[u8]) -> std::io::Result<()> {
    replace_private(path, |mut file| {
        file.write_all(body)?;
        file.sync_all()
    })
}

/// Replaces `path` whole with what `fill` writes into a new file beside it,
/// readable by its owner only; `fill` syncs it. The file is renamed into
/// place and the rename synced: a crash leaves the old content or the new,
/// never half; and a file someone else made there (or left open to others)
/// is replaced, not written into.
pub(super) fn replace_private(
    path: &Path,
    fill: impl FnOnce(File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut part = path.as_os_str().to_owned();
    part.push(".levity-part");
    let part = PathBuf::from(part);
    let _ = std::fs::remove_file(&part);
    let written = (|| {
        fill(private().create_new(true).open(&part)?)?;
        std::fs::rename(&part, path)?;
        sync_dir(path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    written
}

/// A new file only its owner can read, never one that exists already.
pub fn create_private(path: &Path) -> std::io::Result<File> {
    private().create_new(true).open(path)
}
