//! Canonical request → the body the Anthropic API takes, and the cleaning of
//! a native client's history before it passes through (`sanitize_native`).

use crate::canonical::{Image, Origin, Part, Request, Role, Schema, ToolChoice, ToolKind};
use serde::Serialize;
use serde_json::{Map, Value, json};

fn image_block(img: &Image) -> Value {
    let pdf = |m: &str| m == "application/pdf";
    match img {
        Image::Inline { mime_type, data } => json!({
            "type": if pdf(mime_type) { "document" } else { "image" },
            "source": {"type": "base64", "media_type": mime_type, "data": data}}),
        Image::Url { url, mime_type } => json!({
            "type": if mime_type.as_deref().is_some_and(pdf) { "document" } else { "image" },
            "source": {"type": "url", "url": url}}),
    }
}

fn blocks_of(parts: &[Part]) -> Vec<Value> {
    let mut out = Vec::with_capacity(parts.len());
    for part in parts {
        match part {
            Part::Text(t) if t.is_empty() => {}
            Part::Text(t) => out.push(json!({"type": "text", "text": t})),
            Part::Image(img) => out.push(image_block(img)),
            Part::ToolCall(c) => out.push(json!({"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments})),
            Part::ToolResult { call_id, content, is_error, .. } => out.push(json!({
                "type": "tool_result", "tool_use_id": call_id, "content": blocks_of(content), "is_error": is_error})),
            // Only Anthropic's own signatures verify here; other reasoning is left out.
            Part::Thinking { text, signature: Some(sig), redacted } => {
                if let Some(value) = sig.for_origin(&Origin::Anthropic) {
                    out.push(if *redacted {
                        json!({"type": "redacted_thinking", "data": value})
                    } else {
                        json!({"type": "thinking", "thinking": text, "signature": value})
                    });
                }
            }
            Part::Thinking { .. } => {}
        }
    }
    out
}

/// With thinking on, Anthropic wants the assistant turn that made the last
/// tool call to start with its signed thinking. History from another model
/// has none, so thinking is switched off for that request instead of failing.
fn thinking_allowed(messages: &[Value]) -> bool {
    let last_assistant = messages.iter().rev().find(|m| m["role"] == "assistant");
    match last_assistant {
        None => true,
        Some(m) => {
            let blocks = m["content"].as_array().map(Vec::as_slice).unwrap_or(&[]);
            let uses_tools = blocks.iter().any(|b| b["type"] == "tool_use");
            let first = blocks.first().map(|b| b["type"].clone());
            !uses_tools
                || matches!(
                    first.as_ref().and_then(Value::as_str),
                    Some("thinking" | "redacted_thinking")
                )
        }
    }
}

/// Builds a Messages body for `model`, streamed or not.
pub fn encode_request(req: &Request, model: &str, stream: bool) -> Vec<u8> {
    let mut messages: Vec<Value> = Vec::with_capacity(req.messages.len());
    for msg in &req.messages {
        let role = match msg.role {
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        let blocks = blocks_of(&msg.parts);
        if blocks.is_empty() {
            continue;
        }
        match messages.last_mut() {
            Some(last) if last["role"] == role => {
                last["content"]
                    .as_array_mut()
                    .expect("array")
                    .extend(blocks);
            }
            _ => messages.push(json!({"role": role, "content": blocks})),
        }
    }
    // A request above the model's ceiling is refused.
    let limit = crate::catalogue::output_limit(model).unwrap_or(64_000);
    let max_tokens = req.params.max_tokens.unwrap_or(8_192).min(limit);
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("max_tokens".into(), json!(max_tokens));
    if !req.system.is_empty() {
        body.insert("system".into(), json!(req.system.join("\n\n")));
    }
    let tools = req
        .tools
        .iter()
        .map(|t| match t.kind {
            ToolKind::Function => ToolOut::Function {
                name: &t.name,
                description: t.description.as_deref(),
                input_schema: &t.parameters,
            },
            ToolKind::WebSearch => ToolOut::WebSearch {
                kind: "web_search_20250305",
                name: "web_search",
            },
        })
        .collect();
    if let Some(c) = &req.tool_choice {
        body.insert(
            "tool_choice".into(),
            match c {
                ToolChoice::Auto => json!({"type": "auto"}),
                ToolChoice::None => json!({"type": "none"}),
                ToolChoice::Required => json!({"type": "any"}),
                ToolChoice::Named(n) => json!({"type": "tool", "name": n}),
            },
        );
    }
    let thinking = req
        .reasoning
        .filter(|_| thinking_allowed(&messages))
        .and_then(|r| {
            let budget = r.budget_tokens.unwrap_or(match r.effort {
                Some(crate::canonical::Effort::Minimal) => 0,
                Some(crate::canonical::Effort::Low) => 2_048,
                Some(crate::canonical::Effort::High) => 24_576,
                _ => 8_192,
            });
            // The budget must be at least 1024 and below max_tokens.
            (budget >= 1_024 && max_tokens > 1_024).then(|| budget.min(max_tokens - 1))
        });
    match thinking {
        Some(budget) => {
            body.insert(
                "thinking".into(),
                json!({"type": "enabled", "budget_tokens": budget}),
            );
        }
        None => {
            // Sampling settings are only allowed without thinking.
            if let Some(t) = req.params.temperature {
                body.insert("temperature".into(), json!(t));
            }
            if let Some(k) = req.params.top_k {
                body.insert("top_k".into(), json!(k));
            }
        }
    }
    if let Some(p) = req.params.top_p {
        body.insert("top_p".into(), json!(p));
    }
    if !req.params.stop.is_empty() {
        body.insert("stop_sequences".into(), json!(req.params.stop));
    }
    body.insert("messages".into(), Value::Array(messages));
    if stream {
        body.insert("stream".into(), json!(true));
    }
    serde_json::to_vec(&Body { body, tools }).expect("serializing owned data cannot fail")
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(flatten)]
    body: Map<String, Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<ToolOut<'a>>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum ToolOut<'a> {
    Function {
        name: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        description: Option<&'a str>,
        /// Copied through as the client wrote it.
        input_schema: &'a Schema,
    },
    WebSearch {
        #[serde(rename = "type")]
        kind: &'static str,
        name: &'static str,
    },
}

/// A native client's body on its way to Anthropic: thinking blocks another
/// upstream signed are removed (Anthropic would refuse them), and thinking is
/// switched off when that leaves a tool-using turn without its thinking.
pub fn sanitize_native(body: &mut Map<String, Value>) {
    let Some(Value::Array(messages)) = body.get_mut("messages") else {
        return;
    };
    for m in messages.iter_mut() {
        if let Some(Value::Array(blocks)) = m.get_mut("content") {
            blocks.retain(|b| {
                let foreign = |field: &str| {
                    b[field].as_str().is_some_and(|s| {
                        s.starts_with(crate::protocol::anthropic::signature::PREFIX)
                    })
                };
                match b["type"].as_str() {
                    Some("thinking") => {
                        !foreign("signature") && !b["signature"].as_str().unwrap_or("").is_empty()
                    }
                    Some("redacted_thinking") => !foreign("data"),
                    _ => true,
                }
            });
        }
    }
    messages.retain(|m| m["content"].as_array().is_none_or(|c| !c.is_empty()));
    if !thinking_allowed(messages) {
        body.remove("thinking");
    }
}
