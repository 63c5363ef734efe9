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
use crate::protocol::{Loose, TextOr};
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

/// The parts of a message's content or a call's output; parts levity has no
/// canonical form for (files, audio) are left out.
fn text_parts(content: Loose<TextOr<Loose<PartIn>>>, msg: usize) -> Result<Vec<Part>, Error> {
    let parts = match content.0 {
        None => return Ok(Vec::new()),
        Some(TextOr::Text(s)) => return Ok(vec![Part::Text(s)]),
        Some(TextOr::List(parts)) => parts,
    };
    parts
        .into_iter()
        .enumerate()
        .filter_map(|(j, Loose(p))| {
            let p = p?;
            match p.kind.0.as_deref() {
                Some("input_text" | "output_text" | "text") => p.text.0.map(|t| Ok(Part::Text(t))),
                Some("refusal") => p.refusal.0.map(|t| Ok(Part::Text(t))),
                Some("input_image") => Some(
                    p.image_url
                        .0
                        .as_deref()
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
            }
        })
        .collect()
}

fn push(messages: &mut Vec<Message>, role: Role, parts: Vec<Part>) {
    match messages.last_mut() {
        Some(last) if last.role == role => last.parts.extend(parts),
        _ => messages.push(Message { role, parts }),
    }
}

fn flat_name(item: &ItemIn) -> String {
    let name = item.name.0.as_deref().unwrap_or_default();
    match item.namespace.0.as_deref() {
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
        Some(Input::Text(t)) => vec![Loose(Some(ItemIn {
            content: Loose(Some(TextOr::Text(t))),
            ..ItemIn::default()
        }))],
        Some(Input::List(items)) => items,
    };
    // A call's signature rides on the reasoning item just before it.
    let mut call_signature: Option<Signature> = None;
    // Codex asks for a compaction with a trigger item at the end of the
    // input (its `compact_remote_v2`).
    let compaction = items.last().is_some_and(|Loose(i)| {
        i.as_ref()
            .is_some_and(|i| i.kind.0.as_deref() == Some("compaction_trigger"))
    });
    for (i, Loose(item)) in items.into_iter().enumerate() {
        // Not an object: nothing levity could read from it.
        let Some(item) = item else { continue };
        match item.kind.0.as_deref().unwrap_or("message") {
            "message" => {
                let parts = text_parts(item.content, i)?;
                match item.role.0.as_deref() {
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
                let args = item.arguments.0.as_deref().unwrap_or("{}");
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
                    name: flat_name(&item),
                    id: item.call_id.0.unwrap_or_default(),
                    arguments,
                    signature: call_signature.take(),
                };
                push(&mut messages, Role::Assistant, vec![Part::ToolCall(call)]);
            }
            "function_call_output" | "custom_tool_call_output" => {
                let result = Part::ToolResult {
                    call_id: item.call_id.0.unwrap_or_default(),
                    name: None,
                    content: text_parts(item.output, i)?,
                    is_error: false,
                };
                push(&mut messages, Role::User, vec![result]);
            }
            "reasoning" => {
                let sealed = item
                    .encrypted_content
                    .0
                    .as_deref()
                    .and_then(|s| opened(vault, s));
                match sealed {
                    Some((sig, true)) => call_signature = Some(sig),
                    signature => {
                        let text: String = item
                            .summary
                            .0
                            .into_iter()
                            .flatten()
                            .filter_map(|Loose(s)| s?.text.0)
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
                if let Some(summary) = item
                    .encrypted_content
                    .0
                    .as_deref()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::openai_responses::client::NoVault;

    fn decode(input: Value) -> Result<Request, Error> {
        let body = serde_json::json!({"model": "m", "input": input});
        decode_request(body.to_string().as_bytes(), &NoVault)
    }

    /// Every item kind a Responses client may send, in the shapes OpenAI's
    /// API reference gives them: those with a canonical form are read, the
    /// rest (a computer call's screenshot `output` object, a shell call's
    /// `output` list of outcomes, a web search call) are passed over
    /// whatever shape their fields have, as are strays that are not objects.
    #[test]
    fn items_of_every_kind_and_shape_are_read_or_passed_over() {
        let req = decode(serde_json::json!([
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "be brief"}]},
            {"role": "user", "content": [
                {"type": "input_text", "text": "hi"},
                "stray",
                {"type": "input_file", "file_id": "file-1"},
                {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=", "detail": "auto"}
            ]},
            "not an item",
            7,
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "thinking"}],
             "content": [{"type": "reasoning_text", "text": "x"}], "encrypted_content": null},
            {"type": "function_call", "call_id": "c1", "name": "exec", "namespace": "shell",
             "arguments": "{\"cmd\":\"ls\"}", "status": "completed"},
            {"type": "function_call_output", "call_id": "c1", "output": "a.txt"},
            {"type": "computer_call_output", "call_id": "c2",
             "output": {"type": "computer_screenshot", "image_url": "data:image/png;base64,AA=="}},
            {"type": "shell_call_output", "call_id": "c3",
             "output": [{"stdout": "x", "stderr": "", "outcome": {"type": "exit", "exit_code": 0}}]},
            {"type": "web_search_call", "id": "ws_1", "status": "completed",
             "action": {"type": "search", "query": "q"}},
            {"type": "function_call_output", "call_id": "c4", "output": [{"type": "input_text", "text": "part"}]},
            {"type": "message", "role": "assistant", "status": "completed", "content": [
                {"type": "output_text", "text": "done", "annotations": []},
                {"type": "refusal", "refusal": "no"}
            ]}
        ]))
        .unwrap();
        assert_eq!(req.system, ["be brief"]);
        let shapes: Vec<(Role, Vec<String>)> = req
            .messages
            .iter()
            .map(|m| {
                let parts = m.parts.iter().map(|p| match p {
                    Part::Text(t) => format!("text {t}"),
                    Part::Image(_) => "image".into(),
                    Part::ToolCall(c) => format!("call {} {} {}", c.id, c.name, c.arguments),
                    Part::ToolResult {
                        call_id, content, ..
                    } => {
                        format!("result {call_id} {content:?}")
                    }
                    Part::Thinking { text, .. } => format!("thinking {text}"),
                });
                (m.role, parts.collect())
            })
            .collect();
        assert_eq!(
            shapes,
            [
                (Role::User, vec!["text hi".to_string(), "image".into()]),
                (
                    Role::Assistant,
                    vec![
                        "thinking thinking".into(),
                        r#"call c1 shell__exec {"cmd":"ls"}"#.into()
                    ]
                ),
                (
                    Role::User,
                    vec![
                        r#"result c1 [Text("a.txt")]"#.into(),
                        r#"result c4 [Text("part")]"#.into()
                    ]
                ),
                (Role::Assistant, vec!["text done".into(), "text no".into()]),
            ]
        );
    }

    /// A field of the right shape is still read strictly: what is wrong
    /// there is named, not passed over.
    #[test]
    fn a_wrong_value_in_a_read_field_is_named() {
        let image = serde_json::json!([{"role": "user", "content": [{"type": "input_image", "image_url": 5}]}]);
        let err = decode(image).unwrap_err();
        assert_eq!(err.param.as_deref(), Some("input[0].content[0].image_url"));
        assert!(
            err.message.contains("needs an image_url"),
            "{}",
            err.message
        );
        let args = serde_json::json!([
            {"role": "user", "content": "hi"},
            {"type": "function_call", "call_id": "c", "name": "f", "arguments": "[1]"}
        ]);
        let err = decode(args).unwrap_err();
        assert_eq!(err.param.as_deref(), Some("input[1].arguments"));
        let role = serde_json::json!([{"role": "judge", "content": "hi"}]);
        assert!(
            decode(role)
                .unwrap_err()
                .message
                .contains("unknown role `judge`")
        );
        let nothing = serde_json::json!(["a", 1, {"type": "web_search_call"}]);
        assert!(
            decode(nothing)
                .unwrap_err()
                .message
                .contains("holds no user or assistant content")
        );
    }
}
