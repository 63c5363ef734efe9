//! Gemini responses → canonical events and responses.
//!
//! A streamed answer is a sequence of `GenerateContentResponse` chunks; a
//! non-streamed answer is one such chunk. Both go through [`StreamDecoder`], so
//! the two paths cannot drift apart.

use super::types::*;
use crate::canonical::{Citation, Event, Finish, Origin, Response, Signature, ToolCall, Usage};
use crate::error::{Error, Kind};
use crate::protocol::gemini::types::*;
use std::borrow::Cow;

/// Turns Gemini chunks into canonical events, keeping what must persist
/// across chunks (whether we started, how many tool calls we saw).
pub struct StreamDecoder {
    id: String,
    /// Who signed the thought signatures in this answer.
    origin: Origin,
    started: bool,
    calls: usize,
    finished: bool,
}

impl StreamDecoder {
    /// `id` names the answer when the upstream gives no `responseId`; `model`
    /// is the upstream model, which alone can verify its thought signatures.
    pub fn new(id: String, model: &str) -> Self {
        StreamDecoder {
            id,
            origin: Origin::Gemini {
                model: model.to_string(),
            },
            started: false,
            calls: 0,
            finished: false,
        }
    }

    /// Decodes one chunk's JSON, appending its events to `out`.
    pub fn chunk(&mut self, json: &[u8], out: &mut Vec<Event>) -> Result<(), Error> {
        let mut chunk: GenerateResponse = serde_json::from_slice(json).map_err(|e| {
            Error::new(
                Kind::Upstream,
                format!("Gemini sent a response levity cannot read: {e}"),
            )
        })?;
        if let Some(e) = &chunk.error {
            // The upstream's own number, trusted only as an error status.
            let status = if (400..=599).contains(&e.code) {
                e.code
            } else {
                500
            };
            return Err(crate::error::from_upstream(
                status,
                format!(
                    "Gemini upstream error {status} mid-stream: {} ({})",
                    e.message, e.status
                ),
            ));
        }
        if !self.started {
            self.started = true;
            if let Some(id) = chunk.response_id.take() {
                self.id = id.into_owned();
            }
            out.push(Event::Start {
                id: self.id.clone(),
                model: chunk
                    .model_version
                    .take()
                    .map(Cow::into_owned)
                    .unwrap_or_default(),
            });
        }
        let mut candidate = chunk.candidates.into_iter().next();
        // Parts are moved into their events: a chunk's text is not copied.
        if let Some(content) = candidate.as_mut().and_then(|c| c.content.take()) {
            for part in content.parts {
                self.part(part, out);
            }
        }
        if let Some(g) = candidate.as_mut().and_then(|c| c.grounding_metadata.take()) {
            let citations = citations_of(g);
            if !citations.is_empty() {
                out.push(Event::Citations(citations));
            }
        }
        if let Some(u) = chunk.usage_metadata {
            out.push(Event::Usage(u.into()));
        }
        let reason = candidate.and_then(|c| c.finish_reason);
        let blocked = chunk.prompt_feedback.and_then(|f| f.block_reason).is_some();
        if let Some(reason) = reason {
            self.finish(finish_of(&reason, self.calls > 0), out);
        } else if blocked {
            self.finish(Finish::ContentFilter, out);
        }
        Ok(())
    }

    fn finish(&mut self, f: Finish, out: &mut Vec<Event>) {
        if !self.finished {
            self.finished = true;
            out.push(Event::Finish(f));
        }
    }

    fn signature(&self, part: &mut PartOut) -> Option<Signature> {
        part.thought_signature
            .take()
            .filter(|s| !s.is_empty())
            .map(|value| Signature {
                origin: self.origin.clone(),
                value,
            })
    }

    fn part(&mut self, mut part: PartOut, out: &mut Vec<Event>) {
        let signature = self.signature(&mut part);
        if let Some(call) = part.function_call {
            let id = call
                .id
                .unwrap_or_else(|| format!("call_{}_{}", self.id, self.calls));
            out.push(Event::ToolCall {
                index: self.calls,
                call: ToolCall {
                    id,
                    name: call.name,
                    arguments: call.args.unwrap_or_else(|| serde_json::json!({})),
                    signature,
                },
            });
            self.calls += 1;
            return;
        }
        if let Some(blob) = part.inline_data {
            out.push(Event::Image(crate::canonical::Image::Inline {
                mime_type: blob.mime_type,
                data: blob.data,
            }));
            return;
        }
        match (part.text, part.thought == Some(true)) {
            (Some(text), true) => out.push(Event::ThinkingDelta { text, signature }),
            (Some(text), false) => {
                // A signed text part: the signature closes the reasoning that
                // led to this text, so it travels just before it.
                if signature.is_some() {
                    out.push(Event::ThinkingDelta {
                        text: String::new(),
                        signature,
                    });
                }
                if !text.is_empty() {
                    out.push(Event::TextDelta(text));
                }
            }
            (None, _) if signature.is_some() => out.push(Event::ThinkingDelta {
                text: String::new(),
                signature,
            }),
            (None, _) => {}
        }
    }
}

impl crate::protocol::StreamDecode for StreamDecoder {
    fn data(&mut self, data: &[u8], out: &mut Vec<Event>) -> Result<(), Error> {
        self.chunk(data, out)
    }

    fn whole(&mut self, body: &[u8], out: &mut Vec<Event>) -> Result<(), Error> {
        self.chunk(body, out)
    }

    fn finished(&self) -> bool {
        self.finished
    }
}

/// One citation per cited source: the span it supports where Gemini says so.
fn citations_of(g: Grounding) -> Vec<Citation> {
    let mut out: Vec<Citation> = Vec::new();
    for (i, chunk) in g.grounding_chunks.into_iter().enumerate() {
        let Some(web) = chunk.web else { continue };
        let text = g
            .grounding_supports
            .iter()
            .find(|s| s.grounding_chunk_indices.contains(&i))
            .and_then(|s| s.segment.as_ref()?.text.clone());
        out.push(Citation {
            url: web.uri,
            title: web.title,
            text,
        });
    }
    out
}

fn finish_of(reason: &str, had_calls: bool) -> Finish {
    match reason {
        "MAX_TOKENS" => Finish::Length,
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" => {
            Finish::ContentFilter
        }
        _ if had_calls => Finish::ToolCalls,
        _ => Finish::Stop,
    }
}

/// Decodes a non-streamed `generateContent` answer from `model`.
pub fn decode_response(body: &[u8], fallback_id: String, model: &str) -> Result<Response, Error> {
    let mut decoder = StreamDecoder::new(fallback_id, model);
    let mut events = Vec::new();
    decoder.chunk(body, &mut events)?;
    Ok(Response::from_events(events))
}

/// The usage of a whole answer or of one stream element, read without its
/// content; an error when the body is not a JSON object.
pub fn usage_of(body: &[u8]) -> serde_json::Result<Option<Usage>> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct UsageOnly {
        usage_metadata: Option<super::types::UsageMetadata>,
    }
    let answer: UsageOnly = serde_json::from_slice(body)?;
    Ok(answer.usage_metadata.map(Usage::from))
}

/// Reads a Gemini error body (`{"error": {"message", "status"}}`) into an error
/// with the status it deserves; other bodies (an HTML proxy page) are summarized.
pub fn decode_error(status: u16, body: &[u8]) -> Error {
    let message = crate::protocol::error_message(body);
    crate::error::from_upstream(status, format!("Gemini upstream error {status}: {message}"))
}
