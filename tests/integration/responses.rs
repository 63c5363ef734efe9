//! OpenAI Responses in (Codex CLI's protocol): the captured Codex request,
//! the streaming grammar, namespaced tools, and reasoning state carried in
//! sealed `encrypted_content` across turns.

use crate::common::Levity;
use crate::fake::{Fake, GEMINI_CALL_SIG};
use serde_json::{Value, json};

impl Levity {
    pub async fn responses(&self, body: &Value) -> (u16, String) {
        let resp = self
            .http
            .post(format!("{}/v1/responses", self.url))
            .json(body)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }
}

/// Parses a Responses SSE body, checking sequence numbers and the bracketing
/// events; returns the events and the final response.
fn events(body: &str) -> (Vec<Value>, Value) {
    let mut out = Vec::new();
    for frame in body
        .split("\n\n")
        .filter(|f| !f.trim().is_empty() && !f.starts_with(':'))
    {
        let mut lines = frame.lines();
        let name = lines.next().unwrap().strip_prefix("event: ").unwrap();
        let data: Value =
            serde_json::from_str(lines.next().unwrap().strip_prefix("data: ").unwrap()).unwrap();
        assert_eq!(data["type"], name);
        assert_eq!(
            data["sequence_number"],
            out.len() as u64,
            "sequence numbers in order"
        );
        out.push(data);
    }
    assert_eq!(out[0]["type"], "response.created");
    assert_eq!(out[1]["type"], "response.in_progress");
    let last = out.last().unwrap().clone();
    assert!(
        matches!(
            last["type"].as_str(),
            Some("response.completed" | "response.incomplete" | "response.failed")
        ),
        "{last}"
    );
    (out, last["response"].clone())
}

async fn with_gemini() -> (Levity, Fake) {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIzaRESPONSES-000001", &fake.url())
        .await;
    lev.set("model_map.gpt-5*", "gemini-3-pro-preview").await;
    (lev, fake)
}

#[tokio::test]
async fn codex_request_reaches_gemini_and_streams_back() {
    let (lev, fake) = with_gemini().await;
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/codex/01_codex_exec_say_hi_responses.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let mut body = fixture["body"].clone();
    body["model"] = json!("gpt-5-codex");
    let (status, text) = lev.responses(&body).await;
    assert_eq!(status, 200, "{text}");
    let (evs, response) = events(&text);
    assert_eq!(response["status"], "completed");
    let message = response["output"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "message")
        .unwrap();
    assert!(
        message["content"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("echo: ")
    );
    let deltas: String = evs
        .iter()
        .filter(|e| e["type"] == "response.output_text.delta")
        .map(|e| e["delta"].as_str().unwrap())
        .collect();
    assert_eq!(deltas, message["content"][0]["text"].as_str().unwrap());
    assert!(response["usage"]["total_tokens"].as_u64().unwrap() > 0);

    let up = fake.last();
    assert!(
        up.path
            .contains("gemini-3-pro-preview:streamGenerateContent")
    );
    let system = up.body["systemInstruction"]["parts"][0]["text"]
        .as_str()
        .unwrap();
    assert!(
        system.starts_with("You are a coding agent running in the Codex CLI"),
        "developer messages are system text"
    );
    let names: Vec<&str> = up.body["tools"][0]["functionDeclarations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"exec_command"));
    assert!(
        names.iter().any(|n| n.starts_with("multi_agent_v1__")),
        "namespaced tools flattened: {names:?}"
    );
}

/// A Gemini 3 tool loop through a stateless client: the function call's
/// signature leaves in a sealed reasoning item and comes back on the call.
#[tokio::test]
async fn reasoning_state_round_trips_through_encrypted_content() {
    let (lev, fake) = with_gemini().await;
    let tools = json!([{"type": "namespace", "name": "shell", "tools": [{"type": "function", "name": "run",
        "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}}]}]);
    let mut input = vec![
        json!({"role": "user", "content": [{"type": "input_text", "text": "call shell__run {\"cmd\": \"ls\"}"}]}),
    ];
    let (status, text) = lev.responses(&json!({"model": "gpt-5", "stream": true, "store": false, "tools": tools,
        "include": ["reasoning.encrypted_content"], "reasoning": {"effort": "high"}, "input": input})).await;
    assert_eq!(status, 200, "{text}");
    let (_, response) = events(&text);
    let output = response["output"].as_array().unwrap().clone();
    let call = output
        .iter()
        .find(|i| i["type"] == "function_call")
        .unwrap();
    assert_eq!(
        (call["namespace"].as_str(), call["name"].as_str()),
        (Some("shell"), Some("run")),
        "{call}"
    );
    assert_eq!(
        serde_json::from_str::<Value>(call["arguments"].as_str().unwrap()).unwrap(),
        json!({"cmd": "ls"})
    );
    let sealed = output
        .iter()
        .filter(|i| i["type"] == "reasoning")
        .filter_map(|i| i["encrypted_content"].as_str())
        .collect::<Vec<_>>();
    assert!(!sealed.is_empty());
    assert!(
        sealed.iter().all(|s| !s.contains(GEMINI_CALL_SIG)),
        "opaque"
    );

    input.extend(output.iter().cloned());
    input.push(
        json!({"type": "function_call_output", "call_id": call["call_id"], "output": "file.txt"}),
    );
    let (status, text) = lev
        .responses(&json!({"model": "gpt-5", "store": false, "tools": tools, "input": input}))
        .await;
    assert_eq!(status, 200, "{text}");
    let response: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(response["object"], "response");
    assert_eq!(
        response["output"].as_array().unwrap().last().unwrap()["content"][0]["text"],
        "tool result: {\"result\":\"file.txt\"}"
    );
    let up = fake.last();
    let parts = up.body["contents"][1]["parts"].as_array().unwrap();
    let fc = parts
        .iter()
        .find(|p| p.get("functionCall").is_some())
        .unwrap();
    assert_eq!(fc["functionCall"]["name"], "shell__run");
    assert_eq!(
        fc["thoughtSignature"], GEMINI_CALL_SIG,
        "the real signature, opened from the sealed item"
    );

    // A tampered blob is ignored, never trusted.
    let mut forged = input.clone();
    for item in forged.iter_mut().filter(|i| i["type"] == "reasoning") {
        item["encrypted_content"] = json!("00ff");
    }
    let (status, _) = lev
        .responses(&json!({"model": "gpt-5", "store": false, "tools": tools, "input": forged}))
        .await;
    assert_eq!(status, 200);
    let fc = fake.last().body["contents"][1]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p.get("functionCall").is_some())
        .cloned()
        .unwrap();
    assert_eq!(fc["thoughtSignature"], "skip_thought_signature_validator");
}

#[tokio::test]
async fn responses_errors_and_plain_input() {
    let (lev, fake) = with_gemini().await;
    let (status, text) = lev.responses(&json!({"model": "gemini-2.5-flash", "input": "hello", "instructions": "Be brief.", "max_output_tokens": 50})).await;
    assert_eq!(status, 200, "{text}");
    let r: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(r["output"][0]["content"][0]["text"], "echo: hello");
    assert!(r["id"].as_str().unwrap().starts_with("resp_"));
    assert_eq!(
        fake.last().body["systemInstruction"]["parts"][0]["text"],
        "Be brief."
    );
    let (status, text) = lev.responses(&json!({"model": "gemini-2.5-flash"})).await;
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["error"]["param"],
        "input"
    );
    let resp = lev
        .http
        .post(format!("{}/responses", lev.url))
        .json(&json!({"model": "nope", "input": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404, "also served without /v1");
}
