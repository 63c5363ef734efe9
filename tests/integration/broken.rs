//! One broken account among good ones, broken each way real upstreams
//! report it (the fake answers with the providers' own bodies, see
//! `fake::broken_key`): every request still succeeds through the others,
//! the broken account is marked with its reason, and it is called once.

use crate::common::Levity;
use crate::fake::Fake;
use levity::scheduler::Zone;
use levity::util::now_ms;
use reqwest::Method;
use serde_json::{Value, json};

#[derive(Clone, Copy)]
enum Kind {
    Gemini,
    Anthropic,
    Openai,
}

impl Kind {
    async fn add(self, lev: &Levity, fake: &Fake, name: &str, key: &str, project: Option<&str>) {
        let mut body = match self {
            Kind::Gemini => {
                json!({"kind": "gemini", "api_key": key, "name": name, "base_url": fake.url()})
            }
            Kind::Anthropic => {
                json!({"kind": "anthropic", "api_key": key, "name": name, "base_url": fake.url()})
            }
            Kind::Openai => json!({"kind": "openai", "api_key": key, "name": name,
                "base_url": format!("{}/v1", fake.url()), "models": ["deepseek-chat"]}),
        };
        if let Some(p) = project {
            body["project"] = json!(p);
        }
        let (status, v) = lev.admin(Method::POST, "/accounts", Some(body)).await;
        assert_eq!(status, 201, "{v}");
    }

    fn model(self) -> &'static str {
        match self {
            Kind::Gemini => "gemini-2.5-flash",
            Kind::Anthropic => "claude-sonnet-4-5",
            Kind::Openai => "deepseek-chat",
        }
    }

    /// A new conversation, alternately in Chat Completions and in the
    /// account kind's own protocol (the pass-through path).
    async fn ask(self, lev: &Levity, i: usize) -> (u16, String) {
        let text = format!("conversation {i}");
        if i.is_multiple_of(2) {
            let (status, _, body) = lev
                .chat(
                    json!({"model": self.model(), "messages": [{"role": "user", "content": text}]}),
                )
                .await;
            return (status, body);
        }
        let (path, body) = match self {
            Kind::Gemini => (
                format!("/v1beta/models/{}:generateContent", self.model()),
                json!({"contents": [{"role": "user", "parts": [{"text": text}]}]}),
            ),
            Kind::Anthropic => (
                "/v1/messages".to_string(),
                json!({"model": self.model(), "max_tokens": 100, "messages": [{"role": "user", "content": text}]}),
            ),
            Kind::Openai => (
                "/v1/chat/completions".to_string(),
                json!({"model": self.model(), "messages": [{"role": "user", "content": text}]}),
            ),
        };
        lev.post(&path, &body).await
    }
}

/// How many calls reached the fake with `key`.
fn calls_with(fake: &Fake, key: &str) -> usize {
    fake.requests()
        .iter()
        .filter(|r| {
            [
                r.header("x-goog-api-key"),
                r.header("x-api-key"),
                r.header("authorization"),
            ]
            .iter()
            .flatten()
            .any(|v| v.contains(key))
        })
        .count()
}

#[tokio::test]
async fn a_broken_account_among_good_ones_is_marked_and_called_once() {
    let cases = [
        (
            Kind::Gemini,
            "AIza-revoked-00000",
            "needs-reauth",
            "credentials",
            "API key not valid",
        ),
        (
            Kind::Gemini,
            "AIza-region-000000",
            "needs-action",
            "region",
            "User location is not supported",
        ),
        (
            Kind::Gemini,
            "AIza-noapi-0000000",
            "needs-action",
            "permission",
            "has not been used in project",
        ),
        (
            Kind::Anthropic,
            "sk-ant-revoked-000",
            "needs-reauth",
            "credentials",
            "invalid x-api-key",
        ),
        (
            Kind::Anthropic,
            "sk-ant-nocredit-00",
            "needs-action",
            "billing",
            "credit balance is too low",
        ),
        (
            Kind::Openai,
            "sk-revoked-0000000",
            "needs-reauth",
            "credentials",
            "Incorrect API key",
        ),
        (
            Kind::Openai,
            "sk-nocredit-000000",
            "needs-action",
            "billing",
            "exceeded your current quota",
        ),
        (
            Kind::Openai,
            "sk-nobalance-00000",
            "needs-action",
            "billing",
            "Insufficient Balance",
        ),
    ];
    for (kind, broken, state, what, says) in cases {
        let fake = Fake::start().await;
        let lev = Levity::start().await;
        // First in the user's order, so new sessions would go to it.
        kind.add(&lev, &fake, "broken", broken, None).await;
        kind.add(&lev, &fake, "good1", "key-good-one-0000", None)
            .await;
        kind.add(&lev, &fake, "good2", "key-good-two-0000", None)
            .await;
        for i in 0..6 {
            let (status, body) = kind.ask(&lev, i).await;
            assert_eq!(status, 200, "{broken}, request {i}: {body}");
        }
        assert_eq!(calls_with(&fake, broken), 1, "{broken} was called once");
        let a = lev.account("broken").await;
        assert_eq!(a["state"], state, "{broken}: {a}");
        assert_eq!(a["health"]["broken"], what, "{broken}: {a}");
        assert!(
            a["reason"].as_str().unwrap().contains(says),
            "{broken}: {a}"
        );
        assert!(a["health"]["remedy"].is_string(), "{broken}: {a}");
        for good in ["good1", "good2"] {
            assert_eq!(lev.account(good).await["state"], "active");
        }
        // A new secret is the owner's action: the account is tried again.
        let id = a["id"].as_str().unwrap();
        let (status, v) = lev
            .admin(
                Method::PUT,
                &format!("/accounts/{id}/secret"),
                Some(json!({"secret": "key-mended-000000"})),
            )
            .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(lev.account("broken").await["state"], "active");
    }
}

