//! Security probes, one test each: what a hostile web page, a neighbour on
//! the network, or a careless log reader can get from levity (nothing).
//!
//! "Another machine" is 192.0.2.1, which `tests/offline.sh` adds to the
//! loopback interface of the test namespace; outside it, the machine's own
//! network address plays that part.

use crate::common::Levity;
use crate::fake::Fake;
use reqwest::Method;
use serde_json::{Value, json};
use std::net::{IpAddr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::Duration;

const CHAT: &str = "/v1/chat/completions";

fn hi() -> Value {
    json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]})
}

/// An address of this machine that is not loopback, so a connection from it
/// looks like one from another machine.
fn lan_ip() -> IpAddr {
    let test_net: IpAddr = "192.0.2.1".parse().unwrap();
    if std::net::TcpListener::bind((test_net, 0)).is_ok() {
        return test_net;
    }
    let out = Command::new("hostname")
        .arg("-I")
        .output()
        .expect("hostname -I");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|a| a.parse::<IpAddr>().ok())
        .find(|a| a.is_ipv4() && !a.is_loopback())
        .expect(
            "no non-loopback address: run the tests through tests/offline.sh, which adds 192.0.2.1",
        )
}

/// levity open to the network (0.0.0.0) with a client key, as `--host
/// 0.0.0.0` runs it, and its address as another machine reaches it.
async fn on_the_network() -> (Levity, String, String) {
    let mut lev =
        Levity::start_at(tempfile::tempdir().unwrap(), "0.0.0.0:0".parse().unwrap()).await;
    let port = lev.url.rsplit(':').next().unwrap().to_string();
    lev.url = format!("http://127.0.0.1:{port}");
    let (status, v) = lev
        .admin_with_token(Method::POST, "/keys", Some(json!({})))
        .await;
    assert_eq!(status, 201, "{v}");
    let key = v["key"].as_str().unwrap().to_string();
    (lev, format!("http://{}:{port}", lan_ip()), key)
}

impl Levity {
    /// An admin call with the token `levity serve` prints (the harness's).
    async fn admin_with_token(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/api{path}", self.url))
            .header("x-levity-admin-token", "admin-token");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        (
            resp.status().as_u16(),
            resp.json().await.unwrap_or(Value::Null),
        )
    }
}

/// 1. DNS rebinding: a page at attacker.example whose name now points at
/// 127.0.0.1 reaches neither the admin API nor the dashboard.
#[tokio::test]
async fn probe_01_dns_rebinding_host_is_refused() {
    let lev = Levity::start().await;
    for path in [
        "/api/status",
        "/api/accounts",
        "/",
        "/accounts",
        "/assets/x.js",
    ] {
        let resp = lev
            .http
            .get(format!("{}{path}", lev.url))
            .header("host", "attacker.example")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403, "{path}");
        let body = resp.text().await.unwrap();
        assert!(!body.contains("<script"), "{path} served the app: {body}");
    }
    let resp = lev
        .http
        .post(format!("{}/api/keys", lev.url))
        .header("host", "attacker.example:8045")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    // The proxy without client keys is as closed to that name.
    let resp = lev
        .http
        .post(format!("{}{CHAT}", lev.url))
        .header("host", "attacker.example")
        .json(&hi())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    // Its own names still work.
    for host in ["localhost:8045", "127.0.0.1"] {
        let resp = lev
            .http
            .get(format!("{}/api/status", lev.url))
            .header("host", host)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{host}");
    }
}

