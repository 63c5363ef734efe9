//! The OpenAI Responses upstream beyond the matrix: encrypted reasoning goes
//! back only to the account that made it (translated and passed through),
//! the native path is byte for byte but for `encrypted_content`, its usage
//! is counted, and failing accounts fail over.

use crate::common::Levity;
use crate::fake::{Fake, Fault};
use crate::fake_responses::{self, sealed_for};
use reqwest::Method;
use serde_json::{Value, json};

const MODEL: &str = "gpt-5-codex";
const KEY_A: &str = "sk-proj-first-00001";
const KEY_B: &str = "sk-proj-second-0002";

async fn two_accounts(keys: [&str; 2]) -> (Levity, Fake) {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    for (i, key) in keys.iter().enumerate() {
        lev.add_responses(
            &format!("r{i}"),
            key,
            &format!("{}/v1", fake.url()),
            &[MODEL],
        )
        .await;
    }
    (lev, fake)
}

fn key_of(fake: &Fake) -> String {
    let auth = fake.last().header("authorization").unwrap().to_string();
    auth.trim_start_matches("Bearer ").to_string()
}

/// OpenAI's rate-limit answer (its body is in `src/provider/taxonomy/tests.rs`).
fn rate_limited() -> Fault {
    Fault::Status {
        status: 429,
        body: json!({"error": {"message": "Rate limit reached for gpt-5-codex in organization org-*** on tokens per min (TPM): Limit 200000, Used 162960, Requested 42288. Please try again in 1.574s.", "type": "tokens", "param": null, "code": "rate_limit_exceeded"}}).to_string(),
        retry_after: None,
    }
}

fn encrypted_in(body: &Value) -> Vec<String> {
    body["input"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["encrypted_content"].as_str().map(str::to_string))
        .collect()
}

fn other(key: &str) -> &'static str {
    if key == KEY_A { KEY_B } else { KEY_A }
}

/// Claude Code's thinking from one account, then the session fails over:
/// the second account never receives the first one's `encrypted_content`.
#[tokio::test]
async fn translated_reasoning_returns_only_to_its_account() {
    let (lev, fake) = two_accounts([KEY_A, KEY_B]).await;
    let mut body = json!({"model": MODEL, "max_tokens": 4096, "metadata": {"user_id": "session-r"},
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "messages": [{"role": "user", "content": "reply first turn"}]});
    let (status, text) = lev.post("/v1/messages", &body).await;
    assert_eq!(status, 200, "{text}");
    let home = key_of(&fake);
    let answer: Value = serde_json::from_str(&text).unwrap();
    let signature = answer["content"][0]["signature"].as_str().unwrap();
    assert!(signature.starts_with("lvt1:openai:acc_"), "{answer}");
    body["messages"].as_array_mut().unwrap().extend([
        json!({"role": "assistant", "content": answer["content"]}),
        json!({"role": "user", "content": "reply second turn"}),
    ]);

    // Back on its own account, the reasoning goes back as OpenAI sealed it.
    let (status, text) = lev.post("/v1/messages", &body).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(key_of(&fake), home);
    assert_eq!(encrypted_in(&fake.last().body), [sealed_for(&home)]);

    // The home account is rate limited: the other gets the turn, without it.
    fake.push(rate_limited());
    let (status, text) = lev.post("/v1/messages", &body).await;
    assert_eq!(status, 200, "{text}");
    let requests = fake.requests();
    let last = requests.last().unwrap();
    assert_eq!(key_of(&fake), other(&home), "failed over");
    assert!(encrypted_in(&last.body).is_empty(), "{}", last.body);
    assert!(last.body.to_string().contains("reply second turn"));
}

