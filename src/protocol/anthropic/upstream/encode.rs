//! Canonical request → the body the Anthropic API takes, and the cleaning of
//! a native client's history before it passes through (`sanitize_native`).

use crate::canonical::{Image, Origin, Part, Request, Role, Schema, ToolChoice, ToolKind};
use crate::protocol::memo::Text;
use serde::Serialize;
use serde_json::{Map, Value, json};

/// One content block, written from the request's own texts (long ones
/// through the memo, as a session resends them every turn).
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockOut<'a> {
    Text {
        text: Text<'a>,
    },
    Image {
        source: Source<'a>,
    },
    Document {
        source: Source<'a>,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: &'a Value,
    },
    ToolResult {
        tool_use_id: &'a str,
        content: Vec<BlockOut<'a>>,
        is_error: bool,
    },
    Thinking {
        thinking: Text<'a>,
        signature: &'a str,
    },
    RedactedThinking {
        data: &'a str,
    },
}

impl BlockOut<'_> {
    fn kind(&self) -> &'static str {
        match self {
            BlockOut::Text { .. } => "text",
            BlockOut::Image { .. } => "image",
            BlockOut::Document { .. } => "document",
            BlockOut::ToolUse { .. } => "tool_use",
            BlockOut::ToolResult { .. } => "tool_result",
            BlockOut::Thinking { .. } => "thinking",
            BlockOut::RedactedThinking { .. } => "redacted_thinking",
        }
    }
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Source<'a> {
    Base64 { media_type: &'a str, data: &'a str },
    Url { url: &'a str },
}

#[derive(Serialize)]
struct MessageOut<'a> {
    role: &'static str,
    content: Vec<BlockOut<'a>>,
}

fn image_block(img: &Image) -> BlockOut<'_> {
    let (source, mime_type) = match img {
        Image::Inline { mime_type, data } => (
            Source::Base64 {
                media_type: mime_type,
                data,
            },
            Some(mime_type.as_str()),
        ),
        Image::Url { url, mime_type } => (Source::Url { url }, mime_type.as_deref()),
    };
    if mime_type == Some("application/pdf") {
        BlockOut::Document { source }
    } else {
        BlockOut::Image { source }
    }
}

