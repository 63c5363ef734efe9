//! The wire types of an OpenAI-compatible host's answers and stream chunks,
//! as the upstream decoder reads them.

use crate::canonical::Usage;
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct Answer {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub choices: Vec<AnswerChoice>,
    pub usage: Option<UsageIn>,
    /// A failure in the middle of a stream, sent as a chunk with an `error`
    /// (OpenRouter's streaming guide: `{"error": {"code": "server_error",
    /// "message": ...}, "choices": [...]}`); kept unread, as hosts differ on
    /// its shape and it is rare.
    pub error: Option<Box<serde_json::value::RawValue>>,
}

#[derive(Deserialize, Default)]
pub struct AnswerChoice {
    #[serde(alias = "delta")]
    pub message: Option<MessageIn>,
    pub finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct MessageIn {
    pub content: Option<String>,
    /// DeepSeek and others put their reasoning here.
    pub reasoning_content: Option<String>,
    #[serde(default)]
    pub tool_calls: Vec<CallIn>,
}

#[derive(Deserialize, Default)]
pub struct CallIn {
    #[serde(default)]
    pub index: usize,
    pub id: Option<String>,
    pub function: Option<FunctionIn>,
}

#[derive(Deserialize, Default)]
pub struct FunctionIn {
    pub name: Option<String>,
    pub arguments: Option<String>,
}

#[derive(Deserialize, Default, Clone, Copy)]
pub struct UsageIn {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub prompt_tokens_details: Option<PromptDetailsIn>,
    #[serde(default)]
    pub completion_tokens_details: Option<CompletionDetailsIn>,
    /// DeepSeek's cache hits (api-docs.deepseek.com/guides/kv_cache).
    #[serde(default)]
    pub prompt_cache_hit_tokens: u64,
}

/// `prompt_tokens_details.cached_tokens`: input served from OpenAI's
/// prompt cache (platform.openai.com/docs/guides/prompt-caching); DeepSeek
/// says `prompt_cache_hit_tokens` at the top level instead.
#[derive(Deserialize, Default, Clone, Copy)]
pub struct PromptDetailsIn {
    #[serde(default)]
    pub cached_tokens: u64,
}

#[derive(Deserialize, Default, Clone, Copy)]
pub struct CompletionDetailsIn {
    #[serde(default)]
    pub reasoning_tokens: u64,
}

impl From<UsageIn> for Usage {
    fn from(u: UsageIn) -> Usage {
        Usage {
            input_tokens: u.prompt_tokens,
            output_tokens: u.completion_tokens,
            reasoning_tokens: u
                .completion_tokens_details
                .unwrap_or_default()
                .reasoning_tokens,
            cached_input_tokens: u
                .prompt_tokens_details
                .unwrap_or_default()
                .cached_tokens
                .max(u.prompt_cache_hit_tokens),
            cache_write_tokens: 0,
        }
    }
}

#[derive(Deserialize)]
pub struct UsageOnly {
    pub usage: Option<UsageIn>,
}
