//! Canonical request → the body an OpenAI-compatible host takes. Used when
//! the client speaks another protocol (Claude Code to DeepSeek).

use crate::canonical::{
    Effort, Image, Part, Request, ResponseFormat, Role, Schema, ToolChoice, ToolKind, text_of,
};
use serde::Serialize;
use serde_json::{Value, json};

#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    messages: Vec<Value>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    stop: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<ToolOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_effort: Option<&'static str>,
}

#[derive(Serialize)]
struct ToolOut<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: FunctionOut<'a>,
}

#[derive(Serialize)]
struct FunctionOut<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    /// Copied through as the client wrote it.
    parameters: &'a Schema,
}

fn image_url(img: &Image) -> Value {
    json!({"type": "image_url", "image_url": {"url": img.to_url()}})
}

/// Builds a Chat Completions body for `model`, streamed or not.
pub fn encode_request(req: &Request, model: &str, stream: bool) -> Vec<u8> {
    let mut messages = Vec::with_capacity(req.messages.len() + 1);
    if !req.system.is_empty() {
        messages.push(json!({"role": "system", "content": req.system.join("\n\n")}));
    }
    for msg in &req.messages {
        match msg.role {
            Role::User => {
                // Tool results are messages of their own in this protocol.
                let mut content = Vec::new();
                for part in &msg.parts {
                    match part {
                        Part::ToolResult {
                            call_id,
                            content: c,
                            is_error,
                            ..
                        } => {
                            let text = text_of(c);
                            let text = if *is_error {
                                format!("Error: {text}")
                            } else {
                                text
                            };
                            messages.push(
                                json!({"role": "tool", "tool_call_id": call_id, "content": text}),
                            );
                        }
                        Part::Text(t) => content.push(json!({"type": "text", "text": t})),
                        Part::Image(img) => content.push(image_url(img)),
                        Part::ToolCall(_) | Part::Thinking { .. } => {}
                    }
                }
                if !content.is_empty() {
                    messages.push(json!({"role": "user", "content": content}));
                }
            }
            Role::Assistant => {
                let text = text_of(&msg.parts);
                let calls: Vec<Value> = msg
                    .parts
                    .iter()
                    .filter_map(|p| match p {
                        Part::ToolCall(c) => Some(json!({"id": c.id, "type": "function",
                            "function": {"name": c.name, "arguments": c.arguments.to_string()}})),
                        _ => None,
                    })
                    .collect();
                let mut m = json!({"role": "assistant", "content": if text.is_empty() { Value::Null } else { json!(text) }});
                if !calls.is_empty() {
                    m["tool_calls"] = Value::Array(calls);
                }
                messages.push(m);
            }
        }
    }
    let tools = req
        .tools
        .iter()
        .filter(|t| t.kind == ToolKind::Function)
        .map(|t| ToolOut {
            kind: "function",
            function: FunctionOut {
                name: &t.name,
                description: t.description.as_deref(),
                parameters: &t.parameters,
            },
        })
        .collect();
    let tool_choice = req.tool_choice.as_ref().map(|c| match c {
        ToolChoice::Auto => json!("auto"),
        ToolChoice::None => json!("none"),
        ToolChoice::Required => json!("required"),
        ToolChoice::Named(n) => json!({"type": "function", "function": {"name": n}}),
    });
    let response_format = req.response_format.as_ref().map(|f| match f {
        ResponseFormat::JsonObject => json!({"type": "json_object"}),
        ResponseFormat::JsonSchema { name, schema } => json!({"type": "json_schema",
            "json_schema": {"name": name.as_deref().unwrap_or("response"), "schema": schema}}),
    });
    let body = Body {
        model,
        messages,
        stream,
        stream_options: stream.then(|| json!({"include_usage": true})),
        max_tokens: req.params.max_tokens,
        temperature: req.params.temperature,
        top_p: req.params.top_p,
        stop: req.params.stop.clone(),
        seed: req.params.seed,
        tools,
        tool_choice,
        response_format,
        reasoning_effort: req.reasoning.and_then(|r| r.level()).map(|e| match e {
            Effort::Minimal | Effort::Low => "low",
            Effort::Medium => "medium",
            Effort::High => "high",
        }),
    };
    serde_json::to_vec(&body).expect("serializing owned data cannot fail")
}
