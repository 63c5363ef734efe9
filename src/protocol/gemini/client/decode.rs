//! A `generateContent` request from a Gemini client (the google-genai SDK)
//! → canonical request.

use super::types::{ClientRequest, Sampling};
use crate::canonical::{
    Effort, Image, Message, Origin, Params, Part, Reasoning, Request, ResponseFormat, Role, Schema,
    Signature, Tool, ToolCall, ToolChoice, ToolKind,
};
use crate::error::Error;
use crate::protocol::gemini::types::{FunctionCall, PartOut};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Parses a Gemini request for `model` (from the path). Tool calls without
/// ids get ids from their name and position, which their responses match.
pub fn decode_request(body: &[u8], model: &str, stream: bool) -> Result<Request, Error> {
    let req: ClientRequest = crate::protocol::parse_body(body)?;
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
                    .map_or_else(Schema::no_arguments, |s| {
                        Schema::from_value(&lowercase_types(s))
                    }),
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
