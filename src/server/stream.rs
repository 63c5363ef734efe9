//! Response bodies that stream: canonical events encoded for the client as
//! they arrive, or an upstream's bytes copied through untouched (checked on
//! the way, so a broken upstream stream still ends in the client's own
//! error event).

use super::log::RequestLog;
use super::wire::{Encoder, Wire};
use crate::canonical::Usage;
use crate::error::{Error, Kind};
use crate::provider::{EventStream, Rewrite, is_json, not_json, read_usage};
use crate::store::ProviderKind;
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

fn event_stream(body: Body, content_type: &'static str) -> Response {
    Response::builder()
        .content_type(content_type)
        .header("cache-control", "no-cache")
        .body(body)
}

/// Encodes upstream events into the client's stream as they arrive.
pub fn sse_response(
    events: EventStream,
    encoder: Encoder,
    content_type: &'static str,
    log: RequestLog,
) -> Response {
    let state = SseState {
        events,
        encoder,
        log,
        done: false,
    };
    let body = futures_util::stream::unfold(state, |mut st| async move {
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
                    failure = Some(e);
                }
                None => {
                    st.done = true;
                    st.encoder.done(&mut out);
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
    });
    event_stream(Body::from_bytes_stream(body), content_type)
}

/// An upstream body as it arrives.
pub type ByteStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// Most bytes a pass-through stream may hold while it waits for the end of
/// an SSE line or of a JSON-array element.
const MAX_HELD: usize = 64 << 20;

/// Watches an upstream's stream as it passes and says what may go on to the
/// client. SSE (every protocol's events, Gemini's with `alt=sse`) goes on as
/// it arrives: every `data:` payload must be JSON, and the stream must say it
/// finished (Gemini's `finishReason`, Anthropic's `message_stop`, OpenAI's
/// `[DONE]`, Responses' `response.completed` and other last events) before
/// it ends. Gemini's JSON-array stream goes on one whole
/// element at a time, so that whatever happens the client can close a valid
/// array: each element must be JSON, the last must carry a `finishReason`,
/// and the closing `]` is held until the upstream ends.
pub struct Inspector {
    wire: Wire,
    /// The protocol the upstream speaks (the client's own).
    kind: ProviderKind,
    /// SSE: the line so far. Array: what the client has not been given yet.
    held: Vec<u8>,
    /// Array: whole elements read with the bytes that failed, sent before the error.
    owed: Bytes,
    finished: bool,
    array: Option<ArrayScan>,
    /// The usage the stream reported so far (running totals, merged).
    pub usage: Usage,
    /// Streams passed on line by line, not chunk by chunk: those whose
    /// usage chunk levity asked for, or whose events it rewrites.
    lines: Option<Lines>,
}

/// Whole SSE lines not yet given to the client, and what becomes of them.
#[derive(Default)]
struct Lines {
    held: Vec<u8>,
    /// OpenAI's usage-only chunk, which levity asked for and the client did not.
    strip_usage: bool,
    /// The blank line ending a kept-back chunk is still to come.
    skipping: bool,
    rewrite: Option<Rewrite>,
}

/// Whether an event or element may report usage: read only those.
fn mentions_usage(data: &[u8]) -> bool {
    data.windows(6).any(|w| w == b"\"usage")
}

/// Reads the usage of a payload the upstream reports it in; also its check
/// that the payload is JSON.
fn add_usage(kind: ProviderKind, data: &[u8], usage: &mut Usage, what: &str) -> Result<(), Error> {
    let read = std::str::from_utf8(data)
        .ok()
        .and_then(|_| read_usage(kind, data));
    match read {
        Some(Some(u)) => usage.merge(u),
        Some(None) => {}
        None => return Err(not_json(what, data)),
    }
    Ok(())
}

/// Where a scan of Gemini's JSON-array stream stands.
#[derive(Default)]
struct ArrayScan {
    opened: bool,
    closed: bool,
    /// Nesting inside the current element; 0 between elements.
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// Where the current element starts in the bytes being scanned.
    start: usize,
    /// An element ended and no comma followed it yet.
    after_element: bool,
    /// An element reached the client: an error element needs a comma first.
    sent: bool,
}

fn says_finished(data: &[u8]) -> bool {
    let has = |needle: &[u8]| data.windows(needle.len()).any(|w| w == needle);
    [
        &b"\"finishReason\""[..],
        b"\"message_stop\"",
        b"\"response.completed\"",
        b"\"response.incomplete\"",
        b"\"response.failed\"",
    ]
    .into_iter()
    .any(has)
}

