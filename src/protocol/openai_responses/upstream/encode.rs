//! The upstream side of Responses, request half: canonical request → the
//! body `POST {base}/responses` takes (shapes from openai-python's
//! `types/responses/response_create_params.py` and `response_input_item_param.py`).
//! Stateless: `store: false`, with reasoning carried in `encrypted_content`,
//! which only the account that made it receives back.

use crate::canonical::{
    Effort, Origin, Part, Request, ResponseFormat, Role, Schema, ToolCall, ToolChoice, ToolKind,
    text_of,
};
use crate::protocol::memo::Text;
use crate::protocol::openai_responses::NAMESPACE_SEP;
use serde::Serialize;
use serde_json::{Value, json};

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ToolOut<'a> {
    Function {
        name: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        description: Option<Text<'a>>,
        /// Copied through as the client wrote it.
        parameters: &'a Schema,
        /// Responses makes function tools strict unless told otherwise,
        /// which most clients' schemas (optional properties) would fail.
        strict: bool,
    },
    WebSearch,
}

#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    instructions: Option<Text<'a>>,
    input: Vec<ItemOut<'a>>,
    /// levity keeps no conversations, and OpenAI should not either.
    store: bool,
    /// Without it a stateless caller gets reasoning it cannot hand back.
    include: [&'static str; 1],
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<ToolOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_output_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<Value>,
}

/// One `input` item, written from the request's own texts (long ones
/// through the memo, as a session resends them every turn).
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ItemOut<'a> {
    Message {
        role: &'static str,
        content: Vec<ContentOut<'a>>,
    },
    FunctionCall {
        call_id: &'a str,
        name: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        namespace: Option<&'a str>,
        /// A JSON object written as a string, as the protocol has it.
        arguments: String,
    },
    FunctionCallOutput {
        call_id: &'a str,
        output: Text<'a>,
    },
    Reasoning {
        summary: Vec<SummaryOut<'a>>,
        encrypted_content: &'a str,
    },
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ContentOut<'a> {
    InputText {
        text: Text<'a>,
    },
    OutputText {
        text: Text<'a>,
    },
    InputImage {
        image_url: String,
        detail: &'static str,
    },
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum SummaryOut<'a> {
    SummaryText { text: Text<'a> },
}

/// A function call item, its namespace restored from the flattened name.
fn call_item(c: &ToolCall) -> ItemOut<'_> {
    let (namespace, name) = match c.name.split_once(NAMESPACE_SEP) {
        Some((ns, name)) => (Some(ns), name),
        None => (None, c.name.as_str()),
    };
    ItemOut::FunctionCall {
        call_id: &c.id,
        name,
        namespace,
        arguments: c.arguments.to_string(),
    }
}

/// Appends text and images of one role as a message item, if any.
fn flush<'a>(input: &mut Vec<ItemOut<'a>>, role: Role, content: &mut Vec<ContentOut<'a>>) {
    if content.is_empty() {
        return;
    }
    let role = match role {
        Role::User => "user",
        Role::Assistant => "assistant",
    };
    input.push(ItemOut::Message {
        role,
        content: std::mem::take(content),
    });
}

