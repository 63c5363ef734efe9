//! The upstream side of Responses, answer half: a whole `response` object or
//! its SSE stream → canonical events (the `StreamDecode` impl), and the usage
//! they report. Events levity has no use for (`content_part.*`, `*.done`
//! text, argument deltas the finished item repeats) are skipped unread.

use super::types::*;
use crate::canonical::{Event, Finish, Origin, Signature, ToolCall, Usage};
use crate::error::{Error, Kind};
use crate::protocol::StreamDecode;
use crate::protocol::openai_responses::NAMESPACE_SEP;
use serde_json::Value;

/// Turns a failure the upstream reported in its answer (status, and a body
/// in the shape of its HTTP errors) into levity's error: the provider's
/// taxonomy, which `protocol/` cannot call itself.
pub type Judge = fn(u16, &[u8]) -> Error;

/// Decodes Responses answers (whole or streamed) into canonical events.
pub struct UpstreamDecoder {
    id: String,
    /// The account asked: its reasoning carries its provenance.
    account: String,
    judge: Judge,
    started: bool,
    calls: usize,
    /// The summary index being streamed, and whether any summary text of
    /// the current reasoning item was streamed yet.
    summary: Option<u32>,
    finished: bool,
}

impl UpstreamDecoder {
    pub fn new(id: String, account: String, judge: Judge) -> Self {
        UpstreamDecoder {
            id,
            account,
            judge,
            started: false,
            calls: 0,
            summary: None,
            finished: false,
        }
    }

    fn start(&mut self, r: &ResponseIn, out: &mut Vec<Event>) {
        if !self.started {
            self.started = true;
            if !r.id.is_empty() {
                self.id.clone_from(&r.id);
            }
            out.push(Event::Start {
                id: self.id.clone(),
                model: r.model.clone(),
            });
        }
    }

    fn signature(&self, value: Option<String>) -> Option<Signature> {
        value.filter(|v| !v.is_empty()).map(|value| Signature {
            origin: Origin::OpenAi {
                account: self.account.clone(),
            },
            value,
        })
    }

    /// A finished output item; in a stream, text and summaries arrived as deltas.
    fn item(&mut self, item: ItemIn, streamed: bool, out: &mut Vec<Event>) {
        match item {
            ItemIn::Message { content } if !streamed => {
                for c in content {
                    match c {
                        ContentIn::OutputText { text } | ContentIn::Refusal { refusal: text } => {
                            out.push(Event::TextDelta(text))
                        }
                        ContentIn::Other => {}
                    }
                }
            }
            ItemIn::Message { .. } | ItemIn::Other => {}
            ItemIn::Reasoning {
                summary,
                encrypted_content,
            } => {
                let text = if streamed && self.summary.take().is_some() {
                    String::new()
                } else {
                    summary
                        .into_iter()
                        .map(|s| s.text)
                        .collect::<Vec<_>>()
                        .join("\n\n")
                };
                let signature = self.signature(encrypted_content);
                if !text.is_empty() || signature.is_some() {
                    out.push(Event::ThinkingDelta { text, signature });
                }
            }
            ItemIn::FunctionCall {
                call_id,
                name,
                arguments,
                namespace,
            } => {
                let arguments = match serde_json::from_str::<Value>(&arguments) {
                    Ok(v @ Value::Object(_)) => v,
                    _ if arguments.trim().is_empty() => Value::Object(Default::default()),
                    // Keep what the model wrote, so the client can see what went wrong.
                    _ => serde_json::json!({"_raw_arguments": arguments}),
                };
                let name = match namespace {
                    Some(ns) if !ns.is_empty() => format!("{ns}{NAMESPACE_SEP}{name}"),
                    _ => name,
                };
                out.push(Event::ToolCall {
                    index: self.calls,
                    call: ToolCall {
                        id: call_id,
                        name,
                        arguments,
                        signature: None,
                    },
                });
                self.calls += 1;
            }
        }
    }

