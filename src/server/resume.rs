//! Mid-stream recovery. An upstream stream that breaks after output reached
//! the client is finished on another account (or the same one after its
//! rest) in the same client stream, so the client sees one answer: one
//! start, one finish, usage summed over the attempts.
//!
//! The new request carries the text the client already has as the start of
//! the assistant's turn (a prefill) where the upstream continues one
//! (`Descriptor::continues_prefill`); with nothing visible sent yet, any
//! upstream can simply answer again. What the continuation repeats of the
//! text sent is dropped, its start and its reasoning are not sent again (a
//! thinking block cut short is closed as it is: no signature is made up),
//! and its tool calls keep counting from the ones sent. Tool calls reach
//! the client only whole (the upstream decoders hold their arguments back),
//! so a cut inside one loses nothing the client saw.

use super::attempts::Plan;
use super::log::RequestLog;
use super::wire::Encoder;
use crate::canonical::{Event, Finish, Message, Part, Request, Role, Usage};
use crate::error::Error;
use crate::provider::{self, EventStream};
use crate::store::Account;
use crate::util::now_ms;
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// Continuation text held back until this much can be compared with what
/// was sent, to find a repeat.
const WINDOW: usize = 256;
/// The shortest repeat dropped: below this, text that merely starts the
/// way the last words ended is more likely meant.
const MIN_REPEAT: usize = 16;

/// What a broken stream becomes.
pub enum Resumed {
    /// The continuation's events, to pass through `Resume::pass`.
    Stream(EventStream),
    /// Nothing more to ask: these events end the answer.
    End(Vec<Event>),
}

/// One streamed request's record of what reached the client, and how to
/// ask for the rest.
pub struct Resume {
    plan: Plan,
    request: Request,
    /// The account whose stream is flowing.
    account: Arc<Account>,
    /// Resumes left.
    left: u32,
    /// Visible text since the last tool call: the prefill.
    text: String,
    tool_calls: usize,
    /// The last thing sent is a whole tool call.
    after_call: bool,
    finish: Option<Finish>,
    /// Usage of the attempts that ended, and of the one flowing.
    earlier: Usage,
    current: Usage,
    /// Passing a continuation (not the first answer).
    continuing: bool,
    /// Continuation text not yet compared with the tail sent.
    held: Option<String>,
    /// The prefill lost trailing whitespace the client already has.
    trimmed: bool,
}

fn sum(a: Usage, b: Usage) -> Usage {
    Usage {
        input_tokens: a.input_tokens + b.input_tokens,
        output_tokens: a.output_tokens + b.output_tokens,
        reasoning_tokens: a.reasoning_tokens + b.reasoning_tokens,
        cached_input_tokens: a.cached_input_tokens + b.cached_input_tokens,
        cache_write_tokens: a.cache_write_tokens + b.cache_write_tokens,
    }
}

/// Waits for a stream's first events, so that a stream failing before its
/// first byte counts as a failed attempt and moves to another account.
pub async fn first_events(mut events: EventStream) -> Result<EventStream, Error> {
    match events.next().await {
        Some(Ok(first)) => Ok(Box::pin(
            futures_util::stream::once(async { Ok(first) }).chain(events),
        )),
        Some(Err(e)) => Err(e),
        None => Err(Error::new(
            crate::error::Kind::Upstream,
            "the upstream closed the stream before sending anything",
        )),
    }
}

/// Streams `request` on the plan's accounts: the events and who sends them.
pub async fn open(
    plan: &Plan,
    request: &Request,
    log: &mut RequestLog,
) -> Result<(Arc<Account>, EventStream), Error> {
    plan.run(log, |call| async move {
        let account = call.acc.clone();
        Ok((
            account,
            first_events(provider::stream(call, request).await?).await?,
        ))
    })
    .await
}

