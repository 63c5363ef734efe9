//! Canonical response and errors → Chat Completions JSON.

use super::types::*;
use crate::canonical::{Finish, Part, Response, Usage};
use crate::error::{Error, Kind};

pub(super) fn finish_reason(f: Option<Finish>) -> &'static str {
    match f {
        None | Some(Finish::Stop | Finish::StopSequence) => "stop",
        Some(Finish::Length) => "length",
        Some(Finish::ToolCalls) => "tool_calls",
        Some(Finish::ContentFilter) => "content_filter",
    }
}

pub(super) fn usage_out(u: &Usage) -> UsageOut {
    UsageOut {
        prompt_tokens: u.input_tokens,
        completion_tokens: u.output_tokens,
        total_tokens: u.input_tokens + u.output_tokens,
        prompt_tokens_details: PromptDetails {
            cached_tokens: u.cached_input_tokens,
        },
        completion_tokens_details: CompletionDetails {
            reasoning_tokens: u.reasoning_tokens,
        },
    }
}

pub(super) fn image_out(img: &crate::canonical::Image) -> serde_json::Value {
    serde_json::json!({"type": "image_url", "image_url": {"url": img.to_url()}})
}

pub(super) fn citation_out(c: &crate::canonical::Citation) -> serde_json::Value {
    serde_json::json!({"type": "url_citation", "url_citation": {"url": c.url, "title": c.title, "start_index": 0, "end_index": 0}})
}

pub(super) fn tool_call_out(
    call: &crate::canonical::ToolCall,
    index: Option<usize>,
) -> ToolCallOut<'_> {
    ToolCallOut {
        index,
        id: &call.id,
        kind: "function",
        function: FunctionOut {
            name: &call.name,
            arguments: call.arguments.to_string(),
        },
    }
}

/// Serializes a finished answer as a `chat.completion` object.
pub fn encode_response(resp: &Response, created: u64) -> Vec<u8> {
    let mut text = String::new();
    let mut thinking = String::new();
    let mut tool_calls = Vec::new();
    let mut images = Vec::new();
    for part in &resp.parts {
        match part {
            Part::Text(t) => text.push_str(t),
            Part::Thinking { text, .. } => thinking.push_str(text),
            Part::ToolCall(call) => tool_calls.push(tool_call_out(call, None)),
            Part::Image(img) => images.push(image_out(img)),
            Part::ToolResult { .. } => {}
        }
    }
    let body = Completion {
        id: &resp.id,
        object: "chat.completion",
        created,
        model: &resp.model,
        choices: [Choice {
            index: 0,
            message: MessageOut {
                role: "assistant",
                content: (!text.is_empty() || tool_calls.is_empty()).then_some(text),
                reasoning_content: (!thinking.is_empty()).then_some(thinking),
                tool_calls,
                images,
                annotations: resp.citations.iter().map(citation_out).collect(),
            },
            finish_reason: finish_reason(resp.finish),
        }],
        usage: usage_out(&resp.usage),
    };
    serde_json::to_vec(&body).expect("serializing owned data cannot fail")
}

/// The OpenAI error envelope: `{"error": {"message", "type", "param", "code"}}`.
pub fn encode_error(err: &Error) -> Vec<u8> {
    let (kind, code) = match err.kind {
        Kind::InvalidRequest => ("invalid_request_error", "invalid_request"),
        Kind::Authentication => ("authentication_error", "invalid_api_key"),
        Kind::PermissionDenied => ("permission_error", "permission_denied"),
        Kind::NotFound => ("invalid_request_error", "model_not_found"),
        Kind::TooLarge => ("invalid_request_error", "request_too_large"),
        Kind::SlowClient => ("invalid_request_error", "request_timeout"),
        Kind::NotJson => ("invalid_request_error", "unsupported_media_type"),
        Kind::Conflict => ("invalid_request_error", "conflict"),
        Kind::RateLimited => ("rate_limit_error", "rate_limit_exceeded"),
        Kind::Upstream => ("api_error", "upstream_error"),
        Kind::Unavailable => ("api_error", "no_account_available"),
        Kind::Timeout => ("api_error", "upstream_timeout"),
        Kind::Internal => ("api_error", "internal_error"),
    };
    // A prompt past the window gets OpenAI's own code, which Codex and the
    // SDKs' users act on.
    let code = if err.overflow.is_some() {
        "context_length_exceeded"
    } else {
        code
    };
    serde_json::to_vec(&serde_json::json!({
        "error": {
            "message": err.message,
            "type": kind,
            "param": err.param,
            "code": code,
        }
    }))
    .expect("serializable")
}
