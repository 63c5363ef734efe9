//! Canonical events → the Responses streaming grammar: `response.created`,
//! `response.in_progress`, for each output item `response.output_item.added`,
//! its deltas and `...done` events, `response.output_item.done`, then
//! `response.completed` (or `response.failed`), every event numbered.

use super::Vault;
use super::encode::{call_item, message_item, reasoning_item, response_id, response_json, sealed};
use super::types::{ArgumentsDelta, OutputTextDelta, SummaryTextDelta};
use crate::canonical::{Event, Finish, Usage};
use crate::error::Error;
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(PartialEq)]
enum Open {
    None,
    Message { id: String, text: String },
    Reasoning { id: String, text: String },
}

/// The code of a failed response: Codex compacts on
/// `context_length_exceeded` (codex-rs/codex-api/src/sse/responses.rs).
pub fn error_code(err: &Error) -> &'static str {
    if err.overflow.is_some() {
        "context_length_exceeded"
    } else {
        "server_error"
    }
}

/// The last event of a passed-through stream that broke: the stream's
/// own failure event, with what levity knows of the response.
pub fn stream_error(err: &Error, out: &mut Vec<u8>) {
    let data = json!({"type": "response.failed", "response": {"object": "response", "status": "failed",
        "output": [], "error": {"code": error_code(err), "message": err.message}}});
    out.extend_from_slice(format!("event: response.failed\ndata: {data}\n\n").as_bytes());
}

pub struct EventEncoder {
    vault: Arc<dyn Vault + Send + Sync>,
    id: String,
    model: String,
    created: u64,
    seq: u64,
    started: bool,
    open: Open,
    output: Vec<Value>,
    usage: Usage,
    finish: Option<Finish>,
    citations: Vec<crate::canonical::Citation>,
}

impl EventEncoder {
    pub fn new(model: &str, created: u64, vault: Arc<dyn Vault + Send + Sync>) -> Self {
        EventEncoder {
            vault,
            id: "resp_levity".into(),
            model: model.to_string(),
            created,
            seq: 0,
            started: false,
            open: Open::None,
            output: Vec::new(),
            usage: Usage::default(),
            finish: None,
            citations: Vec::new(),
        }
    }

    fn emit(&mut self, out: &mut Vec<u8>, kind: &str, mut data: Value) {
        data["type"] = json!(kind);
        data["sequence_number"] = json!(self.seq);
        self.seq += 1;
        out.extend_from_slice(format!("event: {kind}\ndata: {data}\n\n").as_bytes());
    }

    /// A per-token event, serialized from a typed struct (which carries its
    /// own `type` and `sequence_number`) rather than a `json!` tree.
    fn emit_typed(&mut self, out: &mut Vec<u8>, kind: &str, data: &impl Serialize) {
        self.seq += 1;
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(b"\ndata: ");
        serde_json::to_writer(&mut *out, data).expect("serializable");
        out.extend_from_slice(b"\n\n");
    }

    fn skeleton(&self, status: &str, usage: Option<&Usage>) -> Value {
        response_json(
            &self.id,
            &self.model,
            self.created,
            status,
            self.output.clone(),
            usage,
            self.finish,
        )
    }

    fn start(&mut self, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        let r = self.skeleton("in_progress", None);
        self.emit(out, "response.created", json!({"response": r}));
        let r = self.skeleton("in_progress", None);
        self.emit(out, "response.in_progress", json!({"response": r}));
    }

    fn index(&self) -> usize {
        self.output.len()
    }

    /// An item that is complete as soon as it exists: added, then done.
    fn whole_item(&mut self, out: &mut Vec<u8>, item: Value) {
        let index = self.index();
        self.emit(
            out,
            "response.output_item.added",
            json!({"output_index": index, "item": item}),
        );
        self.emit(
            out,
            "response.output_item.done",
            json!({"output_index": index, "item": item}),
        );
        self.output.push(item);
    }