#[tokio::test]
async fn a_spent_day_quota_rests_its_project_until_midnight_pacific() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    let g = Kind::Gemini;
    // Two keys of one Google Cloud project share its quota; the third is
    // another project's.
    g.add(&lev, &fake, "p1-a", "AIza-perday-000000", Some("p1"))
        .await;
    g.add(&lev, &fake, "p1-b", "AIza-sibling-00000", Some("p1"))
        .await;
    g.add(&lev, &fake, "p2", "AIza-other-0000000", None).await;
    for i in 0..6 {
        let (status, body) = g.ask(&lev, i).await;
        assert_eq!(status, 200, "request {i}: {body}");
    }
    assert_eq!(calls_with(&fake, "AIza-perday"), 1);
    assert_eq!(
        calls_with(&fake, "AIza-sibling"),
        0,
        "its project's quota is spent too"
    );
    assert_eq!(calls_with(&fake, "AIza-other"), 6);
    // The RetryInfo said 22 s; a day's quota is back at midnight Pacific.
    let midnight = Zone::Pacific.next_day(now_ms());
    for name in ["p1-a", "p1-b"] {
        let a = lev.account(name).await;
        assert_eq!(a["state"], "cooling", "{a}");
        let until = lev.cooling_until(name).await.unwrap();
        assert!(
            until + 5_000 >= midnight && until <= midnight + 5_000,
            "{name}: {until} vs {midnight}"
        );
        assert!(a["reason"].as_str().unwrap().contains("daily quota"), "{a}");
        // The project's real limit, from the 429's quotaValue, is what the
        // quota bar and the scheduler hold the project to now.
        let quota = &a["health"]["quota"][0];
        assert_eq!(
            (&quota["model"], &quota["rpd"]),
            (&json!("gemini-2.5-flash"), &json!(250)),
            "{a}"
        );
        assert_eq!(quota["shared_with"], 2, "{a}");
        assert_eq!(quota["day_reset_ms"], json!(midnight), "{a}");
    }
}

#[tokio::test]
async fn a_model_one_account_lacks_goes_to_the_others() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    let o = Kind::Openai;
    o.add(&lev, &fake, "old", "sk-nomodel-0000000", None).await;
    o.add(&lev, &fake, "new", "sk-fine-0000000000", None).await;
    for i in 0..4 {
        let (status, body) = o.ask(&lev, i).await;
        assert_eq!(status, 200, "request {i}: {body}");
    }
    assert_eq!(calls_with(&fake, "sk-nomodel"), 1);
    let a = lev.account("old").await;
    let cooling = &a["health"]["cooling"][0];
    assert_eq!(cooling["model"], "deepseek-chat", "{a}");
    assert!(
        cooling["reason"]
            .as_str()
            .unwrap()
            .contains("model not available"),
        "{a}"
    );
}

#[tokio::test]
async fn a_google_account_without_an_oauth_client_is_marked_not_chosen() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    let body = json!({"kind": "google-oauth", "api_key": "rt-good-1", "name": "me@gmail.com"});
    let (status, v) = lev.admin(Method::POST, "/accounts", Some(body)).await;
    assert_eq!(status, 201, "{v}");
    Kind::Gemini
        .add(&lev, &fake, "key", "AIza-works-0000000", None)
        .await;
    for i in 0..4 {
        let (status, body) = Kind::Gemini.ask(&lev, i).await;
        assert_eq!(status, 200, "request {i}: {body}");
    }
    let a = lev.account("me@gmail.com").await;
    assert_eq!(a["state"], "needs-action", "{a}");
    assert_eq!(a["health"]["broken"], "setup");
    assert!(a["reason"].as_str().unwrap().contains("oauth_client_id"));
    // Overview's pick is the scheduler's: never the broken account.
    let (status, best) = lev
        .admin(Method::GET, "/accounts/best?model=gemini-2.5-flash", None)
        .await;
    assert_eq!(status, 200, "{best}");
    assert_eq!(best["account"]["name"], "key", "{best}");
}

