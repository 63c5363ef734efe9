//! The fake upstream's OpenAI Responses API (`POST /v1/responses`), answering
//! as OpenAI does. Sources, for every shape below:
//! - openai/openai-python (commit e43b422) `src/openai/types/responses/`:
//!   `response.py` (the `response` object, `status`, `incomplete_details`),
//!   `response_usage.py` (`input_tokens_details.cached_tokens`,
//!   `output_tokens_details.reasoning_tokens`), `response_reasoning_item.py`
//!   (`summary`, `encrypted_content`: "When streaming, use the completed
//!   reasoning item and its `encrypted_content` from the
//!   `response.output_item.done` event"), `response_function_tool_call.py`,
//!   `response_output_message.py`, and one `response_*_event.py` per event,
//!   each with `type` and `sequence_number`;
//! - developers.openai.com/docs/guides/streaming-responses: SSE events
//!   `event: <type>` / `data: <json>`, starting with `response.created`,
//!   ending with `response.completed` (no `[DONE]`);
//! - openai/codex#8145 and #8119: the 400 `invalid_encrypted_content` body
//!   OpenAI answers reasoning it cannot verify (another organization's).
//!
//! Like OpenAI, the fake binds `encrypted_content` to the key that received
//! it and refuses any other.

use super::fake::Reply;
use serde_json::{Value, json};

pub fn is_responses(path: &str) -> bool {
    path.ends_with("/responses")
}

/// What the fake seals for `key`: only that key's requests may bring it back.
pub fn sealed_for(key: &str) -> String {
    let tail: String = key.chars().rev().take(8).collect();
    format!("gAAAAABfake-{tail}==")
}

/// OpenAI's refusal of reasoning sealed for another organization.
pub fn refusal(body: &Value, key: &str) -> Option<Value> {
    let own = sealed_for(key);
    let foreign = body["input"]
        .as_array()?
        .iter()
        .filter_map(|i| i["encrypted_content"].as_str())
        .find(|e| *e != own)?;
    let shown = format!(
        "{}...{}",
        &foreign[..4.min(foreign.len())],
        &foreign[foreign.len().saturating_sub(4)..]
    );
    Some(
        json!({"error": {"message": format!("The encrypted content {shown} could not be verified."),
        "type": "invalid_request_error", "param": null, "code": "invalid_encrypted_content"}}),
    )
}

/// The reply to the newest input item: a tool's output, or the user's command.
pub fn reply(body: &Value) -> Reply {
    let items = match &body["input"] {
        Value::String(s) => {
            return super::fake::command(s).unwrap_or(Reply::Text(format!("echo: {s}")));
        }
        Value::Array(items) => items.clone(),
        _ => Vec::new(),
    };
    let last = items.last().cloned().unwrap_or_default();
    if last["type"] == "function_call_output" {
        return Reply::Text(format!(
            "tool result: {}",
            last["output"].as_str().unwrap_or("")
        ));
    }
    let text = super::fake::content_text(&last["content"]);
    super::fake::command_in(&text).unwrap_or_else(|| Reply::Text(format!("echo: {text}")))
}

fn thinking(req: &Value) -> bool {
    req["reasoning"].is_object()
}

