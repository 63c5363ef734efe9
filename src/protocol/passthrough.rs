//! Pass-through streams: an upstream's bytes checked as they go on to a
//! client that speaks the same protocol, so a broken upstream still ends in
//! the client's error event, and the usage they report is read on the way.
//! Pure: bytes in, bytes out.

use super::Protocol;
use crate::canonical::Usage;
use crate::error::{Error, Kind};
use bytes::Bytes;
use std::sync::Arc;

/// A change a native answer's bytes need on their way to the client (a
/// whole body, or one stream event's data); `None` leaves them as they are.
pub type Rewrite = Arc<dyn Fn(&[u8]) -> Option<Vec<u8>> + Send + Sync>;

/// Whether `data` is one JSON value in UTF-8 (serde's skipping parse alone
/// lets any bytes through inside strings).
pub fn is_json(data: &[u8]) -> bool {
    std::str::from_utf8(data)
        .is_ok_and(|text| serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok())
}

/// An upstream's answer, event or element that is not JSON, shown in part.
pub fn not_json(what: &str, data: &[u8]) -> Error {
    let shown = String::from_utf8_lossy(&data[..data.len().min(120)]);
    Error::new(
        Kind::Upstream,
        format!("the upstream sent {what} that is not JSON: {shown}"),
    )
}

/// Reads a native non-streamed answer once, as it passes through: it must
/// be JSON in UTF-8 (else the attempt fails and another account may try),
/// and its usage, where the protocol reports one, goes to the request log.
pub fn whole_answer(protocol: Protocol, body: &[u8]) -> Result<Option<Usage>, Error> {
    // Checked apart: serde skips the fields it does not read without
    // checking their bytes.
    if std::str::from_utf8(body).is_err() {
        return Err(not_json("an answer", body));
    }
    protocol
        .usage_of(body)
        .ok_or_else(|| not_json("an answer", body))
}

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
    /// The protocol the upstream speaks (the client's own).
    protocol: Protocol,
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
    /// Anthropic's tool-use blocks go on whole, at their `content_block_stop`,
    /// so a break inside one leaves the client nothing half made.
    hold_tools: bool,
    /// The event being read, and a tool-use block's events held back.
    frame: Vec<u8>,
    tool: Option<Vec<u8>>,
}

/// Whether an event or element may report usage: read only those.
fn mentions_usage(data: &[u8]) -> bool {
    data.windows(6).any(|w| w == b"\"usage")
}

/// Reads the usage of a payload the upstream reports it in; also its check
/// that the payload is JSON.
fn add_usage(protocol: Protocol, data: &[u8], usage: &mut Usage, what: &str) -> Result<(), Error> {
    let read = std::str::from_utf8(data)
        .ok()
        .and_then(|_| protocol.usage_of(data));
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

/// Gemini's error element (`{"error": {"code", "message", "status"}}`) as
/// the error it reports.
fn gemini_stream_error(data: &[u8]) -> Error {
    let code = serde_json::from_slice::<serde_json::Value>(data)
        .ok()
        .and_then(|v| v["error"]["code"].as_u64())
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| (400..=599).contains(c))
        .unwrap_or(500);
    crate::protocol::gemini::decode_error(code, data)
}

