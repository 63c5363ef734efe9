//! Web search: every protocol's way of asking for it becomes Gemini's Google
//! Search grounding, and the sources come back as each protocol's citations.

use crate::common::{Levity, sse_events};
use crate::fake::Fake;
use serde_json::{Value, json};

async fn with_gemini() -> (Levity, Fake) {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIzaSEARCH-000001", &fake.url()).await;
    (lev, fake)
}

#[tokio::test]
async fn online_models_and_web_search_options_ground_on_google_search() {
    let (lev, fake) = with_gemini().await;
    let (status, _, body) = lev.chat(json!({"model": "gemini-2.5-flash-online", "messages": [{"role": "user", "content": "reply found it"}]})).await;
    assert_eq!(status, 200, "{body}");
    let up = fake.last();
    assert_eq!(
        up.path, "/v1beta/models/gemini-2.5-flash:generateContent",
        "the suffix is levity's, not the model's"
    );
    assert_eq!(up.body["tools"], json!([{"googleSearch": {}}]));
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["choices"][0]["message"]["annotations"][0]["url_citation"]["url"],
        "https://example.org/levity"
    );

    let (status, _, body) = lev
        .chat(
            json!({"model": "gemini-2.5-flash", "stream": true, "web_search_options": {},
        "messages": [{"role": "user", "content": "reply found it"}]}),
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        sse_events(&body)
            .iter()
            .any(|f| f["choices"][0]["delta"]["annotations"][0]["type"] == "url_citation"),
        "{body}"
    );

    // Beside function tools, Gemini 2.5 cannot search: the functions win.
    let (status, _, _) = lev.chat(json!({"model": "gemini-2.5-flash", "web_search_options": {},
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "string"}}}}}],
        "messages": [{"role": "user", "content": "reply x"}]})).await;
    assert_eq!(status, 200);
    let tools = fake.last().body["tools"].clone();
    assert_eq!(tools.as_array().unwrap().len(), 1);
    assert!(tools[0].get("functionDeclarations").is_some());
}

#[tokio::test]
async fn anthropic_and_responses_clients_get_their_citations() {
    let (lev, _fake) = with_gemini().await;
    let (status, body) = lev
        .messages(&json!({"model": "gemini-2.5-flash", "max_tokens": 100,
        "tools": [{"type": "web_search_20250305", "name": "web_search"}],
        "messages": [{"role": "user", "content": "reply grounded"}]}))
        .await;
    assert_eq!(status, 200, "{body}");
    let m: Value = serde_json::from_str(&body).unwrap();
    let block = m["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "text")
        .unwrap();
    assert_eq!(
        block["citations"][0],
        json!({"type": "web_search_result_location", "url": "https://example.org/levity",
        "title": "example.org", "cited_text": "cited", "encrypted_index": ""})
    );

    let (status, body) = lev.responses(&json!({"model": "gemini-2.5-flash", "tools": [{"type": "web_search"}], "input": "reply grounded"})).await;
    assert_eq!(status, 200, "{body}");
    let r: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        r["output"][0]["content"][0]["annotations"][0]["url"],
        "https://example.org/levity"
    );
}
