//! The wire types of Anthropic's answers and stream events, as the upstream
//! decoder reads them.

use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    MessageStart {
        message: UpstreamMessage,
    },
    ContentBlockStart {
        index: usize,
        content_block: UpstreamBlock,
    },
    ContentBlockDelta {
        index: usize,
        delta: DeltaIn,
    },
    ContentBlockStop {
        index: usize,
    },
    MessageDelta {
        delta: MessageDeltaIn,
        usage: Option<UsageIn>,
    },
    MessageStop,
    Ping,
    Error {
        error: ErrorIn,
    },
}

#[derive(Deserialize, Default)]
pub struct UpstreamMessage {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub content: Vec<UpstreamBlock>,
    pub stop_reason: Option<String>,
    pub usage: Option<UsageIn>,
}

#[derive(Deserialize, Clone)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UpstreamBlock {
    Text {
        #[serde(default)]
        text: String,
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
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DeltaIn {
    TextDelta {
        text: String,
    },
    ThinkingDelta {
        thinking: String,
    },
    SignatureDelta {
        signature: String,
    },
    InputJsonDelta {
        partial_json: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
pub struct MessageDeltaIn {
    pub stop_reason: Option<String>,
}

#[derive(Deserialize, Default, Clone, Copy)]
pub struct UsageIn {
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
    #[serde(default)]
    pub cache_read_input_tokens: u64,
    #[serde(default)]
    pub cache_creation_input_tokens: u64,
}

#[derive(Deserialize)]
pub struct ErrorIn {
    #[serde(default)]
    pub message: String,
}

#[derive(Deserialize)]
pub struct UsageOnly {
    pub usage: Option<UsageIn>,
    pub message: Option<MessageUsage>,
}

#[derive(Deserialize)]
pub struct MessageUsage {
    pub usage: Option<UsageIn>,
}
