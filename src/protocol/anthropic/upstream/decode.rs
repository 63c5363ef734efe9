//! Anthropic's answers and streams → canonical events (the `StreamDecode`
//! impl), their usage, and Anthropic's error bodies.

use super::types::*;
use crate::canonical::{Event, Finish, Origin, Signature, ToolCall, Usage};
use crate::error::{Error, Kind, from_upstream};
use crate::protocol::StreamDecode;
use serde_json::{Value, json};

fn anthropic_sig(value: String) -> Option<Signature> {
    (!value.is_empty()).then_some(Signature {
        origin: Origin::Anthropic,
        value,
    })
}

/// Decodes Anthropic answers (whole or streamed) into canonical events.
pub struct UpstreamDecoder {
    id: String,
    usage: Usage,
    calls: usize,
    /// The tool call being streamed: (block index, id, name, argument JSON).
    tool: Option<(usize, String, String, String)>,
    finish: Option<Finish>,
    finished: bool,
    /// The `Finish` event went out (at the stop reason).
    announced: bool,
}

impl UpstreamDecoder {
    pub fn new(id: String) -> Self {
        UpstreamDecoder {
            id,
            usage: Usage::default(),
            calls: 0,
            tool: None,
            finish: None,
            finished: false,
            announced: false,
        }
    }

    fn usage(&mut self, u: UsageIn, out: &mut Vec<Event>) {
        if u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens > 0 {
            self.usage.input_tokens =
                u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens;
            self.usage.cached_input_tokens = u.cache_read_input_tokens;
            self.usage.cache_write_tokens = u.cache_creation_input_tokens;
        }
        if u.output_tokens > 0 {
            self.usage.output_tokens = u.output_tokens;
        }
        out.push(Event::Usage(self.usage));
    }

    fn call(&mut self, id: String, name: String, input: Value, out: &mut Vec<Event>) {
        let arguments = if input.is_object() { input } else { json!({}) };
        out.push(Event::ToolCall {
            index: self.calls,
            call: ToolCall {
                id,
                name,
                arguments,
                signature: None,
            },
        });
        self.calls += 1;
    }

    fn block(&mut self, block: UpstreamBlock, out: &mut Vec<Event>) {
        match block {
            UpstreamBlock::Text { text } if !text.is_empty() => out.push(Event::TextDelta(text)),
            UpstreamBlock::Thinking {
                thinking,
                signature,
            } => {
                out.push(Event::ThinkingDelta {
                    text: thinking,
                    signature: anthropic_sig(signature),
                });
            }
            UpstreamBlock::RedactedThinking { data } => {
                // Redacted reasoning has no text; its data is its signature.
                out.push(Event::ThinkingDelta {
                    text: String::new(),
                    signature: anthropic_sig(data),
                });
            }
            UpstreamBlock::ToolUse { id, name, input } => self.call(id, name, input, out),
            UpstreamBlock::Text { .. } | UpstreamBlock::Other => {}
        }
    }

    fn stop(&mut self, reason: Option<String>) {
        self.finish = Some(match reason.as_deref() {
            Some("max_tokens") => Finish::Length,
            Some("tool_use") => Finish::ToolCalls,
            Some("stop_sequence") => Finish::StopSequence,
            Some("refusal") => Finish::ContentFilter,
            _ => Finish::Stop,
        });
    }