/// The client hears what to fix when the only account is broken: never
/// a 400 or 401 that blames the request or its key.
#[tokio::test]
async fn a_lone_broken_account_is_levity_s_trouble_not_the_client_s() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    Kind::Gemini
        .add(&lev, &fake, "only", "AIza-revoked-00000", None)
        .await;
    let (status, body) = Kind::Gemini.ask(&lev, 0).await;
    assert_eq!(status, 503, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("replace its key") && message.contains("API key not valid"),
        "{message}"
    );
    // Then it is not called again until its owner acts.
    let (status, _) = Kind::Gemini.ask(&lev, 2).await;
    assert_eq!(status, 503);
    assert_eq!(calls_with(&fake, "AIza-revoked"), 1);
}

/// A prompt past the upstream model's window reaches each client in the
/// words it compacts on, whatever the upstream: Anthropic's "prompt is too
/// long" (Claude Code), a failed response with `context_length_exceeded`
/// (Codex), OpenAI's code (Chat). No account is blamed for it.
#[tokio::test]
async fn a_prompt_past_the_window_is_said_so_each_client_compacts() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    Kind::Gemini
        .add(&lev, &fake, "g", "AIza-toolong-00000", None)
        .await;
    let (status, body) = lev.post("/v1/messages", &json!({"model": "claude-sonnet-4-5", "max_tokens": 50, "messages": [{"role": "user", "content": "long"}]}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("prompt is too long: 1196265 tokens > 1048575 maximum"),
        "{v}"
    );
    let (status, body) = lev.post("/v1/chat/completions", &json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "long"}]}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("\"context_length_exceeded\""), "{body}");
    let (status, body) = lev
        .post(
            "/v1/responses",
            &json!({"model": "gemini-2.5-flash", "stream": true, "input": "long"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("event: response.failed") && body.contains("\"context_length_exceeded\""),
        "{body}"
    );
    assert_eq!(lev.account("g").await["state"], "active");
    // Claude Code's telemetry is answered without an upstream call.
    let before = fake.requests().len();
    let (status, _) = lev
        .post("/api/event_logging/batch", &json!({"events": []}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(fake.requests().len(), before);
}

/// An account whose address answers with a redirect: a relay that moved,
/// or an `http://` base URL behind a server that sends every call to
/// `https://`. Following it would carry the key wherever the answer points:
/// reqwest drops only `Authorization`, `Cookie`, `Proxy-Authorization` and
/// `WWW-Authenticate` on a hop to another host (reqwest 0.13
/// `src/redirect.rs`, `remove_sensitive_headers`), so Gemini's
/// `x-goog-api-key` and Anthropic's `x-api-key` would go along, and a 307 or
/// 308 resends the body too (RFC 9110 §15.4.8-9). levity follows none: the
/// account is marked with the address it was sent to, and the others serve.
#[tokio::test]
async fn an_account_whose_address_redirects_is_not_followed_and_is_marked() {
    // The page nginx sends with each (`return 301 ...;`, its built-in
    // ngx_http_error_30x pages), as a server in front of an API answers.
    let nginx_page = |title: &str| {
        format!(
            "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
        )
    };
    let cases = [
        (
            Kind::Gemini,
            "AIza-moved-0000000",
            301,
            nginx_page("301 Moved Permanently"),
        ),
        (
            Kind::Anthropic,
            "sk-ant-moved-00000",
            308,
            nginx_page("308 Permanent Redirect"),
        ),
        (
            Kind::Openai,
            "sk-moved-000000000",
            307,
            nginx_page("307 Temporary Redirect"),
        ),
    ];
    for (kind, key, status, page) in cases {
        let fake = Fake::start().await;
        let moved = Fake::start().await;
        let elsewhere = Fake::start().await;
        let lev = Levity::start().await;
        kind.add(&lev, &moved, "moved", key, None).await;
        kind.add(&lev, &fake, "good", "key-good-one-0000", None)
            .await;
        // The address it points to has a query a real one could sign with;
        // the message names the place, not the query.
        let location = format!("{}/relay/v1?sig=query-secret-00", elsewhere.url());
        moved.push(crate::fake::Fault::Headers {
            status,
            headers: vec![("location", location)],
            body: page,
        });
        for i in 0..4 {
            let (status, body) = kind.ask(&lev, i).await;
            assert_eq!(status, 200, "{key}, request {i}: {body}");
        }
        assert!(
            elsewhere.requests().is_empty(),
            "{key}: the redirect was followed: {:?}",
            elsewhere
                .requests()
                .iter()
                .map(|r| (&r.method, &r.path, &r.headers))
                .collect::<Vec<_>>()
        );
        assert_eq!(calls_with(&moved, key), 1, "{key} was called once");
        let a = lev.account("moved").await;
        assert_eq!(a["state"], "needs-action", "{key}: {a}");
        assert_eq!(a["health"]["broken"], "setup", "{key}: {a}");
        let reason = a["reason"].as_str().unwrap();
        let target = format!("{}/relay/v1", elsewhere.url());
        assert!(
            reason.contains(&status.to_string()) && reason.contains(&target),
            "{key}: {reason}"
        );
        assert!(!reason.contains("query-secret"), "{key}: {reason}");
        assert_eq!(lev.account("good").await["state"], "active");
    }
}
