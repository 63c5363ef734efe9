//! JSON text built once per distinct input, for encoders.
//!
//! Clients resend the whole conversation every turn: Claude Code's 12 tools
//! (32 KB), its system prompt (7 KB) and every earlier message come back
//! unchanged. Writing them out again (parsing and cleaning schemas,
//! escaping long strings) was most of a translation's time (issue #21).
//! Encoders keep what they wrote here, found again by the input texts.
//!
//! The key is a cheap hash of samples of the texts, seeded per process, and
//! a hit is confirmed by comparing the whole texts, so two inputs that
//! sample alike only share a bucket, never an answer. The memo is bounded:
//! past `MEMO_BYTES` it starts again empty.

use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::{Arc, LazyLock, Mutex};

const MEMO_BYTES: usize = 16 << 20;

/// Entries one bucket holds: inputs crafted to sample alike (same length,
/// same sampled words) could otherwise pile into one bucket and make every
/// lookup of it walk them under the lock; past this they are built afresh.
const BUCKET: usize = 4;

/// Words (8 bytes) hashed from each text: its two ends and places between.
const WORDS: usize = 6;

#[derive(Default)]
struct Memo {
    seed: RandomState,
    buckets: HashMap<u64, Vec<Entry>>,
    bytes: usize,
}

struct Entry {
    key: Box<[Box<str>]>,
    json: Arc<RawValue>,
}

impl Entry {
    fn is(&self, key: &[&str]) -> bool {
        self.key.len() == key.len() && self.key.iter().zip(key).all(|(a, b)| **a == **b)
    }
}

static MEMO: LazyLock<Mutex<Memo>> = LazyLock::new(Mutex::default);

/// The JSON `build` writes for `key`, built at most once while remembered.
/// `key` must hold everything the JSON depends on, starting with a name for
/// the kind of thing built, so two encoders never share an entry.
pub fn remembered(key: &[&str], build: impl FnOnce() -> Arc<RawValue>) -> Arc<RawValue> {
    let hash = {
        let memo = MEMO.lock().unwrap_or_else(|e| e.into_inner());
        let hash = sample(&memo.seed, key);
        if let Some(hit) = memo
            .buckets
            .get(&hash)
            .into_iter()
            .flatten()
            .find(|e| e.is(key))
        {
            return hit.json.clone();
        }
        hash
    };
    // Built outside the lock: cleaning a large schema takes tens of µs.
    let json = build();
    let size = key.iter().map(|k| k.len()).sum::<usize>() + json.get().len();
    let mut memo = MEMO.lock().unwrap_or_else(|e| e.into_inner());
    if memo.bytes + size > MEMO_BYTES {
        memo.buckets.clear();
        memo.bytes = 0;
    }
    let bucket = memo.buckets.entry(hash).or_default();
    if bucket.len() < BUCKET && !bucket.iter().any(|e| e.is(key)) {
        bucket.push(Entry {
            key: key.iter().map(|k| Box::from(*k)).collect(),
            json: json.clone(),
        });
        memo.bytes += size;
    }
    json
}

/// Texts at least this long are taken from the memo: what a session resends
/// each turn (system prompt, pasted files, tool results, earlier answers) is
/// escaped once. Shorter ones cost less to escape than to look up.
pub const LONG_TEXT: usize = 256;

/// A string an encoder writes, escaped once while remembered when it is
/// long (`LONG_TEXT`); borrowed from the request or built for the body.
pub struct Text<'a>(pub Cow<'a, str>);

impl Serialize for Text<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.len() >= LONG_TEXT {
            json_string(&self.0).serialize(s)
        } else {
            s.serialize_str(&self.0)
        }
    }
}

impl<'a> Text<'a> {
    /// `texts` joined by `sep`, borrowed when there is one; none when empty.
    pub fn joined(texts: &'a [String], sep: &str) -> Option<Text<'a>> {
        match texts {
            [] => None,
            [one] => Some(Text(Cow::Borrowed(one))),
            many => Some(Text(Cow::Owned(many.join(sep)))),
        }
    }
}

impl<'a> From<&'a str> for Text<'a> {
    fn from(text: &'a str) -> Self {
        Text(Cow::Borrowed(text))
    }
}

impl From<String> for Text<'_> {
    fn from(text: String) -> Self {
        Text(Cow::Owned(text))
    }
}

/// `text` as a JSON string, remembered: for long texts a session resends.
pub fn json_string(text: &str) -> Arc<RawValue> {
    remembered(&["string", text], || {
        serde_json::value::to_raw_value(text)
            .expect("a string serializes")
            .into()
    })
}

fn sample(seed: &RandomState, key: &[&str]) -> u64 {
    let mut h = seed.build_hasher();
    for text in key {
        let bytes = text.as_bytes();
        h.write_usize(bytes.len());
        if bytes.len() <= 8 * WORDS {
            h.write(bytes);
            continue;
        }
        let step = (bytes.len() - 8) / (WORDS - 1);
        for i in 0..WORDS {
            let at = if i == WORDS - 1 {
                bytes.len() - 8
            } else {
                i * step
            };
            let word = bytes[at..at + 8].try_into().expect("8 bytes");
            h.write_u64(u64::from_le_bytes(word));
        }
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_that_sample_alike_keep_their_own_json() {
        // Long texts that differ only where no sample looks: one bucket.
        let filler = "x".repeat(2_000);
        let (a, b) = (
            format!("{filler}a\"{filler}"),
            format!("{filler}b\"{filler}"),
        );
        let seed = RandomState::new();
        assert_eq!(
            sample(&seed, &["string", &a]),
            sample(&seed, &["string", &b])
        );
        let (ja, jb) = (json_string(&a), json_string(&b));
        assert_eq!(serde_json::from_str::<String>(ja.get()).unwrap(), a);
        assert_eq!(serde_json::from_str::<String>(jb.get()).unwrap(), b);
        // A hit is the same text, not a copy; keys of other kinds never meet.
        assert!(Arc::ptr_eq(&json_string(&a), &ja));
        let other = remembered(&["other", &a], || {
            RawValue::from_string("1".into()).unwrap().into()
        });
        assert_eq!(other.get(), "1");
    }
}