/// Builds a Responses body for `model` on the account `account` (its id):
/// reasoning that account made goes back as reasoning items; any other
/// reasoning is dropped, since OpenAI refuses what it did not seal for the
/// caller's organization.
pub fn encode_request(req: &Request, model: &str, stream: bool, account: &str) -> Vec<u8> {
    let own = Origin::OpenAi {
        account: account.to_string(),
    };
    let mut input = Vec::with_capacity(req.messages.len() + 1);
    for msg in &req.messages {
        // Item ids are left out: with `store: false` OpenAI cannot look them up.
        let mut content = Vec::new();
        for part in &msg.parts {
            match part {
                Part::Text(t) => {
                    let text = t.as_str().into();
                    content.push(match msg.role {
                        Role::User => ContentOut::InputText { text },
                        Role::Assistant => ContentOut::OutputText { text },
                    });
                }
                Part::Image(img) if msg.role == Role::User => {
                    content.push(ContentOut::InputImage {
                        image_url: img.to_url(),
                        detail: "auto",
                    })
                }
                Part::Image(_) => {}
                Part::ToolCall(c) => {
                    flush(&mut input, msg.role, &mut content);
                    input.push(call_item(c));
                }
                Part::ToolResult {
                    call_id,
                    content: c,
                    is_error,
                    ..
                } => {
                    flush(&mut input, msg.role, &mut content);
                    let text = text_of(c);
                    let output = if *is_error {
                        format!("Error: {text}")
                    } else {
                        text
                    };
                    input.push(ItemOut::FunctionCallOutput {
                        call_id,
                        output: output.into(),
                    });
                }
                Part::Thinking {
                    text, signature, ..
                } => {
                    let Some(sealed) = signature.as_ref().and_then(|s| s.for_origin(&own)) else {
                        continue;
                    };
                    flush(&mut input, msg.role, &mut content);
                    let summary = (!text.is_empty())
                        .then(|| SummaryOut::SummaryText {
                            text: text.as_str().into(),
                        })
                        .into_iter()
                        .collect();
                    input.push(ItemOut::Reasoning {
                        summary,
                        encrypted_content: sealed,
                    });
                }
            }
        }
        flush(&mut input, msg.role, &mut content);
    }
    let tools = req
        .tools
        .iter()
        .map(|t| match t.kind {
            ToolKind::Function => ToolOut::Function {
                name: &t.name,
                description: t.description.as_deref().map(Text::from),
                parameters: &t.parameters,
                strict: false,
            },
            ToolKind::WebSearch => ToolOut::WebSearch,
        })
        .collect();
    let tool_choice = req.tool_choice.as_ref().map(|c| match c {
        ToolChoice::Auto => json!("auto"),
        ToolChoice::None => json!("none"),
        ToolChoice::Required => json!("required"),
        ToolChoice::Named(n) => json!({"type": "function", "name": n}),
    });
    let text = req.response_format.as_ref().map(|f| match f {
        ResponseFormat::JsonObject => json!({"format": {"type": "json_object"}}),
        ResponseFormat::JsonSchema { name, schema } => json!({"format": {"type": "json_schema",
            "name": name.as_deref().unwrap_or("response"), "schema": schema}}),
    });
    // A summary is asked for, so clients that show reasoning have some.
    let reasoning = req.reasoning.map(|r| {
        let mut reasoning = json!({"summary": "auto"});
        if let Some(e) = r.level() {
            reasoning["effort"] = json!(match e {
                Effort::Minimal => "minimal",
                Effort::Low => "low",
                Effort::Medium => "medium",
                Effort::High => "high",
            });
        }
        reasoning
    });
    let body = Body {
        model,
        instructions: Text::joined(&req.system, "\n\n"),
        input,
        store: false,
        include: ["reasoning.encrypted_content"],
        stream,
        tools,
        tool_choice,
        max_output_tokens: req.params.max_tokens,
        temperature: req.params.temperature,
        top_p: req.params.top_p,
        reasoning,
        text,
    };
    serde_json::to_vec(&body).expect("serializing owned data cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::sample::{long_text, session_turn};
    use crate::canonical::{Message, Reasoning, Signature};

    fn thought(account: &str, value: &str) -> Part {
        Part::Thinking {
            text: "pondered".into(),
            signature: Some(Signature {
                origin: Origin::OpenAi {
                    account: account.into(),
                },
                value: value.into(),
            }),
            redacted: false,
        }
    }

    #[test]
    fn reasoning_goes_back_only_to_its_account() {
        let req = Request {
            system: vec!["be brief".into()],
            messages: vec![
                Message {
                    role: Role::User,
                    parts: vec![Part::Text("hi".into())],
                },
                Message {
                    role: Role::Assistant,
                    parts: vec![
                        thought("acc_a", "sealed-a"),
                        thought("acc_b", "sealed-b"),
                        Part::Text("hello".into()),
                    ],
                },
            ],
            reasoning: Some(Reasoning {
                effort: None,
                budget_tokens: Some(4096),
            }),
            ..Request::default()
        };
        let body: Value =
            serde_json::from_slice(&encode_request(&req, "gpt-5", true, "acc_a")).unwrap();
        assert_eq!(
            body,
            json!({"model": "gpt-5", "instructions": "be brief", "store": false, "stream": true,
            "include": ["reasoning.encrypted_content"],
            "reasoning": {"effort": "medium", "summary": "auto"},
            "input": [
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
                {"type": "reasoning", "summary": [{"type": "summary_text", "text": "pondered"}], "encrypted_content": "sealed-a"},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "hello"}]},
            ]})
        );
    }

    /// Long texts (instructions, a file a tool read, a tool's description)
    /// go through the memo, short ones directly; both read back the same,
    /// and a namespaced tool's call gets its namespace back.
    #[test]
    fn long_texts_and_calls_read_back_the_same() {
        let long = long_text();
        let req = session_turn(&long, &format!("mcp{NAMESPACE_SEP}read"));
        // Twice: the second reads every long text from the memo.
        for _ in 0..2 {
            let body: Value =
                serde_json::from_slice(&encode_request(&req, "gpt-5", false, "acc_a")).unwrap();
            assert_eq!(body["instructions"], json!(format!("{long}\n\nshort rule")));
            assert_eq!(
                body["input"],
                json!([
                    {"type": "message", "role": "user", "content": [
                        {"type": "input_text", "text": long}, {"type": "input_text", "text": "hi"}]},
                    {"type": "function_call", "call_id": "call_1", "namespace": "mcp", "name": "read",
                        "arguments": "{\"path\":\"a.txt\"}"},
                    {"type": "function_call_output", "call_id": "call_1", "output": long},
                ])
            );
            assert_eq!(body["tools"][0]["description"], json!(long));
        }
    }
}
