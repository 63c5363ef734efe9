//! Security probes against the listener and the routes: model names in
//! upstream URLs, slow and cancelling clients, cross-site pages, the admin
//! token.

use crate::common::Levity;
use crate::fake::Fake;
use serde_json::{Value, json};

/// 1. A model name cannot steer the upstream URL: the names of a path
/// traversal to `cachedContents` (with the account's key and the caller's
/// body) and every other character outside real model ids are refused
/// with a 400 in the client's protocol, and nothing reaches the upstream.
#[tokio::test]
async fn probe_15_model_names_cannot_steer_upstream_urls() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIzaSy-probe-15", &fake.url()).await;
    let hostile = [
        "gemini-2.5-flash/../../cachedContents#",
        "gemini-2.5-flash/../cachedContents",
        "gemini-2.5-flash?alt=json",
        "gemini-2.5-flash#x",
        "gemini-2.5-flash%2F..",
        "gemini-2.5-flash\r\nx-goog-api-key: stolen",
        "gemini 2.5 flash",
        "gemini-2.5-flash/./x",
        "models/",
        "",
    ];
    for model in hostile {
        let (status, _, body) = lev
            .chat(json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}))
            .await;
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(status, 400, "{model:?}: {body}");
        assert_eq!(v["error"]["type"], "invalid_request_error", "{body}");
        assert_eq!(v["error"]["param"], "model", "{body}");
    }
    // The same through the Gemini path, percent-encoded as the issue's probe.
    let url = format!(
        "{}/v1beta/models/gemini-2.5-flash%2F..%2F..%2FcachedContents%23:generateContent",
        lev.url
    );
    let resp = lev
        .http
        .post(url)
        .json(&json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["status"], "INVALID_ARGUMENT", "{v}");
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());

    // Real ids still pass, and reach the upstream as one path segment.
    for model in ["gemini-2.5-flash", "models/gemini-2.5-flash"] {
        let (status, _, body) = lev
            .chat(json!({"model": model, "messages": [{"role": "user", "content": "reply ok"}]}))
            .await;
        assert_eq!(status, 200, "{model}: {body}");
        assert_eq!(
            fake.last().path,
            "/v1beta/models/gemini-2.5-flash:generateContent"
        );
    }
}

