//! Anthropic Messages request → canonical request.

use super::types::*;
use crate::canonical::{
    Effort, Image, Message, Params, Part, Reasoning, Request, Role, Schema, Signature, Tool,
    ToolCall, ToolChoice, ToolKind,
};
use crate::error::Error;
use crate::protocol::anthropic::signature::{Slot, from_wire};
use serde_json::Value;

/// Claude Code's per-request billing line changes with every build; sent to
/// another upstream it would only defeat that upstream's prompt cache.
const BILLING_HEADER: &str = "x-anthropic-billing-header:";

/// Parses and validates a Messages body.
pub fn decode_request(body: &[u8]) -> Result<Request, Error> {
    let req: MessagesRequest = crate::protocol::parse_body(body)?;
    if req.messages.is_empty() {
        return Err(Error::invalid_param(
            "messages",
            "messages: at least one message is required",
        ));
    }

    let mut system: Vec<String> = match req.system {
        None => Vec::new(),
        Some(System::Text(t)) => vec![t],
        Some(System::List(blocks)) => blocks
            .into_iter()
            .map(|b| b.text)
            .filter(|t| !t.starts_with(BILLING_HEADER))
            .collect(),
    };
    system.retain(|t| !t.is_empty());

    let mut messages = Vec::with_capacity(req.messages.len());
    for (i, m) in req.messages.into_iter().enumerate() {
        let role = match m.role.as_str() {
            "user" => Role::User,
            "assistant" => Role::Assistant,
            // Claude Code puts system messages mid-conversation; they become
            // context in the user's turn, so turns still alternate.
            "system" => Role::User,
            other => {
                return Err(Error::invalid_param(
                    &format!("messages[{i}].role"),
                    format!("messages[{i}].role: unknown role `{other}`; use user or assistant"),
                ));
            }
        };
        let parts = match m.content {
            ContentIn::Text(t) => vec![Part::Text(t)],
            ContentIn::List(blocks) => parts_of(blocks, i)?,
        };
        messages.push(Message { role, parts });
    }

    let tools = req
        .tools
        .into_iter()
        .filter_map(tool_of)
        .collect::<Vec<_>>();

    let tool_choice = req.tool_choice.map(|c| match c {
        ToolChoiceIn::Auto {} => ToolChoice::Auto,
        ToolChoiceIn::Any {} => ToolChoice::Required,
        ToolChoiceIn::Tool { name } => ToolChoice::Named(name),
        ToolChoiceIn::None {} => ToolChoice::None,
    });

    let effort = req
        .output_config
        .and_then(|o| o.effort)
        .map(|e| match e.as_str() {
            "low" => Effort::Low,
            "high" | "max" => Effort::High,
            _ => Effort::Medium,
        });
    let reasoning = match req.thinking {
        Some(ThinkingIn::Enabled { budget_tokens }) => Some(Reasoning {
            effort,
            budget_tokens,
        }),
        Some(ThinkingIn::Adaptive {}) => Some(Reasoning {
            effort: Some(effort.unwrap_or(Effort::Medium)),
            budget_tokens: None,
        }),
        Some(ThinkingIn::Disabled {}) | None => None,
    };

    Ok(Request {
        model: req.model,
        system,
        messages,
        tools,
        tool_choice,
        params: Params {
            temperature: req.temperature,
            top_p: req.top_p,
            top_k: req.top_k,
            max_tokens: req.max_tokens,
            stop: req.stop_sequences,
            ..Params::default()
        },
        response_format: None,
        reasoning,
        stream: req.stream,
        stream_usage: true,
        session: req
            .metadata
            .and_then(|m| m.user_id)
            .and_then(|u| serde_json::from_str::<Value>(&u).ok())
            .and_then(|v| v["session_id"].as_str().map(str::to_string)),
        image_output: None,
        compaction: false,
    })
}

