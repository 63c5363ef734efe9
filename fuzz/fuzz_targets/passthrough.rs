//! The check on streams levity passes through, fed arbitrary upstream bytes
//! in arbitrary pieces. Whatever the upstream sends, the client must get
//! either exactly those bytes (and, for Gemini's JSON array, only when they
//! are a valid array) or a body that still parses in its protocol: for the
//! array, a valid JSON array whose last element is the error.
#![no_main]

use bytes::Bytes;
use levity::server::Wire;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use serde_json::value::RawValue;

const WIRES: [Wire; 4] = [
    Wire::Gemini { sse: false },
    Wire::Gemini { sse: true },
    Wire::Anthropic,
    Wire::OpenAiChat,
];

/// The elements of a JSON array in UTF-8, by the grammar (serde's `Value`
/// would also refuse lone surrogate escapes, which JSON allows).
fn elements(bytes: &[u8]) -> Option<Vec<Box<RawValue>>> {
    serde_json::from_str(std::str::from_utf8(bytes).ok()?).ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, input)) = data.split_first() else {
        return;
    };
    let wire = WIRES[usize::from(pick & 3)];
    let piece = usize::from(pick >> 2).max(1);
    let mut inspector = wire.inspector();
    let mut client = Vec::new();
    let mut failure = None;
    for chunk in input.chunks(piece) {
        match inspector.feed(Bytes::copy_from_slice(chunk)) {
            Ok(passed) => client.extend_from_slice(&passed),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    if failure.is_none() {
        match inspector.end() {
            Ok(tail) => client.extend_from_slice(&tail),
            Err(e) => failure = Some(e),
        }
    }
    match failure {
        None => {
            assert_eq!(client, input, "passed bytes differ from the upstream's");
            if wire == (Wire::Gemini { sse: false }) {
                assert!(elements(input).is_some(), "an invalid array passed");
            }
        }
        Some(e) if wire == (Wire::Gemini { sse: false }) => {
            client.extend_from_slice(&inspector.error(&wire.stream_error(&e)));
            let Some(got) = elements(&client) else {
                panic!(
                    "the client got no valid array: {}",
                    String::from_utf8_lossy(&client)
                );
            };
            let last: Value = serde_json::from_str(got.last().expect("an error").get())
                .expect("levity's own error element");
            assert!(
                last["error"].is_object(),
                "the last element is not the error"
            );
        }
        Some(_) => {}
    }
});