    /// The end of an answer: its usage and why it stopped, or its failure.
    fn end(&mut self, r: ResponseIn, out: &mut Vec<Event>) -> Result<(), Error> {
        self.finished = true;
        if r.status == "failed" {
            return Err(self.failure(r.error.unwrap_or_default()));
        }
        if let Some(u) = r.usage {
            out.push(Event::Usage(u.into()));
        }
        let reason = r.incomplete_details.and_then(|d| d.reason);
        out.push(Event::Finish(match reason.as_deref() {
            _ if r.status != "incomplete" && self.calls > 0 => Finish::ToolCalls,
            _ if r.status != "incomplete" => Finish::Stop,
            Some("content_filter") => Finish::ContentFilter,
            _ => Finish::Length,
        }));
        Ok(())
    }

    /// A failure inside an answer, judged as the same failure over HTTP
    /// would be: the body in OpenAI's error shape, with the status its
    /// code stands for (`response_error.py` lists the codes).
    fn failure(&self, e: ErrorIn) -> Error {
        let code = e.code.unwrap_or_default();
        let status = match code.as_str() {
            "rate_limit_exceeded" | "insufficient_quota" => 429,
            "server_error" | "vector_store_timeout" | "" => 500,
            _ => 400,
        };
        let body = serde_json::json!({"error": {"message": e.message, "type": code,
            "param": e.param, "code": code}});
        (self.judge)(status, body.to_string().as_bytes())
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
        match serde_json::from_slice(data).map_err(unreadable)? {
            EventIn::Created { response } => self.start(&response, out),
            EventIn::TextDelta { delta } => out.push(Event::TextDelta(delta)),
            EventIn::SummaryDelta {
                delta,
                summary_index,
            } => {
                // Summary parts of one item read as paragraphs.
                let text = match self.summary.replace(summary_index) {
                    Some(i) if i != summary_index => format!("\n\n{delta}"),
                    _ => delta,
                };
                out.push(Event::ThinkingDelta {
                    text,
                    signature: None,
                });
            }
            EventIn::ItemDone { item } => self.item(item, true, out),
            EventIn::Completed { response }
            | EventIn::Incomplete { response }
            | EventIn::Failed { response } => {
                self.start(&response, out);
                self.end(response, out)?;
            }
            EventIn::Error(e) => {
                self.finished = true;
                return Err(self.failure(e));
            }
            EventIn::Other => {}
        }
        Ok(())
    }

    fn whole(&mut self, body: &[u8], out: &mut Vec<Event>) -> Result<(), Error> {
        let mut r: ResponseIn = serde_json::from_slice(body).map_err(unreadable)?;
        self.start(&r, out);
        for item in std::mem::take(&mut r.output) {
            self.item(item, false, out);
        }
        self.end(r, out)
    }

    fn finished(&self) -> bool {
        self.finished
    }
}

