//! Response bodies that stream: canonical events encoded for the client as
//! they arrive, or an upstream's bytes copied through untouched (checked on
//! the way, so a broken upstream stream still ends in the client's own
//! error event).

use super::log::RequestLog;
use super::resume::{Resume, Resumed, Tracker};
use super::wire::{Encoder, Wire};
use crate::error::{Error, Kind};
use crate::protocol::passthrough::Inspector;
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
    /// Where a cut stream is taken up again; none for a client that cannot
    /// be given one (or once it is over).
    resume: Option<Resume>,
    done: bool,
}

fn event_stream(body: Body, content_type: &'static str) -> Response {
    Response::builder()
        .content_type(content_type)
        .header("cache-control", "no-cache")
        .body(body)
}

/// Encodes upstream events into the client's stream as they arrive; a
/// stream cut midway goes on where `resume` says.
pub fn sse_response(
    events: EventStream,
    encoder: Encoder,
    content_type: &'static str,
    log: RequestLog,
    resume: Option<Resume>,
) -> Response {
    let state = SseState {
        events,
        encoder,
        log,
        resume,
        done: false,
    };
    event_stream(Body::from_bytes_stream(encoded(state)), content_type)
}

/// Bytes out of a client stream.
type Out = std::pin::Pin<Box<dyn futures_util::Stream<Item = std::io::Result<Bytes>> + Send>>;

/// The client's bytes of an encoded stream.
fn encoded(state: SseState) -> Out {
    Box::pin(futures_util::stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        let mut out = Vec::new();
        let mut failure = None;
        while out.is_empty() && !st.done {
            let next = match tokio::time::timeout(PING_EVERY, st.events.next()).await {
                Ok(next) => next,
                Err(_) => {
                    st.encoder.ping(&mut out);
                    continue;
                }
            };
            let events = match (next, &mut st.resume) {
                (Some(Ok(events)), Some(r)) => Ok(r.pass(events)),
                (Some(Ok(events)), None) => Ok(events),
                (Some(Err(e)), Some(r)) => match r.resume(e, &mut st.log).await {
                    Ok(Resumed::Stream(events)) => {
                        st.events = events;
                        continue;
                    }
                    Ok(Resumed::End(last)) => {
                        st.events = Box::pin(futures_util::stream::empty());
                        Ok(last)
                    }
                    Err(e) => Err(e),
                },
                (Some(Err(e)), None) => Err(e),
                (None, r) => {
                    st.done = true;
                    Ok(r.as_mut().map(|r| r.end()).unwrap_or_default())
                }
            };
            match events {
                Ok(events) => {
                    for ev in &events {
                        st.encoder.event(ev, &mut out);
                    }
                    if st.done {
                        st.encoder.done(&mut out);
                    }
                }
                Err(e) => {
                    // Headers are gone already: the error travels in the stream.
                    st.done = true;
                    st.encoder.error(&e, &mut out);
                    warn!(req = %st.log.id, error = %e, "stream failed after it started");
                    failure = Some(e);
                }
            }
        }
        if !out.is_empty() {
            st.log.first_byte();
            st.log.response(&out);
            st.log.streamed = Some(st.encoder.usage());
        }
        // Ended after the last bytes are logged: ending hands the capture on.
        if st.done {
            let usage = Some(st.encoder.usage());
            match &failure {
                Some(e) => st.log.fail(e, usage),
                None => st.log.end(200, usage),
            }
        }
        (!out.is_empty()).then(|| (Ok::<_, std::io::Error>(Bytes::from(out)), st))
    }))
}

/// An upstream body as it arrives.
pub type ByteStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<Bytes>> + Send>>;

struct PipeState {
    wire: Wire,
    bytes: ByteStream,
    head: Option<Bytes>,
    log: RequestLog,
    idle: Duration,
    inspector: Inspector,
    /// What the client was given, to resume a break from.
    tracker: Option<Tracker>,
    /// After a break: the continuation, encoded.
    after: Option<Out>,
    done: bool,
}

impl PipeState {
    /// The next bytes the client may have; empty once the stream is over.
    async fn next(&mut self) -> Result<Bytes, Error> {
        let passed = self.pass().await?;
        if let Some(t) = &mut self.tracker {
            t.seen(&passed);
        }
        Ok(passed)
    }

