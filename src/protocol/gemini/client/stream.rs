//! Canonical stream events → Gemini chunks, as SSE (`alt=sse`) or the JSON
//! array Gemini sends without it.

use super::encode::*;
use super::types::{DeltaCandidate, DeltaChunk, DeltaContent, DeltaPart};
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
        self.write_bytes(out, value.to_string().as_bytes());
    }

    fn write_bytes(&mut self, out: &mut Vec<u8>, payload: &[u8]) {
        if self.sse {
            crate::protocol::sse::write_data(out, payload);
        } else {
            out.extend_from_slice(if self.first { b"[" } else { b",\r\n" });
            out.extend_from_slice(payload);
        }
        self.first = false;
    }

    /// A chunk of one text or thought part, serialized from typed structs
    /// rather than a `json!` tree: the per-token path.
    fn write_delta(&mut self, out: &mut Vec<u8>, text: &str, thought: bool) {
        let chunk = DeltaChunk {
            candidates: [DeltaCandidate {
                content: DeltaContent {
                    parts: [DeltaPart {
                        text,
                        thought: thought.then_some(true),
                    }],
                    role: "model",
                },
                index: 0,
            }],
            model_version: &self.model,
            response_id: &self.id,
        };
        let payload = serde_json::to_vec(&chunk).expect("serializable");
        self.write_bytes(out, &payload);
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
            Event::TextDelta(t) => {
                self.write_delta(out, t, false);
                return;
            }
            Event::ThinkingDelta {
                text,
                signature: None,
            } => {
                self.write_delta(out, text, true);
                return;
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The typed per-token chunks write the very bytes the `json!` trees
    /// they replaced wrote, in both stream forms.
    #[test]
    fn typed_deltas_match_the_json_trees() {
        let text = "a \"quoted\" ü\n\u{1}";
        let cases = [
            (Event::TextDelta(text.into()), json!({"text": text})),
            (
                Event::ThinkingDelta {
                    text: text.into(),
                    signature: None,
                },
                json!({"text": text, "thought": true}),
            ),
        ];
        for sse in [true, false] {
            for (event, part) in &cases {
                let start = Event::Start {
                    id: "id".into(),
                    model: "m".into(),
                };
                let mut typed = StreamEncoder::new("m", sse);
                let mut out = Vec::new();
                typed.event(&start, &mut out);
                typed.event(event, &mut out);
                typed.event(event, &mut out);
                let mut untyped = StreamEncoder::new("m", sse);
                let mut expected = Vec::new();
                let c = chunk(vec![part.clone()], None, None, "m", "id");
                untyped.write(&mut expected, &c);
                untyped.write(&mut expected, &c);
                assert_eq!(String::from_utf8(out), String::from_utf8(expected));
            }
        }
    }
}