/// 2. Listening on the network without a client key is refused, from the
/// command line and from the dashboard.
#[tokio::test]
async fn probe_02_lan_bind_needs_a_client_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_levity"))
        .args(["serve", "--host", "0.0.0.0", "--port", "0", "--no-open"])
        .env("LEVITY_HOME", dir.path())
        .env("LEVITY_MACHINE_ID", "probe")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("without a client key"));

    let lev = Levity::start().await;
    let (status, v) = lev
        .admin(
            Method::PUT,
            "/listen",
            Some(json!({"host": "0.0.0.0", "port": 0})),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    let (status, v) = lev
        .admin(
            Method::PUT,
            "/listen",
            Some(json!({"host": "0.0.0.0", "port": 45_999})),
        )
        .await;
    assert_eq!(status, 409, "{v}");
    let (status, v) = lev
        .admin(
            Method::PUT,
            "/config",
            Some(json!({"key": "listen_host", "value": "0.0.0.0"})),
        )
        .await;
    assert_eq!(status, 409, "{v}");
    let (_, st) = lev.admin(Method::GET, "/status", None).await;
    assert!(
        st["listen"].as_str().unwrap().starts_with("127.0.0.1:"),
        "{st}"
    );
}

/// 3. With client keys: none, a wrong one, one of the wrong length → 401 in
/// the client's protocol; the right one passes.
#[tokio::test]
async fn probe_03_client_keys_are_required_and_checked() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIzaPROBE3-00000001", &fake.url())
        .await;
    let key = lev.create_key().await;
    let wrong_same_len: String = key.chars().rev().collect();
    let anthropic = json!({"model": "gemini-2.5-flash", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]});
    for presented in [
        None,
        Some("sk-wrong".to_string()),
        Some(wrong_same_len),
        Some(format!("{key}x")),
        Some(key[..key.len() - 1].to_string()),
        Some(String::new()),
    ] {
        let mut req = lev.http.post(format!("{}{CHAT}", lev.url)).json(&hi());
        let mut msg = lev
            .http
            .post(format!("{}/v1/messages", lev.url))
            .json(&anthropic);
        if let Some(k) = &presented {
            req = req.bearer_auth(k);
            msg = msg.header("x-api-key", k);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401, "{presented:?}");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(
            v["error"]["type"], "authentication_error",
            "OpenAI shape: {v}"
        );
        let resp = msg.send().await.unwrap();
        assert_eq!(resp.status(), 401);
        let v: Value = resp.json().await.unwrap();
        assert_eq!(
            (v["type"].as_str(), v["error"]["type"].as_str()),
            (Some("error"), Some("authentication_error")),
            "Anthropic shape: {v}"
        );
    }
    let resp = lev
        .http
        .post(format!(
            "{}/v1beta/models/gemini-2.5-flash:generateContent?key=nope",
            lev.url
        ))
        .json(&json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["status"], "UNAUTHENTICATED", "Gemini shape: {v}");
    let resp = lev
        .http
        .post(format!("{}{CHAT}", lev.url))
        .bearer_auth(&key)
        .json(&hi())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // The comparison is over SHA-256 digests, every stored key, no early exit.
    let src = include_str!("../../../src/server/auth.rs");
    assert!(
        src.contains("fn ct_eq") && src.contains("fold(0u8"),
        "constant-time comparison is gone"
    );
}

