//! Security probes against the data file, its key and its secrets: other
//! local users, damaged or full disks, plaintext at rest.

use super::contains;
use crate::cli::{fails, levity, ok, run, start};
use crate::common::Levity;
use crate::fake::Fake;
use reqwest::Method;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn add_gemini(d: &Path, name: &str, key: &str, extra: &[&str]) {
    let mut args = vec!["account", "add", "gemini", "--api-key", key, "--name", name];
    args.extend_from_slice(extra);
    ok(d, &args);
}

/// Probe 15: Another user on the machine reads nothing: the folder is 0700, the
/// data and key files 0600 (tightened when found looser), and a copy of
/// `levity.redb` with the world-readable machine id does not open without
/// `levity.key`, which levity never silently makes anew.
#[cfg(unix)]
#[test]
fn probe_15_data_files_are_private_and_the_machine_id_is_not_the_key() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    let d = root.path().join("data");
    add_gemini(&d, "mine", "AIzaPROBE15-secret-0001", &[]);
    assert_eq!(mode(&d), 0o700, "data folder");
    assert_eq!(mode(&d.join("levity.redb")), 0o600, "data file");
    assert_eq!(mode(&d.join("levity.key")), 0o600, "key file");

    // Files left open by an older levity are tightened on the next open.
    for p in [d.clone(), d.join("levity.redb"), d.join("levity.key")] {
        let m = if p.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(&p, PermissionsExt::from_mode(m)).unwrap();
    }
    ok(&d, &["account", "list"]);
    assert_eq!(mode(&d.join("levity.redb.bak")), 0o600, "backup");
    assert_eq!(mode(&d), 0o700);
    assert_eq!(mode(&d.join("levity.redb")), 0o600);
    assert_eq!(mode(&d.join("levity.key")), 0o600);

    // What another user could copy: the data file and /etc/machine-id.
    let stolen = root.path().join("stolen");
    std::fs::create_dir(&stolen).unwrap();
    std::fs::copy(d.join("levity.redb"), stolen.join("levity.redb")).unwrap();
    let err = fails(&stolen, &["account", "list", "--json"]);
    assert!(
        err.contains("levity.key") && err.contains("levity.redb") && err.contains("missing"),
        "{err}"
    );
    assert!(
        !stolen.join("levity.key").exists(),
        "a new key file would lock the data away for good"
    );
    // With the key file it is the same install, and opens.
    std::fs::copy(d.join("levity.key"), stolen.join("levity.key")).unwrap();
    assert!(ok(&stolen, &["account", "list"]).contains("mine"));
}

/// A data file as levity wrote it before `levity.key` (schema 4): sealed
/// with the machine id and the salt alone, proxies and the OAuth client
/// secret in plain text.
fn legacy_machine_file(path: &Path, machine: &str) {
    use aes_gcm_siv::aead::{Aead, KeyInit, Payload};
    use sha2::Digest;
    const META: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");
    const ACCOUNTS: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("accounts");
    const SETTINGS: redb::TableDefinition<&str, &str> = redb::TableDefinition::new("settings");
    let salt = [5u8; 16];
    let key: [u8; 32] = sha2::Sha256::new()
        .chain_update(b"levity machine key v1\0")
        .chain_update(machine.as_bytes())
        .chain_update(salt)
        .finalize()
        .into();
    let cipher = aes_gcm_siv::Aes256GcmSiv::new(&key.into());
    let seal = |plain: &[u8], aad: &[u8]| {
        let nonce = [9u8; 12];
        let mut out = nonce.to_vec();
        out.extend(
            cipher
                .encrypt(
                    aes_gcm_siv::Nonce::from_slice(&nonce),
                    Payload { msg: plain, aad },
                )
                .unwrap(),
        );
        out
    };
    let seal_info =
        json!({"mode": "machine", "salt": salt, "check": seal(b"levity key check v1", b"check")});
    let account = json!({
        "id": "acc_legacy", "name": "legacy", "kind": "gemini",
        "base_url": "http://127.0.0.1:9", "models": [], "enabled": true, "created": 1,
        "order": 0, "key_hint": "AIz...0001",
        "proxy": "http://proxyuser:LEGACY-PROXY-PASS@127.0.0.1:3128",
        "sealed_secret": seal(b"AIzaLEGACY-secret-0001", b"acc_legacy"),
    });
    let db = redb::Database::create(path).unwrap();
    let tx = db.begin_write().unwrap();
    {
        let mut meta = tx.open_table(META).unwrap();
        meta.insert("schema_version", 4u32.to_le_bytes().as_slice())
            .unwrap();
        meta.insert("seal", serde_json::to_vec(&seal_info).unwrap().as_slice())
            .unwrap();
        tx.open_table(ACCOUNTS)
            .unwrap()
            .insert(
                "acc_legacy",
                serde_json::to_vec(&account).unwrap().as_slice(),
            )
            .unwrap();
        let mut settings = tx.open_table(SETTINGS).unwrap();
        settings
            .insert("oauth_client_secret", "GOCSPX-LEGACY-client-secret")
            .unwrap();
        settings
            .insert(
                "upstream_proxy",
                "socks5://u:LEGACY-GLOBAL-PASS@127.0.0.1:1080",
            )
            .unwrap();
    }
    tx.commit().unwrap();
}

