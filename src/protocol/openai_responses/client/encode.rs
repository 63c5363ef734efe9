//! Canonical response → a Responses `response` object, and the output items
//! both the whole answer and the stream are made of.

use super::Vault;
use super::types::SealedState;
use crate::canonical::{Citation, Finish, Origin, Part, Response, Signature, ToolCall, Usage};
use crate::error::Error;
use crate::protocol::openai_responses::NAMESPACE_SEP;
use serde_json::{Value, json};

pub fn sealed(vault: &dyn Vault, sig: &Signature, call: bool) -> String {
    let origin = match &sig.origin {
        Origin::Anthropic => "anthropic".to_string(),
        Origin::Gemini { model } => format!("gemini:{model}"),
        Origin::OpenAi { account } => format!("openai:{account}"),
    };
    let state = SealedState {
        origin,
        value: sig.value.clone(),
        call,
    };
    vault.seal(&serde_json::to_vec(&state).expect("serializable"))
}

/// What a compaction item levity hands out carries, sealed: its summary of
/// the turns the item replaces.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct CompactionState {
    pub compaction: String,
}

/// The one `compaction` item a compaction answers with (Codex requires
/// exactly one: "remote compaction v2 expected exactly one compaction output
/// item").
pub fn compaction_item(id: &str, vault: &dyn Vault, summary: &str) -> Value {
    let state = CompactionState {
        compaction: summary.to_string(),
    };
    let sealed = vault.seal(&serde_json::to_vec(&state).expect("serializable"));
    json!({"type": "compaction", "id": id, "encrypted_content": sealed})
}

pub fn reasoning_item(id: &str, summary: &str, encrypted: Option<String>) -> Value {
    let summary = if summary.is_empty() {
        json!([])
    } else {
        json!([{"type": "summary_text", "text": summary}])
    };
    let mut item = json!({"type": "reasoning", "id": id, "summary": summary});
    if let Some(e) = encrypted {
        item["encrypted_content"] = json!(e);
    }
    item
}

pub fn message_item(id: &str, text: &str, status: &str, citations: &[Citation]) -> Value {
    json!({"type": "message", "id": id, "status": status, "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": annotations(citations)}]})
}

/// Web sources as `url_citation` annotations.
pub fn annotations(citations: &[Citation]) -> Value {
    citations
        .iter()
        .map(|c| json!({"type": "url_citation", "url": c.url, "title": c.title, "start_index": 0, "end_index": 0}))
        .collect()
}

/// A function call, with its namespace restored from the flattened name.
pub fn call_item(id: &str, call: &ToolCall, arguments: &str, status: &str) -> Value {
    let mut item = json!({"type": "function_call", "id": id, "call_id": call.id, "arguments": arguments, "status": status});
    match call.name.split_once(NAMESPACE_SEP) {
        Some((ns, name)) => {
            item["name"] = json!(name);
            item["namespace"] = json!(ns);
        }
        None => item["name"] = json!(call.name),
    }
    item
}

/// An image the model made, as the `image_generation_call` item Responses uses.
pub fn image_item(id: &str, img: &crate::canonical::Image) -> Value {
    let result = match img {
        crate::canonical::Image::Inline { data, .. } => data.clone(),
        crate::canonical::Image::Url { url, .. } => url.clone(),
    };
    json!({"type": "image_generation_call", "id": id, "status": "completed", "result": result})
}

pub fn usage_json(u: &Usage) -> Value {
    json!({"input_tokens": u.input_tokens, "input_tokens_details": {"cached_tokens": u.cached_input_tokens},
        "output_tokens": u.output_tokens, "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
        "total_tokens": u.input_tokens + u.output_tokens})
}

/// The `response` object around `output`.
pub fn response_json(
    id: &str,
    model: &str,
    created: u64,
    status: &str,
    output: Vec<Value>,
    usage: Option<&Usage>,
    finish: Option<Finish>,
) -> Value {
    let incomplete =
        (finish == Some(Finish::Length)).then(|| json!({"reason": "max_output_tokens"}));
    json!({
        "id": id, "object": "response", "created_at": created, "status": status, "model": model,
        "output": output, "usage": usage.map(usage_json), "error": null,
        "incomplete_details": incomplete, "parallel_tool_calls": true, "tool_choice": "auto", "tools": [],
        "store": false, "text": {"format": {"type": "text"}},
    })
}

pub fn response_id(id: &str) -> String {
    if id.starts_with("resp_") {
        id.to_string()
    } else {
        format!("resp_{id}")
    }
}

