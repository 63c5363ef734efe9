//! Canonical stream events → Gemini chunks, as SSE (`alt=sse`) or the JSON
//! array Gemini sends without it.

use super::encode::*;
use crate::canonical::{Event, Finish, Part, Usage};
use crate::error::Error;
use serde_json::Value;

/// Streams canonical events as Gemini chunks: SSE (`alt=sse`) or the JSON
/// array Gemini sends without it.
pub struct StreamEncoder {
    sse: bool,
    first: bool,
    id: String,
    model: String,
    usage: Usage,
    finish: Option<Finish>,
}

impl StreamEncoder {
    pub fn new(model: &str, sse: bool) -> Self {
        StreamEncoder {
            sse,
            first: true,
            id: String::new(),
            model: model.to_string(),
            usage: Usage::default(),
            finish: None,
        }
    }

    fn write(&mut self, out: &mut Vec<u8>, value: &Value) {
        if self.sse {
            crate::protocol::sse::write_data(out, value.to_string().as_bytes());
        } else {
            out.extend_from_slice(if self.first { b"[" } else { b",\r\n" });
            out.extend_from_slice(value.to_string().as_bytes());
        }
        self.first = false;
    }

    pub fn event(&mut self, ev: &Event, out: &mut Vec<u8>) {
        let part = match ev {
            Event::Start { id, model } => {
                self.id.clone_from(id);
                if !model.is_empty() {
                    self.model.clone_from(model);
                }
                return;
            }
            Event::TextDelta(t) => Part::Text(t.clone()),
            Event::ThinkingDelta { text, signature } => Part::Thinking {
                text: text.clone(),
                signature: signature.clone(),
                redacted: false,
            },
            Event::ToolCall { call, .. } => Part::ToolCall(call.clone()),
            Event::Image(img) => Part::Image(img.clone()),
            Event::Citations(c) => {
                let mut value = chunk(Vec::new(), None, None, &self.model, &self.id);
                value["candidates"][0]["groundingMetadata"] = grounding(c);
                self.write(out, &value);
                return;
            }
            Event::Usage(u) => {
                self.usage = *u;
                return;
            }
            Event::Finish(f) => {
                self.finish = Some(*f);
                return;
            }
        };
        if let Some(p) = part_json(&part) {
            let c = chunk(vec![p], None, None, &self.model, &self.id);
            self.write(out, &c);
        }
    }

    pub fn done(&mut self, out: &mut Vec<u8>) {
        let usage = self.usage;
        let c = chunk(
            Vec::new(),
            Some(self.finish.unwrap_or(Finish::Stop)),
            Some(&usage),
            &self.model,
            &self.id,
        );
        self.write(out, &c);
        if !self.sse {
            out.push(b']');
        }
    }

    pub fn error(&mut self, err: &Error, out: &mut Vec<u8>) {
        let body: Value = serde_json::from_slice(&encode_error(err)).expect("valid");
        self.write(out, &body);
        if !self.sse {
            out.push(b']');
        }
    }

    pub fn usage(&self) -> Usage {
        self.usage
    }
}
