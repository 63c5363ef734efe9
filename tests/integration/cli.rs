//! The real `levity` binary: commands on a stopped data file, the same
//! commands through a running server, secrets at rest, and portability.

use crate::fake::Fake;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Output, Stdio};

pub(crate) fn levity(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_levity"));
    cmd.args(args)
        .env("LEVITY_HOME", dir)
        .env("LEVITY_MACHINE_ID", "machine-a")
        .env_remove("LEVITY_PASSPHRASE")
        .env("LEVITY_LOG", "warn");
    cmd
}

pub(crate) fn run(dir: &Path, args: &[&str]) -> Output {
    levity(dir, args).output().unwrap()
}

pub(crate) fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert!(
        out.status.success(),
        "levity {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub(crate) fn fails(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert!(!out.status.success(), "levity {args:?} should fail");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn version_and_help() {
    let dir = tempfile::tempdir().unwrap();
    assert!(ok(dir.path(), &["--version"]).contains(env!("CARGO_PKG_VERSION")));
    let help = ok(dir.path(), &["help"]);
    for word in ["serve", "account", "key", "config"] {
        assert!(help.contains(word), "{help}");
    }
}

/// `levity account list | grep -q gemini` (the benchmark's readiness check):
/// a reader that stops early ends the command quietly, as it does `ls`, not
/// with "failed printing to stdout: Broken pipe" and an abort.
#[cfg(unix)]
#[test]
fn output_into_a_closed_pipe_ends_the_command_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &[
            "account",
            "add",
            "gemini",
            "--api-key",
            "AIzaPIPE-0000000001",
        ],
    );
    let mut child = levity(d, &["account", "list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader is gone before the command prints anything.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGPIPE),
        "{:?}: {stderr}",
        out.status
    );
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn accounts_keys_and_settings_offline() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &[
            "account",
            "add",
            "gemini",
            "--api-key",
            "AIzaSyOFFLINE-0000-1111",
            "--name",
            "work",
            "--project",
            "team-project",
        ],
    );
    ok(
        d,
        &[
            "account",
            "add",
            "openai",
            "--api-key",
            "sk-ds-secret-9999",
            "--base-url",
            "https://api.deepseek.com/v1",
            "--models",
            "deepseek-chat,deepseek-reasoner",
        ],
    );
    ok(
        d,
        &[
            "account",
            "add",
            "anthropic",
            "--api-key",
            "sk-ant-secret-7777",
        ],
    );
    let err = fails(d, &["account", "add", "openai", "--api-key", "k"]);
    assert!(err.contains("--base-url"), "{err}");
    let err = fails(
        d,
        &[
            "account",
            "add",
            "gemini",
            "--api-key",
            "AIza-other-key-123",
            "--name",
            "work",
        ],
    );
    assert!(err.contains("exists already"), "{err}");

    let list: Value = serde_json::from_str(&ok(d, &["account", "list", "--json"])).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list[0]["name"], "work");
    assert_eq!(
        list[0]["base_url"],
        "https://generativelanguage.googleapis.com"
    );
    assert_eq!(
        list[1]["models"],
        json!(["deepseek-chat", "deepseek-reasoner"])
    );
    assert_eq!(list[2]["base_url"], "https://api.anthropic.com");
    assert_eq!(list[0]["key_hint"], "AIz...1111");
    assert_eq!(
        list[0]["project"], "team-project",
        "keys of one project share its quota"
    );
    let table = ok(d, &["account", "list"]);
    assert!(
        table.contains("work") && table.contains("AIz...1111") && !table.contains("OFFLINE"),
        "{table}"
    );
    ok(d, &["account", "remove", "work"]);
    assert!(fails(d, &["account", "remove", "work"]).contains("no such account"));

    // OpenAI's Responses API is `--wire responses`; `chat` stays the default.
    ok(
        d,
        &[
            "account",
            "add",
            "openai",
            "--wire",
            "responses",
            "--api-key",
            "sk-proj-secret-5555",
            "--base-url",
            "https://api.openai.com/v1",
            "--models",
            "gpt-5-codex",
            "--name",
            "codex",
        ],
    );
    let list: Value = serde_json::from_str(&ok(d, &["account", "list", "--json"])).unwrap();
    let kinds: Vec<(&str, &str)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["name"].as_str().unwrap(), a["kind"].as_str().unwrap()))
        .collect();
    assert!(kinds.contains(&("codex", "openai-responses")), "{kinds:?}");
    assert!(kinds.contains(&("openai-1", "openai")), "{kinds:?}");
    let err = fails(
        d,
        &[
            "account",
            "add",
            "openai",
            "--wire",
            "grpc",
            "--api-key",
            "k",
            "--base-url",
            "https://h/v1",
        ],
    );
    assert!(err.contains("responses"), "{err}");
    ok(d, &["account", "remove", "codex"]);

    let key = ok(d, &["key", "create", "--name", "laptop"])
        .trim()
        .to_string();
    assert!(key.starts_with("sk-") && key.len() > 40, "{key}");
    let keys: Value = serde_json::from_str(&ok(d, &["key", "list", "--json"])).unwrap();
    assert_eq!(keys[0]["name"], "laptop");
    assert!(!ok(d, &["key", "list"]).contains(&key));
    ok(d, &["key", "revoke", "laptop"]);
    assert_eq!(ok(d, &["key", "list", "--json"]).trim(), "[]");

    ok(
        d,
        &["config", "set", "model_map.gpt-4o*", "gemini-2.5-flash"],
    );
    ok(d, &["config", "set", "request_timeout_secs", "30"]);
    assert_eq!(
        ok(d, &["config", "get", "request_timeout_secs"]).trim(),
        "30"
    );
    assert_eq!(
        ok(d, &["config", "get", "model_map"]).trim(),
        "model_map.gpt-4o* = gemini-2.5-flash"
    );
    assert!(ok(d, &["config", "get"]).contains("max_attempts = 5"));
    assert!(fails(d, &["config", "set", "max_attempts", "lots"]).contains("whole number"));
    assert!(fails(d, &["config", "set", "colour", "blue"]).contains("known settings"));
}