/// Probe 16: A file sealed before the key file existed still opens, and is moved
/// to the new key (and its plain-text proxies and OAuth secret sealed) in
/// one migration, after a backup; from then on the data file alone does
/// not open.
#[test]
fn probe_16_old_machine_sealed_file_migrates_to_the_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    legacy_machine_file(&d.join("levity.redb"), "machine-a");
    let before = std::fs::read(d.join("levity.redb")).unwrap();
    assert!(
        contains(&before, b"LEGACY-PROXY-PASS"),
        "the fixture is plain"
    );

    let list: Value = serde_json::from_str(&ok(d, &["account", "list", "--json"])).unwrap();
    assert_eq!(list[0]["name"], "legacy", "{list}");
    assert_eq!(list[0]["proxy"], "http://proxyuser:***@127.0.0.1:3128");
    assert!(
        d.join("levity.key").exists(),
        "the migration made the key file"
    );
    assert_eq!(
        std::fs::read(d.join("levity.redb.bak"))
            .ok()
            .map(|b| contains(&b, b"acc_legacy")),
        Some(true),
        "a backup of the old file was written before the migration"
    );
    let after = std::fs::read(d.join("levity.redb")).unwrap();
    for s in [
        "LEGACY-PROXY-PASS",
        "GOCSPX-LEGACY-client-secret",
        "LEGACY-GLOBAL-PASS",
    ] {
        assert!(
            !contains(&after, s.as_bytes()),
            "{s} is still in plain text"
        );
    }
    let shown = ok(d, &["config", "get"]);
    assert!(
        !shown.contains("LEGACY-GLOBAL-PASS") && !shown.contains("GOCSPX-LEGACY"),
        "{shown}"
    );
    assert!(shown.contains("socks5://u:***@127.0.0.1:1080"), "{shown}");

    // The secrets survived the move: unsealed with the new key, they are
    // the originals.
    let data = dir.path().join("levity.redb");
    std::fs::rename(d.join("levity.key"), d.join("kept.key")).unwrap();
    let err = fails(d, &["account", "list"]);
    assert!(err.contains("missing"), "{err}");
    std::fs::rename(d.join("kept.key"), d.join("levity.key")).unwrap();
    // A passphrase re-seals it; the store then hands out the originals.
    let out = levity(d, &["account", "list"])
        .env("LEVITY_PASSPHRASE", "probe 16")
        .output()
        .unwrap();
    assert!(out.status.success());
    let store = levity::store::Store::open(&data, Some("probe 16")).unwrap();
    let acc = &store.accounts().unwrap()[0];
    assert_eq!(acc.secret.expose(), "AIzaLEGACY-secret-0001");
    assert_eq!(
        acc.proxy.as_deref(),
        Some("http://proxyuser:LEGACY-PROXY-PASS@127.0.0.1:3128")
    );
    let settings = store.settings().unwrap();
    assert_eq!(
        settings["oauth_client_secret"],
        "GOCSPX-LEGACY-client-secret"
    );
    assert_eq!(
        settings["upstream_proxy"],
        "socks5://u:LEGACY-GLOBAL-PASS@127.0.0.1:1080"
    );
}

