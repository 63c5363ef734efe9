//! Canonical stream events → Chat Completions `chat.completion.chunk` SSE
//! frames, and the error that ends a stream.

use super::encode::*;
use super::types::*;
use crate::canonical::{Event, Finish, Usage};
use crate::error::Error;
use crate::protocol::sse;

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