/// The same for Codex passed through: its reasoning items carry their account.
#[tokio::test]
async fn native_reasoning_returns_only_to_its_account() {
    let (lev, fake) = two_accounts([KEY_A, KEY_B]).await;
    let mut body = json!({"model": MODEL, "store": false, "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "session-n", "reasoning": {"effort": "high", "summary": "auto"},
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "reply first turn"}]}]});
    let (status, text) = lev.post("/v1/responses", &body).await;
    assert_eq!(status, 200, "{text}");
    let home = key_of(&fake);
    let answer: Value = serde_json::from_str(&text).unwrap();
    let tagged = answer["output"][0]["encrypted_content"].as_str().unwrap();
    assert!(
        tagged.starts_with("lvt1:openai:acc_") && tagged.ends_with(&sealed_for(&home)),
        "{answer}"
    );
    let input = body["input"].as_array_mut().unwrap();
    input.extend(answer["output"].as_array().unwrap().iter().cloned());
    input.push(json!({"role": "user", "content": "reply second turn"}));

    let (status, text) = lev.post("/v1/responses", &body).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(key_of(&fake), home);
    assert_eq!(encrypted_in(&fake.last().body), [sealed_for(&home)]);

    fake.push(rate_limited());
    let (status, text) = lev.post("/v1/responses", &body).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(key_of(&fake), other(&home), "failed over");
    let sent = fake.last().body;
    assert!(encrypted_in(&sent).is_empty(), "{sent}");
    assert!(
        !sent.to_string().contains("\"type\":\"reasoning\""),
        "{sent}"
    );
}

/// Pass-through answers are the upstream's bytes, but for the tag on
/// `encrypted_content`; usage is read from them on the way.
#[tokio::test]
async fn native_answers_pass_byte_for_byte_and_are_counted() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_responses("r", KEY_A, &format!("{}/v1", fake.url()), &[MODEL])
        .await;
    let account = lev.account("r").await["id"].as_str().unwrap().to_string();
    let tag = |s: String| {
        s.replace(
            &format!("\"encrypted_content\":\"{}", sealed_for(KEY_A)),
            &format!(
                "\"encrypted_content\":\"lvt1:openai:{account}:{}",
                sealed_for(KEY_A)
            ),
        )
    };
    for stream in [false, true] {
        let body = json!({"model": MODEL, "stream": stream, "store": false, "include": ["reasoning.encrypted_content"],
            "reasoning": {"effort": "low", "summary": "auto"}, "input": "reply exactly this"});
        let (status, text) = lev.post("/v1/responses", &body).await;
        assert_eq!(status, 200, "{text}");
        let sent = fake.last().body;
        assert_eq!(sent, body, "the request passes as sent");
        let reply = fake_responses::reply(&sent);
        let upstream = if stream {
            fake_responses::events(&sent, &reply, KEY_A)
                .into_iter()
                .map(|e| {
                    let kind: Value = serde_json::from_str(&e).unwrap();
                    format!("event: {}\ndata: {e}\n\n", kind["type"].as_str().unwrap())
                })
                .collect()
        } else {
            fake_responses::body(&sent, &reply, KEY_A).to_string()
        };
        assert!(upstream.contains(&sealed_for(KEY_A)));
        assert_eq!(text, tag(upstream), "stream: {stream}");

        let (_, log) = lev.admin(Method::GET, "/requests?limit=1", None).await;
        let e = &log[0];
        assert_eq!(
            (&e["input_tokens"], &e["output_tokens"], &e["cached_tokens"]),
            (&json!(21), &json!(14), &json!(4)),
            "stream: {stream}: {e}"
        );
    }
    let a = lev.account("r").await;
    assert!(
        a["health"]["quota"][0]["used"]["day_tokens"]
            .as_u64()
            .unwrap()
            > 0,
        "{a}"
    );
}