impl Resume {
    pub fn new(plan: Plan, request: Request, account: Arc<Account>) -> Self {
        let left = plan.snap.settings.stream_resumes;
        Resume {
            plan,
            request,
            account,
            left,
            text: String::new(),
            tool_calls: 0,
            after_call: false,
            finish: None,
            earlier: Usage::default(),
            current: Usage::default(),
            continuing: false,
            held: None,
            trimmed: false,
        }
    }

    /// Records `events` as sent and turns a continuation's into the rest of
    /// the first answer.
    pub fn pass(&mut self, events: Vec<Event>) -> Vec<Event> {
        let mut out = Vec::with_capacity(events.len());
        for ev in events {
            match ev {
                Event::Start { .. } if self.continuing => {}
                Event::ThinkingDelta { .. } if self.continuing => {}
                Event::TextDelta(t) => match &mut self.held {
                    Some(held) => {
                        held.push_str(&t);
                        if held.len() >= WINDOW {
                            self.release(&mut out);
                        }
                    }
                    None => self.text_sent(t, &mut out),
                },
                Event::ToolCall { index, call } => {
                    self.release(&mut out);
                    self.after_call = true;
                    self.text.clear();
                    out.push(Event::ToolCall {
                        index: index + if self.continuing { self.tool_calls } else { 0 },
                        call,
                    });
                }
                Event::Usage(u) => {
                    self.current.merge(u);
                    out.push(Event::Usage(sum(self.earlier, self.current)));
                }
                Event::Finish(f) => {
                    self.release(&mut out);
                    self.finish = Some(f);
                    out.push(Event::Finish(f));
                }
                other => {
                    self.release(&mut out);
                    out.push(other);
                }
            }
        }
        out
    }

    /// The continuation text still held, at the stream's end.
    pub fn end(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        self.release(&mut out);
        out
    }

    fn text_sent(&mut self, t: String, out: &mut Vec<Event>) {
        if t.is_empty() {
            return;
        }
        self.text.push_str(&t);
        self.after_call = false;
        out.push(Event::TextDelta(t));
    }

    /// Sends the held continuation text less what it repeats of the text
    /// already sent.
    fn release(&mut self, out: &mut Vec<Event>) {
        let Some(held) = self.held.take() else {
            return;
        };
        let mut rest = held.as_str();
        if self.trimmed {
            rest = rest.trim_start();
        }
        let repeat = repeat_len(&self.text, rest);
        self.text_sent(rest[repeat..].to_string(), out);
    }

    /// Decides what a stream that broke with `e` becomes: the rest asked of
    /// the pool, an end made of what arrived, or (nothing to be done) `e`.
    pub async fn resume(&mut self, e: Error, log: &mut RequestLog) -> Result<Resumed, Error> {
        let plan = &self.plan;
        let (effect, until) =
            plan.state
                .scheduler
                .failed(&plan.snap, &self.account, &plan.route.model, &e, now_ms());
        log.attempt_cut(&e, &effect, until);
        // Held text was never sent; the prefill ends where the client's text does.
        self.held = None;
        if self.finish.is_some() {
            // Everything arrived but the end.
            return Ok(Resumed::End(Vec::new()));
        }
        if self.after_call {
            // Tool calls end a turn: the ones made are the answer.
            return Ok(Resumed::End(vec![Event::Finish(Finish::ToolCalls)]));
        }
        if self.left == 0 || !e.retryable() {
            return Err(e);
        }
        self.left -= 1;
        let prefill = self.text.trim_end().to_string();
        let mut plan = self.plan.clone();
        plan.avoid = vec![self.account.id.clone()];
        plan.deadline =
            Instant::now() + Duration::from_secs(plan.snap.settings.request_deadline_secs);
        let mut request = self.request.clone();
        if !prefill.is_empty() {
            plan.route
                .accounts
                .retain(|a| a.kind.descriptor().continues_prefill);
            if plan.route.accounts.is_empty() {
                warn!(req = %plan.id, "stream cut after text; no account of this model continues a prefill");
                return Err(e);
            }
            request.messages.push(Message {
                role: Role::Assistant,
                parts: vec![Part::Text(prefill.clone())],
            });
            // A prefill cannot go with extended thinking: Anthropic refuses
            // a final assistant turn that does not start with a thinking block.
            request.reasoning = None;
        }
        self.trimmed = prefill.len() < self.text.len();
        info!(req = %plan.id, sent = self.text.len(), left = self.left, error = %e, "stream cut; resuming");
        let (account, events) = open(&plan, &request, log).await?;
        log.resumed();
        self.account = account;
        self.earlier = sum(self.earlier, self.current);
        self.current = Usage::default();
        self.continuing = true;
        self.held = (!prefill.is_empty()).then(String::new);
        Ok(Resumed::Stream(events))
    }
}

