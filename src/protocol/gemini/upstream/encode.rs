//! Canonical request → Gemini `GenerateContentRequest`.

use super::schema::clean_schema;
use super::types::*;
use crate::canonical::{
    Effort, Image, Message, Origin, Part, Request, ResponseFormat, Role, Tool, ToolChoice, ToolKind,
};
use crate::catalogue::Thinking;
use crate::protocol::gemini::types::*;
use crate::protocol::memo;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// Gemini 3 rejects a replayed function call without its thought signature; this
/// sentinel is Google's documented way to replay history that lost it.
const SIGNATURE_SENTINEL: &str = "skip_thought_signature_validator";

fn is_gemini_3(model: &str) -> bool {
    crate::catalogue::thinking(model) == Thinking::Level
}

/// Builds the request body for `model` (the upstream name, after mapping).
pub fn encode_request(req: &Request, model: &str) -> Vec<u8> {
    let body = build(req, model);
    serde_json::to_vec(&body).expect("serializing owned data cannot fail")
}

/// Builds a `:countTokens` body counting everything `encode_request` would send.
pub fn encode_count_tokens(req: &Request, model: &str) -> Vec<u8> {
    let mut request = build(req, model);
    // countTokens rejects generation settings it does not count.
    request.generation_config = GenerationConfig::default();
    request.tool_config = None;
    let body = CountTokensRequest {
        generate_content_request: CountedRequest {
            model: format!("models/{model}"),
            request,
        },
    };
    serde_json::to_vec(&body).expect("serializing owned data cannot fail")
}

/// `{"contents": [...]}` alone, for counters that take only contents (Code
/// Assist). Thoughts count as their text: raw thought parts are refused there.
pub fn encode_count_contents(req: &Request, model: &str) -> Vec<u8> {
    let mut request = build(req, model);
    if let Some(system) = request.system_instruction.take() {
        request.contents.insert(
            0,
            Content {
                role: Some("user".into()),
                parts: system.parts,
            },
        );
    }
    for part in request.contents.iter_mut().flat_map(|c| c.parts.iter_mut()) {
        part.thought = None;
        part.thought_signature = None;
    }
    serde_json::to_vec(&serde_json::json!({"contents": request.contents})).expect("serializable")
}

/// Reads the `totalTokens` of a `:countTokens` answer.
pub fn decode_count_tokens(body: &[u8]) -> Option<u64> {
    serde_json::from_slice::<CountTokensResponse>(body)
        .ok()
        .map(|r| r.total_tokens)
}

fn build(req: &Request, model: &str) -> GenerateRequest {
    // Tool results carry only the call id on most protocols; Gemini wants the name.
    let call_names: HashMap<&str, &str> = req
        .messages
        .iter()
        .flat_map(|m| &m.parts)
        .filter_map(|p| match p {
            Part::ToolCall(c) => Some((c.id.as_str(), c.name.as_str())),
            _ => None,
        })
        .collect();

    let origin = Origin::Gemini {
        model: model.to_string(),
    };
    let mut contents: Vec<Content> = Vec::with_capacity(req.messages.len());
    for msg in &req.messages {
        let role = match msg.role {
            Role::User => "user",
            Role::Assistant => "model",
        };
        let parts = parts_of(msg, &call_names, model, &origin);
        if parts.is_empty() {
            continue;
        }
        // Gemini rejects two turns of one role in a row: merge them.
        match contents.last_mut() {
            Some(last) if last.role.as_deref() == Some(role) => last.parts.extend(parts),
            _ => contents.push(Content {
                role: Some(role.into()),
                parts,
            }),
        }
    }

    let system_instruction = (!req.system.is_empty()).then(|| Content {
        role: None,
        parts: vec![text_part(&req.system.join("\n\n"))],
    });

    let functions: Vec<_> = req
        .tools
        .iter()
        .filter(|t| t.kind == ToolKind::Function)
        .map(declaration)
        .collect();
    let mut tools = Vec::new();
    if !functions.is_empty() {
        tools.push(ToolOut {
            function_declarations: functions,
            ..ToolOut::default()
        });
    }
    if wants_search(req) && !search_dropped(req, model) {
        tools.push(ToolOut {
            google_search: Some(Default::default()),
            ..ToolOut::default()
        });
    }

    let tool_config = req.tool_choice.as_ref().map(|c| ToolConfig {
        function_calling_config: match c {
            ToolChoice::Auto => FunctionCallingConfig {
                mode: "AUTO",
                allowed_function_names: Vec::new(),
            },
            ToolChoice::None => FunctionCallingConfig {
                mode: "NONE",
                allowed_function_names: Vec::new(),
            },
            ToolChoice::Required => FunctionCallingConfig {
                mode: "ANY",
                allowed_function_names: Vec::new(),
            },
            ToolChoice::Named(name) => FunctionCallingConfig {
                mode: "ANY",
                allowed_function_names: vec![name.clone()],
            },
        },
    });

    let p = &req.params;
    let (response_mime_type, response_schema) = match &req.response_format {
        None => (None, None),
        Some(ResponseFormat::JsonObject) => (Some("application/json"), None),
        Some(ResponseFormat::JsonSchema { schema, .. }) => {
            (Some("application/json"), Some(clean_schema(schema)))
        }
    };
    let max_output_tokens = match (p.max_tokens, crate::catalogue::output_limit(model)) {
        (Some(asked), Some(limit)) => Some(asked.min(limit)),
        (asked, _) => asked,
    };

    GenerateRequest {
        contents,
        system_instruction,
        tools,
        tool_config,
        generation_config: GenerationConfig {
            temperature: p.temperature,
            top_p: p.top_p,
            top_k: p.top_k,
            max_output_tokens,
            stop_sequences: p.stop.iter().take(5).cloned().collect(),
            seed: p.seed,
            presence_penalty: p.presence_penalty,
            frequency_penalty: p.frequency_penalty,
            response_mime_type,
            response_schema,
            thinking_config: thinking_of(req, model),
            response_modalities: if req.image_output.is_some() {
                vec!["TEXT", "IMAGE"]
            } else {
                Vec::new()
            },
            image_config: req
                .image_output
                .as_ref()
                .map(|ratio| json!({"aspectRatio": ratio})),
        },
    }
}

