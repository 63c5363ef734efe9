//! The client side of Gemini: a `generateContent` request from a Gemini
//! client (the google-genai SDK) → canonical, and canonical answers → Gemini
//! responses, whole or streamed (SSE or the JSON-array form).

use super::types::{Content, FunctionCall, PartOut};
use crate::canonical::{
    Effort, Event, Finish, Image, Message, Origin, Params, Part, Reasoning, Request, Response,
    ResponseFormat, Role, Signature, Tool, ToolCall, ToolChoice, ToolKind, Usage,
};
use crate::error::{Error, Kind};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClientRequest {
    #[serde(default)]
    contents: Vec<Content>,
    system_instruction: Option<Content>,
    #[serde(default)]
    tools: Vec<Value>,
    tool_config: Option<Value>,
    #[serde(default)]
    generation_config: Value,
}

/// The sampling fields of `generationConfig`, typed so that a wrong type or
/// an out-of-range number is refused as Gemini refuses it.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Sampling {
    temperature: Option<f64>,
    top_p: Option<f64>,
    top_k: Option<u32>,
    max_output_tokens: Option<u32>,
    #[serde(default)]
    stop_sequences: Vec<String>,
    seed: Option<i64>,
    presence_penalty: Option<f64>,
    frequency_penalty: Option<f64>,
}

