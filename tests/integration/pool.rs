//! The account pool under scripted upstream failures: stickiness, the three
//! scheduling modes, cool-downs as long as the upstream said, back-off,
//! breakers, re-authentication, queueing, failover before the first byte,
//! persistence across restarts, quota-aware choice, and Google OAuth
//! accounts on Code Assist.

use crate::common::{Levity, sse_events};
use crate::fake::{Fake, Fault};
use levity::util::now_ms;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

impl Levity {
    /// The account named `name` as the admin API shows it, with its state.
    pub async fn account(&self, name: &str) -> Value {
        let (_, list) = self.admin(Method::GET, "/accounts", None).await;
        list.as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no account {name}: {list}"))
    }

    /// When the account's cool-down for `model` (or all models) ends, if it rests.
    pub async fn cooling_until(&self, name: &str) -> Option<u64> {
        let a = self.account(name).await;
        a["health"]["cooling"]
            .as_array()
            .and_then(|c| c.iter().filter_map(|c| c["until_ms"].as_u64()).max())
    }
}

fn conversation(first: &str) -> Value {
    json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": first}]})
}

/// Which account served the last request, by the key the fake saw.
fn key_of(fake: &Fake) -> String {
    fake.last()
        .header("x-goog-api-key")
        .unwrap_or("")
        .to_string()
}

async fn pool(keys: &[&str]) -> (Levity, Fake) {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    for (i, key) in keys.iter().enumerate() {
        lev.add_gemini(&format!("acc{i}"), key, &fake.url()).await;
    }
    (lev, fake)
}

#[tokio::test]
async fn a_session_stays_on_its_account() {
    let (lev, fake) = pool(&["AIza-one-0000000", "AIza-two-0000000"]).await;
    lev.chat(conversation("session one")).await;
    let home = key_of(&fake);
    for turn in 0..4 {
        let mut req = conversation("session one");
        req["messages"]
            .as_array_mut()
            .unwrap()
            .push(json!({"role": "assistant", "content": format!("answer {turn}")}));
        req["messages"]
            .as_array_mut()
            .unwrap()
            .push(json!({"role": "user", "content": format!("more {turn}")}));
        let (status, _, _) = lev.chat(req).await;
        assert_eq!(status, 200);
        assert_eq!(key_of(&fake), home, "turn {turn} stayed");
    }
    lev.chat(conversation("session two")).await;
    assert_ne!(
        key_of(&fake),
        home,
        "a new session goes to the account with more headroom"
    );
}

#[tokio::test]
async fn the_three_modes_differ() {
    // performance: no stickiness, the same conversation alternates.
    let (lev, fake) = pool(&["AIza-one-0000000", "AIza-two-0000000"]).await;
    lev.set("scheduling", "performance").await;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..4 {
        lev.chat(conversation("same")).await;
        seen.insert(key_of(&fake));
    }
    assert_eq!(
        seen.len(),
        2,
        "performance spreads one conversation over both accounts"
    );

    // balance: the session moves when its account rests.
    let (lev, fake) = pool(&["AIza-one-0000000", "AIza-two-0000000"]).await;
    lev.chat(conversation("mine")).await;
    let home = key_of(&fake);
    fake.push(Fault::Status {
        status: 503,
        body: "{}".into(),
        retry_after: Some(2),
    });
    let started = Instant::now();
    lev.chat(conversation("mine")).await;
    assert_ne!(key_of(&fake), home, "balance moves at once");
    assert!(started.elapsed() < Duration::from_secs(2));

    // cache-first: the session waits for its resting account instead.
    let (lev, fake) = pool(&["AIza-one-0000000", "AIza-two-0000000"]).await;
    lev.set("scheduling", "cache-first").await;
    lev.chat(conversation("mine")).await;
    let home = key_of(&fake);
    fake.push(Fault::Status {
        status: 503,
        body: "{}".into(),
        retry_after: Some(1),
    });
    let started = Instant::now();
    let (status, _, _) = lev.chat(conversation("mine")).await;
    assert_eq!(status, 200);
    assert_eq!(
        key_of(&fake),
        home,
        "cache-first kept the session on its account"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "it waited for the account to return"
    );
    let keys: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| r.header("x-goog-api-key").unwrap().to_string())
        .collect();
    assert!(keys.iter().all(|k| *k == home), "never moved: {keys:?}");
}

