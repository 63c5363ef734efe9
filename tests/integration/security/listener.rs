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
    // The same through the Gemini path, percent-encoded as the probe.
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
    // Names with an organisation, as OpenAI-compatible hosts list them, pass.
    lev.set("model_map.llama", "meta-llama/Llama-3.3-70B-Instruct")
        .await;
}