/// 4. From another machine (LAN mode), the admin API wants the admin token.
#[tokio::test]
async fn probe_04_admin_api_from_the_network_needs_the_token() {
    let (lev, lan, key) = on_the_network().await;
    let http = reqwest::Client::builder()
        .local_address(lan_ip())
        .build()
        .unwrap();
    for (method, path) in [
        (Method::GET, "/api/status"),
        (Method::GET, "/api/accounts"),
        (Method::POST, "/api/keys"),
        (Method::GET, "/api/config"),
    ] {
        let resp = http
            .request(method.clone(), format!("{lan}{path}"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "{method} {path}");
        let resp = http
            .request(method.clone(), format!("{lan}{path}"))
            .header("x-levity-admin-token", "not-it")
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "{method} {path} with a wrong token");
    }
    let resp = http
        .get(format!("{lan}/api/status"))
        .header("x-levity-admin-token", "admin-token")
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        200,
        "with the token the dashboard works from the network"
    );
    // The proxy from the network wants a client key, and takes it.
    let resp = http
        .post(format!("{lan}{CHAT}"))
        .json(&hi())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = http
        .get(format!("{lan}/v1/models"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    drop(lev);
}

/// 5. A state-changing admin call from another site's page is refused.
#[tokio::test]
async fn probe_05_cross_site_post_is_refused() {
    let lev = Levity::start().await;
    for origin in [
        "https://attacker.example",
        "http://127.0.0.1.attacker.example",
        "null",
    ] {
        let resp = lev
            .http
            .post(format!("{}/api/keys", lev.url))
            .header("origin", origin)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403, "{origin}");
        let resp = lev
            .http
            .put(format!("{}/api/config", lev.url))
            .header("origin", origin)
            .json(&json!({"key": "scheduling", "value": "performance"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403, "{origin}");
    }
    let (_, keys) = lev.admin(Method::GET, "/keys", None).await;
    assert_eq!(keys, json!([]), "nothing was created");
    let (_, cfg) = lev.admin(Method::GET, "/config", None).await;
    assert_eq!(cfg["scheduling"], "balance");
    // The dashboard's own origin passes.
    let resp = lev
        .http
        .post(format!("{}/api/keys", lev.url))
        .header("origin", &lev.url)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
}

/// 6. Image addresses that lead inside: loopback, link-local metadata, IPv6
/// loopback, a name that resolves to loopback, a redirect there → refused,
/// and nothing reaches the upstream.
#[tokio::test]
async fn probe_06_image_ssrf_is_refused() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIzaPROBE6-00000001", &fake.url())
        .await;
    let port = fake.addr.port();
    // A public-looking service that redirects inside (levity must re-check
    // where a redirect leads): the fake's /moved, allowed by name only.
    let image = |url: String| {
        json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "what is it"}, {"type": "image_url", "image_url": {"url": url}}]}]})
    };
    for url in [
        format!("http://127.0.0.1:{port}/image.png"),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        format!("http://[::1]:{port}/image.png"),
        format!("http://localhost:{port}/image.png"),
        "http://10.0.0.1/x.png".to_string(),
        "http://[fd00::1]/x.png".to_string(),
        "http://0.0.0.0/x.png".to_string(),
        format!("http://127.0.0.1:{port}/moved"),
    ] {
        let (status, _, body) = lev.chat(image(url.clone())).await;
        assert_eq!(status, 400, "{url}: {body}");
        assert!(body.contains("private network"), "{url}: {body}");
    }
    assert!(
        fake.requests().is_empty(),
        "nothing was fetched or sent upstream"
    );
    // A redirect from an allowed host to a forbidden one is checked again.
    lev.set("image_fetch_allow", "localhost").await;
    let (status, _, body) = lev
        .chat(image(format!("http://localhost:{port}/moved")))
        .await;
    assert_eq!(
        status, 200,
        "a redirect within the allowed host is followed: {body}"
    );
    let (status, _, body) = lev
        .chat(image(format!("http://localhost:{port}/elsewhere")))
        .await;
    assert_eq!(
        status, 400,
        "the redirect went to 127.0.0.1, which is not allowed: {body}"
    );
    assert!(body.contains("private network"), "{body}");
}

/// 7. `file://` images only for clients on this machine, and no path climbs
/// out of the dashboard's files.
#[tokio::test]
async fn probe_07_file_images_and_path_traversal() {
    let fake = Fake::start().await;
    let (lev, lan, key) = on_the_network().await;
    lev.admin_with_token(Method::POST, "/accounts", Some(json!({"kind": "gemini", "api_key": "AIzaPROBE7-0000001", "name": "g", "base_url": fake.url()}))).await;
    lev.admin_with_token(
        Method::PUT,
        "/config",
        Some(json!({"key": "image_allow_files", "value": "on"})),
    )
    .await;
    let png = tempfile::NamedTempFile::with_suffix(".png").unwrap();
    std::fs::write(png.path(), crate::fake::PNG).unwrap();
    let body = json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": format!("file://{}", png.path().display())}}]}]});
    let remote = reqwest::Client::builder()
        .local_address(lan_ip())
        .build()
        .unwrap();
    let resp = remote
        .post(format!("{lan}{CHAT}"))
        .bearer_auth(&key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        400,
        "another machine may not read this one's files"
    );
    assert!(fake.requests().is_empty());
    let resp = lev
        .http
        .post(format!("{}{CHAT}", lev.url))
        .bearer_auth(&key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "this machine may, when allowed");

    // Raw requests, so no client normalises the path first.
    let addr: SocketAddr = lev.url.trim_start_matches("http://").parse().unwrap();
    for path in [
        "/../../../../etc/passwd",
        "/assets/../../Cargo.toml",
        "/assets/%2e%2e/%2e%2e/etc/passwd",
        "/..%2f..%2fetc/passwd",
        "/assets/..\\..\\x",
    ] {
        let answer = raw(
            addr,
            &format!("GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n"),
        )
        .await;
        let status = answer.split_whitespace().nth(1).unwrap_or("");
        assert!(
            status == "404" || status == "400",
            "{path} → {}",
            answer.lines().next().unwrap_or("")
        );
        assert!(
            !answer.contains("root:") && !answer.contains("[package]"),
            "{path} leaked a file"
        );
    }
}

