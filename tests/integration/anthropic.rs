//! Anthropic Messages in: Claude Code's real requests and the rules of issue
//! #3, against fake Gemini, Anthropic and OpenAI-compatible upstreams.

use crate::common::{Levity, sse_events};
use crate::fake::{ANTHROPIC_SIG, Fake, Fault, GEMINI_CALL_SIG, GEMINI_TEXT_SIG};
use serde_json::{Value, json};

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/claude-code/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

impl Levity {
    /// POSTs to `/v1/messages?beta=true` the way Claude Code does.
    pub async fn messages(&self, body: &Value) -> (u16, String) {
        let resp = self
            .http
            .post(format!("{}/v1/messages?beta=true", self.url))
            .header("anthropic-version", "2023-06-01")
            .header(
                "anthropic-beta",
                "claude-code-20250219,interleaved-thinking-2025-05-14",
            )
            .json(body)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }
}

/// Folds an Anthropic SSE body into the message it describes, checking the
/// grammar on the way: one message_start first, blocks opened, filled and
/// closed in index order, message_delta then message_stop last.
pub fn accumulate(body: &str) -> Value {
    let frames: Vec<(String, Value)> = body
        .split("\n\n")
        .filter(|f| !f.trim().is_empty())
        .map(|f| {
            let mut lines = f.lines();
            let event = lines
                .next()
                .unwrap()
                .strip_prefix("event: ")
                .unwrap_or_else(|| panic!("no event line in {f}"));
            let data = lines.next().unwrap().strip_prefix("data: ").unwrap();
            let data: Value = serde_json::from_str(data).unwrap();
            assert_eq!(data["type"], event, "event name matches its data type");
            (event.to_string(), data)
        })
        .filter(|(e, _)| e != "ping")
        .collect();
    assert_eq!(frames[0].0, "message_start", "{body}");
    assert_eq!(frames[frames.len() - 1].0, "message_stop", "{body}");
    assert_eq!(frames[frames.len() - 2].0, "message_delta", "{body}");
    let mut message = frames[0].1["message"].clone();
    let mut content: Vec<Value> = Vec::new();
    let mut open: Option<usize> = None;
    for (event, data) in &frames[1..frames.len() - 2] {
        let index = data["index"].as_u64().unwrap() as usize;
        match event.as_str() {
            "content_block_start" => {
                assert_eq!(open, None, "a block opened before the last one closed");
                assert_eq!(index, content.len(), "block indexes are consecutive");
                content.push(data["content_block"].clone());
                open = Some(index);
            }
            "content_block_delta" => {
                assert_eq!(open, Some(index), "delta for the open block");
                let block = &mut content[index];
                let d = &data["delta"];
                match d["type"].as_str().unwrap() {
                    "text_delta" => {
                        block["text"] = json!(format!(
                            "{}{}",
                            block["text"].as_str().unwrap(),
                            d["text"].as_str().unwrap()
                        ))
                    }
                    "thinking_delta" => {
                        block["thinking"] = json!(format!(
                            "{}{}",
                            block["thinking"].as_str().unwrap(),
                            d["thinking"].as_str().unwrap()
                        ))
                    }
                    "signature_delta" => block["signature"] = d["signature"].clone(),
                    "input_json_delta" => {
                        let prev = block
                            .get("partial")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string();
                        block["partial"] = json!(prev + d["partial_json"].as_str().unwrap());
                    }
                    other => panic!("unknown delta {other}"),
                }
            }
            "content_block_stop" => {
                assert_eq!(open, Some(index));
                open = None;
                let block = &mut content[index];
                if let Some(partial) = block.as_object_mut().unwrap().remove("partial") {
                    block["input"] = serde_json::from_str(partial.as_str().unwrap()).unwrap();
                }
            }
            other => panic!("unexpected event {other} in {body}"),
        }
    }
    assert_eq!(open, None);
    let delta = &frames[frames.len() - 2].1;
    message["content"] = Value::Array(content);
    message["stop_reason"] = delta["delta"]["stop_reason"].clone();
    message["usage"]["output_tokens"] = delta["usage"]["output_tokens"].clone();
    message
}

async fn with_gemini() -> (Levity, Fake) {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIzaANTHROPIC-TEST-01", &fake.url())
        .await;
    (lev, fake)
}

