//! Canonical response, stream events and errors → Chat Completions JSON.

use super::types::*;
use crate::canonical::{Event, Finish, Part, Response, Usage};
use crate::error::{Error, Kind};
use crate::protocol::sse;

fn finish_reason(f: Option<Finish>) -> &'static str {
    match f {
        None | Some(Finish::Stop | Finish::StopSequence) => "stop",
        Some(Finish::Length) => "length",
        Some(Finish::ToolCalls) => "tool_calls",
        Some(Finish::ContentFilter) => "content_filter",
    }
}

fn usage_out(u: &Usage) -> UsageOut {
    UsageOut {
        prompt_tokens: u.input_tokens,
        completion_tokens: u.output_tokens,
        total_tokens: u.input_tokens + u.output_tokens,
        prompt_tokens_details: PromptDetails {
            cached_tokens: u.cached_input_tokens,
        },
        completion_tokens_details: CompletionDetails {
            reasoning_tokens: u.reasoning_tokens,
        },
    }
}

fn image_out(img: &crate::canonical::Image) -> serde_json::Value {
    let url = match img {
        crate::canonical::Image::Inline { mime_type, data } => {
            format!("data:{mime_type};base64,{data}")
        }
        crate::canonical::Image::Url { url, .. } => url.clone(),
    };
    serde_json::json!({"type": "image_url", "image_url": {"url": url}})
}

fn citation_out(c: &crate::canonical::Citation) -> serde_json::Value {
    serde_json::json!({"type": "url_citation", "url_citation": {"url": c.url, "title": c.title, "start_index": 0, "end_index": 0}})
}

fn tool_call_out(call: &crate::canonical::ToolCall, index: Option<usize>) -> ToolCallOut<'_> {
    ToolCallOut {
        index,
        id: &call.id,
        kind: "function",
        function: FunctionOut {
            name: &call.name,
            arguments: call.arguments.to_string(),
        },
    }
}

/// Serializes a finished answer as a `chat.completion` object.
pub fn encode_response(resp: &Response, created: u64) -> Vec<u8> {
    let mut text = String::new();
    let mut thinking = String::new();
    let mut tool_calls = Vec::new();
    let mut images = Vec::new();
    for part in &resp.parts {
        match part {
            Part::Text(t) => text.push_str(t),
            Part::Thinking { text, .. } => thinking.push_str(text),
            Part::ToolCall(call) => tool_calls.push(tool_call_out(call, None)),
            Part::Image(img) => images.push(image_out(img)),
            Part::ToolResult { .. } => {}
        }
    }
    let body = Completion {
        id: &resp.id,
        object: "chat.completion",
        created,
        model: &resp.model,
        choices: [Choice {
            index: 0,
            message: MessageOut {
                role: "assistant",
                content: (!text.is_empty() || tool_calls.is_empty()).then_some(text),
                reasoning_content: (!thinking.is_empty()).then_some(thinking),
                tool_calls,
                images,
                annotations: resp.citations.iter().map(citation_out).collect(),
            },
            finish_reason: finish_reason(resp.finish),
        }],
        usage: usage_out(&resp.usage),
    };
    serde_json::to_vec(&body).expect("serializing owned data cannot fail")
}

/// Turns canonical events into `chat.completion.chunk` SSE frames, one event at a time.
pub struct ChunkEncoder {
    id: String,
    model: String,
    created: u64,
    include_usage: bool,
    usage: Option<Usage>,
    finished: bool,
}

impl ChunkEncoder {
    pub fn new(model: &str, created: u64, include_usage: bool) -> Self {
        ChunkEncoder {
            id: String::new(),
            model: model.to_string(),
            created,
            include_usage,
            usage: None,
            finished: false,
        }
    }

    fn chunk(&self, out: &mut Vec<u8>, delta: Delta<'_>, finish: Option<&'static str>) {
        let chunk = Chunk {
            id: &self.id,
            object: "chat.completion.chunk",
            created: self.created,
            model: &self.model,
            choices: vec![ChunkChoice {
                index: 0,
                delta,
                finish_reason: finish,
            }],
            usage: None,
        };
        sse::write_data(out, &serde_json::to_vec(&chunk).expect("serializable"));
    }

