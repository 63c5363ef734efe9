//! The upstream side of Chat Completions: canonical request → the body an
//! OpenAI-compatible host takes, and its answers and streams → canonical.
//! Used when the client speaks another protocol (Claude Code to DeepSeek).

use crate::canonical::{
    Effort, Event, Finish, Image, Part, Request, ResponseFormat, Role, ToolCall, ToolChoice,
    ToolKind, Usage,
};
use crate::error::{Error, Kind, from_upstream};
use crate::protocol::StreamDecode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

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
    tools: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_effort: Option<&'static str>,
}

fn text_of(parts: &[Part]) -> String {
    parts
        .iter()
        .filter_map(|p| match p {
            Part::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn image_url(img: &Image) -> Value {
    let url = match img {
        Image::Inline { mime_type, data } => format!("data:{mime_type};base64,{data}"),
        Image::Url { url, .. } => url.clone(),
    };
    json!({"type": "image_url", "image_url": {"url": url}})
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
        .map(|t| json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}))
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

#[derive(Deserialize, Default)]
struct Answer {
    #[serde(default)]
    id: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    choices: Vec<AnswerChoice>,
    usage: Option<UsageIn>,
}

#[derive(Deserialize, Default)]
struct AnswerChoice {
    #[serde(alias = "delta")]
    message: Option<MessageIn>,
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct MessageIn {
    content: Option<String>,
    /// DeepSeek and others put their reasoning here.
    reasoning_content: Option<String>,
    #[serde(default)]
    tool_calls: Vec<CallIn>,
}

#[derive(Deserialize, Default)]
struct CallIn {
    #[serde(default)]
    index: usize,
    id: Option<String>,
    function: Option<FunctionIn>,
}

#[derive(Deserialize, Default)]
struct FunctionIn {
    name: Option<String>,
    arguments: Option<String>,
}

#[derive(Deserialize, Default, Clone, Copy)]
pub(super) struct UsageIn {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub prompt_tokens_details: Option<PromptDetailsIn>,
    #[serde(default)]
    pub completion_tokens_details: Option<CompletionDetailsIn>,
    /// DeepSeek's cache hits (api-docs.deepseek.com/guides/kv_cache).
    #[serde(default)]
    pub prompt_cache_hit_tokens: u64,
}

/// `prompt_tokens_details.cached_tokens`: input served from OpenAI's
/// prompt cache (platform.openai.com/docs/guides/prompt-caching); DeepSeek
/// says `prompt_cache_hit_tokens` at the top level instead.
#[derive(Deserialize, Default, Clone, Copy)]
pub(super) struct PromptDetailsIn {
    #[serde(default)]
    pub cached_tokens: u64,
}

#[derive(Deserialize, Default, Clone, Copy)]
pub(super) struct CompletionDetailsIn {
    #[serde(default)]
    pub reasoning_tokens: u64,
}

impl From<UsageIn> for Usage {
    fn from(u: UsageIn) -> Usage {
        Usage {
            input_tokens: u.prompt_tokens,
            output_tokens: u.completion_tokens,
            reasoning_tokens: u
                .completion_tokens_details
                .unwrap_or_default()
                .reasoning_tokens,
            cached_input_tokens: u
                .prompt_tokens_details
                .unwrap_or_default()
                .cached_tokens
                .max(u.prompt_cache_hit_tokens),
        }
    }
}

/// A tool call being assembled from stream fragments.
#[derive(Default)]
struct Pending {
    id: String,
    name: String,
    arguments: String,
}

/// Decodes Chat Completions answers (whole or streamed) into canonical events.
pub struct UpstreamDecoder {
    id: String,
    started: bool,
    /// By the upstream's index: a map, not a vector, since the index is the
    /// upstream's word (a huge one must not allocate) and may skip numbers.
    pending: BTreeMap<usize, Pending>,
    emitted: usize,
    finished: bool,
    finish: Option<Finish>,
}

impl UpstreamDecoder {
    pub fn new(id: String) -> Self {
        UpstreamDecoder {
            id,
            started: false,
            pending: BTreeMap::new(),
            emitted: 0,
            finished: false,
            finish: None,
        }
    }

    fn flush_calls(&mut self, out: &mut Vec<Event>) {
        for p in std::mem::take(&mut self.pending).into_values() {
            let arguments = match serde_json::from_str::<Value>(&p.arguments) {
                Ok(v @ Value::Object(_)) => v,
                _ if p.arguments.trim().is_empty() => json!({}),
                // Keep what the model wrote, so the client can see what went wrong.
                _ => json!({"_raw_arguments": p.arguments}),
            };
            out.push(Event::ToolCall {
                index: self.emitted,
                call: ToolCall {
                    id: if p.id.is_empty() {
                        format!("call_{}_{}", self.id, self.emitted)
                    } else {
                        p.id
                    },
                    name: p.name,
                    arguments,
                    signature: None,
                },
            });
            self.emitted += 1;
        }
    }

    fn answer(&mut self, a: Answer, out: &mut Vec<Event>) {
        if !self.started {
            self.started = true;
            if !a.id.is_empty() {
                self.id = a.id;
            }
            out.push(Event::Start {
                id: self.id.clone(),
                model: a.model,
            });
        }
        for choice in a.choices.into_iter().take(1) {
            if let Some(m) = choice.message {
                if let Some(r) = m.reasoning_content.filter(|r| !r.is_empty()) {
                    out.push(Event::ThinkingDelta {
                        text: r,
                        signature: None,
                    });
                }
                if let Some(c) = m.content.filter(|c| !c.is_empty()) {
                    out.push(Event::TextDelta(c));
                }
                for tc in m.tool_calls {
                    let p = self.pending.entry(tc.index).or_default();
                    if let Some(id) = tc.id {
                        p.id = id;
                    }
                    if let Some(f) = tc.function {
                        p.name.push_str(f.name.as_deref().unwrap_or(""));
                        p.arguments.push_str(f.arguments.as_deref().unwrap_or(""));
                    }
                }
            }
            if let Some(reason) = choice.finish_reason {
                self.flush_calls(out);
                self.finish = Some(match reason.as_str() {
                    "length" => Finish::Length,
                    "tool_calls" | "function_call" => Finish::ToolCalls,
                    "content_filter" => Finish::ContentFilter,
                    _ if self.emitted > 0 => Finish::ToolCalls,
                    _ => Finish::Stop,
                });
            }
        }
        if let Some(u) = a.usage {
            out.push(Event::Usage(u.into()));
        }
    }

    fn end(&mut self, out: &mut Vec<Event>) {
        if !self.finished {
            self.finished = true;
            self.flush_calls(out);
            out.push(Event::Finish(self.finish.unwrap_or(Finish::Stop)));
        }
    }
}

fn unreadable(e: serde_json::Error) -> Error {
    Error::new(
        Kind::Upstream,
        format!("the upstream sent an answer levity cannot read: {e}"),
    )
}

impl StreamDecode for UpstreamDecoder {
    fn data(&mut self, data: &[u8], out: &mut Vec<Event>) -> Result<(), Error> {
        if data == b"[DONE]" {
            self.end(out);
            return Ok(());
        }
        let value: Value = serde_json::from_slice(data).map_err(unreadable)?;
        if let Some(err) = value.get("error") {
            let message = err["message"]
                .as_str()
                .unwrap_or("stream failed")
                .to_string();
            return Err(Error::new(
                Kind::Upstream,
                format!("the upstream failed mid-stream: {message}"),
            ));
        }
        let answer: Answer = serde_json::from_value(value).map_err(unreadable)?;
        self.answer(answer, out);
        Ok(())
    }

    fn whole(&mut self, body: &[u8], out: &mut Vec<Event>) -> Result<(), Error> {
        let answer: Answer = serde_json::from_slice(body).map_err(unreadable)?;
        self.answer(answer, out);
        self.end(out);
        Ok(())
    }

    fn finished(&self) -> bool {
        self.finished
    }
}

/// Reads an OpenAI-style error body into an error with the status it deserves.
pub fn decode_error(status: u16, body: &[u8]) -> Error {
    let message = crate::protocol::error_message(body);
    from_upstream(status, format!("upstream error {status}: {message}"))
}

/// The usage of a whole answer or of one stream chunk (the last, when the
/// request asked for `stream_options.include_usage`), read without its
/// content; an error when the body is not a JSON object.
pub fn usage_of(body: &[u8]) -> serde_json::Result<Option<Usage>> {
    let answer: UsageOnly = serde_json::from_slice(body)?;
    Ok(answer.usage.map(Usage::from))
}

/// Whether a stream chunk carries only the usage (`"choices": []`), the
/// chunk `include_usage` adds at the end.
pub fn usage_only_chunk(data: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Choices {
        #[serde(default)]
        choices: Vec<serde::de::IgnoredAny>,
        usage: Option<serde::de::IgnoredAny>,
    }
    serde_json::from_slice::<Choices>(data).is_ok_and(|c| c.choices.is_empty() && c.usage.is_some())
}

#[derive(Deserialize)]
struct UsageOnly {
    usage: Option<UsageIn>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tool-call index is the upstream's word: a huge one must not
    /// allocate (found by `make fuzz`), and skipped numbers must not invent
    /// empty calls.
    #[test]
    fn tool_call_indexes_are_keys_not_positions() {
        for index in [2u64, 8_888_888_888_880] {
            let mut d = UpstreamDecoder::new("id".into());
            let mut out = Vec::new();
            let call = json!({"choices": [{"index": 0, "delta": {"tool_calls": [
                {"index": index, "id": "c", "function": {"name": "f", "arguments": "{\"a\":1}"}}]}}]});
            d.data(call.to_string().as_bytes(), &mut out).unwrap();
            let end = br#"{"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}"#;
            d.data(end, &mut out).unwrap();
            let calls: Vec<&ToolCall> = out
                .iter()
                .filter_map(|e| match e {
                    Event::ToolCall { call, .. } => Some(call),
                    _ => None,
                })
                .collect();
            assert_eq!(calls.len(), 1, "{index}");
            assert_eq!(
                (calls[0].name.as_str(), &calls[0].arguments),
                ("f", &json!({"a": 1}))
            );
        }
    }
}
