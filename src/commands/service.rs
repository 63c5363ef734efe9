//! `levity service install|uninstall`: start levity at login, as a
//! user-level systemd unit (Linux) or launchd agent (macOS); on Windows, the
//! command that registers a logon task is printed for the user to run.

use crate::cli::ServiceCmd;
use std::path::{Path, PathBuf};
use std::process::Command;

const LABEL: &str = "dev.levity";

fn home() -> Result<PathBuf, String> {
    dirs::home_dir().ok_or_else(|| "no home folder to install a user service in".to_string())
}

fn run(cmd: &str, args: &[&str]) {
    match Command::new(cmd).args(args).status() {
        Ok(s) if s.success() => {}
        Ok(s) => eprintln!("`{cmd} {}` exited with {s}", args.join(" ")),
        Err(e) => eprintln!("could not run `{cmd}`: {e}"),
    }
}

/// The unit file that runs `exe serve` on `dir`.
pub fn systemd_unit(exe: &Path, dir: &Path) -> String {
    format!(
        "[Unit]\nDescription=levity, a local AI gateway\nAfter=network-online.target\n\n[Service]\n\
         ExecStart=\"{}\" serve --no-open --data-dir \"{}\"\nRestart=on-failure\nRestartSec=3\n\n[Install]\nWantedBy=default.target\n",
        exe.display(),
        dir.display()
    )
}

/// The launchd agent that runs `exe serve` on `dir`.
pub fn launchd_plist(exe: &Path, dir: &Path) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
         <plist version=\"1.0\"><dict>\n  <key>Label</key><string>{LABEL}</string>\n  <key>ProgramArguments</key><array>\n    \
         <string>{}</string><string>serve</string><string>--no-open</string><string>--data-dir</string><string>{}</string>\n  </array>\n  \
         <key>RunAtLoad</key><true/>\n  <key>KeepAlive</key><true/>\n</dict></plist>\n",
        exe.display(),
        dir.display()
    )
}

fn windows_command(exe: &Path, dir: &Path) -> String {
    format!(
        "schtasks /Create /SC ONLOGON /TN levity /TR \"\\\"{}\\\" serve --no-open --data-dir \\\"{}\\\"\"",
        exe.display(),
        dir.display()
    )
}

pub fn service(dir: &Path, cmd: ServiceCmd) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let (file, body) = if cfg!(target_os = "macos") {
        (
            home()?
                .join("Library/LaunchAgents")
                .join(format!("{LABEL}.plist")),
            launchd_plist(&exe, &dir),
        )
    } else if cfg!(windows) {
        match cmd {
            ServiceCmd::Install { .. } => println!(
                "Run this once to start levity at logon:\n  {}",
                windows_command(&exe, &dir)
            ),
            ServiceCmd::Uninstall => println!(
                "Run this to stop starting levity at logon:\n  schtasks /Delete /TN levity /F"
            ),
        }
        return Ok(());
    } else {
        let config = dirs::config_dir().ok_or("no user configuration folder")?;
        (
            config.join("systemd/user/levity.service"),
            systemd_unit(&exe, &dir),
        )
    };
    match cmd {
        ServiceCmd::Install { dry_run: true } => {
            println!("# {}\n{body}", file.display());
        }
        ServiceCmd::Install { dry_run: false } => {
            std::fs::create_dir_all(file.parent().expect("a folder")).map_err(|e| e.to_string())?;
            std::fs::write(&file, body)
                .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
            if cfg!(target_os = "macos") {
                run("launchctl", &["load", "-w", &file.to_string_lossy()]);
            } else {
                run("systemctl", &["--user", "daemon-reload"]);
                run(
                    "systemctl",
                    &["--user", "enable", "--now", "levity.service"],
                );
            }
            println!(
                "installed {}: levity now starts at login with {}",
                file.display(),
                dir.display()
            );
        }
        ServiceCmd::Uninstall => {
            if cfg!(target_os = "macos") {
                run("launchctl", &["unload", "-w", &file.to_string_lossy()]);
            } else {
                run(
                    "systemctl",
                    &["--user", "disable", "--now", "levity.service"],
                );
            }
            match std::fs::remove_file(&file) {
                Ok(()) => println!("removed {}", file.display()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    println!("no levity service was installed")
                }
                Err(e) => return Err(format!("cannot remove {}: {e}", file.display())),
            }
        }
    }
    Ok(())
}
