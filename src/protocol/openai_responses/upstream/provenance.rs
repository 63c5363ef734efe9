//! Provenance of OpenAI's `encrypted_content` on the native Responses path.
//!
//! OpenAI seals reasoning (and compaction) items for the organization that
//! made them; another organization's key gets `invalid_encrypted_content`
//! (openai/codex#8145). A Responses client passed through to a Responses
//! upstream therefore sees every `encrypted_content` tagged with the account
//! that made it (`lvt1:openai:<account>:<value>`, the wire form of
//! `Origin::OpenAi`), and its requests are untagged for that account, with
//! items another account made dropped. Values without the tag pass as sent.

use crate::canonical::{Origin, Signature};
use crate::protocol::anthropic::signature::{self, PREFIX, Slot};
use serde_json::{Map, Value};

const KEY: &[u8] = b"\"encrypted_content\"";

/// A value tagged with the account that made it; `None` for anything else.
pub fn tagged(value: &str) -> Option<(Signature, Slot)> {
    value
        .strip_prefix(PREFIX)?
        .starts_with("openai:")
        .then(|| signature::from_wire(value))?
}

/// The tag put before each value `account` made.
fn tag(account: &str) -> String {
    format!("{PREFIX}openai:{account}:")
}

/// An answer (a whole `response` object or one stream event) with every
/// `encrypted_content` string tagged for `account`; `None` when it holds
/// none. Bytes are inserted, not re-serialized, so everything else stays as
/// the upstream wrote it. The key is only matched unescaped and followed by
/// `:`, which text inside a JSON string cannot be.
pub fn tag_answer(account: &str, data: &[u8]) -> Option<Vec<u8>> {
    let tag = tag(account);
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut at = 0;
    while let Some(found) = find(&data[at..], KEY) {
        let mut i = at + found + KEY.len();
        at = i;
        let skip_ws = |i: &mut usize| {
            while data.get(*i).is_some_and(u8::is_ascii_whitespace) {
                *i += 1;
            }
        };
        skip_ws(&mut i);
        if data.get(i) != Some(&b':') {
            continue;
        }
        i += 1;
        skip_ws(&mut i);
        if data.get(i) != Some(&b'"') || data[i + 1..].starts_with(PREFIX.as_bytes()) {
            continue;
        }
        let buf = out.get_or_insert_with(|| Vec::with_capacity(data.len() + 64));
        buf.extend_from_slice(&data[copied..=i]);
        buf.extend_from_slice(tag.as_bytes());
        copied = i + 1;
        at = copied;
    }
    let mut out = out?;
    out.extend_from_slice(&data[copied..]);
    Some(out)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Untags the `input` items `account` made and drops those another account
/// (or another upstream) made, which OpenAI would refuse; untagged values
/// are left alone. Returns how many items were dropped.
pub fn untag_request(account: &str, body: &mut Map<String, Value>) -> usize {
    let Some(Value::Array(items)) = body.get_mut("input") else {
        return 0;
    };
    let own = Origin::OpenAi {
        account: account.to_string(),
    };
    let before = items.len();
    items.retain_mut(|item| {
        let Some(Value::String(value)) = item.get_mut("encrypted_content") else {
            return true;
        };
        if !value.starts_with(PREFIX) {
            return true;
        }
        match signature::from_wire(value) {
            Some((sig, _)) if sig.origin == own => {
                *value = sig.value;
                true
            }
            _ => false,
        }
    });
    before - items.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_are_tagged_in_place() {
        let check = |data: &str, want: Option<&str>| {
            let got = tag_answer("acc_1", data.as_bytes()).map(|v| String::from_utf8(v).unwrap());
            assert_eq!(got.as_deref(), want, "{data}");
        };
        check(
            r#"{"type":"reasoning","encrypted_content":"gAAA==","summary":[]}"#,
            Some(
                r#"{"type":"reasoning","encrypted_content":"lvt1:openai:acc_1:gAAA==","summary":[]}"#,
            ),
        );
        // Two items, spaces as a pretty-printed body has them.
        check(
            "{\"a\": {\"encrypted_content\" : \"x\"}, \"b\": {\"encrypted_content\": \"y\"}}",
            Some(
                "{\"a\": {\"encrypted_content\" : \"lvt1:openai:acc_1:x\"}, \"b\": {\"encrypted_content\": \"lvt1:openai:acc_1:y\"}}",
            ),
        );
        for untouched in [
            r#"{"encrypted_content":null}"#,
            r#"{"include":["reasoning.encrypted_content"]}"#,
            r#"{"text":"say \"encrypted_content\": \"x\""}"#,
            r#"{"encrypted_content":"lvt1:openai:acc_2:x"}"#,
        ] {
            check(untouched, None);
        }
    }

    #[test]
    fn requests_keep_only_their_own_accounts_reasoning() {
        let mut body = json!({"input": [
            {"role": "user", "content": "hi"},
            {"type": "reasoning", "summary": [], "encrypted_content": "lvt1:openai:acc_1:mine"},
            {"type": "reasoning", "summary": [], "encrypted_content": "lvt1:openai:acc_2:theirs"},
            {"type": "reasoning", "summary": [], "encrypted_content": "lvt1:gemini:thought:g:x"},
            {"type": "reasoning", "summary": [], "encrypted_content": "plain"},
        ]});
        let map = body.as_object_mut().unwrap();
        assert_eq!(untag_request("acc_1", map), 2);
        let kept: Vec<&str> = body["input"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i["encrypted_content"].as_str())
            .collect();
        assert_eq!(kept, ["mine", "plain"]);
    }
}
