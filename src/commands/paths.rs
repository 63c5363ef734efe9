//! Where levity keeps its data, and the small runtime file a running server
//! leaves beside it so other `levity` commands can find it.

use crate::store::{DataPaths, write_private};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const DATA_FILE: &str = "levity.redb";
pub const SERVER_FILE: &str = "levity.server.json";
/// A page that forwards the browser to the dashboard with the admin token,
/// so the token never appears in the browser's command line.
pub const OPEN_FILE: &str = "levity.open.html";

/// Why the data lives where it does; the dashboard explains it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// `--data-dir` or `LEVITY_HOME`.
    Chosen,
    /// Beside the executable: the folder can move (a USB stick, an archive).
    Portable,
    /// The per-user data folder: the executable's folder is not writable.
    Installed,
    /// The per-user data folder: the executable sits in a cargo build folder,
    /// which `cargo clean` (and `make clean`) empties.
    Build,
}

impl Storage {
    pub fn as_str(self) -> &'static str {
        match self {
            Storage::Chosen => "chosen",
            Storage::Portable => "portable",
            Storage::Installed => "installed",
            Storage::Build => "build",
        }
    }
}

/// The data folder: `--data-dir` / `LEVITY_HOME`; else beside the executable
/// (portable use) when that folder is writable and not a cargo build folder;
/// else the per-user data folder.
pub fn data_dir(explicit: Option<&Path>) -> (PathBuf, Storage) {
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf));
    choose(explicit, exe_dir.as_deref(), dirs::data_dir().as_deref())
}

fn choose(
    explicit: Option<&Path>,
    exe_dir: Option<&Path>,
    user_data: Option<&Path>,
) -> (PathBuf, Storage) {
    if let Some(dir) = explicit {
        return (dir.to_path_buf(), Storage::Chosen);
    }
    let user = user_data
        .map(|d| d.join("levity"))
        .unwrap_or_else(|| PathBuf::from("."));
    match exe_dir {
        Some(dir) if in_build_folder(dir) => (user, Storage::Build),
        Some(dir) if writable(dir) => (dir.to_path_buf(), Storage::Portable),
        _ => (user, Storage::Installed),
    }
}

/// Whether `dir` is inside a cargo target folder (`target/release`,
/// `target/<triple>/debug`, `target/debug/deps`, a custom
/// `CARGO_TARGET_DIR`): cargo marks the folder's root with a `CACHEDIR.TAG`
/// naming itself, the convention backup tools skip (bford.info/cachedir).
pub fn in_build_folder(dir: &Path) -> bool {
    dir.ancestors().take(4).any(|d| {
        std::fs::read_to_string(d.join("CACHEDIR.TAG")).is_ok_and(|tag| {
            tag.starts_with("Signature: 8a477f597d28d172789f06886806bc55") && tag.contains("cargo")
        })
    })
}

/// The files an earlier levity left in the build folder (the data file, its
/// key and its backup) move to `dir`, unless `dir` already has a data file or
/// a server still runs on the old one: the accounts they hold would otherwise
/// go with the next `cargo clean`. Returns where they came from.
pub fn adopt_from_build_folder(dir: &Path) -> Result<Option<PathBuf>, String> {
    let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    else {
        return Ok(None);
    };
    let old = exe_dir.join(DATA_FILE);
    if !old.is_file() || dir.join(DATA_FILE).exists() || exe_dir.join(SERVER_FILE).exists() {
        return Ok(None);
    }
    crate::store::prepare_dir(dir).map_err(|e| e.to_string())?;
    let cannot =
        |e: std::io::Error| format!("cannot move {} to {}: {e}", old.display(), dir.display());
    // The data file last: once it is in place the move is done, and a move
    // cut short is finished by the next start.
    let (from, to) = (DataPaths::of(&old), DataPaths::of(&dir.join(DATA_FILE)));
    for (from, to) in [
        (from.key, to.key),
        (from.backup, to.backup),
        (from.data, to.data),
    ] {
        if from.is_file() && !to.exists() {
            move_file(&from, &to).map_err(cannot)?;
        }
    }
    Ok(Some(old))
}

