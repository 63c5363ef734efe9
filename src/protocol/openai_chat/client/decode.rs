//! Chat Completions request → canonical request.

use super::types::*;
use crate::canonical::{
    Effort, Image, Message, Params, Part, Reasoning, Request, ResponseFormat, Role, Schema, Tool,
    ToolCall, ToolChoice, ToolKind,
};
use crate::error::Error;
use serde_json::Value;

/// Parses and validates a Chat Completions body.
pub fn decode_request(body: &[u8]) -> Result<Request, Error> {
    let req: ChatRequest = crate::protocol::parse_body(body)?;
    if req.messages.is_empty() {
        return Err(Error::invalid_param(
            "messages",
            "`messages` must not be empty",
        ));
    }
    if req.n.is_some_and(|n| n > 1) {
        return Err(Error::invalid_param("n", "only n = 1 is supported"));
    }

    let mut system = Vec::new();
    let mut messages = Vec::with_capacity(req.messages.len());
    for (i, m) in req.messages.into_iter().enumerate() {
        match m {
            ChatMessage::System(Said { content }) | ChatMessage::Developer(Said { content }) => {
                system.push(text_of(content));
            }
            ChatMessage::User(Said { content }) => messages.push(Message {
                role: Role::User,
                parts: parts_of(content, i)?,
            }),
            ChatMessage::Assistant(AssistantIn {
                content,
                tool_calls,
                reasoning_content,
            }) => {
                let mut parts = Vec::new();
                if let Some(text) = reasoning_content.filter(|t| !t.is_empty()) {
                    parts.push(Part::Thinking {
                        text,
                        signature: None,
                        redacted: false,
                    });
                }
                if let Some(content) = content {
                    parts.extend(parts_of(content, i)?);
                }
                for (j, call) in tool_calls.into_iter().flatten().enumerate() {
                    parts.push(Part::ToolCall(ToolCall {
                        arguments: parse_arguments(&call.function.arguments, i, j)?,
                        id: call.id,
                        name: call.function.name,
                        signature: None,
                    }));
                }
                messages.push(Message {
                    role: Role::Assistant,
                    parts,
                });
            }
            ChatMessage::Tool(ToolReplyIn {
                content,
                tool_call_id,
            }) => messages.push(Message {
                role: Role::User,
                parts: vec![Part::ToolResult {
                    call_id: tool_call_id,
                    name: None,
                    content: parts_of(content, i)?,
                    is_error: false,
                }],
            }),
        }
    }

    let mut tools = req
        .tools
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            if t.kind != "function" {
                return Err(Error::invalid_param(
                    &format!("tools[{i}].type"),
                    format!("tool type `{}` is not supported; use `function`", t.kind),
                ));
            }
            Ok(Tool {
                kind: ToolKind::Function,
                name: t.function.name,
                description: t.function.description,
                parameters: t.function.parameters.unwrap_or_else(Schema::no_arguments),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;

    if req.web_search_options.is_some() {
        tools.push(Tool::web_search());
    }

    let tool_choice = match req.tool_choice {
        None => None,
        Some(ChatToolChoice::Named { function }) => Some(ToolChoice::Named(function.name)),
        Some(ChatToolChoice::Mode(mode)) => Some(match mode.as_str() {
            "auto" => ToolChoice::Auto,
            "none" => ToolChoice::None,
            "required" => ToolChoice::Required,
            other => {
                return Err(Error::invalid_param(
                    "tool_choice",
                    format!(
                        "unknown tool_choice `{other}`; use auto, none, required or a named function"
                    ),
                ));
            }
        }),
    };

    let response_format = match req.response_format {
        None | Some(ChatResponseFormat::Text) => None,
        Some(ChatResponseFormat::JsonObject) => Some(ResponseFormat::JsonObject),
        Some(ChatResponseFormat::JsonSchema { json_schema }) => match json_schema.schema {
            Some(schema) => Some(ResponseFormat::JsonSchema {
                name: json_schema.name,
                schema,
            }),
            None => Some(ResponseFormat::JsonObject),
        },
    };

    let reasoning = match req.reasoning_effort.as_deref() {
        None => None,
        Some(effort) => Some(Reasoning {
            effort: Some(match effort {
                "none" | "minimal" => Effort::Minimal,
                "low" => Effort::Low,
                "medium" => Effort::Medium,
                "high" | "xhigh" => Effort::High,
                other => {
                    return Err(Error::invalid_param(
                        "reasoning_effort",
                        format!(
                            "unknown reasoning_effort `{other}`; use minimal, low, medium or high"
                        ),
                    ));
                }
            }),
            budget_tokens: None,
        }),
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
            top_k: None,
            max_tokens: req.max_completion_tokens.or(req.max_tokens),
            stop: match req.stop {
                None => Vec::new(),
                Some(Stop::Text(s)) => vec![s],
                Some(Stop::List(v)) => v,
            },
            seed: req.seed,
            presence_penalty: req.presence_penalty,
            frequency_penalty: req.frequency_penalty,
        },
        response_format,
        reasoning,
        stream: req.stream,
        stream_usage: req.stream_options.is_some_and(|o| o.include_usage),
        session: req.prompt_cache_key,
        image_output: None,
        compaction: false,
    })
}

fn text_of(content: Content) -> String {
    match content {
        Content::Text(t) => t,
        Content::List(parts) => parts
            .into_iter()
            .filter_map(|p| match p {
                ContentPart::Text(TextPart { text }) => Some(text),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

fn parts_of(content: Content, msg: usize) -> Result<Vec<Part>, Error> {
    match content {
        Content::Text(t) => Ok(vec![Part::Text(t)]),
        Content::List(parts) => parts
            .into_iter()
            .enumerate()
            .map(|(j, p)| match p {
                ContentPart::Text(TextPart { text }) => Ok(Part::Text(text)),
                ContentPart::Refusal(RefusalPart { refusal }) => Ok(Part::Text(refusal)),
                ContentPart::ImageUrl(ImagePart { image_url }) => Image::from_url(&image_url.url)
                    .ok_or_else(|| {
                        Error::invalid_param(
                            &format!("messages[{msg}].content[{j}].image_url.url"),
                            "image_url must be a base64 data URL (data:image/png;base64,...), an http(s) URL or a file:// path",
                        )
                    })
                    .map(Part::Image),
            })
            .collect(),
    }
}

fn parse_arguments(args: &str, msg: usize, call: usize) -> Result<Value, Error> {
    if args.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    match serde_json::from_str::<Value>(args) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(Error::invalid_param(
            &format!("messages[{msg}].tool_calls[{call}].function.arguments"),
            "tool call arguments must be a JSON object encoded as a string",
        )),
    }
}