/// Probe 17: Proxy passwords and the OAuth client secret are sealed at rest and
/// shown as hints by every `/api` answer, yet used as given; a form saved
/// with the hint keeps the real value.
#[tokio::test]
async fn probe_17_proxy_passwords_and_oauth_secret_are_sealed() {
    let lev = Levity::start().await;
    let secrets = [
        "PROBE17-acct-proxy-pass",
        "PROBE17-global-pass",
        "GOCSPX-probe17-client-secret",
    ];
    let body = json!({"kind": "gemini", "api_key": "AIzaPROBE17-000000001", "name": "p",
        "base_url": "http://127.0.0.1:9", "proxy": format!("http://puser:{}@127.0.0.1:3128", secrets[0])});
    let (status, added) = lev.admin(Method::POST, "/accounts", Some(body)).await;
    assert_eq!(status, 201, "{added}");
    let (status, put) = lev
        .admin(
            Method::PUT,
            "/config",
            Some(json!({"key": "upstream_proxy", "value": format!("socks5://g:{}@127.0.0.1:1080", secrets[1])})),
        )
        .await;
    assert_eq!(status, 200, "{put}");
    lev.set("oauth_client_secret", secrets[2]).await;
    // Saved back as shown: nothing changes.
    let (status, _) = lev
        .admin(
            Method::PATCH,
            "/accounts/p",
            Some(json!({"proxy": "http://puser:***@127.0.0.1:3128"})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, config) = lev.admin(Method::GET, "/config", None).await;
    let shown_secret = config["oauth_client_secret"].as_str().unwrap().to_string();
    lev.set("oauth_client_secret", &shown_secret).await;

    let mut answers = vec![added, put];
    for path in ["/accounts", "/config", "/status"] {
        answers.push(lev.admin(Method::GET, path, None).await.1);
    }
    for answer in &answers {
        let text = answer.to_string();
        for s in secrets {
            assert!(!text.contains(s), "{s} in an /api answer: {text}");
        }
    }
    assert_eq!(answers[2][0]["proxy"], "http://puser:***@127.0.0.1:3128");
    assert_eq!(
        answers[3]["upstream_proxy"],
        "socks5://g:***@127.0.0.1:1080"
    );
    assert_eq!(answers[3]["oauth_client_secret"], "GOC...cret");

    let dir = lev.stop().await;
    let file = std::fs::read(dir.path().join("levity.redb")).unwrap();
    for s in secrets {
        assert!(!contains(&file, s.as_bytes()), "{s} is in the data file");
        assert!(
            !contains(&file, &s.as_bytes()[4..s.len() - 4]),
            "part of {s} is in the data file"
        );
    }
    // What the proxy and the sign-in use is the real thing.
    let store =
        levity::store::Store::open(&dir.path().join("levity.redb"), Some("test passphrase"))
            .unwrap();
    assert_eq!(
        store.accounts().unwrap()[0].proxy.as_deref(),
        Some(format!("http://puser:{}@127.0.0.1:3128", secrets[0]).as_str())
    );
    let settings = store.settings().unwrap();
    assert_eq!(
        settings["upstream_proxy"],
        format!("socks5://g:{}@127.0.0.1:1080", secrets[1])
    );
    assert_eq!(settings["oauth_client_secret"], secrets[2]);
}

/// A data file worth damaging: accounts, a key, settings; and its folder.
fn real_data_file() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    add_gemini(
        &d,
        "corruption-canary-account-name",
        "AIzaPROBE18-secret-00001",
        &[],
    );
    add_gemini(&d, "second", "AIzaPROBE18-secret-00002", &[]);
    ok(&d, &["key", "create", "--name", "k"]);
    ok(&d, &["config", "set", "max_attempts", "3"]);
    (dir, d)
}

/// A copy of the data folder, the data file's time set far back so any
/// write shows.
fn copy_of(d: &Path, with_key: bool) -> (tempfile::TempDir, PathBuf) {
    let copy = tempfile::tempdir().unwrap();
    let data = copy.path().join("levity.redb");
    std::fs::copy(d.join("levity.redb"), &data).unwrap();
    if with_key {
        std::fs::copy(d.join("levity.key"), copy.path().join("levity.key")).unwrap();
    }
    (copy, data)
}

fn set_old_mtime(path: &Path) -> SystemTime {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
    t
}

