//! The upstream side of Anthropic Messages: canonical request → the body the
//! Anthropic API takes, its answers and streams → canonical, and the cleaning
//! of a native client's history before it passes through.

use crate::canonical::{
    Event, Finish, Image, Origin, Part, Request, Role, Signature, ToolCall, ToolChoice, ToolKind,
    Usage,
};
use crate::error::{Error, Kind, from_upstream};
use crate::protocol::StreamDecode;
use serde::Deserialize;
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
    let mut tools: Vec<Value> = Vec::new();
    for t in &req.tools {
        tools.push(match t.kind {
            ToolKind::Function => {
                json!({"name": t.name, "description": t.description, "input_schema": t.parameters})
            }
            ToolKind::WebSearch => json!({"type": "web_search_20250305", "name": "web_search"}),
        });
    }
    if !tools.is_empty() {
        body.insert("tools".into(), Value::Array(tools));
    }
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
    serde_json::to_vec(&body).expect("serializing owned data cannot fail")
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
                    b[field]
                        .as_str()
                        .is_some_and(|s| s.starts_with(super::signature::PREFIX))
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

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum StreamEvent {
    MessageStart {
        message: MessageIn,
    },
    ContentBlockStart {
        index: usize,
        content_block: BlockIn,
    },
    ContentBlockDelta {
        index: usize,
        delta: DeltaIn,
    },
    ContentBlockStop {
        index: usize,
    },
    MessageDelta {
        delta: MessageDeltaIn,
        usage: Option<UsageIn>,
    },
    MessageStop,
    Ping,
    Error {
        error: ErrorIn,
    },
}

#[derive(Deserialize, Default)]
struct MessageIn {
    #[serde(default)]
    id: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    content: Vec<BlockIn>,
    stop_reason: Option<String>,
    usage: Option<UsageIn>,
}