    fn close(&mut self, out: &mut Vec<u8>, reasoning_sig: Option<String>) {
        let index = self.index();
        match std::mem::replace(&mut self.open, Open::None) {
            Open::None => {}
            Open::Message { id, text } => {
                let part = json!({"type": "output_text", "text": text, "annotations": []});
                self.emit(
                    out,
                    "response.output_text.done",
                    json!({"item_id": id, "output_index": index, "content_index": 0, "text": text}),
                );
                self.emit(
                    out,
                    "response.content_part.done",
                    json!({"item_id": id, "output_index": index, "content_index": 0, "part": part}),
                );
                let item = message_item(&id, &text, "completed", &self.citations);
                self.emit(
                    out,
                    "response.output_item.done",
                    json!({"output_index": index, "item": item}),
                );
                self.output.push(item);
            }
            Open::Reasoning { id, text } => {
                if !text.is_empty() {
                    let part = json!({"type": "summary_text", "text": text});
                    self.emit(out, "response.reasoning_summary_text.done", json!({"item_id": id, "output_index": index, "summary_index": 0, "text": text}));
                    self.emit(out, "response.reasoning_summary_part.done", json!({"item_id": id, "output_index": index, "summary_index": 0, "part": part}));
                }
                let item = reasoning_item(&id, &text, reasoning_sig);
                self.emit(
                    out,
                    "response.output_item.done",
                    json!({"output_index": index, "item": item}),
                );
                self.output.push(item);
            }
        }
    }

    fn open_message(&mut self, out: &mut Vec<u8>) -> String {
        if let Open::Message { id, .. } = &self.open {
            return id.clone();
        }
        self.close(out, None);
        let index = self.index();
        let id = format!("msg_{}_{index}", self.id);
        self.emit(
            out,
            "response.output_item.added",
            json!({"output_index": index, "item": message_item(&id, "", "in_progress", &[])}),
        );
        let part = json!({"type": "output_text", "text": "", "annotations": []});
        self.emit(
            out,
            "response.content_part.added",
            json!({"item_id": id, "output_index": index, "content_index": 0, "part": part}),
        );
        self.open = Open::Message {
            id: id.clone(),
            text: String::new(),
        };
        id
    }

    fn open_reasoning(&mut self, out: &mut Vec<u8>) -> String {
        if let Open::Reasoning { id, .. } = &self.open {
            return id.clone();
        }
        self.close(out, None);
        let index = self.index();
        let id = format!("rs_{}_{index}", self.id);
        self.emit(
            out,
            "response.output_item.added",
            json!({"output_index": index, "item": reasoning_item(&id, "", None)}),
        );
        self.open = Open::Reasoning {
            id: id.clone(),
            text: String::new(),
        };
        id
    }

    pub fn event(&mut self, ev: &Event, out: &mut Vec<u8>) {
        match ev {
            Event::Start { id, model } => {
                self.id = response_id(id);
                if !model.is_empty() {
                    self.model.clone_from(model);
                }
                self.start(out);
            }
            Event::TextDelta(delta) => {
                self.start(out);
                let id = self.open_message(out);
                if let Open::Message { text, .. } = &mut self.open {
                    text.push_str(delta);
                }
                let index = self.index();
                let data = OutputTextDelta {
                    content_index: 0,
                    delta,
                    item_id: &id,
                    output_index: index,
                    sequence_number: self.seq,
                    kind: "response.output_text.delta",
                };
                self.emit_typed(out, data.kind, &data);
            }
            Event::ThinkingDelta {
                text: delta,
                signature,
            } => {
                self.start(out);
                let id = self.open_reasoning(out);
                let index = self.index();
                if !delta.is_empty() {
                    let fresh =
                        matches!(&self.open, Open::Reasoning { text, .. } if text.is_empty());
                    if fresh {
                        let part = json!({"type": "summary_text", "text": ""});
                        self.emit(out, "response.reasoning_summary_part.added", json!({"item_id": id, "output_index": index, "summary_index": 0, "part": part}));
                    }
                    if let Open::Reasoning { text, .. } = &mut self.open {
                        text.push_str(delta);
                    }
                    let data = SummaryTextDelta {
                        delta,
                        item_id: &id,
                        output_index: index,
                        sequence_number: self.seq,
                        summary_index: 0,
                        kind: "response.reasoning_summary_text.delta",
                    };
                    self.emit_typed(out, data.kind, &data);
                }
                if let Some(sig) = signature {
                    // A signature closes its reasoning item.
                    let encrypted = sealed(self.vault.as_ref(), sig, false);
                    self.close(out, Some(encrypted));
                }
            }
            Event::ToolCall { call, .. } => {
                self.start(out);
                self.close(out, None);
                if let Some(sig) = &call.signature {
                    let id = format!("rs_{}_{}", self.id, self.index());
                    let sealed = sealed(self.vault.as_ref(), sig, true);
                    self.whole_item(out, reasoning_item(&id, "", Some(sealed)));
                }
                let index = self.index();
                let id = format!("fc_{}_{index}", self.id);
                let args = call.arguments.to_string();
                self.emit(
                    out,
                    "response.output_item.added",
                    json!({"output_index": index, "item": call_item(&id, call, "", "in_progress")}),
                );
                let data = ArgumentsDelta {
                    delta: &args,
                    item_id: &id,
                    output_index: index,
                    sequence_number: self.seq,
                    kind: "response.function_call_arguments.delta",
                };
                self.emit_typed(out, data.kind, &data);
                self.emit(
                    out,
                    "response.function_call_arguments.done",
                    json!({"item_id": id, "output_index": index, "arguments": args}),
                );
                let item = call_item(&id, call, &args, "completed");
                self.emit(
                    out,
                    "response.output_item.done",
                    json!({"output_index": index, "item": item}),
                );
                self.output.push(item);
            }
            Event::Image(img) => {
                self.start(out);
                self.close(out, None);
                let id = format!("ig_{}_{}", self.id, self.index());
                self.whole_item(out, super::encode::image_item(&id, img));
            }
            Event::Citations(c) => self.citations.extend(c.iter().cloned()),
            Event::Usage(u) => self.usage = *u,
            Event::Finish(f) => self.finish = Some(*f),
        }
    }

