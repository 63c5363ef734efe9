//! Responses request → canonical request.

use super::Vault;
use super::encode::CompactionState;
use super::types::*;
use crate::canonical::{
    Effort, Image, Message, Origin, Params, Part, Reasoning, Request, ResponseFormat, Role, Schema,
    Signature, Tool, ToolCall, ToolChoice, ToolKind,
};
use crate::error::Error;
use crate::protocol::openai_responses::NAMESPACE_SEP;
use serde_json::Value;

fn origin_of(s: &str) -> Option<Origin> {
    match s.split_once(':') {
        None if s == "anthropic" => Some(Origin::Anthropic),
        Some(("gemini", model)) => Some(Origin::Gemini {
            model: model.to_string(),
        }),
        Some(("openai", account)) => Some(Origin::OpenAi {
            account: account.to_string(),
        }),
        _ => None,
    }
}

/// Opens a reasoning item's sealed state, or the `lvt1:openai:` form a
/// Responses upstream's own reasoning reaches these clients in (passed
/// through natively); anything else is ignored.
fn opened(vault: &dyn Vault, sealed: &str) -> Option<(Signature, bool)> {
    if let Some((sig, _)) = crate::protocol::openai_responses::provenance::tagged(sealed) {
        return Some((sig, false));
    }
    let plain = vault.open(sealed)?;
    let state: SealedState = serde_json::from_slice(&plain).ok()?;
    Some((
        Signature {
            origin: origin_of(&state.origin)?,
            value: state.value,
        },
        state.call,
    ))
}

fn text_parts(content: &Value, msg: usize) -> Result<Vec<Part>, Error> {
    match content {
        Value::String(s) => Ok(vec![Part::Text(s.clone())]),
        Value::Array(parts) => parts
            .iter()
            .enumerate()
            .filter_map(|(j, p)| match p["type"].as_str() {
                Some("input_text" | "output_text" | "text") => p["text"].as_str().map(|t| Ok(Part::Text(t.to_string()))),
                Some("refusal") => p["refusal"].as_str().map(|t| Ok(Part::Text(t.to_string()))),
                Some("input_image") => Some(
                    p["image_url"]
                        .as_str()
                        .and_then(Image::from_url)
                        .map(Part::Image)
                        .ok_or_else(|| {
                            Error::invalid_param(
                                &format!("input[{msg}].content[{j}].image_url"),
                                "input_image needs an image_url: a base64 data URL or an http(s) URL",
                            )
                        }),
                ),
                _ => None,
            })
            .collect(),
        _ => Ok(Vec::new()),
    }
}

fn push(messages: &mut Vec<Message>, role: Role, parts: Vec<Part>) {
    match messages.last_mut() {
        Some(last) if last.role == role => last.parts.extend(parts),
        _ => messages.push(Message { role, parts }),
    }
}

fn flat_name(item: &Value) -> String {
    let name = item["name"].as_str().unwrap_or_default();
    match item["namespace"].as_str() {
        Some(ns) if !ns.is_empty() => format!("{ns}{NAMESPACE_SEP}{name}"),
        _ => name.to_string(),
    }
}

/// What stands in the conversation for the turns a compaction replaced.
const SUMMARY_PREFIX: &str =
    "The earlier part of this conversation was compacted; this summary replaces it:\n\n";

/// The summary inside a compaction item levity sealed; anything else is ignored.
fn opened_summary(vault: &dyn Vault, sealed: &str) -> Option<String> {
    let plain = vault.open(sealed)?;
    let state: CompactionState = serde_json::from_slice(&plain).ok()?;
    Some(state.compaction)
}

