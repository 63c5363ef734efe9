//! The wire types of OpenAI's Responses answers and stream events, as the
//! upstream decoder reads them. They follow openai-python's
//! `types/responses/` (`response.py`, `response_usage.py`,
//! `response_reasoning_item.py`, `response_function_tool_call.py`, and one
//! `response_*_event.py` per streamed event).

use crate::canonical::Usage;
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct ResponseIn {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub output: Vec<ItemIn>,
    pub usage: Option<UsageIn>,
    pub incomplete_details: Option<IncompleteIn>,
    pub error: Option<ErrorIn>,
}

#[derive(Deserialize)]
pub struct IncompleteIn {
    pub reason: Option<String>,
}

/// `ResponseError` (`code`, `message`), and the `error` event's fields.
#[derive(Deserialize, Default)]
pub struct ErrorIn {
    pub code: Option<String>,
    #[serde(default)]
    pub message: String,
    pub param: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ItemIn {
    Message {
        #[serde(default)]
        content: Vec<ContentIn>,
    },
    Reasoning {
        #[serde(default)]
        summary: Vec<SummaryIn>,
        encrypted_content: Option<String>,
    },
    FunctionCall {
        call_id: String,
        name: String,
        #[serde(default)]
        arguments: String,
        namespace: Option<String>,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentIn {
    OutputText {
        text: String,
    },
    Refusal {
        refusal: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
pub struct SummaryIn {
    #[serde(default)]
    pub text: String,
}

/// `ResponseUsage`: output tokens include reasoning tokens, as canonical counts them.
#[derive(Deserialize, Default, Clone, Copy)]
pub struct UsageIn {
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
    pub input_tokens_details: Option<CachedIn>,
    pub output_tokens_details: Option<ReasoningTokensIn>,
}

#[derive(Deserialize, Default, Clone, Copy)]
pub struct CachedIn {
    #[serde(default)]
    pub cached_tokens: u64,
}

#[derive(Deserialize, Default, Clone, Copy)]
pub struct ReasoningTokensIn {
    #[serde(default)]
    pub reasoning_tokens: u64,
}

impl From<UsageIn> for Usage {
    fn from(u: UsageIn) -> Usage {
        Usage {
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
            reasoning_tokens: u.output_tokens_details.unwrap_or_default().reasoning_tokens,
            cached_input_tokens: u.input_tokens_details.unwrap_or_default().cached_tokens,
            cache_write_tokens: 0,
        }
    }
}

#[derive(Deserialize)]
#[serde(tag = "type")]
pub enum EventIn {
    #[serde(rename = "response.created")]
    Created { response: ResponseIn },
    #[serde(
        rename = "response.output_text.delta",
        alias = "response.refusal.delta"
    )]
    TextDelta { delta: String },
    #[serde(rename = "response.reasoning_summary_text.delta")]
    SummaryDelta {
        delta: String,
        #[serde(default)]
        summary_index: u32,
    },
    #[serde(rename = "response.output_item.done")]
    ItemDone { item: ItemIn },
    #[serde(rename = "response.completed")]
    Completed { response: ResponseIn },
    #[serde(rename = "response.incomplete")]
    Incomplete { response: ResponseIn },
    #[serde(rename = "response.failed")]
    Failed { response: ResponseIn },
    #[serde(rename = "error")]
    Error(ErrorIn),
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
pub struct UsageOnly {
    pub usage: Option<UsageIn>,
    /// Stream events carry the `response` object (`response.completed`).
    pub response: Option<Box<UsageOnly>>,
}