async fn raw(addr: SocketAddr, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    sock.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), sock.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// 8. Bodies over the limit → 413 in the client's protocol, declared or
/// chunked, and the server goes on serving.
#[tokio::test]
async fn probe_08_oversized_bodies_get_413() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIzaPROBE8-00000001", &fake.url())
        .await;
    let big = vec![b' '; 100 * 1024 * 1024 + 1];
    let resp = lev
        .http
        .post(format!("{}{CHAT}", lev.url))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "request_too_large", "{v}");
    // Chunked (no Content-Length), to the Anthropic route: its own shape.
    // Raw, reading while writing: the answer comes before the body ends.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr: SocketAddr = lev.url.trim_start_matches("http://").parse().unwrap();
    let (mut rd, mut wr) = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap()
        .into_split();
    let writer = tokio::spawn(async move {
        let head = "POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
        wr.write_all(head.as_bytes()).await?;
        let chunk = [
            format!("{:x}\r\n", 1 << 20).into_bytes(),
            vec![b' '; 1 << 20],
            b"\r\n".to_vec(),
        ]
        .concat();
        for _ in 0..101 {
            wr.write_all(&chunk).await?;
        }
        wr.write_all(b"0\r\n\r\n").await
    });
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), async {
        let mut buf = [0u8; 4096];
        while let Ok(n) = rd.read(&mut buf).await {
            if n == 0 || {
                answer.extend_from_slice(&buf[..n]);
                answer.windows(4).any(|w| w == b"}}")
            } {
                break;
            }
        }
    })
    .await;
    writer.abort();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    let v: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap().trim()).unwrap();
    assert_eq!(
        (v["type"].as_str(), v["error"]["type"].as_str()),
        (Some("error"), Some("request_too_large")),
        "{v}"
    );
    let (status, _, body) = lev.chat(hi()).await;
    assert_eq!(status, 200, "still serving: {body}");
}