/// The output items of an answer.
fn output(req: &Value, reply: &Reply, key: &str) -> Vec<Value> {
    let mut out = Vec::new();
    if thinking(req) {
        let summary = if req["reasoning"]["summary"].is_string() {
            json!([{"type": "summary_text", "text": "**Weighing it** reasoning it out"}])
        } else {
            json!([])
        };
        let mut item = json!({"id": "rs_fake_1", "type": "reasoning", "summary": summary});
        let included = req["include"]
            .as_array()
            .is_some_and(|i| i.iter().any(|v| v == "reasoning.encrypted_content"));
        if included {
            item["encrypted_content"] = json!(sealed_for(key));
        }
        out.push(item);
    }
    out.push(match reply {
        Reply::Text(t) => json!({"id": "msg_fake_1", "type": "message", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": t, "annotations": [], "logprobs": []}]}),
        Reply::Call { name, args } => json!({"id": "fc_fake_1", "type": "function_call", "status": "completed",
            "call_id": "call_fake_1", "name": name, "arguments": args.to_string()}),
    });
    out
}

fn usage(req: &Value) -> Value {
    let reasoning = if thinking(req) { 5 } else { 0 };
    json!({"input_tokens": 21, "input_tokens_details": {"cached_tokens": 4},
        "output_tokens": 9 + reasoning, "output_tokens_details": {"reasoning_tokens": reasoning}, "total_tokens": 30 + reasoning})
}

fn response(req: &Value, status: &str, output: Vec<Value>, usage: Value) -> Value {
    json!({"id": "resp_fake_1", "object": "response", "created_at": 1_760_000_000, "status": status,
        "error": null, "incomplete_details": null, "instructions": req["instructions"], "max_output_tokens": req["max_output_tokens"],
        "model": req["model"], "output": output, "parallel_tool_calls": true, "previous_response_id": null,
        "reasoning": {"effort": req["reasoning"]["effort"], "summary": req["reasoning"]["summary"]},
        "store": req["store"], "temperature": 1.0, "text": {"format": {"type": "text"}}, "tool_choice": "auto",
        "tools": req["tools"].as_array().cloned().unwrap_or_default(), "top_p": 1.0, "truncation": "disabled",
        "usage": usage})
}

/// A whole (not streamed) answer.
pub fn body(req: &Value, reply: &Reply, key: &str) -> Value {
    response(req, "completed", output(req, reply, key), usage(req))
}

/// A streamed answer's events, in order, each numbered.
pub fn events(req: &Value, reply: &Reply, key: &str) -> Vec<String> {
    let items = output(req, reply, key);
    let mut events = vec![
        json!({"type": "response.created", "response": response(req, "in_progress", vec![], Value::Null)}),
        json!({"type": "response.in_progress", "response": response(req, "in_progress", vec![], Value::Null)}),
    ];
    for (i, item) in items.iter().enumerate() {
        let id = &item["id"];
        let mut added = item.clone();
        match item["type"].as_str().unwrap() {
            "reasoning" => {
                // Not final until `output_item.done`.
                added.as_object_mut().unwrap().remove("encrypted_content");
                added["summary"] = json!([]);
                events.push(
                    json!({"type": "response.output_item.added", "output_index": i, "item": added}),
                );
                for (s, part) in item["summary"].as_array().unwrap().iter().enumerate() {
                    let text = part["text"].as_str().unwrap();
                    let (a, b) = text.split_at(text.len() / 2);
                    events.push(json!({"type": "response.reasoning_summary_part.added", "item_id": id, "output_index": i, "summary_index": s, "part": {"type": "summary_text", "text": ""}}));
                    for d in [a, b] {
                        events.push(json!({"type": "response.reasoning_summary_text.delta", "item_id": id, "output_index": i, "summary_index": s, "delta": d}));
                    }
                    events.push(json!({"type": "response.reasoning_summary_text.done", "item_id": id, "output_index": i, "summary_index": s, "text": text}));
                    events.push(json!({"type": "response.reasoning_summary_part.done", "item_id": id, "output_index": i, "summary_index": s, "part": part}));
                }
            }
            "message" => {
                added["status"] = json!("in_progress");
                added["content"] = json!([]);
                events.push(
                    json!({"type": "response.output_item.added", "output_index": i, "item": added}),
                );
                let part = &item["content"][0];
                let text = part["text"].as_str().unwrap();
                events.push(json!({"type": "response.content_part.added", "item_id": id, "output_index": i, "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}}));
                let (a, b) = text.split_at(text.len() / 2);
                for d in [a, b] {
                    events.push(json!({"type": "response.output_text.delta", "item_id": id, "output_index": i, "content_index": 0, "delta": d, "logprobs": []}));
                }
                events.push(json!({"type": "response.output_text.done", "item_id": id, "output_index": i, "content_index": 0, "text": text, "logprobs": []}));
                events.push(json!({"type": "response.content_part.done", "item_id": id, "output_index": i, "content_index": 0, "part": part}));
            }
            _ => {
                added["status"] = json!("in_progress");
                added["arguments"] = json!("");
                events.push(
                    json!({"type": "response.output_item.added", "output_index": i, "item": added}),
                );
                let args = item["arguments"].as_str().unwrap();
                let (a, b) = args.split_at(args.len() / 2);
                for d in [a, b] {
                    events.push(json!({"type": "response.function_call_arguments.delta", "item_id": id, "output_index": i, "delta": d}));
                }
                events.push(json!({"type": "response.function_call_arguments.done", "item_id": id, "output_index": i, "arguments": args}));
            }
        }
        events.push(json!({"type": "response.output_item.done", "output_index": i, "item": item}));
    }
    events.push(json!({"type": "response.completed", "response": response(req, "completed", items, usage(req))}));
    events
        .into_iter()
        .enumerate()
        .map(|(n, mut e)| {
            e["sequence_number"] = json!(n);
            e.to_string()
        })
        .collect()
}