/// Parses and validates a Responses body.
pub fn decode_request(body: &[u8], vault: &dyn Vault) -> Result<Request, Error> {
    let req: ResponsesRequest = crate::protocol::parse_body(body)?;
    let mut system: Vec<String> = req
        .instructions
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    let mut messages: Vec<Message> = Vec::new();
    let items = match req.input {
        None => return Err(Error::invalid_param("input", "`input` is required")),
        Some(Input::Text(t)) => vec![serde_json::json!({"role": "user", "content": t})],
        Some(Input::List(items)) => items,
    };
    // A call's signature rides on the reasoning item just before it.
    let mut call_signature: Option<Signature> = None;
    // Codex asks for a compaction with a trigger item at the end of the
    // input (its `compact_remote_v2`).
    let compaction = items
        .last()
        .is_some_and(|i| i["type"] == "compaction_trigger");
    for (i, item) in items.iter().enumerate() {
        let kind = item["type"].as_str().unwrap_or("message");
        match kind {
            "message" => {
                let parts = text_parts(&item["content"], i)?;
                match item["role"].as_str() {
                    Some("system" | "developer") => {
                        system.extend(parts.into_iter().filter_map(|p| match p {
                            Part::Text(t) => Some(t),
                            _ => None,
                        }));
                    }
                    Some("assistant") => push(&mut messages, Role::Assistant, parts),
                    Some("user") | None => push(&mut messages, Role::User, parts),
                    Some(other) => {
                        return Err(Error::invalid_param(
                            &format!("input[{i}].role"),
                            format!("unknown role `{other}`"),
                        ));
                    }
                }
            }
            "function_call" => {
                let args = item["arguments"].as_str().unwrap_or("{}");
                let arguments = match serde_json::from_str::<Value>(args) {
                    Ok(v @ Value::Object(_)) => v,
                    _ if args.trim().is_empty() => Value::Object(Default::default()),
                    _ => {
                        return Err(Error::invalid_param(
                            &format!("input[{i}].arguments"),
                            "function_call arguments must be a JSON object encoded as a string",
                        ));
                    }
                };
                let call = ToolCall {
                    id: item["call_id"].as_str().unwrap_or_default().to_string(),
                    name: flat_name(item),
                    arguments,
                    signature: call_signature.take(),
                };
                push(&mut messages, Role::Assistant, vec![Part::ToolCall(call)]);
            }
            "function_call_output" | "custom_tool_call_output" => {
                let content = match &item["output"] {
                    Value::String(s) => vec![Part::Text(s.clone())],
                    other => text_parts(other, i)?,
                };
                let result = Part::ToolResult {
                    call_id: item["call_id"].as_str().unwrap_or_default().to_string(),
                    name: None,
                    content,
                    is_error: false,
                };
                push(&mut messages, Role::User, vec![result]);
            }
            "reasoning" => {
                let sealed = item["encrypted_content"]
                    .as_str()
                    .and_then(|s| opened(vault, s));
                match sealed {
                    Some((sig, true)) => call_signature = Some(sig),
                    signature => {
                        let text: String = item["summary"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|s| s["text"].as_str())
                            .collect::<Vec<_>>()
                            .join("\n");
                        let part = Part::Thinking {
                            text,
                            signature: signature.map(|(s, _)| s),
                            redacted: false,
                        };
                        push(&mut messages, Role::Assistant, vec![part]);
                    }
                }
            }
            // A compaction levity handed out earlier, first in the compacted
            // history Codex sends (`compaction_summary` and
            // `context_compaction` are its other names for it).
            "compaction" | "compaction_summary" | "context_compaction" => {
                if let Some(summary) = item["encrypted_content"]
                    .as_str()
                    .and_then(|s| opened_summary(vault, s))
                {
                    push(
                        &mut messages,
                        Role::User,
                        vec![Part::Text(format!("{SUMMARY_PREFIX}{summary}"))],
                    );
                }
            }
            // Built-in tool traffic (web search calls, ...) has no canonical form.
            _ => {}
        }
    }
    if messages.is_empty() {
        return Err(Error::invalid_param(
            "input",
            "`input` holds no user or assistant content",
        ));
    }

    let mut tools = Vec::new();
    for t in &req.tools {
        match t.kind.as_str() {
            "function" => tools.push(function_tool(t, None)),
            "namespace" => {
                let ns = t.name.as_deref().unwrap_or_default();
                tools.extend(
                    t.tools
                        .iter()
                        .filter(|f| f.kind == "function")
                        .map(|f| function_tool(f, Some(ns))),
                );
            }
            k if k.starts_with("web_search") => tools.push(Tool::web_search()),
            // Hosted tools (file search, code interpreter, ...) exist only at OpenAI.
            _ => {}
        }
    }

    let tool_choice = match &req.tool_choice {
        None => None,
        Some(Value::String(s)) => match s.as_str() {
            "auto" => Some(ToolChoice::Auto),
            "none" => Some(ToolChoice::None),
            "required" => Some(ToolChoice::Required),
            other => {
                return Err(Error::invalid_param(
                    "tool_choice",
                    format!("unknown tool_choice `{other}`"),
                ));
            }
        },
        Some(v) => v["name"].as_str().map(|n| ToolChoice::Named(n.to_string())),
    };

    let response_format = req
        .text
        .and_then(|t| t.format)
        .and_then(|f| match f.kind.as_str() {
            "json_schema" => f.schema.map(|schema| ResponseFormat::JsonSchema {
                name: f.name,
                schema,
            }),
            "json_object" => Some(ResponseFormat::JsonObject),
            _ => None,
        });

    let reasoning = req.reasoning.and_then(|r| r.effort).map(|e| Reasoning {
        effort: Some(match e.as_str() {
            "none" | "minimal" => Effort::Minimal,
            "low" => Effort::Low,
            "high" | "xhigh" => Effort::High,
            _ => Effort::Medium,
        }),
        budget_tokens: None,
    });

    Ok(Request {
        model: req.model,
        system,
        messages,
        tools,
        tool_choice,
        params: Params {
            temperature: req.temperature,
            top_p: req.top_p,
            max_tokens: req.max_output_tokens,
            ..Params::default()
        },
        response_format,
        reasoning,
        stream: req.stream,
        stream_usage: true,
        session: req.prompt_cache_key,
        image_output: None,
        compaction,
    })
}

fn function_tool(t: &ToolIn, namespace: Option<&str>) -> Tool {
    let name = t.name.clone().unwrap_or_default();
    Tool {
        kind: ToolKind::Function,
        name: match namespace {
            Some(ns) => format!("{ns}{NAMESPACE_SEP}{name}"),
            None => name,
        },
        description: t.description.clone(),
        parameters: t.parameters.clone().unwrap_or_else(Schema::no_arguments),
    }
}
