//! The proxy end to end: levity in-process, fake upstreams on loopback, HTTP
//! in between. Each test checks what the client got and what the upstream got.

use crate::common::{Levity, sse_events};
use crate::fake::{Fake, Fault};
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

async fn with_gemini() -> (Levity, Fake) {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g1", "AIzaSyFAKEKEY0001", &fake.url()).await;
    (lev, fake)
}

fn hi(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "hi there"}]})
}

#[tokio::test]
async fn non_stream_chat_reaches_gemini_and_comes_back() {
    let (lev, fake) = with_gemini().await;
    let (status, _, body) = lev.chat(hi("gemini-2.5-flash")).await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["choices"][0]["message"]["content"], "echo: hi there");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert!(v["usage"]["prompt_tokens"].as_u64().unwrap() > 0);

    let up = fake.last();
    assert_eq!(up.path, "/v1beta/models/gemini-2.5-flash:generateContent");
    assert_eq!(up.header("x-goog-api-key"), Some("AIzaSyFAKEKEY0001"));
    assert_eq!(
        up.body["contents"],
        json!([{"role": "user", "parts": [{"text": "hi there"}]}])
    );
}

#[tokio::test]
async fn stream_chat_is_real_openai_chunks() {
    let (lev, fake) = with_gemini().await;
    let mut req = hi("gemini-2.5-flash");
    req["stream"] = json!(true);
    req["stream_options"] = json!({"include_usage": true});
    let (status, headers, body) = lev.chat(req).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["content-type"], "text/event-stream");
    assert!(body.ends_with("data: [DONE]\n\n"));
    let frames = sse_events(&body);
    assert_eq!(frames[0]["choices"][0]["delta"]["role"], "assistant");
    let text: String = frames
        .iter()
        .filter_map(|f| f["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "echo: hi there");
    let finish: Vec<&Value> = frames
        .iter()
        .map(|f| &f["choices"][0]["finish_reason"])
        .filter(|f| !f.is_null())
        .collect();
    assert_eq!(finish, vec!["stop"]);
    let last = frames.last().unwrap();
    assert_eq!(last["choices"], json!([]));
    assert!(last["usage"]["total_tokens"].as_u64().unwrap() > 0);
    assert_eq!(
        fake.last().path,
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    );

    // Without include_usage there is no usage chunk.
    let mut req = hi("gemini-2.5-flash");
    req["stream"] = json!(true);
    let (_, _, body) = lev.chat(req).await;
    assert!(sse_events(&body).iter().all(|f| f.get("usage").is_none()));
}

/// The first chunk reaches the client while the upstream is still holding the
/// rest back: levity streams, it does not buffer.
#[tokio::test]
async fn stream_bytes_are_sent_as_they_arrive() {
    let (lev, fake) = with_gemini().await;
    fake.push(Fault::Gate);
    let mut req = json!({"model": "gemini-2.5-flash", "stream": true, "messages": [{"role": "user", "content": "reply abcdefgh"}]});
    req["stream"] = json!(true);
    let resp = lev
        .http
        .post(format!("{}/v1/chat/completions", lev.url))
        .json(&req)
        .send()
        .await
        .unwrap();
    let mut body = resp.bytes_stream();
    let mut seen = String::new();
    while !seen.contains("abcd") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), body.next())
            .await
            .expect("the first chunk must arrive while the upstream holds the rest")
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(!seen.contains("efgh"));
    fake.release();
    while let Some(chunk) = body.next().await {
        seen.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
    }
    assert!(seen.contains("efgh") && seen.ends_with("data: [DONE]\n\n"));
}

/// Gemini clients that stream without `alt=sse` get Gemini's JSON array,
/// typed as JSON, whether levity passes it through or translates it; passed
/// through, it still arrives as the upstream sends it, element by element.
#[tokio::test]
async fn gemini_json_array_streams_are_json_arrays_both_ways() {
    let (lev, fake) = with_gemini().await;
    lev.add_anthropic("claude", "sk-ant-array-0001", &fake.url())
        .await;
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "reply abcdefgh"}]}]});
    for (model, upstream_path) in [
        (
            "gemini-2.5-flash",
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        ),
        ("claude-sonnet-5-5", "/v1/messages"),
    ] {
        let resp = lev
            .http
            .post(format!(
                "{}/v1beta/models/{model}:streamGenerateContent",
                lev.url
            ))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "application/json");
        let text = resp.text().await.unwrap();
        let elements: Vec<Value> =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        let said: String = elements
            .iter()
            .filter_map(|e| e["candidates"][0]["content"]["parts"][0]["text"].as_str())
            .collect();
        assert_eq!(said, "abcdefgh", "{model}");
        assert!(
            elements.last().unwrap()["candidates"][0]["finishReason"].is_string(),
            "{model}: {text}"
        );
        assert_eq!(fake.last().path, upstream_path);
    }

    fake.push(Fault::Gate);
    let resp = lev
        .http
        .post(format!(
            "{}/v1beta/models/gemini-2.5-flash:streamGenerateContent",
            lev.url
        ))
        .json(&body)
        .send()
        .await
        .unwrap();
    let mut stream = resp.bytes_stream();
    let first = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("the first element must arrive while the upstream holds the rest")
        .unwrap()
        .unwrap();
    assert!(
        first.starts_with(b"[{") && first.ends_with(b"}"),
        "{first:?}"
    );
    fake.release();
    while stream.next().await.is_some() {}
}