/// 1. A mapping rule cannot smuggle a hostile target in either.
#[tokio::test]
async fn probe_16_mapping_targets_are_model_names() {
    let lev = Levity::start().await;
    let (status, v) = lev
        .admin(
            reqwest::Method::PUT,
            "/config",
            Some(json!({"key": "model_map.gpt-4o", "value": "gemini-2.5-flash/../../files"})),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    assert!(v.to_string().contains("model name"), "{v}");
    let (status, v) = lev
        .admin(
            reqwest::Method::PUT,
            "/config",
            Some(json!({"key": "background_model", "value": "x#y"})),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    // Names with an organisation, as OpenAI-compatible hosts list them, pass
    // (forced: no account lists it here).
    lev.set_forced("model_map.llama", "meta-llama/Llama-3.3-70B-Instruct")
        .await;
}

use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes the connection; what it sent, and when.
async fn until_closed(sock: &mut TcpStream, within: Duration) -> (String, Duration) {
    let start = Instant::now();
    let mut got = Vec::new();
    let read = tokio::time::timeout(within, sock.read_to_end(&mut got)).await;
    assert!(
        read.is_ok(),
        "still open after {within:?}: {}",
        String::from_utf8_lossy(&got)
    );
    (String::from_utf8_lossy(&got).into_owned(), start.elapsed())
}

fn addr_of(url: &str) -> String {
    url.trim_start_matches("http://").to_string()
}

/// 2. Slowloris: a request head that never ends, an idle keep-alive
/// connection and a body that never ends are each closed, the body with a
/// 408 in the client's protocol.
#[tokio::test]
async fn probe_17_slow_clients_are_cut_off() {
    let lev = Levity::start().await;
    let addr = addr_of(&lev.url);
    let mut head = TcpStream::connect(&addr).await.unwrap();
    head.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1")
        .await
        .unwrap();
    // Connected, and not a byte since.
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"HEAD /api/hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut body = TcpStream::connect(&addr).await.unwrap();
    body.write_all(
        b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"model\":",
    )
    .await
    .unwrap();
    let (h, silence, idle_res, b) = tokio::join!(
        until_closed(&mut head, Duration::from_secs(20)),
        until_closed(&mut silent, Duration::from_secs(20)),
        until_closed(&mut idle, Duration::from_secs(20)),
        until_closed(&mut body, Duration::from_secs(30)),
    );
    assert!(h.0.is_empty() || h.0.starts_with("HTTP/1.1 408"), "{}", h.0);
    assert!(silence.0.is_empty(), "{}", silence.0);
    assert!(idle_res.0.starts_with("HTTP/1.1 200"), "{}", idle_res.0);
    assert!(b.0.starts_with("HTTP/1.1 408"), "{}", b.0);
    assert!(
        b.0.contains("\"type\":\"error\""),
        "Anthropic's error shape: {}",
        b.0
    );
    assert!(b.0.contains("stopped arriving"), "{}", b.0);
}

/// A connection to `addr` that sent `first`, paused, then sent `rest`.
async fn in_two_pieces(addr: &str, first: &[u8], rest: &[u8]) -> TcpStream {
    let mut sock = TcpStream::connect(addr).await.unwrap();
    sock.write_all(first).await.unwrap();
    tokio::time::sleep(Duration::from_millis(30)).await;
    sock.write_all(rest).await.unwrap();
    sock
}

/// 2. The protocol is told by the first bytes, peeked: a client whose
/// first bytes arrive one by one is served all the same, in HTTP/1 and in
/// HTTP/2 with prior knowledge.
#[tokio::test]
async fn first_bytes_in_pieces_still_choose_the_protocol() {
    let lev = Levity::start().await;
    let addr = addr_of(&lev.url);
    // "P" could still be HTTP/2's "PRI": the server waits for more.
    let mut h1 = in_two_pieces(
        &addr,
        b"P",
        b"OST /api/hello HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .await;
    let (answer, _) = until_closed(&mut h1, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");

    // RFC 9113 section 3.4: the preface, then the client's SETTINGS frame
    // (here empty: length 0, type 4, no flags, stream 0).
    let mut h2 = in_two_pieces(
        &addr,
        b"PR",
        b"I * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0",
    )
    .await;
    let mut frame = [0u8; 9];
    tokio::time::timeout(Duration::from_secs(5), h2.read_exact(&mut frame))
        .await
        .expect("the server's SETTINGS in time")
        .unwrap();
    assert_eq!(frame[3], 4, "a SETTINGS frame first: {frame:?}");
}

/// 2. The limits never cut a request in flight: an answer slower than the
/// head timeout arrives whole, and a stream that flows for longer too.
#[tokio::test]
async fn probe_18_slow_answers_are_not_cut() {
    use crate::fake::Fault;
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIzaSy-probe-18", &fake.url()).await;
    fake.push(Fault::Delay(Duration::from_secs(12)));
    let (status, _, body) = lev
        .chat(json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "reply slow"}]}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("slow"), "{body}");
    fake.push(Fault::Trickle(Duration::from_secs(4)));
    let (status, _, body) = lev
        .chat(json!({"model": "gemini-2.5-flash", "stream": true,
            "messages": [{"role": "user", "content": "reply one two three four"}]}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("[DONE]"), "{body}");
}

/// Seconds of CPU a process has used, from /proc.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

/// 2. Three times more half-open connections than the process has file
/// descriptors (`ulimit -n 128`, hard, so levity cannot raise it): levity
/// neither spins on `EMFILE` nor stops serving; a real request is answered
/// well before any timeout would free a connection.
#[tokio::test(flavor = "multi_thread")]
async fn probe_19_connection_floods_do_not_stop_service() {
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    let fake = Fake::start().await;
    let dir = tempfile::tempdir().unwrap();
    let levity = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_levity"));
        cmd.args(args)
            .env("LEVITY_HOME", dir.path())
            .env("LEVITY_MACHINE_ID", "machine-a")
            .env_remove("LEVITY_PASSPHRASE")
            .env("LEVITY_LOG", "error");
        cmd
    };
    let out = levity(&[
        "account",
        "add",
        "gemini",
        "--api-key",
        "AIzaSy-probe-19",
        "--base-url",
        &fake.url(),
    ])
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut cmd = levity(&["serve", "--port", "0", "--no-open"]);
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 128,
                rlim_max: 128,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let child = Kill(child);
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    let url = line.split_whitespace().last().unwrap().to_string();
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let addr = addr_of(&url);

    let mut flood = Vec::new();
    for i in 0..400 {
        let mut s = TcpStream::connect(&addr)
            .await
            .unwrap_or_else(|e| panic!("connection {i}: {e}"));
        let _ = s
            .write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            .await;
        flood.push(s);
    }
    let pid = child.0.id();
    let before = cpu_secs(pid);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let spun = cpu_secs(pid) - before;
    assert!(
        spun < 1.0,
        "levity used {spun:.2} s of CPU in 2 s under a connection flood"
    );

    let started = Instant::now();
    let resp = reqwest::Client::new()
        .post(format!("{url}/v1/chat/completions"))
        .json(&json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "reply served"}]}))
        .timeout(Duration::from_secs(8))
        .send()
        .await
        .unwrap_or_else(|e| panic!("no answer under a flood after {:?}: {e}", started.elapsed()));
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("served"));
    drop(flood);
}

