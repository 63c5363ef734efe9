//! Response bodies that stream: canonical events encoded for the client as
//! they arrive, or an upstream's bytes copied through untouched (checked on
//! the way, so a broken upstream stream still ends in the client's own
//! error event).

use super::log::RequestLog;
use super::wire::{Encoder, Wire};
use crate::error::{Error, Kind};
use crate::provider::EventStream;
use bytes::Bytes;
use futures_util::StreamExt;
use poem::{Body, Response};
use std::time::Duration;
use tracing::warn;

/// How long the upstream may stay silent before the client gets a keep-alive.
const PING_EVERY: Duration = Duration::from_secs(15);

struct SseState {
    events: EventStream,
    encoder: Encoder,
    log: RequestLog,
    done: bool,
}

fn event_stream(body: Body) -> Response {
    Response::builder()
        .content_type("text/event-stream")
        .header("cache-control", "no-cache")
        .body(body)
}

/// Encodes upstream events into the client's stream as they arrive.
pub fn sse_response(events: EventStream, encoder: Encoder, log: RequestLog) -> Response {
    let state = SseState {
        events,
        encoder,
        log,
        done: false,
    };
    let body = futures_util::stream::unfold(state, |mut st| async move {
        let mut out = Vec::new();
        while out.is_empty() && !st.done {
            let next = match tokio::time::timeout(PING_EVERY, st.events.next()).await {
                Ok(next) => next,
                Err(_) => {
                    st.encoder.ping(&mut out);
                    continue;
                }
            };
            match next {
                Some(Ok(events)) => {
                    for ev in &events {
                        st.encoder.event(ev, &mut out);
                    }
                }
                Some(Err(e)) => {
                    // Headers are gone already: the error travels in the stream.
                    st.done = true;
                    st.encoder.error(&e, &mut out);
                    warn!(req = %st.log.id, error = %e, "stream failed after it started");
                    st.log.end(e.status(), Some(st.encoder.usage()));
                }
                None => {
                    st.done = true;
                    st.encoder.done(&mut out);
                    st.log.end(200, Some(st.encoder.usage()));
                }
            }
        }
        if !out.is_empty() {
            st.log.first_byte();
            st.log.response(&out);
        }
        (!out.is_empty()).then(|| (Ok::<_, std::io::Error>(Bytes::from(out)), st))
    });
    event_stream(Body::from_bytes_stream(body))
}

/// An upstream body as it arrives.
pub type ByteStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// Longest SSE line a pass-through stream may hold while it waits for the
/// line's end.
const MAX_LINE: usize = 64 << 20;

/// Watches an upstream's SSE bytes as they pass: every `data:` payload must
/// be JSON, and the stream must say it finished (Gemini's `finishReason`,
/// Anthropic's `message_stop`, OpenAI's `[DONE]`) before it ends.
pub struct Inspector {
    sse: bool,
    line: Vec<u8>,
    finished: bool,
}

impl Inspector {
    pub fn new(wire: Wire) -> Inspector {
        Inspector {
            // Gemini without `alt=sse` streams a JSON array, not events.
            sse: wire != Wire::Gemini { sse: false },
            line: Vec::new(),
            finished: false,
        }
    }

    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), Error> {
        if !self.sse {
            return Ok(());
        }
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            if self.line.is_empty() {
                self.check_line(&rest[..end])?;
            } else {
                self.line.extend_from_slice(&rest[..end]);
                let line = std::mem::take(&mut self.line);
                self.check_line(&line)?;
            }
            rest = &rest[end + 1..];
        }
        self.line.extend_from_slice(rest);
        if self.line.len() > MAX_LINE {
            return Err(Error::new(
                Kind::Upstream,
                "the upstream sent an event line longer than 64 MB",
            ));
        }
        Ok(())
    }

    fn check_line(&mut self, line: &[u8]) -> Result<(), Error> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line == b"event: message_stop" {
            self.finished = true;
        }
        let Some(data) = line.strip_prefix(b"data:") else {
            return Ok(());
        };
        let data = data.trim_ascii();
        if data == b"[DONE]" {
            self.finished = true;
            return Ok(());
        }
        if serde_json::from_slice::<serde::de::IgnoredAny>(data).is_err() {
            let shown = String::from_utf8_lossy(&data[..data.len().min(120)]);
            return Err(Error::new(
                Kind::Upstream,
                format!("the upstream sent an event that is not JSON: {shown}"),
            ));
        }
        let has = |needle: &[u8]| data.windows(needle.len()).any(|w| w == needle);
        if has(b"\"finishReason\"") || has(b"\"message_stop\"") {
            self.finished = true;
        }
        Ok(())
    }

    /// At the end of the upstream's stream: whether it said it was done.
    fn end(&self) -> Result<(), Error> {
        if !self.sse || self.finished {
            Ok(())
        } else {
            Err(Error::new(
                Kind::Upstream,
                "the upstream closed the stream before finishing its answer",
            ))
        }
    }
}