#[derive(Deserialize, Clone)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockIn {
    Text {
        #[serde(default)]
        text: String,
    },
    Thinking {
        #[serde(default)]
        thinking: String,
        #[serde(default)]
        signature: String,
    },
    RedactedThinking {
        data: String,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum DeltaIn {
    TextDelta {
        text: String,
    },
    ThinkingDelta {
        thinking: String,
    },
    SignatureDelta {
        signature: String,
    },
    InputJsonDelta {
        partial_json: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct MessageDeltaIn {
    stop_reason: Option<String>,
}

#[derive(Deserialize, Default, Clone, Copy)]
struct UsageIn {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    cache_read_input_tokens: u64,
    #[serde(default)]
    cache_creation_input_tokens: u64,
}

#[derive(Deserialize)]
struct ErrorIn {
    #[serde(default)]
    message: String,
}

fn anthropic_sig(value: String) -> Option<Signature> {
    (!value.is_empty()).then_some(Signature {
        origin: Origin::Anthropic,
        value,
    })
}

/// Decodes Anthropic answers (whole or streamed) into canonical events.
pub struct UpstreamDecoder {
    id: String,
    usage: Usage,
    calls: usize,
    /// The tool call being streamed: (block index, id, name, argument JSON).
    tool: Option<(usize, String, String, String)>,
    finish: Option<Finish>,
    finished: bool,
}

impl UpstreamDecoder {
    pub fn new(id: String) -> Self {
        UpstreamDecoder {
            id,
            usage: Usage::default(),
            calls: 0,
            tool: None,
            finish: None,
            finished: false,
        }
    }

    fn usage(&mut self, u: UsageIn, out: &mut Vec<Event>) {
        if u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens > 0 {
            self.usage.input_tokens =
                u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens;
            self.usage.cached_input_tokens = u.cache_read_input_tokens;
        }
        if u.output_tokens > 0 {
            self.usage.output_tokens = u.output_tokens;
        }
        out.push(Event::Usage(self.usage));
    }

    fn call(&mut self, id: String, name: String, input: Value, out: &mut Vec<Event>) {
        let arguments = if input.is_object() { input } else { json!({}) };
        out.push(Event::ToolCall {
            index: self.calls,
            call: ToolCall {
                id,
                name,
                arguments,
                signature: None,
            },
        });
        self.calls += 1;
    }

    fn block(&mut self, block: BlockIn, out: &mut Vec<Event>) {
        match block {
            BlockIn::Text { text } if !text.is_empty() => out.push(Event::TextDelta(text)),
            BlockIn::Thinking {
                thinking,
                signature,
            } => {
                out.push(Event::ThinkingDelta {
                    text: thinking,
                    signature: anthropic_sig(signature),
                });
            }
            BlockIn::RedactedThinking { data } => {
                // Redacted reasoning has no text; its data is its signature.
                out.push(Event::ThinkingDelta {
                    text: String::new(),
                    signature: anthropic_sig(data),
                });
            }
            BlockIn::ToolUse { id, name, input } => self.call(id, name, input, out),
            BlockIn::Text { .. } | BlockIn::Other => {}
        }
    }

    fn stop(&mut self, reason: Option<String>) {
        self.finish = Some(match reason.as_deref() {
            Some("max_tokens") => Finish::Length,
            Some("tool_use") => Finish::ToolCalls,
            Some("stop_sequence") => Finish::StopSequence,
            Some("refusal") => Finish::ContentFilter,
            _ => Finish::Stop,
        });
    }

    fn event(&mut self, ev: StreamEvent, out: &mut Vec<Event>) -> Result<(), Error> {
        match ev {
            StreamEvent::MessageStart { message } => {
                if !message.id.is_empty() {
                    self.id = message.id;
                }
                out.push(Event::Start {
                    id: self.id.clone(),
                    model: message.model,
                });
                if let Some(u) = message.usage {
                    self.usage(u, out);
                }
            }
            StreamEvent::ContentBlockStart {
                index,
                content_block,
            } => match content_block {
                BlockIn::ToolUse { id, name, .. } => {
                    self.tool = Some((index, id, name, String::new()))
                }
                other => self.block(other, out),
            },
            StreamEvent::ContentBlockDelta { index, delta } => match delta {
                DeltaIn::TextDelta { text } => out.push(Event::TextDelta(text)),
                DeltaIn::ThinkingDelta { thinking } => out.push(Event::ThinkingDelta {
                    text: thinking,
                    signature: None,
                }),
                DeltaIn::SignatureDelta { signature } => {
                    out.push(Event::ThinkingDelta {
                        text: String::new(),
                        signature: anthropic_sig(signature),
                    });
                }
                DeltaIn::InputJsonDelta { partial_json } => {
                    if let Some((i, _, _, args)) = self.tool.as_mut().filter(|t| t.0 == index) {
                        debug_assert_eq!(*i, index);
                        args.push_str(&partial_json);
                    }
                }
                DeltaIn::Other => {}
            },
            StreamEvent::ContentBlockStop { index } => {
                if let Some((_, id, name, args)) = self.tool.take_if(|t| t.0 == index) {
                    let input = if args.trim().is_empty() {
                        json!({})
                    } else {
                        serde_json::from_str(&args)
                            .unwrap_or_else(|_| json!({"_raw_arguments": args}))
                    };
                    self.call(id, name, input, out);
                }
            }
            StreamEvent::MessageDelta { delta, usage } => {
                self.stop(delta.stop_reason);
                if let Some(u) = usage {
                    self.usage(u, out);
                }
            }
            StreamEvent::MessageStop => {
                self.finished = true;
                out.push(Event::Finish(self.finish.unwrap_or(Finish::Stop)));
            }
            StreamEvent::Ping => {}
            StreamEvent::Error { error } => {
                return Err(Error::new(
                    Kind::Upstream,
                    format!("Anthropic failed mid-stream: {}", error.message),
                ));
            }
        }
        Ok(())
    }
}

fn unreadable(e: serde_json::Error) -> Error {
    Error::new(
        Kind::Upstream,
        format!("Anthropic sent an answer levity cannot read: {e}"),
    )
}

impl StreamDecode for UpstreamDecoder {
    fn data(&mut self, data: &[u8], out: &mut Vec<Event>) -> Result<(), Error> {
        let ev: StreamEvent = serde_json::from_slice(data).map_err(unreadable)?;
        self.event(ev, out)
    }

    fn whole(&mut self, body: &[u8], out: &mut Vec<Event>) -> Result<(), Error> {
        let m: MessageIn = serde_json::from_slice(body).map_err(unreadable)?;
        if !m.id.is_empty() {
            self.id = m.id;
        }
        out.push(Event::Start {
            id: self.id.clone(),
            model: m.model,
        });
        for block in m.content {
            self.block(block, out);
        }
        if let Some(u) = m.usage {
            self.usage(u, out);
        }
        self.stop(m.stop_reason);
        self.finished = true;
        out.push(Event::Finish(self.finish.unwrap_or(Finish::Stop)));
        Ok(())
    }

    fn finished(&self) -> bool {
        self.finished
    }
}

/// Reads an Anthropic error body into an error with the status it deserves.
pub fn decode_error(status: u16, body: &[u8]) -> Error {
    let message = crate::protocol::error_message(body);
    from_upstream(
        status,
        format!("Anthropic upstream error {status}: {message}"),
    )
}

/// The usage of a whole answer or of one stream event (`message_start`
/// holds it in `message.usage`, `message_delta` in `usage`), read without
/// its content; an error when the body is not a JSON object. Input counts
/// cache reads and writes, as Anthropic bills them (docs.claude.com/en/docs/
/// build-with-claude/prompt-caching).
pub fn usage_of(body: &[u8]) -> serde_json::Result<Option<Usage>> {
    let m: UsageOnly = serde_json::from_slice(body)?;
    Ok(m.usage.or(m.message.and_then(|m| m.usage)).map(|u| Usage {
        input_tokens: u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens,
        output_tokens: u.output_tokens,
        cached_input_tokens: u.cache_read_input_tokens,
        ..Usage::default()
    }))
}

#[derive(Deserialize)]
struct UsageOnly {
    usage: Option<UsageIn>,
    message: Option<MessageUsage>,
}

#[derive(Deserialize)]
struct MessageUsage {
    usage: Option<UsageIn>,
}
