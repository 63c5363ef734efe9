//! Secrets out of logged bodies: the accounts' own keys wherever they appear,
//! anything shaped like an API key or token, and the values of fields named
//! like credentials. Each becomes a hint (`sk-...abcd`), as in log lines.

use crate::store::hint;

/// Prefixes of keys and tokens issued by the providers levity talks to (and
/// its own client keys, `sk-lev-`).
const TOKEN_PREFIXES: &[&str] = &["sk-", "AIza", "ya29.", "1//", "gsk_", "xai-", "Bearer "];
/// Shorter than this after its prefix, a match is a word, not a key.
const MIN_TOKEN: usize = 16;
/// JSON fields whose string values are credentials.
const SECRET_FIELDS: &[&str] = &[
    "api_key",
    "apiKey",
    "x-api-key",
    "key",
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "password",
    "secret",
    "authorization",
];

fn token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '+' | '=')
}

/// `text` with every secret in it replaced by its hint.
pub fn redact(text: &str, known: &[&str]) -> String {
    let mut out = text.to_string();
    for secret in known.iter().filter(|s| s.len() >= 8) {
        if out.contains(secret) {
            out = out.replace(secret, &hint(secret));
        }
    }
    out = tokens(&out);
    fields(&out)
}

/// Masks runs that start with a known key prefix.
fn tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let next = TOKEN_PREFIXES
            .iter()
            .filter_map(|p| rest.find(p).map(|i| (i, *p)))
            .min_by_key(|(i, _)| *i);
        let Some((i, prefix)) = next else { break };
        let after = &rest[i + prefix.len()..];
        let len = after.find(|c| !token_char(c)).unwrap_or(after.len());
        out.push_str(&rest[..i]);
        if len >= MIN_TOKEN {
            if prefix == "Bearer " {
                out.push_str(prefix);
                out.push_str(&hint(&after[..len]));
            } else {
                out.push_str(&hint(&rest[i..i + prefix.len() + len]));
            }
        } else {
            out.push_str(&rest[i..i + prefix.len() + len]);
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// Masks the string values of credential-named JSON fields.
fn fields(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(q) = rest.find('"') {
        let name_start = q + 1;
        let Some(name_len) = rest[name_start..].find('"') else {
            break;
        };
        let name = &rest[name_start..name_start + name_len];
        let after_name = &rest[name_start + name_len + 1..];
        let trimmed = after_name.trim_start();
        let is_field = SECRET_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(name))
            && trimmed.starts_with(':')
            && trimmed[1..].trim_start().starts_with('"');
        if !is_field {
            out.push_str(&rest[..name_start + name_len + 1]);
            rest = after_name;
            continue;
        }
        let value_start = after_name.len() - trimmed[1..].trim_start().len() + 1;
        let value = &after_name[value_start..];
        let end = string_end(value);
        out.push_str(&rest[..name_start + name_len + 1]);
        out.push_str(&after_name[..value_start]);
        out.push_str(&hint(&value[..end]));
        rest = &value[end..];
    }
    out.push_str(rest);
    out
}

/// Where a JSON string's content ends (at its closing quote, escapes skipped).
fn string_end(s: &str) -> usize {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return i,
            _ => {}
        }
    }
    s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_become_hints() {
        for (input, known, expected) in [
            (
                "key sk-ant-api03-abcdefghijklmnopqrstuvwxyz done",
                &[][..],
                "key sk-...wxyz done",
            ),
            (
                r#"{"url":"https://x/v1beta?key=AIzaSyA1234567890abcdefghijklmnopqrstu"}"#,
                &[],
                r#"{"url":"https://x/v1beta?key=AIz...rstu"}"#,
            ),
            (
                "Authorization: Bearer abcdefghijklmnopqrstuvwxyz",
                &[],
                "Authorization: Bearer abc...wxyz",
            ),
            (
                r#"{"api_key": "hunter2hunter2", "n": 1}"#,
                &[],
                r#"{"api_key": "hun...ter2", "n": 1}"#,
            ),
            (
                r#"{"password":"a\"bcdefghijkl"}"#,
                &[],
                r#"{"password":"a\"...ijkl"}"#,
            ),
            (
                "my own pw: correcthorsebattery",
                &["correcthorsebattery"],
                "my own pw: cor...tery",
            ),
            // Words that only start like a key stay.
            (
                "the sk-short and AIza words",
                &[],
                "the sk-short and AIza words",
            ),
            (
                r#"{"key": 5, "keys": "visible-value"}"#,
                &[],
                r#"{"key": 5, "keys": "visible-value"}"#,
            ),
            (
                "unterminated \"key\": \"abcdefghijklmnop",
                &[],
                "unterminated \"key\": \"abc...mnop",
            ),
            ("", &[], ""),
        ] {
            assert_eq!(redact(input, known), expected, "{input}");
        }
    }

    #[test]
    fn never_panics_on_odd_text() {
        for s in [
            "\"",
            "\"key\"",
            "\"key\":",
            "\"key\": \"",
            "sk-",
            "Bearer ",
            "日本\"key\":\"語語語語語語語語語語語語\"",
        ] {
            let _ = redact(s, &["日本語"]);
        }
    }
}