/// 9. The data file holds no account secret or client key in plain text.
#[tokio::test]
async fn probe_09_no_plaintext_secrets_at_rest() {
    let lev = Levity::start().await;
    let secrets = [
        "AIzaPROBE9-plaintext-000001",
        "sk-ant-PROBE9-plaintext-00002",
        "sk-PROBE9-openai-00003",
    ];
    lev.add_gemini("g", secrets[0], "http://127.0.0.1:9").await;
    lev.add_anthropic("a", secrets[1], "http://127.0.0.1:9")
        .await;
    lev.add_openai("o", secrets[2], "http://127.0.0.1:9/v1", &["m"])
        .await;
    let (_, v) = lev.admin(Method::POST, "/accounts", Some(json!({"kind": "google-oauth", "api_key": "1//PROBE9-refresh-token-0004", "name": "google"}))).await;
    assert!(v["id"].is_string(), "{v}");
    let key = lev.create_key().await;
    lev.set("oauth_client_secret", "GOCSPX-probe9-client-secret")
        .await;
    let dir = lev.stop().await;
    let file = std::fs::read(dir.path().join("levity.redb")).unwrap();
    for s in secrets
        .iter()
        .copied()
        .chain(["1//PROBE9-refresh-token-0004", key.as_str()])
    {
        assert!(
            !contains(&file, s.as_bytes()),
            "{s} is in the data file in plain text"
        );
        // Not even its middle (a UTF-16 or split copy would still leak it).
        assert!(
            !contains(&file, &s.as_bytes()[4..s.len() - 4]),
            "part of {s} is in the data file"
        );
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// 10. No secret in the logs at any level: the real binary at trace level
/// through adding accounts, keys, requests (whole, streamed, failing) and a
/// Google refresh.
#[tokio::test(flavor = "multi_thread")]
async fn probe_10_no_secret_in_logs_at_trace() {
    let fake = Fake::start().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_levity"))
        .args(["serve", "--port", "0", "--no-open"])
        .env("LEVITY_HOME", dir.path())
        .env("LEVITY_MACHINE_ID", "probe10")
        .env("LEVITY_LOG", "trace")
        .env("RUST_LOG", "trace")
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::from(
            std::fs::File::create(dir.path().join("serve.err")).unwrap(),
        ))
        .spawn()
        .unwrap();
    let url = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(u) = text.split_whitespace().find(|w| w.starts_with("http://")) {
            break u.to_string();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // The admin token, as the CLI reads it; it must not be logged either.
    let server: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("levity.server.json")).unwrap())
            .unwrap();
    let admin_token = server["admin_token"].as_str().unwrap().to_string();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-levity-admin-token", admin_token.parse().unwrap());
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();
    let gemini_key = "AIzaPROBE10-secret-000000001";
    let failing_key = "AIzaPROBE10-fail401-00000002";
    let anthropic_key = "sk-ant-PROBE10-secret-0000003";
    let refresh = "1//PROBE10-refresh-token-00004";
    for body in [
        json!({"kind": "gemini", "api_key": failing_key, "name": "bad", "base_url": fake.url()}),
        json!({"kind": "gemini", "api_key": gemini_key, "name": "g", "base_url": fake.url()}),
        json!({"kind": "anthropic", "api_key": anthropic_key, "name": "a", "base_url": fake.url()}),
        json!({"kind": "google-oauth", "api_key": refresh, "name": "google", "project": "p"}),
    ] {
        let resp = http
            .post(format!("{url}/api/accounts"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    }
    for (k, v) in [
        ("oauth_token_url", format!("{}/token", fake.url())),
        ("code_assist_endpoints", fake.url()),
        ("oauth_client_id", "cid".into()),
        ("oauth_client_secret", "GOCSPX-PROBE10-secret-5".into()),
    ] {
        http.put(format!("{url}/api/config"))
            .json(&json!({"key": k, "value": v}))
            .send()
            .await
            .unwrap();
    }
    let key: Value = http
        .post(format!("{url}/api/keys"))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client_key = key["key"].as_str().unwrap().to_string();
    for stream in [false, true] {
        for model in ["gemini-2.5-flash", "claude-sonnet-4-5"] {
            let resp = http.post(format!("{url}{CHAT}")).bearer_auth(&client_key)
                .json(&json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi"}]})).send().await.unwrap();
            resp.text().await.unwrap();
        }
    }
    let resp = http.post(format!("{url}/v1/messages")).header("x-api-key", &client_key)
        .json(&json!({"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]})).send().await.unwrap();
    resp.text().await.unwrap();
    let resp = http
        .post(format!("{url}{CHAT}"))
        .bearer_auth("sk-a-wrong-key-that-is-long-enough")
        .json(&hi())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    http.post(format!("{url}/api/accounts/google/quota"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // SIGTERM, as a service manager stops it.
    Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let _ = child.wait();
    let stderr = std::fs::read_to_string(dir.path().join("serve.err")).unwrap();
    // `serve --no-open` shows the dashboard's address, with the token, on
    // the terminal by design; the log (stderr) never has it.
    assert!(
        !stderr.contains(&admin_token),
        "the admin token is in a log line"
    );
    let logs = std::fs::read_to_string(&log).unwrap() + &stderr;
    assert!(
        logs.contains("request end"),
        "the scenario ran: {}",
        &logs[..logs.len().min(2000)]
    );
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "the log is verbose"
    );
    for secret in [
        gemini_key,
        failing_key,
        anthropic_key,
        refresh,
        "GOCSPX-PROBE10-secret-5",
        client_key.as_str(),
        "at-1//PROBE10",
    ] {
        let middle = &secret[3..secret.len() - 4];
        assert!(
            !logs.contains(middle),
            "{secret} appears in the logs:\n{}",
            logs.lines()
                .filter(|l| l.contains(middle))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// 11. CORS: the proxy answers browser pages only from configured origins;
/// the admin API never answers any.
#[tokio::test]
async fn probe_11_cors_only_as_configured() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIzaPROBE11-0000001", &fake.url())
        .await;
    let preflight = |path: &str, origin: &str| {
        lev.http
            .request(Method::OPTIONS, format!("{}{path}", lev.url))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
    };
    let acao = |r: &reqwest::Response| {
        r.headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_string())
    };
    // Nothing configured: no page may read the proxy.
    let resp = preflight(CHAT, "https://app.example").send().await.unwrap();
    assert_eq!((resp.status().as_u16(), acao(&resp)), (403, None));
    let resp = lev
        .http
        .post(format!("{}{CHAT}", lev.url))
        .header("origin", "https://app.example")
        .json(&hi())
        .send()
        .await
        .unwrap();
    assert_eq!(acao(&resp), None);

    let (status, v) = lev
        .admin(
            Method::PUT,
            "/config",
            Some(json!({"key": "cors_origins", "value": "app.example"})),
        )
        .await;
    assert_eq!(status, 400, "origins have a scheme: {v}");
    lev.set("cors_origins", "https://app.example, http://localhost:3000")
        .await;
    let resp = preflight(CHAT, "https://app.example").send().await.unwrap();
    assert_eq!(
        (resp.status().as_u16(), acao(&resp)),
        (204, Some("https://app.example".into()))
    );
    assert!(
        resp.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );
    let resp = lev
        .http
        .post(format!("{}{CHAT}", lev.url))
        .header("origin", "https://app.example")
        .json(&hi())
        .send()
        .await
        .unwrap();
    assert_eq!(
        (resp.status().as_u16(), acao(&resp)),
        (200, Some("https://app.example".into()))
    );
    assert_eq!(resp.headers()["vary"], "origin");
    let resp = preflight("/v1/messages", "https://other.example")
        .send()
        .await
        .unwrap();
    assert_eq!((resp.status().as_u16(), acao(&resp)), (403, None));

    // Even `*` for the proxy leaves the admin API and the dashboard closed.
    lev.set("cors_origins", "*").await;
    for path in ["/api/status", "/api/keys", "/"] {
        let resp = preflight(path, "https://app.example").send().await.unwrap();
        assert_eq!(acao(&resp), None, "{path}");
        let resp = lev
            .http
            .get(format!("{}{path}", lev.url))
            .header("origin", "https://app.example")
            .send()
            .await
            .unwrap();
        assert_eq!(acao(&resp), None, "{path}");
    }
    let resp = preflight(
        "/v1beta/models/gemini-2.5-flash:generateContent",
        "https://any.example",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(acao(&resp), Some("https://any.example".into()));
}

/// 12. Bodies are stored only with body logging on, with keys and
/// `Authorization` redacted.
#[tokio::test]
async fn probe_12_bodies_only_when_logging_and_redacted() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    let upstream = "AIzaPROBE12-upstream-key-0001";
    lev.add_gemini("g", upstream, &fake.url()).await;
    let key = lev.create_key().await;
    let body = json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": format!("marker-one, my key {upstream} and sk-proj-ABCDEFGHIJKLMNOPQRSTUV")}]});
    let send = |b: Value| {
        lev.http
            .post(format!("{}{CHAT}", lev.url))
            .bearer_auth(&key)
            .header("x-goog-api-key", upstream)
            .json(&b)
            .send()
    };
    assert_eq!(send(body.clone()).await.unwrap().status(), 200);
    lev.set("log_bodies", "on").await;
    let mut second = body.clone();
    second["messages"][0]["content"] = json!(format!(
        "marker-two, my key {upstream} and sk-proj-ABCDEFGHIJKLMNOPQRSTUV"
    ));
    assert_eq!(send(second).await.unwrap().status(), 200);
    let (_, list) = lev.admin(Method::GET, "/requests?limit=2", None).await;
    let (_, newest) = lev
        .admin(
            Method::GET,
            &format!("/requests/{}", list[0]["id"].as_str().unwrap()),
            None,
        )
        .await;
    let (_, oldest) = lev
        .admin(
            Method::GET,
            &format!("/requests/{}", list[1]["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(
        oldest["bodies"],
        Value::Null,
        "logged before body logging was on"
    );
    let text = newest["bodies"].to_string();
    assert!(text.contains("marker-two"), "{text}");
    for secret in [upstream, key.as_str(), "sk-proj-ABCDEFGHIJKLMNOPQRSTUV"] {
        assert!(
            !text.contains(&secret[4..secret.len() - 4]),
            "{secret} stored: {text}"
        );
    }
    let dir = lev.stop().await;
    let file = std::fs::read(dir.path().join("levity.redb")).unwrap();
    assert!(
        !contains(&file, b"marker-one") && !contains(&file, b"marker-two"),
        "bodies are sealed, and the first was never kept"
    );
}

/// 13. A client key revoked while the server runs stops working at once.
#[tokio::test]
async fn probe_13_revoked_key_stops_at_once() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIzaPROBE13-0000001", &fake.url())
        .await;
    let keep = lev.create_key().await;
    let (_, v) = lev
        .admin(Method::POST, "/keys", Some(json!({"name": "doomed"})))
        .await;
    let doomed = v["key"].as_str().unwrap().to_string();
    let call = |k: &str| {
        lev.http
            .post(format!("{}{CHAT}", lev.url))
            .bearer_auth(k)
            .json(&hi())
            .send()
    };
    assert_eq!(call(&doomed).await.unwrap().status(), 200);
    let (status, _) = lev.admin(Method::DELETE, "/keys/doomed", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        call(&doomed).await.unwrap().status(),
        401,
        "the very next request is refused"
    );
    assert_eq!(call(&keep).await.unwrap().status(), 200);
}

/// 14. A data file from the first schema version (levity's first build,
/// committed in tests/fixtures/data) opens, upgrades and serves.
#[tokio::test]
async fn probe_14_first_schema_data_file_upgrades() {
    let fake = Fake::start().await;
    let dir = tempfile::tempdir().unwrap();
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/data/levity-v1.redb"
    );
    std::fs::copy(fixture, dir.path().join("levity.redb")).unwrap();
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_levity"))
            .args(args)
            .env("LEVITY_HOME", dir.path())
            .env("LEVITY_PASSPHRASE", "fixture passphrase")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "levity {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let accounts = cli(&["account", "list"]);
    assert!(
        accounts.contains("v1-gemini") && accounts.contains("v1-openai"),
        "{accounts}"
    );
    assert!(cli(&["key", "list"]).contains("v1-key"));
    assert!(cli(&["config", "get", "max_attempts"]).contains('4'));
    assert!(cli(&["config", "get", "model_map.gpt-4o"]).contains("gemini-2.5-flash"));
    // The stored key still opens: point the account at the fake and call it.
    cli(&["account", "set", "v1-gemini", "--base-url", &fake.url()]);
    let lev = Levity::start_with(dir, "127.0.0.1:0".parse().unwrap(), "fixture passphrase").await;
    let resp = lev
        .http
        .post(format!("{}{CHAT}", lev.url))
        .bearer_auth("sk-lev-8705aaaff527fc4848bde55f6b6333a6e2d2c08f24fa710a")
        .json(&json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        fake.last().header("x-goog-api-key"),
        Some("AIzaV1FIXTURE-000000000001")
    );
}

// The probes of issue #14, by the part of levity they attack.
mod fetch;
mod listener;
mod store;