fn wants_search(req: &Request) -> bool {
    req.tools.iter().any(|t| t.kind == ToolKind::WebSearch)
}

/// Search is a built-in tool that Gemini before 3 refuses beside function
/// declarations; there the client's own functions win and search is dropped
/// (the server logs it).
pub fn search_dropped(req: &Request, model: &str) -> bool {
    wants_search(req)
        && !is_gemini_3(model)
        && req.tools.iter().any(|t| t.kind == ToolKind::Function)
}

fn thinking_of(req: &Request, model: &str) -> Option<ThinkingConfig> {
    let reasoning = req.reasoning?;
    if is_gemini_3(model) {
        // Gemini 3 takes a level, not a budget.
        let level = match reasoning.effort {
            Some(Effort::Minimal | Effort::Low) => "low",
            _ => "high",
        };
        return Some(ThinkingConfig {
            include_thoughts: true,
            thinking_budget: None,
            thinking_level: Some(level),
        });
    }
    let budget = reasoning.budget_tokens.unwrap_or(match reasoning.effort {
        Some(Effort::Minimal) => 0,
        Some(Effort::Low) => 1024,
        Some(Effort::Medium) | None => 8192,
        Some(Effort::High) => 24_576,
    });
    // Each model's range is the catalogue's (2.5 Pro cannot stop thinking,
    // Flash-Lite thinks at least 512); a budget outside it is refused.
    let budget = match crate::catalogue::thinking(model) {
        Thinking::Budget { off: true, .. } if budget == 0 => 0,
        Thinking::Budget { min, max, .. } => budget.clamp(min, max),
        _ => budget,
    };
    Some(ThinkingConfig {
        include_thoughts: budget > 0,
        thinking_budget: Some(budget),
        thinking_level: None,
    })
}

fn text_part(text: &str) -> PartOut {
    if text.len() >= memo::LONG_TEXT {
        PartOut {
            text_json: Some(memo::json_string(text)),
            ..Default::default()
        }
    } else {
        PartOut {
            text: Some(text.to_string()),
            ..Default::default()
        }
    }
}

/// `tool` as one entry of Gemini's `functionDeclarations`, built once per
/// distinct name, description and schema (the cleaning is the costly part).
fn declaration(tool: &Tool) -> Arc<RawValue> {
    #[derive(Serialize)]
    struct Declaration<'a> {
        name: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        description: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        parameters: Option<Value>,
    }
    let description = tool.description.as_deref();
    let key = [
        "gemini declaration",
        &tool.name,
        if description.is_some() {
            "described"
        } else {
            "bare"
        },
        description.unwrap_or(""),
        tool.parameters.text(),
    ];
    memo::remembered(&key, || {
        serde_json::value::to_raw_value(&Declaration {
            name: &tool.name,
            description,
            parameters: parameters_of(&tool.parameters.to_value()),
        })
        .expect("a declaration serializes")
        .into()
    })
}

/// Function parameters in the subset Gemini accepts. An object schema with no
/// properties is left out: Gemini rejects an OBJECT with empty `properties`.
fn parameters_of(schema: &Value) -> Option<Value> {
    let cleaned = clean_schema(schema);
    match cleaned.get("properties") {
        Some(Value::Object(props)) if !props.is_empty() => Some(cleaned),
        _ if cleaned.get("type").and_then(Value::as_str) == Some("OBJECT") => None,
        _ => Some(cleaned),
    }
}