    fn event(&mut self, ev: StreamEvent, out: &mut Vec<Event>) -> Result<(), Error> {
        match ev {
            StreamEvent::MessageStart { message } => {
                if !message.id.is_empty() {
                    self.id = message.id;
                }
                out.push(Event::Start {
                    id: self.id.clone(),
                    model: message.model,
                });
                if let Some(u) = message.usage {
                    self.usage(u, out);
                }
            }
            StreamEvent::ContentBlockStart {
                index,
                content_block,
            } => match content_block {
                UpstreamBlock::ToolUse { id, name, .. } => {
                    self.tool = Some((index, id, name, String::new()))
                }
                other => self.block(other, out),
            },
            StreamEvent::ContentBlockDelta { index, delta } => match delta {
                DeltaIn::TextDelta { text } => out.push(Event::TextDelta(text)),
                DeltaIn::ThinkingDelta { thinking } => out.push(Event::ThinkingDelta {
                    text: thinking,
                    signature: None,
                }),
                DeltaIn::SignatureDelta { signature } => {
                    out.push(Event::ThinkingDelta {
                        text: String::new(),
                        signature: anthropic_sig(signature),
                    });
                }
                DeltaIn::InputJsonDelta { partial_json } => {
                    if let Some((i, _, _, args)) = self.tool.as_mut().filter(|t| t.0 == index) {
                        debug_assert_eq!(*i, index);
                        args.push_str(&partial_json);
                    }
                }
                DeltaIn::Other => {}
            },
            StreamEvent::ContentBlockStop { index } => {
                if let Some((_, id, name, args)) = self.tool.take_if(|t| t.0 == index) {
                    let input = if args.trim().is_empty() {
                        json!({})
                    } else {
                        serde_json::from_str(&args)
                            .unwrap_or_else(|_| json!({"_raw_arguments": args}))
                    };
                    self.call(id, name, input, out);
                }
            }
            StreamEvent::MessageDelta { delta, usage } => {
                let known = delta.stop_reason.is_some();
                self.stop(delta.stop_reason);
                if let Some(u) = usage {
                    self.usage(u, out);
                }
                // The answer is whole once its stop reason is known: a stream
                // cut before `message_stop` lost nothing but the end.
                if known && !self.announced {
                    self.announced = true;
                    out.push(Event::Finish(self.finish.unwrap_or(Finish::Stop)));
                }
            }
            StreamEvent::MessageStop => {
                self.finished = true;
                if !std::mem::replace(&mut self.announced, true) {
                    out.push(Event::Finish(self.finish.unwrap_or(Finish::Stop)));
                }
            }
            StreamEvent::Ping => {}
            StreamEvent::Error { error } => {
                return Err(Error::new(
                    Kind::Upstream,
                    format!("Anthropic failed mid-stream: {}", error.message),
                ));
            }
        }
        Ok(())
    }
}

fn unreadable(e: serde_json::Error) -> Error {
    Error::new(
        Kind::Upstream,
        format!("Anthropic sent an answer levity cannot read: {e}"),
    )
}

impl StreamDecode for UpstreamDecoder {
    fn data(&mut self, data: &[u8], out: &mut Vec<Event>) -> Result<(), Error> {
        let ev: StreamEvent = serde_json::from_slice(data).map_err(unreadable)?;
        self.event(ev, out)
    }

    fn whole(&mut self, body: &[u8], out: &mut Vec<Event>) -> Result<(), Error> {
        let m: UpstreamMessage = serde_json::from_slice(body).map_err(unreadable)?;
        if !m.id.is_empty() {
            self.id = m.id;
        }
        out.push(Event::Start {
            id: self.id.clone(),
            model: m.model,
        });
        for block in m.content {
            self.block(block, out);
        }
        if let Some(u) = m.usage {
            self.usage(u, out);
        }
        self.stop(m.stop_reason);
        self.finished = true;
        out.push(Event::Finish(self.finish.unwrap_or(Finish::Stop)));
        Ok(())
    }

    fn finished(&self) -> bool {
        self.finished
    }
}

/// Reads an Anthropic error body into an error with the status it deserves.
pub fn decode_error(status: u16, body: &[u8]) -> Error {
    let message = crate::protocol::error_message(body);
    from_upstream(
        status,
        format!("Anthropic upstream error {status}: {message}"),
    )
}

/// The usage of a whole answer or of one stream event (`message_start`
/// holds it in `message.usage`, `message_delta` in `usage`), read without
/// its content; an error when the body is not a JSON object. Input counts
/// cache reads and writes, as Anthropic bills them (docs.claude.com/en/docs/
/// build-with-claude/prompt-caching).
pub fn usage_of(body: &[u8]) -> serde_json::Result<Option<Usage>> {
    let m: UsageOnly = serde_json::from_slice(body)?;
    Ok(m.usage.or(m.message.and_then(|m| m.usage)).map(|u| Usage {
        input_tokens: u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens,
        output_tokens: u.output_tokens,
        cached_input_tokens: u.cache_read_input_tokens,
        cache_write_tokens: u.cache_creation_input_tokens,
        ..Usage::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::usage_of;

    /// Cache reads and writes are part of the input levity counts
    /// (docs.claude.com/en/docs/build-with-claude/prompt-caching).
    #[test]
    fn cache_reads_and_writes_are_counted() {
        let body = br#"{"usage": {"input_tokens": 50, "cache_read_input_tokens": 20, "cache_creation_input_tokens": 30, "output_tokens": 10}}"#;
        let u = usage_of(body).unwrap().unwrap();
        assert_eq!(
            (u.input_tokens, u.cached_input_tokens, u.cache_write_tokens),
            (100, 20, 30)
        );
    }
}