#[tokio::test]
async fn claude_code_first_turn_reaches_gemini_cleaned() {
    let (lev, fake) = with_gemini().await;
    let (status, body) = lev
        .messages(&fixture("01_print_mode_say_hi_stream.json")["body"])
        .await;
    assert_eq!(status, 200, "{body}");
    let message = accumulate(&body);
    assert_eq!(message["role"], "assistant");
    let text: Vec<&Value> = message["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "text")
        .collect();
    assert_eq!(text.len(), 1);
    assert!(text[0]["text"].as_str().unwrap().starts_with("echo: "));
    assert_eq!(message["stop_reason"], "end_turn");

    let up = fake.last();
    // claude-opus-* goes to Gemini 2.5 Pro by default, streamed.
    assert_eq!(
        up.path,
        "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
    );
    let system = up.body["systemInstruction"]["parts"][0]["text"]
        .as_str()
        .unwrap();
    assert!(
        system.starts_with("You are a Claude agent"),
        "billing header dropped: {}",
        &system[..60]
    );
    // user, user, system (folded into the user's turn): one user content.
    let roles: Vec<&str> = up.body["contents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user"]);
    assert!(
        up.body["contents"][0]["parts"][2]["text"]
            .as_str()
            .unwrap()
            .starts_with("# Environment")
    );
    let config = &up.body["generationConfig"];
    assert_eq!(
        config["maxOutputTokens"], 65_536,
        "128000 capped to the model's limit"
    );
    assert_eq!(
        config["thinkingConfig"],
        json!({"includeThoughts": true, "thinkingBudget": 8192})
    );
    let decls = up.body["tools"][0]["functionDeclarations"]
        .as_array()
        .unwrap();
    assert_eq!(decls.len(), 12, "every tool, including the deferred one");
    let text = up.body["tools"].to_string();
    for banned in [
        "$schema",
        "propertyNames",
        "exclusiveMinimum",
        "additionalProperties",
        "cache_control",
        "defer_loading",
    ] {
        assert!(
            !text.contains(&format!("\"{banned}\"")),
            "{banned} reached Gemini"
        );
    }
}

#[tokio::test]
async fn claude_code_tool_result_turn_matches_the_call_by_id() {
    let (lev, fake) = with_gemini().await;
    let (status, body) = lev
        .messages(&fixture("02_print_mode_tool_result_turn.json")["body"])
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        accumulate(&body)["content"]
            .to_string()
            .contains("tool result: ")
    );
    let contents = fake.last().body["contents"].as_array().unwrap().clone();
    let roles: Vec<&str> = contents
        .iter()
        .map(|c| c["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "model", "user"]);
    assert_eq!(
        contents[1]["parts"][1]["functionCall"],
        json!({"name": "Bash", "args": {"command": "echo feas-tool-ok", "description": "Print a marker"}})
    );
    assert_eq!(
        contents[2]["parts"][0]["functionResponse"],
        json!({"name": "Bash", "response": {"result": "feas-tool-ok"}})
    );
}

fn tools() -> Value {
    json!([{"name": "Bash", "description": "Run a command", "input_schema": {"type": "object",
        "properties": {"command": {"type": "string"}}, "required": ["command"], "additionalProperties": false}}])
}

fn ask(model: &str, messages: Value, stream: bool) -> Value {
    json!({"model": model, "max_tokens": 128000, "stream": stream, "tools": tools(),
        "thinking": {"type": "enabled", "budget_tokens": 4096}, "messages": messages})
}

/// Three turns of thinking and tool calls on a Gemini model that insists on
/// signatures: they go out to the client and come back to the right parts.
#[tokio::test]
async fn thinking_signatures_round_trip_across_turns() {
    let (lev, fake) = with_gemini().await;
    lev.set("model_map.claude-sonnet-*", "gemini-3-pro-preview")
        .await;
    let model = "claude-sonnet-5-5";
    let mut messages =
        vec![json!({"role": "user", "content": "call Bash {\"command\": \"echo one\"}"})];

    let (status, body) = lev.messages(&ask(model, json!(messages), true)).await;
    assert_eq!(status, 200, "{body}");
    let turn1 = accumulate(&body);
    let blocks = turn1["content"].as_array().unwrap();
    let kinds: Vec<&str> = blocks.iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["thinking", "text", "thinking", "tool_use"],
        "{turn1}"
    );
    assert_eq!(turn1["stop_reason"], "tool_use");
    let call_sig = blocks[2]["signature"].as_str().unwrap();
    assert!(
        call_sig.starts_with("lvt1:gemini:call:gemini-3-pro-preview:"),
        "{call_sig}"
    );
    assert!(blocks[3]["id"].as_str().is_some());
    assert_eq!(blocks[3]["input"], json!({"command": "echo one"}));

    messages.push(json!({"role": "assistant", "content": blocks}));
    messages.push(json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": blocks[3]["id"], "content": "one"}]}));
    let (status, body) = lev.messages(&ask(model, json!(messages), false)).await;
    assert_eq!(status, 200, "{body}");
    let turn2: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(turn2["type"], "message");
    let up = fake.last();
    let model_turn = &up.body["contents"][1]["parts"];
    let call = model_turn
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p.get("functionCall").is_some())
        .unwrap();
    assert_eq!(
        call["thoughtSignature"], GEMINI_CALL_SIG,
        "the real signature, on the call"
    );
    assert_eq!(
        turn2["content"].as_array().unwrap().last().unwrap()["text"],
        "tool result: {\"result\":\"one\"}"
    );

    // Turn three: the text answer's own signature comes back on its thought.
    messages.push(json!({"role": "assistant", "content": turn2["content"]}));
    messages.push(json!({"role": "user", "content": "reply done"}));
    let (status, body) = lev.messages(&ask(model, json!(messages), true)).await;
    assert_eq!(status, 200, "{body}");
    assert!(accumulate(&body)["content"].to_string().contains("done"));
    let sent = fake.last().body["contents"].to_string();
    assert!(sent.contains(GEMINI_TEXT_SIG), "text signature replayed");
}

