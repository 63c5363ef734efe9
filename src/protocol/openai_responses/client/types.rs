//! Serde types for the Responses wire format that levity reads.

use crate::canonical::Schema;
use crate::protocol::{Loose, Shape, TextOr};
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

pub type Input = TextOr<Loose<ItemIn>>;

/// One input item, whatever its kind: its `type` may come after its content
/// or be absent (a message), so every field levity reads is a field here.
/// Kinds levity has no canonical form for (computer, shell or web search
/// calls) fill some of the same names with other shapes, hence `Loose`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ItemIn {
    #[serde(rename = "type")]
    pub kind: Loose<String>,
    pub role: Loose<String>,
    pub content: Loose<TextOr<Loose<PartIn>>>,
    /// A call's output: text, or parts as a message's `content`.
    pub output: Loose<TextOr<Loose<PartIn>>>,
    pub call_id: Loose<String>,
    pub name: Loose<String>,
    /// Codex's namespace of a `namespace` tool's function.
    pub namespace: Loose<String>,
    /// A function call's arguments: a JSON object, encoded as a string.
    pub arguments: Loose<String>,
    /// A reasoning item's summary parts.
    pub summary: Loose<Vec<Loose<PartIn>>>,
    pub encrypted_content: Loose<String>,
}

impl Shape for ItemIn {
    const OBJECT: bool = true;
}

/// A part of a message's content, a call's output or a reasoning summary.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PartIn {
    #[serde(rename = "type")]
    pub kind: Loose<String>,
    pub text: Loose<String>,
    pub refusal: Loose<String>,
    pub image_url: Loose<String>,
}

impl Shape for PartIn {
    const OBJECT: bool = true;
}

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