impl ArrayScan {
    /// Scans `buf[from..]`; returns how much of `buf` may go to the client,
    /// and what was wrong with the rest.
    fn scan(
        &mut self,
        buf: &[u8],
        from: usize,
        finished: &mut bool,
        usage: &mut Usage,
    ) -> (usize, Option<Error>) {
        let mut release = 0;
        for (i, &b) in buf.iter().enumerate().skip(from) {
            if self.depth > 0 {
                if self.in_string {
                    if self.escaped {
                        self.escaped = false;
                    } else if b == b'\\' {
                        self.escaped = true;
                    } else if b == b'"' {
                        self.in_string = false;
                    }
                    continue;
                }
                match b {
                    b'"' => self.in_string = true,
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => {
                        self.depth -= 1;
                        if self.depth == 0 {
                            let element = &buf[self.start..=i];
                            let checked = if mentions_usage(element) {
                                add_usage(ProviderKind::Gemini, element, usage, "an array element")
                            } else if is_json(element) {
                                Ok(())
                            } else {
                                Err(not_json("an array element", element))
                            };
                            if let Err(e) = checked {
                                return (release, Some(e));
                            }
                            *finished |= says_finished(element);
                            (self.after_element, self.sent, release) = (true, true, i + 1);
                        }
                    }
                    _ => {}
                }
                continue;
            }
            match b {
                b' ' | b'\t' | b'\r' | b'\n' => {}
                b'[' if !self.opened => (self.opened, release) = (true, i + 1),
                b'{' if self.opened && !self.closed && !self.after_element => {
                    (self.depth, self.start) = (1, i);
                }
                b',' if self.after_element && !self.closed => self.after_element = false,
                b']' if self.opened && !self.closed && (self.after_element || !self.sent) => {
                    self.closed = true;
                }
                _ => {
                    let shown = String::from_utf8_lossy(&buf[i..buf.len().min(i + 120)]);
                    let e = Error::new(
                        Kind::Upstream,
                        format!("the upstream's stream is not a JSON array of objects: {shown}"),
                    );
                    return (release, Some(e));
                }
            }
        }
        (release, None)
    }
}

impl Inspector {
    pub fn new(wire: Wire) -> Inspector {
        Inspector {
            wire,
            kind: wire.native().unwrap_or(ProviderKind::Openai),
            held: Vec::new(),
            owed: Bytes::new(),
            finished: false,
            array: (wire == Wire::Gemini { sse: false }).then(ArrayScan::default),
            usage: Usage::default(),
            lines: None,
        }
    }

    /// Keeps OpenAI's usage-only chunk (`"choices": []`) from the client:
    /// levity asked for it to count tokens, the client did not.
    pub fn without_usage_chunk(mut self) -> Inspector {
        self.lines.get_or_insert_default().strip_usage = true;
        self
    }

    /// Rewrites each event's data on its way to the client (after it was
    /// checked as the upstream sent it).
    pub fn rewriting(mut self, rewrite: Rewrite) -> Inspector {
        self.lines.get_or_insert_default().rewrite = Some(rewrite);
        self
    }

    /// Checks the next upstream bytes; returns those the client may have now.
    pub fn feed(&mut self, chunk: Bytes) -> Result<Bytes, Error> {
        let Some(scan) = self.array.as_mut() else {
            self.feed_sse(&chunk)?;
            return Ok(match &mut self.lines {
                None => chunk,
                Some(lines) => lines.pass(&chunk),
            });
        };
        // The usual case, whole elements per chunk, passes on uncopied.
        let copied = !self.held.is_empty();
        let from = self.held.len();
        if copied {
            self.held.extend_from_slice(&chunk);
        }
        let buf = if copied { &self.held[..] } else { &chunk[..] };
        let (release, failure) = scan.scan(buf, from, &mut self.finished, &mut self.usage);
        scan.start -= release.min(scan.start);
        let passed = if copied {
            Bytes::from(self.held.drain(..release).collect::<Vec<u8>>())
        } else {
            self.held.extend_from_slice(&chunk[release..]);
            chunk.slice(..release)
        };
        match failure.or_else(|| self.too_much()) {
            None => Ok(passed),
            Some(e) => {
                // The whole elements before the failure still go out, ahead of the error.
                self.owed = passed;
                Err(e)
            }
        }
    }

    fn too_much(&self) -> Option<Error> {
        (self.held.len() > MAX_HELD).then(|| {
            Error::new(
                Kind::Upstream,
                "the upstream sent more than 64 MB without a break",
            )
        })
    }

