//! The 4 × 4 matrix: every client protocol (OpenAI Chat, OpenAI Responses,
//! Anthropic Messages, Gemini) against every upstream kind (Gemini API,
//! Anthropic, OpenAI-compatible, OpenAI Responses; Code Assist shares the
//! Gemini encoding and has its own tests), streamed and not, for plain text, a tool-call round
//! trip and thinking. Each cell checks what the client got and what the
//! upstream received, and compares both with its golden file in
//! `tests/corpus/` (`UPDATE_CORPUS=1` rewrites them; see its README).

use crate::common::Levity;
use crate::fake::Fake;
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug)]
enum Client {
    Chat,
    Responses,
    Messages,
    Gemini,
}

#[derive(Clone, Copy, Debug)]
enum Upstream {
    Gemini,
    Anthropic,
    OpenAi,
    Responses,
}

const MODEL: &str = "matrix-model";

/// What a client made of an answer.
#[derive(Debug, Default)]
struct Got {
    text: String,
    thinking: String,
    call: Option<(String, String, Value)>,
    /// The assistant turn as the client would send it back.
    assistant: Value,
}

fn tool_schema() -> Value {
    json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
}

/// The first request of a cell.
fn request(
    client: Client,
    stream: bool,
    prompt: &str,
    tools: bool,
    think: bool,
) -> (String, Value) {
    let user = prompt;
    match client {
        Client::Chat => {
            let mut b = json!({"model": MODEL, "stream": stream, "messages": [{"role": "user", "content": user}]});
            if tools {
                b["tools"] = json!([{"type": "function", "function": {"name": "get_weather", "parameters": tool_schema()}}]);
            }
            if think {
                b["reasoning_effort"] = json!("high");
            }
            ("/v1/chat/completions".into(), b)
        }
        Client::Responses => {
            let mut b = json!({"model": MODEL, "stream": stream, "store": false, "input": [{"role": "user", "content": user}]});
            if tools {
                b["tools"] = json!([{"type": "function", "name": "get_weather", "parameters": tool_schema()}]);
            }
            if think {
                // As Codex asks, so a native upstream sends a summary too.
                b["reasoning"] = json!({"effort": "high", "summary": "auto"});
            }
            ("/v1/responses".into(), b)
        }
        Client::Messages => {
            let mut b = json!({"model": MODEL, "max_tokens": 4096, "stream": stream, "messages": [{"role": "user", "content": user}]});
            if tools {
                b["tools"] = json!([{"name": "get_weather", "input_schema": tool_schema()}]);
            }
            if think {
                b["thinking"] = json!({"type": "enabled", "budget_tokens": 2048});
            }
            ("/v1/messages".into(), b)
        }
        Client::Gemini => {
            let mut b = json!({"contents": [{"role": "user", "parts": [{"text": user}]}]});
            if tools {
                b["tools"] = json!([{"functionDeclarations": [{"name": "get_weather", "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]}}]}]);
            }
            if think {
                b["generationConfig"] =
                    json!({"thinkingConfig": {"includeThoughts": true, "thinkingBudget": 2048}});
            }
            let method = if stream {
                "streamGenerateContent?alt=sse"
            } else {
                "generateContent"
            };
            (format!("/v1beta/models/{MODEL}:{method}"), b)
        }
    }
}

/// The second request: the first turn, the assistant's tool call, its result.
fn follow_up(client: Client, first: &Value, got: &Got, result: &str) -> Value {
    let (id, name, _) = got.call.clone().expect("a tool call to answer");
    let mut b = first.clone();
    match client {
        Client::Chat => {
            let m = b["messages"].as_array_mut().unwrap();
            m.push(got.assistant.clone());
            m.push(json!({"role": "tool", "tool_call_id": id, "content": result}));
        }
        Client::Responses => {
            let input = b["input"].as_array_mut().unwrap();
            input.extend(got.assistant.as_array().unwrap().iter().cloned());
            input.push(json!({"type": "function_call_output", "call_id": id, "output": result}));
        }
        Client::Messages => {
            let m = b["messages"].as_array_mut().unwrap();
            m.push(json!({"role": "assistant", "content": got.assistant}));
            m.push(json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": result}]}));
        }
        Client::Gemini => {
            let c = b["contents"].as_array_mut().unwrap();
            c.push(json!({"role": "model", "parts": got.assistant}));
            c.push(json!({"role": "user", "parts": [{"functionResponse": {"name": name, "response": {"result": result}}}]}));
        }
    }
    b
}

fn sse_data(body: &str) -> Vec<Value> {
    // Upstream streams passed through keep their own line endings.
    body.replace("\r\n", "\n")
        .split("\n\n")
        .filter_map(|f| f.lines().find_map(|l| l.strip_prefix("data: ")))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap_or_else(|e| panic!("bad event {d}: {e}")))
        .collect()
}

/// Reads an answer the way each client does.
fn parse(client: Client, stream: bool, body: &str) -> Got {
    let mut got = Got::default();
    match client {
        Client::Chat => {
            let message = if stream {
                let mut m = json!({"role": "assistant", "content": ""});
                let mut calls: Vec<Value> = Vec::new();
                for f in sse_data(body) {
                    let d = &f["choices"][0]["delta"];
                    got.text.push_str(d["content"].as_str().unwrap_or(""));
                    got.thinking
                        .push_str(d["reasoning_content"].as_str().unwrap_or(""));
                    // Tool calls arrive in fragments, keyed by index.
                    for tc in d["tool_calls"].as_array().into_iter().flatten() {
                        let i = tc["index"].as_u64().unwrap() as usize;
                        if calls.len() <= i {
                            calls.push(json!({"id": tc["id"], "function": {"name": tc["function"]["name"], "arguments": ""}}));
                        }
                        let args = format!(
                            "{}{}",
                            calls[i]["function"]["arguments"].as_str().unwrap(),
                            tc["function"]["arguments"].as_str().unwrap_or("")
                        );
                        calls[i]["function"]["arguments"] = json!(args);
                    }
                }
                m["content"] = json!(got.text);
                if !calls.is_empty() {
                    m["tool_calls"] = json!(calls.iter().map(|c| json!({"id": c["id"], "type": "function", "function": c["function"]})).collect::<Vec<_>>());
                }
                m
            } else {
                let v: Value = serde_json::from_str(body).unwrap();
                let m = v["choices"][0]["message"].clone();
                got.text = m["content"].as_str().unwrap_or("").to_string();
                got.thinking = m["reasoning_content"].as_str().unwrap_or("").to_string();
                m
            };
            if let Some(c) = message["tool_calls"].get(0) {
                let args =
                    serde_json::from_str(c["function"]["arguments"].as_str().unwrap()).unwrap();
                got.call = Some((
                    c["id"].as_str().unwrap().into(),
                    c["function"]["name"].as_str().unwrap().into(),
                    args,
                ));
            }
            got.assistant = message;
        }
        Client::Responses => {
            let response = if stream {
                sse_data(body)
                    .into_iter()
                    .find(|e| e["type"] == "response.completed")
                    .expect("response.completed")["response"]
                    .clone()
            } else {
                serde_json::from_str(body).unwrap()
            };
            for item in response["output"].as_array().unwrap() {
                match item["type"].as_str().unwrap() {
                    "message" => got
                        .text
                        .push_str(item["content"][0]["text"].as_str().unwrap()),
                    "reasoning" => {
                        for s in item["summary"].as_array().into_iter().flatten() {
                            got.thinking.push_str(s["text"].as_str().unwrap_or(""));
                        }
                    }
                    "function_call" => {
                        let args =
                            serde_json::from_str(item["arguments"].as_str().unwrap()).unwrap();
                        got.call = Some((
                            item["call_id"].as_str().unwrap().into(),
                            item["name"].as_str().unwrap().into(),
                            args,
                        ));
                    }
                    _ => {}
                }
            }
            got.assistant = response["output"].clone();
        }
        Client::Messages => {
            let message = if stream {
                crate::anthropic::accumulate(body)
            } else {
                serde_json::from_str(body).unwrap()
            };
            for b in message["content"].as_array().unwrap() {
                match b["type"].as_str().unwrap() {
                    "text" => got.text.push_str(b["text"].as_str().unwrap()),
                    "thinking" => got.thinking.push_str(b["thinking"].as_str().unwrap()),
                    "tool_use" => {
                        got.call = Some((
                            b["id"].as_str().unwrap().into(),
                            b["name"].as_str().unwrap().into(),
                            b["input"].clone(),
                        ))
                    }
                    _ => {}
                }
            }
            got.assistant = message["content"].clone();
        }
        Client::Gemini => {
            let chunks = if stream {
                sse_data(body)
            } else {
                vec![serde_json::from_str(body).unwrap()]
            };
            let mut parts: Vec<Value> = Vec::new();
            for c in chunks {
                for p in c["candidates"][0]["content"]["parts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    if p["thought"] == json!(true) {
                        got.thinking.push_str(p["text"].as_str().unwrap_or(""));
                    } else if let Some(t) = p["text"].as_str() {
                        got.text.push_str(t);
                    }
                    if let Some(fc) = p.get("functionCall") {
                        got.call = Some((
                            fc["id"].as_str().unwrap_or("").into(),
                            fc["name"].as_str().unwrap().into(),
                            fc["args"].clone(),
                        ));
                    }
                    parts.push(p.clone());
                }
            }
            got.assistant = json!(parts);
        }
    }
    got
}

async fn post(lev: &Levity, path: &str, body: &Value) -> (u16, String) {
    let resp = lev
        .http
        .post(format!("{}{path}", lev.url))
        .json(body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn setup(upstream: Upstream) -> (Levity, Fake) {
    let fake = Fake::start().await;
    let lev = Levity::start().await;
    match upstream {
        Upstream::Gemini => {
            lev.add_gemini("g", "AIzaMATRIX-0000001", &fake.url()).await;
            lev.set(&format!("model_map.{MODEL}"), "gemini-2.5-flash")
                .await;
        }
        Upstream::Anthropic => {
            lev.add_anthropic("c", "sk-ant-matrix-001", &fake.url())
                .await;
            // A Claude name newer than the catalogue: kept with force.
            lev.set_forced(&format!("model_map.{MODEL}"), "claude-sonnet-5-5")
                .await;
        }
        Upstream::OpenAi => {
            lev.add_openai(
                "o",
                "sk-matrix-000001",
                &format!("{}/v1", fake.url()),
                &["deepseek-reasoner"],
            )
            .await;
            lev.set(&format!("model_map.{MODEL}"), "deepseek-reasoner")
                .await;
        }
        Upstream::Responses => {
            lev.add_responses(
                "r",
                "sk-proj-matrix-01",
                &format!("{}/v1", fake.url()),
                &["gpt-5-codex"],
            )
            .await;
            lev.set(&format!("model_map.{MODEL}"), "gpt-5-codex").await;
        }
    }
    (lev, fake)
}

/// Where each upstream kind must have been called, and what it calls a tool result.
fn upstream_path(upstream: Upstream, stream: bool) -> &'static str {
    match (upstream, stream) {
        (Upstream::Gemini, false) => "/v1beta/models/gemini-2.5-flash:generateContent",
        (Upstream::Gemini, true) => "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        (Upstream::Anthropic, _) => "/v1/messages",
        (Upstream::OpenAi, _) => "/v1/chat/completions",
        (Upstream::Responses, _) => "/v1/responses",
    }
}

fn tool_result_seen(upstream: Upstream, body: &Value) -> bool {
    let s = body.to_string();
    match upstream {
        Upstream::Gemini => s.contains("\"functionResponse\"") && s.contains("sunny"),
        Upstream::Anthropic => s.contains("\"tool_result\"") && s.contains("sunny"),
        Upstream::OpenAi => s.contains("\"role\":\"tool\"") && s.contains("sunny"),
        Upstream::Responses => s.contains("\"function_call_output\"") && s.contains("sunny"),
    }
}

/// Compares the cell with its golden file in `tests/corpus/`.
fn record(cell: &str, entries: Value) {
    crate::golden::check(
        &format!("tests/corpus/{cell}.json"),
        &crate::golden::stable(&entries),
    );
}

async fn cell(client: Client, upstream: Upstream, stream: bool) {
    let name = format!(
        "{client:?}-{upstream:?}-{}",
        if stream { "stream" } else { "whole" }
    )
    .to_lowercase();
    let (lev, fake) = setup(upstream).await;

    // Plain text.
    let (path, body) = request(client, stream, "reply plain text works", false, false);
    let (status, text) = post(&lev, &path, &body).await;
    assert_eq!(status, 200, "{name} text: {text}");
    let got = parse(client, stream, &text);
    assert_eq!(got.text, "plain text works", "{name} text");
    let up = fake.last();
    assert_eq!(up.path, upstream_path(upstream, stream), "{name}");
    record(
        &format!("{name}-text"),
        json!({"client_path": path, "client_request": body, "upstream_path": up.path, "upstream_request": up.body, "client_response": text}),
    );

    // A tool call, then its result.
    let (path, first) = request(
        client,
        stream,
        "call get_weather {\"city\": \"Paris\"}",
        true,
        false,
    );
    let (status, text) = post(&lev, &path, &first).await;
    assert_eq!(status, 200, "{name} tool: {text}");
    let got = parse(client, stream, &text);
    let (_, tool, args) = got
        .call
        .clone()
        .unwrap_or_else(|| panic!("{name}: no tool call in {text}"));
    assert_eq!(
        (tool.as_str(), args),
        ("get_weather", json!({"city": "Paris"})),
        "{name}"
    );
    let second = follow_up(client, &first, &got, "sunny");
    let (status, text2) = post(&lev, &path, &second).await;
    assert_eq!(status, 200, "{name} tool result: {text2}");
    let answer = parse(client, stream, &text2);
    assert!(
        answer.text.starts_with("tool result:") && answer.text.contains("sunny"),
        "{name}: {}",
        answer.text
    );
    assert!(
        tool_result_seen(upstream, &fake.last().body),
        "{name}: {}",
        fake.last().body
    );
    record(
        &format!("{name}-tool"),
        json!({"client_path": path, "turns": [
        {"client_request": first, "client_response": text},
        {"client_request": second, "upstream_request": fake.last().body, "client_response": text2}]}),
    );

    // Thinking comes back as each protocol's reasoning.
    let (path, body) = request(client, stream, "reply thought through", false, true);
    let (status, text) = post(&lev, &path, &body).await;
    assert_eq!(status, 200, "{name} thinking: {text}");
    let got = parse(client, stream, &text);
    assert_eq!(got.text, "thought through", "{name}");
    assert!(!got.thinking.is_empty(), "{name}: no reasoning in {text}");
    let up = fake.last().body;
    let asked = match upstream {
        Upstream::Gemini => {
            up["generationConfig"]["thinkingConfig"]["includeThoughts"] == json!(true)
        }
        Upstream::Anthropic => up["thinking"]["type"] == "enabled",
        Upstream::OpenAi => up["reasoning_effort"].is_string(),
        Upstream::Responses => {
            up["reasoning"]["effort"].is_string()
                && up["reasoning"]["summary"] == "auto"
                && up["store"] == false
        }
    };
    assert!(asked, "{name}: the upstream was asked to think: {up}");
    record(
        &format!("{name}-thinking"),
        json!({"client_path": path, "client_request": body, "upstream_request": up, "client_response": text}),
    );
}

macro_rules! matrix {
    ($($test:ident: $client:ident $upstream:ident;)*) => {$(
        #[tokio::test]
        async fn $test() {
            cell(Client::$client, Upstream::$upstream, false).await;
            cell(Client::$client, Upstream::$upstream, true).await;
        }
    )*};
}

matrix! {
    chat_to_gemini: Chat Gemini;
    chat_to_anthropic: Chat Anthropic;
    chat_to_openai: Chat OpenAi;
    responses_to_gemini: Responses Gemini;
    responses_to_anthropic: Responses Anthropic;
    responses_to_openai: Responses OpenAi;
    messages_to_gemini: Messages Gemini;
    messages_to_anthropic: Messages Anthropic;
    messages_to_openai: Messages OpenAi;
    gemini_to_gemini: Gemini Gemini;
    gemini_to_anthropic: Gemini Anthropic;
    gemini_to_openai: Gemini OpenAi;
    chat_to_responses: Chat Responses;
    responses_to_responses: Responses Responses;
    messages_to_responses: Messages Responses;
    gemini_to_responses: Gemini Responses;
}