    /// Appends the frames for one event to `out`.
    pub fn event(&mut self, ev: &Event, out: &mut Vec<u8>) {
        match ev {
            Event::Start { id, model } => {
                self.id = format!("chatcmpl-{id}");
                if !model.is_empty() {
                    self.model.clone_from(model);
                }
                let delta = Delta {
                    role: Some("assistant"),
                    content: Some(""),
                    ..Delta::default()
                };
                self.chunk(out, delta, None);
            }
            Event::TextDelta(text) => {
                let delta = Delta {
                    content: Some(text),
                    ..Delta::default()
                };
                self.chunk(out, delta, None);
            }
            Event::ThinkingDelta { text, .. } if !text.is_empty() => {
                let delta = Delta {
                    reasoning_content: Some(text),
                    ..Delta::default()
                };
                self.chunk(out, delta, None);
            }
            Event::ThinkingDelta { .. } => {}
            Event::ToolCall { index, call } => {
                let delta = Delta {
                    tool_calls: vec![tool_call_out(call, Some(*index))],
                    ..Delta::default()
                };
                self.chunk(out, delta, None);
            }
            Event::Image(img) => {
                let delta = Delta {
                    images: vec![image_out(img)],
                    ..Delta::default()
                };
                self.chunk(out, delta, None);
            }
            Event::Citations(c) => {
                let delta = Delta {
                    annotations: c.iter().map(citation_out).collect(),
                    ..Delta::default()
                };
                self.chunk(out, delta, None);
            }
            Event::Usage(u) => self.usage = Some(*u),
            Event::Finish(f) => {
                if !self.finished {
                    self.finished = true;
                    self.chunk(out, Delta::default(), Some(finish_reason(Some(*f))));
                }
            }
        }
    }

    /// Closes a stream that ended normally: usage (when asked for) and `[DONE]`.
    pub fn done(&mut self, out: &mut Vec<u8>) {
        if !self.finished {
            self.event(&Event::Finish(Finish::Stop), out);
        }
        if self.include_usage {
            let chunk = Chunk {
                id: &self.id,
                object: "chat.completion.chunk",
                created: self.created,
                model: &self.model,
                choices: Vec::new(),
                usage: Some(usage_out(&self.usage.unwrap_or_default())),
            };
            sse::write_data(out, &serde_json::to_vec(&chunk).expect("serializable"));
        }
        sse::write_data(out, b"[DONE]");
    }

    /// Ends a stream that failed after it started: the error envelope as a
    /// data event, which the OpenAI SDKs raise; no `[DONE]` follows.
    pub fn error(&mut self, err: &Error, out: &mut Vec<u8>) {
        self.finished = true;
        stream_error(err, out);
    }

    /// The usage reported so far, for the request log.
    pub fn usage(&self) -> Usage {
        self.usage.unwrap_or_default()
    }
}

/// An error as a stream's last event, for encoded and passed-through streams.
pub fn stream_error(err: &Error, out: &mut Vec<u8>) {
    sse::write_data(out, &encode_error(err));
}

/// The OpenAI error envelope: `{"error": {"message", "type", "param", "code"}}`.
pub fn encode_error(err: &Error) -> Vec<u8> {
    let (kind, code) = match err.kind {
        Kind::InvalidRequest => ("invalid_request_error", "invalid_request"),
        Kind::Authentication => ("authentication_error", "invalid_api_key"),
        Kind::PermissionDenied => ("permission_error", "permission_denied"),
        Kind::NotFound => ("invalid_request_error", "model_not_found"),
        Kind::TooLarge => ("invalid_request_error", "request_too_large"),
        Kind::SlowClient => ("invalid_request_error", "request_timeout"),
        Kind::NotJson => ("invalid_request_error", "unsupported_media_type"),
        Kind::Conflict => ("invalid_request_error", "conflict"),
        Kind::RateLimited => ("rate_limit_error", "rate_limit_exceeded"),
        Kind::Upstream => ("api_error", "upstream_error"),
        Kind::Unavailable => ("api_error", "no_account_available"),
        Kind::Timeout => ("api_error", "upstream_timeout"),
        Kind::Internal => ("api_error", "internal_error"),
    };
    // A prompt past the window gets OpenAI's own code, which Codex and the
    // SDKs' users act on.
    let code = if err.overflow.is_some() {
        "context_length_exceeded"
    } else {
        code
    };
    serde_json::to_vec(&serde_json::json!({
        "error": {
            "message": err.message,
            "type": kind,
            "param": err.param,
            "code": code,
        }
    }))
    .expect("serializable")
}
