//! The admin API the dashboard reads: the request log, live events, usage,
//! the mapping tester, cross-site protection and the OpenAPI document.

use crate::common::Levity;
use crate::fake::Fake;
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test]
async fn requests_usage_and_live_events() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIzaDASH-000000001", &fake.url()).await;
    let key = lev.create_key().await;

    // Subscribe first, then send a request: its event arrives live.
    let resp = lev
        .http
        .get(format!("{}/api/events", lev.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut events = resp.bytes_stream();
    let chat = lev.http.post(format!("{}/v1/chat/completions", lev.url)).bearer_auth(&key)
        .json(&json!({"model": "gemini-2.5-flash", "stream": true, "messages": [{"role": "user", "content": "hello monitor"}]}))
        .send().await.unwrap();
    assert_eq!(chat.status(), 200);
    chat.text().await.unwrap();
    let mut seen = String::new();
    while !seen.contains("event: request") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), events.next())
            .await
            .expect("a live event")
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let data = seen
        .split("event: request\ndata: ")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap();
    let entry: Value = serde_json::from_str(data).unwrap();
    assert_eq!(
        (
            entry["protocol"].as_str(),
            entry["account"].as_str(),
            entry["status"].as_u64()
        ),
        (Some("openai-chat"), Some("g"), Some(200))
    );
    assert_eq!(entry["client_key"], "key-1");
    assert_eq!(entry["why"], "most headroom");
    assert!(
        entry["ttft_ms"].is_u64(),
        "streams have a time to first token"
    );

    let (_, list) = lev.admin(Method::GET, "/requests?limit=10", None).await;
    assert_eq!(list[0]["id"], entry["id"]);
    let (_, stats) = lev.admin(Method::GET, "/stats?days=3", None).await;
    assert_eq!(stats["today"]["requests"], 1);
    assert_eq!(stats["days"].as_array().unwrap().len(), 3);
    assert_eq!(stats["by_key"][0]["name"], "key-1");
    assert_eq!(stats["by_model"][0]["name"], "gemini-2.5-flash");

    // Usage survives a restart.
    drop(events);
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let dir = lev.stop().await;
    let lev = Levity::start_in(dir).await;
    let (_, stats) = lev.admin(Method::GET, "/stats?days=1", None).await;
    assert_eq!(stats["days"][0]["requests"], 1, "{stats}");
}

#[tokio::test]
async fn mapping_tester_origin_check_and_openapi() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIzaDASH-000000002", &fake.url()).await;
    lev.set("model_map.gpt-4o*", "gemini-2.5-pro").await;
    let (status, r) = lev
        .admin(Method::GET, "/route?model=gpt-4o-mini", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        r,
        json!({"model": "gpt-4o-mini", "upstream_model": "gemini-2.5-pro", "kind": "gemini", "accounts": ["g"]})
    );
    let (status, r) = lev.admin(Method::GET, "/route?model=unknown", None).await;
    assert_eq!(status, 404, "{r}");

    let evil = lev
        .http
        .put(format!("{}/api/config", lev.url))
        .header("origin", "http://evil.example")
        .json(&json!({"key": "max_attempts", "value": "9"}))
        .send()
        .await
        .unwrap();
    assert_eq!(evil.status(), 403);
    let own = lev
        .http
        .put(format!("{}/api/config", lev.url))
        .header("origin", lev.url.clone())
        .json(&json!({"key": "max_attempts", "value": "9"}))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);

    let (status, doc) = lev.admin(Method::GET, "/openapi.json", None).await;
    assert_eq!(status, 200);
    assert!(doc["paths"]["/api/stats"].is_object());
    let page = lev.http.get(format!("{}/", lev.url)).send().await.unwrap();
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );

    // Google sign-in from the dashboard needs the user's OAuth client first.
    let (status, v) = lev
        .admin(Method::POST, "/oauth/start", Some(json!({})))
        .await;
    assert_eq!(status, 400);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("oauth_client_id")
    );
    lev.set("oauth_client_id", "cid").await;
    lev.set("oauth_client_secret", "cs").await;
    lev.set("oauth_token_url", &format!("{}/token", fake.url()))
        .await;
    let (_, v) = lev
        .admin(Method::POST, "/oauth/start", Some(json!({})))
        .await;
    let url = v["url"].as_str().unwrap();
    let state = url.split("state=").nth(1).unwrap();
    let page = lev
        .http
        .get(format!(
            "{}/oauth2callback?state={state}&code=dash-code",
            lev.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Signed in"));
    let (_, accounts) = lev.admin(Method::GET, "/accounts", None).await;
    assert!(
        accounts
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "google-oauth" && a["key_hint"] == "rt-...code")
    );
    let replay = lev
        .http
        .get(format!(
            "{}/oauth2callback?state={state}&code=again",
            lev.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 400, "a state works once");
}