/// Whether an Anthropic event is its `error` event (read only when it
/// mentions an error at all).
fn anthropic_error_event(data: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Typed<'a> {
        #[serde(rename = "type", borrow)]
        kind: &'a str,
    }
    data.windows(7).any(|w| w == b"\"error\"")
        && serde_json::from_slice::<Typed>(data).is_ok_and(|k| k.kind == "error")
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
                                add_usage(Protocol::Gemini, element, usage, "an array element")
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
    /// For a stream in `protocol`; `json_array`: Gemini's array, not SSE.
    pub fn new(protocol: Protocol, json_array: bool) -> Inspector {
        Inspector {
            protocol,
            held: Vec::new(),
            owed: Bytes::new(),
            finished: false,
            array: json_array.then(ArrayScan::default),
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

    /// Holds Anthropic's tool-use blocks back until they are whole.
    pub fn holding_tool_calls(mut self) -> Inspector {
        self.lines.get_or_insert_default().hold_tools = true;
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
        let Some(data) = super::sse::data_of(line) else {
            return Ok(());
        };
        let data = data.trim_ascii();
        if data == b"[DONE]" {
            self.finished = true;
            return Ok(());
        }
        if mentions_usage(data) {
            add_usage(self.protocol, data, &mut self.usage, "an event")?;
        } else if !is_json(data) {
            return Err(not_json("an event", data));
        }
        if self.protocol == Protocol::Gemini && data.starts_with(b"{\"error\"") {
            // Gemini's failure mid-stream: an element holding only its error
            // body. It ends the stream as levity's error (or its resumption)
            // rather than reaching the client as if it were an answer.
            return Err(gemini_stream_error(data));
        }
        if self.protocol == Protocol::Anthropic && anthropic_error_event(data) {
            // Anthropic's `error` event (`overloaded_error` mid-stream), the same.
            let status = if data.windows(10).any(|w| w == b"overloaded") {
                529
            } else {
                500
            };
            return Err(crate::protocol::anthropic::decode_error(status, data));
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

    /// The client's last bytes when the stream fails: `event`, its
    /// protocol's error event, after what the array still owes.
    pub fn error(&self, event: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(scan) = &self.array {
            out.extend_from_slice(&self.owed);
            if !scan.opened {
                out.push(b'[');
            } else if scan.sent {
                out.extend_from_slice(b",\r\n");
            }
        }
        out.extend_from_slice(event);
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
            let data = super::sse::data_of(text);
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
                let mut line_out = b"data: ".to_vec();
                line_out.extend_from_slice(&d);
                line_out.extend_from_slice(&line[text.len()..]);
                Self::route(
                    self.hold_tools,
                    &mut self.frame,
                    &mut self.tool,
                    &line_out,
                    &mut out,
                );
            } else {
                Self::route(
                    self.hold_tools,
                    &mut self.frame,
                    &mut self.tool,
                    line,
                    &mut out,
                );
            }
        }
        self.held.drain(..=last);
        Bytes::from(out)
    }

    /// Sends a line on, or (holding tool calls) the event it ends, or a
    /// whole tool-use block at its stop.
    fn route(
        hold: bool,
        frame: &mut Vec<u8>,
        tool: &mut Option<Vec<u8>>,
        line: &[u8],
        out: &mut Vec<u8>,
    ) {
        if !hold {
            return out.extend_from_slice(line);
        }
        frame.extend_from_slice(line);
        if !line.trim_ascii().is_empty() {
            return;
        }
        let event = std::mem::take(frame);
        let has = |needle: &[u8]| event.windows(needle.len()).any(|w| w == needle);
        if tool.is_none() && has(b"\"content_block_start\"") && has(b"tool_use\"") {
            *tool = Some(Vec::new());
        }
        match tool {
            Some(held) => {
                held.extend_from_slice(&event);
                if has(b"\"content_block_stop\"") {
                    out.extend_from_slice(&std::mem::take(held));
                    *tool = None;
                }
            }
            None => out.extend_from_slice(&event),
        }
    }

    /// A last line the upstream did not end, rewritten as the others.
    fn rest(&mut self) -> Bytes {
        let line = std::mem::take(&mut self.held);
        let rewritten = match (&self.rewrite, super::sse::data_of(&line)) {
            (Some(rewrite), Some(d)) => rewrite(d).map(|d| [&b"data: "[..], &d].concat()),
            _ => None,
        };
        Bytes::from(rewritten.unwrap_or(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by `make fuzz` on streams: serde skips unread fields without
    /// checking their bytes, so UTF-8 is checked on its own.
    #[test]
    fn gemini_s_error_element_mid_stream_is_an_error_not_an_answer() {
        let mut i = Inspector::new(Protocol::Gemini, false);
        let good =
            b"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hi\"}]}}]}\r\n\r\n";
        assert_eq!(&i.feed(Bytes::from_static(good)).unwrap()[..], good);
        let bad = b"data: {\"error\": {\"code\": 503, \"message\": \"The model is overloaded.\", \"status\": \"UNAVAILABLE\"}}\r\n\r\n";
        let e = i.feed(Bytes::from_static(bad)).unwrap_err();
        assert_eq!(e.status(), 503, "{e}");
        assert!(e.message.contains("overloaded"), "{e}");
    }

    #[test]
    fn anthropic_tool_use_blocks_go_on_whole_and_its_error_event_is_an_error() {
        let mut i = Inspector::new(Protocol::Anthropic, false).holding_tool_calls();
        let text = "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n";
        assert_eq!(i.feed(Bytes::from(text)).unwrap(), text.as_bytes());
        let tool = [
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{}}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"1}\"}}\n\n",
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
        ];
        for part in &tool[..3] {
            assert!(
                i.feed(Bytes::from(*part)).unwrap().is_empty(),
                "held: {part}"
            );
        }
        assert_eq!(
            i.feed(Bytes::from(tool[3])).unwrap(),
            tool.concat().as_bytes(),
            "whole at its stop"
        );
        let error = "event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n";
        let e = i.feed(Bytes::from(error)).unwrap_err();
        assert_eq!(e.status(), 503, "overloaded: {e}");
        assert!(e.message.contains("Overloaded"), "{e}");
    }

    #[test]
    fn passed_answers_must_be_json_in_utf8() {
        for protocol in [Protocol::Gemini, Protocol::OpenAiChat, Protocol::Anthropic] {
            assert!(whole_answer(protocol, b"{\"a\": \"fine\"}").is_ok());
            let err = whole_answer(protocol, b"{\"a\": \"\xff\"}").unwrap_err();
            assert!(err.message.contains("not JSON"), "{err:?}");
        }
    }
}