/// Parses a Gemini request for `model` (from the path). Tool calls without
/// ids get ids from their name and position, which their responses match.
pub fn decode_request(body: &[u8], model: &str, stream: bool) -> Result<Request, Error> {
    let req: ClientRequest = serde_json::from_slice(body).map_err(|e| Error::from_json(&e))?;
    if req.contents.is_empty() {
        return Err(Error::invalid_param(
            "contents",
            "`contents` must not be empty",
        ));
    }
    let origin = Origin::Gemini {
        model: model.to_string(),
    };
    let signed = |p: &PartOut| {
        let value = p.thought_signature.as_deref().filter(|s| !s.is_empty())?;
        // OpenAI's reasoning comes back tagged with its account.
        if let Some((sig, _)) = crate::protocol::openai_responses::provenance::tagged(value) {
            return Some(sig);
        }
        Some(Signature {
            origin: origin.clone(),
            value: value.to_string(),
        })
    };
    let (mut calls, mut results): (HashMap<String, usize>, HashMap<String, usize>) =
        Default::default();
    let mut messages = Vec::with_capacity(req.contents.len());
    for content in &req.contents {
        let role = match content.role.as_deref() {
            Some("model") => Role::Assistant,
            // `function`: older clients' role for function responses.
            Some("user" | "function") | None => Role::User,
            Some(other) => {
                return Err(Error::invalid_param(
                    "contents",
                    format!("unknown role `{other}`; a content's role is user or model"),
                ));
            }
        };
        let mut parts = Vec::new();
        for p in &content.parts {
            if let Some(FunctionCall { id, name, args }) = &p.function_call {
                let n = calls.entry(name.clone()).or_default();
                let id = id.clone().unwrap_or_else(|| format!("call_{name}_{n}"));
                *n += 1;
                parts.push(Part::ToolCall(ToolCall {
                    id,
                    name: name.clone(),
                    arguments: args
                        .clone()
                        .filter(Value::is_object)
                        .unwrap_or_else(|| json!({})),
                    signature: signed(p),
                }));
            } else if let Some(r) = &p.function_response {
                let n = results.entry(r.name.clone()).or_default();
                let call_id =
                    r.id.clone()
                        .unwrap_or_else(|| format!("call_{}_{n}", r.name));
                *n += 1;
                parts.push(Part::ToolResult {
                    call_id,
                    name: Some(r.name.clone()),
                    content: vec![Part::Text(r.response.to_string())],
                    is_error: r.response.get("error").is_some(),
                });
            } else if let Some(b) = &p.inline_data {
                parts.push(Part::Image(Image::Inline {
                    mime_type: b.mime_type.clone(),
                    data: b.data.clone(),
                }));
            } else if let Some(f) = &p.file_data {
                parts.push(Part::Image(Image::Url {
                    url: f.file_uri.clone(),
                    mime_type: f.mime_type.clone(),
                }));
            } else if p.thought == Some(true) {
                parts.push(Part::Thinking {
                    text: p.text.clone().unwrap_or_default(),
                    signature: signed(p),
                    redacted: false,
                });
            } else if let Some(t) = &p.text {
                parts.push(Part::Text(t.clone()));
            }
        }
        messages.push(Message { role, parts });
    }
    let system = req
        .system_instruction
        .map(|c| {
            c.parts
                .into_iter()
                .filter_map(|p| p.text)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .filter(|s| !s.is_empty())
        .into_iter()
        .collect();

    let mut tools = Vec::new();
    for t in &req.tools {
        for d in t["functionDeclarations"].as_array().into_iter().flatten() {
            tools.push(Tool {
                kind: ToolKind::Function,
                name: d["name"].as_str().unwrap_or_default().to_string(),
                description: d["description"].as_str().map(str::to_string),
                parameters: d
                    .get("parametersJsonSchema")
                    .or_else(|| d.get("parameters"))
                    .cloned()
                    .map(lowercase_types)
                    .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
            });
        }
        if t.get("googleSearch").is_some() || t.get("googleSearchRetrieval").is_some() {
            tools.push(Tool::web_search());
        }
    }
    let fc = req
        .tool_config
        .as_ref()
        .map(|c| &c["functionCallingConfig"]);
    let tool_choice = fc.and_then(|c| match c["mode"].as_str()? {
        "NONE" => Some(ToolChoice::None),
        "ANY" => Some(
            match c["allowedFunctionNames"].as_array().map(Vec::as_slice) {
                Some([one]) => ToolChoice::Named(one.as_str().unwrap_or_default().to_string()),
                _ => ToolChoice::Required,
            },
        ),
        _ => Some(ToolChoice::Auto),
    });

    let g = &req.generation_config;
    let sampling: Sampling = if g.is_null() {
        Sampling::default()
    } else {
        Sampling::deserialize(g).map_err(|e| {
            Error::invalid_param("generationConfig", format!("generationConfig: {e}"))
        })?
    };
    let response_format = match g["responseMimeType"].as_str() {
        Some("application/json") => Some(
            match g
                .get("responseJsonSchema")
                .or_else(|| g.get("responseSchema"))
            {
                Some(schema) => ResponseFormat::JsonSchema {
                    name: None,
                    schema: lowercase_types(schema.clone()),
                },
                None => ResponseFormat::JsonObject,
            },
        ),
        _ => None,
    };
    let thinking = &g["thinkingConfig"];
    let reasoning = if thinking.is_object() {
        Some(Reasoning {
            effort: thinking["thinkingLevel"].as_str().map(|l| {
                if l.eq_ignore_ascii_case("low") {
                    Effort::Low
                } else {
                    Effort::High
                }
            }),
            budget_tokens: thinking["thinkingBudget"]
                .as_i64()
                .filter(|b| *b >= 0)
                .map(|b| b as u32),
        })
    } else {
        None
    };
    Ok(Request {
        model: model.to_string(),
        system,
        messages,
        tools,
        tool_choice,
        params: Params {
            temperature: sampling.temperature,
            top_p: sampling.top_p,
            top_k: sampling.top_k,
            max_tokens: sampling.max_output_tokens,
            stop: sampling.stop_sequences,
            seed: sampling.seed,
            presence_penalty: sampling.presence_penalty,
            frequency_penalty: sampling.frequency_penalty,
        },
        response_format,
        reasoning,
        stream,
        stream_usage: true,
        session: None,
        image_output: None,
        compaction: false,
    })
}

/// Gemini schemas name types in capitals; JSON Schema, which the other
/// upstreams take, in lowercase.
fn lowercase_types(mut v: Value) -> Value {
    match &mut v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if k == "type" {
                    if let Value::String(t) = val {
                        *t = t.to_ascii_lowercase();
                    }
                } else {
                    *val = lowercase_types(std::mem::take(val));
                }
            }
        }
        Value::Array(items) => {
            for i in items.iter_mut() {
                *i = lowercase_types(std::mem::take(i));
            }
        }
        _ => {}
    }
    v
}