/// Runs a command on a damaged copy: it must fail with `expect` in its
/// message, without a crash, and leave the file as it was, byte for byte.
fn refused_untouched(dir: &Path, env: &[(&str, &str)], expect: &[&str]) -> String {
    let data = dir.join("levity.redb");
    let mtime = set_old_mtime(&data);
    let bytes = std::fs::read(&data).unwrap();
    let mut cmd = levity(dir, &["account", "list"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "refused cleanly, no crash: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    for e in expect {
        assert!(err.contains(e), "`{e}` not in: {err}");
    }
    assert!(
        std::fs::read(&data).unwrap() == bytes,
        "the refused file was written to: {err}"
    );
    assert_eq!(
        std::fs::metadata(&data).unwrap().modified().unwrap(),
        mtime,
        "{err}"
    );
    err
}

/// Probe 18: Damaged data files are refused with what to do, never written to and
/// never replaced: wrong key, bytes flipped in the middle, cut in half, 0
/// bytes, a newer schema. The automatic backup restores a damaged one.
#[test]
fn probe_18_damaged_files_are_refused_untouched() {
    let (_keep, d) = real_data_file();
    assert!(
        d.join("levity.redb.bak").exists(),
        "a daily backup exists from the first open"
    );

    // Sealed on another machine.
    let (c, _) = copy_of(&d, true);
    refused_untouched(
        c.path(),
        &[("LEVITY_MACHINE_ID", "machine-b")],
        &["another machine"],
    );

    // Bytes flipped where the account lives (every copy of it).
    let (c, data) = copy_of(&d, true);
    let mut bytes = std::fs::read(&data).unwrap();
    let needle = b"corruption-canary-account-name";
    let mut hits = 0;
    for i in 0..bytes.len() - needle.len() {
        if &bytes[i..i + needle.len()] == needle {
            bytes[i + 10] ^= 0xff;
            bytes[i + 11] ^= 0x55;
            hits += 1;
        }
    }
    assert!(hits > 0, "the account's bytes are in the file");
    std::fs::write(&data, &bytes).unwrap();
    let err = refused_untouched(c.path(), &[], &["levity.redb", "damaged", "backup"]);
    // The server refuses it too, before listening.
    let out = levity(c.path(), &["serve", "--port", "0", "--no-open"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("listening"));

    // Cut in half (a disk that filled during a copy).
    let (c, data) = copy_of(&d, true);
    let len = std::fs::metadata(&data).unwrap().len();
    std::fs::File::options()
        .write(true)
        .open(&data)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    refused_untouched(c.path(), &[], &["levity.redb", "damaged"]);

    // 0 bytes: refused, not replaced by an empty store.
    let (c, data) = copy_of(&d, true);
    std::fs::write(&data, b"").unwrap();
    refused_untouched(c.path(), &[], &["levity.redb", "empty"]);
    assert_eq!(std::fs::metadata(&data).unwrap().len(), 0);

    // Written by a newer levity.
    let (c, data) = copy_of(&d, true);
    {
        const META: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");
        let db = redb::Database::open(&data).unwrap();
        let tx = db.begin_write().unwrap();
        tx.open_table(META)
            .unwrap()
            .insert("schema_version", 99u32.to_le_bytes().as_slice())
            .unwrap();
        tx.commit().unwrap();
    }
    refused_untouched(c.path(), &[], &["newer levity"]);

    // The key file missing: refused, naming both files; none made anew.
    let (c, _) = copy_of(&d, false);
    refused_untouched(c.path(), &[], &["levity.redb", "levity.key", "missing"]);
    assert!(!c.path().join("levity.key").exists());

    // The automatic backup brings a damaged file back.
    let (c, data) = copy_of(&d, true);
    std::fs::write(&data, b"not a data file at all").unwrap();
    std::fs::copy(d.join("levity.redb.bak"), c.path().join("levity.redb.bak")).unwrap();
    let err = refused_untouched(c.path(), &[], &["levity.redb.bak"]);
    std::fs::rename(c.path().join("levity.redb.bak"), &data).unwrap();
    assert!(
        ok(c.path(), &["account", "list"]).contains("corruption-canary-account-name"),
        "{err}"
    );
}

/// The admin token of the server running on `dir`.
fn admin_token(dir: &Path) -> String {
    let file: Value =
        serde_json::from_slice(&std::fs::read(dir.join("levity.server.json")).unwrap()).unwrap();
    file["admin_token"].as_str().unwrap().to_string()
}

async fn get(http: &reqwest::Client, url: &str, token: &str) -> (u16, Value) {
    let resp = http
        .get(url)
        .header("x-levity-admin-token", token)
        .send()
        .await
        .unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
}

/// Probe 19: A full disk does not wedge the server: the real `levity serve`, its
/// files limited to the size they have (RLIMIT_FSIZE, as a full disk
/// refuses growth), keeps proxying and answering the admin API, reports the
/// trouble on `/api/status`, and once the limit is lifted writes everything
/// it held back: no request of that run is missing from the log.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread")]
async fn probe_19_a_full_disk_is_reported_and_survived() {
    use std::os::unix::process::CommandExt;
    let fake = Fake::start().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    add_gemini(
        &d,
        "g",
        "AIzaPROBE19-secret-0001",
        &["--base-url", &fake.url()],
    );
    ok(&d, &["config", "set", "log_bodies", "on"]);
    let limit = std::fs::metadata(d.join("levity.redb")).unwrap().len();
    let mut cmd = levity(&d, &["serve", "--port", "0", "--no-open"]);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            // A write past the limit then fails with EFBIG instead of
            // killing the process, as ENOSPC would.
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let lim = libc::rlimit {
                rlim_cur: limit,
                rlim_max: libc::RLIM_INFINITY,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut server = start(cmd);
    let token = admin_token(&d);
    let http = reqwest::Client::new();
    let big = "x".repeat(200_000);
    let mut sent = 0;
    let chat = |content: String| {
        http.post(format!("{}/v1/chat/completions", server.url))
            .json(&json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": content}]}))
            .send()
    };
    let mut trouble = Value::Null;
    for _ in 0..100 {
        assert_eq!(chat(big.clone()).await.unwrap().status(), 200);
        sent += 1;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (status, v) = get(&http, &format!("{}/api/status", server.url), &token).await;
        assert_eq!(status, 200, "{v}");
        if v["disk"].is_object() {
            trouble = v["disk"].clone();
            break;
        }
    }
    assert!(
        trouble["error"].as_str().is_some_and(|e| !e.is_empty()) && trouble["since_ms"].is_u64(),
        "the data file never filled up, or /api/status did not say so: {trouble}"
    );

    // Meanwhile the admin API reads and the proxy serves.
    for _ in 0..3 {
        let (status, v) = get(&http, &format!("{}/api/accounts", server.url), &token).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v[0]["name"], "g");
        assert_eq!(chat("hi".into()).await.unwrap().status(), 200);
        sent += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Space again.
    let pid = server.child.id() as libc::pid_t;
    let unlimited = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: plain system call on a child process of this test.
    let lifted =
        unsafe { libc::prlimit(pid, libc::RLIMIT_FSIZE, &unlimited, std::ptr::null_mut()) };
    assert_eq!(lifted, 0, "prlimit: {}", std::io::Error::last_os_error());
    let mut cleared = false;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (_, v) = get(&http, &format!("{}/api/status", server.url), &token).await;
        if v["disk"].is_null() {
            cleared = true;
            break;
        }
    }
    assert!(
        cleared,
        "/api/status still reports the disk after space came back"
    );
    let created = http
        .post(format!("{}/api/keys", server.url))
        .header("x-levity-admin-token", &token)
        .json(&json!({"name": "after"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "writes land again");

    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    assert!(server.child.wait().unwrap().success());
    let server = start(levity(&d, &["serve", "--port", "0", "--no-open"]));
    let token = admin_token(&d);
    let (_, log) = get(
        &http,
        &format!("{}/api/requests?limit=2000", server.url),
        &token,
    )
    .await;
    assert_eq!(
        log.as_array().map(Vec::len),
        Some(sent),
        "every request of the full-disk run is in the request log"
    );
}

/// Probe 20: A command waits briefly for another command holding the data file
/// (redb allows one process per file) instead of failing at once, and a
/// passphrase that cannot take effect because a server holds the file is
/// called out.
#[tokio::test(flavor = "multi_thread")]
async fn probe_20_commands_wait_for_the_file_and_say_when_a_passphrase_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    add_gemini(&d, "w", "AIzaPROBE20-secret-0001", &[]);
    // The same lock redb takes, held the way a running command holds it.
    let held = std::fs::File::options()
        .read(true)
        .write(true)
        .open(d.join("levity.redb"))
        .unwrap();
    held.try_lock().unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        drop(held);
    });
    let d2 = d.clone();
    let listed = tokio::task::spawn_blocking(move || run(&d2, &["account", "list"]))
        .await
        .unwrap();
    release.join().unwrap();
    assert!(
        listed.status.success() && String::from_utf8_lossy(&listed.stdout).contains('w'),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );

    let server = start(levity(&d, &["serve", "--port", "0", "--no-open"]));
    let d2 = d.clone();
    let out = tokio::task::spawn_blocking(move || {
        levity(&d2, &["account", "list"])
            .env("LEVITY_PASSPHRASE", "probe 20")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("LEVITY_PASSPHRASE is ignored"), "{err}");
    drop(server);
}
