//! `levity serve`: open the store, bind, announce, serve until stopped.

use super::paths::{DATA_FILE, ServerFile, Storage};
use crate::cli::ServeArgs;
use crate::config::parse_host;
use crate::server::{AppState, serve as run_server};
use crate::store::{SealMode, Store, StoreError, random_bytes};
use crate::util::hex;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

pub async fn serve(
    dir: &Path,
    storage: Storage,
    passphrase: Option<&str>,
    args: ServeArgs,
) -> Result<(), String> {
    let data_file = dir.join(DATA_FILE);
    let created = !data_file.exists();
    let store = Store::open(&data_file, passphrase).map_err(|e| match e {
        StoreError::AlreadyOpen(path) => match ServerFile::read(dir) {
            Some(s) => format!(
                "levity is already running at {} with {}",
                s.url,
                path.display()
            ),
            None => format!("{} is in use by another levity process", path.display()),
        },
        other => other.to_string(),
    })?;
    // Flags win for this run; else what the dashboard last chose.
    let saved = store.settings().map_err(|e| e.to_string())?;
    let host = args
        .host
        .clone()
        .or_else(|| saved.get("listen_host").cloned())
        .unwrap_or_else(|| "127.0.0.1".into());
    let ip: IpAddr =
        parse_host(&host).ok_or_else(|| format!("--host must be an IP address, got `{host}`"))?;
    let port = args
        .port
        .or_else(|| saved.get("listen_port").and_then(|p| p.parse().ok()))
        .unwrap_or(8045);
    let exposed = !ip.is_loopback();
    let keys = store.keys().map_err(|e| e.to_string())?;
    if exposed && keys.is_empty() {
        return Err(format!(
            "refusing to listen on {ip} without a client key: anyone on the network could use \
             your accounts. Create one first with `levity key create`, or listen on 127.0.0.1"
        ));
    }
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(ip, port))
        .await
        .map_err(|e| format!("cannot listen on {ip}:{port}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let url = format!("http://{addr}");
    let local = loopback_url(addr);
    let admin_token = hex(&random_bytes::<24>());
    let seal = store.seal_mode();
    let redis = args
        .redis
        .clone()
        .or_else(|| saved.get("redis_url").cloned())
        .filter(|u| !u.trim().is_empty());
    let state =
        Arc::new(AppState::new(store, addr, admin_token.clone()).map_err(|e| e.to_string())?);
    let cluster = match &redis {
        Some(url) => Some(crate::cluster::Cluster::join(
            &state,
            url.trim(),
            passphrase,
        )?),
        None => None,
    };
    let token = admin_token;
    let server_file = move |local: String| ServerFile {
        url: local,
        pid: std::process::id(),
        admin_token: token.clone(),
    };
    let announced = server_file(local.clone());
    announced.write(dir).map_err(|e| {
        format!(
            "cannot write {}: {e}",
            dir.join(super::paths::SERVER_FILE).display()
        )
    })?;
    // When the dashboard moves the server, the CLI must find it there.
    let moved_dir = dir.to_path_buf();
    let _ = state.on_move.set(Box::new(move |addr| {
        let file = server_file(loopback_url(addr));
        if let Err(e) = file.write(&moved_dir) {
            tracing::warn!(error = %e, "cannot update the server file after a move");
        }
    }));

    println!("levity {} listening on {url}", env!("CARGO_PKG_VERSION"));
    println!(
        "  data file: {} (sealed to {})",
        data_file.display(),
        match seal {
            SealMode::Machine => "this machine",
            SealMode::Passphrase => "LEVITY_PASSPHRASE",
        }
    );
    if storage == Storage::Build {
        println!(
            "  (this levity runs from a cargo build folder, so its data lives in your user data \
             folder, out of reach of `cargo clean`)"
        );
    }
    if created {
        println!(
            "  {}",
            match storage {
                Storage::Portable =>
                    "new data file beside the executable (portable): the whole folder can move; \
                                  set LEVITY_PASSPHRASE once to open it on another machine",
                Storage::Installed =>
                    "new data file in your user data folder: the folder beside levity is not writable",
                Storage::Build => "new data file in your user data folder",
                Storage::Chosen =>
                    "new data file in the folder you chose (--data-dir / LEVITY_HOME)",
            }
        );
    }
    if let Some(c) = &cluster {
        println!(
            "  cluster: {} as instance {} (shares accounts, keys, settings, rests and limits)",
            c.shown_url, c.id
        );
    }
    println!("  OpenAI SDK: base_url={url}/v1");
    // The dashboard's address carries the admin token: printed only when no
    // browser is opened for it (it then reaches the user's terminal only).
    let opened = !args.no_open
        && has_display()
        && announced
            .open_dashboard(dir)
            .inspect_err(|e| tracing::debug!(error = %e, "could not open a browser"))
            .is_ok();
    if opened {
        println!("  dashboard: opened in your browser (again with `levity open`)");
    } else {
        println!("  dashboard: {}", announced.dashboard_url());
    }
    println!("  stop with Ctrl-C");

    let result = run_server(state, listener, shutdown_signal()).await;
    ServerFile::remove(dir);
    result.map_err(|e| format!("server failed: {e}"))
}

/// Other levity commands connect over loopback, whatever address we listen on.
fn loopback_url(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => format!("http://127.0.0.1:{}", addr.port()),
        IpAddr::V6(v6) if v6.is_unspecified() => format!("http://[::1]:{}", addr.port()),
        _ => format!("http://{addr}"),
    }
}

/// A desktop session to open a browser in; servers and CI have none.
fn has_display() -> bool {
    if cfg!(any(target_os = "macos", windows)) {
        return true;
    }
    std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    tracing::info!("shutting down");
}