    fn feed_sse(&mut self, chunk: &[u8]) -> Result<(), Error> {
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            if self.held.is_empty() {
                self.check_line(&rest[..end])?;
            } else {
                self.held.extend_from_slice(&rest[..end]);
                let line = std::mem::take(&mut self.held);
                self.check_line(&line)?;
            }
            rest = &rest[end + 1..];
        }
        self.held.extend_from_slice(rest);
        self.too_much().map_or(Ok(()), Err)
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
        if mentions_usage(data) {
            add_usage(self.kind, data, &mut self.usage, "an event")?;
        } else if !is_json(data) {
            return Err(not_json("an event", data));
        }
        self.finished |= says_finished(data);
        Ok(())
    }

    /// At the end of the upstream's stream: whether it said it was done, and
    /// what the client is still owed (the array's closing `]`).
    pub fn end(&mut self) -> Result<Bytes, Error> {
        let complete = match &self.array {
            None => self.finished,
            Some(scan) => self.finished && scan.closed,
        };
        if !complete {
            return Err(Error::new(
                Kind::Upstream,
                "the upstream closed the stream before finishing its answer",
            ));
        }
        Ok(match (&self.array, &mut self.lines) {
            (Some(_), _) => Bytes::from(std::mem::take(&mut self.held)),
            (None, Some(lines)) => lines.rest(),
            (None, None) => Bytes::new(),
        })
    }

    /// The client's last bytes when the stream fails: its protocol's error
    /// event, or in the array an error element and the array's end.
    pub fn error(&self, err: &Error) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(scan) = &self.array {
            out.extend_from_slice(&self.owed);
            if !scan.opened {
                out.push(b'[');
            } else if scan.sent {
                out.extend_from_slice(b",\r\n");
            }
        }
        out.extend_from_slice(&self.wire.stream_error(err));
        out
    }
}

impl Lines {
    /// Whole SSE lines of `chunk` (after what was held), without the
    /// usage-only chunk and the blank line that ends it when asked, each
    /// `data:` rewritten when asked; an unfinished line waits.
    fn pass(&mut self, chunk: &[u8]) -> Bytes {
        self.held.extend_from_slice(chunk);
        let Some(last) = self.held.iter().rposition(|&b| b == b'\n') else {
            return Bytes::new();
        };
        let mut out = Vec::with_capacity(last + 1);
        for line in self.held[..=last].split_inclusive(|&b| b == b'\n') {
            let text = line.trim_ascii_end();
            let data = text.strip_prefix(b"data:");
            let usage_only = self.strip_usage
                && data.is_some_and(|d| {
                    mentions_usage(d)
                        && crate::protocol::openai_chat::usage_only_chunk(d.trim_ascii())
                });
            let rewritten = match (&self.rewrite, data) {
                (Some(rewrite), Some(d)) => rewrite(d),
                _ => None,
            };
            if usage_only {
                self.skipping = true;
            } else if self.skipping && text.is_empty() {
                self.skipping = false;
            } else if let Some(d) = rewritten {
                out.extend_from_slice(b"data:");
                out.extend_from_slice(&d);
                out.extend_from_slice(&line[text.len()..]);
            } else {
                out.extend_from_slice(line);
            }
        }
        self.held.drain(..=last);
        Bytes::from(out)
    }

    /// A last line the upstream did not end, rewritten as the others.
    fn rest(&mut self) -> Bytes {
        let line = std::mem::take(&mut self.held);
        let rewritten = match (&self.rewrite, line.strip_prefix(b"data:")) {
            (Some(rewrite), Some(d)) => rewrite(d).map(|d| [&b"data:"[..], &d].concat()),
            _ => None,
        };
        Bytes::from(rewritten.unwrap_or(line))
    }
}

struct PipeState {
    bytes: ByteStream,
    head: Option<Bytes>,
    log: RequestLog,
    idle: Duration,
    inspector: Inspector,
    done: bool,
}

impl PipeState {
    /// The next bytes the client may have; empty once the stream is over.
    async fn next(&mut self) -> Result<Bytes, Error> {
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
    inspector: Inspector,
    head: Bytes,
    bytes: ByteStream,
    idle: Duration,
    log: RequestLog,
) -> Response {
    let content_type = inspector.wire.stream_content_type();
    let state = PipeState {
        bytes,
        head: Some(head),
        log,
        idle,
        inspector,
        done: false,
    };
    let body = futures_util::stream::unfold(state, |mut st| async move {
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
            Err(failure) => {
                st.done = true;
                warn!(req = %st.log.id, error = %failure, "stream failed after it started");
                let event = Bytes::from(st.inspector.error(&failure));
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
        let mut i = Inspector::new(wire);
        let mut client = Vec::new();
        for chunk in input.chunks(piece) {
            match i.feed(Bytes::copy_from_slice(chunk)) {
                Ok(passed) => client.extend_from_slice(&passed),
                Err(e) => {
                    client.extend_from_slice(&i.error(&e));
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
                client.extend_from_slice(&i.error(&e));
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
            let mut i = Inspector::new(Wire::OpenAiResponses).rewriting(std::sync::Arc::new(
                |d: &[u8]| crate::protocol::openai_responses::provenance::tag_answer("acc_1", d),
            ));
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
