//! Server-sent events: an incremental parser for upstream streams and a writer
//! for downstream ones.
//!
//! The parser is fed arbitrary byte chunks as they arrive from the network and
//! yields each complete event's `data` payload; nothing is buffered beyond one
//! unfinished event.

/// The payload of a `data:` line, as the SSE grammar reads it: after the
/// colon and one optional space, without the line's CR. The one reading of
/// a `data:` line, for the parser and for pass-through streams.
pub fn data_of(line: &[u8]) -> Option<&[u8]> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let rest = line.strip_prefix(b"data:")?;
    Some(rest.strip_prefix(b" ").unwrap_or(rest))
}

/// Splits a byte stream into SSE `data` payloads.
#[derive(Debug, Default)]
pub struct Parser {
    buf: Vec<u8>,
    data: Vec<u8>,
    has_data: bool,
}

/// Upper bound for one event, so a hostile upstream cannot grow memory without end.
const MAX_EVENT: usize = 16 * 1024 * 1024;

#[derive(Debug, PartialEq, Eq)]
pub struct TooLarge;

impl Parser {
    /// Feeds bytes and appends every completed event's data to `out`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<Vec<u8>>) -> Result<(), TooLarge> {
        self.buf.extend_from_slice(chunk);
        let mut start = 0;
        while let Some(nl) = self.buf[start..].iter().position(|&b| b == b'\n') {
            let end = start + nl;
            let line = &self.buf[start..end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                if self.has_data {
                    out.push(std::mem::take(&mut self.data));
                    self.has_data = false;
                }
            } else if let Some(rest) = data_of(line) {
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(rest);
                self.has_data = true;
            }
            // Comments (":"), `event:`, `id:` and `retry:` lines carry nothing we use.
            start = end + 1;
        }
        self.buf.drain(..start);
        if self.buf.len() + self.data.len() > MAX_EVENT {
            return Err(TooLarge);
        }
        Ok(())
    }

    /// Flushes an event that the upstream ended without a blank line.
    pub fn finish(&mut self, out: &mut Vec<Vec<u8>>) {
        let rest = std::mem::take(&mut self.buf);
        if !rest.is_empty() {
            let _ = self.feed(&rest, out);
            let _ = self.feed(b"\n", out);
        }
        if self.has_data {
            out.push(std::mem::take(&mut self.data));
            self.has_data = false;
        }
    }
}

/// Appends one named event to `out`.
pub fn write_event(out: &mut Vec<u8>, name: &str, payload: &[u8]) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.push(b'\n');
    write_data(out, payload);
}

/// Appends one `data:` event to `out`.
pub fn write_data(out: &mut Vec<u8>, payload: &[u8]) {
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(payload);
    out.extend_from_slice(b"\n\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in_pieces(input: &[u8], piece: usize) -> Vec<String> {
        let mut p = Parser::default();
        let mut out = Vec::new();
        for c in input.chunks(piece) {
            p.feed(c, &mut out).unwrap();
        }
        p.finish(&mut out);
        out.into_iter()
            .map(|d| String::from_utf8(d).unwrap())
            .collect()
    }

    #[test]
    fn splits_events_whatever_the_chunking() {
        let input =
            b": comment\r\ndata: {\"a\":1}\r\n\r\nevent: x\ndata: one\ndata: two\n\ndata:tail";
        for piece in [1, 2, 3, 7, 100] {
            assert_eq!(
                parse_in_pieces(input, piece),
                vec!["{\"a\":1}", "one\ntwo", "tail"],
                "piece size {piece}"
            );
        }
    }

    #[test]
    fn refuses_unbounded_events() {
        let mut p = Parser::default();
        let mut out = Vec::new();
        let big = vec![b'x'; MAX_EVENT + 1];
        assert_eq!(p.feed(&big, &mut out), Err(TooLarge));
    }
}