    async fn pass(&mut self) -> Result<Bytes, Error> {
        if let Some(head) = self.head.take().filter(|h| !h.is_empty()) {
            return Ok(head);
        }
        loop {
            let passed = match tokio::time::timeout(self.idle, self.bytes.next()).await {
                Ok(Some(Ok(b))) => self.inspector.feed(b)?,
                Ok(None) => {
                    self.done = true;
                    return self.inspector.end();
                }
                Ok(Some(Err(e))) => {
                    return Err(crate::provider::transport_error("the upstream", &e));
                }
                Err(_) => {
                    return Err(Error::new(
                        Kind::Timeout,
                        "the upstream stopped sending mid-stream",
                    ));
                }
            };
            if !passed.is_empty() {
                return Ok(passed);
            }
        }
    }
}

/// Copies an upstream stream to the client as it arrives, `head` (already
/// read and passed by `inspector`) first. A stream that breaks, stalls,
/// sends something unreadable or ends unfinished ends with an error in the
/// client's protocol.
pub fn pipe_response(
    wire: Wire,
    inspector: Inspector,
    head: Bytes,
    bytes: ByteStream,
    idle: Duration,
    log: RequestLog,
    tracker: Option<Tracker>,
) -> Response {
    let content_type = wire.stream_content_type();
    let state = PipeState {
        wire,
        bytes,
        head: Some(head),
        log,
        idle,
        inspector,
        tracker,
        after: None,
        done: false,
    };
    let body = futures_util::stream::unfold(state, |mut st| async move {
        if let Some(after) = &mut st.after {
            return after.next().await.map(|b| (b, st));
        }
        if st.done {
            return None;
        }
        let out = match st.next().await {
            Ok(passed) => {
                st.log.first_byte();
                st.log.response(&passed);
                st.log.streamed = Some(st.inspector.usage);
                if st.done {
                    st.log.end(200, Some(st.inspector.usage));
                }
                passed
            }
            Err(failure) if st.tracker.as_ref().is_some_and(Tracker::resumable) => {
                // Resumed in the client's protocol, from what it was given.
                let Tracker {
                    encoder,
                    mut resume,
                    ..
                } = st.tracker.take().expect("checked");
                let (events, resume): (EventStream, _) =
                    match resume.resume(failure, &mut st.log).await {
                        Ok(Resumed::Stream(events)) => (events, Some(resume)),
                        Ok(Resumed::End(last)) => {
                            (Box::pin(futures_util::stream::iter([Ok(last)])), None)
                        }
                        Err(e) => (Box::pin(futures_util::stream::iter([Err(e)])), None),
                    };
                let mut after = encoded(SseState {
                    events,
                    encoder,
                    log: st.log.take(),
                    resume,
                    done: false,
                });
                let next = after.next().await;
                st.after = Some(after);
                return next.map(|b| (b, st));
            }
            Err(failure) => {
                st.done = true;
                warn!(req = %st.log.id, error = %failure, "stream failed after it started");
                let event = Bytes::from(st.inspector.error(&st.wire.stream_error(&failure)));
                st.log.response(&event);
                st.log.fail(&failure, Some(st.inspector.usage));
                event
            }
        };
        (!out.is_empty()).then_some((Ok::<_, std::io::Error>(out), st))
    });
    event_stream(Body::from_bytes_stream(body), content_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in pieces; what the client got, and how it ended.
    fn fed(wire: Wire, input: &[u8], piece: usize) -> (Vec<u8>, Result<(), Error>) {
        let mut i = wire.inspector();
        let mut client = Vec::new();
        for chunk in input.chunks(piece) {
            match i.feed(Bytes::copy_from_slice(chunk)) {
                Ok(passed) => client.extend_from_slice(&passed),
                Err(e) => {
                    client.extend_from_slice(&i.error(&wire.stream_error(&e)));
                    return (client, Err(e));
                }
            }
        }
        match i.end() {
            Ok(tail) => {
                client.extend_from_slice(&tail);
                (client, Ok(()))
            }
            Err(e) => {
                client.extend_from_slice(&i.error(&wire.stream_error(&e)));
                (client, Err(e))
            }
        }
    }

    #[test]
    fn inspector_follows_events_across_chunks() {
        let anthropic = b"event: message_start\ndata: {\"type\":\"message_start\"}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
        let gemini = b"data: {\"candidates\":[{\"content\":{}}]}\r\n\r\ndata: {\"candidates\":[{\"finishReason\":\"STOP\"}]}\r\n\r\n";
        let chat = b"data: {\"choices\":[]}\n\ndata: [DONE]\n\n";
        for piece in [1, 3, 7, 1000] {
            for (wire, input) in [
                (Wire::Anthropic, &anthropic[..]),
                (Wire::Gemini { sse: true }, &gemini[..]),
                (Wire::OpenAiChat, &chat[..]),
            ] {
                let (client, end) = fed(wire, input, piece);
                assert!(end.is_ok(), "{wire:?} {piece}");
                // Events pass untouched.
                assert_eq!(client, input);
            }
            // Cut before the end: unfinished.
            assert!(fed(Wire::Anthropic, &anthropic[..50], piece).1.is_err());
            assert!(fed(Wire::OpenAiChat, b"data: {oops}\n\n", piece).1.is_err());
        }
    }

    /// Responses streams passed through natively: lines are rewritten whole,
    /// however the chunks cut them, and only where the rewrite applies.
    #[test]
    fn rewritten_streams_change_only_what_the_rewrite_changes() {
        let input = b"event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"usage\":null}}\n\nevent: response.output_item.done\r\ndata: {\"type\":\"response.output_item.done\",\"item\":{\"type\":\"reasoning\",\"encrypted_content\":\"gAAA\"}}\r\n\r\nevent: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":3,\"output_tokens\":2}}}\n\n";
        let want = String::from_utf8_lossy(input).replace("\"gAAA", "\"lvt1:openai:acc_1:gAAA");
        for piece in [1, 5, 1000] {
            let mut i = Wire::OpenAiResponses
                .inspector()
                .rewriting(std::sync::Arc::new(|d: &[u8]| {
                    crate::protocol::openai_responses::provenance::tag_answer("acc_1", d)
                }));
            let mut client = Vec::new();
            for chunk in input.chunks(piece) {
                client.extend_from_slice(&i.feed(Bytes::copy_from_slice(chunk)).unwrap());
            }
            client.extend_from_slice(&i.end().unwrap());
            assert_eq!(String::from_utf8(client).unwrap(), want, "{piece}");
            assert_eq!((i.usage.input_tokens, i.usage.output_tokens), (3, 2));
        }
    }

    /// Gemini's JSON array, as Google sends it: elements split anywhere,
    /// strings holding brackets, quotes and escapes.
    const ARRAY: &[u8] = b"[{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"a }] \\\" {[ b\"}]}}]}\n,\r\n{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"\\\\\"}]}, \"finishReason\": \"STOP\"}]}\n]";

    #[test]
    fn json_array_streams_pass_whole_elements() {
        assert!(serde_json::from_slice::<serde_json::Value>(ARRAY).is_ok());
        for piece in [1, 2, 5, 64, 1000] {
            let (client, end) = fed(Wire::Gemini { sse: false }, ARRAY, piece);
            assert!(end.is_ok(), "{piece}: {end:?}");
            assert_eq!(client, ARRAY, "{piece}");
        }
    }

    #[test]
    fn a_broken_json_array_still_ends_as_valid_json_with_an_error() {
        let unfinished = b"[{\"candidates\": [{\"content\": {}}]},{\"candidates\": []}]";
        let cases: [(&[u8], &str); 7] = [
            // Cut inside the second element.
            (&ARRAY[..ARRAY.len() - 30], "before finishing"),
            // Cut after a comma, and before anything at all.
            (
                &ARRAY[..=ARRAY.iter().position(|&b| b == b',').unwrap()],
                "before finishing",
            ),
            (b"", "before finishing"),
            (unfinished, "before finishing"),
            (b"[{\"candidates\": oops}]", "not JSON"),
            (b"{\"candidates\": []}", "not a JSON array"),
            // Found by `make fuzz`: bytes that are not UTF-8 inside a string.
            (b"[{\"parts\xb7\": 1}]", "not JSON"),
        ];
        for (input, why) in cases {
            for piece in [1, 7, 1000] {
                let (client, end) = fed(Wire::Gemini { sse: false }, input, piece);
                let err = end.expect_err("must fail");
                assert!(err.message.contains(why), "{err:?}");
                let got: Vec<serde_json::Value> = serde_json::from_slice(&client)
                    .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&client)));
                assert_eq!(got.last().unwrap()["error"]["status"], "INTERNAL");
            }
        }
    }
}
