//! Canonical request → the body an OpenAI-compatible host takes. Used when
//! the client speaks another protocol (Claude Code to DeepSeek).

use crate::canonical::{
    Effort, Image, Part, Request, ResponseFormat, Role, Schema, ToolChoice, ToolKind, text_of,
};
use crate::protocol::memo::Text;
use serde::Serialize;
use serde_json::{Value, json};

#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    messages: Vec<MessageOut<'a>>,
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

/// One message of `messages`, written from the request's own texts (long
/// ones through the memo, as a session resends them every turn).
#[derive(Serialize)]
struct MessageOut<'a> {
    role: &'static str,
    content: Content<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<CallOut<'a>>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Content<'a> {
    Text(Text<'a>),
    Parts(Vec<PartOut<'a>>),
    /// An assistant turn of tool calls alone: `"content": null`.
    None,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum PartOut<'a> {
    Text { text: Text<'a> },
    ImageUrl { image_url: UrlOut },
}

#[derive(Serialize)]
struct UrlOut {
    url: String,
}

#[derive(Serialize)]
struct CallOut<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: CallFunction<'a>,
}

#[derive(Serialize)]
struct CallFunction<'a> {
    name: &'a str,
    /// A JSON object written as a string, as the protocol has it.
    arguments: String,
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
    description: Option<Text<'a>>,
    /// Copied through as the client wrote it.
    parameters: &'a Schema,
}

fn image_part(img: &Image) -> PartOut<'_> {
    PartOut::ImageUrl {
        image_url: UrlOut { url: img.to_url() },
    }
}

fn message<'a>(role: &'static str, content: Content<'a>) -> MessageOut<'a> {
    MessageOut {
        role,
        content,
        tool_call_id: None,
        tool_calls: Vec::new(),
    }
}

/// Builds a Chat Completions body for `model`, streamed or not.
pub fn encode_request(req: &Request, model: &str, stream: bool) -> Vec<u8> {
    let mut messages = Vec::with_capacity(req.messages.len() + 1);
    if let Some(system) = Text::joined(&req.system, "\n\n") {
        messages.push(message("system", Content::Text(system)));
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
                            messages.push(MessageOut {
                                tool_call_id: Some(call_id),
                                ..message("tool", Content::Text(text.into()))
                            });
                        }
                        Part::Text(t) => content.push(PartOut::Text {
                            text: t.as_str().into(),
                        }),
                        Part::Image(img) => content.push(image_part(img)),
                        Part::ToolCall(_) | Part::Thinking { .. } => {}
                    }
                }
                if !content.is_empty() {
                    messages.push(message("user", Content::Parts(content)));
                }
            }
            Role::Assistant => {
                let text = text_of(&msg.parts);
                let tool_calls = msg
                    .parts
                    .iter()
                    .filter_map(|p| match p {
                        Part::ToolCall(c) => Some(CallOut {
                            id: &c.id,
                            kind: "function",
                            function: CallFunction {
                                name: &c.name,
                                arguments: c.arguments.to_string(),
                            },
                        }),
                        _ => None,
                    })
                    .collect();
                let content = if text.is_empty() {
                    Content::None
                } else {
                    Content::Text(text.into())
                };
                messages.push(MessageOut {
                    tool_calls,
                    ..message("assistant", content)
                });
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
                description: t.description.as_deref().map(Text::from),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::sample::{long_text, message, result, session_turn};

    /// Long texts (a system prompt, a tool's description, a file a tool
    /// read) are written through the memo; short ones directly. Both must
    /// read back as the same message, quotes, newlines and all.
    #[test]
    fn long_and_short_texts_read_back_the_same() {
        let long = long_text();
        let mut req = session_turn(&long, "read");
        req.messages[2] = message(Role::User, vec![result("call_1", &long, true)]);
        req.messages
            .push(message(Role::Assistant, vec![Part::Text(long.clone())]));
        // Twice: the second reads every long text from the memo.
        for _ in 0..2 {
            let body: Value = serde_json::from_slice(&encode_request(&req, "m", false)).unwrap();
            assert_eq!(
                body["messages"],
                json!([
                    {"role": "system", "content": format!("{long}\n\nshort rule")},
                    {"role": "user", "content": [
                        {"type": "text", "text": long}, {"type": "text", "text": "hi"}]},
                    {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1",
                        "type": "function", "function": {"name": "read", "arguments": "{\"path\":\"a.txt\"}"}}]},
                    {"role": "tool", "tool_call_id": "call_1", "content": format!("Error: {long}")},
                    {"role": "assistant", "content": long},
                ])
            );
            assert_eq!(body["tools"][0]["function"]["description"], json!(long));
        }
    }
}
