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