/// The same conversation continued on Claude, then back on Gemini: each
/// upstream only ever sees signatures it issued.
#[tokio::test]
async fn switching_models_mid_conversation_never_leaks_signatures() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_gemini("g", "AIzaSWITCH-0001", &fake.url()).await;
    lev.add_anthropic("c", "sk-ant-switch-0001", &fake.url())
        .await;
    lev.set("model_map.gemini-flash", "gemini-3-flash-preview")
        .await;

    let mut messages =
        vec![json!({"role": "user", "content": "call Bash {\"command\": \"echo a\"}"})];
    let (status, body) = lev
        .messages(&ask("gemini-flash", json!(messages), true))
        .await;
    assert_eq!(status, 200, "{body}");
    let gemini_turn = accumulate(&body);
    let call_id = gemini_turn["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "tool_use")
        .unwrap()["id"]
        .clone();
    messages.push(json!({"role": "assistant", "content": gemini_turn["content"]}));
    messages.push(json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": call_id, "content": "a"}]}));

    // Switch to Claude: thinking is on, the last tool turn has only Gemini's
    // thinking, which Anthropic cannot verify.
    let (status, body) = lev
        .messages(&ask("claude-sonnet-5-5", json!(messages), true))
        .await;
    assert_eq!(status, 200, "{body}");
    let up = fake.last();
    assert_eq!(up.path, "/v1/messages");
    assert!(
        !up.body.to_string().contains("lvt1:"),
        "no Gemini signature reaches Anthropic"
    );
    assert!(
        up.body.get("thinking").is_none(),
        "thinking off rather than 'Expected thinking'"
    );
    let claude_turn = accumulate(&body);
    messages.push(json!({"role": "assistant", "content": claude_turn["content"]}));
    messages.push(json!({"role": "user", "content": "call Bash {\"command\": \"echo b\"}"}));

    // A Claude thinking turn with a real signature, then back to Gemini 3.
    let (status, body) = lev
        .messages(&ask("claude-sonnet-5-5", json!(messages), true))
        .await;
    assert_eq!(status, 200, "{body}");
    let claude_turn = accumulate(&body);
    assert!(claude_turn["content"].to_string().contains(ANTHROPIC_SIG));
    let call_id = claude_turn["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "tool_use")
        .unwrap()["id"]
        .clone();
    messages.push(json!({"role": "assistant", "content": claude_turn["content"]}));
    messages.push(json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": call_id, "content": "b"}]}));
    let (status, body) = lev
        .messages(&ask("gemini-flash", json!(messages), true))
        .await;
    assert_eq!(status, 200, "{body}");
    let up = fake.last();
    assert!(up.path.contains("gemini-3-flash-preview"));
    assert!(
        !up.body.to_string().contains(ANTHROPIC_SIG),
        "no Claude signature reaches Gemini"
    );
}

#[tokio::test]
async fn a_refused_signature_is_retried_once_without_reasoning() {
    let (lev, fake) = with_gemini().await;
    fake.push(Fault::Status { status: 400, body: json!({"error": {"code": 400, "message": "Thought signature is not valid.", "status": "INVALID_ARGUMENT"}}).to_string(), retry_after: None });
    let messages = json!([
        {"role": "user", "content": "call Bash {}"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "hm", "signature": format!("lvt1:gemini:thought:gemini-2.5-flash:{GEMINI_TEXT_SIG}")}, {"type": "text", "text": "ok"}]},
        {"role": "user", "content": "reply fine"}]);
    let (status, body) = lev
        .messages(&json!({"model": "gemini-2.5-flash", "max_tokens": 100, "messages": messages}))
        .await;
    assert_eq!(status, 200, "{body}");
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    assert!(reqs[0].body.to_string().contains(GEMINI_TEXT_SIG));
    assert!(!reqs[1].body.to_string().contains("thoughtSignature"));
}

#[tokio::test]
async fn non_stream_messages_and_blocks() {
    let (lev, fake) = with_gemini().await;
    let pixel = "iVBORw0KGgo=";
    let body = json!({"model": "gemini-2.5-flash", "max_tokens": 1000, "temperature": 0.5, "top_k": 20,
        "stop_sequences": ["END"], "system": "Be brief.",
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "look"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": pixel}},
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}}]}]});
    let (status, text) = lev.messages(&body).await;
    assert_eq!(status, 200, "{text}");
    let m: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(m["type"], "message");
    assert!(m["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(
        m["content"],
        json!([{"type": "text", "text": "echo: look [images: 2]"}])
    );
    assert_eq!(m["stop_reason"], "end_turn");
    assert!(m["usage"]["input_tokens"].as_u64().unwrap() > 0);
    let up = fake.last();
    assert_eq!(
        up.body["systemInstruction"],
        json!({"parts": [{"text": "Be brief."}]})
    );
    assert_eq!(
        up.body["generationConfig"],
        json!({"temperature": 0.5, "topK": 20, "maxOutputTokens": 1000, "stopSequences": ["END"]})
    );
    assert_eq!(
        up.body["contents"][0]["parts"][1],
        json!({"inlineData": {"mimeType": "image/png", "data": pixel}})
    );
    assert_eq!(
        up.body["contents"][0]["parts"][2],
        json!({"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}})
    );
}

#[tokio::test]
async fn errors_come_in_anthropic_shape() {
    let (lev, fake) = with_gemini().await;
    // Answer a rate limit at once rather than queue for the account's return.
    lev.set("queue_timeout_secs", "0").await;
    let (status, body) = lev
        .messages(&json!({"model": "gemini-2.5-flash", "max_tokens": 5}))
        .await;
    assert_eq!(status, 400);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert!(v["error"]["message"].as_str().unwrap().contains("messages"));

    fake.push(Fault::Status {
        status: 429,
        body: "{\"error\":{\"message\":\"quota\",\"status\":\"RESOURCE_EXHAUSTED\"}}".into(),
        retry_after: Some(9),
    });
    let resp = lev.http.post(format!("{}/v1/messages", lev.url))
        .json(&json!({"model": "gemini-2.5-flash", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}))
        .send().await.unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "9");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["type"], "rate_limit_error");

    // A stream that breaks after it started, with resuming off, ends with an
    // error event (on a fresh pool: the 429 above left the account resting).
    let (lev, fake) = with_gemini().await;
    lev.set("stream_resumes", "0").await;
    fake.push(Fault::Truncate);
    let (status, body) = lev
        .messages(
            &json!({"model": "gemini-2.5-flash", "max_tokens": 5, "stream": true,
        "messages": [{"role": "user", "content": "reply a long enough answer"}]}),
        )
        .await;
    assert_eq!(status, 200);
    assert!(body.contains("event: error"), "{body}");
    assert!(!body.contains("message_stop"));

    lev.create_key().await;
    let resp = lev
        .http
        .post(format!("{}/v1/messages", lev.url))
        .header("x-api-key", "sk-wrong")
        .json(&json!({"model": "m", "max_tokens": 5, "messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["type"], "authentication_error");
}

#[tokio::test]
async fn count_tokens_uses_the_upstream_counter() {
    let (lev, fake) = with_gemini().await;
    let count = |text: &str| json!({"model": "claude-sonnet-5-5", "messages": [{"role": "user", "content": text}]});
    let post = |body: Value| {
        lev.http
            .post(format!("{}/v1/messages/count_tokens?beta=true", lev.url))
            .json(&body)
            .send()
    };
    let small: Value = post(count("hi")).await.unwrap().json().await.unwrap();
    let big: Value = post(count(&"many words ".repeat(500)))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(fake.last().path.ends_with("gemini-2.5-flash:countTokens"));
    let (small, big) = (
        small["input_tokens"].as_u64().unwrap(),
        big["input_tokens"].as_u64().unwrap(),
    );
    assert!(small > 0 && big > small + 1000, "{small} {big}");
}

#[tokio::test]
async fn background_tasks_go_to_the_cheap_model() {
    let (lev, fake) = with_gemini().await;
    let title = json!({"model": "claude-haiku-5-5", "max_tokens": 100, "thinking": {"type": "adaptive"},
        "system": [{"type": "text", "text": "Please write a 5-10 word title for the following conversation."}],
        "messages": [{"role": "user", "content": "we fixed the parser"}]});
    let (status, _) = lev.messages(&title).await;
    assert_eq!(status, 200);
    let up = fake.last();
    assert!(up.path.contains("gemini-2.5-flash-lite"), "{}", up.path);
    assert!(up.body["generationConfig"].get("thinkingConfig").is_none());

    // A real turn with tools is never downgraded.
    let (status, _) = lev
        .messages(&ask(
            "claude-opus-5-5",
            json!([{"role": "user", "content": "write a 5-10 word title"}]),
            false,
        ))
        .await;
    assert_eq!(status, 200);
    assert!(fake.last().path.contains("gemini-2.5-pro"));

    lev.set("background_downgrade", "off").await;
    let (status, _) = lev.messages(&title).await;
    assert_eq!(status, 200);
    assert!(
        fake.last().path.contains("gemini-2.5-flash-lite"),
        "haiku's default mapping"
    );
    lev.set("model_map.claude-*haiku*", "gemini-2.5-flash")
        .await;
    lev.messages(&title).await;
    assert!(fake.last().path.contains("/gemini-2.5-flash:"));
}

#[tokio::test]
async fn anthropic_accounts_get_the_request_as_sent() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_anthropic("claude", "sk-ant-native-0001", &fake.url())
        .await;
    let body = fixture("01_print_mode_say_hi_stream.json")["body"].clone();
    let (status, text) = lev.messages(&body).await;
    assert_eq!(status, 200, "{text}");
    let up = fake.last();
    assert_eq!(up.path, "/v1/messages");
    assert_eq!(up.header("x-api-key"), Some("sk-ant-native-0001"));
    assert_eq!(
        up.header("anthropic-beta"),
        Some("claude-code-20250219,interleaved-thinking-2025-05-14")
    );
    assert_eq!(up.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(up.body, body, "unchanged: same model, same fields");
    assert!(
        text.contains("event: message_stop") && text.contains("claude echo"),
        "{text}"
    );
}

/// OpenAI Chat clients reach Claude, and Claude Code reaches DeepSeek, both
/// through the canonical model.
#[tokio::test]
async fn cross_protocol_paths() {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    lev.add_anthropic("claude", "sk-ant-x-0001", &fake.url())
        .await;
    lev.add_openai(
        "ds",
        "sk-ds-0001",
        &format!("{}/v1", fake.url()),
        &["deepseek-reasoner"],
    )
    .await;

    let (status, _, body) = lev
        .chat(json!({"model": "claude-sonnet-5-5", "max_tokens": 50,
        "messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": "hello"}]}))
        .await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "claude echo: hello");
    let up = fake.last();
    assert_eq!(up.body["system"], "sys");
    assert_eq!(up.body["max_tokens"], 50);

    let (status, _, body) = lev.chat(json!({"model": "claude-sonnet-5-5", "stream": true,
        "messages": [{"role": "user", "content": "call lookup {\"q\": 1}"}], "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {"q": {"type": "integer"}}}}}]})).await;
    assert_eq!(status, 200);
    let frames = sse_events(&body);
    let call = frames
        .iter()
        .find_map(|f| f["choices"][0]["delta"].get("tool_calls"))
        .unwrap();
    assert_eq!(call[0]["function"]["arguments"], "{\"q\":1}");

    let msgs = json!([{"role": "user", "content": "call Bash {\"command\": \"ls\"}"}]);
    let (status, body) = lev
        .messages(&ask("deepseek-reasoner", msgs.clone(), true))
        .await;
    assert_eq!(status, 200, "{body}");
    let m = accumulate(&body);
    let kinds: Vec<&str> = m["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["thinking", "tool_use"]);
    assert_eq!(m["content"][0]["thinking"], "reasoning it out");
    assert_eq!(m["content"][1]["input"], json!({"command": "ls"}));
    assert_eq!(m["stop_reason"], "tool_use");
    let up = fake.last();
    assert_eq!(up.path, "/v1/chat/completions");
    assert_eq!(up.body["tools"][0]["function"]["name"], "Bash");

    let (status, body) = lev.messages(&ask("deepseek-reasoner", msgs, false)).await;
    assert_eq!(status, 200, "{body}");
    let m: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(m["content"][1]["type"], "tool_use");
}
