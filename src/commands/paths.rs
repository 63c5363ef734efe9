//! Where levity keeps its data, and the small runtime file a running server
//! leaves beside it so other `levity` commands can find it.

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
}

impl Storage {
    pub fn as_str(self) -> &'static str {
        match self {
            Storage::Chosen => "chosen",
            Storage::Portable => "portable",
            Storage::Installed => "installed",
        }
    }
}

/// The data folder: `--data-dir` / `LEVITY_HOME`; else beside the executable
/// (portable use) when that folder is writable; else the per-user data folder.
pub fn data_dir(explicit: Option<&Path>) -> (PathBuf, Storage) {
    if let Some(dir) = explicit {
        return (dir.to_path_buf(), Storage::Chosen);
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .filter(|dir| writable(dir))
    {
        return (dir, Storage::Portable);
    }
    let dir = dirs::data_dir()
        .map(|d| d.join("levity"))
        .unwrap_or_else(|| PathBuf::from("."));
    (dir, Storage::Installed)
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

/// Writes `body` readable by the owner only. A file that already existed
/// (left by a crash, made by someone else) is tightened before its new
/// content goes in: `mode` applies only to files it creates.
fn write_private(path: &Path, body: &[u8]) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut file = opts.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    std::io::Write::write_all(&mut file, body)
}