/// 4. Loopback is no free pass: a stranger's process on this machine (no
/// token) can neither read the accounts nor repoint one at itself.
#[tokio::test]
async fn probe_20_admin_api_needs_the_token_on_loopback_too() {
    let lev = Levity::start().await;
    lev.add_gemini(
        "g",
        "AIzaSy-probe-20-secret",
        "https://generativelanguage.googleapis.com",
    )
    .await;
    let (_, accounts) = lev.admin(reqwest::Method::GET, "/accounts", None).await;
    let id = accounts[0]["id"].as_str().unwrap().to_string();
    let stranger = reqwest::Client::new();
    for (method, path, body) in [
        ("GET", "/api/accounts".to_string(), None),
        ("GET", "/api/config".to_string(), None),
        ("GET", "/api/events".to_string(), None),
        ("POST", "/api/keys".to_string(), Some(json!({}))),
        (
            "PATCH",
            format!("/api/accounts/{id}"),
            Some(json!({"base_url": "http://127.0.0.1:9/steal"})),
        ),
    ] {
        let mut req = stranger.request(method.parse().unwrap(), format!("{}{path}", lev.url));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401, "{method} {path}");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"]["code"], "admin_token_required", "{v}");
        assert!(
            v.to_string().contains("levity open"),
            "says what to do: {v}"
        );
    }
    let wrong = stranger
        .get(format!("{}/api/accounts", lev.url))
        .header("x-levity-admin-token", "admin-tokeN")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let (_, after) = lev.admin(reqwest::Method::GET, "/accounts", None).await;
    assert_eq!(
        after[0]["base_url"],
        "https://generativelanguage.googleapis.com"
    );
}

/// 4. The real `levity serve`: the server file is rewritten 0600 even when
/// one was left readable, `--no-open` prints the dashboard address with the
/// token in its fragment, `levity open --print` gives the same, and no log
/// line at trace level carries the token.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn probe_21_the_admin_token_reaches_only_its_owner() {
    use std::io::BufRead;
    use std::os::unix::fs::PermissionsExt;
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let server_file = dir.path().join("levity.server.json");
    std::fs::write(&server_file, "{}").unwrap();
    std::fs::set_permissions(&server_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let levity = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_levity"));
        cmd.args(args)
            .env("LEVITY_HOME", dir.path())
            .env("LEVITY_MACHINE_ID", "machine-a")
            .env_remove("LEVITY_PASSPHRASE")
            .env("LEVITY_LOG", "trace");
        cmd
    };
    let log = dir.path().join("stderr.log");
    let mut child = levity(&["serve", "--port", "0", "--no-open"])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut printed = String::new();
    let mut line = String::new();
    while out.read_line(&mut line).unwrap() > 0 && !line.contains("stop with") {
        printed.push_str(&line);
        line.clear();
    }
    let mode = std::fs::metadata(&server_file)
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    let file: Value = serde_json::from_slice(&std::fs::read(&server_file).unwrap()).unwrap();
    let token = file["admin_token"].as_str().unwrap().to_string();
    let url = file["url"].as_str().unwrap().to_string();
    let dashboard = format!("{url}/#token={token}");
    assert!(printed.contains(&dashboard), "{printed}");
    let open = levity(&["open", "--print"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&open.stdout).trim(), dashboard);
    // The token works, and is what a caller needs.
    let http = reqwest::Client::new();
    let with = http
        .get(format!("{url}/api/status"))
        .header("x-levity-admin-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(with.status(), 200);
    let without = http.get(format!("{url}/api/status")).send().await.unwrap();
    assert_eq!(without.status(), 401);
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();
    assert_eq!(mode, 0o600, "levity.server.json was left {mode:o}");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("shutting down"),
        "no log was written: {logged}"
    );
    assert!(!logged.contains(&token), "the admin token is in a log line");
}

