//! Gemini responses → canonical events and responses.
//!
//! A streamed answer is a sequence of `GenerateContentResponse` chunks; a
//! non-streamed answer is one such chunk. Both go through [`StreamDecoder`], so
//! the two paths cannot drift apart.

use super::types::*;
use crate::canonical::{Event, Finish, Response, ToolCall, Usage};
use crate::error::{Error, Kind};

/// Turns Gemini chunks into canonical events, keeping what must persist
/// across chunks (whether we started, how many tool calls we saw).
pub struct StreamDecoder {
    id: String,
    started: bool,
    calls: usize,
    finished: bool,
}

impl StreamDecoder {
    /// `id` names the answer when the upstream gives no `responseId`.
    pub fn new(id: String) -> Self {
        StreamDecoder {
            id,
            started: false,
            calls: 0,
            finished: false,
        }
    }

    /// Decodes one chunk's JSON, appending its events to `out`.
    pub fn chunk(&mut self, json: &[u8], out: &mut Vec<Event>) -> Result<(), Error> {
        let chunk: GenerateResponse = serde_json::from_slice(json).map_err(|e| {
            Error::new(
                Kind::Upstream,
                format!("Gemini sent a response levity cannot read: {e}"),
            )
        })?;
        if !self.started {
            self.started = true;
            if let Some(id) = &chunk.response_id {
                self.id.clone_from(id);
            }
            out.push(Event::Start {
                id: self.id.clone(),
                model: chunk.model_version.clone().unwrap_or_default(),
            });
        }
        let candidate = chunk.candidates.into_iter().next();
        if let Some(content) = candidate.as_ref().and_then(|c| c.content.as_ref()) {
            for part in &content.parts {
                self.part(part, out);
            }
        }
        if let Some(u) = chunk.usage_metadata {
            out.push(Event::Usage(Usage {
                input_tokens: u.prompt_token_count,
                output_tokens: u.candidates_token_count + u.thoughts_token_count,
                reasoning_tokens: u.thoughts_token_count,
                cached_input_tokens: u.cached_content_token_count,
            }));
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

    fn part(&mut self, part: &PartOut, out: &mut Vec<Event>) {
        if let Some(call) = &part.function_call {
            let id = call
                .id
                .clone()
                .unwrap_or_else(|| format!("call_{}_{}", self.id, self.calls));
            out.push(Event::ToolCall {
                index: self.calls,
                call: ToolCall {
                    id,
                    name: call.name.clone(),
                    arguments: call.args.clone().unwrap_or_else(|| serde_json::json!({})),
                    signature: part.thought_signature.clone(),
                },
            });
            self.calls += 1;
            return;
        }
        match (&part.text, part.thought == Some(true)) {
            (Some(text), true) => out.push(Event::ThinkingDelta {
                text: text.clone(),
                signature: part.thought_signature.clone(),
            }),
            (Some(text), false) => {
                if !text.is_empty() {
                    out.push(Event::TextDelta(text.clone()));
                }
                // Gemini 3 may sign a plain text part; keep the signature as an
                // empty thought so it can be replayed.
                if let Some(sig) = &part.thought_signature {
                    out.push(Event::ThinkingDelta {
                        text: String::new(),
                        signature: Some(sig.clone()),
                    });
                }
            }
            (None, _) => {}
        }
    }

    /// Whether a finish reason was seen; a stream without one was cut short.
    pub fn finished(&self) -> bool {
        self.finished
    }
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

/// Decodes a non-streamed `generateContent` answer.
pub fn decode_response(body: &[u8], fallback_id: String) -> Result<Response, Error> {
    let mut decoder = StreamDecoder::new(fallback_id);
    let mut events = Vec::new();
    decoder.chunk(body, &mut events)?;
    Ok(Response::from_events(events))
}

/// Reads a Gemini error body (`{"error": {"message", "status"}}`) into an error
/// with the status it deserves; other bodies (an HTML proxy page) are summarized.
pub fn decode_error(status: u16, body: &[u8]) -> Error {
    let message = match serde_json::from_slice::<ErrorEnvelope>(body) {
        Ok(env) if !env.error.status.is_empty() => {
            format!("{} ({})", env.error.message, env.error.status)
        }
        Ok(env) => env.error.message,
        Err(_) => crate::protocol::summarize(body),
    };
    crate::error::from_upstream(status, format!("Gemini upstream error {status}: {message}"))
}
