//! The client-facing wire types of a Gemini request that are not shared with
//! the upstream side: the request's outer shape and its sampling fields.

use crate::protocol::gemini::types::Content;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientRequest {
    #[serde(default)]
    pub contents: Vec<Content>,
    pub system_instruction: Option<Content>,
    #[serde(default)]
    pub tools: Vec<Value>,
    pub tool_config: Option<Value>,
    #[serde(default)]
    pub generation_config: Value,
}

/// The sampling fields of `generationConfig`, typed so that a wrong type or
/// an out-of-range number is refused as Gemini refuses it.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Sampling {
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub top_k: Option<u32>,
    pub max_output_tokens: Option<u32>,
    #[serde(default)]
    pub stop_sequences: Vec<String>,
    pub seed: Option<i64>,
    pub presence_penalty: Option<f64>,
    pub frequency_penalty: Option<f64>,
}

/// A streamed chunk holding one text or thought part, typed for the
/// per-token path. Fields are in alphabetical order, as the
/// `serde_json::Value` maps the rarer chunks are built from write theirs, so
/// both produce the same bytes.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeltaChunk<'a> {
    pub candidates: [DeltaCandidate<'a>; 1],
    pub model_version: &'a str,
    pub response_id: &'a str,
}

#[derive(Serialize)]
pub struct DeltaCandidate<'a> {
    pub content: DeltaContent<'a>,
    pub index: u32,
}

#[derive(Serialize)]
pub struct DeltaContent<'a> {
    pub parts: [DeltaPart<'a>; 1],
    pub role: &'static str,
}

/// `{"text": ...}`, or `{"text": ..., "thought": true}` for thinking.
#[derive(Serialize)]
pub struct DeltaPart<'a> {
    pub text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thought: Option<bool>,
}