#[tokio::test]
async fn a_429_with_retry_info_moves_on_and_cools_for_exactly_that_long() {
    let (lev, fake) = pool(&["AIza-fail429-one", "AIza-good-twooo"]).await;
    let before = now_ms();
    let (status, _, body) = lev.chat(conversation("hi")).await;
    let after = now_ms();
    assert_eq!(status, 200, "{body}");
    assert!(key_of(&fake).contains("good"));
    let until = lev.cooling_until("acc0").await.expect("acc0 rests");
    // The fake's RetryInfo says 7 s.
    assert!(
        until >= before + 7_000 && until <= after + 7_000,
        "{until} vs {before}..{after}"
    );
    assert_eq!(lev.account("acc0").await["state"], "cooling");
    assert!(
        lev.account("acc0").await["reason"]
            .as_str()
            .unwrap()
            .contains("rate limited")
    );
}

#[tokio::test]
async fn a_429_without_a_hint_backs_off_in_growing_steps() {
    let (lev, fake) = pool(&["AIza-only-000000"]).await;
    lev.set("queue_timeout_secs", "0").await;
    let plain = "{\"error\":{\"code\":429,\"message\":\"Resource has been exhausted\",\"status\":\"RESOURCE_EXHAUSTED\"}}";
    fake.push(Fault::Status {
        status: 429,
        body: plain.into(),
        retry_after: None,
    });
    let t0 = now_ms();
    let (status, headers, _) = lev.chat(conversation("hi")).await;
    assert_eq!(status, 429);
    let first = lev.cooling_until("acc0").await.unwrap() - t0;
    assert!(
        (4_900..6_000).contains(&first),
        "first step about 5 s: {first}"
    );
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(
        retry == first.div_ceil(1000) || retry + 1 == first.div_ceil(1000),
        "{retry} vs {first} ms"
    );
}