/// 6. A page in the user's browser cannot spend quota with the "simple"
/// requests browsers send cross-site without asking: a body not declared
/// JSON is refused (415) and a foreign `Origin` (also `null`) is refused
/// (403), with no client key set, each in the client's protocol, and nothing
/// reaches the upstream. A listed origin and levity's own pages pass.
#[tokio::test]
async fn probe_22_cross_site_pages_cannot_spend_quota() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIzaSy-probe-22", &fake.url()).await;
    let body = r#"{"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "reply spent"}]}"#;
    let post = |path: &str, ct: Option<&str>, origin: Option<&str>| {
        let mut req = lev.http.post(format!("{}{path}", lev.url)).body(body);
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send()
    };
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let resp = post("/v1/chat/completions", ct, Some("https://attacker.example"))
            .await
            .unwrap();
        assert_eq!(resp.status(), 415, "{ct:?}");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");
        let resp = post("/v1/messages", ct, None).await.unwrap();
        assert_eq!(resp.status(), 415, "{ct:?}");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["type"], "error", "Anthropic's shape: {v}");
    }
    for origin in [
        "https://attacker.example",
        "null",
        "http://127.0.0.1.attacker.example",
    ] {
        let resp = post(
            "/v1/chat/completions",
            Some("application/json"),
            Some(origin),
        )
        .await
        .unwrap();
        assert_eq!(resp.status(), 403, "{origin}");
        assert!(resp.text().await.unwrap().contains("cors_origins"));
    }
    let resp = lev
        .http
        .post(format!(
            "{}/v1beta/models/gemini-2.5-flash:generateContent",
            lev.url
        ))
        .header("content-type", "text/plain;charset=UTF-8")
        .body(r#"{"contents": [{"parts": [{"text": "hi"}]}]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["status"], "INVALID_ARGUMENT", "{v}");
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());

    // What is allowed still works: tools (no Origin), levity's own pages, a
    // listed origin, and `+json` types.
    let own = lev.url.clone();
    for (ct, origin) in [
        ("application/json", None),
        ("application/json; charset=utf-8", Some(own.as_str())),
        ("application/vnd.api+json", None),
    ] {
        let resp = post("/v1/chat/completions", Some(ct), origin)
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{ct} {origin:?}");
    }
    lev.set("cors_origins", "https://app.example").await;
    let resp = post(
        "/v1/chat/completions",
        Some("application/json"),
        Some("https://app.example"),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "https://app.example"
    );
}

/// Polls levity until `done` holds for the newest request and the
/// account's in-flight count; what was seen last.
async fn settled(lev: &Levity, within: Duration) -> (Value, Value) {
    let start = Instant::now();
    loop {
        let (_, recent) = lev.admin(reqwest::Method::GET, "/requests", None).await;
        let (_, accounts) = lev.admin(reqwest::Method::GET, "/accounts", None).await;
        let flight = accounts[0]["health"]["in_flight"].clone();
        let newest = recent
            .as_array()
            .and_then(|r| r.first())
            .cloned()
            .unwrap_or(Value::Null);
        if (newest["status"] == 499 && flight == 0) || start.elapsed() > within {
            return (newest, flight);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// 8. A client that gives up settles at once, over HTTP/1.1 (closing the
/// connection while a whole answer is awaited) and HTTP/2 (cancelling its
/// stream): the upstream call stops, the account's in-flight count drops
/// back to 0, and the request log says cancelled (499), not 200 later on.
#[tokio::test]
async fn probe_23_cancelled_requests_settle_at_once() {
    use crate::fake::Fault;
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIzaSy-probe-23", &fake.url()).await;
    let body = json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "reply late"}]})
        .to_string();

    fake.push(Fault::Delay(Duration::from_secs(8)));
    let mut sock = TcpStream::connect(addr_of(&lev.url)).await.unwrap();
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    sock.write_all(body.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(sock);
    let (newest, flight) = settled(&lev, Duration::from_secs(4)).await;
    assert_eq!(newest["status"], 499, "HTTP/1.1: {newest}");
    assert!(
        newest["error"].as_str().unwrap_or("").contains("cancelled"),
        "{newest}"
    );
    assert_eq!(flight, 0, "HTTP/1.1 in flight");

    fake.push(Fault::Delay(Duration::from_secs(8)));
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let call = h2
        .post(format!("{}/v1/chat/completions", lev.url))
        .header("content-type", "application/json")
        .body(body.clone())
        .send();
    assert!(
        tokio::time::timeout(Duration::from_millis(500), call)
            .await
            .is_err()
    );
    let (newest, flight) = settled(&lev, Duration::from_secs(4)).await;
    assert_eq!(newest["status"], 499, "HTTP/2: {newest}");
    assert_eq!(flight, 0, "HTTP/2 in flight");
    // HTTP/2 requests are served (their Host is in `:authority`).
    let resp = h2
        .post(format!("{}/v1/chat/completions", lev.url))
        .header("content-type", "application/json")
        .body(json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "reply h2"}]}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    assert_eq!(resp.status(), 200);
}
