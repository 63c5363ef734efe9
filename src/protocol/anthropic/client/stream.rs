//! Canonical events → Anthropic's streaming grammar: `message_start`, then
//! for each block `content_block_start` / `content_block_delta` /
//! `content_block_stop`, then `message_delta` and `message_stop`.

use super::encode::{message_id, stop_reason, usage_out};
use super::types::{BlockDeltaOut, InputJsonDeltaOut, TextDeltaOut, ThinkingDeltaOut};
use crate::canonical::{Event, Finish, Usage};
use crate::error::Error;
use crate::protocol::anthropic::signature::{Slot, to_wire};
use serde::Serialize;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    Thinking,
    Text,
}

pub struct EventEncoder {
    model: String,
    started: bool,
    /// Index of the next block to open.
    next_index: usize,
    /// The block still open (tool_use blocks close as soon as they open).
    open: Option<Block>,
    /// Whether the open thinking block already carries a signature.
    signed: bool,
    usage: Usage,
    finish: Option<Finish>,
    done: bool,
    /// The upstream's own `message_delta` reached the client (a stream
    /// passed through, then resumed): only `message_stop` is left to send.
    delta_sent: bool,
}

fn frame(out: &mut Vec<u8>, event: &str, data: &Value) {
    crate::protocol::sse::write_event(out, event, data.to_string().as_bytes());
}

/// An error as a stream's last event, for encoded and passed-through streams.
pub fn stream_error(err: &Error, out: &mut Vec<u8>) {
    crate::protocol::sse::write_event(out, "error", &super::encode_error(err));
}

impl EventEncoder {
    pub fn new(model: &str) -> Self {
        EventEncoder {
            model: model.to_string(),
            started: false,
            next_index: 0,
            open: None,
            signed: false,
            usage: Usage::default(),
            finish: None,
            done: false,
            delta_sent: false,
        }
    }

    /// Content blocks opened so far.
    pub fn blocks(&self) -> usize {
        self.next_index
    }

    /// The client was given the upstream's own event of type `kind` (a
    /// stream passed through): the encoder follows it, so a continuation
    /// goes on from there.
    pub fn passed(&mut self, kind: &str) {
        match kind {
            "content_block_stop" => self.open = None,
            "message_delta" => self.delta_sent = true,
            _ => {}
        }
    }

    fn start(&mut self, id: &str, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        let message = json!({
            "id": message_id(id), "type": "message", "role": "assistant", "model": self.model,
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": self.usage.input_tokens, "output_tokens": 0,
                "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0},
        });
        frame(
            out,
            "message_start",
            &json!({"type": "message_start", "message": message}),
        );
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        if self.open.take().is_some() {
            let index = self.next_index - 1;
            frame(
                out,
                "content_block_stop",
                &json!({"type": "content_block_stop", "index": index}),
            );
        }
    }

    /// Opens a block of `kind` unless one is open already; returns its index.
    fn ensure(&mut self, kind: Block, out: &mut Vec<u8>) -> usize {
        if self.open == Some(kind) && !(kind == Block::Thinking && self.signed) {
            return self.next_index - 1;
        }
        self.close(out);
        let index = self.next_index;
        self.next_index += 1;
        self.open = Some(kind);
        self.signed = false;
        let block = match kind {
            Block::Thinking => json!({"type": "thinking", "thinking": "", "signature": ""}),
            Block::Text => json!({"type": "text", "text": ""}),
        };
        frame(
            out,
            "content_block_start",
            &json!({"type": "content_block_start", "index": index, "content_block": block}),
        );
        index
    }

    /// A per-token delta, serialized from typed structs rather than a
    /// `json!` tree.
    fn typed_delta<D: Serialize>(out: &mut Vec<u8>, index: usize, delta: D) {
        let data = BlockDeltaOut {
            delta,
            index,
            kind: "content_block_delta",
        };
        crate::protocol::sse::write_event(
            out,
            "content_block_delta",
            &serde_json::to_vec(&data).expect("serializable"),
        );
    }

    fn delta(out: &mut Vec<u8>, index: usize, delta: Value) {
        frame(
            out,
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": index, "delta": delta}),
        );
    }

    fn sign(&mut self, wire: String, out: &mut Vec<u8>) {
        let index = self.ensure(Block::Thinking, out);
        Self::delta(
            out,
            index,
            json!({"type": "signature_delta", "signature": wire}),
        );
        self.signed = true;
    }

