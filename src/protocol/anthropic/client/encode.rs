//! Canonical response and errors → Anthropic Messages JSON.

use super::types::*;
use crate::canonical::{Finish, Part, Response, Usage};
use crate::error::{Error, Kind};
use crate::protocol::anthropic::signature::{Slot, to_wire};

pub fn stop_reason(f: Option<Finish>) -> &'static str {
    match f {
        None | Some(Finish::Stop) => "end_turn",
        Some(Finish::StopSequence) => "stop_sequence",
        Some(Finish::Length) => "max_tokens",
        Some(Finish::ToolCalls) => "tool_use",
        Some(Finish::ContentFilter) => "refusal",
    }
}

pub fn usage_out(u: &Usage) -> UsageOut {
    UsageOut {
        // Anthropic's input counts neither cache reads nor cache writes.
        input_tokens: u
            .input_tokens
            .saturating_sub(u.cached_input_tokens + u.cache_write_tokens),
        output_tokens: u.output_tokens,
        cache_read_input_tokens: u.cached_input_tokens,
        cache_creation_input_tokens: u.cache_write_tokens,
    }
}

/// Anthropic ids look like `msg_...`; keep the upstream's id inside for tracing.
pub fn message_id(id: &str) -> String {
    if id.starts_with("msg_") {
        id.to_string()
    } else {
        format!("msg_{id}")
    }
}

/// A web source as Anthropic's `web_search_result_location` citation.
pub fn citation(c: &crate::canonical::Citation) -> serde_json::Value {
    serde_json::json!({"type": "web_search_result_location", "url": c.url, "title": c.title,
        "cited_text": c.text.clone().unwrap_or_default(), "encrypted_index": ""})
}

/// An image the model made, as an Anthropic `image` block.
pub fn image_block(img: &crate::canonical::Image) -> serde_json::Value {
    match img {
        crate::canonical::Image::Inline { mime_type, data } => {
            serde_json::json!({"type": "image", "source": {"type": "base64", "media_type": mime_type, "data": data}})
        }
        crate::canonical::Image::Url { url, .. } => {
            serde_json::json!({"type": "image", "source": {"type": "url", "url": url}})
        }
    }
}

/// Serializes a finished answer as a `message` object.
pub fn encode_response(resp: &Response) -> Vec<u8> {
    let mut content: Vec<BlockOut<'_>> = Vec::with_capacity(resp.parts.len() + 1);
    for part in &resp.parts {
        match part {
            Part::Thinking {
                text, signature, ..
            } => content.push(BlockOut::Thinking {
                thinking: text,
                signature: signature
                    .as_ref()
                    .map(|s| to_wire(s, Slot::Thought))
                    .unwrap_or_default(),
            }),
            Part::Text(text) => content.push(BlockOut::Text { text }),
            Part::ToolCall(call) => {
                if let Some(sig) = &call.signature {
                    // The call's signature rides on the thinking block before it.
                    let wire = to_wire(sig, Slot::Call);
                    match content.last_mut() {
                        Some(BlockOut::Thinking { signature, .. }) if signature.is_empty() => {
                            *signature = wire;
                        }
                        _ => content.push(BlockOut::Thinking {
                            thinking: "",
                            signature: wire,
                        }),
                    }
                }
                content.push(BlockOut::ToolUse {
                    id: &call.id,
                    name: &call.name,
                    input: &call.arguments,
                });
            }
            Part::Image(img) => content.push(BlockOut::Image(image_block(img))),
            Part::ToolResult { .. } => {}
        }
    }
    // Sources ride on the answer's last text block.
    if !resp.citations.is_empty() {
        let last_text = content
            .iter()
            .rposition(|b| matches!(b, BlockOut::Text { .. }));
        let cited: Vec<serde_json::Value> = resp.citations.iter().map(citation).collect();
        match last_text {
            Some(i) => {
                if let BlockOut::Text { text } = content[i] {
                    content[i] = BlockOut::Image(
                        serde_json::json!({"type": "text", "text": text, "citations": cited}),
                    );
                }
            }
            None => content.push(BlockOut::Image(
                serde_json::json!({"type": "text", "text": "", "citations": cited}),
            )),
        }
    }
    let id = message_id(&resp.id);
    let body = MessageOut {
        id: &id,
        kind: "message",
        role: "assistant",
        model: &resp.model,
        content,
        stop_reason: Some(stop_reason(resp.finish)),
        stop_sequence: None,
        usage: usage_out(&resp.usage),
    };
    serde_json::to_vec(&body).expect("serializing owned data cannot fail")
}

/// The Anthropic error envelope: `{"type": "error", "error": {"type", "message"}}`.
pub fn encode_error(err: &Error) -> Vec<u8> {
    let kind = match err.kind {
        Kind::InvalidRequest | Kind::SlowClient | Kind::NotJson | Kind::Conflict => {
            "invalid_request_error"
        }
        Kind::Authentication => "authentication_error",
        Kind::PermissionDenied => "permission_error",
        Kind::NotFound => "not_found_error",
        Kind::TooLarge => "request_too_large",
        Kind::RateLimited => "rate_limit_error",
        Kind::Unavailable => "overloaded_error",
        Kind::Upstream | Kind::Timeout | Kind::Internal => "api_error",
    };
    serde_json::to_vec(&serde_json::json!({
        "type": "error",
        "error": {"type": kind, "message": message(err)},
    }))
    .expect("serializable")
}

/// The message a client reads. A prompt past the window is said in
/// Anthropic's own words, "prompt is too long: N tokens > M maximum", which
/// Claude Code reacts to by compacting, whichever upstream said it.
fn message(err: &Error) -> String {
    match err.overflow {
        Some(o) => {
            let max = o.max.unwrap_or(0);
            let tokens = o.tokens.unwrap_or(max + 1);
            format!(
                "prompt is too long: {tokens} tokens > {max} maximum ({})",
                err.message
            )
        }
        None => err.message.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::usage_out;

    /// An Anthropic client gets cache reads and writes back in their own
    /// fields, its `input_tokens` without either, as Anthropic reports them.
    #[test]
    fn cache_reads_and_writes_go_back_in_their_fields() {
        let u = crate::canonical::Usage {
            input_tokens: 100,
            cached_input_tokens: 20,
            cache_write_tokens: 30,
            output_tokens: 10,
            ..Default::default()
        };
        let out = usage_out(&u);
        assert_eq!(
            (
                out.input_tokens,
                out.cache_read_input_tokens,
                out.cache_creation_input_tokens
            ),
            (50, 20, 30)
        );
    }
}