/// Neither an account's API key nor a client key appears anywhere in the data file.
#[test]
fn secrets_are_not_in_the_data_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let api_key = "AIzaSyGREP-ME-IF-YOU-CAN-0123456789";
    ok(d, &["account", "add", "gemini", "--api-key", api_key]);
    let client_key = ok(d, &["key", "create"]).trim().to_string();
    let bytes = std::fs::read(d.join("levity.redb")).unwrap();
    for secret in [
        api_key,
        client_key.as_str(),
        &api_key[4..20],
        &client_key[7..30],
    ] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "`{secret}` found in levity.redb"
        );
    }
}

/// A file sealed to one machine or passphrase is refused elsewhere with a
/// clear message, and nothing in it is lost.
#[test]
fn sealed_files_refuse_the_wrong_key_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &[
            "account",
            "add",
            "gemini",
            "--api-key",
            "AIza-portable-key-1",
        ],
    );

    let out = levity(d, &["account", "list"])
        .env("LEVITY_MACHINE_ID", "machine-b")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sealed on another machine") && err.contains("LEVITY_PASSPHRASE"),
        "{err}"
    );
    assert!(
        ok(d, &["account", "list"]).contains("gemini-1"),
        "a refused open loses nothing"
    );

    // Re-seal with a passphrase on the original machine (which decrypts and
    // re-encrypts every secret), then open it "elsewhere".
    let out = levity(d, &["account", "list"])
        .env("LEVITY_PASSPHRASE", "hunter22")
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = levity(d, &["account", "list", "--json"])
        .env("LEVITY_MACHINE_ID", "machine-b")
        .env("LEVITY_PASSPHRASE", "hunter22")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("gemini-1"));
    let out = levity(d, &["account", "list"])
        .env("LEVITY_MACHINE_ID", "machine-b")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("sealed with a passphrase"));
    let out = levity(d, &["account", "list"])
        .env("LEVITY_PASSPHRASE", "wrong")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not match"));
}