    /// Appends the frames for one event to `out`.
    pub fn event(&mut self, ev: &Event, out: &mut Vec<u8>) {
        match ev {
            Event::Start { id, model } => {
                if !model.is_empty() {
                    self.model.clone_from(model);
                }
                self.start(id, out);
            }
            Event::TextDelta(text) => {
                let index = self.ensure(Block::Text, out);
                Self::typed_delta(
                    out,
                    index,
                    TextDeltaOut {
                        text,
                        kind: "text_delta",
                    },
                );
            }
            Event::ThinkingDelta { text, signature } => {
                if !text.is_empty() {
                    let index = self.ensure(Block::Thinking, out);
                    Self::typed_delta(
                        out,
                        index,
                        ThinkingDeltaOut {
                            thinking: text,
                            kind: "thinking_delta",
                        },
                    );
                }
                if let Some(sig) = signature {
                    self.sign(to_wire(sig, Slot::Thought), out);
                }
            }
            Event::ToolCall { call, .. } => {
                if let Some(sig) = &call.signature {
                    // An unsigned thinking block just before takes the call's
                    // signature; otherwise an empty one carries it.
                    if self.open != Some(Block::Thinking) || self.signed {
                        self.close(out);
                    }
                    self.sign(to_wire(sig, Slot::Call), out);
                }
                self.close(out);
                let index = self.next_index;
                self.next_index += 1;
                let block =
                    json!({"type": "tool_use", "id": call.id, "name": call.name, "input": {}});
                frame(
                    out,
                    "content_block_start",
                    &json!({"type": "content_block_start", "index": index, "content_block": block}),
                );
                Self::typed_delta(
                    out,
                    index,
                    InputJsonDeltaOut {
                        partial_json: &call.arguments.to_string(),
                        kind: "input_json_delta",
                    },
                );
                frame(
                    out,
                    "content_block_stop",
                    &json!({"type": "content_block_stop", "index": index}),
                );
            }
            Event::Image(img) => {
                self.close(out);
                let index = self.next_index;
                self.next_index += 1;
                let block = super::encode::image_block(img);
                frame(
                    out,
                    "content_block_start",
                    &json!({"type": "content_block_start", "index": index, "content_block": block}),
                );
                frame(
                    out,
                    "content_block_stop",
                    &json!({"type": "content_block_stop", "index": index}),
                );
            }
            Event::Citations(citations) => {
                let index = self.ensure(Block::Text, out);
                for c in citations {
                    Self::delta(
                        out,
                        index,
                        json!({"type": "citations_delta", "citation": super::encode::citation(c)}),
                    );
                }
            }
            Event::Usage(u) => self.usage = *u,
            Event::Finish(f) => self.finish = Some(*f),
        }
    }

    /// Closes a stream that ended normally.
    pub fn done(&mut self, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        self.done = true;
        self.start("levity", out);
        self.close(out);
        if self.delta_sent {
            return frame(out, "message_stop", &json!({"type": "message_stop"}));
        }
        let u = usage_out(&self.usage);
        frame(
            out,
            "message_delta",
            &json!({
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason(self.finish), "stop_sequence": null},
                "usage": {"input_tokens": u.input_tokens, "output_tokens": u.output_tokens,
                    "cache_read_input_tokens": u.cache_read_input_tokens,
                    "cache_creation_input_tokens": u.cache_creation_input_tokens},
            }),
        );
        frame(out, "message_stop", &json!({"type": "message_stop"}));
    }

    /// Ends a stream that failed after it started with an `error` event.
    pub fn error(&mut self, err: &Error, out: &mut Vec<u8>) {
        self.done = true;
        stream_error(err, out);
    }

    /// A keep-alive while the upstream thinks.
    pub fn ping(out: &mut Vec<u8>) {
        frame(out, "ping", &json!({"type": "ping"}));
    }

    pub fn usage(&self) -> Usage {
        self.usage
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::ToolCall;

    fn frame_of(data: Value) -> Vec<u8> {
        let mut out = Vec::new();
        frame(&mut out, "content_block_delta", &data);
        out
    }

    /// The typed per-token deltas write the very bytes the `json!` trees
    /// they replaced wrote.
    #[test]
    fn typed_deltas_match_the_json_trees() {
        let text = "a \"quoted\" ü\n\u{1}";
        let call = ToolCall {
            id: "c".into(),
            name: "f".into(),
            arguments: json!({"b": [1, "x"], "a": null}),
            signature: None,
        };
        let cases: [(Event, Value); 3] = [
            (
                Event::TextDelta(text.into()),
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}),
            ),
            (
                Event::ThinkingDelta {
                    text: text.into(),
                    signature: None,
                },
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": text}}),
            ),
            (
                Event::ToolCall { index: 0, call },
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": json!({"b": [1, "x"], "a": null}).to_string()}}),
            ),
        ];
        for (event, expected) in cases {
            let mut enc = EventEncoder::new("m");
            let mut out = Vec::new();
            enc.event(
                &Event::Start {
                    id: "id".into(),
                    model: String::new(),
                },
                &mut out,
            );
            enc.event(&event, &mut out);
            let expected = frame_of(expected);
            assert!(
                out.windows(expected.len()).any(|w| w == expected),
                "{event:?}: {}",
                String::from_utf8_lossy(&out)
            );
        }
    }
}