fn blocks_of(parts: &[Part]) -> Vec<BlockOut<'_>> {
    let mut out = Vec::with_capacity(parts.len());
    for part in parts {
        match part {
            Part::Text(t) if t.is_empty() => {}
            Part::Text(t) => out.push(BlockOut::Text {
                text: t.as_str().into(),
            }),
            Part::Image(img) => out.push(image_block(img)),
            Part::ToolCall(c) => out.push(BlockOut::ToolUse {
                id: &c.id,
                name: &c.name,
                input: &c.arguments,
            }),
            Part::ToolResult {
                call_id,
                content,
                is_error,
                ..
            } => out.push(BlockOut::ToolResult {
                tool_use_id: call_id,
                content: blocks_of(content),
                is_error: *is_error,
            }),
            // Only Anthropic's own signatures verify here; other reasoning is left out.
            Part::Thinking {
                text,
                signature: Some(sig),
                redacted,
            } => {
                if let Some(value) = sig.for_origin(&Origin::Anthropic) {
                    out.push(if *redacted {
                        BlockOut::RedactedThinking { data: value }
                    } else {
                        BlockOut::Thinking {
                            thinking: text.as_str().into(),
                            signature: value,
                        }
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
/// `last_assistant` holds the block types of the last assistant turn.
fn thinking_allowed<'a>(last_assistant: Option<impl Iterator<Item = &'a str> + Clone>) -> bool {
    let Some(mut kinds) = last_assistant else {
        return true;
    };
    let uses_tools = kinds.clone().any(|k| k == "tool_use");
    !uses_tools || matches!(kinds.next(), Some("thinking" | "redacted_thinking"))
}

/// Builds a Messages body for `model`, streamed or not.
pub fn encode_request(req: &Request, model: &str, stream: bool) -> Vec<u8> {
    let mut messages: Vec<MessageOut> = Vec::with_capacity(req.messages.len());
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
            Some(last) if last.role == role => last.content.extend(blocks),
            _ => messages.push(MessageOut {
                role,
                content: blocks,
            }),
        }
    }
    // A request above the model's ceiling is refused.
    let limit = crate::catalogue::output_limit(model).unwrap_or(64_000);
    let max_tokens = req.params.max_tokens.unwrap_or(8_192).min(limit);
    let tools = req
        .tools
        .iter()
        .map(|t| match t.kind {
            ToolKind::Function => ToolOut::Function {
                name: &t.name,
                description: t.description.as_deref().map(Text::from),
                input_schema: &t.parameters,
            },
            ToolKind::WebSearch => ToolOut::WebSearch {
                kind: "web_search_20250305",
                name: "web_search",
            },
        })
        .collect();
    let tool_choice = req.tool_choice.as_ref().map(|c| match c {
        ToolChoice::Auto => json!({"type": "auto"}),
        ToolChoice::None => json!({"type": "none"}),
        ToolChoice::Required => json!({"type": "any"}),
        ToolChoice::Named(n) => json!({"type": "tool", "name": n}),
    });
    let last_assistant = messages
        .iter()
        .rev()
        .find(|m| m.role == "assistant")
        .map(|m| m.content.iter().map(BlockOut::kind));
    let thinking = req
        .reasoning
        .filter(|_| thinking_allowed(last_assistant))
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
    // Sampling settings are only allowed without thinking.
    let sampling = thinking.is_none();
    let body = Body {
        model,
        max_tokens,
        system: Text::joined(&req.system, "\n\n"),
        tool_choice,
        thinking: thinking.map(|budget| json!({"type": "enabled", "budget_tokens": budget})),
        temperature: req.params.temperature.filter(|_| sampling),
        top_k: req.params.top_k.filter(|_| sampling),
        top_p: req.params.top_p,
        stop_sequences: &req.params.stop,
        messages,
        stream,
        tools,
    };
    serde_json::to_vec(&body).expect("serializing owned data cannot fail")
}

#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_k: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    stop_sequences: &'a [String],
    messages: Vec<MessageOut<'a>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<ToolOut<'a>>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum ToolOut<'a> {
    Function {
        name: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        description: Option<Text<'a>>,
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
    let last_assistant = messages
        .iter()
        .rev()
        .find(|m| m["role"] == "assistant")
        .map(|m| {
            let blocks = m["content"].as_array().map(Vec::as_slice).unwrap_or(&[]);
            blocks.iter().map(|b| b["type"].as_str().unwrap_or(""))
        });
    if !thinking_allowed(last_assistant) {
        body.remove("thinking");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::sample::{call, long_text, message, session_turn};
    use crate::canonical::{Params, Reasoning, Signature};

    fn thinking(origin: Origin) -> Part {
        Part::Thinking {
            text: "let me look".into(),
            signature: Some(Signature {
                origin,
                value: "sig-1".into(),
            }),
            redacted: false,
        }
    }

    /// `req` with a thinking budget and a temperature, encoded and read back.
    fn encode_thinking(mut req: Request) -> Value {
        req.reasoning = Some(Reasoning {
            effort: None,
            budget_tokens: Some(2_048),
        });
        req.params = Params {
            temperature: Some(0.5),
            ..Params::default()
        };
        serde_json::from_slice(&encode_request(&req, "claude-sonnet-4-5", true)).unwrap()
    }

    /// Long texts (a system prompt, a file a tool read, a tool's
    /// description) go through the memo; short ones directly. Both read
    /// back the same; turns of one role are merged; a PDF is a document.
    #[test]
    fn a_request_reads_back_as_blocks() {
        let long = long_text();
        let mut req = session_turn(&long, "read");
        req.messages[0].parts.push(Part::Text(String::new()));
        req.messages.insert(
            1,
            message(
                Role::User,
                vec![Part::Image(Image::Inline {
                    mime_type: "application/pdf".into(),
                    data: "JVBERi0=".into(),
                })],
            ),
        );
        req.messages[2].parts.insert(0, thinking(Origin::Anthropic));
        // Twice: the second reads every long text from the memo.
        for _ in 0..2 {
            let body = encode_thinking(req.clone());
            assert_eq!(body["system"], json!(format!("{long}\n\nshort rule")));
            assert_eq!(
                body["messages"],
                json!([
                    {"role": "user", "content": [
                        {"type": "text", "text": long}, {"type": "text", "text": "hi"},
                        {"type": "document", "source": {"type": "base64",
                            "media_type": "application/pdf", "data": "JVBERi0="}}]},
                    {"role": "assistant", "content": [
                        {"type": "thinking", "thinking": "let me look", "signature": "sig-1"},
                        {"type": "tool_use", "id": "call_1", "name": "read", "input": {"path": "a.txt"}}]},
                    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1",
                        "content": [{"type": "text", "text": long}], "is_error": false}]},
                ])
            );
            assert_eq!(body["tools"][0]["description"], json!(long));
            assert_eq!(
                body["thinking"],
                json!({"type": "enabled", "budget_tokens": 2_048})
            );
            // Sampling settings are refused beside thinking.
            assert!(body.get("temperature").is_none(), "{body}");
            assert_eq!(body["stream"], true);
        }
    }

    /// History from another model calls a tool without Anthropic's signed
    /// thinking: thinking is switched off (Anthropic would refuse the
    /// request), and the sampling settings go through.
    #[test]
    fn a_tool_turn_without_signed_thinking_switches_thinking_off() {
        let gemini = Origin::Gemini {
            model: "gemini-2.5-pro".into(),
        };
        let req = Request {
            messages: vec![
                message(Role::User, vec![Part::Text("read a.txt".into())]),
                message(
                    Role::Assistant,
                    vec![thinking(gemini), call("call_1", "read")],
                ),
            ],
            ..Request::default()
        };
        let body = encode_thinking(req);
        assert!(body.get("thinking").is_none(), "{body}");
        assert_eq!(body["temperature"], 0.5);
        assert_eq!(
            body["messages"][1]["content"],
            json!([{"type": "tool_use", "id": "call_1", "name": "read", "input": {"path": "a.txt"}}])
        );
    }
}