    pub fn done(&mut self, out: &mut Vec<u8>) {
        self.start(out);
        self.close(out, None);
        let (kind, status) = if self.finish == Some(Finish::Length) {
            ("response.incomplete", "incomplete")
        } else {
            ("response.completed", "completed")
        };
        let usage = self.usage;
        let r = self.skeleton(status, Some(&usage));
        self.emit(out, kind, json!({"response": r}));
    }

    pub fn error(&mut self, err: &Error, out: &mut Vec<u8>) {
        self.start(out);
        let mut r = self.skeleton("failed", None);
        r["error"] = json!({"code": error_code(err), "message": err.message});
        self.emit(out, "response.failed", json!({"response": r}));
    }

    pub fn usage(&self) -> Usage {
        self.usage
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::ToolCall;
    use crate::protocol::openai_responses::client::NoVault;

    /// The typed per-token events write the very bytes the `json!` trees
    /// they replaced wrote (`emit` of the same data, same sequence number).
    #[test]
    fn typed_deltas_match_the_json_trees() {
        let text = "a \"quoted\" ü\n\u{1}";
        let args = json!({"b": [1, "x"], "a": null});
        let call = ToolCall {
            id: "c".into(),
            name: "f".into(),
            arguments: args.clone(),
            signature: None,
        };
        let cases: [(Event, &str, Value); 3] = [
            (
                Event::TextDelta(text.into()),
                "response.output_text.delta",
                json!({"item_id": "msg_resp_id_0", "output_index": 0, "content_index": 0, "delta": text}),
            ),
            (
                Event::ThinkingDelta {
                    text: text.into(),
                    signature: None,
                },
                "response.reasoning_summary_text.delta",
                json!({"item_id": "rs_resp_id_0", "output_index": 0, "summary_index": 0, "delta": text}),
            ),
            (
                Event::ToolCall { index: 0, call },
                "response.function_call_arguments.delta",
                json!({"item_id": "fc_resp_id_0", "output_index": 0, "delta": args.to_string()}),
            ),
        ];
        for (event, kind, data) in cases {
            let mut enc = EventEncoder::new("m", 0, Arc::new(NoVault));
            let mut out = Vec::new();
            enc.event(
                &Event::Start {
                    id: "id".into(),
                    model: String::new(),
                },
                &mut out,
            );
            enc.event(&event, &mut out);
            let text = String::from_utf8(out).unwrap();
            let at = text.find(&format!("event: {kind}\n")).expect(kind);
            let frame = text[at..].split_inclusive("\n\n").next().unwrap();
            // The same data through the untyped path, at the sequence number
            // the typed frame took.
            let mut untyped = EventEncoder::new("m", 0, Arc::new(NoVault));
            let seq: Value = serde_json::from_str(frame.split("data: ").nth(1).unwrap()).unwrap();
            untyped.seq = seq["sequence_number"].as_u64().unwrap();
            let mut expected = Vec::new();
            untyped.emit(&mut expected, kind, data);
            assert_eq!(frame, String::from_utf8(expected).unwrap());
        }
    }
}