fn parts_of(
    msg: &Message,
    call_names: &HashMap<&str, &str>,
    model: &str,
    origin: &Origin,
) -> Vec<PartOut> {
    let mut out = Vec::with_capacity(msg.parts.len());
    let mut first_call = true;
    for part in &msg.parts {
        match part {
            Part::Text(t) if t.is_empty() => {}
            Part::Text(t) => out.push(text_part(t)),
            Part::Image(img) => out.push(image_part(img)),
            Part::ToolCall(call) => {
                // Only a signature this model made goes back; history from
                // another model gets Google's documented sentinel where Gemini 3
                // demands one, never a signature from elsewhere.
                let own = call.signature.as_ref().and_then(|s| s.for_origin(origin));
                let signature = own.map(str::to_string).or_else(|| {
                    (first_call && is_gemini_3(model)).then(|| SIGNATURE_SENTINEL.to_string())
                });
                first_call = false;
                out.push(PartOut {
                    function_call: Some(FunctionCall {
                        id: None,
                        name: call.name.clone(),
                        args: Some(call.arguments.clone()),
                    }),
                    thought_signature: signature,
                    ..Default::default()
                });
            }
            Part::ToolResult {
                call_id,
                name,
                content,
                is_error,
            } => {
                let name = name
                    .clone()
                    .or_else(|| call_names.get(call_id.as_str()).map(|n| n.to_string()))
                    .unwrap_or_else(|| call_id.clone());
                out.push(PartOut {
                    function_response: Some(FunctionResponse {
                        id: None,
                        name,
                        response: tool_response(content, *is_error),
                    }),
                    ..Default::default()
                });
                // Images returned by a tool follow the response as their own parts.
                out.extend(content.iter().filter_map(|p| match p {
                    Part::Image(img) => Some(image_part(img)),
                    _ => None,
                }));
            }
            // Gemini reads back only thoughts this model signed; reasoning from
            // another model (or unsigned) would be taken as ordinary text.
            Part::Thinking {
                text,
                signature: Some(sig),
                redacted: false,
            } if sig.for_origin(origin).is_some() => out.push(PartOut {
                thought: Some(true),
                thought_signature: Some(sig.value.clone()),
                ..text_part(text)
            }),
            Part::Thinking { .. } => {}
        }
    }
    out
}

fn image_part(img: &Image) -> PartOut {
    match img {
        Image::Inline { mime_type, data } => PartOut {
            inline_data: Some(Blob {
                mime_type: mime_type.clone(),
                data: data.clone(),
            }),
            ..Default::default()
        },
        Image::Url { url, mime_type } => PartOut {
            file_data: Some(FileData {
                mime_type: mime_type.clone().or_else(|| mime_from_url(url)),
                file_uri: url.clone(),
            }),
            ..Default::default()
        },
    }
}

fn mime_from_url(url: &str) -> Option<String> {
    let path = url.split(['?', '#']).next()?.to_ascii_lowercase();
    let ext = path.rsplit('.').next()?;
    Some(
        match ext {
            "png" => "image/png",
            "jpg" | "jpeg" => "image/jpeg",
            "webp" => "image/webp",
            "gif" => "image/gif",
            "heic" => "image/heic",
            "pdf" => "application/pdf",
            _ => return None,
        }
        .to_string(),
    )
}

/// Gemini wants an object: JSON object results pass as they are, anything else
/// is wrapped so the model still sees it.
fn tool_response(content: &[Part], is_error: bool) -> Value {
    let text: String = content
        .iter()
        .filter_map(|p| match p {
            Part::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let key = if is_error { "error" } else { "result" };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(obj)) if !is_error => Value::Object(obj),
        Ok(v) if !text.trim().is_empty() => json!({ key: v }),
        _ => json!({ key: text }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::Schema;

    #[test]
    fn long_texts_and_tools_from_the_memo_read_as_written() {
        let long = format!("line \"one\"\n{}", "é".repeat(300));
        let tool = |description: Option<&str>| Tool {
            kind: ToolKind::Function,
            name: "lookup".into(),
            description: description.map(str::to_string),
            parameters: Schema::from_value(&json!({"type": "object", "properties": {}})),
        };
        let req = Request {
            system: vec![long.clone()],
            messages: vec![Message {
                role: Role::User,
                parts: vec![Part::Text(long.clone()), Part::Text("hi".into())],
            }],
            tools: vec![tool(Some("")), tool(None)],
            ..Request::default()
        };
        // Twice: the second encoding is all memo hits.
        for _ in 0..2 {
            let body: Value =
                serde_json::from_slice(&encode_request(&req, "gemini-2.5-flash")).unwrap();
            assert_eq!(
                body["systemInstruction"],
                json!({"parts": [{"text": long}]})
            );
            assert_eq!(
                body["contents"],
                json!([{"role": "user", "parts": [{"text": long}, {"text": "hi"}]}])
            );
            // An empty description is not a missing one.
            assert_eq!(
                body["tools"][0]["functionDeclarations"],
                json!([{"name": "lookup", "description": ""}, {"name": "lookup"}])
            );
        }
    }
}
