//! Security probes against what levity fetches and reads for a request:
//! image addresses and files, proxies, upstream hints and answer sizes.

use super::hi;
use crate::common::Levity;
use crate::fake::{Fake, Fault};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, SystemTime};

/// A week in seconds: the longest rest levity gives an account.
const WEEK: u64 = 7 * 24 * 3600;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A Gemini 429 whose `Retry-After` header is `value`, exactly as written.
fn limited(value: String) -> Fault {
    Fault::Headers {
        status: 429,
        headers: vec![("retry-after", value)],
        body: json!({"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}})
            .to_string(),
    }
}

/// One Gemini account that never queues, so a rest reaches the client as
/// its `Retry-After`.
async fn one_account(key: &str) -> (Levity, Fake) {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", key, &fake.url()).await;
    lev.set("queue_timeout_secs", "0").await;
    (lev, fake)
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> u64 {
    let value = headers["retry-after"].to_str().unwrap();
    value
        .parse()
        .unwrap_or_else(|_| panic!("Retry-After {value:?} is not delay-seconds"))
}

/// RFC 9110 §10.2.3: `Retry-After` is delay-seconds or an HTTP-date. A
/// value past u64 once came back to clients as `18446744073709552` and
/// rested the account for ever; an HTTP-date was not read at all.
#[tokio::test]
async fn retry_after_in_any_form_is_read_and_capped_at_a_week() {
    let (lev, fake) = one_account("AIzaRETRY-0000001").await;
    fake.push(limited("99999999999999999999".into()));
    let (status, headers, body) = lev.chat(hi()).await;
    assert_eq!(status, 429, "{body}");
    let secs = retry_after(&headers);
    assert!((WEEK - 60..=WEEK).contains(&secs), "Retry-After {secs}");
    let (_, accounts) = lev.admin(Method::GET, "/accounts", None).await;
    let until = accounts[0]["health"]["cooling"][0]["until_ms"]
        .as_u64()
        .unwrap();
    assert!(
        until <= now_ms() + WEEK * 1000,
        "rests until {until}: past a week"
    );

    // An IMF-fixdate three seconds ahead: a 3 s rest (not the 5 s step
    // levity takes without a hint), and then the account serves again.
    let (lev, fake) = one_account("AIzaRETRY-0000002").await;
    let at = SystemTime::now() + Duration::from_secs(3);
    fake.push(limited(httpdate::fmt_http_date(at)));
    let (status, headers, body) = lev.chat(hi()).await;
    assert_eq!(status, 429, "{body}");
    let secs = retry_after(&headers);
    assert!(
        (2..=3).contains(&secs),
        "Retry-After {secs} for a date 3 s ahead"
    );
    tokio::time::sleep(Duration::from_secs(secs + 1)).await;
    let (status, _, body) = lev.chat(hi()).await;
    assert_eq!(status, 200, "the account came back: {body}");
}

/// A whole answer past `answer_max_mb` fails that attempt as the upstream's
/// fault: another account serves, or the client gets a clean error in its
/// protocol naming the setting. Before the cap, a 600 MB answer was read
/// whole (and copied) into memory.
#[tokio::test]
async fn whole_answers_larger_than_the_cap_fail_over_cleanly() {
    const BIG: usize = 3 << 20;
    // Translated (Chat to Gemini) and passed through (Chat to OpenAI-compatible).
    for native in [false, true] {
        let fake = Fake::start().await;
        let lev = Levity::start().await;
        lev.set("answer_max_mb", "1").await;
        let add = |name: &'static str, key: &'static str| {
            let (lev, url) = (&lev, fake.url());
            async move {
                if native {
                    lev.add_openai(name, key, &format!("{url}/v1"), &["gpt-test"])
                        .await
                } else {
                    lev.add_gemini(name, key, &url).await
                }
            }
        };
        let mut ask = hi();
        if native {
            ask["model"] = json!("gpt-test");
        }
        add("a", "AIzaHUGE-00000001").await;
        // One attempt, or the retry on the same account would be served.
        lev.set("max_attempts", "1").await;
        fake.push(Fault::Huge(BIG));
        let (status, _, body) = lev.chat(ask.clone()).await;
        assert_eq!(status, 502, "native {native}: {body}");
        let err: Value = serde_json::from_str(&body).expect("an OpenAI error body");
        let msg = err["error"]["message"].as_str().unwrap();
        assert!(msg.contains("answer_max_mb"), "native {native}: {msg}");

        add("b", "AIzaHUGE-00000002").await;
        lev.set("max_attempts", "2").await;
        fake.push(Fault::Huge(BIG));
        let (status, _, body) = lev.chat(ask).await;
        assert_eq!(
            status, 200,
            "native {native}: the other account served: {body}"
        );
        assert!(body.contains("echo: hi"), "{body}");
        assert_eq!(fake.requests().len(), 3, "one failed attempt each time");
    }
}

fn with_image(url: &str) -> Value {
    json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "what is it"}, {"type": "image_url", "image_url": {"url": url}}]}]})
}