/// What a passed-through stream gave the client, read as canonical events
/// so that a break can be resumed in the client's own protocol: the
/// events go through `Resume::pass` (to know what was sent) and through the
/// client's encoder (so it goes on where the upstream's bytes stopped: the
/// answer's id, Gemini's elements standing each alone).
pub struct Tracker {
    sse: crate::protocol::sse::Parser,
    decoder: Box<dyn crate::protocol::StreamDecode + Send>,
    pub encoder: Encoder,
    pub resume: Resume,
    /// Anthropic's content blocks the client was given (their indices).
    native_blocks: usize,
}

impl Tracker {
    pub fn new(
        decoder: Box<dyn crate::protocol::StreamDecode + Send>,
        encoder: Encoder,
        resume: Resume,
    ) -> Self {
        Tracker {
            sse: Default::default(),
            decoder,
            encoder,
            resume,
            native_blocks: 0,
        }
    }

    /// Whether the continuation can follow what the client holds: Anthropic's
    /// blocks are numbered, so the encoder must have opened as many as the
    /// upstream did (a block kind the canonical model lacks would shift them).
    pub fn resumable(&self) -> bool {
        self.encoder
            .blocks()
            .is_none_or(|opened| opened == self.native_blocks)
    }

    /// Reads bytes the client was given.
    pub fn seen(&mut self, passed: &[u8]) {
        let mut payloads = Vec::new();
        // Past the bound the inspector fails the stream anyway.
        let _ = self.sse.feed(passed, &mut payloads);
        let mut sink = Vec::new();
        for p in payloads {
            let mut events = Vec::new();
            // The inspector passed only what reads as JSON; an element the
            // decoder refuses adds nothing to what was sent.
            let _ = self.decoder.data(&p, &mut events);
            for ev in self.resume.pass(events) {
                self.encoder.event(&ev, &mut sink);
            }
            let has = |needle: &[u8]| p.windows(needle.len()).any(|w| w == needle);
            if has(b"\"content_block_start\"") {
                self.native_blocks += 1;
            }
            for (needle, kind) in [
                (&b"\"content_block_stop\""[..], "content_block_stop"),
                (b"\"message_delta\"", "message_delta"),
            ] {
                if has(needle) {
                    self.encoder.passed(kind);
                }
            }
        }
    }
}

/// How much of `next`'s start repeats `sent`'s end (in bytes, on character
/// boundaries): the longest such overlap of at least `MIN_REPEAT`, else 0.
fn repeat_len(sent: &str, next: &str) -> usize {
    let most = next.len().min(sent.len()).min(WINDOW);
    (MIN_REPEAT..=most)
        .rev()
        .filter(|&k| next.is_char_boundary(k))
        .find(|&k| sent.ends_with(&next[..k]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_found_on_character_boundaries() {
        let sent = "The quick brown fox jumps over the lazy dog";
        assert_eq!(repeat_len(sent, "over the lazy dog, and runs"), 17);
        assert_eq!(repeat_len(sent, " and runs"), 0);
        // A short echo is taken as meant.
        assert_eq!(repeat_len(sent, "lazy dog again"), 0);
        let sent = "日本語のテキストを送りました";
        assert_eq!(
            repeat_len(sent, "テキストを送りました。次"),
            "テキストを送りました".len()
        );
        assert_eq!(repeat_len("", "anything at all, really long"), 0);
    }
}