/// Client tools become functions and web search the upstream's own search.
/// Other server tools (code execution, computer use) exist only on Anthropic;
/// elsewhere they are left out rather than sent to be refused.
fn tool_of(t: ToolIn) -> Option<Tool> {
    let kind = match t.kind.as_deref() {
        None | Some("custom") => ToolKind::Function,
        Some(k) if k.starts_with("web_search") => ToolKind::WebSearch,
        Some(other) => {
            tracing::debug!(tool = %t.name, kind = other, "server tool left out for this upstream");
            return None;
        }
    };
    Some(Tool {
        kind,
        name: t.name,
        description: t.description,
        parameters: t.input_schema.unwrap_or_else(Schema::no_arguments),
    })
}

fn image_of(source: Source, default_mime: &str) -> Option<Image> {
    match source {
        Source::Base64 { media_type, data } => Some(Image::Inline {
            mime_type: if media_type.is_empty() {
                default_mime.to_string()
            } else {
                media_type
            },
            data,
        }),
        Source::Url { url } => Some(Image::Url {
            url,
            mime_type: (default_mime == "application/pdf").then(|| default_mime.to_string()),
        }),
        Source::Text { .. } => None,
    }
}

fn parts_of(blocks: Vec<BlockIn>, msg: usize) -> Result<Vec<Part>, Error> {
    let mut parts = Vec::with_capacity(blocks.len());
    // A Gemini function-call signature rides on the thinking block just
    // before its tool_use; it goes back onto that call.
    let mut call_signature: Option<Signature> = None;
    for (j, block) in blocks.into_iter().enumerate() {
        match block {
            BlockIn::Text { text } => parts.push(Part::Text(text)),
            BlockIn::Image { source } => match image_of(source, "image/png") {
                Some(img) => parts.push(Part::Image(img)),
                None => {
                    return Err(Error::invalid_param(
                        &format!("messages[{msg}].content[{j}].source"),
                        "image source must be base64 or url",
                    ));
                }
            },
            BlockIn::Document { source } => match source {
                Source::Text { data } => parts.push(Part::Text(data)),
                other => parts.extend(image_of(other, "application/pdf").map(Part::Image)),
            },
            BlockIn::ToolUse { id, name, input } => parts.push(Part::ToolCall(ToolCall {
                id,
                name,
                arguments: match input {
                    Value::Object(_) => input,
                    _ => Value::Object(Default::default()),
                },
                signature: call_signature.take(),
            })),
            BlockIn::ToolResult {
                tool_use_id,
                content,
                is_error,
            } => {
                let content = match content {
                    None => Vec::new(),
                    Some(ToolResultContent::Text(t)) => vec![Part::Text(t)],
                    Some(ToolResultContent::List(b)) => parts_of(b, msg)?,
                };
                parts.push(Part::ToolResult {
                    call_id: tool_use_id,
                    name: None,
                    content,
                    is_error,
                });
            }
            BlockIn::Thinking {
                thinking,
                signature,
            } => match from_wire(&signature) {
                Some((sig, Slot::Call)) => call_signature = Some(sig),
                signature => parts.push(Part::Thinking {
                    text: thinking,
                    signature: signature.map(|(s, _)| s),
                    redacted: false,
                }),
            },
            BlockIn::RedactedThinking { data } => parts.push(Part::Thinking {
                text: String::new(),
                signature: from_wire(&data).map(|(s, _)| s),
                redacted: true,
            }),
            BlockIn::Other => {}
        }
    }
    Ok(parts)
}

/// Claude Code's auxiliary requests (titles, summaries, suggestions, quota
/// probes) that a cheap model can answer: no tools, and a system prompt or
/// last message containing one of `markers` (`=text`: the whole last message).
pub fn is_background_task(req: &Request, markers: &[String]) -> bool {
    if !req.tools.is_empty() || markers.is_empty() {
        return false;
    }
    let last: String = req
        .messages
        .last()
        .into_iter()
        .flat_map(|m| &m.parts)
        .filter_map(|p| match p {
            Part::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
        .to_lowercase();
    let system = req.system.join("\n").to_lowercase();
    markers.iter().any(|m| {
        let m = m.to_lowercase();
        match m.strip_prefix('=') {
            Some(whole) => last.trim() == whole,
            None => last.contains(&m) || system.contains(&m),
        }
    })
}