/// A compaction's answer: the `response` object holding the one compaction
/// item, or the stream of events a streamed request gets (created, the
/// item added and done, completed with the summary's usage).
pub fn compaction_answer(
    id: &str,
    model: &str,
    created: u64,
    item: Value,
    usage: &Usage,
    stream: bool,
) -> Vec<u8> {
    let id = response_id(id);
    let done = response_json(
        &id,
        model,
        created,
        "completed",
        vec![item.clone()],
        Some(usage),
        None,
    );
    if !stream {
        return done.to_string().into_bytes();
    }
    let started = response_json(&id, model, created, "in_progress", Vec::new(), None, None);
    let events = [
        ("response.created", json!({"response": started})),
        ("response.in_progress", json!({"response": started})),
        (
            "response.output_item.added",
            json!({"output_index": 0, "item": item}),
        ),
        (
            "response.output_item.done",
            json!({"output_index": 0, "item": item}),
        ),
        ("response.completed", json!({"response": done})),
    ];
    let mut out = Vec::new();
    for (seq, (kind, mut data)) in events.into_iter().enumerate() {
        data["type"] = json!(kind);
        data["sequence_number"] = json!(seq);
        out.extend_from_slice(format!("event: {kind}\ndata: {data}\n\n").as_bytes());
    }
    out
}

/// A streamed request that failed before its answer began, as the stream
/// Responses clients read errors from: created, then `response.failed`
/// with the error's code (Codex compacts on `context_length_exceeded`).
pub fn failed_stream(id: &str, model: &str, created: u64, err: &Error) -> Vec<u8> {
    let id = response_id(id);
    let started = response_json(&id, model, created, "in_progress", Vec::new(), None, None);
    let mut failed = response_json(&id, model, created, "failed", Vec::new(), None, None);
    failed["error"] = json!({"code": super::stream::error_code(err), "message": err.message});
    let mut out = Vec::new();
    for (seq, (kind, data)) in [
        ("response.created", json!({"response": started})),
        ("response.failed", json!({"response": failed})),
    ]
    .into_iter()
    .enumerate()
    {
        let mut data = data;
        data["type"] = json!(kind);
        data["sequence_number"] = json!(seq);
        out.extend_from_slice(format!("event: {kind}\ndata: {data}\n\n").as_bytes());
    }
    out
}

/// Serializes a finished answer as a `response` object.
pub fn encode_response(resp: &Response, created: u64, vault: &dyn Vault) -> Vec<u8> {
    let mut output: Vec<Value> = Vec::new();
    let mut text = String::new();
    let flush_text = |text: &mut String, output: &mut Vec<Value>| {
        if !text.is_empty() {
            output.push(message_item(
                &format!("msg_{}_{}", resp.id, output.len()),
                text,
                "completed",
                &resp.citations,
            ));
            text.clear();
        }
    };
    for part in &resp.parts {
        match part {
            Part::Text(t) => text.push_str(t),
            Part::Thinking {
                text: thought,
                signature,
                ..
            } => {
                flush_text(&mut text, &mut output);
                let encrypted = signature.as_ref().map(|s| sealed(vault, s, false));
                output.push(reasoning_item(
                    &format!("rs_{}_{}", resp.id, output.len()),
                    thought,
                    encrypted,
                ));
            }
            Part::ToolCall(call) => {
                flush_text(&mut text, &mut output);
                if let Some(sig) = &call.signature {
                    output.push(reasoning_item(
                        &format!("rs_{}_{}", resp.id, output.len()),
                        "",
                        Some(sealed(vault, sig, true)),
                    ));
                }
                let args = call.arguments.to_string();
                output.push(call_item(
                    &format!("fc_{}_{}", resp.id, output.len()),
                    call,
                    &args,
                    "completed",
                ));
            }
            Part::Image(img) => {
                flush_text(&mut text, &mut output);
                output.push(image_item(&format!("ig_{}_{}", resp.id, output.len()), img));
            }
            Part::ToolResult { .. } => {}
        }
    }
    flush_text(&mut text, &mut output);
    let status = if resp.finish == Some(Finish::Length) {
        "incomplete"
    } else {
        "completed"
    };
    let body = response_json(
        &response_id(&resp.id),
        &resp.model,
        created,
        status,
        output,
        Some(&resp.usage),
        resp.finish,
    );
    serde_json::to_vec(&body).expect("serializable")
}

/// HTTP errors use the same envelope as Chat Completions.
pub fn encode_error(err: &Error) -> Vec<u8> {
    crate::protocol::openai_chat::encode_error(err)
}
