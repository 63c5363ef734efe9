//! Serde types for the Anthropic Messages wire format. Unknown fields are
//! ignored, so new client options never break a request.

use crate::canonical::Schema;
use crate::protocol::TextOr;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Deserialize)]
pub struct MessagesRequest {
    pub model: String,
    pub max_tokens: Option<u32>,
    pub messages: Vec<MessageIn>,
    pub system: Option<System>,
    #[serde(default)]
    pub stream: bool,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub top_k: Option<u32>,
    #[serde(default)]
    pub stop_sequences: Vec<String>,
    #[serde(default)]
    pub tools: Vec<ToolIn>,
    pub tool_choice: Option<ToolChoiceIn>,
    pub thinking: Option<ThinkingIn>,
    pub output_config: Option<OutputConfig>,
    pub metadata: Option<Metadata>,
}

#[derive(Debug, Deserialize)]
pub struct Metadata {
    /// Claude Code puts a JSON object with `session_id` in this string.
    pub user_id: Option<String>,
}

pub type System = TextOr<TextBlock>;

#[derive(Debug, Deserialize)]
pub struct TextBlock {
    #[serde(default)]
    pub text: String,
}

#[derive(Debug, Deserialize)]
pub struct MessageIn {
    pub role: String,
    pub content: ContentIn,
}

pub type ContentIn = TextOr<BlockIn>;

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BlockIn {
    Text {
        text: String,
    },
    Image {
        source: Source,
    },
    Document {
        source: Source,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    ToolResult {
        tool_use_id: String,
        content: Option<ToolResultContent>,
        #[serde(default)]
        is_error: bool,
    },
    Thinking {
        #[serde(default)]
        thinking: String,
        #[serde(default)]
        signature: String,
    },
    RedactedThinking {
        data: String,
    },
    /// Server-tool traffic and block types newer than levity carry nothing
    /// another upstream could use.
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Source {
    Base64 { media_type: String, data: String },
    Url { url: String },
    Text { data: String },
}

pub type ToolResultContent = TextOr<BlockIn>;

#[derive(Debug, Deserialize)]
pub struct ToolIn {
    /// Absent for client tools; set for server tools (`web_search_20250305`, ...).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub input_schema: Option<Schema>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToolChoiceIn {
    Auto {},
    Any {},
    Tool { name: String },
    None {},
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ThinkingIn {
    Enabled { budget_tokens: Option<u32> },
    Adaptive {},
    Disabled {},
}

#[derive(Debug, Deserialize)]
pub struct OutputConfig {
    pub effort: Option<String>,
}

// ---- responses -------------------------------------------------------------

#[derive(Serialize)]
pub struct MessageOut<'a> {
    pub id: &'a str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub role: &'static str,
    pub model: &'a str,
    pub content: Vec<BlockOut<'a>>,
    pub stop_reason: Option<&'static str>,
    pub stop_sequence: Option<&'a str>,
    pub usage: UsageOut,
}

#[derive(Serialize, Clone)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BlockOut<'a> {
    Thinking {
        thinking: &'a str,
        signature: String,
    },
    Text {
        text: &'a str,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: &'a Value,
    },
    /// An already-built block (images, text with citations).
    #[serde(untagged)]
    Image(Value),
}

#[derive(Serialize, Default, Clone, Copy)]
pub struct UsageOut {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub cache_creation_input_tokens: u64,
}

/// One `content_block_delta` event, typed for the per-token path. Fields are
/// in alphabetical order, as the `serde_json::Value` maps the rarer events
/// are built from write theirs, so both produce the same bytes.
#[derive(Serialize)]
pub struct BlockDeltaOut<D> {
    pub delta: D,
    pub index: usize,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// `{"text": ..., "type": "text_delta"}`.
#[derive(Serialize)]
pub struct TextDeltaOut<'a> {
    pub text: &'a str,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// `{"thinking": ..., "type": "thinking_delta"}`.
#[derive(Serialize)]
pub struct ThinkingDeltaOut<'a> {
    pub thinking: &'a str,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// `{"partial_json": ..., "type": "input_json_delta"}`: a tool call's arguments.
#[derive(Serialize)]
pub struct InputJsonDeltaOut<'a> {
    pub partial_json: &'a str,
    #[serde(rename = "type")]
    pub kind: &'static str,
}
