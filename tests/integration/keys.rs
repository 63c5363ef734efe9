//! Client keys with limits: requests and tokens a minute, requests a day,
//! a budget per period, the models a key may use and the day it ends; each
//! refusal in the client's own protocol, naming the key and when to retry.

use crate::common::Levity;
use crate::fake::Fake;
use reqwest::Method;
use serde_json::{Value, json};

/// A key with `limits`; its plaintext.
async fn key(lev: &Levity, limits: Value) -> String {
    let (status, v) = lev.admin(Method::POST, "/keys", Some(limits)).await;
    assert_eq!(status, 201, "{v}");
    v["key"].as_str().unwrap().to_string()
}

/// One request of `protocol` with `key`: status, Retry-After, body.
async fn ask(lev: &Levity, key: &str, protocol: &str, model: &str) -> (u16, Option<String>, Value) {
    let text = "reply hello";
    let (path, body) = match protocol {
        "chat" => (
            "/v1/chat/completions".to_string(),
            json!({"model": model, "messages": [{"role": "user", "content": text}]}),
        ),
        "responses" => (
            "/v1/responses".into(),
            json!({"model": model, "input": text}),
        ),
        "messages" => (
            "/v1/messages".into(),
            json!({"model": model, "max_tokens": 50, "messages": [{"role": "user", "content": text}]}),
        ),
        _ => (
            format!("/v1beta/models/{model}:generateContent"),
            json!({"contents": [{"role": "user", "parts": [{"text": text}]}]}),
        ),
    };
    let resp = lev
        .http
        .post(format!("{}{path}", lev.url))
        .bearer_auth(key)
        .header("x-api-key", key)
        .header("x-goog-api-key", key)
        .header("anthropic-version", "2023-06-01")
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (status, retry, resp.json().await.unwrap_or(Value::Null))
}

/// The error's message in each protocol's shape, checked to be that shape.
fn message(protocol: &str, v: &Value) -> String {
    let m = match protocol {
        "messages" => {
            assert_eq!(v["type"], "error", "{v}");
            &v["error"]["message"]
        }
        "gemini" => {
            assert!(v["error"]["status"].is_string(), "{v}");
            &v["error"]["message"]
        }
        _ => {
            assert!(v["error"]["type"].is_string(), "{v}");
            &v["error"]["message"]
        }
    };
    m.as_str().unwrap_or_default().to_string()
}

const PROTOCOLS: [&str; 4] = ["chat", "responses", "messages", "gemini"];

/// The error type each protocol gives a status: Anthropic's `type`s and
/// Google's `status`es as their error references list them
/// (docs.anthropic.com/en/api/errors, ai.google.dev/gemini-api/docs/troubleshooting);
/// OpenAI's clients read only the status and the message.
fn kind_of(protocol: &str, v: &Value) -> String {
    let k = match protocol {
        "messages" => &v["error"]["type"],
        "gemini" => &v["error"]["status"],
        _ => return String::new(),
    };
    k.as_str().unwrap_or_default().to_string()
}

/// Every limit, refused in every client protocol: the status, Retry-After
/// where waiting helps, the error in the protocol's own shape, and a message
/// naming the key and the limit.
#[tokio::test]
async fn every_limit_refuses_in_every_client_protocol() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIzaLIMITS-00000004", &fake.url())
        .await;
    // (limit, its settings, requests that pass first, model asked, status,
    // Retry-After expected, what the message says, Anthropic's type, Google's status)
    let cases = [
        (
            "rpm",
            json!({"rpm": 1}),
            1,
            "gemini-2.5-flash",
            429,
            true,
            "1 requests a minute",
            "rate_limit_error",
            "RESOURCE_EXHAUSTED",
        ),
        (
            "rpd",
            json!({"rpd": 1}),
            1,
            "gemini-2.5-flash",
            429,
            true,
            "1 requests a day",
            "rate_limit_error",
            "RESOURCE_EXHAUSTED",
        ),
        (
            "tpm",
            json!({"tpm": 5}),
            1,
            "gemini-2.5-flash",
            429,
            true,
            "5 tokens a minute",
            "rate_limit_error",
            "RESOURCE_EXHAUSTED",
        ),
        // The first request spends the budget (priced from the catalogue).
        (
            "budget",
            json!({"budget_usd": 0.000_000_1, "period": "day"}),
            1,
            "gemini-2.5-flash",
            429,
            true,
            "budget for this day",
            "rate_limit_error",
            "RESOURCE_EXHAUSTED",
        ),
        (
            "models",
            json!({"models": ["gemini-2.5-flash*"]}),
            0,
            "gemini-2.5-pro",
            403,
            false,
            "gemini-2.5-flash*",
            "permission_error",
            "PERMISSION_DENIED",
        ),
        (
            "expires",
            json!({"expires": "2020-01-31"}),
            0,
            "gemini-2.5-flash",
            401,
            false,
            "expired after 2020-01-31",
            "authentication_error",
            "UNAUTHENTICATED",
        ),
    ];
    for (limit, settings, pass, model, status, waits, says, anthropic, google) in cases {
        for protocol in PROTOCOLS {
            let name = format!("{limit}-{protocol}");
            let mut body = settings.clone();
            body["name"] = json!(name);
            let k = key(&lev, body).await;
            for _ in 0..pass {
                let (got, _, v) = ask(&lev, &k, protocol, model).await;
                assert_eq!(got, 200, "{name}: {v}");
            }
            let (got, retry, v) = ask(&lev, &k, protocol, model).await;
            assert_eq!(got, status, "{name}: {v}");
            let said = message(protocol, &v);
            assert!(
                said.contains(&name) && said.contains(says),
                "{name}: {said}"
            );
            match protocol {
                "messages" => assert_eq!(kind_of(protocol, &v), anthropic, "{name}: {v}"),
                "gemini" => assert_eq!(kind_of(protocol, &v), google, "{name}: {v}"),
                _ => {}
            }
            match retry {
                Some(r) => {
                    assert!(
                        waits,
                        "{name}: a Retry-After on a refusal waiting cannot cure"
                    );
                    let secs: u64 = r.parse().unwrap();
                    assert!((1..=31 * 86_400).contains(&secs), "{name}: {secs}");
                }
                None => assert!(!waits, "{name}: no Retry-After"),
            }
        }
    }
}

