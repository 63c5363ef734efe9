//! Canonical answers and errors → Gemini responses, and the shapes the
//! stream encoder shares with them (chunks, parts, usage, grounding).

use crate::canonical::{Finish, Image, Part, Response, Signature, Usage};
use crate::error::{Error, Kind};
use serde_json::{Value, json};

pub(super) fn finish_name(f: Option<Finish>) -> &'static str {
    match f {
        Some(Finish::Length) => "MAX_TOKENS",
        Some(Finish::ContentFilter) => "SAFETY",
        _ => "STOP",
    }
}

pub(super) fn usage_json(u: &Usage) -> Value {
    json!({"promptTokenCount": u.input_tokens, "candidatesTokenCount": u.output_tokens.saturating_sub(u.reasoning_tokens),
        "thoughtsTokenCount": u.reasoning_tokens, "cachedContentTokenCount": u.cached_input_tokens,
        "totalTokenCount": u.input_tokens + u.output_tokens})
}

pub(super) fn part_json(part: &Part) -> Option<Value> {
    // Gemini's own signatures go raw, as Gemini clients expect; OpenAI's
    // carry their account (Anthropic's wire form, raw for Anthropic's own).
    let sig = |s: &Option<Signature>| {
        s.as_ref().map(|s| match s.origin {
            crate::canonical::Origin::OpenAi { .. } => {
                crate::protocol::anthropic::signature::to_wire(
                    s,
                    crate::protocol::anthropic::signature::Slot::Thought,
                )
            }
            _ => s.value.clone(),
        })
    };
    Some(match part {
        Part::Text(t) => json!({"text": t}),
        Part::Thinking {
            text, signature, ..
        } => {
            let mut p = json!({"text": text, "thought": true});
            if let Some(s) = sig(signature) {
                p["thoughtSignature"] = json!(s);
            }
            p
        }
        Part::ToolCall(c) => {
            let mut p = json!({"functionCall": {"id": c.id, "name": c.name, "args": c.arguments}});
            if let Some(s) = sig(&c.signature) {
                p["thoughtSignature"] = json!(s);
            }
            p
        }
        Part::Image(Image::Inline { mime_type, data }) => {
            json!({"inlineData": {"mimeType": mime_type, "data": data}})
        }
        Part::Image(Image::Url { .. }) | Part::ToolResult { .. } => return None,
    })
}

pub(super) fn chunk(
    parts: Vec<Value>,
    finish: Option<Finish>,
    usage: Option<&Usage>,
    model: &str,
    id: &str,
) -> Value {
    let mut candidate = json!({"content": {"role": "model", "parts": parts}, "index": 0});
    if finish.is_some() {
        candidate["finishReason"] = json!(finish_name(finish));
    }
    let mut c = json!({"candidates": [candidate], "modelVersion": model, "responseId": id});
    if let Some(u) = usage {
        c["usageMetadata"] = usage_json(u);
    }
    c
}

/// Sources as Gemini's `groundingMetadata`.
pub(super) fn grounding(citations: &[crate::canonical::Citation]) -> Value {
    json!({"groundingChunks": citations.iter().map(|c| json!({"web": {"uri": c.url, "title": c.title}})).collect::<Vec<_>>()})
}

pub fn encode_response(resp: &Response) -> Vec<u8> {
    let parts = resp.parts.iter().filter_map(part_json).collect();
    let mut body = chunk(
        parts,
        Some(resp.finish.unwrap_or(Finish::Stop)),
        Some(&resp.usage),
        &resp.model,
        &resp.id,
    );
    if !resp.citations.is_empty() {
        body["candidates"][0]["groundingMetadata"] = grounding(&resp.citations);
    }
    serde_json::to_vec(&body).expect("serializable")
}

/// Google's error envelope: `{"error": {"code", "message", "status"}}`.
pub fn encode_error(err: &Error) -> Vec<u8> {
    let status = match err.kind {
        Kind::InvalidRequest | Kind::TooLarge | Kind::NotJson => "INVALID_ARGUMENT",
        Kind::Conflict => "FAILED_PRECONDITION",
        Kind::SlowClient => "CANCELLED",
        Kind::Authentication => "UNAUTHENTICATED",
        Kind::PermissionDenied => "PERMISSION_DENIED",
        Kind::NotFound => "NOT_FOUND",
        Kind::RateLimited => "RESOURCE_EXHAUSTED",
        Kind::Unavailable => "UNAVAILABLE",
        Kind::Timeout => "DEADLINE_EXCEEDED",
        Kind::Upstream | Kind::Internal => "INTERNAL",
    };
    serde_json::to_vec(
        &json!({"error": {"code": err.status(), "message": err.message, "status": status}}),
    )
    .expect("serializable")
}

/// `{"totalTokens": n}`, as `:countTokens` answers.
pub fn encode_count(n: u64) -> Vec<u8> {
    json!({"totalTokens": n}).to_string().into_bytes()
}