pub(crate) struct Server {
    pub child: std::process::Child,
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start_server(dir: &Path, extra: &[&str]) -> Server {
    let mut args = vec!["serve", "--port", "0", "--no-open"];
    args.extend_from_slice(extra);
    start(levity(dir, &args))
}

/// Starts `levity serve` as `cmd` sets it up (its environment, say).
pub(crate) fn start(mut cmd: Command) -> Server {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    let url = line
        .split_whitespace()
        .last()
        .unwrap_or_default()
        .to_string();
    assert!(url.starts_with("http://"), "unexpected first line: {line}");
    // Keep draining so the server never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    Server { child, url }
}

/// While a server holds the data file, every command still works, through it,
/// and the proxy sees the change at once.
#[tokio::test(flavor = "multi_thread")]
async fn commands_work_while_the_server_runs() {
    let fake = Fake::start().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let server = start_server(&d, &[]);
    let fake_url = fake.url();
    let d2 = d.clone();
    tokio::task::spawn_blocking(move || {
        ok(
            &d2,
            &[
                "account",
                "add",
                "gemini",
                "--api-key",
                "AIzaLIVE-0000-aaaa",
                "--name",
                "live",
                "--base-url",
                &fake_url,
            ],
        );
        assert!(ok(&d2, &["account", "list"]).contains("live"));
        ok(
            &d2,
            &["config", "set", "model_map.fast", "gemini-2.5-flash"],
        );
        assert_eq!(
            ok(&d2, &["config", "get", "model_map.fast"]).trim(),
            "gemini-2.5-flash"
        );
    })
    .await
    .unwrap();

    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{}/v1/chat/completions", server.url))
        .json(&json!({"model": "fast", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        fake.last().header("x-goog-api-key"),
        Some("AIzaLIVE-0000-aaaa")
    );

    let d2 = d.clone();
    let key = tokio::task::spawn_blocking(move || ok(&d2, &["key", "create"]).trim().to_string())
        .await
        .unwrap();
    let resp = http
        .get(format!("{}/v1/models", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "a new key guards the proxy at once");
    let resp = http
        .get(format!("{}/v1/models", server.url))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let d2 = d.clone();
    tokio::task::spawn_blocking(move || {
        ok(&d2, &["key", "revoke", "key-1"]);
        ok(&d2, &["account", "remove", "live"]);
        let err = fails(&d2, &["serve", "--port", "0", "--no-open"]);
        assert!(err.contains("already running"), "{err}");
    })
    .await
    .unwrap();
    drop(server);
}

#[tokio::test(flavor = "multi_thread")]
async fn lan_binding_needs_a_client_key() {
    let dir = tempfile::tempdir().unwrap();
    let err = fails(
        dir.path(),
        &["serve", "--host", "0.0.0.0", "--port", "0", "--no-open"],
    );
    assert!(
        err.contains("without a client key") && err.contains("levity key create"),
        "{err}"
    );
    ok(dir.path(), &["key", "create"]);
    let server = start_server(dir.path(), &["--host", "0.0.0.0"]);
    let port = server.url.rsplit(':').next().unwrap();
    // The admin API now wants the admin token, even from loopback.
    let resp = reqwest::get(format!("http://127.0.0.1:{port}/api/status"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "admin_token_required");
    // The CLI reads the token from the server file and gets through.
    assert!(ok(dir.path(), &["key", "list"]).contains("key-1"));
}

/// Google accounts from the command line: a refresh token, a JSON import, and
/// the browser sign-in with its loopback callback (and the pasted-code fallback).
#[tokio::test(flavor = "multi_thread")]
async fn google_accounts_from_the_command_line() {
    let fake = Fake::start().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let token_url = format!("{}/token", fake.url());
    let d2 = d.clone();
    tokio::task::spawn_blocking(move || {
        let err = fails(&d2, &["account", "add", "google-oauth", "--no-open"]);
        assert!(err.contains("oauth_client_id"), "sign-in without a client explains the setup: {err}");
        ok(&d2, &["config", "set", "oauth_client_id", "client-1.apps.example"]);
        ok(&d2, &["config", "set", "oauth_client_secret", "shh"]);
        ok(&d2, &["config", "set", "oauth_token_url", &token_url]);
        ok(&d2, &["account", "add", "google-oauth", "--refresh-token", "1//rt-direct-0001", "--name", "direct@gmail.com", "--tier", "pro"]);
        let list = d2.join("tokens.json");
        std::fs::write(&list, r#"["1//rt-plain-0002", {"refresh_token": "1//rt-named-0003", "email": "named@gmail.com", "project": "p-3"}]"#).unwrap();
        ok(&d2, &["account", "add", "google-oauth", "--import", list.to_str().unwrap()]);
    })
    .await
    .unwrap();

    // The browser flow: read the sign-in address, play the browser's redirect.
    let child = levity(
        &d,
        &[
            "account",
            "add",
            "google-oauth",
            "--no-open",
            "--name",
            "browser@gmail.com",
        ],
    );
    let url = browser_sign_in(child, "4%2Fbrowser-code").await;
    assert!(
        url.contains("client_id=client-1.apps.example") && url.contains("access_type=offline"),
        "{url}"
    );
    let exchange = fake
        .requests()
        .into_iter()
        .find(|r| r.raw.contains("authorization_code"))
        .unwrap();
    assert!(
        exchange.raw.contains("code=4%2Fbrowser-code")
            && exchange.raw.contains("client_secret=shh"),
        "{}",
        exchange.raw
    );

    // Headless: paste the address the browser was sent to.
    let mut child = levity(
        &d,
        &[
            "account",
            "add",
            "google-oauth",
            "--no-open",
            "--name",
            "pasted@gmail.com",
        ],
    )
    .stdin(Stdio::piped())
    .stderr(Stdio::null())
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::io::Write::write_all(
        &mut stdin,
        b"http://127.0.0.1:1/oauth2callback?code=pasted-code\n",
    )
    .unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let d2 = d.clone();
    let list: Value = tokio::task::spawn_blocking(move || {
        serde_json::from_str(&ok(&d2, &["account", "list", "--json"])).unwrap()
    })
    .await
    .unwrap();
    let accounts: Vec<(&str, &str, &str)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap(),
                a["kind"].as_str().unwrap(),
                a["tier"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(accounts[0], ("direct@gmail.com", "google-oauth", "pro"));
    assert_eq!(accounts[2], ("named@gmail.com", "google-oauth", "free"));
    assert_eq!(list[2]["project"], "p-3");
    assert_eq!(accounts[3].0, "browser@gmail.com");
    assert_eq!(
        list[3]["key_hint"], "rt-...code",
        "the refresh token from the exchange"
    );
    assert_eq!(accounts[4].0, "pasted@gmail.com");
    let d2 = d.clone();
    tokio::task::spawn_blocking(move || {
        ok(
            &d2,
            &[
                "account",
                "set",
                "pasted@gmail.com",
                "--enabled",
                "false",
                "--tier",
                "ultra",
            ],
        );
        assert!(ok(&d2, &["account", "list"]).contains("disabled"));
        assert!(
            ok(&d2, &["account", "order", "pasted@gmail.com"])
                .starts_with("order: pasted@gmail.com")
        );
        assert!(
            fails(
                &d2,
                &["account", "set", "pasted@gmail.com", "--tier", "gold"]
            )
            .contains("unknown tier")
        );
    })
    .await
    .unwrap();
}

/// Runs a `levity account add google-oauth` (`cmd`), plays the browser:
/// reads the sign-in address it prints, follows Google's redirect back with
/// `code`, and waits for the command to succeed. Returns the address.
async fn browser_sign_in(mut cmd: Command, code: &str) -> String {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let url = tokio::task::spawn_blocking(move || {
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
        lines
            .find_map(|l| {
                l.ok()
                    .filter(|l| l.trim_start().starts_with("http"))
                    .map(|l| l.trim().to_string())
            })
            .unwrap()
    })
    .await
    .unwrap();
    let param = |name: &str| {
        url.split(['?', '&'])
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .unwrap()
            .to_string()
    };
    let redirect = param("redirect_uri")
        .replace("%3A", ":")
        .replace("%2F", "/");
    let state = param("state");
    let page = reqwest::get(format!("{redirect}?state={state}&code={code}"))
        .await
        .unwrap();
    assert_eq!(page.status(), 200, "{}", page.text().await.unwrap());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    url
}

/// While a server runs (and keeps the OAuth client secret sealed inside
/// it), the command-line sign-in goes through the server: its address, its
/// callback, its exchange, and the name asked for on the command line.
#[tokio::test(flavor = "multi_thread")]
async fn google_sign_in_from_the_command_line_while_the_server_runs() {
    let fake = Fake::start().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let token_url = format!("{}/token", fake.url());
    let d2 = d.clone();
    tokio::task::spawn_blocking(move || {
        ok(
            &d2,
            &["config", "set", "oauth_client_id", "client-2.apps.example"],
        );
        ok(
            &d2,
            &["config", "set", "oauth_client_secret", "sealed-secret"],
        );
        ok(&d2, &["config", "set", "oauth_token_url", &token_url]);
    })
    .await
    .unwrap();
    let server = start_server(&d, &[]);
    let cmd = levity(
        &d,
        &[
            "account",
            "add",
            "google-oauth",
            "--no-open",
            "--name",
            "served@gmail.com",
        ],
    );
    let url = browser_sign_in(cmd, "4%2Fserved-code").await;
    assert!(url.contains("client_id=client-2.apps.example"), "{url}");
    assert!(
        url.contains(&format!(
            "redirect_uri={}",
            server.url.replace(':', "%3A").replace('/', "%2F")
        )),
        "the server's own callback: {url}"
    );
    let exchange = fake
        .requests()
        .into_iter()
        .find(|r| r.raw.contains("authorization_code"))
        .unwrap();
    assert!(
        exchange.raw.contains("client_secret=sealed-secret"),
        "{}",
        exchange.raw
    );
    let d2 = d.clone();
    let list = tokio::task::spawn_blocking(move || ok(&d2, &["account", "list"]))
        .await
        .unwrap();
    assert!(list.contains("served@gmail.com"), "{list}");
    drop(server);
}

/// `key create` and `key set` take a key's limits; `key list` shows them.
#[test]
fn keys_take_limits_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &[
            "key",
            "create",
            "--name",
            "team",
            "--rpm",
            "5",
            "--budget",
            "20",
            "--period",
            "week",
            "--models",
            "gemini-2.5-flash,gpt-*",
            "--expires",
            "2027-01-31",
        ],
    );
    let list = ok(d, &["key", "list"]);
    assert!(
        list.contains("5 req/min")
            && list.contains("$20.00/week")
            && list.contains("models gemini-2.5-flash,gpt-*")
            && list.contains("until 2027-01-31"),
        "{list}"
    );
    let set = ok(d, &["key", "set", "team", "--rpd", "100"]);
    assert!(
        set.contains("100 req/day") && !set.contains("req/min"),
        "{set}"
    );
    assert!(fails(d, &["key", "set", "team", "--expires", "2027-13-01"]).contains("--expires"));
    assert!(fails(d, &["key", "create", "--period", "day"]).contains("--budget"));
    let cleared = ok(d, &["key", "set", "team"]);
    assert!(cleared.contains("no limits"), "{cleared}");
}

/// A levity run from a cargo build folder (`make run` runs
/// `target/release/levity`) keeps its data in the per-user data folder, says
/// so, and takes along a data file an earlier version left in the build
/// folder, so `cargo clean` deletes no account (issue #22).
#[test]
fn a_binary_in_a_cargo_build_folder_keeps_its_data_in_the_user_folder() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    // What cargo writes at a target folder's root (target/CACHEDIR.TAG).
    let build = r.join("target/release");
    std::fs::create_dir_all(&build).unwrap();
    std::fs::write(
        r.join("target/CACHEDIR.TAG"),
        "Signature: 8a477f597d28d172789f06886806bc55\n\
         # This file is a cache directory tag created by cargo.\n\
         # For information about cache directory tags see https://bford.info/cachedir/\n",
    )
    .unwrap();
    let exe = build.join("levity");
    std::fs::copy(env!("CARGO_BIN_EXE_levity"), &exe).unwrap();
    let user_data = r.join("xdg-data");
    let here = |args: &[&str]| {
        let out = Command::new(&exe)
            .args(args)
            .env_remove("LEVITY_HOME")
            .env_remove("LEVITY_PASSPHRASE")
            .env("XDG_DATA_HOME", &user_data)
            .env("HOME", r.join("home"))
            .env("LEVITY_MACHINE_ID", "machine-a")
            .env("LEVITY_LOG", "warn")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };

    // The data an earlier levity kept beside itself in the build folder.
    ok(
        &build,
        &[
            "account",
            "add",
            "gemini",
            "--api-key",
            "AIza-kept-1",
            "--name",
            "kept",
        ],
    );
    assert!(build.join("levity.redb").exists() && build.join("levity.key").exists());

    let (out, err) = here(&["account", "list"]);
    assert!(out.contains("kept"), "the moved file opens: {out}");
    let home = user_data.join("levity");
    assert!(
        err.contains("moved the data file") && err.contains(&home.display().to_string()),
        "{err}"
    );
    assert!(home.join("levity.redb").exists() && home.join("levity.key").exists());
    assert!(!build.join("levity.redb").exists() && !build.join("levity.key").exists());

    // Later commands use it without moving anything, and `cargo clean`
    // (the build folder gone) loses nothing.
    std::fs::remove_dir_all(r.join("target/release")).unwrap();
    std::fs::create_dir_all(&build).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_levity"), &exe).unwrap();
    let (out, err) = here(&["account", "list"]);
    assert!(out.contains("kept") && err.is_empty(), "{out}{err}");
    assert!(!build.join("levity.redb").exists());

    // `serve` says where the data is and why.
    let mut child = Command::new(&exe)
        .args(["serve", "--port", "0", "--no-open"])
        .env_remove("LEVITY_HOME")
        .env("XDG_DATA_HOME", &user_data)
        .env("HOME", r.join("home"))
        .env("LEVITY_MACHINE_ID", "machine-a")
        .env("LEVITY_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut banner = String::new();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    while !banner.contains("OpenAI SDK") {
        banner += &lines.next().unwrap().unwrap();
        banner.push('\n');
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        banner.contains(&home.join("levity.redb").display().to_string())
            && banner.contains("cargo build folder"),
        "{banner}"
    );
}

/// `levity completions bash` works in bash itself: sourced, its completion
/// function offers the subcommands and their flags; the other shells get
/// their own script format (issue #22).
#[test]
fn shell_completions_complete_in_bash() {
    let dir = tempfile::tempdir().unwrap();
    let script = ok(dir.path(), &["completions", "bash"]);
    let file = dir.path().join("levity.bash");
    std::fs::write(&file, &script).unwrap();
    let complete = |words: &str| {
        let probe = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
             COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}; \
             _levity levity \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            file.display()
        );
        let out = Command::new("bash")
            .args(["--norc", "-c", &probe])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let words = complete("levity acc");
    assert_eq!(words.trim(), "account", "{words}");
    let words = complete("levity config set --");
    assert!(words.lines().any(|w| w == "--force"), "{words}");
    for (shell, mark) in [
        ("zsh", "#compdef levity"),
        ("fish", "complete -c levity"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        assert!(
            ok(dir.path(), &["completions", shell]).contains(mark),
            "{shell}"
        );
    }
    assert!(fails(dir.path(), &["completions", "tcsh"]).contains("possible values"));
}

/// `levity connect` for each tool, without a server: a dry run shows the
/// change and writes nothing; then each file is written, merged into what
/// the user had, and a file levity cannot merge is left alone (issue #22).
#[test]
fn connect_writes_each_tools_own_config_and_leaves_what_it_cannot_merge() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    ok(
        d,
        &[
            "account",
            "add",
            "gemini",
            "--api-key",
            "AIzaCONNECT-000002",
        ],
    );
    let connect = |args: &[&str]| {
        let mut all = vec!["connect"];
        all.extend_from_slice(args);
        levity(d, &all)
            .env("HOME", h)
            .env_remove("CODEX_HOME")
            .env_remove("CLAUDE_CONFIG_DIR")
            .env_remove("XDG_CONFIG_HOME")
            .output()
            .unwrap()
    };

    let out = connect(&["codex", "--dry-run"]);
    let diff = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success() && diff.contains("+model_provider = \"levity\""),
        "{diff}"
    );
    assert!(!h.join(".codex").exists(), "a dry run writes nothing");
    assert!(
        ok(d, &["key", "list"]).contains("no client keys"),
        "nor makes a key"
    );

    let codex = h.join(".codex/config.toml");
    std::fs::create_dir_all(codex.parent().unwrap()).unwrap();
    std::fs::write(&codex, "# my settings\nmodel = \"gemini-2.5-pro\"\n").unwrap();
    assert!(connect(&["codex"]).status.success());
    let toml = std::fs::read_to_string(&codex).unwrap();
    assert!(
        toml.starts_with("# my settings\nmodel = \"gemini-2.5-pro\"\nmodel_provider = \"levity\""),
        "{toml}"
    );
    assert!(
        toml.contains("base_url = \"http://127.0.0.1:8045/v1\"")
            && toml.contains("experimental_bearer_token = \"sk-lev-"),
        "{toml}"
    );

    assert!(connect(&["gemini-cli"]).status.success());
    let env = std::fs::read_to_string(h.join(".gemini/.env")).unwrap();
    assert!(
        env.contains("GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:8045\n")
            && env.contains("GEMINI_API_KEY=sk-lev-"),
        "{env}"
    );

    assert!(connect(&["opencode"]).status.success());
    let oc: Value =
        serde_json::from_slice(&std::fs::read(h.join(".config/opencode/opencode.json")).unwrap())
            .unwrap();
    assert_eq!(oc["provider"]["levity"]["npm"], "@ai-sdk/openai-compatible");
    assert!(
        oc["provider"]["levity"]["models"]["gemini-2.5-flash"].is_object(),
        "{oc}"
    );

    // Three keys made, one per tool written.
    assert_eq!(
        ok(d, &["key", "list", "--json"])
            .matches("\"name\"")
            .count(),
        3
    );

    // Comments in a JSON file would be lost: it is left alone, and no key is made.
    let claude = h.join(".claude/settings.json");
    std::fs::create_dir_all(claude.parent().unwrap()).unwrap();
    std::fs::write(&claude, "{\n  // mine\n}\n").unwrap();
    let out = connect(&["claude-code"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not plain JSON"));
    assert_eq!(
        std::fs::read_to_string(&claude).unwrap(),
        "{\n  // mine\n}\n"
    );
    assert_eq!(
        ok(d, &["key", "list", "--json"])
            .matches("\"name\"")
            .count(),
        3
    );
    assert!(fails(d, &["connect", "vim"]).contains("possible values"));
}

/// `levity export` on one install and `levity import` on another: accounts
/// with their keys, client keys (hashes: a key made on the first admits on
/// the second), settings and mappings; nothing readable in the file; a
/// wrong passphrase or a file that is not an export changes nothing; a name
/// taken on the second gets a suffix (issue #22).
#[tokio::test(flavor = "multi_thread")]
async fn export_and_import_move_accounts_keys_and_settings_between_installs() {
    let fake = Fake::start().await;
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (a.path().to_path_buf(), b.path().to_path_buf());
    let fake_url = fake.url();
    let (b, key) = tokio::task::spawn_blocking(move || {
        let with_pass = |dir: &Path, args: &[&str], pass: &str| {
            levity(dir, args)
                .env("LEVITY_EXPORT_PASSPHRASE", pass)
                .output()
                .unwrap()
        };
        ok(
            &a,
            &[
                "account",
                "add",
                "gemini",
                "--api-key",
                "AIzaEXPORT-SECRET-0001",
                "--name",
                "work",
                "--base-url",
                &fake_url,
            ],
        );
        ok(&a, &["config", "set", "model_map.fast", "gemini-2.5-flash"]);
        ok(&a, &["config", "set", "request_timeout_secs", "77"]);
        let key = levity(&a, &["key", "create", "--name", "laptop"])
            .output()
            .unwrap();
        let key = String::from_utf8(key.stdout).unwrap().trim().to_string();
        let file = a.join("move.levity");
        let short = with_pass(&a, &["export", "--out", file.to_str().unwrap()], "short");
        assert!(
            !short.status.success()
                && String::from_utf8_lossy(&short.stderr).contains("at least 8")
        );
        let out = with_pass(
            &a,
            &["export", "--out", file.to_str().unwrap()],
            "correct horse battery",
        );
        assert!(out.status.success(), "{out:?}");
        let text = std::fs::read_to_string(&file).unwrap();
        for secret in [
            "AIzaEXPORT-SECRET-0001",
            "gemini-2.5-flash",
            "laptop",
            "work",
        ] {
            assert!(
                !text.contains(secret),
                "`{secret}` is readable in the export"
            );
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let again = with_pass(
            &a,
            &["export", "--out", file.to_str().unwrap()],
            "correct horse battery",
        );
        assert!(
            !again.status.success(),
            "an existing file is not overwritten"
        );

        // The second install has an account of its own called "work".
        ok(
            &b,
            &[
                "account",
                "add",
                "gemini",
                "--api-key",
                "AIzaOTHER-0000-0002",
                "--name",
                "work",
                "--base-url",
                &fake_url,
            ],
        );
        let before = ok(&b, &["account", "list", "--json"]);
        let wrong = with_pass(
            &b,
            &["import", file.to_str().unwrap()],
            "wrong horse battery",
        );
        assert!(
            !wrong.status.success()
                && String::from_utf8_lossy(&wrong.stderr).contains("passphrase does not match")
        );
        let junk = b.join("junk.json");
        std::fs::write(&junk, "{\"accounts\": []}").unwrap();
        let bad = with_pass(
            &b,
            &["import", junk.to_str().unwrap()],
            "correct horse battery",
        );
        assert!(
            !bad.status.success()
                && String::from_utf8_lossy(&bad.stderr).contains("not a levity export")
        );
        assert_eq!(
            ok(&b, &["account", "list", "--json"]),
            before,
            "nothing changed"
        );

        let out = with_pass(
            &b,
            &["import", file.to_str().unwrap()],
            "correct horse battery",
        );
        let said = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{out:?}");
        assert!(
            said.contains("1 account(s) added")
                && said.contains("`work` is called `work-imported` here"),
            "{said}"
        );
        let accounts = ok(&b, &["account", "list"]);
        assert!(
            accounts.contains("work-imported") && accounts.contains("AIz...0001"),
            "{accounts}"
        );
        let config = ok(&b, &["config", "get"]);
        assert!(
            config.contains("model_map.fast") && config.contains("77"),
            "{config}"
        );
        assert!(ok(&b, &["key", "list"]).contains("laptop"));
        // Imported twice: updated, not doubled.
        let out = with_pass(
            &b,
            &["import", file.to_str().unwrap()],
            "correct horse battery",
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("0 account(s) added, 1 updated"));
        (b, key)
    })
    .await
    .unwrap();

    // The key made on the first install admits on the second, through the
    // imported account.
    let server = start_server(&b, &[]);
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", server.url))
        .bearer_auth(&key)
        .json(&json!({"model": "fast", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
}
