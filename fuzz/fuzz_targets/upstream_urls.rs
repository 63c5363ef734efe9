//! Model names and Gemini paths into upstream URLs: whatever a client
//! sends, the name either is refused or becomes exactly one path segment
//! that decodes back to itself, so no name adds a segment, a query or a
//! fragment (issue #14's `cachedContents` traversal). The first byte picks
//! levity's method; the rest is the name, as a client path or body gives it.
#![no_main]

use levity::canonical::model_name_error;
use levity::provider::method_url;
use libfuzzer_sys::fuzz_target;

const METHODS: [&str; 3] = [
    "generateContent",
    "streamGenerateContent?alt=sse",
    "countTokens",
];
const BASE: &str = "https://generativelanguage.googleapis.com/v1beta/models/";

fn decode(seg: &str) -> Vec<u8> {
    let b = seg.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).expect("two hex digits");
            out.push(u8::from_str_radix(hex, 16).expect("hex"));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(name) = std::str::from_utf8(rest) else {
        return;
    };
    let method = METHODS[pick as usize % METHODS.len()];
    // Every name, accepted or not, is one encoded segment.
    let url = method_url(
        "https://generativelanguage.googleapis.com",
        "/v1beta/models/",
        name,
        method,
    );
    let tail = url.strip_prefix(BASE).expect("base and path kept");
    let (seg, verb) = tail.split_once(':').expect("the verb follows the name");
    assert!(
        seg.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-._~%".contains(&c)),
        "{seg}"
    );
    assert_eq!(decode(seg), name.as_bytes(), "{url}");
    assert_eq!(verb, method, "{url}");
    // What passes the check is a name real ids look like.
    if model_name_error(name).is_none() {
        let bare = name.strip_prefix("models/").unwrap_or(name);
        assert!(!bare.is_empty() && name.len() <= 200, "{name:?}");
        assert!(
            bare.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-_:@/".contains(c)),
            "{name:?}"
        );
        assert!(
            bare.split('/')
                .all(|s| !s.is_empty() && s != "." && s != ".."),
            "{name:?}"
        );
    }
});
