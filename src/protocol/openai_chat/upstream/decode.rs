//! An OpenAI-compatible host's answers and streams → canonical events (the
//! `StreamDecode` impl), its usage and its error bodies.

use super::types::*;
use crate::canonical::{Event, Finish, ToolCall, Usage};
use crate::error::{Error, Kind, from_upstream};
use crate::protocol::StreamDecode;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

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
        let answer: Answer = serde_json::from_slice(data).map_err(unreadable)?;
        if let Some(err) = answer.error {
            let err: Value = serde_json::from_str(err.get()).unwrap_or_default();
            let message = err["message"].as_str().unwrap_or("stream failed");
            return Err(Error::new(
                Kind::Upstream,
                format!("the upstream failed mid-stream: {message}"),
            ));
        }
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

    /// A failure mid-stream ends the stream with the host's message, in
    /// the shape OpenRouter's streaming guide gives; `"error": null` is no
    /// failure.
    #[test]
    fn an_error_chunk_ends_the_stream_with_its_message() {
        let mut d = UpstreamDecoder::new("id".into());
        let mut out = Vec::new();
        let quiet = br#"{"id":"cmpl-abc123","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}],"error":null}"#;
        d.data(quiet, &mut out).unwrap();
        assert!(
            out.iter()
                .any(|e| matches!(e, Event::TextDelta(t) if t == "Hi"))
        );
        let failed = br#"{"id":"cmpl-abc123","object":"chat.completion.chunk","created":1234567890,"model":"gpt-3.5-turbo","provider":"openai","error":{"code":"server_error","message":"Provider disconnected unexpectedly"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}"#;
        let err = d.data(failed, &mut out).unwrap_err();
        assert_eq!(err.kind, Kind::Upstream);
        assert_eq!(
            err.message,
            "the upstream failed mid-stream: Provider disconnected unexpectedly"
        );
        let err = d
            .data(br#"{"error":"overloaded","choices":[]}"#, &mut out)
            .unwrap_err();
        assert_eq!(err.message, "the upstream failed mid-stream: stream failed");
    }
}