#[tokio::test]
async fn overloaded_upstreams_back_off_briefly_and_the_request_waits() {
    let (lev, fake) = pool(&["AIza-only-000000"]).await;
    fake.push(Fault::Status {
        status: 503,
        body: "{\"error\":{\"message\":\"overloaded\",\"status\":\"UNAVAILABLE\"}}".into(),
        retry_after: None,
    });
    fake.push(Fault::Status {
        status: 503,
        body: "{\"error\":{\"message\":\"overloaded\",\"status\":\"UNAVAILABLE\"}}".into(),
        retry_after: None,
    });
    let started = Instant::now();
    let (status, _, body) = lev.chat(conversation("hi")).await;
    assert_eq!(status, 200, "{body}");
    let waited = started.elapsed();
    // 1 s, then 2 s, then served.
    assert!(
        waited >= Duration::from_millis(2_900) && waited < Duration::from_secs(6),
        "{waited:?}"
    );
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn repeated_server_faults_open_the_breaker() {
    let (lev, fake) = pool(&["AIza-fail500-one", "AIza-good-twooo"]).await;
    // Pinned, the failing account is tried first for as long as it is usable.
    lev.set("preferred_account", "acc0").await;
    for i in 0..6 {
        let (status, _, _) = lev.chat(conversation(&format!("new session {i}"))).await;
        assert_eq!(status, 200, "the good account absorbs every fault");
    }
    let bad = fake
        .requests()
        .iter()
        .filter(|r| r.header("x-goog-api-key").unwrap().contains("fail500"))
        .count();
    assert_eq!(bad, 3, "after three faults the breaker stops sending to it");
    let a = lev.account("acc0").await;
    assert_eq!(a["state"], "cooling");
    assert!(a["reason"].as_str().unwrap().contains("circuit open"));
}

#[tokio::test]
async fn a_401_marks_reauth_and_the_client_still_gets_an_answer() {
    let (lev, fake) = pool(&["AIza-fail401-one", "AIza-good-twooo"]).await;
    let (status, _, body) = lev.chat(conversation("hi")).await;
    assert_eq!(status, 200, "{body}");
    let a = lev.account("acc0").await;
    assert_eq!(a["state"], "needs-reauth");
    assert!(a["reason"].as_str().unwrap().contains("UNAUTHENTICATED"));
    // It is left alone from now on.
    lev.chat(conversation("again")).await;
    assert!(key_of(&fake).contains("good"));
    // A new key clears the mark.
    let (status, _) = lev
        .admin(
            Method::PUT,
            "/accounts/acc0/secret",
            Some(json!({"secret": "AIza-good-fixed0"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(lev.account("acc0").await["state"], "active");

    // With no other account, the client gets a 503 that says why, not a 401.
    let (lev, _fake) = pool(&["AIza-fail401-one"]).await;
    let (status, _, body) = lev.chat(conversation("hi")).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("replace its key or sign in again"), "{body}");
    let resp = lev.http.post(format!("{}/v1/messages", lev.url)).json(&json!({"model": "gemini-2.5-flash", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]})).send().await.unwrap();
    assert_ne!(resp.status(), 401);
}

#[tokio::test]
async fn when_every_account_rests_the_request_queues_or_gets_the_real_retry_after() {
    let (lev, fake) = pool(&["AIza-only-000000"]).await;
    let limited = |secs| Fault::Status {
        status: 429,
        body: "{\"error\":{\"message\":\"quota\",\"status\":\"RESOURCE_EXHAUSTED\"}}".into(),
        retry_after: Some(secs),
    };
    fake.push(limited(1));
    let started = Instant::now();
    let (status, _, _) = lev.chat(conversation("hi")).await;
    assert_eq!(status, 200, "queued for the account's return, then served");
    assert!(started.elapsed() >= Duration::from_millis(900));

    fake.push(limited(40));
    let (status, headers, body) = lev.chat(conversation("hi")).await;
    assert_eq!(status, 429, "40 s is past the 30 s queue deadline");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((39..=40).contains(&retry), "{retry}");
    assert!(body.contains("resting"), "{body}");
    // Anthropic clients get the same, in their shape.
    let resp = lev.http.post(format!("{}/v1/messages", lev.url))
        .json(&json!({"model": "gemini-2.5-flash", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]})).send().await.unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"]["type"],
        "rate_limit_error"
    );
}

#[tokio::test]
async fn a_stream_failing_before_its_first_byte_moves_silently() {
    let (lev, fake) = pool(&["AIza-one-0000000", "AIza-two-0000000"]).await;
    fake.push(Fault::EmptyStream);
    let mut req = conversation("reply streamed");
    req["stream"] = json!(true);
    let (status, _, body) = lev.chat(req.clone()).await;
    assert_eq!(status, 200);
    assert!(body.ends_with("data: [DONE]\n\n"), "{body}");
    let text: String = sse_events(&body)
        .iter()
        .filter_map(|f| f["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "streamed");
    let keys: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| r.header("x-goog-api-key").unwrap().to_string())
        .collect();
    assert_eq!(keys.len(), 2);
    assert_ne!(keys[0], keys[1]);
}

#[tokio::test]
async fn cooldowns_survive_a_restart() {
    let (lev, _fake) = pool(&["AIza-fail429-one"]).await;
    lev.set("queue_timeout_secs", "0").await;
    lev.chat(conversation("hi")).await;
    let until = lev.cooling_until("acc0").await.unwrap();
    let dir = lev.stop().await;
    let lev = Levity::start_in(dir).await;
    assert_eq!(lev.cooling_until("acc0").await, Some(until));
    assert_eq!(lev.account("acc0").await["state"], "cooling");
}

#[tokio::test]
async fn quota_headroom_steers_new_sessions() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    let base = format!("{}/v1", fake.url());
    lev.add_openai("low", "sk-lowquota-0000", &base, &["m"])
        .await;
    lev.add_openai("high", "sk-highquota-000", &base, &["m"])
        .await;
    // Teach the scheduler what each host says is left.
    lev.set("scheduling", "performance").await;
    for i in 0..2 {
        lev.chat(
            json!({"model": "m", "messages": [{"role": "user", "content": format!("warm {i}")}]}),
        )
        .await;
    }
    lev.set("scheduling", "balance").await;
    for i in 0..4 {
        lev.chat(json!({"model": "m", "messages": [{"role": "user", "content": format!("new session {i}")}]})).await;
        assert_eq!(
            fake.last().header("authorization"),
            Some("Bearer sk-highquota-000"),
            "session {i}"
        );
    }
    let (status, best) = lev.admin(Method::GET, "/accounts/best?model=m", None).await;
    assert_eq!(status, 200);
    assert_eq!(best["account"]["name"], "high");
    assert!(best["score"].as_f64().unwrap() > 0.5);

    // Pinning overrides headroom for new sessions.
    let (status, _) = lev
        .admin(
            Method::PUT,
            "/accounts/preferred",
            Some(json!({"account": "low"})),
        )
        .await;
    assert_eq!(status, 200);
    lev.chat(json!({"model": "m", "messages": [{"role": "user", "content": "pinned session"}]}))
        .await;
    assert_eq!(
        fake.last().header("authorization"),
        Some("Bearer sk-lowquota-0000")
    );
}

#[tokio::test]
async fn accounts_keep_the_users_order_and_settings() {
    let (lev, _fake) = pool(&["AIza-one-0000000", "AIza-two-0000000", "AIza-three-00000"]).await;
    let (status, order) = lev
        .admin(
            Method::PUT,
            "/accounts/order",
            Some(json!(["acc2", "acc0"])),
        )
        .await;
    assert_eq!(status, 200);
    let names: Vec<&str> = order
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["acc2", "acc0", "acc1"]);
    let (status, a) = lev
        .admin(
            Method::PATCH,
            "/accounts/acc1",
            Some(json!({"enabled": false, "tier": "pro", "proxy": "socks5://127.0.0.1:1"})),
        )
        .await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(
        (a["enabled"].as_bool(), a["tier"].as_str()),
        (Some(false), Some("pro"))
    );
    assert_eq!(lev.account("acc1").await["state"], "disabled");
    let (status, err) = lev
        .admin(
            Method::PATCH,
            "/accounts/acc1",
            Some(json!({"proxy": "ftp://x"})),
        )
        .await;
    assert_eq!(status, 400, "{err}");
    let dir = lev.stop().await;
    let lev = Levity::start_in(dir).await;
    let (_, list) = lev.admin(Method::GET, "/accounts", None).await;
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["acc2", "acc0", "acc1"], "the order persisted");
}

