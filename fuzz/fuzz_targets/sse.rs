//! The SSE parser fed arbitrary bytes in arbitrary pieces must give the same
//! events as when fed whole, and never panic.
#![no_main]

use levity::protocol::sse::Parser;
use libfuzzer_sys::fuzz_target;

fn parse(input: &[u8], piece: usize) -> Option<Vec<Vec<u8>>> {
    let mut p = Parser::default();
    let mut out = Vec::new();
    for chunk in input.chunks(piece.max(1)) {
        p.feed(chunk, &mut out).ok()?;
    }
    p.finish(&mut out);
    Some(out)
}

fuzz_target!(|data: &[u8]| {
    let Some((&piece, input)) = data.split_first() else {
        return;
    };
    let whole = parse(input, input.len().max(1));
    let pieces = parse(input, piece as usize);
    if let (Some(a), Some(b)) = (whole, pieces) {
        assert_eq!(a, b, "events depend on how the bytes were cut");
    }
});