fn move_file(from: &Path, to: &Path) -> std::io::Result<()> {
    if std::fs::rename(from, to).is_ok() {
        return Ok(());
    }
    // Another file system: a copy under a temporary name, synced, then
    // renamed into place, so a crash leaves either no file or all of it.
    let mut part = to.as_os_str().to_owned();
    part.push(".part");
    std::fs::copy(from, &part)?;
    std::fs::File::open(&part)?.sync_all()?;
    std::fs::rename(&part, to)?;
    std::fs::remove_file(from)
}

fn writable(dir: &Path) -> bool {
    if dir.join(DATA_FILE).exists() {
        return std::fs::OpenOptions::new()
            .append(true)
            .open(dir.join(DATA_FILE))
            .is_ok();
    }
    let probe = dir.join(".levity-write-probe");
    let ok = std::fs::write(&probe, b"").is_ok();
    let _ = std::fs::remove_file(&probe);
    ok
}

/// What a running server tells other levity commands about itself.
#[derive(Serialize, Deserialize, Debug)]
pub struct ServerFile {
    pub url: String,
    pub pid: u32,
    pub admin_token: String,
}

impl ServerFile {
    /// Written readable by the owner only: it holds the admin token.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        let body = serde_json::to_vec_pretty(self).expect("serializable");
        write_private(&dir.join(SERVER_FILE), &body)
    }

    /// The dashboard's address with the admin token in the fragment, which
    /// browsers never send in a request.
    pub fn dashboard_url(&self) -> String {
        format!("{}/#token={}", self.url, self.admin_token)
    }

    /// Opens the dashboard in the browser through `OPEN_FILE` (as Jupyter
    /// does): the browser's command line names only the file.
    pub fn open_dashboard(&self, dir: &Path) -> std::io::Result<()> {
        let target = self.dashboard_url();
        let page = format!(
            "<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=\"0;url={target}\">\
             <title>levity</title><a href=\"{target}\">Open the levity dashboard</a>\n"
        );
        let path = dir.join(OPEN_FILE);
        write_private(&path, page.as_bytes())?;
        open::that_detached(&path)
    }

    pub fn read(dir: &Path) -> Option<ServerFile> {
        let body = std::fs::read(dir.join(SERVER_FILE)).ok()?;
        serde_json::from_slice(&body).ok()
    }

    pub fn remove(dir: &Path) {
        let _ = std::fs::remove_file(dir.join(SERVER_FILE));
        let _ = std::fs::remove_file(dir.join(OPEN_FILE));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What cargo writes at a target folder's root.
    const CARGO_TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
        # This file is a cache directory tag created by cargo.\n\
        # For information about cache directory tags see https://bford.info/cachedir/\n";

    #[test]
    fn the_data_folder_follows_where_the_executable_is() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        let user = r.join("user");
        let pick = |exe: &Path| choose(None, Some(exe), Some(&user));
        std::fs::create_dir_all(r.join("target/x86_64-unknown-linux-musl/release")).unwrap();
        std::fs::create_dir_all(r.join("usb/levity")).unwrap();
        std::fs::write(r.join("target/CACHEDIR.TAG"), CARGO_TAG).unwrap();

        for exe in ["target", "target/x86_64-unknown-linux-musl/release"] {
            assert_eq!(
                pick(&r.join(exe)),
                (user.join("levity"), Storage::Build),
                "{exe}"
            );
        }
        assert_eq!(
            pick(&r.join("usb/levity")),
            (r.join("usb/levity"), Storage::Portable)
        );
        // A cache tag another tool wrote is not a cargo build folder.
        std::fs::write(
            r.join("usb/CACHEDIR.TAG"),
            "Signature: 8a477f597d28d172789f06886806bc55\n",
        )
        .unwrap();
        assert_eq!(pick(&r.join("usb/levity")).1, Storage::Portable);
        assert_eq!(
            choose(Some(&r.join("mine")), Some(&r.join("target")), Some(&user)),
            (r.join("mine"), Storage::Chosen)
        );
    }
}