/// The usage of a whole answer or of one stream event, read without its
/// content; an error when the body is not a JSON object.
pub fn usage_of(body: &[u8]) -> serde_json::Result<Option<Usage>> {
    let u: UsageOnly = serde_json::from_slice(body)?;
    Ok(u.usage
        .or(u.response.and_then(|r| r.usage))
        .map(Usage::from))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn judge(status: u16, body: &[u8]) -> Error {
        crate::error::from_upstream(status, String::from_utf8_lossy(body).into_owned())
    }

    fn decoder() -> UpstreamDecoder {
        UpstreamDecoder::new("id".into(), "acc_1".into(), judge)
    }

    fn sig(v: &str) -> Option<Signature> {
        Some(Signature {
            origin: Origin::OpenAi {
                account: "acc_1".into(),
            },
            value: v.into(),
        })
    }

    #[test]
    fn streams_become_canonical_events() {
        let mut d = decoder();
        let mut out = Vec::new();
        for ev in [
            json!({"type": "response.created", "sequence_number": 0, "response": {"id": "resp_1", "model": "gpt-5", "status": "in_progress", "output": [], "usage": null}}),
            json!({"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "output_index": 0, "summary_index": 0, "delta": "a"}),
            json!({"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "output_index": 0, "summary_index": 1, "delta": "b"}),
            json!({"type": "response.output_item.done", "output_index": 0, "item": {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "a"}, {"type": "summary_text", "text": "b"}], "encrypted_content": "gAAA"}}),
            json!({"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 1, "content_index": 0, "delta": "hi"}),
            json!({"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 2, "delta": "{}"}),
            json!({"type": "response.output_item.done", "output_index": 2, "item": {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "f", "arguments": "{\"x\":1}", "status": "completed"}}),
            json!({"type": "response.completed", "response": {"id": "resp_1", "model": "gpt-5", "status": "completed", "output": [], "usage": {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 4}, "output_tokens": 7, "output_tokens_details": {"reasoning_tokens": 5}, "total_tokens": 17}}}),
        ] {
            d.data(ev.to_string().as_bytes(), &mut out).unwrap();
        }
        assert!(d.finished());
        let think = |text: &str, signature| Event::ThinkingDelta {
            text: text.into(),
            signature,
        };
        assert_eq!(
            out,
            [
                Event::Start {
                    id: "resp_1".into(),
                    model: "gpt-5".into()
                },
                think("a", None),
                think("\n\nb", None),
                think("", sig("gAAA")),
                Event::TextDelta("hi".into()),
                Event::ToolCall {
                    index: 0,
                    call: ToolCall {
                        id: "call_1".into(),
                        name: "f".into(),
                        arguments: json!({"x": 1}),
                        signature: None
                    }
                },
                Event::Usage(Usage {
                    input_tokens: 10,
                    output_tokens: 7,
                    reasoning_tokens: 5,
                    cached_input_tokens: 4,
                    cache_write_tokens: 0,
                }),
                Event::Finish(Finish::ToolCalls),
            ]
        );
    }

    #[test]
    fn whole_answers_incomplete_ones_and_failures() {
        let mut out = Vec::new();
        let body = json!({"id": "resp_2", "model": "gpt-5", "status": "incomplete",
            "incomplete_details": {"reason": "max_output_tokens"},
            "output": [{"type": "reasoning", "id": "rs", "summary": [], "encrypted_content": "e"},
                {"type": "message", "id": "m", "role": "assistant", "status": "incomplete", "content": [{"type": "output_text", "text": "cut", "annotations": []}]}],
            "usage": {"input_tokens": 1, "output_tokens": 2}});
        decoder()
            .whole(body.to_string().as_bytes(), &mut out)
            .unwrap();
        assert_eq!(
            out[1],
            Event::ThinkingDelta {
                text: String::new(),
                signature: sig("e")
            }
        );
        assert_eq!(out[2], Event::TextDelta("cut".into()));
        assert_eq!(out.last(), Some(&Event::Finish(Finish::Length)));

        let failed = json!({"type": "response.failed", "response": {"id": "r", "status": "failed",
            "error": {"code": "rate_limit_exceeded", "message": "Rate limit reached"}, "output": []}});
        let err = decoder()
            .data(failed.to_string().as_bytes(), &mut Vec::new())
            .unwrap_err();
        assert_eq!(
            (err.kind, err.upstream_status),
            (Kind::RateLimited, Some(429))
        );
        let event = json!({"type": "error", "code": "server_error", "message": "boom", "param": null, "sequence_number": 3});
        let err = decoder()
            .data(event.to_string().as_bytes(), &mut Vec::new())
            .unwrap_err();
        assert_eq!(err.upstream_status, Some(500));
    }

    #[test]
    fn refusals_stream_as_text() {
        let mut out = Vec::new();
        let ev = json!({"type": "response.refusal.delta", "item_id": "m", "output_index": 0, "content_index": 0, "delta": "no"});
        decoder().data(ev.to_string().as_bytes(), &mut out).unwrap();
        assert_eq!(out, [Event::TextDelta("no".into())]);
    }

    #[test]
    fn usage_is_read_from_answers_and_events() {
        let u = |v: Value| {
            usage_of(v.to_string().as_bytes())
                .unwrap()
                .map(|u| u.output_tokens)
        };
        assert_eq!(
            u(json!({"usage": {"input_tokens": 1, "output_tokens": 2}})),
            Some(2)
        );
        assert_eq!(
            u(
                json!({"type": "response.completed", "response": {"usage": {"input_tokens": 1, "output_tokens": 3}}})
            ),
            Some(3)
        );
        assert_eq!(
            u(json!({"type": "response.created", "response": {"usage": null}})),
            None
        );
    }
}
