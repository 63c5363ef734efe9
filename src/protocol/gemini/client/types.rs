//! The client-facing wire types of a Gemini request that are not shared with
//! the upstream side: the request's outer shape and its sampling fields.

use crate::protocol::gemini::types::Content;
use serde::Deserialize;
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
