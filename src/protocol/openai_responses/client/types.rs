//! Serde types for the Responses wire format that levity reads.

use crate::canonical::Schema;
use crate::protocol::TextOr;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Deserialize)]
pub struct ResponsesRequest {
    pub model: String,
    pub instructions: Option<String>,
    pub input: Option<Input>,
    #[serde(default)]
    pub tools: Vec<ToolIn>,
    pub tool_choice: Option<Value>,
    #[serde(default)]
    pub stream: bool,
    pub max_output_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub reasoning: Option<ReasoningIn>,
    pub text: Option<TextIn>,
    pub prompt_cache_key: Option<String>,
}

pub type Input = TextOr<Value>;

#[derive(Debug, Deserialize)]
pub struct ToolIn {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub parameters: Option<Schema>,
    /// The function tools of a `namespace` tool.
    #[serde(default)]
    pub tools: Vec<ToolIn>,
}

#[derive(Debug, Deserialize)]
pub struct ReasoningIn {
    pub effort: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct TextIn {
    pub format: Option<FormatIn>,
}

#[derive(Debug, Deserialize)]
pub struct FormatIn {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: Option<String>,
    pub schema: Option<Value>,
}

/// What levity seals into a reasoning item's `encrypted_content`.
#[derive(Debug, serde::Serialize, Deserialize, PartialEq)]
pub struct SealedState {
    /// `anthropic`, or `gemini:<model>`.
    pub origin: String,
    pub value: String,
    /// The signature belongs to the function call after it, not to reasoning.
    #[serde(default)]
    pub call: bool,
}

/// `response.output_text.delta`, typed for the per-token path. Fields are in
/// alphabetical order, as the `serde_json::Value` maps the rarer events are
/// built from write theirs, so both produce the same bytes.
#[derive(Serialize)]
pub struct OutputTextDelta<'a> {
    pub content_index: u32,
    pub delta: &'a str,
    pub item_id: &'a str,
    pub output_index: usize,
    pub sequence_number: u64,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// `response.reasoning_summary_text.delta`, typed as [`OutputTextDelta`].
#[derive(Serialize)]
pub struct SummaryTextDelta<'a> {
    pub delta: &'a str,
    pub item_id: &'a str,
    pub output_index: usize,
    pub sequence_number: u64,
    pub summary_index: u32,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// `response.function_call_arguments.delta`, typed as [`OutputTextDelta`].
#[derive(Serialize)]
pub struct ArgumentsDelta<'a> {
    pub delta: &'a str,
    pub item_id: &'a str,
    pub output_index: usize,
    pub sequence_number: u64,
    #[serde(rename = "type")]
    pub kind: &'static str,
}