#[tokio::test]
async fn a_key_over_its_rate_hears_429_with_the_wait_in_its_protocol() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIzaLIMITS-00000001", &fake.url())
        .await;
    for protocol in PROTOCOLS {
        let k = key(&lev, json!({"name": format!("rpm-{protocol}"), "rpm": 2})).await;
        for _ in 0..2 {
            let (status, _, v) = ask(&lev, &k, protocol, "gemini-2.5-flash").await;
            assert_eq!(status, 200, "{protocol}: {v}");
        }
        let (status, retry, v) = ask(&lev, &k, protocol, "gemini-2.5-flash").await;
        assert_eq!(status, 429, "{protocol}: {v}");
        let wait: u64 = retry.expect("Retry-After").parse().unwrap();
        assert!((1..=60).contains(&wait), "{protocol}: {wait}");
        let said = message(protocol, &v);
        assert!(
            said.contains(&format!("rpm-{protocol}")) && said.contains("2 requests a minute"),
            "{said}"
        );
    }
    // Another key is not held back by the first one's limit.
    let free = key(&lev, json!({"name": "free"})).await;
    assert_eq!(ask(&lev, &free, "chat", "gemini-2.5-flash").await.0, 200);
}

#[tokio::test]
async fn limits_change_at_once_and_bad_ones_are_refused() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIzaLIMITS-00000002", &fake.url())
        .await;

    let k = key(&lev, json!({"name": "tokens", "tpm": 5})).await;
    assert_eq!(ask(&lev, &k, "chat", "gemini-2.5-flash").await.0, 200);
    assert_eq!(ask(&lev, &k, "chat", "gemini-2.5-flash").await.0, 429);

    // Limits change at once; lifted, the key works again.
    let (status, v) = lev
        .admin(Method::PATCH, "/keys/tokens", Some(json!({})))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(ask(&lev, &k, "chat", "gemini-2.5-flash").await.0, 200);

    // Bad limits are refused with what is wrong.
    for (bad, says) in [
        (json!({"expires": "2027-02-30"}), "--expires"),
        (json!({"budget_usd": -1.0}), "--budget"),
        (json!({"period": "week"}), "--period needs a --budget"),
        (json!({"models": ["a b"]}), "--models"),
    ] {
        let (status, v) = lev.admin(Method::POST, "/keys", Some(bad.clone())).await;
        assert_eq!(status, 400, "{bad}: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(says),
            "{v}"
        );
    }
}

/// A day's requests are counted from the request log, so a restart does
/// not give a key a fresh day.
#[tokio::test]
async fn a_day_s_requests_survive_a_restart() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIzaLIMITS-00000003", &fake.url())
        .await;
    let k = key(&lev, json!({"name": "daily", "rpd": 2})).await;
    assert_eq!(ask(&lev, &k, "chat", "gemini-2.5-flash").await.0, 200);
    assert_eq!(ask(&lev, &k, "chat", "gemini-2.5-flash").await.0, 200);
    let dir = lev.stop().await;
    let lev = Levity::start_in(dir).await;
    let (status, retry, v) = ask(&lev, &k, "chat", "gemini-2.5-flash").await;
    assert_eq!(status, 429, "{v}");
    assert!(message("chat", &v).contains("2 requests a day"));
    assert!(retry.unwrap().parse::<u64>().unwrap() <= 86_400);
}
