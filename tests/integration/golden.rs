//! Golden files: what a test produced, compared with what is checked in.
//! A mismatch fails with a line diff; `UPDATE_CORPUS=1` writes the files
//! instead (and only then), so a change in behaviour is always a reviewed
//! change in `git diff`.

use serde_json::{Map, Value};
use std::collections::HashMap;

/// Compares `value` with the JSON file at `path` (relative to the crate),
/// after `stable` has taken out what differs from run to run.
pub fn check(path: &str, value: &Value) {
    let full = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    let got = serde_json::to_string_pretty(value).expect("JSON") + "\n";
    if std::env::var_os("UPDATE_CORPUS").is_some() {
        if let Some(dir) = std::path::Path::new(&full).parent() {
            std::fs::create_dir_all(dir).expect("create the golden folder");
        }
        std::fs::write(&full, &got).expect("write the golden file");
        return;
    }
    let want = std::fs::read_to_string(&full).unwrap_or_default();
    if want != got {
        panic!(
            "{path} differs from what the test produced (- checked in, + now); \
             if the change is intended, run the test with UPDATE_CORPUS=1 and review `git diff`\n{}",
            diff(&want, &got)
        );
    }
}

/// The changed lines with three lines of context around each run of changes.
fn diff(want: &str, got: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    // Longest common subsequence table, from the ends; golden files are small.
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut lines = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            lines.push((' ', a[i]));
            (i, j) = (i + 1, j + 1);
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            lines.push(('+', b[j]));
            j += 1;
        } else {
            lines.push(('-', a[i]));
            i += 1;
        }
    }
    let near = |k: usize| {
        lines[k.saturating_sub(3)..(k + 4).min(lines.len())]
            .iter()
            .any(|(m, _)| *m != ' ')
    };
    let mut out = String::new();
    let mut skipped = false;
    for (k, (mark, line)) in lines.iter().enumerate() {
        if near(k) {
            out.push_str(&format!("{mark} {line}\n"));
            skipped = false;
        } else if !skipped {
            out.push_str("  ...\n");
            skipped = true;
        }
    }
    out
}

/// `value` without what changes from run to run: a streamed answer becomes
/// its list of events, timestamps become 0, every id becomes `<id N>` (and
/// every sealed `encrypted_content` `<sealed N>`),
/// N counting distinct ids in order of first appearance, so an id echoed
/// back (a tool call's, a response's) still reads as the same id.
pub fn stable(value: &Value) -> Value {
    let mut ids = HashMap::new();
    walk(value, None, &mut ids)
}

fn walk(value: &Value, key: Option<&str>, ids: &mut HashMap<String, usize>) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), walk(v, Some(k), ids)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| walk(v, key, ids)).collect()),
        Value::Number(_) if matches!(key, Some("created" | "created_at")) => Value::from(0),
        Value::String(s) if key.is_some_and(is_id) => {
            let n = ids.len() + 1;
            Value::String(format!("<id {}>", ids.entry(s.clone()).or_insert(n)))
        }
        // Sealed with a fresh nonce each time.
        Value::String(s) if key == Some("encrypted_content") => {
            let n = ids.len() + 1;
            Value::String(format!("<sealed {}>", ids.entry(s.clone()).or_insert(n)))
        }
        // An answer kept as text: a JSON body or an event stream.
        Value::String(s) if key == Some("client_response") => match body(s) {
            Some(parsed) => walk(&parsed, None, ids),
            None => value.clone(),
        },
        // Account ids travel inside other values (reasoning tagged with
        // the account that made it).
        Value::String(s) if s.contains("acc_") => Value::String(accounts(s, ids)),
        _ => value.clone(),
    }
}

/// `s` with each `acc_` + 12 hex digits (a random account id) as `acc_<N>`.
fn accounts(s: &str, ids: &mut HashMap<String, usize>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find("acc_") {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 4..];
        let hex = tail.len() >= 12 && tail[..12].bytes().all(|b| b.is_ascii_hexdigit());
        if hex {
            let n = ids.len() + 1;
            let n = *ids.entry(rest[at..at + 16].to_string()).or_insert(n);
            out.push_str(&format!("acc_<{n}>"));
            rest = &tail[12..];
        } else {
            out.push_str("acc_");
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

fn is_id(key: &str) -> bool {
    key == "id" || key.ends_with("_id") || key.ends_with("Id")
}

/// A JSON body as itself; an SSE stream as `[{"event": .., "data": ..}]`.
fn body(text: &str) -> Option<Value> {
    if let Ok(v) = serde_json::from_str(text) {
        return Some(v);
    }
    let events: Vec<Value> = text
        .split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut event = Map::new();
            for line in block.lines() {
                let (field, rest) = line.split_once(':').unwrap_or((line, ""));
                let rest = rest.strip_prefix(' ').unwrap_or(rest);
                let parsed = match field {
                    "data" => serde_json::from_str(rest).unwrap_or_else(|_| Value::from(rest)),
                    _ => Value::from(rest),
                };
                event.insert(field.to_string(), parsed);
            }
            Value::Object(event)
        })
        .collect();
    (!events.is_empty()).then_some(Value::Array(events))
}