/// `file://` images, allowed: a link named `image.png` to a secret once went
/// upstream as an image, and a FIFO named `.png` hung the request. Only
/// regular files inside the folder named, whose bytes are an image, are read.
#[cfg(unix)]
#[tokio::test]
async fn file_images_are_regular_image_files_inside_their_folder() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIzaFILES-00000001", &fake.url()).await;
    lev.set("image_allow_files", "on").await;
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let secret = elsewhere.path().join("shadow");
    std::fs::write(&secret, "root:$6$salt$hash:19000:0:99999:7:::\n").unwrap();
    let at = |name: &str| dir.path().join(name);
    std::fs::write(at("shot.png"), crate::fake::PNG).unwrap();
    std::os::unix::fs::symlink(at("shot.png"), at("alias.png")).unwrap();
    std::os::unix::fs::symlink(&secret, at("image.png")).unwrap();
    std::fs::write(at("text.png"), "not an image at all").unwrap();
    let fifo = at("fifo.png");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates a file.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);

    let ask = |name: &str| with_image(&format!("file://{}", at(name).display()));
    for (name, status, says) in [
        ("shot.png", 200, ""),
        ("alias.png", 200, ""),
        ("image.png", 400, "leads out of its folder"),
        ("text.png", 400, "not an image"),
        ("fifo.png", 400, "not a regular file"),
    ] {
        let sent = fake.requests().len();
        let answer = tokio::time::timeout(Duration::from_secs(10), lev.chat(ask(name))).await;
        let Ok((got, _, body)) = answer else {
            // Let the blocked reader go (it sees the end of the FIFO), then fail.
            drop(std::fs::OpenOptions::new().write(true).open(&fifo));
            panic!("reading {name} hung the request");
        };
        assert_eq!(got, status, "{name}: {body}");
        assert!(body.contains(says), "{name}: {body}");
        if status == 400 {
            assert_eq!(fake.requests().len(), sent, "{name} went upstream");
            assert!(!body.contains("root:"), "{body}");
        }
    }
    let (status, _, body) = lev.chat(with_image("file://tmp/shot.png")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("absolute"), "{body}");
}

/// A small HTTP server on `ip` answering every request with a PNG.
async fn png_server(ip: std::net::IpAddr) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut buf = [0u8; 4096];
            let _ = sock.read(&mut buf).await;
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: image/png\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                crate::fake::PNG.len()
            );
            let _ = sock.write_all(head.as_bytes()).await;
            let _ = sock.write_all(crate::fake::PNG).await;
        }
    });
    addr
}

/// This machine's own network address is as much "inside" as loopback:
/// a public address bound here reaches its local services. (Here it is
/// 192.0.2.x, TEST-NET-1, which no range check refuses; on a machine whose
/// only address is private this probe refuses for that reason instead.)
#[tokio::test]
async fn image_addresses_of_this_machine_are_refused() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIzaOWNIP-00000001", &fake.url()).await;
    let addr = png_server(super::lan_ip()).await;
    let (status, _, body) = lev
        .chat(with_image(&format!("http://{addr}/image.png")))
        .await;
    assert_eq!(status, 400, "{addr}: {body}");
    assert!(body.contains("private network"), "{body}");
    assert!(fake.requests().is_empty(), "nothing went upstream");
}

/// A stand-in for a proxy from the environment: it counts connections and
/// answers each with a 502, as a proxy that cannot reach the target would.
async fn recording_proxy() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(AtomicUsize::new(0));
    let count = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            use tokio::io::AsyncWriteExt;
            count.fetch_add(1, Ordering::SeqCst);
            let _ = sock
                .write_all(
                    b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )
                .await;
        }
    });
    (url, seen)
}

/// With `HTTP_PROXY` (and its kin) set, the CLI once sent the admin token
/// and raw API keys to the local server through that proxy, and image
/// fetches and upstream calls went through it too, past the SSRF guard.
/// Now the proxy sees nothing, and everything still works.
#[tokio::test]
async fn proxies_from_the_environment_see_nothing() {
    use crate::cli::{levity, start};
    let (proxy, seen) = recording_proxy().await;
    let fake = Fake::start().await;
    let dir = tempfile::tempdir().unwrap();
    let with_proxy = |args: &[&str]| {
        let mut cmd = levity(dir.path(), args);
        for var in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"] {
            cmd.env(var, &proxy).env(var.to_ascii_lowercase(), &proxy);
        }
        cmd.env_remove("NO_PROXY").env_remove("no_proxy");
        cmd
    };
    let server = start(with_proxy(&["serve", "--port", "0", "--no-open"]));
    let url = fake.url();
    for args in [
        &[
            "account",
            "add",
            "gemini",
            "--api-key",
            "AIzaENVPROXY-0001",
            "--base-url",
            &url,
        ][..],
        &["config", "set", "image_fetch_allow", "127.0.0.1"],
        &["account", "list"],
    ] {
        let mut cmd = with_proxy(args);
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(out.status.success(), "levity {args:?}: {stderr}");
        assert!(
            args[1] != "list" || stdout.contains("AIz...0001"),
            "{stdout}"
        );
    }
    let resp = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("{}/v1/chat/completions", server.url))
        .json(&with_image(&format!("{url}/image.png")))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let body = resp.text().await.unwrap();
    assert_eq!(status, 200, "the image was fetched and sent: {body}");
    assert_eq!(
        fake.last().body["contents"][0]["parts"][1]["inlineData"]["mimeType"],
        "image/png"
    );
    assert_eq!(
        seen.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the environment's proxy was used"
    );
}
