//! The Gemini REST types only the upstream side uses (camelCase on the
//! wire): the request levity sends, its answers and `countTokens`.

use crate::protocol::gemini::types::{Content, PartOut};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::sync::Arc;

#[derive(Serialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct GenerateRequest {
    pub contents: Vec<Content>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_instruction: Option<Content>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_config: Option<ToolConfig>,
    #[serde(skip_serializing_if = "GenerationConfig::is_empty")]
    pub generation_config: GenerationConfig,
}

/// One tool entry: function declarations, or a built-in tool such as search.
#[derive(Serialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct ToolOut {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    /// Each built once per distinct tool (`protocol::memo`).
    pub function_declarations: Vec<Arc<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub google_search: Option<serde_json::Map<String, Value>>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ToolConfig {
    pub function_calling_config: FunctionCallingConfig,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct FunctionCallingConfig {
    pub mode: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_function_names: Vec<String>,
}

#[derive(Serialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct GenerationConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stop_sequences: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_mime_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_schema: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking_config: Option<ThinkingConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub response_modalities: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_config: Option<Value>,
}

impl GenerationConfig {
    fn is_empty(&self) -> bool {
        self.temperature.is_none()
            && self.top_p.is_none()
            && self.top_k.is_none()
            && self.max_output_tokens.is_none()
            && self.stop_sequences.is_empty()
            && self.seed.is_none()
            && self.presence_penalty.is_none()
            && self.frequency_penalty.is_none()
            && self.response_mime_type.is_none()
            && self.response_schema.is_none()
            && self.thinking_config.is_none()
            && self.response_modalities.is_empty()
    }
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ThinkingConfig {
    pub include_thoughts: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking_budget: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking_level: Option<&'static str>,
}

// ---- responses -------------------------------------------------------------

/// One answer, or one chunk of a streamed one. Read once per chunk, so what
/// only the first chunk needs (`modelVersion`, `responseId`) is borrowed
/// from it, and what levity never reads (a content's `role`) is skipped.
#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct GenerateResponse<'a> {
    #[serde(default)]
    pub candidates: Vec<Candidate>,
    pub usage_metadata: Option<UsageMetadata>,
    #[serde(borrow)]
    pub model_version: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub response_id: Option<Cow<'a, str>>,
    pub prompt_feedback: Option<PromptFeedback>,
    /// A failure in the middle of a stream: Gemini ends the stream with an
    /// element holding only its usual error body.
    pub error: Option<StreamError>,
}

#[derive(Deserialize, Debug, Default)]
pub struct StreamError {
    #[serde(default)]
    pub code: u16,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub status: String,
}

#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    pub content: Option<ContentIn>,
    pub finish_reason: Option<String>,
    pub grounding_metadata: Option<Grounding>,
}

/// An answer's content: its parts (the role is always "model").
#[derive(Deserialize, Debug, Default)]
pub struct ContentIn {
    #[serde(default)]
    pub parts: Vec<PartOut>,
}

/// Where a grounded answer's facts came from.
#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct Grounding {
    #[serde(default)]
    pub grounding_chunks: Vec<GroundingChunk>,
    #[serde(default)]
    pub grounding_supports: Vec<GroundingSupport>,
}

#[derive(Deserialize, Debug, Default)]
pub struct GroundingChunk {
    pub web: Option<WebSource>,
}

#[derive(Deserialize, Debug, Default)]
pub struct WebSource {
    #[serde(default)]
    pub uri: String,
    #[serde(default)]
    pub title: String,
}

#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct GroundingSupport {
    pub segment: Option<Segment>,
    #[serde(default)]
    pub grounding_chunk_indices: Vec<usize>,
}

#[derive(Deserialize, Debug, Default)]
pub struct Segment {
    pub text: Option<String>,
}

#[derive(Deserialize, Debug, Default, Clone, Copy)]
#[serde(rename_all = "camelCase")]
pub struct UsageMetadata {
    #[serde(default)]
    pub prompt_token_count: u64,
    #[serde(default)]
    pub candidates_token_count: u64,
    #[serde(default)]
    pub thoughts_token_count: u64,
    #[serde(default)]
    pub cached_content_token_count: u64,
}

impl From<UsageMetadata> for crate::canonical::Usage {
    /// Gemini counts thinking apart (`thoughtsTokenCount`); canonical output
    /// includes it, as OpenAI's completion tokens do.
    fn from(u: UsageMetadata) -> Self {
        crate::canonical::Usage {
            input_tokens: u.prompt_token_count,
            output_tokens: u.candidates_token_count + u.thoughts_token_count,
            reasoning_tokens: u.thoughts_token_count,
            cached_input_tokens: u.cached_content_token_count,
            // Gemini's implicit caching writes for free.
            cache_write_tokens: 0,
        }
    }
}

#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct PromptFeedback {
    pub block_reason: Option<String>,
}

/// `:countTokens` wants the whole generate request wrapped, with its model.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct CountTokensRequest {
    pub generate_content_request: CountedRequest,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct CountedRequest {
    pub model: String,
    #[serde(flatten)]
    pub request: GenerateRequest,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct CountTokensResponse {
    #[serde(default)]
    pub total_tokens: u64,
}