fn finish_name(f: Option<Finish>) -> &'static str {
    match f {
        Some(Finish::Length) => "MAX_TOKENS",
        Some(Finish::ContentFilter) => "SAFETY",
        _ => "STOP",
    }
}

fn usage_json(u: &Usage) -> Value {
    json!({"promptTokenCount": u.input_tokens, "candidatesTokenCount": u.output_tokens.saturating_sub(u.reasoning_tokens),
        "thoughtsTokenCount": u.reasoning_tokens, "cachedContentTokenCount": u.cached_input_tokens,
        "totalTokenCount": u.input_tokens + u.output_tokens})
}

fn part_json(part: &Part) -> Option<Value> {
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

fn chunk(
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
fn grounding(citations: &[crate::canonical::Citation]) -> Value {
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

/// Streams canonical events as Gemini chunks: SSE (`alt=sse`) or the JSON
/// array Gemini sends without it.
pub struct StreamEncoder {
    sse: bool,
    first: bool,
    id: String,
    model: String,
    usage: Usage,
    finish: Option<Finish>,
}

impl StreamEncoder {
    pub fn new(model: &str, sse: bool) -> Self {
        StreamEncoder {
            sse,
            first: true,
            id: String::new(),
            model: model.to_string(),
            usage: Usage::default(),
            finish: None,
        }
    }

    fn write(&mut self, out: &mut Vec<u8>, value: &Value) {
        if self.sse {
            crate::protocol::sse::write_data(out, value.to_string().as_bytes());
        } else {
            out.extend_from_slice(if self.first { b"[" } else { b",\r\n" });
            out.extend_from_slice(value.to_string().as_bytes());
        }
        self.first = false;
    }

    pub fn event(&mut self, ev: &Event, out: &mut Vec<u8>) {
        let part = match ev {
            Event::Start { id, model } => {
                self.id.clone_from(id);
                if !model.is_empty() {
                    self.model.clone_from(model);
                }
                return;
            }
            Event::TextDelta(t) => Part::Text(t.clone()),
            Event::ThinkingDelta { text, signature } => Part::Thinking {
                text: text.clone(),
                signature: signature.clone(),
                redacted: false,
            },
            Event::ToolCall { call, .. } => Part::ToolCall(call.clone()),
            Event::Image(img) => Part::Image(img.clone()),
            Event::Citations(c) => {
                let mut value = chunk(Vec::new(), None, None, &self.model, &self.id);
                value["candidates"][0]["groundingMetadata"] = grounding(c);
                self.write(out, &value);
                return;
            }
            Event::Usage(u) => {
                self.usage = *u;
                return;
            }
            Event::Finish(f) => {
                self.finish = Some(*f);
                return;
            }
        };
        if let Some(p) = part_json(&part) {
            let c = chunk(vec![p], None, None, &self.model, &self.id);
            self.write(out, &c);
        }
    }

    pub fn done(&mut self, out: &mut Vec<u8>) {
        let usage = self.usage;
        let c = chunk(
            Vec::new(),
            Some(self.finish.unwrap_or(Finish::Stop)),
            Some(&usage),
            &self.model,
            &self.id,
        );
        self.write(out, &c);
        if !self.sse {
            out.push(b']');
        }
    }

    pub fn error(&mut self, err: &Error, out: &mut Vec<u8>) {
        let body: Value = serde_json::from_slice(&encode_error(err)).expect("valid");
        self.write(out, &body);
        if !self.sse {
            out.push(b']');
        }
    }

    pub fn usage(&self) -> Usage {
        self.usage
    }
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