/// A revoked key and a rate limit move the request to the other account,
/// passed through or translated; the revoked one waits for its owner.
#[tokio::test]
async fn revoked_keys_and_rate_limits_fail_over() {
    let (lev, fake) = two_accounts(["sk-proj-revoked-0001", KEY_B]).await;
    let chat = json!({"model": MODEL, "messages": [{"role": "user", "content": "reply served"}]});
    let native = json!({"model": MODEL, "input": "reply served"});
    for (path, body) in [("/v1/chat/completions", &chat), ("/v1/responses", &native)] {
        for _ in 0..2 {
            let (status, text) = lev.post(path, body).await;
            assert_eq!(status, 200, "{path}: {text}");
            assert!(text.contains("served"), "{text}");
            assert_eq!(key_of(&fake), KEY_B, "{path}");
        }
    }
    let revoked = lev.account("r0").await;
    assert_ne!(revoked["state"], "active", "{revoked}");

    // Rate limited with both accounts good: the next one serves. Each
    // protocol on fresh accounts, so none is still resting from the last.
    for (path, body) in [("/v1/chat/completions", &chat), ("/v1/responses", &native)] {
        let (lev, fake) = two_accounts([KEY_A, KEY_B]).await;
        fake.push(rate_limited());
        let (status, text) = lev.post(path, body).await;
        assert_eq!(status, 200, "{path}: {text}");
        let tried: Vec<String> = fake
            .requests()
            .iter()
            .rev()
            .take(2)
            .map(|r| r.header("authorization").unwrap().to_string())
            .collect();
        assert_ne!(tried[0], tried[1], "{path}: another account answered");
    }
}

/// A stream that fails inside (`response.failed`) before anything reached
/// the client is a failed attempt, judged by the taxonomy (a server error:
/// tried again), and the client gets the answer of the next attempt.
#[tokio::test]
async fn a_failure_inside_a_stream_is_a_failed_attempt() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_responses("r", KEY_A, &format!("{}/v1", fake.url()), &[MODEL])
        .await;
    // response_failed_event.py / response_error.py: the failed response
    // carries `error: {code, message}`.
    let failed = json!({"type": "response.failed", "sequence_number": 2, "response": {"id": "resp_x", "object": "response",
        "status": "failed", "model": MODEL, "output": [], "usage": null,
        "error": {"code": "server_error", "message": "The model failed to generate a response."}}});
    let created = json!({"type": "response.created", "sequence_number": 0, "response": {"id": "resp_x", "object": "response", "status": "in_progress", "model": MODEL, "output": []}});
    let delta = json!({"type": "response.output_text.delta", "sequence_number": 1, "item_id": "msg", "output_index": 0, "content_index": 0, "delta": "partial"});
    let events = format!(
        "event: response.created\ndata: {created}\n\nevent: response.output_text.delta\ndata: {delta}\n\nevent: response.failed\ndata: {failed}\n\n"
    );
    fake.push(Fault::Raw {
        status: 200,
        content_type: "text/event-stream",
        body: events,
    });
    let chat = json!({"model": MODEL, "stream": true, "messages": [{"role": "user", "content": "reply whole"}]});
    let (status, text) = lev.post("/v1/chat/completions", &chat).await;
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains("\"ole\"") && !text.contains("partial"),
        "{text}"
    );
    assert_eq!(fake.requests().len(), 2);
    let (_, log) = lev.admin(Method::GET, "/requests?limit=1", None).await;
    let first = &log[0]["attempt_log"][0];
    assert_eq!(first["class"], "transient", "{first}");
}

/// Reasoning OpenAI refuses anyway (`invalid_encrypted_content`: a key moved
/// to another organization, a forged tag) is a signature refusal: the turn
/// is tried once more without reasoning history.
#[tokio::test]
async fn refused_encrypted_content_is_retried_without_reasoning() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_responses("r", KEY_A, &format!("{}/v1", fake.url()), &[MODEL])
        .await;
    let account = lev.account("r").await["id"].as_str().unwrap().to_string();
    let body = json!({"model": MODEL, "max_tokens": 1024, "messages": [
        {"role": "user", "content": "reply one"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "hm", "signature": format!("lvt1:openai:{account}:gAAAAAstale==")},
            {"type": "text", "text": "one"}]},
        {"role": "user", "content": "reply two"}]});
    let (status, text) = lev.post("/v1/messages", &body).await;
    assert_eq!(status, 200, "{text}");
    let sent = fake.requests();
    assert_eq!(sent.len(), 2, "refused, then retried");
    assert_eq!(encrypted_in(&sent[0].body), ["gAAAAAstale=="]);
    assert!(encrypted_in(&sent[1].body).is_empty(), "{}", sent[1].body);
}