async fn google(fake: &Fake, lev: &Levity, name: &str, refresh_token: &str) {
    let body = json!({"kind": "google-oauth", "api_key": refresh_token, "name": name});
    let (status, v) = lev.admin(Method::POST, "/accounts", Some(body)).await;
    assert_eq!(status, 201, "{v}");
    lev.set("oauth_client_id", "client-1.apps.example").await;
    lev.set("oauth_client_secret", "client-secret").await;
    lev.set("oauth_token_url", &format!("{}/token", fake.url()))
        .await;
    lev.set(
        "code_assist_endpoints",
        &format!("{0}/daily,{0}/prod", fake.url()),
    )
    .await;
}

#[tokio::test]
async fn google_accounts_go_through_code_assist_with_endpoint_fallback() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    google(&fake, &lev, "me@gmail.com", "rt-good-1").await;

    let (status, _, body) = lev.chat(conversation("hello google")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["choices"][0]["message"]["content"],
        "echo: hello google"
    );
    let reqs = fake.requests();
    let paths: Vec<&str> = reqs.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/token",
            "/daily/v1internal:loadCodeAssist",
            "/daily/v1internal:generateContent"
        ]
    );
    assert!(
        reqs[0].raw.contains("grant_type=refresh_token")
            && reqs[0].raw.contains("refresh_token=rt-good-1")
    );
    let generate = &reqs[2];
    assert_eq!(
        generate.header("authorization"),
        Some("Bearer at-rt-good-1")
    );
    assert_eq!(generate.body["model"], "gemini-2.5-flash");
    assert_eq!(generate.body["project"], "fake-project");
    assert_eq!(
        generate.body["request"]["contents"][0]["parts"][0]["text"],
        "hello google"
    );

    // The daily endpoint fails: the production one serves, without a new token.
    fake.push(Fault::Status {
        status: 404,
        body: "{\"error\":{\"message\":\"not here\",\"status\":\"NOT_FOUND\"}}".into(),
        retry_after: None,
    });
    let mut req = conversation("stream please");
    req["stream"] = json!(true);
    let (status, _, body) = lev.chat(req).await;
    assert_eq!(status, 200, "{body}");
    let text: String = sse_events(&body)
        .iter()
        .filter_map(|f| f["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "echo: stream please");
    let paths: Vec<String> = fake
        .requests()
        .iter()
        .skip(3)
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        paths,
        [
            "/daily/v1internal:streamGenerateContent?alt=sse",
            "/prod/v1internal:streamGenerateContent?alt=sse"
        ]
    );
}