struct PipeState {
    bytes: ByteStream,
    log: RequestLog,
    idle: Duration,
    wire: Wire,
    inspector: Inspector,
    done: bool,
}

/// Copies an upstream stream to the client byte for byte, as it arrives. A
/// stream that breaks, stalls, sends something unreadable or ends unfinished
/// ends with an error event in the client's protocol.
pub fn pipe_response(bytes: ByteStream, idle: Duration, log: RequestLog, wire: Wire) -> Response {
    let state = PipeState {
        bytes,
        log,
        idle,
        wire,
        inspector: Inspector::new(wire),
        done: false,
    };
    let body = futures_util::stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        let failure = match tokio::time::timeout(st.idle, st.bytes.next()).await {
            Ok(Some(Ok(b))) => match st.inspector.feed(&b) {
                Ok(()) => {
                    st.log.first_byte();
                    st.log.response(&b);
                    return Some((Ok::<_, std::io::Error>(b), st));
                }
                Err(e) => e,
            },
            Ok(None) => match st.inspector.end() {
                Ok(()) => {
                    st.log.end(200, None);
                    return None;
                }
                Err(e) => e,
            },
            Ok(Some(Err(e))) => crate::provider::transport_error("the upstream", &e),
            Err(_) => Error::new(Kind::Timeout, "the upstream stopped sending mid-stream"),
        };
        st.done = true;
        warn!(req = %st.log.id, error = %failure, "stream failed after it started");
        let event = st.wire.stream_error(&failure);
        st.log.response(&event);
        st.log.end(failure.status(), None);
        Some((Ok(Bytes::from(event)), st))
    });
    event_stream(Body::from_bytes_stream(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fed(wire: Wire, input: &[u8], piece: usize) -> Result<(), Error> {
        let mut i = Inspector::new(wire);
        for chunk in input.chunks(piece) {
            i.feed(chunk)?;
        }
        i.end()
    }

    #[test]
    fn inspector_follows_events_across_chunks() {
        let anthropic = b"event: message_start\ndata: {\"type\":\"message_start\"}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
        let gemini = b"data: {\"candidates\":[{\"content\":{}}]}\r\n\r\ndata: {\"candidates\":[{\"finishReason\":\"STOP\"}]}\r\n\r\n";
        let chat = b"data: {\"choices\":[]}\n\ndata: [DONE]\n\n";
        for piece in [1, 3, 7, 1000] {
            assert!(fed(Wire::Anthropic, anthropic, piece).is_ok(), "{piece}");
            assert!(
                fed(Wire::Gemini { sse: true }, gemini, piece).is_ok(),
                "{piece}"
            );
            assert!(fed(Wire::OpenAiChat, chat, piece).is_ok(), "{piece}");
            // Cut before the end: unfinished.
            assert!(fed(Wire::Anthropic, &anthropic[..50], piece).is_err());
            assert!(fed(Wire::OpenAiChat, b"data: {oops}\n\n", piece).is_err());
        }
        // The JSON-array form of Gemini is not inspected.
        assert!(fed(Wire::Gemini { sse: false }, b"[{\"a\":", 2).is_ok());
    }
}