#[tokio::test]
async fn tool_call_round_trip() {
    let (lev, fake) = with_gemini().await;
    let tools = json!([{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": false}}}]);
    let (status, _, body) = lev
        .chat(
            json!({"model": "gemini-3-pro-preview", "tools": tools, "messages": [
            {"role": "user", "content": "call get_weather {\"city\":\"Paris\"}"}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    let call = v["choices"][0]["message"]["tool_calls"][0].clone();
    assert_eq!(call["function"]["name"], "get_weather");
    assert_eq!(
        serde_json::from_str::<Value>(call["function"]["arguments"].as_str().unwrap()).unwrap(),
        json!({"city": "Paris"})
    );
    let up = fake.last();
    assert_eq!(
        up.body["tools"][0]["functionDeclarations"][0]["parameters"],
        json!({"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]})
    );

    let (status, _, body) = lev
        .chat(
            json!({"model": "gemini-3-pro-preview", "tools": tools, "messages": [
            {"role": "user", "content": "call get_weather {\"city\":\"Paris\"}"},
            {"role": "assistant", "content": null, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": call["id"], "content": "{\"temp_c\": 21}"}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "tool result: {\"temp_c\":21}"
    );
    let up = fake.last();
    assert_eq!(
        up.body["contents"][1]["parts"][0]["functionCall"]["name"],
        "get_weather"
    );
    assert_eq!(
        up.body["contents"][2]["parts"][0]["functionResponse"],
        json!({"name": "get_weather", "response": {"temp_c": 21}})
    );
}

#[tokio::test]
async fn streamed_tool_calls_have_index_and_finish_reason() {
    let (lev, _fake) = with_gemini().await;
    let (status, _, body) = lev
        .chat(json!({"model": "gemini-2.5-flash", "stream": true,
            "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}],
            "messages": [{"role": "user", "content": "call lookup {\"q\":\"levity\"}"}]}))
        .await;
    assert_eq!(status, 200);
    let frames = sse_events(&body);
    let calls: Vec<&Value> = frames
        .iter()
        .filter_map(|f| f["choices"][0]["delta"].get("tool_calls"))
        .collect();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0][0]["index"], 0);
    assert_eq!(calls[0][0]["function"]["arguments"], "{\"q\":\"levity\"}");
    assert!(calls[0][0]["id"].as_str().unwrap().starts_with("call_"));
    assert!(
        frames
            .iter()
            .any(|f| f["choices"][0]["finish_reason"] == "tool_calls")
    );
}

#[tokio::test]
async fn a_429_moves_to_the_next_account_before_anything_is_sent() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("tired", "AIza-fail429-aaaa", &fake.url())
        .await;
    lev.add_gemini("fresh", "AIza-good-bbbbbbb", &fake.url())
        .await;
    for stream in [false, true] {
        for _ in 0..2 {
            let mut req = hi("gemini-2.5-flash");
            req["stream"] = json!(stream);
            let (status, _, body) = lev.chat(req).await;
            assert_eq!(status, 200, "{body}");
            assert!(body.contains("echo"), "{body}");
        }
    }
    let keys: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| r.header("x-goog-api-key").unwrap().to_string())
        .collect();
    assert!(
        keys.iter().any(|k| k.contains("fail429")),
        "the failing account was tried: {keys:?}"
    );
    assert_eq!(keys.iter().filter(|k| k.contains("good")).count(), 4);
}

#[tokio::test]
async fn upstream_errors_reach_the_client_in_openai_shape() {
    let (lev, fake) = with_gemini().await;
    // Answer a rate limit at once rather than queue for the account's return.
    lev.set("queue_timeout_secs", "0").await;

    fake.push(Fault::Status { status: 429, body: json!({"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}}).to_string(), retry_after: Some(17) });
    let (status, headers, body) = lev.chat(hi("gemini-2.5-flash")).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(headers["retry-after"], "17");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["type"], "rate_limit_error");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Quota exceeded")
    );

    let cases = [
        (Fault::Status { status: 500, body: "{\"error\":{\"message\":\"boom\",\"status\":\"INTERNAL\"}}".into(), retry_after: None }, 502),
        (Fault::Status { status: 503, body: "<html>overloaded</html>".into(), retry_after: None }, 503),
        (Fault::Status { status: 400, body: "{\"error\":{\"message\":\"Invalid JSON payload\",\"status\":\"INVALID_ARGUMENT\"}}".into(), retry_after: None }, 400),
        (Fault::Drop, 502),
    ];
    for (fault, want) in cases {
        // A fresh pool each time: the failure above left its account resting.
        let (lev, fake) = with_gemini().await;
        lev.set("max_attempts", "1").await;
        fake.push(fault.clone());
        let (status, _, body) = lev.chat(hi("gemini-2.5-flash")).await;
        assert_eq!(status, want, "{fault:?}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert!(v["error"]["message"].as_str().unwrap().len() > 10, "{body}");
    }
}

#[tokio::test]
async fn slow_and_broken_upstreams_end_in_errors_not_hangs() {
    let (lev, fake) = with_gemini().await;
    lev.set("request_timeout_secs", "1").await;
    // One attempt: a lone account is otherwise tried again, and answers.
    lev.set("max_attempts", "1").await;
    fake.push(Fault::Delay(Duration::from_secs(5)));
    let (status, _, body) = lev.chat(hi("gemini-2.5-flash")).await;
    assert_eq!(status, 504, "{body}");

    // A stream cut short after it started, with resuming off: the client
    // sees an error event, no [DONE].
    lev.set("stream_resumes", "0").await;
    fake.push(Fault::Truncate);
    let mut req = json!({"model": "gemini-2.5-flash", "stream": true, "messages": [{"role": "user", "content": "reply a fairly long answer"}]});
    req["stream"] = json!(true);
    let (status, _, body) = lev.chat(req.clone()).await;
    assert_eq!(status, 200);
    assert!(!body.contains("[DONE]"), "{body}");
    assert!(
        sse_events(&body).last().unwrap()["error"]["message"].is_string(),
        "{body}"
    );

    // A stream that stalls mid-way is ended by the idle timeout.
    fake.push(Fault::Gate);
    let (status, _, body) = lev.chat(req).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("upstream_timeout") || body.contains("stopped sending"),
        "{body}"
    );
    fake.release();
}

/// A changed connect timeout applies to the next call, without a restart.
#[tokio::test]
async fn a_new_connect_timeout_applies_at_once() {
    // A listener whose queue is full: the kernel drops further SYNs, so a
    // connect to it hangs until the caller gives up.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut queued = Vec::new();
    while let Ok(conn) = tokio::time::timeout(
        Duration::from_millis(300),
        tokio::net::TcpStream::connect(addr),
    )
    .await
    {
        queued.push(conn.unwrap());
        assert!(queued.len() < 64, "the listen queue never filled");
    }
    let lev = Levity::start().await;
    lev.add_gemini("full", "AIzaSyFAKEKEY0009", &format!("http://{addr}"))
        .await;
    lev.set("max_attempts", "1").await;
    lev.set("connect_timeout_secs", "1").await;
    let started = std::time::Instant::now();
    let (status, _, body) = lev.chat(hi("gemini-2.5-flash")).await;
    let took = started.elapsed();
    assert_eq!(status, 504, "{body}");
    assert!(body.contains("connect_timeout_secs"), "{body}");
    // The default is 10 s; the new 1 s must be the one that ended it.
    assert!(took < Duration::from_secs(6), "took {took:?}: {body}");
    drop((listener, queued));
}

#[tokio::test]
async fn request_errors_are_clear() {
    let lev = Levity::start().await;
    let resp = lev
        .http
        .post(format!("{}/v1/chat/completions", lev.url))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["type"], "invalid_request_error");

    let (status, _, body) = lev.chat(json!({"model": "gemini-2.5-flash"})).await;
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"]["param"],
        "messages"
    );

    let (status, _, body) = lev.chat(hi("gemini-2.5-flash")).await;
    assert_eq!(status, 503);
    assert!(body.contains("levity account add gemini"), "{body}");

    let (status, _, body) = lev.chat(hi("no-such-model")).await;
    assert_eq!(status, 404);
    assert!(body.contains("model_map"), "{body}");
}

#[tokio::test]
async fn model_mapping_rewrites_names() {
    let (lev, fake) = with_gemini().await;
    lev.set("model_map.gpt-4o*", "gemini-2.5-flash").await;
    lev.set("model_map.gpt-4o-mini", "gemini-2.0-flash").await;
    let (status, _, _) = lev.chat(hi("gpt-4o-2024-08-06")).await;
    assert_eq!(status, 200);
    assert_eq!(
        fake.last().path,
        "/v1beta/models/gemini-2.5-flash:generateContent"
    );
    let (status, _, _) = lev.chat(hi("gpt-4o-mini")).await;
    assert_eq!(status, 200);
    assert_eq!(
        fake.last().path,
        "/v1beta/models/gemini-2.0-flash:generateContent"
    );

    let models: Value = lev
        .http
        .get(format!("{}/v1/models", lev.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"gemini-2.5-pro") && ids.contains(&"gpt-4o-mini"),
        "{ids:?}"
    );
}

#[tokio::test]
async fn openai_compatible_hosts_get_the_request_as_sent() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_openai(
        "deepseek",
        "sk-deepseek-123456",
        &format!("{}/v1", fake.url()),
        &["deepseek-chat"],
    )
    .await;
    lev.set("model_map.ds", "deepseek-chat").await;
    let req = json!({"model": "ds", "messages": [{"role": "user", "content": "hello"}], "logit_bias": {"50256": -100}, "temperature": 0.3});
    let (status, _, body) = lev.chat(req).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["choices"][0]["message"]["content"],
        "openai echo: hello"
    );
    let up = fake.last();
    assert_eq!(up.path, "/v1/chat/completions");
    assert_eq!(
        up.header("authorization"),
        Some("Bearer sk-deepseek-123456")
    );
    assert_eq!(
        up.body,
        json!({"model": "deepseek-chat", "messages": [{"role": "user", "content": "hello"}], "logit_bias": {"50256": -100}, "temperature": 0.3})
    );

    let (status, _, body) = lev.chat(json!({"model": "deepseek-chat", "stream": true, "messages": [{"role": "user", "content": "yo"}]})).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("openai echo: yo") && body.contains("[DONE]"),
        "{body}"
    );
}

#[tokio::test]
async fn client_keys_guard_the_proxy() {
    let (lev, _fake) = with_gemini().await;
    let key = lev.create_key().await;
    assert!(key.starts_with("sk-"));
    let url = format!("{}/v1/chat/completions", lev.url);
    let body = hi("gemini-2.5-flash");

    let resp = lev.http.post(&url).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["type"], "authentication_error");
    let resp = lev
        .http
        .post(&url)
        .bearer_auth("sk-wrong")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    for req in [
        lev.http.post(&url).bearer_auth(&key),
        lev.http.post(&url).header("x-api-key", &key),
        lev.http.post(&url).header("x-goog-api-key", &key),
        lev.http.post(format!("{url}?key={key}")),
    ] {
        let resp = req.json(&body).send().await.unwrap();
        assert_eq!(resp.status(), 200);
    }
    let resp = lev
        .http
        .get(format!("{}/v1/models", lev.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn admin_api_refuses_foreign_hosts() {
    let lev = Levity::start().await;
    for host in [
        "evil.example.com",
        "evil.example.com:8045",
        "127.0.0.1.nip.io",
    ] {
        let resp = lev
            .http
            .get(format!("{}/api/status", lev.url))
            .header("host", host)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403, "{host}");
    }
    // Without client keys the proxy is open to this machine's names only.
    let resp = lev
        .http
        .post(format!("{}/v1/chat/completions", lev.url))
        .header("host", "evil.example.com")
        .json(&hi("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let (status, v) = lev.admin(Method::GET, "/status", None).await;
    assert_eq!(status, 200);
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    lev.set("public_host", "levity.lan").await;
    let resp = lev
        .http
        .get(format!("{}/api/status", lev.url))
        .header("host", "levity.lan:8045")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn dashboard_is_served_with_client_side_routes() {
    let lev = Levity::start().await;
    let resp = lev.http.get(format!("{}/", lev.url)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let index = resp.text().await.unwrap();
    assert!(index.contains("levity"));
    let resp = lev
        .http
        .get(format!("{}/accounts/some/route", lev.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), index);
    let resp = lev.http.head(format!("{}/", lev.url)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let resp = lev
        .http
        .head(format!("{}/api/hello", lev.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // Hashed assets, when the UI is built, are cached for good.
    if let Some(asset) = index.split('"').find(|s| s.starts_with("/assets/")) {
        let resp = lev
            .http
            .get(format!("{}{asset}", lev.url))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
    }
    let resp = lev
        .http
        .get(format!("{}/v1/nothing", lev.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

/// A graceful stop releases the data file; everything is there on reopen.
#[tokio::test]
async fn restart_keeps_accounts_keys_and_settings() {
    let (lev, _fake) = with_gemini().await;
    lev.create_key().await;
    lev.set("max_attempts", "5").await;
    let dir = lev.stop().await;
    let store =
        levity::store::Store::open(&dir.path().join("levity.redb"), Some("test passphrase"))
            .unwrap();
    let accounts = store.accounts().unwrap();
    assert_eq!(accounts[0].secret.expose(), "AIzaSyFAKEKEY0001");
    assert_eq!(store.keys().unwrap().len(), 1);
    assert_eq!(store.settings().unwrap()["max_attempts"], "5");
}