#[tokio::test]
async fn revoked_refresh_tokens_need_reauth_and_new_accounts_onboard() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    google(&fake, &lev, "revoked@gmail.com", "rt-revoked-1").await;
    google(&fake, &lev, "fresh@gmail.com", "rt-fresh-2").await;
    let (status, _, body) = lev.chat(conversation("hi")).await;
    assert_eq!(status, 200, "{body}");
    let a = lev.account("revoked@gmail.com").await;
    assert_eq!(a["state"], "needs-reauth");
    assert!(
        a["reason"].as_str().unwrap().contains("invalid_grant"),
        "{a}"
    );
    let onboard = fake
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with(":onboardUser"))
        .expect("onboarded");
    assert_eq!(onboard.body["tierId"], "free-tier");
    assert_eq!(fake.last().body["project"], "onboarded-project");
}

#[tokio::test]
async fn google_quota_is_read_after_a_429() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    google(&fake, &lev, "q@gmail.com", "rt-lowquota-1").await;
    lev.set("queue_timeout_secs", "0").await;
    // Both endpoints (daily, then production) say 429.
    for _ in 0..2 {
        fake.push(Fault::Status {
            status: 429,
            body: "{\"error\":{\"message\":\"quota\",\"status\":\"RESOURCE_EXHAUSTED\"}}".into(),
            retry_after: Some(60),
        });
    }
    let (status, _, _) = lev.chat(conversation("hi")).await;
    assert_eq!(status, 429);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let a = lev.account("q@gmail.com").await;
        if let Some(f) = a["health"]["remaining"]["gemini-2.5-flash"]["fraction"].as_f64() {
            assert!((f - 0.1).abs() < 1e-9);
            break;
        }
        assert!(Instant::now() < deadline, "quota was not read: {a}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.path.ends_with(":retrieveUserQuota") && r.body["project"] == "fake-project")
    );
}

/// An account's outbound proxy carries its calls (here the fake plays an
/// HTTP proxy: it sees the absolute address of a host that does not exist).
#[tokio::test]
async fn accounts_call_out_through_their_proxy() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    let body = json!({"kind": "gemini", "api_key": "AIza-proxied-0001", "name": "p", "base_url": "http://gemini.invalid", "proxy": fake.url()});
    let (status, v) = lev.admin(Method::POST, "/accounts", Some(body)).await;
    assert_eq!(status, 201, "{v}");
    let (status, _, body) = lev.chat(conversation("through the proxy")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        fake.last().path,
        "http://gemini.invalid/v1beta/models/gemini-2.5-flash:generateContent"
    );
}

#[tokio::test]
async fn a_lone_account_gets_another_try_after_a_passing_fault() {
    let (lev, fake) = pool(&["AIza-only-000000"]).await;
    for fault in [
        Fault::Status {
            status: 500,
            body: "{}".into(),
            retry_after: None,
        },
        Fault::Drop,
    ] {
        fake.push(fault);
        let started = Instant::now();
        let (status, _, body) = lev.chat(conversation("please answer")).await;
        assert_eq!(status, 200, "tried again rather than giving up: {body}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }
    let (_, log) = lev.admin(Method::GET, "/requests?limit=1", None).await;
    assert_eq!(log[0]["attempts"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_in_flight_together_do_not_stack_the_rest() {
    let (lev, fake) = pool(&["AIza-only-000000"]).await;
    lev.set("queue_timeout_secs", "0").await;
    lev.set("max_attempts", "1").await;
    // Six requests in flight together each meet a 503: one rest, not six
    // strikes (which made it 32 s).
    for _ in 0..6 {
        let overloaded = Fault::Status {
            status: 503,
            body: "{}".into(),
            retry_after: None,
        };
        fake.push(Fault::After(
            Duration::from_millis(300),
            Box::new(overloaded),
        ));
    }
    let runs = (0..6).map(|i| lev.chat(conversation(&format!("burst {i}"))));
    futures_util::future::join_all(runs).await;
    let until = lev.cooling_until("acc0").await.expect("acc0 rests");
    let rest = until.saturating_sub(now_ms());
    assert!(rest <= 4_000, "rests {rest} ms after one burst of 503s");
}
